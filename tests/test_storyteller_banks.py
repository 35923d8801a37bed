"""The offline storyteller's word banks are data files: every theme has one, each is valid,
and a broken file is refused with its name and the bad value's path."""

from __future__ import annotations

import json
from importlib import resources

import pytest

from storyd.core.themes import THEMES
from storyd.storyteller.bank import OBSTACLE_KINDS, BankError, load_bank, parse_bank
from storyd.storyteller.banks import BANKS, bank_for


def shipped(theme: str) -> dict[str, object]:
    raw = resources.files("storyd.storyteller").joinpath("banks", f"{theme}.json").read_text(
        encoding="utf-8")
    data: dict[str, object] = json.loads(raw)
    return data


def test_every_theme_has_a_valid_bank_file() -> None:
    assert set(BANKS) == set(THEMES)
    for theme in THEMES:
        bank = load_bank(theme)
        assert bank == BANKS[theme]
        assert {o.kind for o in bank.obstacles} <= set(OBSTACLE_KINDS)
        assert len(bank.places) >= 4 and bank.heroes and bank.friends and bank.foes


def test_german_stories_get_german_titles() -> None:
    names = {p.name for p in bank_for("adventure", "de").friends}
    assert "Kapitänin Nell" in names and "Captain Nell" not in names
    assert "Captain Nell" in {p.name for p in bank_for("adventure", "en").friends}
    assert bank_for("no-such-theme", "en") == BANKS["adventure"]


@pytest.mark.parametrize(("change", "message"), [
    (lambda d: d["heroes"][0].update(g="x"), "gender must be 'f' or 'm', not 'x' - at `$.heroes[0].g`"),
    (lambda d: d["heroes"][1].pop("name"), "missing required field `name` - at `$.heroes[1]`"),
    (lambda d: d["places"][2].update(de_g="q"), "at `$.places[2].de_g`"),
    (lambda d: d["obstacles"][0].update(kind="dragon"),
     "kind must be one of creature, hazard, problem, person, not 'dragon' - at `$.obstacles[0].kind`"),
    (lambda d: d.update(heroes=[]), "needs at least 1 entry - at `$.heroes`"),
    (lambda d: d.update(colour="red"), "unknown field `colour`"),
    (lambda d: d.update(beats_en=["only one"]), "at `$.beats_en`"),
    (lambda d: d["items"][0].update(en=7), "Expected `str`, got `int` - at `$.items[0].en`"),
])
def test_a_broken_bank_is_refused_by_name_and_path(change, message) -> None:  # type: ignore[no-untyped-def]
    data = shipped("fantasy")
    change(data)
    with pytest.raises(BankError) as info:
        parse_bank(json.dumps(data).encode(), "banks/fantasy.json")
    assert str(info.value).startswith("word bank banks/fantasy.json: ")
    assert message in str(info.value)


@pytest.mark.parametrize("raw", [b"", b"{", b"\xff\xfe", b"[]", b"null", b'{"gentle": true}'])
def test_a_bank_that_is_not_a_bank_is_refused(raw: bytes) -> None:
    with pytest.raises(BankError, match=r"^word bank x\.json: "):
        parse_bank(raw, "x.json")


def test_a_missing_bank_file_says_so() -> None:
    with pytest.raises(BankError, match="word bank nope.json: cannot be read"):
        load_bank("nope")
