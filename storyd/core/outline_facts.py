"""What an operator's outline names: people, places and a goal, in English or German.

A story plan must keep everything the operator asked for, whatever the model answered
(`storyd.core.plan_parse`). This reads plain sentences such as

* "A lighthouse keeper named Ines searches for her brother Tom at the Salt Caves."
* "Kommissarin Anna Berg jagt einen Kunstdieb, und ihr Kollege Jonas Falk in Lübeck hilft."
* "Ines, a lighthouse keeper, must find the lost bell. Captain Rook wants it too."

People are runs of capitalised words that are names: two or more name words ("Anna Berg"),
or one after "named"/"namens" or after a role or relation word ("her brother Tom",
"Kollege Jonas", "Captain Rook"); role words in front are kept as the person's role, never
as part of the name. Places follow a preposition ("at the Salt Caves", "in Lübeck", "im
Hafen"). In German every noun is capitalised, so a single capitalised German word counts
only in those positions. What cannot be read is left out; it never raises.

Pure: no I/O, no clocks.
"""

from __future__ import annotations

import re
from typing import NamedTuple

MAX_TEXT = 2000

_CAP = r"[A-ZÄÖÜ][\wäöüßéèáàíóúñç'’-]*"
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069<>{}\[\]*_`#|\\]")

# role and relation words: in front of a name they describe the person, never name them
ROLE_WORDS = frozenset("""
brother sister friend mother father daughter son partner mentor cousin colleague uncle aunt
wife husband boss assistant apprentice rival captain detective inspector doctor dr professor
sergeant officer agent commander lieutenant lady lord king queen prince princess sir madam
mister mr mrs ms miss sheriff mayor father sister nurse pilot chief count countess baron
keeper guard knight witch wizard mage priest nun grandma grandpa granny
bruder schwester freund freundin mutter vater tochter sohn partner partnerin mentor mentorin
cousin cousine kollege kollegin onkel tante frau mann chef chefin assistent assistentin
lehrling rivale rivalin kapitän kapitänin kommissar kommissarin inspektor inspektorin doktor
professorin sergeant offizier agentin kommandant kommandantin leutnant herr könig königin
prinz prinzessin bürgermeister bürgermeisterin pater schwester oma opa großmutter großvater
hexe zauberer zauberin magier magierin priester priesterin ritter ritterin wächter wächterin
detektiv detektivin polizist polizistin hauptkommissar hauptkommissarin kater katze hund
hündin cat dog reporter journalist lawyer scientist student teacher thief hacker engineer
archaeologist soldier smuggler sailor healer courier scholar
reporterin journalistin anwalt anwältin arzt ärztin studentin lehrerin pilotin forscherin
wissenschaftlerin archäologin soldatin hackerin diebin matrosin kurierin ermittlerin
""".split())
_DETERMINERS = frozenset("""
a an the her his their its our my your one this that these those
ein eine einen einem einer eines der die das den dem des ihr ihre ihren ihrem ihrer sein
seine seinen seinem seiner unser unsere mein meine dieser diese dieses jener jene
""".split())
_STOP = frozenset("""
and but then when while it she he they we you i if or so yet as at in on to of with without
for from by into onto after before until because though although where who what which how
und aber dann als wenn während es sie er wir ich oder so doch wie bei im am zum zur von mit
ohne für nach vor bis weil obwohl wo wer was welche welcher wie dort hier heute morgen
outline story chapter kapitel geschichte once suddenly meanwhile later soon there here now
today tonight nobody everyone someone every some many nachts damals einst jetzt später bald
morgens abends niemand jemand alle eines plötzlich

""".split())
_NAMED = frozenset({"named", "called", "namens", "genannt", "names"})
_EN_PREP = r"(?:at|in|to|into|from|near|inside|beneath|under|across|through|towards?|on)"
_DE_PREP = (r"(?:in den|in der|in die|in das|im|ins|in|am|an der|an den|beim|bei der|bei|"
            r"auf der|auf dem|auf den|nach|aus der|aus dem|aus|zur|zum|unter der|unter dem|"
            r"hinter dem|hinter der|vor dem|vor der)")
_PLACE_EN = re.compile(r"\b" + _EN_PREP + r"\s+((?:the\s+)?" + _CAP + r"(?:\s+(?:of\s+)?"
                       + _CAP + r"){0,3})")
_PLACE_DE = re.compile(r"\b" + _DE_PREP + r"\s+(" + _CAP + r"(?:\s+(?:von\s+)?" + _CAP
                       + r"){0,2})")
_GOAL_EN = re.compile(
    r"\b(searches for|is searching for|looks for|is looking for|seeks|hunts(?: for)?|"
    r"must find|wants to find|tries to find|needs to find|must rescue|wants to rescue|"
    r"must save|wants to save|must stop|wants to stop|must|wants to|needs to|sets out to|"
    r"hopes to|tries to|dreams of|search for|look for|hunt for|chases?|try to find|"
    r"set out to)\s+(.{3,90}?)(?=[.;!?]|,\s+(?:and|but|while)\b|$)")
_GOAL_DE = re.compile(
    r"\b(sucht nach|sucht|jagt|will|muss|möchte|rettet|findet|versucht|träumt davon|"
    r"suchen nach|suchen|jagen|wollen|müssen|retten|finden)\s+"
    r"(.{3,90}?)(?=[.;!?]|,\s+(?:und|aber|während)\b|$)")


_GERMAN_HINTS = ("und", "der", "die", "das", "ist", "ihr", "ihre", "sein", "seine", "ein",
                 "eine", "mit", "sucht", "muss", "nach", "im", "den", "dem", "von", "will",
                 "namens", "sich", "nicht", "auf", "zu", "wird", "einen", "jagt", "jagen",
                 "suchen", "einem", "eines", "ihren", "seinen", "rettet", "findet", "gegen",
                 "müssen", "wollen", "aus", "bei")
# a German profession in front of a name ("Reporterin Lene Hartmann"): a role, not a name
_DE_ROLE_ENDINGS = ("erin", "istin", "entin", "antin", "orin", "eurin")
# "Ines, a lighthouse keeper, …" / "Ines, eine Leuchtturmwärterin, …"
_APPOSITION = re.compile(r"(?:^|[.!?]\s+)(" + _CAP + r"(?:\s+" + _CAP + r")?),\s+"
                         r"(?:an?|the|ein|eine|der|die)\s")


_DE_INFINITIVE = {"sucht nach": "suchen", "sucht": "suchen", "jagt": "jagen",
                  "rettet": "retten", "findet": "finden", "träumt davon": "erträumen",
                  "suchen nach": "suchen"}
_WITH = ("mit ", "with ", "together with ", "zusammen mit ")


class Person(NamedTuple):
    name: str
    role: str = ""        # the role/relation words in front of it ("Kollege", "brother")


class OutlineFacts(NamedTuple):
    people: tuple[Person, ...] = ()    # in order of appearance; the first is the protagonist
    places: tuple[str, ...] = ()
    goal: str = ""                     # in the outline's own words ("find her brother Tom")
    text: str = ""                     # the cleaned outline

    @property
    def empty(self) -> bool:
        return not (self.people or self.places or self.goal)


def clean(text: str) -> str:
    """The outline without markup and control characters, whitespace collapsed, ≤ 2,000."""
    return " ".join(_CONTROL.sub(" ", text[:MAX_TEXT * 2]).split())[:MAX_TEXT]


def _word(token: str) -> str:
    word = token.strip(".,;:!?\"'„“”«»()").casefold()
    return word[:-2] if word.endswith(("'s", "’s")) else word


def _is_cap(token: str) -> bool:
    core = token.strip(".,;:!?\"'„“”«»()")
    return bool(core) and core[0].isupper() and core[0].isalpha() and len(core) >= 2


def _runs(text: str) -> list[tuple[str, list[str], str]]:
    """Runs of capitalised tokens: (the word before, tokens, the word after)."""
    tokens = text.split()
    runs: list[tuple[str, list[str], str]] = []
    i = 0
    while i < len(tokens):
        if not _is_cap(tokens[i]):
            i += 1
            continue
        start, run = i, [tokens[i]]
        while (not run[-1].endswith((",", ".", ";", ":", "!", "?"))
               and i + 1 < len(tokens) and _is_cap(tokens[i + 1])):
            i += 1
            run.append(tokens[i])
        before = tokens[start - 1] if start else ""
        after = tokens[i + 1] if i + 1 < len(tokens) and not run[-1].endswith(
            (".", "!", "?", ";", ":")) else ""
        runs.append((before, run, after))
        i += 1
    return runs


def _sentence_start(before: str) -> bool:
    return not before or before.endswith((".", "!", "?", ":", "\"", "“", "„"))


def _lone_name(before: str, word: str, after: str, german: bool) -> bool:
    """A single capitalised word that is a name by its place in the sentence: English in
    mid-sentence, or (both languages) at a sentence start or after "and"/"und"/"with"/a comma
    when a lower-case verb-like word follows ("Lena und Max fahren …", "Sam finds …")."""
    if _word(word) in _STOP | _DETERMINERS:
        return False
    free = _sentence_start(before) or _word(before) in ("und", "oder", "mit", "and", "or",
                                                        "with") or before.endswith(",")
    follows = bool(after) and (after[0].islower() or _word(after) in ("und", "and")) and (
        _word(after) not in _DETERMINERS) or after.endswith(",") and not after[:1].isupper()
    if not german and not _sentence_start(before):
        return True
    return free and follows


def _people(text: str, places: set[str], german: bool) -> list[Person]:
    found: list[Person] = []
    for before, run, after in _runs(text):
        words = [t.strip(".,;:!?\"'„“”«»()") for t in run]
        role: list[str] = []
        if _word(before) in ROLE_WORDS:
            role.append(_word(before))
        article = _word(before) in _DETERMINERS
        while words and (_word(words[0]) in _DETERMINERS | _STOP or _word(words[0]) in ROLE_WORDS):
            if _word(words[0]) in ROLE_WORDS:
                role.append(words[0])
            article = article or _word(words[0]) in _DETERMINERS
            words.pop(0)
        if german and len(words) >= 3 and _word(words[0]).endswith(_DE_ROLE_ENDINGS):
            role.append(words.pop(0))
        name = " ".join(words).strip("’'")
        if name.endswith(("'s", "’s")):
            name = name[:-2]
        if not name or name in places or any(_word(w) in _STOP for w in words):
            continue
        named = _word(before) in _NAMED or bool(role)
        if len(words) >= 2 and not german:
            pass
        elif len(words) >= 2 and german:
            # "Anna Berg" yes; "Gestohlenes Gemälde" no: both must look like names
            if any(_word(w) in ROLE_WORDS for w in words):
                continue
        elif not named and (german and article or not _lone_name(before, words[0], after,
                                                                  german)):
            continue
        if any(len(w) > 20 for w in words) or len(words) > 3:
            continue
        if not any(p.name == name or name in p.name.split() for p in found):
            found.append(Person(name, " ".join(role)))
    return found


def read_outline(raw: str) -> OutlineFacts:
    """What `raw` names (see the module docstring); never raises."""
    text = clean(raw)
    if not text:
        return OutlineFacts()
    lower = f" {text.casefold()} "
    german = sum(lower.count(f" {w} ") for w in _GERMAN_HINTS) + sum(
        lower.count(ch) for ch in "äöüß") >= 2
    places: list[str] = []
    for m in (_PLACE_DE if german else _PLACE_EN).finditer(text):
        place = m.group(1).strip()
        if place.casefold().startswith("the "):
            place = place[4:]
        first = place.split()[0]
        if _word(first) in ROLE_WORDS | _STOP | _DETERMINERS or len(place) > 40:
            continue
        if place not in places:
            places.append(place)
    people = _people(text, set(places), german)
    for m in _APPOSITION.finditer(text):
        name = m.group(1)
        if _word(name.split()[0]) in _STOP | _DETERMINERS | ROLE_WORDS or any(
                p.name == name for p in people):
            continue
        first = not people or m.start(1) < text.find(people[0].name)
        people.insert(0 if first else len(people), Person(name))
    # a place that is someone's name ("at Tom's") is not a place
    names = {p.name for p in people}
    places = [p for p in places if p not in names]
    goal = ""
    if found := (_GOAL_DE if german else _GOAL_EN).search(text):
        verb, obj = found.group(1), found.group(2).strip(" ,")
        if obj.startswith(_WITH):   # "sucht mit ihrer Freundin Ada Finch den Uhrmacher":
            for p in people:        # the companion is not the goal
                at = obj.find(p.name)
                if 0 < at < 40 and obj[at + len(p.name):].strip():
                    obj = obj[at + len(p.name):].strip(" ,")
                    break
        if german:
            # "sucht ihren Bruder" → "ihren Bruder suchen"; "will … finden" stays "… finden"
            goal = obj if verb in ("will", "muss", "möchte", "versucht", "wollen", "müssen") else \
                f"{obj} {_DE_INFINITIVE.get(verb, verb)}"
        elif verb.startswith(("must ", "wants to ", "needs to ", "tries to ", "hopes to ")):
            goal = verb.split(" ", 1)[1].replace("to ", "", 1) + " " + obj \
                if " " in verb else obj
        elif verb in ("must", "wants to", "needs to", "sets out to", "hopes to", "tries to"):
            goal = obj
        elif verb == "dreams of":
            goal = obj
        elif verb.startswith("chase"):
            goal = f"catch {obj}"
        elif verb in ("try to find", "set out to"):
            goal = obj if verb == "set out to" else f"find {obj}"
        else:
            goal = f"find {obj}"
        goal = goal[:120].strip()
    return OutlineFacts(people=tuple(people[:8]), places=tuple(places[:4]), goal=goal,
                        text=text)
