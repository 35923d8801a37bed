"""Reading a streamer's outline: who the hero is, what they want, where the story starts.

An outline is free text from the admin page or `storyctl start --outline`, up to 2,000
characters, possibly hostile. `parse_outline` cleans it (markup and control characters
removed, cut at 2,000 characters) and reads plain English or German sentences:

* "A lighthouse keeper named Ines searches for her brother at the Salt Caves"
* "Eine Leuchtturmwärterin namens Ines sucht ihren Bruder in den Salzhöhlen."
* "Ines, a lighthouse keeper, must find the lost bell. Her friend Tom helps."

What it cannot read it leaves empty, and the storyteller fills that from the theme. It
never raises. The goal is only used when the outline is written in the story's language
(an English chapter does not quote a German verb phrase); names and places always are.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from storyd.core.languages import DE_STOP, EN_STOP, stopword_share
from storyd.core.outline_facts import read_outline

MAX_OUTLINE = 2000
_NAME = r"[A-ZÄÖÜ][a-zäöüßéèáàíóúñç'-]+(?:\s+[A-ZÄÖÜ][a-zäöüßéèáàíóúñç'-]+)?"
_MARKUP = re.compile(r"<[^>]{0,200}>|&[#\w]{1,10};|[\[\]{}*_`#|\\]")
_NOT_NAMES = frozenset(
    "A An The And But Then When While Her His Their It She He They One Ein Eine Der Die Das Den "
    "Dem Des Und Aber Dann Als Sie Er Es Ihr Sein Seine Ihre In Im Am At On To Of With Without "
    "Outline Story Chapter Mit Von Bei Zum Zur Nach Für Auf Unter Hinter Vor Wo Who Where".split())


class Outline(NamedTuple):
    lang: str = ""            # "en" / "de" / "" (unknown)
    hero: str = ""
    hero_g: str = ""          # "f" / "m" / ""
    hero_role: str = ""       # "lighthouse keeper" / "Leuchtturmwärterin"
    goal: str = ""            # infinitive phrase in `lang`
    goal_done: str = ""       # past phrase in `lang`
    place: str = ""           # "the Salt Caves" / "Salzhöhlen"
    place_g: str = ""         # German gender of the place, when read from an article
    place_prep: str = ""      # German preposition of the place ("in", "an", "auf")
    friend: str = ""
    friend_rel: str = ""      # "brother", "Bruder", "friend", "Kollege", ...
    friend_g: str = ""
    foe: str = ""             # a person the outline names as a rival or enemy
    foe_g: str = ""


def clean(text: str) -> str:
    """The outline without markup and control characters, whitespace collapsed, ≤ 2,000 chars."""
    text = text[:MAX_OUTLINE * 2]
    text = "".join(ch if ch.isprintable() or ch in "\n\t" else " " for ch in text)
    text = _MARKUP.sub(" ", text)
    return " ".join(text.split())[:MAX_OUTLINE]


def _ok_name(name: str) -> bool:
    words = name.split()
    return bool(words) and words[0] not in _NOT_NAMES and all(2 <= len(w) <= 20 for w in words)


_ROLE_EN = r"((?:[a-z-]+\s){0,3}[a-z-]+)"
_ROLE_DE = r"((?:[a-zäöüß-]+\s){0,2}[A-ZÄÖÜ][a-zäöüß-]+)"
_EN_HERO = (re.compile(r"\b(?:[Aa]n?|[Tt]he)\s+" + _ROLE_EN + r"\s+(?:named|called)\s+("
                       + _NAME + r")"),
            re.compile(r"(?:^|[.!?]\s+)(" + _NAME + r"),\s+(?:an?|the)\s+" + _ROLE_EN))
_DE_HERO = (re.compile(r"\b([Ee]ine?|[Dd]er|[Dd]ie)\s+" + _ROLE_DE
                       + r"\s+(?:namens|names|genannt)\s+(" + _NAME + r")"),
            re.compile(r"(?:^|[.!?]\s+)(" + _NAME + r"),\s+(ein|eine|der|die)\s+" + _ROLE_DE))
_EN_GOAL = re.compile(
    r"\b(searches for|is searching for|looks for|is looking for|look for|search for|"
    r"are looking for|are searching for|seeks|hunts for|must find|"
    r"wants to find|tries to find|needs to find|must rescue|wants to rescue|must save|"
    r"wants to save|must|wants to|needs to|sets out to|hopes to|tries to)\s+(.{3,80}?)"
    r"(?=\s+(?:at|in|on|near|inside|beneath|under|before|while|because)\s|[.,;!?]|$)")
_EN_DONE = {"searches for": "found", "is searching for": "found", "looks for": "found",
            "look for": "found", "search for": "found", "are looking for": "found",
            "are searching for": "found",
            "is looking for": "found", "seeks": "found", "hunts for": "found",
            "must find": "found", "wants to find": "found", "tries to find": "found",
            "needs to find": "found", "must rescue": "rescued", "wants to rescue": "rescued",
            "must save": "saved", "wants to save": "saved"}
_DE_GOAL = re.compile(
    r"\b(sucht nach|sucht|jagt|will|wollen|muss|müssen|möchte|möchten|rettet|findet)\s+"
    r"(.{3,80}?)"
    r"(?=\s+(?:in|im|am|an|auf|bei|beim|unter|hinter|zum|zur|vor|weil|bevor|während)\s|[.,;!?]|$)")
_DE_DONE = {"sucht": "fand", "sucht nach": "fand", "jagt": "fand", "findet": "fand",
            "rettet": "rettete"}
_EN_PLACE = re.compile(r"\b(?:at|in|to|into|from|near|inside|beneath|under|on|across)\s+"
                       r"((?:the\s+)?(?:[A-Z][\w'-]+\s?){1,4})")
_DE_PLACE = re.compile(r"\b(in den|in der|in die|im|ins|am|an der|an den|beim|bei der|auf der|"
                       r"auf dem|zur|zum|unter der|unter dem|hinter dem|hinter der)\s+"
                       r"((?:[A-ZÄÖÜ][\wäöüß'-]+\s?){1,3})")
_DE_ART = {"in den": ("pl", "in"), "in der": ("f", "in"), "in die": ("f", "in"), "im": ("m", "in"),
           "ins": ("n", "in"), "am": ("m", "an"), "an der": ("f", "an"), "an den": ("pl", "an"),
           "beim": ("m", "in"), "bei der": ("f", "in"), "auf der": ("f", "auf"),
           "auf dem": ("m", "auf"), "zur": ("f", "in"), "zum": ("m", "in"),
           "unter der": ("f", "in"), "unter dem": ("m", "in"), "hinter dem": ("m", "in"),
           "hinter der": ("f", "in")}
_RELATIONS = ("brother", "sister", "friend", "mother", "father", "daughter", "son", "partner",
              "mentor", "cousin", "Bruder", "Schwester", "Freund", "Freundin", "Mutter", "Vater",
              "Tochter", "Sohn", "Partner", "Partnerin", "Cousin", "Cousine")
_REL = re.compile(r"\b(" + "|".join(_RELATIONS) + r"),?\s+(" + _NAME + r")")
FEMININE = {"en": re.compile(r"(?i)\b(she|her|herself|woman|girl|queen|princess)\b"),
             "de": re.compile(r"\b(sie|ihre?[nmrs]?|Frau|Mädchen|\w{3,}in)\b")}


def _lang(text: str) -> str:
    de, en = stopword_share(text, "de"), stopword_share(text, "en")
    if max(de, en) < 0.08:
        return ""
    return "de" if de > en else "en"


_IDIOMS = frozenset("Ruhe Weg Stich Ende Schluss Hause Haus Sicht Leben Tode Hilfe Seite Spur "
                    "Rettung Abend Morgen Nacht Tag Zeit Last Bord Land".split())
_FOE_ROLES = frozenset("rival enemy nemesis villain foe antagonist rivale rivalin feind feindin "
                       "gegner gegnerin gegenspieler gegenspielerin schurke schurkin".split())
_FEMALE_ROLES = frozenset("sister mother daughter aunt grandma granny queen princess lady "
                          "countess wife nun witch madam mrs ms miss".split())
_DE_DEF = {"einen": "den", "eine": "die", "einem": "dem", "einer": "der", "ein": "das"}
_EN_HUNT = {"hunts": ("catch", "caught"), "hunts for": ("find", "found")}


def _female(role: str, lang: str) -> bool | None:
    """What a role word says about gender: "Kommissarin", "sister" → True; "" → None."""
    word = role.split()[-1].casefold() if role.split() else ""
    if not word:
        return None
    if word in _FEMALE_ROLES or word in ("freundin", "schwester", "mutter", "tochter",
                                         "tante", "oma", "cousine", "frau"):
        return True
    if lang == "de" or role[:1].isupper() and word.endswith("in") and len(word) > 5:
        return word.endswith("in") and len(word) > 4
    return None


def definite(phrase: str, lang: str) -> str:
    """The goal's object made definite once it is reached: "einen verschwundenen Uhrmacher"
    → "den verschwundenen Uhrmacher", "a missing watchmaker" → "the missing watchmaker"."""
    first, _, rest = phrase.partition(" ")
    if not rest:
        return phrase
    if lang == "de" and first in _DE_DEF:
        if first == "ein":   # ein verschwundenes Kind → das verschwundene Kind
            rest = re.sub(r"^(\w+)es\b", r"\1e", rest)
        return f"{_DE_DEF[first]} {rest}"
    if lang == "en" and first.casefold() in ("a", "an"):
        return f"the {rest}"
    return phrase


# a word in front of a name that is a title and part of it ("Captain Rook", "Kommissarin
# Berg"); any other role-like word in front of a name is the person's role ("Reporterin Lene
# Hartmann" is Lene Hartmann, a Reporterin)
_TITLES = frozenset(
    "Captain Kapitän Kapitänin Admiral Lady Lord Sir Dame Doktor Dr Doctor Professor Father "
    "Pater Mother Sister Schwester Brother Mister Mrs Miss Madame Monsieur Frau Herr King "
    "Queen König Königin Prince Princess Prinz Prinzessin Count Countess Graf Gräfin Baron "
    "Senator Senatorin Inspector Inspektor Kommissar Kommissarin Detective Agent Sergeant "
    "Commander Kommandant Kommandantin Grandma Grandpa Oma Opa Uncle Aunt Onkel Tante Mayor "
    "Bürgermeister Bürgermeisterin General Major Colonel Chief".split())
_ROLE_END = ("in", "er", "or", "ist", "ant", "ent", "en", "eur", "ge", "te")


def split_role(name: str, lang: str) -> tuple[str, str]:
    """("Reporterin Lene Hartmann", "de") → ("Lene Hartmann", "Reporterin"); "Kollegen Jonas
    Falk" → ("Jonas Falk", "Kollege"); a title stays with the name; ("", "") is never made."""
    words = name.split()
    if len(words) < 3 or words[0] in _TITLES or not words[0].casefold().endswith(_ROLE_END):
        return name, ""
    role = words[0]
    if lang == "de" and role.endswith("en") and role[:-1].endswith("e"):
        role = role[:-1]   # dative/accusative of a weak noun: "mit ihrem Kollegen"
    return " ".join(words[1:]), role if lang == "de" else role.casefold()


