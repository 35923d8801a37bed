"""Craft: what keeps model-written stories from sounding like every other model's story.

Language models reuse a handful of names and motifs across stories (Elara, Lyra, Kael,
Thorne, Voss, the lighthouse keeper; "a testament to", "tapestry"). `OVERUSED` lists them
per language; plans and chapters are asked to avoid them, names a model still picks are
replaced in its plan (unless the operator's outline asked for them), and fresh names are
offered from seeded per-language, per-theme pools (storyd.storyteller.name_pools).

`craft_notes` are the writing notes near the end of every chapter prompt: point of view and
tense, varied sentence openings (the recent ones are listed), rising stakes.
`sentence_openings` finds the openings to list.

Pure: no I/O, no clocks.
"""

from __future__ import annotations

import re

from storyd.core.memory import name_key

_NAMES_BOTH = ("Elara", "Elias", "Mara", "Lyra", "Kael", "Thorne", "Voss", "Seraphina",
               "Aria", "Zephyr", "Orion", "Elowen", "Aldric", "Kira", "Silas", "Lysandra",
               "Aurora", "Evelyn", "Eldrin", "Nyx", "Cassian", "Rowan", "Liora", "Sarah Chen",
               "Marcus", "Vex", "Zara", "Finn")
OVERUSED: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    # language -> (names, motifs and phrases)
    "en": (_NAMES_BOTH, (
        "the lighthouse keeper", "a testament to", "tapestry", "symphony of", "a dance of",
        "delve", "palpable", "shimmering", "whispers of an ancient prophecy", "the chosen one",
        "a mysterious amulet", "little did they know", "the air was thick with",
        "a glint in her eye", "the weight of the world")),
    "de": (_NAMES_BOTH, (
        "der Leuchtturmwärter", "ein Zeugnis für", "ein Teppich aus", "ein Geflecht aus",
        "eine Symphonie aus", "ein Tanz aus", "schimmernd", "eine uralte Prophezeiung",
        "der Auserwählte", "ein geheimnisvolles Amulett", "die Luft war erfüllt von",
        "ein Funkeln in den Augen", "das Gewicht der Welt")),
}


def lang_code(language: str) -> str:
    """"de" for German story languages, else "en" (the lists above)."""
    low = language.strip().casefold()
    return "de" if low in ("german", "deutsch", "de", "de-de", "de_de") else "en"


def overused(language: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    return OVERUSED[lang_code(language)]


def is_overused_name(name: str, language: str) -> bool:
    """True when `name` or its first or last word is on the overused list."""
    key = name_key(name)
    words = key.split()
    names = {name_key(n) for n in overused(language)[0]}
    return bool(key) and (key in names or words[0] in names or words[-1] in names)


def avoid_line(language: str, keep: tuple[str, ...] = ()) -> str:
    """The prompt line listing names and motifs to avoid (minus those in `keep`)."""
    names, motifs = overused(language)
    kept = {name_key(k) for k in keep}
    shown = [n for n in names if name_key(n) not in kept]
    return ("Avoid these overused names: " + ", ".join(shown) + ". Avoid these worn motifs "
            "and phrases: " + "; ".join(f'"{m}"' for m in motifs) + ".")


_OPENING = re.compile(r"[\w'’-]+", re.UNICODE)
_SENTENCE = re.compile(r"(?<=[.!?…])[\"'»”“]?\s+")


def sentence_openings(texts: list[str], limit: int = 8) -> tuple[str, ...]:
    """The two-word openings of the sentences in `texts` that came up more than once, or
    the most recent ones — what the next chapter should not start its sentences with."""
    counts: dict[str, int] = {}
    order: list[str] = []
    for text in texts:
        for sentence in _SENTENCE.split(text):
            words = _OPENING.findall(sentence)[:2]
            if len(words) < 2:
                continue
            opening = " ".join(words)
            key = opening.casefold()
            if key not in counts:
                order.append(opening)
            counts[key] = counts.get(key, 0) + 1
    repeated = [o for o in order if counts[o.casefold()] > 1]
    recent = [o for o in reversed(order) if o not in repeated]
    return tuple((repeated + recent)[:limit])


def craft_notes(openings: tuple[str, ...], closing: bool) -> str:
    """The writing notes of a chapter prompt (see the module docstring)."""
    notes = ["Craft notes: write in the third person and the past tense, close to the "
             "protagonist; show, do not summarise; vary sentence openings and lengths; "
             "give each character their own voice."]
    if openings:
        notes.append("Do not begin sentences the way recent ones began: "
                     + ", ".join(f'"{o}…"' for o in openings) + ".")
    if not closing:
        notes.append("Raise the stakes: this chapter makes the protagonist's situation "
                     "harder or more urgent, and ends on a real decision where each choice "
                     "has a different cost.")
    return " ".join(notes)
