"""Story memory: merge rules, bounds, the context budget and persistence."""

from __future__ import annotations

import json

import pytest

from storyd.core.memory import MAX_ENTITIES, MAX_EVENTS, StoryMemory, estimate_tokens, name_key
from storyd.core.model import Entity, MemoryUpdate
from storyd.errors import StorageError


def chars(*entities: Entity) -> MemoryUpdate:
    return MemoryUpdate(characters=entities)


def test_estimate_tokens_is_ceil_of_chars_over_four() -> None:
    assert estimate_tokens("") == 0
    assert estimate_tokens("abcd") == 1
    assert estimate_tokens("abcde") == 2


@pytest.mark.parametrize(("a", "b"), [
    ("Élodie", "elodie"), ("The Black Tower", "black-tower"), ("Dr. Vasquez", "dr vasquez"),
    ("ZOË", "zoe"), ("the  Glass   Tower!", "Glass Tower"),
])
def test_names_match_case_accent_and_punctuation_insensitively(a: str, b: str) -> None:
    assert name_key(a) == name_key(b)
    memory = StoryMemory()
    memory.apply(1, MemoryUpdate(locations=(Entity(name=a, note="first"),)))
    memory.apply(2, MemoryUpdate(locations=(Entity(name=b, note="second"),)))
    (place,) = memory.view().locations
    assert place.name == " ".join(a.split())   # the first spelling stays the display name
    assert place.note == "second"   # latest real note wins


def test_different_names_stay_apart() -> None:
    memory = StoryMemory()
    memory.apply(1, chars(Entity(name="Ana"), Entity(name="Anna"), Entity(name="The")))
    assert {c.name for c in memory.view().characters} == {"Ana", "Anna", "The"}


@pytest.mark.parametrize("placeholder", ["", "unknown", "Unknown.", "n/a", "N/A", "...", "…",
                                         "description", "  ", "None", "TBD"])
def test_placeholder_notes_never_overwrite_real_ones(placeholder: str) -> None:
    memory = StoryMemory()
    memory.apply(1, chars(Entity(name="Mira", note="a fox archer")))
    memory.apply(2, chars(Entity(name="mira", note=placeholder)))
    assert memory.view().characters[0].note == "a fox archer"


def test_role_kept_unless_given_and_alive_only_goes_false() -> None:
    memory = StoryMemory()
    memory.apply(1, chars(Entity(name="Kane", role="villain")))
    memory.apply(2, chars(Entity(name="kane", note="wounded")))
    kane = memory.view().characters[0]
    assert (kane.role, kane.note, kane.alive) == ("villain", "wounded", True)
    memory.apply(3, chars(Entity(name="Kane", alive=False)))
    memory.apply(4, chars(Entity(name="Kane", role="elder")))   # alive=True is "not said"
    kane = memory.view().characters[0]
    assert (kane.role, kane.alive) == ("elder", False)
    assert "DEAD" in memory.context(500)


def test_entities_bounded_least_recently_mentioned_dropped() -> None:
    memory = StoryMemory()
    for i in range(MAX_ENTITIES + 5):
        memory.apply(i + 1, MemoryUpdate(items=(Entity(name=f"item {i}"),)))
        if i == 30:
            memory.apply(i + 1, MemoryUpdate(items=(Entity(name="item 0"),)))  # mentioned again
    names = [e.name for e in memory.view().items]
    assert len(names) == MAX_ENTITIES
    assert "item 0" in names
    assert {"item 1", "item 2", "item 3", "item 4", "item 5"}.isdisjoint(names)
    assert names[0] == f"item {MAX_ENTITIES + 4}"   # most recently mentioned first


def test_old_events_fold_into_summaries() -> None:
    memory = StoryMemory()
    for n in range(1, 21):
        memory.apply(n, MemoryUpdate(event=f"event {n}"), summary="" if n < 5 else f"sum {n}")
    view = memory.view()
    assert view.events == tuple(f"event {n}" for n in range(21 - MAX_EVENTS, 21))
    assert view.summaries[:4] == ("event 1", "event 2", "event 3", "event 4")


def test_reapplying_a_chapter_replaces_its_event() -> None:
    memory = StoryMemory()
    memory.apply(3, MemoryUpdate(event="old draft"))
    memory.apply(3, MemoryUpdate(event="regenerated"))
    assert memory.view().events == ("regenerated",)


