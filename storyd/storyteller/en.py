"""English grammar of the offline storyteller, and the lines of a chapter in the middle of a story.

Templates are format strings over the slots of `Plot.slots` ({hero} is the short name,
{hero_full} the full one, used once; {pron}/{poss}/{obj} the hero's pronouns, {fpron}… the
friend's, {xpron}… the antagonist's). A story walks every pool in its own shuffled order and
takes each entry at most once (see `Plot.pick`); the lines of the first and the closing
chapter are in `en_ends`.
"""

from __future__ import annotations

from storyd.storyteller.bank import Obstacle, Place, Thing

LANG = "en"
STOP = ("the", "a", "an")


def a(noun: str) -> str:
    return ("an " if noun[:1].casefold() in "aeiou" else "a ") + noun


def the(noun: str) -> str:
    return noun if noun[:1].isupper() or noun.casefold().startswith("the ") else "the " + noun


def place_name(p: Place) -> str:
    return p.en


_AT = ("bay", "pier", "market", "gate", "harbour", "harbor", "docks", "station", "fair", "square",
       "crossing", "river", "lake", "pond", "bazaar", "reef", "shore", "coast")
_ON = ("island", "bridge", "hill", "mountain", "moon", "planet", "ridge", "deck", "roof", "ship")


def place_prep(name: str) -> str:
    """The preposition of a place we know nothing about: "in Lübeck", "at Skull Bay"."""
    last = name.split()[-1].casefold() if name.split() else ""
    return "at" if last in _AT else "on" if last in _ON else "in"


def place_forms(name: str, prep: str = "") -> dict[str, str]:
    name = the(name) if name[:1].islower() else name
    prep = prep or place_prep(name)
    return {"": name, "loc": f"{prep} {name}", "to": f"to {name}", "acc": name, "dat": name}


def thing_forms(t: Thing | Obstacle) -> dict[str, str]:
    return {"": the(t.en), "acc": the(t.en), "dat": the(t.en), "a": a(t.en), "a_acc": a(t.en),
            "pron": "it"}


def goal_zu(goal: str) -> str:
    return goal


def verb_last(phrase: str) -> str:
    return phrase


def memory_thing(name: str) -> dict[str, str]:
    base = name[4:] if name.casefold().startswith("the ") else name
    return {"": the(base), "acc": the(base), "dat": the(base), "a": a(base) if base[:1].islower()
            else base, "a_acc": a(base) if base[:1].islower() else base}


def pronouns(g: str, name: str) -> dict[str, str]:
    if g == "f":
        return {"pron": "she", "poss": "her", "obj": "her"}
    if g == "m":
        return {"pron": "he", "poss": "his", "obj": "him"}
    return {"pron": name, "poss": name + "'s", "obj": name}


def friends_word(g1: str, g2: str) -> str:
    return "friends"


_FEMALE = (" she ", " woman ", " girl ", " mother ", " sister ", " daughter ", " aunt ",
           " grandmother ", " wife ", " queen ", " lady ")


def gender_of(desc: str) -> str:
    """A guess from a description a model wrote ("her nervous first mate" → "f"): "m" unless
    it reads as a woman."""
    return "f" if any(w in f" {desc.casefold()} " for w in _FEMALE) else "m"


def relation(rel: str, hero_g: str) -> str:
    """The outline's relation as an apposition: "brother" → "her brother"."""
    return f"{pronouns(hero_g, '')['poss']} {rel.casefold()}"


def place_slots(name: str, g: str) -> dict[str, str]:
    """{was}: "The Whispering Catacombs were …", "The Glass Tower was …"."""
    last = name.split()[-1] if name.split() else ""
    plural = last.endswith("s") and not last.endswith(("ss", "us")) and last[:1].isupper()
    return {"was": "were" if plural else "was"}


def dest_slots(name: str, g: str) -> dict[str, str]:
    return {"dest_was": place_slots(name, g)["was"]}


_FACED = {"creature": "lured {threat} away", "hazard": "came through {threat}",
          "problem": "got to the bottom of {threat}", "person": "stood up to {threat}"}


def obstacle_slots(o: Obstacle, s: dict[str, str]) -> dict[str, str]:
    """{face}: the choice that deals with the obstacle, {faced}: the same, done."""
    face = o.en_face or CHOICES[f"face:{o.kind}"].format(**s)
    faced = o.en_faced or _FACED[o.kind].format(**s)
    return {"face": face, "faced": faced, "threat_met": _MET[o.kind].format(**s)}


