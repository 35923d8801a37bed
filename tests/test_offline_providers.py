"""The offline providers: seeded storyteller, SVG illustrator, espeak-ng narrator."""

from __future__ import annotations

import io
import logging
import shutil
import wave
import xml.etree.ElementTree as ET

import pytest

from storyd.core.memory import StoryMemory, name_key
from storyd.core.model import (
    ChapterRequest,
    Entity,
    ImageRequest,
    MemoryUpdate,
    SpeechRequest,
    StoryMemoryView,
    Theme,
)
from storyd.core.themes import THEMES
from storyd.errors import ProviderError
from storyd.providers.base import ImageProvider, SpeechProvider, TextProvider
from storyd.providers.offline_media import OfflineIllustrator, OfflineNarrator
from storyd.providers.offline_picture import render_scene
from storyd.storyteller.banks import BANKS
from storyd.storyteller.story import OfflineStoryteller

ALL_THEMES = sorted(THEMES)


def request(theme: str = "fantasy", **kw: object) -> ChapterRequest:
    base: dict[str, object] = dict(theme=THEMES[theme], language="English", chapter_number=1,
                                   words=40, n_choices=4, seed=1)
    return ChapterRequest(**(base | kw))  # type: ignore[arg-type]


def test_offline_providers_implement_the_protocols() -> None:
    assert isinstance(OfflineStoryteller(), TextProvider)
    assert isinstance(OfflineIllustrator(), ImageProvider)
    assert isinstance(OfflineNarrator(), SpeechProvider)
    assert set(BANKS) == set(THEMES)


@pytest.mark.parametrize("theme", ALL_THEMES)
@pytest.mark.parametrize("n", [3, 4, 5, 6])
async def test_chapter_length_and_choices_for_every_theme(theme: str, n: int) -> None:
    teller = OfflineStoryteller()
    avoid = ("Read the runes aloud", "Hack the security grid", BANKS[theme].actions[0].en)
    for seed in range(4):
        for words in (30, 50):
            draft = await teller.write_chapter(request(theme, n_choices=n, seed=seed, words=words,
                                                       avoid_choices=avoid))
            assert words * 0.8 <= len(draft.text.split()) <= words * 1.2, draft.text
            assert len(draft.choices) == n
            assert all(c.strip() and len(c) <= 80 for c in draft.choices)
            assert len({name_key(c) for c in draft.choices}) == n
            assert not {name_key(c) for c in draft.choices} & {name_key(a) for a in avoid}
            assert draft.title and draft.summary and draft.memory.event
            assert " ".join(line.text for line in draft.lines) == draft.text


@pytest.mark.parametrize("words", [80, 150, 250])
async def test_long_form_lengths(words: int) -> None:
    """Long chapters reach their length with lines that are not repeated; at 250 words the
    storyteller may stop short (it never pads: no line twice, no "once again")."""
    low = 0.8 if words <= 150 else 0.7
    for theme in ALL_THEMES:
        draft = await OfflineStoryteller().write_chapter(request(theme, words=words))
        assert words * low <= len(draft.text.split()) <= words * 1.2, (theme, draft.text)
        assert len(set(draft.text.split(". "))) == len(draft.text.split(". "))


async def test_deterministic_per_seed_and_chapters_differ() -> None:
    teller = OfflineStoryteller()
    a = await teller.write_chapter(request(seed=42))
    b = await teller.write_chapter(request(seed=42))
    assert a == b
    others = {(await teller.write_chapter(request(seed=s, chapter_number=c))).text
              for s in range(5) for c in range(1, 4)}
    assert len(others) == 15
    assert await teller.write_outline(THEMES["horror"], "English", 7) == \
        await teller.write_outline(THEMES["horror"], "English", 7)


async def test_follows_winning_choice_and_reuses_remembered_cast() -> None:
    memory = StoryMemoryView(
        characters=(Entity(name="Zora Quill", role="heroine"),
                    Entity(name="Benedikt", role="sidekick", alive=False),
                    Entity(name="Hugo Brass", role="elder"),
                    Entity(name="Lady Nightshade", role="villain")),
        locations=(Entity(name="the Copper Mill", note="a mill that grinds silence"),),
        items=(Entity(name="brass whistle", note="it calls the wind"),))
    teller = OfflineStoryteller()
    seen_text = ""
    for seed in range(12):
        draft = await teller.write_chapter(request(
            "mystery", chapter_number=5, seed=seed, words=80, memory=memory,
            winning_choice="Follow the brass whistle into the fog"))
        first = draft.lines[0].text
        # told as done by the hero, not quoted as a vote ("Zora chose to follow …")
        assert "zora followed the brass whistle into the fog" in first.casefold(), first
        assert "Zora" in draft.text   # in memory already: her first name
        speakers = {line.speaker for line in draft.lines} - {""}
        assert "Benedikt" not in speakers                      # the dead never speak
        assert speakers <= {"Zora Quill", "Hugo Brass", "Lady Nightshade"}
        names = {c.name: c for c in draft.memory.characters}
        assert names["Zora Quill"].role == "heroine"
        assert not any(h.name in draft.text for h in BANKS["mystery"].heroes
                       if h.name != "Zora Quill")   # no second hero from the theme's bank
        seen_text += draft.text
    assert "Hugo" in seen_text and "Copper Mill" in seen_text


