"""Whole stories from the offline storyteller: property tests over themes, languages, seeds and
choice paths, outlines (plain, German, hostile), the fallback after a model, and the snapshot
fixtures in tests/fixtures/stories/ that show what viewers will read."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
import trio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from storyd.core.languages import offline_language_notice
from storyd.core.memory import StoryMemory
from storyd.core.model import ChapterDraft, ChapterRequest, Entity, StoryMemoryView
from storyd.core.themes import THEMES
from storyd.storyteller.banks import BANKS
from storyd.storyteller.story import OfflineStoryteller

FIXTURES = Path(__file__).parent / "fixtures" / "stories"
# written here, independently of the storyteller's own lists
EN_WORDS = set("the a an and of to in on at was were he she his her it with for that as had".split())
DE_WORDS = set("der die das den dem ein eine einen und ist war nicht sich mit zu im auf "
               "von aus bei nach wie als noch sie er es ihr sein dass hatte vor am zum zur".split())
DEATH = re.compile(r"\b(died|dies|dead|killed|kill|murdered|starb|tot|getötet|ermordet)\b", re.I)
GORE = re.compile(r"\b(blood|bloody|gore|guts|entrails|Blut|blutig|Eingeweide)\b", re.I)


def sentences(text: str) -> list[str]:
    return [s for s in re.split(r"(?<=[.!?\u201c\u201d])\s+(?=[A-Z\u201c\u201eÄÖÜ])", text) if s]


def share(text: str, words: set[str]) -> float:
    tokens = [w.strip(".,;:!?\u201c\u201d\u201e\"'").casefold() for w in text.split()]
    return sum(t in words for t in tokens) / max(len(tokens), 1)


def key_words(choice: str, lang: str) -> list[str]:
    stop = (DE_WORDS | {"dich", "dir", "mich", "einen", "nach", "gegen"}) if lang == "de" \
        else EN_WORDS | {"from", "into", "what", "about", "knows"}
    return [w.casefold() for w in re.findall(r"[\wäöüß-]+", choice)
            if len(w) >= 4 and w.casefold() not in stop]


def tell(theme: str, language: str, seed: int, picks: list[int], *, outline: str | None = None,
         words: int = 45, arc: int = 0) -> tuple[str, list[ChapterDraft], list[str]]:
    """A story as the director runs it: memory carried, choices taken, closing at the end."""
    async def run() -> tuple[str, list[ChapterDraft], list[str]]:
        teller = OfflineStoryteller()
        th = THEMES[theme]
        text = outline if outline is not None else await teller.write_outline(th, language, seed)
        memory = StoryMemory(text)
        drafts: list[ChapterDraft] = []
        taken: list[str] = []
        win = ""
        for n in range(1, len(picks) + 2):
            closing = n == len(picks) + 1
            prev = drafts[-1] if drafts else None
            draft = await teller.write_chapter(ChapterRequest(
                theme=th, language=language, chapter_number=n, words=70 if closing else words,
                n_choices=0 if closing else 3, closing=closing, outline=text,
                context=memory.context(900), path=memory.path, winning_choice=win,
                previous_text=prev.text if prev else "", memory=memory.view(),
                avoid_choices=tuple(c for c in (prev.choices if prev else ()) if c != win),
                seed=seed * 1000 + n, max_chapters=arc,
                previous_titles=tuple(d.title for d in drafts)))
            memory.apply(n, draft.memory, draft.summary)
            drafts.append(draft)
            if not closing:
                win = draft.choices[picks[n - 1] % len(draft.choices)]
                memory.take_choice(win)
                taken.append(win)
        return text, drafts, taken
    return trio.run(run)


LANGS = {"English": "en", "German": "de"}


# STORYD_EXAMPLES=2000 for a deeper run; the suite keeps it short
# the suite runs the same examples every time (derandomize); a deeper run explores new ones
@settings(max_examples=int(os.environ.get("STORYD_EXAMPLES", "40")), deadline=None,
          derandomize="STORYD_EXAMPLES" not in os.environ,
          suppress_health_check=[HealthCheck.too_slow])
@given(theme=st.sampled_from(sorted(THEMES)), language=st.sampled_from(sorted(LANGS)),
       seed=st.integers(0, 10**6), picks=st.lists(st.integers(0, 2), min_size=2, max_size=9),
       words=st.sampled_from([40, 60]))
def test_every_story_holds_together(theme: str, language: str, seed: int, picks: list[int],
                                    words: int) -> None:
    lang = LANGS[language]
    _, drafts, taken = tell(theme, language, seed, picks, words=words)
    seen: set[str] = set()
    for draft in drafts:   # no sentence twice within a story
        assert " ".join(line.text for line in draft.lines) == draft.text
        for s in (line.text for line in draft.lines):
            assert s not in seen, (s, [d.text for d in drafts])
            seen.add(s)
    for draft in drafts[:-1]:   # chapters keep their length to the end of a long story
        assert words * 0.7 <= len(draft.text.split()) <= words * 1.2, draft.text
    assert 70 * 0.7 <= len(drafts[-1].text.split()) <= 70 * 1.2, drafts[-1].text
    titles = [d.title for d in drafts]
    assert len(set(titles)) == len(titles), titles
    for choice, nxt in zip(taken, drafts[1:], strict=True):   # the winner happens at once
        start = " ".join(line.text for line in nxt.lines[:2]).casefold()
        words_of = key_words(choice, lang)
        shown = [w for w in words_of if w[:4] in start]
        assert len(shown) >= (len(words_of) + 1) // 2, (choice, nxt.text)
    story = " ".join(d.text for d in drafts)
    ours, other = (DE_WORDS, EN_WORDS) if lang == "de" else (EN_WORDS, DE_WORDS)
    assert share(story, ours) > 0.12 and share(story, ours) > 3 * share(story, other)
    closing, first = drafts[-1], drafts[0]
    assert closing.choices == ()
    hero = next(c.name for c in first.memory.characters if c.role in ("hero", "heroine"))
    assert hero in first.text   # in full where the hero is introduced, by first name later
    assert any(part in closing.text for part in hero.split() if len(part) > 2)
    assert first.lines[0].text not in closing.text   # the ending never restarts the story
    assert not re.search(r"\b(begins|beginnt)\b", closing.text)
    foe = [c for c in closing.memory.characters if c.role == "villain"]
    assert foe and foe[0].note in ("defeated", "reconciled")
    if BANKS[theme].gentle:
        assert not DEATH.search(story), story
    assert not GORE.search(story), story
    assert all(c.alive for d in drafts for c in d.memory.characters)


def test_items_are_found_before_they_are_used() -> None:
    """The key item enters memory with a "found" note, in a chapter whose text finds it, and
    only a later chapter (or a later sentence of the same one) uses it."""
    found_words = ("found", "lay", "pointed out", "fand", "lag", "entdeckte")
    for theme in sorted(THEMES):
        for language in LANGS:
            for seed in (11, 12):
                _, drafts, _ = tell(theme, language, seed, [0, 1, 2, 0, 1, 2, 0, 1])
                first: int | None = None
                for n, d in enumerate(drafts):
                    for item in d.memory.items:
                        noun = item.name.split()[-1]
                        where = [i for i, line in enumerate(d.lines) if noun in line.text]
                        if first is None:
                            first = n
                            assert item.note.startswith(("found", "gefunden", "used",
                                                         "eingesetzt")), item
                            assert any(w in d.lines[where[0]].text for w in found_words), d.text
                        if "used" in item.note or "eingesetzt" in item.note:
                            assert first < n or len(where) >= 2, d.text
                assert first is not None, (theme, language, seed)


@pytest.mark.parametrize(("outline", "language", "names"), [
    ("A lighthouse keeper named Ines searches for her brother at the Salt Caves.", "English",
     ("Ines", "Salt Caves", "her brother")),
    ("Eine Leuchtturmwärterin namens Ines sucht ihren Bruder in den Salzhöhlen.", "German",
     ("Ines", "Salzhöhlen", "Bruder")),
    ("Ines, a lighthouse keeper, must find the lost bell. Her friend Tom helps.", "English",
     ("Ines", "Tom", "the lost bell")),
])
def test_the_outline_casts_the_story(outline: str, language: str, names: tuple[str, ...]) -> None:
    for theme in ("fantasy", "romance", "scifi"):
        _, drafts, _ = tell(theme, language, 3, [0, 1, 2, 1], outline=outline)
        first = drafts[0].text
        assert all(n in first for n in names[:2] if n != "Tom") or "Tom" in drafts[0].text, first
        assert names[0] in first
        story = " ".join(d.text for d in drafts)
        assert names[2] in story   # the goal drives the story, and the ending resolves it
        assert names[2] in drafts[-1].text or names[0] in drafts[-1].text


@pytest.mark.parametrize(("outline", "language", "goal"), [
    ("Die Reporterin Lene Hartmann sucht mit ihrer Freundin Ada Finch in Lübeck den "
     "verschwundenen Uhrmacher Otto Brandt.", "German", "den verschwundenen Uhrmacher"),
    ("Lene Hartmann, eine Reporterin, sucht mit ihrem Kollegen Ada Finch in Lübeck den "
     "verschwundenen Uhrmacher.", "German", "den verschwundenen Uhrmacher"),
    ("Reporter Lene Hartmann and her colleague Ada Finch look for the missing watchmaker in "
     "Lübeck.", "English", "the missing watchmaker"),
])
def test_a_role_before_a_name_and_a_companion_before_the_goal(outline: str, language: str,
                                                               goal: str) -> None:
    """Issue 18: "ihr Kollege Jonas Falk" got lost, and a missing watchmaker in Lübeck became
    the theme's stock sapphire. The role in front of a name is not part of it ("Reporterin
    Lene Hartmann" is Lene Hartmann, a reporter), the companion in front of the goal is not
    the goal, and the full name is told once."""
    for theme, seed in (("mystery", 4), ("fantasy", 5)):
        _, drafts, _ = tell(theme, language, seed, [0, 1, 2, 1, 0, 2], outline=outline)
        story = " ".join(d.text for d in drafts)
        assert "Lene Hartmann" in drafts[0].text and "Ada" in drafts[0].text, drafts[0].text
        assert not re.search(r"Report\w* Lene", story), story
        assert goal in story and goal in drafts[-1].text.replace("found", "").replace(
            "fand", ""), drafts[-1].text
        assert "mit ihre" not in story and "with her colleague" not in story
        assert sum(d.text.count("Lene Hartmann") for d in drafts[1:-1]) == 0, story


@pytest.mark.parametrize("outline", [
    "<script>alert(1)</script><b>Ines</b> \x00\x07\x1b[31m searches for the <i>moon</i>",
    "x" * 5000, "A" + " named" * 900, "Una farera llamada Inés busca a su hermano en las Cuevas.",
    "]]><!-- {{hero}} {0} %s", "", "  \n\t ",
])
def test_a_hostile_outline_never_breaks_the_story(outline: str) -> None:
    for language in LANGS:
        _, drafts, _ = tell("horror", language, 5, [1, 2], outline=outline)
        for d in drafts:
            assert "<" not in d.text and "\x00" not in d.text and "{" not in d.text
            assert d.text and d.title


def test_after_a_model_the_same_cast_goes_on() -> None:
    """The fallback when a provider times out: the model's names, places and items continue."""
    memory = StoryMemoryView(
        characters=(Entity(name="Captain Mirela Sand", role="heroine", note="a smuggler"),
                    Entity(name="Oskar", role="sidekick", note="her nervous first mate"),
                    Entity(name="The Grey Admiral", role="villain", note="hunts smugglers")),
        locations=(Entity(name="the Whale Reef", note="a reef of bleached bones"),),
        items=(Entity(name="brass sextant", note="found in chapter 2"),))
    for language, theme, seed in [("English", "adventure", 1), ("German", "adventure", 2),
                                  ("English", "scifi", 3), ("German", "fantasy", 4)]:
        req = ChapterRequest(theme=THEMES[theme], language=language, chapter_number=4, words=60,
                             n_choices=3, seed=seed, memory=memory,
                             winning_choice="Sail around the reef at night")
        draft = trio.run(OfflineStoryteller().write_chapter, req)
        assert "Mirela" in draft.text   # introduced by the model: her first name now
        assert not any(h.name in draft.text for b in BANKS.values() for h in (*b.heroes, *b.foes))
        names = {c.name for c in draft.memory.characters}
        assert "Captain Mirela Sand" in names
        assert "reef" in draft.text.casefold()
        closing = trio.run(OfflineStoryteller().write_chapter, msgspec_replace(
            req, closing=True, n_choices=0, chapter_number=5, words=90))
        assert "Grey Admiral" in closing.text and "sextant" in closing.text