# how the obstacle first meets them, by its kind (the first chapter's inciting incident)
_MET = {"creature": "they ran into {a_threat}", "hazard": "{a_threat} swept in",
        "problem": "{friend} came across {a_threat}, and nothing made sense any more",
        "person": "{a_threat} blocked their way"}


_SAID = {"": ("said", "said quietly", "muttered", "said", "whispered", "said after a moment"),
         "?": ("asked", "wanted to know", "asked"), "!": ("called", "cried", "called out"),
         "admit": ("admitted", "confessed"), "warn": ("warned", "whispered")}


def say(line: str, who: str, k: int, how: str = "") -> str:
    """A dialogue sentence: “Line,” Who said. A question is asked, an exclamation called, an
    admission admitted: the verb fits the line (`how` names admissions and warnings)."""
    line = line.rstrip(". ")
    mark = line[-1] if line.endswith(("?", "!")) else ""
    verbs = _SAID[how or mark]
    verb = verbs[k % len(verbs)]
    if mark:
        return f"\u201c{line}\u201d {who} {verb}."
    return f"\u201c{line},\u201d {who} {verb}."


# the winning choice restated; the k-th time a kind is chosen takes its k-th wording
KIND_OPEN = {
    "follow": ("{Hero} followed {friend} {here_to}, step by careful step.",
               "{Friend} led the way {here_to}, and {hero} followed without a word.",
               "{Hero} let {friend} lead and followed {fobj} {here_to}."),
    "go": ("{Hero} headed for {here} as fast as {pron} could.",
           "{Hero} set off for {here} before anyone could object.",
           "Without waiting for the others, {hero} headed for {here}."),
    "search": ("{Hero} searched {here} from end to end.",
               "{Hero} and {friend} searched {here}, corner by corner.",
               "{Hero} searched every inch of {here}."),
    "ask": ("{Hero} asked {friend} straight out what {fpron} knew.",
            "{Hero} took {friend} aside and asked what {fpron} knew.",
            "{Hero} sat down with {friend}, asked what {fpron} knew, and waited for an answer."),
    "ask_item": ("{Hero} asked {friend} about {item}.",
                 "{Hero} held out {item} and asked {friend} about it.",
                 "Over a small fire, {hero} asked {friend} about {item}."),
    "confront": ("{Hero} confronted {foe} face to face.",
                 "{Hero} went straight to {foe} and confronted {xobj}.",
                 "{Hero} stepped into the open and confronted {foe}."),
    "talk": ("{Hero} sat down with {foe} to talk it out.",
             "{Hero} talked it out with {foe}, and the first words were the hardest.",
             "{Hero} went to {foe} to talk it out, just the two of them."),
    "bargain": ("{Hero} went to {foe} under a white flag to bargain.",
                "{Hero} sent word to {foe}: {pron} wanted to bargain.",
                "{Hero} met {foe} halfway and offered to bargain."),
    "spy": ("{Hero} crept close and spied on {foe}.",
            "From the shadows, {hero} spied on {foe}.",
            "{Hero} spied on {foe} and hardly dared to breathe."),
    "avoid:creature": ("{Hero} hid from {threat} and did not move.",
                       "{Hero} pulled {friend} down, and they hid from {threat}.",
                       "{Hero} hid from {threat} in the first shadow {pron} could find."),
    "avoid:hazard": ("{Hero} and {friend} took shelter from {threat}.",
                     "{Hero} found shelter from {threat} just in time.",
                     "{Hero} dragged {friend} into cover, and they took shelter from {threat}."),
    "avoid:person": ("{Hero} waited for the right moment and slipped past {threat}.",
                     "Quiet as a shadow, {hero} slipped past {threat}.",
                     "{Hero} kept {poss} head down and slipped past {threat}."),
    "face:creature": ("{Hero} made a noise on purpose and lured {threat} away.",
                      "{Hero} lured {threat} away, one careful step at a time.",
                      "{Hero} threw a stone far into the dark and lured {threat} away."),
    "face:hazard": ("{Hero} pushed on through {threat}, head down.",
                    "{Hero} refused to wait and pushed on through {threat}.",
                    "{Hero} took {friend} by the arm and pushed on through {threat}."),
    "face:problem": ("{Hero} got to the bottom of {threat}.",
                     "It took the whole night, but {hero} got to the bottom of {threat}.",
                     "{Hero} sat down with {friend} and got to the bottom of {threat}."),
    "face:custom": ("{Hero} {faced}.", "It took the whole night, but {hero} {faced}.",
                    "With {friend}'s help, {hero} {faced}."),
    "face:person": ("{Hero} stood up to {threat}.",
                    "{Hero} walked straight up to {threat} and stood {poss} ground.",
                    "{Hero} stood up to {threat}, though {poss} knees shook."),
    "use:creature": ("{Hero} drove {threat} off with {item}.",
                     "{Hero} raised {item} and drove {threat} off.",
                     "{Hero} drove {threat} off with {item}, and did not look back."),
    "use:hazard": ("{Hero} used {item} to get through {threat}.",
                   "With {item}, {hero} found a way through {threat}.",
                   "{Hero} used {item} to get through {threat}, and {friend} followed close."),
    "use:person": ("{Hero} showed {threat} {item}.", "{Hero} held up {item} for {threat} to see.",
                   "{Hero} showed {threat} {item}, and waited."),
    "rest": ("{Hero} and {friend} rested and made a plan.",
             "{Hero} rested with {friend}, and together they made a plan.",
             "{Hero} rested with {friend} and made a plan, the first real one in days."),
    "action": ("{Hero} {past}.", "Without hesitating, {hero} {past}.",
               "{Friend} objected, but {hero} {past}."),
    "generic": ("{Hero} chose to {act}.", "{Hero} decided to {act}.",
                "There was no better idea, so {hero} set out to {act}."),
    "deed": ("{Hero} {past}.", "Without waiting for anyone, {hero} {past}.",
             "{Friend} had doubts, but {hero} {past}."),   # a model's choice (deeds.py)
    "free": ("The choice was made: {act}.", "It came down to this: {act}.",
             "Everyone agreed on one thing: {act}."),
}
# the last line: two of the offered choices pull different ways
PULL = {
    "follow": ("{friend} wanted to go on {to}", "{friend} was already pointing the way {to}",
               "{friend} swore there was a shortcut {to}",
               "{friend} could not stop talking about {dest}",
               "{friend} had friends {dest_loc}", "{friend} had packed for the road {to}"),
    "go": ("the road {to} was open", "{dest} {dest_was} less than a day away",
           "someone had seen a light {dest_loc}", "every sign pointed {to}",
           "the answer might be waiting {dest_loc}", "nobody had been {dest_loc} in years"),
    "search": ("{here} still hid something", "something {here_loc} did not add up",
               "nobody had looked behind the last door {here_loc}",
               "there were fresh marks on the floor {here_loc}",
               "{here} had more corners than anyone had counted",
               "a draught {here_loc} came from somewhere it should not"),
    "ask": ("{friend} was keeping something back", "{friend} had gone very quiet",
            "{friend} clearly knew more than {fpron} said", "{friend} avoided {poss} eyes"),
    "ask_item": ("{friend} kept glancing at {item}", "{friend} seemed to recognise {item}",
                 "{friend} had gone pale at the sight of {item}"),
    "confront": ("{foe} was close enough to face", "{foe} would not wait for ever",
                 "{foe} was alone for once", "running from {foe} was getting old"),
    "talk": ("{foe} looked, for once, ready to talk", "even {foe} seemed tired of the feud",
             "{foe} had sent a polite note", "{foe} kept glancing their way"),
    "bargain": ("{foe} might listen to an offer", "{foe} looked, for once, unsure",
                "{foe} had something {hero} needed", "even {foe} had a price"),
    "spy": ("{foe} had no idea how close they were", "{foe} was near, and not expecting anyone",
            "{foe}'s people were talking far too loudly", "{foe} had just stopped to rest"),
    "avoid:creature": ("{threat} was getting closer", "{threat} had their scent",
                       "{threat} was circling", "something large was moving nearby"),
    "avoid:hazard": ("{threat} was getting worse", "{threat} would be on them within the hour",
                     "the first signs of {threat} were already here", "{threat} was coming"),
    "avoid:person": ("{threat} still blocked the way", "{threat} was looking for them",
                     "{threat} had sharp eyes", "{threat} was asking questions"),
    "face:creature": ("{threat} could be tricked", "{threat} was easily distracted",
                      "{threat} hated loud noises", "{threat} followed anything that moved"),
    "face:hazard": ("{threat} might be weaker than it looked", "waiting was costing them time",
                    "{threat} had a gap in it somewhere", "the far side of {threat} was close"),
    "face:problem": ("the answer to {threat} was close", "{threat} was starting to make sense",
                     "one detail about {threat} did not fit",
                     "{friend} had an idea about {threat}"),
    "face:person": ("{threat} might back down", "{threat} looked less sure than before",
                    "{threat} was tired", "{threat} had a soft spot, if anyone found it"),
    "use:creature": ("{item} might be enough to drive {threat} off",
                     "{threat} had never faced anything like {item}",
                     "{threat} seemed to fear {item}"),
    "use:hazard": ("{item} might get them through {threat}", "{item} was made for {threat}",
                   "{item} had got people through worse"),
    "use:person": ("{item} might change {threat}'s mind", "{item} was proof enough",
                   "{threat} would recognise {item}"),
    "rest": ("everyone was worn out", "{friend} could barely stand",
             "nobody had slept in two days", "a plan would not hurt"),
}
CAMEO = ("{cameo}, a face from the watching crowd, nodded to {hero} in passing.",   # a viewer
         "Nearby, {cameo} looked up from a cart of odds and ends and wished {hero} luck.",
         "{cameo} stepped out of the crowd just long enough to point the way.",
         "A traveller called {cameo} shared a quick word and a warm smile with {hero}.")