async def test_a_whole_story_never_repeats_and_remembers() -> None:
    teller = OfflineStoryteller()
    theme = THEMES["scifi"]
    outline = await teller.write_outline(theme, "English", 3)
    assert 3 <= outline.count(".") <= 5
    memory, texts, offered = StoryMemory(outline), set(), []
    winning = ""
    for n in range(1, 16):
        closing = n == 15
        draft = await teller.write_chapter(ChapterRequest(
            theme=theme, language="English", chapter_number=n, words=45, n_choices=0 if closing
            else 3 + n % 4, closing=closing, outline=outline, context=memory.context(900),
            path=memory.path, winning_choice=winning, memory=memory.view(), seed=1000 + n,
            avoid_choices=tuple(offered)))
        assert draft.text not in texts
        texts.add(draft.text)
        if n == 1:
            hero = next(c.name for c in draft.memory.characters if c.role in ("hero", "heroine"))
            assert hero in outline   # chapter 1 casts the outline's hero
        assert any(part in draft.text for part in hero.split() if len(part) > 2)   # first name
        memory.apply(n, draft.memory, draft.summary)
        offered += draft.choices
        if not closing:
            winning = draft.choices[n % len(draft.choices)]
            memory.take_choice(winning)
    assert draft.choices == ()
    assert len(memory.view().characters) >= 3


async def test_closing_chapter_resolves_without_choices() -> None:
    for theme in ALL_THEMES:
        draft = await OfflineStoryteller().write_chapter(request(
            theme, closing=True, n_choices=0, words=60, chapter_number=9,
            winning_choice="Confront the enemy at last"))
        assert draft.choices == ()
        assert 48 <= len(draft.text.split()) <= 72
        villain = [c for c in draft.memory.characters if c.role == "villain"]
        # romance and comedy are gentle: the rival makes peace, nobody is "defeated"
        assert villain and villain[0].note == ("reconciled" if BANKS[theme].gentle else "defeated")
        assert villain[0].alive


async def test_bad_requests_are_refused() -> None:
    with pytest.raises(ProviderError):
        await OfflineStoryteller().write_chapter(request(n_choices=7))
    with pytest.raises(ProviderError):
        await OfflineStoryteller().write_chapter(request(closing=True, n_choices=3))


async def test_unknown_theme_and_language_still_write_english() -> None:
    odd = Theme(id="western", name="Western", style="", tone="", image_style="")
    draft = await OfflineStoryteller().write_chapter(ChapterRequest(
        theme=odd, language="German", chapter_number=1, words=40, n_choices=3))
    assert len(draft.choices) == 3 and draft.text


# --- illustrator --------------------------------------------------------------------------

EVIL = "<img src=x onerror=alert(1)> & \"quotes\" ]]>"


@pytest.mark.parametrize("theme", ALL_THEMES)
async def test_illustration_is_safe_valid_svg(theme: str) -> None:
    result = await OfflineIllustrator().illustrate(ImageRequest(
        prompt="p", title=EVIL, theme=THEMES[theme], width=720, height=1280, seed=9))
    assert result.content_type == "image/svg+xml"
    root = ET.fromstring(result.data)
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert (root.get("width"), root.get("height")) == ("720", "1280")
    texts = [e.text for e in root.iter() if e.tag.endswith(("text", "title"))]
    assert EVIL in texts                                    # escaped, so it parses back intact
    raw = result.data.decode()
    assert "<img" not in raw and "<script" not in raw.casefold()
    assert "href" not in raw and "http://" not in raw.replace("http://www.w3.org/2000/svg", "")
    colours = set(THEMES[theme].palette)
    used = {e.get("fill") for e in root.iter()} | {e.get("stop-color") for e in root.iter()}
    assert (used - {None, "none", "url(#sky)"}) <= colours


async def test_illustration_seeded_and_rejects_bad_colours() -> None:
    base = ImageRequest(prompt="p", title="T", theme=THEMES["cyberpunk"], seed=1)
    one = await OfflineIllustrator().illustrate(base)
    assert one == await OfflineIllustrator().illustrate(base)
    other = await OfflineIllustrator().illustrate(ImageRequest(
        prompt="p", title="T", theme=THEMES["cyberpunk"], seed=2))
    assert one.data != other.data
    bad = Theme(id="x", name="x", style="", tone="", image_style="",
                palette=('red"/><script>alert(1)</script><x a="', "#123456"))
    card = await OfflineIllustrator().illustrate(ImageRequest(prompt="p", title="T", theme=bad))
    raw = card.data
    ET.fromstring(raw)
    assert b"script" not in raw


