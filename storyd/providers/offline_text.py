"""Sentence templates of the offline storyteller (data plus two tiny helpers).

Slots: {hero} {Hero} {pron} {Pron} {hero_note} {comp} {Comp} {comp_note} {villain} {Villain}
{place} {Place} {place_note} {item} (with "the") {a_item} {item_note} {threat} {Threat}
{dead} {act} (the winning choice as a clause) {choice}; in choices also {to} (another place).
Several templates per slot, so chapters vary in shape as well as in words.
"""

from __future__ import annotations

import random

from storyd.providers.offline_vocab import VOCAB

OUTLINE = (
    ("{hero}, {hero_note}, is pulled into a danger far larger than {pron} imagined.",
     "Nobody expected {hero}, {hero_note}, to become the one everyone depends on."),
    ("{Villain}, {villain_note}, wants {a_item} that is hidden somewhere near {place}.",
     "At {place}, {place_note}, {villain} is searching for {a_item}."),
    ("With {comp}, {comp_note}, at {poss} side, {hero} must find it first.",
     "Only {hero} and {comp}, {comp_note}, stand in the way."),
    ("If they fail, {the_threat} will be unleashed on everyone they love.",
     "Time is short, because {the_threat} could wake at any moment."),
)

OPEN_ACT = (
    "{Hero} chose to {act}.",
    "So it was decided: {hero} would {act}.",
    "Without wasting a breath, {hero} set out to {act}.",
    "{Hero} took a deep breath and resolved to {act}.",
    "There was no turning back now, for {hero} meant to {act}.",
)
OPEN_FREE = (
    "The choice was made: {choice}.",
    "{Hero} went with the bold option, {choice}.",
    "It came down to one thing, {choice}, and {hero} did not hesitate.",
)
OPEN_FIRST = (
    "{Hero}, {hero_note}, had never meant to come to {place}.",
    "The story begins at {place}, where {hero}, {hero_note}, was waiting for a sign.",
    "Nobody at {place} expected {hero}, {hero_note}, to be the one.",
)
ARRIVE_NEW = (
    "{Hero} reached {place}, {place_note}.",
    "Ahead lay {place}, {place_note}.",
    "They called it {place}, {place_note}.",
    "Soon {place} rose before {hero}, {place_note}.",
)
ARRIVE_FIRST = (
    "They called it {place}, {place_note}.",
    "All around lay {place}, {place_note}.",
)
ARRIVE_SAME = (
    "{Place} felt different now.",
    "Still at {place}, {hero} looked around carefully.",
    "Nothing at {place} was quite as it had been.",
)
COMP_NEW = (
    "{Comp}, {comp_note}, stayed close.",
    "{Comp} came along too, {comp_note}.",
    "Beside {hero} walked {comp}, {comp_note}.",
)
COMP_KNOWN = (
    "{Comp} kept close behind.",
    "{Comp} looked at {hero} and nodded.",
    "{Comp} was already a step ahead.",
)
COMP_QUOTES = (
    "Did you hear that?", "I don't like this one bit", "Whatever happens, I'm with you",
    "Careful with {item}", "We should hurry before {threat} finds us",
    "I have seen this before, a long time ago",
)
HERO_QUOTES = (
    "We finish this together", "Stay close and keep quiet", "There has to be another way",
    "I'm not turning back now", "Trust me, just this once",
)
WIN_QUOTES = ("We did it", "I knew you could do it", "Is it really over?", "Let's go home")
ITEM_NEW = (
    "Half hidden nearby, {hero} found {a_item}. {Item_note}.",
    "In the dust lay {a_item}. {Item_note}.",
    "{Comp} pointed out {a_item} that nobody else had noticed.",
)
ITEM_KNOWN = (
    "{Hero} held {item} a little tighter.",
    "{Item} seemed heavier than before.",
    "Once again, {item} proved its worth.",
)
THREAT = (
    "Somewhere out of sight, {threat} stirred.",
    "Then came a sound that could only mean {threat}.",
    "{Threat} lurked closer than anyone wanted to admit.",
)
VILLAIN = (
    "Far away, {villain} was watching.",
    "Everyone knew {villain} would not wait forever.",
    "A message arrived from {villain}, and it was not friendly.",
)
VILLAIN_SAYS = (
    "\"You cannot hide from me,\" {villain} called out of the darkness.",
    "\"Give me {item},\" {villain} said coldly, \"and I may let you leave.\"",
)
MOURN = ("{Hero} thought of {dead} and pressed on.",
         "Nobody mentioned {dead}, but everyone remembered.")
HOOK = (
    "But {threat} drew closer than anyone knew.",
    "And then, without warning, the ground began to shake.",
    "Something moved just beyond the light.",
    "Which way now? There was no time to waste.",
    "Every path ahead looked dangerous.",
)
FILLERS = ("Nobody spoke.", "The moment stretched.", "{Hero} waited.", "The silence felt heavy.",
           "{Comp} frowned.", "Time was running out.", "Then everything went quiet.")
CHOICES = (
    "Follow {comp} to {to}", "Head for {to}", "Search {place} for clues",
    "Use {item} against {threat}", "Hide from {threat}", "Confront {villain}",
    "Spy on {villain}", "Ask {comp} about {item}", "Take {item} to {to}",
    "Set a trap for {threat}", "Sneak past {threat}", "Lead {threat} toward {to}",
    "Study {item} more closely", "Rest and regroup with {comp}",
)
TITLES = ("{Place}", "The Secret of {place}", "{Hero} and {item}", "Shadows over {place}",
          "{Threat}", "A Warning from {villain}", "Into {place}", "What {Comp} Knew")
TITLES_END = ("The Last Light", "Home Again", "The End of {Threat}", "{Hero}'s Triumph")
SMALL_WORDS = frozenset("a an the of and to in on at for from over with".split())


def closing_beats(rng: random.Random, villain_alive: bool) -> tuple[tuple[str, ...], str]:
    """(optional resolution beats in order, the final line) of a closing chapter."""
    resolve = rng.choice((
        "{Hero} raised {item}, and {threat} broke apart like morning mist.",
        "With {item} in hand, {hero} turned {threat} back at last.",
    ))
    fate = (rng.choice(("At last, {villain} fled into the night, never to return.",
                        "{Villain} fell, and did not rise again."))
            if villain_alive else "Without {villain}, nothing could stop them now.")
    final = rng.choice((
        "And so the story of {hero} came to its end, for now.",
        "Peace returned to {place}, and {hero} finally rested.",
        "The sun rose over {place}, and everyone who had helped {hero} was there to see it.",
    ))
    return (resolve, fate), final


def quote(rng: random.Random, line: str, who: str) -> str:
    """A dialogue sentence: "Line," Who said. (no comma after ? or !)."""
    line = line.rstrip(". ")
    said = rng.choice(("said", "whispered", "muttered", "said quietly", "called"))
    if line.endswith(("?", "!")):
        return f"\"{line}\" {who} {said}."
    if rng.random() < 0.3:
        return f"{who[:1].upper() + who[1:]} {said}, \"{line}.\""
    return f"\"{line},\" {who} {said}."


VERBS = frozenset({t.split()[0].casefold() for t in CHOICES} | {
    a.split()[0].casefold() for v in VOCAB.values() for a in v.actions} | set(
    "go run open enter climb fight flee talk help investigate explore return find look call "
    "trust attack defend wait listen read steal give try jump swim cross check question "
    "examine accept refuse warn tell chase escape protect stay leave turn pick grab break "
    "light lock dive keep save free rescue send visit join let make get bring carry push "
    "pull sneak hunt track fix build buy sell play dance kiss hug forgive confess".split()))