@pytest.mark.parametrize("language", ["English", "German"])
def test_a_chapter_with_no_winning_choice_after_the_first_goes_on(language: str) -> None:
    """An operator's `finish` before any vote (or a resumed story) asks for a chapter after the
    first with no winning choice: no choice is restated, and nothing raises (it crashed the
    generation service with KeyError(''))."""
    for theme in THEMES.values():
        memory = StoryMemory("")
        titles: tuple[str, ...] = ()
        first = ChapterRequest(theme=theme, language=language, chapter_number=1, words=50,
                               n_choices=3, seed=7001)
        draft = trio.run(OfflineStoryteller().write_chapter, first)
        memory.apply(1, draft.memory, draft.summary)
        titles += (draft.title,)
        for number, closing in ((2, False), (3, True)):
            req = msgspec_replace(first, chapter_number=number, closing=closing,
                                  n_choices=0 if closing else 3, memory=memory.view(),
                                  previous_titles=titles, seed=7000 + number)
            draft = trio.run(OfflineStoryteller().write_chapter, req)
            assert draft.text.strip() and draft.title not in titles
            assert bool(draft.choices) != closing
            memory.apply(number, draft.memory, draft.summary)
            titles += (draft.title,)


def msgspec_replace(req: ChapterRequest, **kw: object) -> ChapterRequest:
    import msgspec
    return msgspec.structs.replace(req, **kw)