# --- narrator -------------------------------------------------------------------------------

needs_espeak = pytest.mark.skipif(shutil.which("espeak-ng") is None,
                                  reason="espeak-ng is not installed (apt-get install espeak-ng)")


@needs_espeak
async def test_narrator_speaks_wav_with_a_true_duration() -> None:
    narrator = OfflineNarrator()
    line = "-v You cannot hide from me."   # a leading dash must not become a flag
    villain = await narrator.speak(SpeechRequest(text=line, role="villain"))
    heroine = await narrator.speak(SpeechRequest(text=line, role="heroine"))
    assert villain is not None and heroine is not None
    assert villain.content_type == "audio/wav" and villain.provider == "offline"
    with wave.open(io.BytesIO(villain.data)) as wav:
        frames, rate = wav.getnframes(), wav.getframerate()
    assert villain.duration == pytest.approx(frames / rate)
    assert 0.5 < villain.duration < 10
    assert villain.data != heroine.data                     # roles get different voices
    assert int.from_bytes(villain.data[4:8], "little") == len(villain.data) - 8


async def test_narrator_absent_binary_is_silent_and_logs_once(caplog: pytest.LogCaptureFixture,
                                                               tmp_path: object) -> None:
    narrator = OfflineNarrator(binary=f"{tmp_path}/no-such-espeak")
    with caplog.at_level(logging.INFO, logger="storyd.providers.offline_media"):
        assert await narrator.speak(SpeechRequest(text="hello")) is None
        assert await narrator.speak(SpeechRequest(text="hello")) is None
    assert sum("no-such-espeak" in r.getMessage() for r in caplog.records) == 1


@pytest.mark.parametrize("binary", ["false", "echo"])
async def test_narrator_failure_is_a_provider_error(binary: str) -> None:
    if shutil.which(binary) is None:
        pytest.skip(f"no {binary} on this system")
    with pytest.raises(ProviderError) as info:
        await OfflineNarrator(binary=binary).speak(SpeechRequest(text="hello"))
    assert info.value.retryable is False


def test_memory_update_from_draft_feeds_memory() -> None:
    memory = StoryMemory()
    memory.apply(1, MemoryUpdate(characters=(Entity(name="A", role="hero"),), event="e"))
    assert memory.view().characters[0].role == "hero"


@pytest.mark.parametrize(("prompt", "theme", "scene"), [
    ("The Sunken Galleon. Finn came to the Sunken Galleon.", "adventure", "ship"),
    ("Into the Forest. Tomas came to the Elderwood.", "fantasy", "forest"),
    ("Der Weg zur Burg. Elara kam zur Rabenburg.", "fantasy", "castle"),
    ("Vor dem Sturm. Mara erfuhr, wohin Madame Blanche wollte. (das Moorhaus)", "horror", "house"),
    ("A Promise. Julian came to the Hilltop Garden; Julian saved the little café.", "romance",
     "garden"),
    ("Das Geheimnis. Ines sagte die Wahrheit. (das Rosencafé)", "romance", "cafe"),
    ("Signal. Ava came to Station Kepler.", "scifi", "station"),
    ("Dust. Ash came to the Dry River.", "postapocalyptic", "desert"),
    ("Echoes. Zora searched the Archive Cellar.", "mystery", "cave"),
    ("Samples. Teo came to the Xenolab.", "scifi", "lab"),
    ("Shadows over Skull Bay. Finn came to Skull Bay.", "adventure", "sea"),
    ("Nothing here. Nobody went anywhere.", "cyberpunk", "city"),   # the theme's usual scene
])
async def test_the_picture_shows_where_the_chapter_is(prompt: str, theme: str, scene: str) -> None:
    result = await OfflineIllustrator().illustrate(ImageRequest(
        prompt=prompt, title=prompt.split(".")[0], theme=THEMES[theme], seed=3))
    root = ET.fromstring(result.data)
    assert root.get("data-scene") == scene
    assert not [e for e in root.iter() if e.tag.endswith("}text")]   # no title drawn in


async def test_picture_elements_follow_the_text() -> None:
    def count(prompt: str, tag: str) -> int:
        svg = render_scene(ImageRequest(prompt=prompt, title="T", theme=THEMES["romance"], seed=1))
        return svg.count(f"<{tag} ")
    assert count("T. Rain fell on the Hilltop Garden.", "line") > 50      # rain
    assert count("T. Sun over the Hilltop Garden.", "line") == 0
    night = render_scene(ImageRequest(prompt="T. Midnight at the pier.", title="T",
                                      theme=THEMES["romance"], seed=1))
    day = render_scene(ImageRequest(prompt="T. Morning at the pier.", title="T",
                                    theme=THEMES["romance"], seed=1))
    assert night.count("<circle") > day.count("<circle") + 20              # stars at night
