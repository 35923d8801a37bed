"""Which languages the offline storyteller writes, and the notice for the others.

The offline storyteller has word banks and grammar for English and German. Any other
`[story] language` is written in English, and `offline_language_notice` says so in words an
operator can act on; the status snapshot shows it.
"""

from __future__ import annotations

_GERMAN = frozenset({"german", "de", "deutsch", "de-de", "de_de", "de-at", "de-ch", "ger", "deu"})
_ENGLISH = frozenset({"english", "en", "en-us", "en-gb", "en_us", "en_gb", "eng", "englisch", ""})

EN_STOP = frozenset(
    "the a an and of to in on at was were is it he she his her they their with for as that "
    "this from but not had be by or into out up".split())
DE_STOP = frozenset(
    "der die das den dem des ein eine einen einem einer und ist war nicht sich mit zu im "
    "auf für von aus bei nach wie als auch noch nur schon sie er es ihr sein ihre seine dass "
    "wurde hatte vor am zum zur".split())


def offline_language(language: str) -> str:
    """"de" for German in any usual spelling, otherwise "en"."""
    key = " ".join(language.split()).casefold()
    return "de" if key in _GERMAN else "en"


def offline_language_notice(language: str) -> str | None:
    """None when the offline storyteller writes `language`; else the sentence for status."""
    key = " ".join(language.split()).casefold()
    if key in _GERMAN or key in _ENGLISH:
        return None
    shown = "".join(ch for ch in " ".join(language.split()) if ch.isprintable())[:40]
    return (f"the offline storyteller writes English and German; {shown} needs a model "
            "provider (offline chapters are written in English)")


def stopword_share(text: str, lang: str) -> float:
    """The share of words in `text` that are common words of `lang` ("en" or "de")."""
    words = [w.strip(".,;:!?\"'„“”‚‘’()…-").casefold() for w in text.split()]
    words = [w for w in words if w]
    if not words:
        return 0.0
    stop = DE_STOP if lang == "de" else EN_STOP
    return sum(w in stop for w in words) / len(words)