def build_story(chapters: int,
                outline: str = "OUTLINE-MARK: a quest for the lost crown.") -> StoryMemory:
    memory = StoryMemory(outline)
    for n in range(1, chapters + 1):
        memory.apply(n, MemoryUpdate(
            characters=(Entity(name=f"Hero {n % 7}", role="hero", note="brave " * 8),
                        Entity(name=f"Extra {n}", note=f"met in chapter {n} " * 3)),
            locations=(Entity(name=f"Place {n}", note="a long windy description " * 3),),
            items=(Entity(name=f"Item {n}", note="shiny"),),
            event=f"EVENT-{n}: the heroes crossed river {n} and argued at length about it."),
            summary=f"Chapter {n} summary: river {n} crossed after a long argument.")
        memory.take_choice(f"Choice number {n}: cross the river and keep going")
    return memory


@pytest.mark.parametrize("budget", [60, 200, 900])
def test_context_stays_within_budget_from_chapter_5_to_50(budget: int) -> None:
    sizes = []
    for chapters in range(5, 51):
        context = build_story(chapters).context(budget)
        assert estimate_tokens(context) <= budget
        assert "OUTLINE-MARK" in context
        assert f"EVENT-{chapters}:" in context     # the most recent event is always there
        sizes.append(estimate_tokens(context))
    if budget == 900:
        assert f"EVENT-{48}:" in build_story(50).context(budget)   # last 3 verbatim
        assert "Earlier:" in build_story(50).context(budget)
        assert "Characters:" in build_story(50).context(budget)
        assert max(sizes[10:]) - min(sizes[10:]) < budget * 0.1    # flat, not growing


def test_context_priority_and_dead_marking() -> None:
    memory = build_story(8)
    memory.apply(9, MemoryUpdate(characters=(Entity(name="Hero 1", alive=False),)))
    context = memory.context(2000)
    order = [context.index(h) for h in ("Outline:", "Recent events:", "Characters:",
                                        "Locations:", "Items:", "Choices taken:")]
    assert order == sorted(order)
    assert "- Hero 1 (hero; " in context and "DEAD" in context
    assert "Choice number 8" in context


@pytest.mark.parametrize("budget", [0, 1, 5, 20])
def test_tiny_budgets_never_overflow(budget: int) -> None:
    assert estimate_tokens(build_story(30, outline="x" * 5000).context(budget)) <= budget


def test_json_round_trip_is_exact() -> None:
    memory = build_story(70)
    memory.apply(71, chars(Entity(name="Élodie", role="heroine", alive=False, note="gone")))
    data = memory.to_json()
    again = StoryMemory.from_json(json.loads(json.dumps(data)))
    assert again.to_json() == data
    assert again.view() == memory.view()
    assert again.context(900) == memory.context(900)
    assert again.path == memory.path
    again.apply(72, chars(Entity(name="elodie", note="back?")))   # keys rebuilt from names
    assert sum(1 for c in again.view().characters if name_key(c.name) == "elodie") == 1


def test_from_json_rejects_bad_data_with_a_clear_error() -> None:
    with pytest.raises(StorageError, match=r"characters"):
        StoryMemory.from_json({"characters": [{"note": "no name"}]})
    with pytest.raises(StorageError, match="version"):
        StoryMemory.from_json({"version": 99})


def test_the_living_cast_outranks_old_summaries() -> None:
    """Issue 17: with 300 tokens and realistic 22-word summaries the hero and sidekick fell
    out of the character list by chapter 10. The living cast now comes before old summaries;
    the dead only after them."""
    memory = StoryMemory("")
    memory.apply(1, MemoryUpdate(characters=(
        Entity(name="Ines", role="heroine", note="a lighthouse keeper"),
        Entity(name="Tom", role="sidekick", note="her brother"),
        Entity(name="Old Harl", role="elder", alive=False))))
    for n in range(2, 13):
        memory.apply(n, MemoryUpdate(
            characters=(Entity(name=f"Stranger {n}", note="met on the road " * 2),),
            event=f"Event {n}: the storm turned the boats around again."),
            summary=" ".join(["Ines and Tom crossed the salt flats and argued about the"
                              " bell"] * 2)[:150])
    context = memory.context(300, include_outline=False)
    assert estimate_tokens(context) <= 300
    people = context.split("Characters:")[1]
    assert "Ines (heroine" in people and "Tom (sidekick" in people     # never pushed out
    assert context.index("Characters:") > context.index("Recent events:")