def test_the_arc_follows_max_chapters_and_ends_well_past_it() -> None:
    _, short, _ = tell("mystery", "English", 9, [0, 1, 2], arc=3)
    assert "Every clue pointed to the same locked door." in short[2].text  # climax at chapter 3
    _, long_, _ = tell("mystery", "English", 9, [0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1], arc=0)
    endgame = " ".join(d.text for d in long_[8:11])
    assert "Only one question was left" in endgame or "goal" in endgame


def test_languages_and_the_notice() -> None:
    assert offline_language_notice("German") is None
    assert offline_language_notice("Deutsch") is None and offline_language_notice("de") is None
    assert offline_language_notice("English") is None
    notice = offline_language_notice("Spanish")
    assert notice is not None and "English and German" in notice and "Spanish needs a model" in notice
    for lang in ("de", "Deutsch"):
        _, drafts, _ = tell("fantasy", lang, 1, [0])
        assert share(drafts[0].text, DE_WORDS) > share(drafts[0].text, EN_WORDS)
    _, drafts, _ = tell("fantasy", "Spanish", 1, [0])
    assert share(drafts[0].text, EN_WORDS) > share(drafts[0].text, DE_WORDS)


def test_a_seed_reproduces_a_story_exactly() -> None:
    assert tell("comedy", "German", 77, [2, 0, 1]) == tell("comedy", "German", 77, [2, 0, 1])
    assert tell("comedy", "German", 77, [2, 0, 1]) != tell("comedy", "German", 78, [2, 0, 1])


