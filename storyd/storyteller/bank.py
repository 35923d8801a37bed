"""The word banks of the offline storyteller: what one theme's stories are made of.

A bank is a data file, `storyd/storyteller/banks/<theme>.json`, read with importlib.resources
and validated into the frozen Structs below (`load_bank`); a broken file is refused with
its name and the path of the bad value (`$.heroes[0].g`), never half-read.

The German words are written as German, with what German grammar needs: every noun carries
its gender ("m", "f", "n" or "pl") and every place the preposition it takes ("im Glasturm",
"am Hafen", "auf dem Markt"), so the German templates can decline articles by case. English
places carry their article ("the Glass Tower") and their preposition ("in", "at", "on").

Obstacles are typed, because they behave differently: a *creature* (or a machine that
hunts) stirs, is hidden from and driven off; a *hazard* is escaped or endured; a *problem*
is solved; a *person* is confronted, slipped past or won over.

A bank's lists are small on purpose: one story uses one hero, one friend, one antagonist,
one goal, one key item, one obstacle and a route of four places out of five.
"""

from __future__ import annotations

from importlib import resources

import msgspec

OBSTACLE_KINDS = ("creature", "hazard", "problem", "person")
_GENDERS = ("f", "m")
_DE_GENDERS = ("m", "f", "n", "pl")


class BankError(ValueError):
    """A word-bank file that cannot be used (the message names the file and the value)."""


