"""What storyd refuses in a Twee passage's text: a story format's code and markup (pure).

storyd reads a passage as plain sentences. Harlowe, SugarCube, Chapbook and Snowman each add
code and markup to that text — macros, variables, hooks, HTML, formatting — which storyd
does not run. Rather than air `(set: $gold to 5)` aloud, a story that uses any of it is
refused at load, each find named with its line (core/twee.py). The rules are data: one
pattern and one reason each. Plain punctuation stays plain: `$5`, `3 < 4`, quotes of every
language, dashes, ellipses.
"""

from __future__ import annotations

import re

# Control characters and the bidirectional overrides (a tab is fine).
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")

RULES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"<<|>>"), "a SugarCube macro <<…>>"),
    (re.compile(r"\([A-Za-z][\w-]*:"), "a Harlowe macro (name: …)"),
    (re.compile(r"\$[A-Za-z_]"), "a story variable $name"),
    (re.compile(r"(?<![\w'’])_[A-Za-z]\w*"), "a temporary variable _name (or _emphasis_)"),
    (re.compile(r"<[A-Za-z/!%?]"), "an HTML tag or script <…>"),
    (re.compile(r"&(#\d+|#x[0-9A-Fa-f]+|[A-Za-z]+);"), "an HTML entity &…;"),
    (re.compile(r"[\[\]]"), "a hook or bracket […] of a story format"),
    (re.compile(r"[{}]"), "a code block or insert {…}"),
    (re.compile(r"\|"), "a hook name or table bar |"),
    (re.compile(r"''"), "bold markup ''"),
    (re.compile(r"//|/\*|/%|%/"), "italic markup // or a comment"),
    (re.compile(r"\*"), "emphasis markup *"),
    (re.compile(r"~~"), "strike-through markup ~~"),
    (re.compile(r"\^\^"), "superscript markup ^^"),
    (re.compile(r"@@"), "SugarCube styling @@"),
    (re.compile(r"`"), "verbatim markup `"),
    (re.compile(r"\\"), "a backslash (an escape or line join)"),
    (re.compile(r"^\s*#"), "a heading #"),
    (re.compile(r"^\s*(-{2,}|={2,}>?|<={2,}|={2,}><={2,}|=><=)\s*$"),
     "a rule, alignment or section line"),
)


def markup_problems(line: str) -> list[str]:
    """Why one line of a passage (or a link's text) is not plain text; [] when it is."""
    found: list[str] = []
    for pattern, why in RULES:
        m = pattern.search(line)
        if m is not None:
            found.append(f"{why}: '{_around(line, m.start(), m.end())}'")
    m = CONTROL.search(line)
    if m is not None:
        found.append(f"a control character U+{ord(m.group()):04X}")
    return found


def _around(line: str, start: int, end: int) -> str:
    """The find with a little of its context, for the message."""
    lo, hi = max(0, start - 12), min(len(line), end + 12)
    return ("…" if lo else "") + line[lo:hi].strip() + ("…" if hi < len(line) else "")