STORIES = [("fantasy", "English", 4), ("horror", "German", 8), ("romance", "English", 15),
           ("scifi", "German", 16), ("comedy", "German", 23), ("mystery", "English", 42),
           # themes with no authored story: the offline storyteller tells them in the demo
           ("cyberpunk", "English", 7), ("postapocalyptic", "German", 21)]


def render(theme: str, language: str, seed: int) -> str:
    outline, drafts, taken = tell(theme, language, seed, [0, 1, 2, 1, 0, 2, 1, 0])
    out = [f"# {THEMES[theme].name} · {language} · seed {seed}", "",
           "Regenerate: `STORYD_REGEN_FIXTURES=1 pytest tests/test_offline_stories.py`", "",
           f"> {outline}", ""]
    for n, d in enumerate(drafts, 1):
        out += [f"## {n}. {d.title}", "", d.text, ""]
        if d.choices:
            out += [f"- {'**' if c == taken[n - 1] else ''}{c}{'**' if c == taken[n - 1] else ''}"
                    for c in d.choices] + [""]
        out += [f"*memory: {d.memory.event}*", ""]
    return "\n".join(out)


@pytest.mark.parametrize(("theme", "language", "seed"), STORIES)
def test_snapshot_stories(theme: str, language: str, seed: int) -> None:
    path = FIXTURES / f"{theme}-{language.casefold()}-{seed}.md"
    text = render(theme, language, seed)
    if os.environ.get("STORYD_REGEN_FIXTURES"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert path.read_text(encoding="utf-8") == text
