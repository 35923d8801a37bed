"""Output moderation: a word blocklist checked before anything airs.

Theory of operation: both the list entries and the checked text go through the same
normalisation — Unicode NFKD with accents stripped, case-folded, and a light leetspeak map
(``0→o 1→i 3→e 4→a 5→s 7→t @→a $→s``) — and entries are matched on word boundaries, so
"Scunthorpe" does not trip "cunt" but "sH1t" trips "shit". An entry ending in ``*`` also
matches longer words ("fuck*" catches "fucking"); an entry with spaces matches the phrase.
The built-in list is deliberately short (common profanity, slurs, explicit terms in English
and German); operators add their own with ``[safety] blocklist``.

Pure: no I/O, no clocks.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

BUILTIN_BLOCKLIST: tuple[str, ...] = (
    # profanity
    "fuck*", "motherfuck*", "shit", "shitty", "bullshit", "cunt*", "asshole*", "dickhead*",
    "wank*", "twat*",
    # slurs and hate terms
    "nigger*", "nigga*", "faggot*", "fag", "fags", "retard", "retards", "retarded", "kike*",
    "spic", "spics", "chink*", "tranny", "trannies", "sieg heil", "heil hitler",
    # explicit
    "porn*", "blowjob*", "handjob*", "cumshot*", "rape", "raped", "rapist*", "pedophil*",
    "paedophil*",
    # German
    "fotze*", "hurensohn*", "wichser*", "schlampe*", "scheisse", "scheiße", "kanake*",
)

_LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t",
                       "@": "a", "$": "s"})


def normalize(text: str) -> str:
    """Case-folded, accent-free, leetspeak-light form used for matching (length may change)."""
    decomposed = unicodedata.normalize("NFKD", text.replace("ß", "ss"))
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return stripped.casefold().translate(_LEET)


def _pattern(entry: str) -> str:
    word = normalize(entry.strip())
    prefix = word.endswith("*")
    word = word.rstrip("*").strip()
    body = r"\s+".join(re.escape(part) for part in word.split())
    return rf"(?<!\w){body}\w*" if prefix else rf"(?<!\w){body}(?!\w)"


class Blocklist:
    """A compiled blocklist. `check` returns the entries that matched, in list order."""

    def __init__(self, words: Iterable[str] = (), use_builtin: bool = True) -> None:
        entries = list(BUILTIN_BLOCKLIST) if use_builtin else []
        entries += [w for w in words if w.strip().rstrip("*").strip()]
        seen: set[str] = set()
        self._entries: list[tuple[str, re.Pattern[str]]] = []
        for entry in entries:
            key = normalize(entry.strip())
            if key in seen:
                continue
            seen.add(key)
            self._entries.append((entry.strip(), re.compile(_pattern(entry))))

    def __len__(self) -> int:
        return len(self._entries)

    def check(self, texts: Iterable[str]) -> list[str]:
        """The blocklist entries found in any of `texts` (empty list = clean)."""
        normalized = [normalize(t) for t in texts if t]
        hits: list[str] = []
        for entry, pattern in self._entries:
            if any(pattern.search(t) for t in normalized):
                hits.append(entry)
        return hits