CAMEO_NOTE = "a walk-on from the audience"
HOOK = ("{A}, but {B}.", "{A}; then again, {B}.", "{A}. And yet {B}.", "{A}, and {B}.",
        "{A}, while {B}.")
HOOK_ONE = ("{A}, and {hero} had to decide.", "{A}. {Hero} weighed it up.",
            "{A}. It was {hero}'s call.", "{A}, and {friend} waited for {hero} to decide.",
            "{A}. {Hero} looked at the road ahead and thought it over.")
HOOK_NONE = ("{Friend} looked at {hero}, waiting.", "{Hero} had to choose, and quickly.",
             "Every road ahead of {hero} looked risky.", "{Hero} knew the next step mattered.",
             "Nobody could make this choice for {hero}.")
CHOICES = {
    "follow": "Follow {friend} {to}", "go": "Head for {dest}", "search": "Search {here} for clues",
    "ask": "Ask {friend} what {fpron} knows", "ask_item": "Ask {friend} about {item}",
    "confront": "Confront {foe}", "talk": "Talk it out with {foe}", "bargain": "Bargain with {foe}",
    "spy": "Spy on {foe}", "rest": "Rest with {friend} and make a plan",
    "avoid:creature": "Hide from {threat}", "avoid:hazard": "Take shelter from {threat}",
    "avoid:person": "Slip past {threat}", "face:creature": "Lure {threat} away",
    "face:hazard": "Push on through {threat}", "face:person": "Stand up to {threat}",
    "face:problem": "Get to the bottom of {threat}",
    "use:creature": "Drive {threat} off with {item}",
    "use:hazard": "Use {item} to get through {threat}", "use:person": "Show {threat} {item}",
}
# the first words of a choice, per kind: how the next chapter recognises what was chosen
KIND_WORDS = (("follow", "follow "), ("go", "head for "), ("search", "search "),
              ("ask_item", "ask "), ("confront", "confront "), ("talk", "talk it out"),
              ("bargain", "bargain with "), ("spy", "spy on "), ("avoid", "hide from "),
              ("avoid", "take shelter"), ("avoid", "slip past "), ("face", "lure "),
              ("face", "push on through"), ("face", "stand up to"),
              ("face", "get to the bottom of"), ("use", "drive "),
              ("use", "use "), ("use", "show "), ("rest", "rest with "))
REL = ("{poss} oldest friend", "{poss} only ally", "{poss} loyal companion")
EVENT = {"arrive": "{hero} came {here_to}", "met": "{threat} stood in the way",
         "chose": "{hero} chose to {act}",
         "action": "{hero} {past}", "avoid": "{hero} kept clear of {threat}",
         "face": "{hero} dealt with {threat}",
         "search": "{hero} searched {here}", "free": "the choice: {act}",
         "deed": "{hero} {past}", "find": "found {a_item}",
         "truth": "{friend} told the truth", "confront": "{hero} confronted {foe}",
         "talk": "{hero} talked it out with {foe}", "talked": "talked it out with {hero}",
         "use": "{hero} used {item}", "spy": "{hero} learned where {foe} was heading",
         "start": "{hero} set out to {goal}", "end": "{hero} {goal_done}",
         "endinf": "{hero} did what {pron} came to do", "defeated": "defeated",
         "reconciled": "made peace", "found": "found {here_loc}", "used": "used against {threat}",
         "ally": "stood by {hero}", "confronted": "confronted by {hero}"}
