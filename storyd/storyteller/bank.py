"""The word banks of the offline storyteller: one `Bank` per theme, English and German side by side.

The German words are written as German, with what German grammar needs: every noun carries
its gender ("m", "f", "n" or "pl") and every place the preposition it takes ("im Glasturm",
"am Hafen", "auf dem Markt"), so the German templates can decline articles by case. English
places carry their article ("the Glass Tower") and their preposition ("in", "at", "on").

A bank's lists are small on purpose: one story uses one hero, one friend, one antagonist,
one goal, one key item and a route of four places out of five.
"""

from __future__ import annotations

from typing import NamedTuple


class Person(NamedTuple):
    name: str
    g: str                 # "f" / "m": pronouns and German agreement
    en: str                # "a young mage of the river clans"
    de: str                # "eine junge Magierin vom Flussvolk"


class Place(NamedTuple):
    en: str                # "the Glass Tower"
    en_prep: str           # "in" / "at" / "on"
    de: str                # "Glasturm"
    de_g: str              # "m" / "f" / "n" / "pl"
    de_prep: str           # "in" / "an" / "auf"
    scene: str             # what the offline illustrator draws (see offline_media.SCENES)
    en_note: str
    de_note: str


class Thing(NamedTuple):
    en: str                # without article: "silver lantern"
    de: str                # without article: "Silberlaterne"
    g: str                 # German gender


class Goal(NamedTuple):
    en: str                # infinitive phrase: "find the lost Star Crown"
    en_done: str           # past: "found the lost Star Crown"
    de: str                # infinitive phrase: "die verlorene Sternenkrone finden"
    de_done: str           # past, verb second: "fand die verlorene Sternenkrone"


class Action(NamedTuple):
    en: str                # a choice: "Read the runes aloud"
    en_past: str           # "read the runes aloud"
    de: str                # "Lies die Runen laut vor"
    de_past: str           # "las die Runen laut vor"


class Bank(NamedTuple):
    gentle: bool           # romance and comedy: nobody dies, the antagonist is a rival
    heroes: tuple[Person, ...]
    friends: tuple[Person, ...]
    foes: tuple[Person, ...]
    places: tuple[Place, ...]
    items: tuple[Thing, ...]
    threats: tuple[Thing, ...]
    goals: tuple[Goal, ...]
    actions: tuple[Action, ...]
    sights_en: tuple[str, ...]
    sights_de: tuple[str, ...]
    # one theme-flavoured line per arc stage: complication, turn, climax, endgame, resolution
    beats_en: tuple[str, str, str, str, str]
    beats_de: tuple[str, str, str, str, str]
    foe_word: tuple[str, str] = ("enemy", "Feind")   # what the antagonist is to the hero
    fate_en: str = ""      # how the antagonist leaves the story ("" = the storyteller's own)
    fate_de: str = ""