class _Data(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    pass


class Person(_Data, frozen=True):
    name: str
    g: str                 # "f" / "m": pronouns and German agreement
    en: str                # "a young mage of the river clans"
    de: str                # "eine junge Magierin vom Flussvolk"
    short: str = ""        # how the story calls them after the first mention ("" = made
                           # from the name: "Zora Quill" → "Zora", see plot.short_name)
    de_name: str = ""      # the name in German stories ("Kapitänin Nell"; "" = the name)
    de_short: str = ""     # the short name in German stories ("" = `short`)


class Place(_Data, frozen=True):
    en: str                # "the Glass Tower"
    en_prep: str           # "in" / "at" / "on"
    de: str                # "Glasturm"
    de_g: str              # "m" / "f" / "n" / "pl"
    de_prep: str           # "in" / "an" / "auf"
    scene: str             # what the offline illustrator draws (see offline_media.SCENES)
    en_note: str
    de_note: str


class Thing(_Data, frozen=True):
    en: str                # without article: "silver lantern"
    de: str                # without article: "Silberlaterne"
    g: str                 # German gender


class Obstacle(_Data, frozen=True):
    kind: str              # one of OBSTACLE_KINDS
    en: str                # without article: "shadow wyrm"
    de: str                # without article: "Schattenwurm"
    g: str                 # German gender
    en_face: str = ""      # a choice that deals with it: "Prove the letter is forged"
    en_faced: str = ""     # the same, done: "proved the letter was forged"
    de_face: str = ""      # "Beweise, dass der Brief gefälscht ist"
    de_faced: str = ""     # "bewies, dass der Brief gefälscht war"


class Goal(_Data, frozen=True):
    en: str                # infinitive phrase: "find the lost Star Crown"
    en_done: str           # past: "found the lost Star Crown"
    de: str                # infinitive phrase: "die verlorene Sternenkrone finden"
    de_done: str           # past, verb first: "fand die verlorene Sternenkrone"


class Action(_Data, frozen=True):
    en: str                # a choice: "Read the runes aloud"
    en_past: str           # "read the runes aloud"
    de: str                # "Lies die Runen laut vor"
    de_past: str           # "las die Runen laut vor"
    en_result: str = ""    # what came of it (a template): "The runes answered with a low hum …"
    de_result: str = ""


class Bank(_Data, frozen=True):
    gentle: bool           # romance and comedy: nobody dies, the antagonist is a rival
    heroes: tuple[Person, ...]
    friends: tuple[Person, ...]
    foes: tuple[Person, ...]
    places: tuple[Place, ...]
    items: tuple[Thing, ...]
    obstacles: tuple[Obstacle, ...]
    goals: tuple[Goal, ...]
    actions: tuple[Action, ...]
    sights_en: tuple[str, ...]
    sights_de: tuple[str, ...]
    # one theme-flavoured line per arc stage: complication, turn, climax, endgame, resolution
    beats_en: tuple[str, str, str, str, str]
    beats_de: tuple[str, str, str, str, str]
    fate_en: str = ""      # how the antagonist leaves the story ("" = the storyteller's own)
    fate_de: str = ""


def _check(bank: Bank) -> None:
    """What the types cannot say: enumerations, enough entries, no empty words."""
    def need(ok: bool, path: str, what: str) -> None:
        if not ok:
            raise BankError(f"{what} - at `$.{path}`")
    for field, least in (("heroes", 1), ("friends", 1), ("foes", 1), ("places", 4),
                         ("items", 1), ("obstacles", 1), ("goals", 1), ("actions", 2),
                         ("sights_en", 3), ("sights_de", 3)):
        need(len(getattr(bank, field)) >= least, field,
             f"needs at least {least} {'entry' if least == 1 else 'entries'}")
    for field in ("heroes", "friends", "foes"):
        for i, p in enumerate(getattr(bank, field)):
            need(p.g in _GENDERS, f"{field}[{i}].g", f"gender must be 'f' or 'm', not {p.g!r}")
            need(bool(p.name.strip() and p.en.strip() and p.de.strip()), f"{field}[{i}]",
                 "a person needs a name and both descriptions")
    for i, pl in enumerate(bank.places):
        need(pl.de_g in _DE_GENDERS, f"places[{i}].de_g", f"German gender must be one of "
             f"{', '.join(_DE_GENDERS)}, not {pl.de_g!r}")
        need(pl.de_prep in ("in", "an", "auf"), f"places[{i}].de_prep",
             f"German preposition must be 'in', 'an' or 'auf', not {pl.de_prep!r}")
        need(pl.en_prep in ("in", "at", "on"), f"places[{i}].en_prep",
             f"English preposition must be 'in', 'at' or 'on', not {pl.en_prep!r}")
    for field in ("items", "obstacles"):
        for i, t in enumerate(getattr(bank, field)):
            need(t.g in _DE_GENDERS, f"{field}[{i}].g", f"German gender must be one of "
                 f"{', '.join(_DE_GENDERS)}, not {t.g!r}")
    for i, o in enumerate(bank.obstacles):
        need(o.kind in OBSTACLE_KINDS, f"obstacles[{i}].kind",
             f"kind must be one of {', '.join(OBSTACLE_KINDS)}, not {o.kind!r}")
        need(bool(o.en_face) == bool(o.en_faced) and bool(o.de_face) == bool(o.de_faced),
             f"obstacles[{i}]", "a custom 'face' phrase needs its 'faced' phrase too")


def parse_bank(data: bytes, source: str) -> Bank:
    """The bank in `data` (JSON), validated; BankError naming `source` and the bad value."""
    try:
        bank = msgspec.json.decode(data, type=Bank)
        _check(bank)
    except (msgspec.ValidationError, msgspec.DecodeError, BankError) as exc:
        raise BankError(f"word bank {source}: {exc}") from None
    return bank


def load_bank(theme: str) -> Bank:
    """The shipped bank of `theme` (package data). BankError when it is missing or broken."""
    name = f"{theme}.json"
    try:
        data = resources.files("storyd.storyteller").joinpath("banks", name).read_bytes()
    except OSError as exc:
        raise BankError(f"word bank {name}: cannot be read ({exc.strerror or exc})") from None
    return parse_bank(data, f"storyd/storyteller/banks/{name}")


def shipped_themes() -> tuple[str, ...]:
    """The themes that have a bank file, sorted."""
    folder = resources.files("storyd.storyteller").joinpath("banks")
    return tuple(sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".json")))