_DE_PREPS = frozenset("mit in im am an auf bei beim nach zu zum zur von vom aus für durch "
                      "gegen ohne um über unter hinter vor zwischen".split())
_DE_OBJECT = re.compile(
    r"\b(den|die|das|einen|eine|ein|ihren|ihre|ihr|seinen|seine|sein)\s+(.{3,80}?)"
    r"(?=\s+(?:in|im|am|an|auf|bei|beim|unter|hinter|zum|zur|vor|weil|bevor|während)\s"
    r"|[.,;!?]|$)")


def _de_object(rest: str) -> str:
    """The accusative object after a verb, past a companion or a place: "mit ihrer Freundin
    Ada Finch in Lübeck den verschwundenen Uhrmacher" → "den verschwundenen Uhrmacher"."""
    for m in _DE_OBJECT.finditer(rest):
        before = rest[:m.start()].split()
        if not before or before[-1].casefold() not in _DE_PREPS:
            return f"{m.group(1)} {m.group(2)}"
    return ""


def parse_outline(raw: str) -> Outline:
    """What can be read from `raw` (see the module docstring); never raises."""
    text = clean(raw)
    if not text:
        return Outline()
    lang = _lang(text)
    facts = read_outline(text)
    hero = role = gender = ""
    if (m := _EN_HERO[0].search(text)) and _ok_name(m.group(2)):
        role, hero = m.group(1), m.group(2)
    elif (m := _DE_HERO[0].search(text)) and _ok_name(m.group(3)):
        role, hero = m.group(2), m.group(3)
        gender = "f" if m.group(1).casefold() in ("eine", "die") else "m"
    elif (m := _EN_HERO[1].search(text)) and _ok_name(m.group(1)) and lang != "de":
        hero, role = m.group(1), m.group(2)
    elif (m := _DE_HERO[1].search(text)) and _ok_name(m.group(1)):
        hero, role, gender = m.group(1), m.group(3), "f" if m.group(2) in ("eine", "die") else "m"
    people = [p for p in facts.people if _ok_name(p.name)]
    people = [p._replace(name=split_role(p.name, lang)[0],
                         role=p.role or split_role(p.name, lang)[1]) for p in people]
    if not hero and people and people[0].role.casefold() not in _FOE_ROLES:
        hero, role = people[0].name, people[0].role     # "Kommissarin Anna Berg jagt …"
        female = _female(role, lang)
        gender = "" if female is None else "f" if female else "m"
    if not hero:   # the first capitalised word that is not a sentence start or a stopword
        for m in re.finditer(r"(?<=[a-zäöüß,]\s)(" + _NAME + r")", text):
            if _ok_name(m.group(1)) and m.group(1).casefold() not in EN_STOP | DE_STOP \
                    and lang != "de":
                hero = m.group(1)
                break
    if hero and not gender:
        around = text[max(text.find(hero) - 60, 0):text.find(hero) + 120]
        gender = "f" if FEMININE[lang or "en"].search(around) else "m"
    goal = done = ""
    if lang == "en" and (m := _EN_GOAL.search(text)):
        verb, obj = m.group(1), m.group(2).strip()
        if verb in _EN_HUNT:
            goal, done = f"{_EN_HUNT[verb][0]} {obj}", f"{_EN_HUNT[verb][1]} {definite(obj, 'en')}"
        elif verb in _EN_DONE:
            base = "rescue" if "rescue" in verb else "save" if "save" in verb else "find"
            goal, done = f"{base} {obj}", f"{_EN_DONE[verb]} {definite(obj, 'en')}"
        elif len(obj.split()) >= 2:
            goal, done = obj, ""
    elif lang == "de" and (m := _DE_GOAL.search(text)):
        verb, obj = m.group(1), m.group(2).strip()
        if obj.split()[0].casefold() in _DE_PREPS:   # "sucht mit ihrer Freundin … den …"
            obj = _de_object(text[m.end(1):]) or obj
        if verb == "jagt":
            goal, done = f"{obj} fassen", f"fasste {definite(obj, 'de')}"
        elif verb in _DE_DONE:
            goal = f"{obj} {'retten' if verb == 'rettet' else 'finden'}"
            done = f"{_DE_DONE[verb]} {definite(obj, 'de')}"
        elif len(obj.split()) >= 2 and obj.split()[-1][:1].islower():
            goal = obj
    place = place_g = place_prep = ""
    names = {hero} | {p.name for p in people}
    for m in (_DE_PLACE if lang == "de" else _EN_PLACE).finditer(text):
        cand = m.group(m.lastindex or 1).strip()
        if cand in names or cand.split()[-1] in _NOT_NAMES or cand.split()[0] in _IDIOMS:
            continue
        place = cand
        if lang == "de":
            place_g, place_prep = _DE_ART[m.group(1)]
        break
    if not place:
        place = next((p for p in facts.places if p.split()[0] not in _IDIOMS
                      and p not in names), "")
        if lang == "en" and place and f"the {place}" in text:
            place = f"the {place}"
    friend = rel = friend_g = foe = foe_g = ""
    for m in _REL.finditer(text):
        if _ok_name(m.group(2)) and m.group(2) not in (hero, place):
            friend, rel = m.group(2), m.group(1)
            break
    for p in people:
        if p.name == hero or hero in p.name.split() or p.name == place:
            continue
        roles = p.role.split()
        if any(r.casefold() in _FOE_ROLES for r in roles):
            # "her rival Captain Rook": the rival is Captain Rook
            titles = [r for r in roles if r.casefold() not in _FOE_ROLES and r[:1].isupper()]
            foe = foe or " ".join([*titles, p.name])
            foe_g = foe_g or ("f" if _female(p.role, lang) else "m")
        elif not friend:
            friend, rel = p.name, p.role
    if friend:
        female = _female(rel, lang)
        friend_g = "" if female is None else "f" if female else "m"
    return Outline(lang=lang, hero=hero, hero_g=gender, hero_role=role[:40], goal=goal[:90],
                   goal_done=done[:90], place=place[:40], place_g=place_g,
                   place_prep=place_prep, friend=friend, friend_rel=rel, friend_g=friend_g,
                   foe=foe, foe_g=foe_g)
