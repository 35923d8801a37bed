"""How a story calls its people after it has introduced them.

A name is used in full once, where the person comes in ("Zora Quill, a private detective
with a good memory"); after that the story says "Zora", the way a writer would. Titles that
belong to how a person is known stay ("Captain Nell" is "Nell" only if the word bank says
so; "Mr. Hollow" stays "Mr. Hollow"); an antagonist goes by the surname ("Crane", and
"Drecker" for "Admiral Drecker": a rank or office is dropped, a form of address is not).
"""

from __future__ import annotations

import re

_TITLES = frozenset("""captain commander dr. dr doctor mr. mr mrs. mrs ms. ms lady lord sir
father sister mayor officer admiral baron countess queen king professor madame warlord director
detective inspector sergeant agent kapitänin kapitän kommandantin kommandant pater herr frau
doktor bürgermeister wachtmeister schwester königin könig fürst gräfin tante oma onkel opa
kommissarin kommissar detektivin detektiv inspektorin inspektor grandma granny grandpa aunt uncle
oma opa mister direktor""".split())
# a rank or office: an antagonist who holds one goes by the surname after the first mention,
# the way a narrator says "Drecker"; "Madame Blanche", "Sister Cinder", "Mr. Hollow" stay
_RANKS = frozenset("""admiral baron director direktor warlord mayor commander captain general
inspector sergeant officer kommandant kommandantin kapitän kapitänin inspektor inspektorin
bürgermeister""".split())


def short_name(name: str, foe: bool = False) -> str:
    """How a story calls a person after the first mention: "Zora Quill" → "Zora", "Commander
    Ava Lin" → "Ava", an antagonist "Julius Crane" → "Crane"; "Captain Nell", "Mr. Hollow" and
    one-word names stay as they are."""
    words = name.split()
    titled = len(words) > 1 and words[0].casefold() in _TITLES
    if titled and foe and len(words) == 2 and words[0].casefold() in _RANKS:
        return words[1]   # "Admiral Drecker" is "Drecker" once introduced
    if titled:
        return words[1] if len(words) >= 3 and not foe else name
    if len(words) == 2:
        return words[-1] if foe else words[0]
    return name


def place_once(lines: list[tuple[str, str]], loc: str, lang: str,
               names: tuple[str, ...]) -> list[tuple[str, str]]:
    """A place named "in the Whispering Catacombs" once in a chapter's narration is "there"
    ("dort") after that: four times in five sentences read like a form. Only mid-sentence
    (past the sentence's first three words: "Half hidden in the Catacombs, …", "Somewhere in
    the Catacombs" and "Halb versteckt im Moorhaus" keep it), only in narration, and only
    in a sentence that names someone or something else of this story (`names`): a line
    about the place alone keeps its name, or it would be the same sentence in every story."""
    if not loc or len(loc.split()) < 2:
        return lines
    there = "dort" if lang == "de" else "there"
    out: list[tuple[str, str]] = []
    seen = False
    for text, who in lines:
        if not who and seen and any(n and n in text for n in names):
            head = " ".join(text.split()[:3])
            text = head + re.sub(rf" {re.escape(loc)}\b", f" {there}", text[len(head):])
        seen = seen or loc in text or loc[:1].upper() + loc[1:] in text
        out.append((text, who))
    return out


_DE_ART_GEN = {"der": "des", "die": "der", "das": "des"}


def genitive(name: str, lang: str) -> str:
    """A name in the genitive in front of a noun: "Cranes Leute", "Hales Plan", "Max' Plan";
    "der Schattenkönig" → "des Schattenkönigs" (German reads "die Leute von Crane" as
    translated); English "Crane's", "Silas'"."""
    words = name.split()
    if not words:
        return name
    if lang != "de":
        return f"{name}'" if name.endswith("s") else f"{name}'s"
    art = _DE_ART_GEN.get(words[0].casefold())
    if art and len(words) > 1:
        rest = " ".join(words[1:])
        return f"{art} {rest}" if words[0].casefold() == "die" else f"{art} {rest}s"
    return f"{name}'" if name.endswith(("s", "ß", "x", "z", "ce")) else f"{name}s"
