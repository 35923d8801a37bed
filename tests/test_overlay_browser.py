"""The overlay as a stream widget, in real Chromium: real-length chapters fit every canvas.

One server and one Chromium per module (tests/overlay_harness.py); tests drive the story by
publishing snapshots through the real bus and measure in the page: every visible text
element inside the viewport and inside every clipping ancestor, no content overflow, no
ellipsis, story and choice text ≥ 28 px at 1080p. Screenshots of every state land in
tests/artifacts/overlay/.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from typing import Any

import msgspec
import pytest
from overlay_harness import (
    ARTIFACTS,
    CHAPTERS,
    CHOICES,
    CHROMIUM,
    DOCS,
    FLOOR,
    SENTENCES,
    SIZES,
    STATES,
    Server,
    assert_fits,
    goto,
    measure,
    open_page,
    settle,
    show,
    snap_shot,
    story,
)
from web_harness import now_ms

from storyd.core.snapshot import ChoiceView, OverlayView

pytestmark = pytest.mark.browser

try:
    from playwright.sync_api import sync_playwright
except ImportError:  # pragma: no cover
    sync_playwright = None

if sync_playwright is None or not CHROMIUM.exists():
    pytest.skip("overlay browser tests need Playwright and a system Chromium at "
                "/usr/bin/chromium; skipping", allow_module_level=True)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    s = Server(tmp_path_factory.mktemp("overlay"))
    s.start()
    yield s
    s.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=str(CHROMIUM), args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        try:
            yield b
        finally:
            b.close()


@pytest.mark.parametrize("w,h", SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
def test_a_350_word_chapter_with_six_long_choices_fits(server: Server, browser: Any,
                                                      w: int, h: int) -> None:
    assert sum(len(s.split()) for s in SENTENCES) == 350
    assert [len(c.text) for c in CHOICES] == [110] * 6
    page, errors = open_page(browser, w, h)
    try:
        for layout in ("landscape", "portrait"):
            goto(page, server, layout, w, h)
            number = next(CHAPTERS)
            for state, make, ready in STATES:
                show(page, server, make(number), ready)
                # every state is kept as a picture in the orientation of the canvas; above
                # 1080p (the same layout, scaled; seconds per picture on a busy machine) and
                # for the other orientation only the vote is
                natural = (layout == "landscape") == (w > h)
                assert_fits(page, f"{w}x{h}-{layout}-{state}",
                            shot=state == "voting" or (natural and w * h <= 1920 * 1080))
                if state == "presenting":   # the sentence being read is on screen, in full
                    visible = page.evaluate(
                        "() => [...document.querySelectorAll('#chapter-text .s')]"
                        ".filter(s => !s.hidden).map(s => s.textContent.trim())")
                    assert visible[-1] == SENTENCES[12], visible
                    assert len(visible) >= 2, visible      # with the sentence before it
        assert errors == []
    finally:
        page.close()


@pytest.mark.parametrize("style", ["storybook", "lowerthird"])
def test_every_style_fits_the_natural_orientations(server: Server, browser: Any,
                                                   style: str) -> None:
    for w, h in ((1920, 1080), (720, 1280)):
        layout = "landscape" if w > h else "portrait"
        page, errors = open_page(browser, w, h)
        try:
            goto(page, server, layout, w, h, f"&style={style}")
            assert f"style-{style}" in page.get_attribute("#stage", "class")
            number = next(CHAPTERS)
            for state, make, ready in STATES[:5]:        # "The End" is alike in every style
                show(page, server, make(number), ready)   # the URL's style wins
                assert_fits(page, f"style-{style}-{w}x{h}-{state}")
            assert errors == []
        finally:
            page.close()
    page, _ = open_page(browser, 1280, 720)      # without ?style=, [overlay] style decides
    try:
        goto(page, server, "landscape", 1280, 720)
        show(page, server, story("voting", style=style),
             f"document.getElementById('stage').classList.contains('style-{style}')")
    finally:
        page.close()


def test_phone_readable_vote_panel(server: Server, browser: Any) -> None:
    page, errors = open_page(browser, 1920, 1080)
    try:
        goto(page, server, "landscape", 1920, 1080)
        show(page, server, story("voting", counts=(1, 5, 2, 0, 0, 0)),
             "document.querySelectorAll('.choice.leader').length === 1")
        chips = page.eval_on_selector_all(".choice .chip", "els => els.map(e => e.textContent)")
        assert chips == ["!a", "!b", "!c", "!d", "!e", "!f"]
        assert page.text_content("#vote-cta") == "Type !a – !f in chat"
        sizes = page.evaluate("() => ['#vote-cta', '.choice .text'].map(s => "
                              "parseFloat(getComputedStyle(document.querySelector(s)).fontSize))")
        assert sizes[0] >= sizes[1] >= FLOOR                     # the call as large as choices
        assert page.get_attribute(".choice.leader", "data-key") == "b"
        texts = page.eval_on_selector_all(".choice .text", "els => els.map(e => e.textContent)")
        assert texts == [c.text for c in CHOICES]                 # in full, never shortened
        opacity = page.evaluate("() => { const m = getComputedStyle(document.getElementById("
                                "'vote-panel')).backgroundColor.match(/[\\d.]+/g); return +m[3]; }")
        assert opacity >= 0.85
        # ≤ 10 s: the digit stays fully opaque (the ring pulses)
        urgent = msgspec.structs.replace(story("voting"), voting=msgspec.structs.replace(
            story("voting").voting, ends_at=now_ms() + 8_000))   # type: ignore[arg-type]
        show(page, server, urgent, "document.getElementById('vote-panel').classList"
                                   ".contains('urgent')")
        for _ in range(4):
            assert page.evaluate("() => getComputedStyle(document.getElementById('countdown'))"
                                 ".opacity") == "1"
            page.wait_for_timeout(150)
        snap_shot(page, "urgent")
        # closed: the call to action goes, the winner is a headline, the tie-break is said
        show(page, server, story("result", winner=2),
             "document.getElementById('vote-panel').dataset.phase === 'closed'")
        assert page.is_hidden("#vote-cta")
        assert page.text_content("#vote-call") == "C wins!"
        assert "random" in page.text_content("#vote-result")
        assert page.is_hidden("#countdown")
        call_box = page.evaluate("() => { const e = document.getElementById('vote-call'); "
                                 "return e.getClientRects().length; }")
        assert call_box == 1
        assert errors == []
    finally:
        page.close()


def test_caption_follows_narration_and_choices_appear_while_read_out(server: Server,
                                                                    browser: Any) -> None:
    page, errors = open_page(browser, 1280, 720)
    try:
        goto(page, server, "landscape", 1280, 720)
        n = next(CHAPTERS)
        show(page, server, story("presenting", narrated=0, number=n),
             "!document.getElementById('text-panel').hidden")
        newest = "document.querySelector('#chapter-text .s.newest').textContent.trim()"
        assert page.evaluate(newest) == SENTENCES[0]
        for i in (1, 2, 9):                       # what the narrator reads is what is shown
            server.publish("story:narration", {
                "chapter": n, "index": i, "kind": "sentence", "text": SENTENCES[i],
                "audio_url": None, "duration_ms": 3000})
            page.wait_for_function(f"() => {newest} === {SENTENCES[i]!r}", timeout=5_000)
            settle(page)
            assert measure(page)["bad"] == []
        assert page.is_hidden("#vote-panel")
        server.publish("story:narration", {
            "chapter": n, "index": len(SENTENCES), "kind": "choices", "text": "A, B, C",
            "audio_url": None, "duration_ms": 8000})
        page.wait_for_function("() => document.getElementById('vote-panel').dataset.phase"
                               " === 'preview'", timeout=5_000)
        settle(page)
        assert page.eval_on_selector_all(".choice .text", "els => els.map(e => e.textContent)") \
            == [c.text for c in CHOICES]
        assert page.is_hidden("#vote-cta")      # "type !a" only once the vote is open
        assert measure(page)["bad"] == []
        snap_shot(page, "choices-read-out")
        assert errors == []
    finally:
        page.close()


def test_obs_custom_css_applies_and_scripts_stay_blocked(server: Server, browser: Any) -> None:
    page, errors = open_page(browser, 1280, 720)
    try:
        goto(page, server, "landscape", 1280, 720)
        show(page, server, story("voting"), "!document.getElementById('vote-panel').hidden")
        # what OBS does with a browser source's Custom CSS: a <style> element in <head>
        page.evaluate("""() => { const s = document.createElement('style');
            s.textContent = '#vote-call { color: rgb(1, 2, 3) !important; } body { background: rgba(0, 0, 0, 0); }';
            document.head.appendChild(s); }""")
        settle(page)
        assert page.evaluate("() => getComputedStyle(document.getElementById('vote-call'))"
                             ".color") == "rgb(1, 2, 3)"
        assert errors == []
        # inline script is still refused by the CSP
        page.evaluate("""() => { const s = document.createElement('script');
            s.textContent = 'window.__ran = 1'; document.head.appendChild(s); }""")
        settle(page)
        assert page.evaluate("() => window.__ran") is None
        assert any("Content Security Policy" in e for e in errors), errors
    finally:
        page.close()


def test_german_story_german_overlay(server: Server, browser: Any) -> None:
    page, errors = open_page(browser, 1080, 1920)
    try:
        goto(page, server, "portrait", 1080, 1920)
        show(page, server, story("voting", language="German"),
             "document.documentElement.lang === 'de'")
        assert page.text_content("#vote-call") == "Wie geht es weiter?"
        assert page.text_content("#vote-cta") == "Tippt !a – !f in den Chat"
        assert page.text_content("#vote-voters").endswith("Stimmen")
        assert_fits(page, "german-voting")
        show(page, server, story("result", language="German"),
             "document.getElementById('vote-panel').dataset.phase === 'closed'")
        assert page.text_content("#vote-call") == "B gewinnt!"
        assert page.text_content("#vote-result") == "Gleichstand — das Los hat entschieden"
        assert_fits(page, "german-result")
        show(page, server, msgspec.structs.replace(story("result", language="German"),
                                                   state="ended"),
             "!document.getElementById('card').hidden")
        assert page.text_content("#card-title") == "Ende"
        assert errors == []
    finally:
        page.close()


RTL = ("وَقَفَ الحارس عند باب الكنيسة الغارقة وهو يحمل الفانوس الأخير.",
       "הצל התקרב לאט אל המים השחורים ואיש לא העז לדבר.",
       "灯台守は沈んだ礼拝堂の前で立ち止まり、鐘楼の上で鴉が古い名前を呼んでいるのを聞いた" * 4,
       "Ⓤⓝⓘⓒⓞⓓⓔ 🐉🔥 Zwölf Boxkämpfer jagen Viktor quer über den großen Sylter Deich. "
       + "Donaudampfschifffahrtsgesellschaftskapitänsmützenabzeichenherstellerinnung" * 3)


def test_rtl_unicode_and_bad_input_nothing_clipped(server: Server, browser: Any) -> None:
    choices = (ChoiceView(key="a", text="ادخل إلى السرداب المغمور بالمياه مع الفانوس الأخير " * 2),
               ChoiceView(key="b", text="😀" * 40 + "W" * 90))
    title = "A title a model wrote far too long " * 8
    for w, h, layout in ((1920, 1080, "landscape"), (720, 1280, "portrait")):
        page, errors = open_page(browser, w, h)
        try:
            goto(page, server, layout, w, h)
            show(page, server, story("presenting", sentences=RTL, narrated=2, title=title,
                                     choices=choices), "!document.getElementById('text-panel')"
                                                       ".hidden")
            assert_fits(page, f"unicode-{layout}-presenting")
            show(page, server, story("voting", sentences=RTL, choices=choices, title=title,
                                     counts=(10**9, 3), voters=10**9 + 3),
                 "document.querySelectorAll('.choice').length === 2")
            assert_fits(page, f"unicode-{layout}-voting")
            assert page.evaluate("() => getComputedStyle(document.querySelector('.choice .text'))"
                                 ".direction") == "rtl"
            assert errors == []
        finally:
            page.close()


def test_disconnect_shows_reconnecting_within_2s_then_resyncs(server: Server,
                                                              browser: Any) -> None:
    page, errors = open_page(browser, 1920, 1080)
    try:
        goto(page, server, "landscape", 1920, 1080)
        show(page, server, story("voting"), "document.getElementById('countdown-num')"
                                            ".textContent !== ''")
        assert page.is_hidden("#conn")
        # the page notes (its own Date.now(), the same clock as time.time()) when the pill
        # appears and when it goes again
        page.evaluate("""() => { window.__conn = []; const c = document.getElementById('conn');
            new MutationObserver(() => window.__conn.push([c.hidden, Date.now()]))
              .observe(c, {attributes: true}); }""")
        dropped_ms = time.time() * 1000
        server.stop()
        try:
            page.wait_for_function("() => !document.getElementById('conn').hidden",
                                   timeout=2_000)
            shown_ms = page.evaluate("window.__conn.find(([hidden]) => !hidden)[1]")
            assert shown_ms - dropped_ms < 2_000
            assert page.text_content("#conn-text") == "Reconnecting…"
            assert page.is_hidden("#countdown")       # stopped: never a stale "0"
            snap_shot(page, "reconnecting")
            page.wait_for_timeout(2_500)              # down a while: the backoff reaches its cap
            assert page.is_hidden("#countdown") and page.is_visible("#conn")
        finally:
            server.start()
        back_ms = time.time() * 1000
        page.wait_for_function("() => document.getElementById('conn').hidden && "
                               "!document.getElementById('countdown').classList.contains('off')",
                               timeout=5_000)
        hidden_ms = page.evaluate("window.__conn.filter(([hidden]) => hidden).pop()[1]")
        assert hidden_ms - back_ms < 2_000 + 500   # retries ≤ 2 s apart (+ the resync)
        assert page.eval_on_selector_all(".choice .text", "els => els.length") == 6
        # Chromium logs each refused reconnect as a console error; nothing else may appear
        assert [e for e in errors if "WebSocket" not in e] == []
    finally:
        page.close()


def test_generating_card_never_flashes(server: Server, browser: Any) -> None:
    page, errors = open_page(browser, 1280, 720)
    try:
        goto(page, server, "landscape", 1280, 720)
        show(page, server, story("result"), "!document.getElementById('vote-panel').hidden")
        # the page logs (its own clock) every time the card appears or goes
        page.evaluate("""() => { window.__card = []; const c = document.getElementById('card');
            new MutationObserver(() => window.__card.push([c.hidden, performance.now()]))
              .observe(c, {attributes: true, attributeFilter: ['hidden']}); }""")
        gen = msgspec.structs.replace(story("result"), state="generating",
                                      generating={"chapter": 4, "progress": 0.2})
        server.show(gen)
        server.show(story("presenting", narrated=0))   # written 0 ms later: no card at all
        page.wait_for_function("() => window.storydOverlay.view.snap.state === 'presenting'")
        page.wait_for_timeout(600)
        assert page.evaluate("window.__card.filter(([hidden]) => !hidden).length") == 0
        show(page, server, gen, "true")                # a long one shows…
        page.wait_for_selector("#card:not([hidden])", timeout=3_000)
        server.show(story("presenting", narrated=0))   # …and the chapter is ready at once
        page.wait_for_selector("#card", state="hidden", timeout=3_000)
        log = page.evaluate("window.__card")
        shown = next(t for hidden, t in log if not hidden)
        gone = next(t for hidden, t in log if hidden and t > shown)
        assert gone - shown >= 1_500 - 20, log        # at least 1.5 s (timer granularity)
        assert errors == []
    finally:
        page.close()


def test_a_streamed_chapter_shows_sentence_by_sentence(server: Server, browser: Any) -> None:
    """Issue 9's streaming reveal: while the winner's chapter is still being written, the
    sentences that have arrived are on screen (no "writing…" card over them)."""
    page, errors = open_page(browser, 1920, 1080)
    try:
        goto(page, server, "landscape", 1920, 1080)
        base = msgspec.structs.replace(story("result"), state="generating", voting=None)
        first = msgspec.structs.replace(base, generating={
            "what": "chapter", "chapter": 4, "waiting": True, "preview": "The gate opened."})
        show(page, server, first, "document.getElementById('chapter-text').textContent"
                                  ".includes('The gate opened.')")
        more = msgspec.structs.replace(base, generating={
            "what": "chapter", "chapter": 4, "waiting": True,
            "preview": "The gate opened. “Run!” she said, and the lanterns went out."})
        show(page, server, more, "document.getElementById('chapter-text').textContent"
                                 ".includes('the lanterns went out.')")
        assert page.is_hidden("#card")
        assert page.is_visible("#text-panel")
        assert errors == []
    finally:
        page.close()


README_SENTENCES = (
    "The lantern sank slowly, and its light spread across the bottom of the lake like spilled honey.",
    "Mira held her breath and counted the steps of the drowned stair: twelve, thirteen, fourteen.",
    "At the foot of the stair a door of green bronze stood ajar, and behind it something was humming "
    "a lullaby she had not heard since she was a child.",
    "Above her, on the pier, Tomas was shouting her name into the fog.",
    "The humming stopped.",
)
README_CHOICES = tuple(ChoiceView(key=k, text=t) for k, t in zip("abcdef", (
    "Push the bronze door open and follow the lullaby into the dark",
    "Swim back up to Tomas before the lantern goes out",
    "Call out to whoever is humming and ask for their name",
    "Search the stair for the key the old ferryman talked about, even if it costs her the light",
    "Wait in silence and watch who comes through the door",
    "Break the lantern so nothing down here can see her",
), strict=False))


def test_readme_screenshots(server: Server, browser: Any) -> None:
    """The README's pictures over a stand-in scene; with STORYD_REFRESH_SCREENSHOTS=1 they
    replace docs/screenshots/overlay-{landscape,portrait}.png."""
    from storyd.core.model import ImageRequest
    from storyd.core.themes import THEMES
    from storyd.providers.offline_picture import render_scene

    backdrop = "html { background: #2b3d52; }"   # flat: keeps the PNGs small
    for name, w, h, layout in (("landscape", 1920, 1080, "landscape"),
                               ("portrait", 1080, 1920, "portrait")):
        svg = render_scene(ImageRequest(prompt="a drowned stair", title="", seed=7,
                                        theme=THEMES["fantasy"], width=1024 if w > h else 576,
                                        height=576 if w > h else 1024))
        if "<text" in svg:                   # the picture carries no title of its own
            svg = svg.rsplit("<rect y=", 1)[0] + "</svg>"
        (server.d.media_dir / f"readme-{name}.svg").write_text(svg, encoding="utf-8")
        snap = story("voting", sentences=README_SENTENCES, choices=README_CHOICES,
                     title="The Lantern Under the Lake", counts=(4, 11, 6, 2, 0, 3),
                     number=next(CHAPTERS))
        chapter = msgspec.structs.replace(
            snap.chapter, image_url=f"/api/interactive-story/image/readme-{name}.svg")  # type: ignore[arg-type]
        page, errors = open_page(browser, w, h)
        try:
            goto(page, server, layout, w, h)
            show(page, server, msgspec.structs.replace(snap, chapter=chapter),
                 "document.querySelectorAll('.choice.leader').length === 1 && "
                 "document.getElementById('image').complete && "
                 "!document.getElementById('picture').classList.contains('empty')")
            page.add_style_tag(content=backdrop)
            settle(page)
            assert measure(page)["bad"] == []
            path = ARTIFACTS / f"docs-overlay-{name}.png"
            page.screenshot(path=str(path))
            if os.environ.get("STORYD_REFRESH_SCREENSHOTS") == "1":
                shutil.copyfile(path, DOCS / f"overlay-{name}.png")
            assert errors == []
        finally:
            page.close()


def test_without_layout_the_page_picks_it_from_its_aspect_ratio(server: Server,
                                                                browser: Any) -> None:
    """Issue 20.6: a 1080x1920 browser source without ?layout= is portrait, a 1920x1080 one
    landscape, at every size, and a resized source switches."""
    auto = msgspec.structs.replace(story("voting"), overlay=OverlayView(
        layout="auto", size="1920x1080", reveal="sentences", reveal_words_per_second=2.5,
        style="panels"))
    for w, h in SIZES:
        page, errors = open_page(browser, w, h)
        try:
            page.goto(f"{server.url}/overlay/?audio=0")
            page.wait_for_function("() => window.storydOverlay && window.storydOverlay.view.snap",
                                   timeout=10_000)
            want = "portrait" if h > w else "landscape"
            show(page, server, auto, f"document.getElementById('stage').classList"
                                     f".contains('{want}')")
            assert_fits(page, f"auto-{w}x{h}", shot=w * h <= 1920 * 1080)
            other = "landscape" if want == "portrait" else "portrait"
            page.set_viewport_size({"width": h, "height": w})       # the source turned round
            page.wait_for_function(f"() => document.getElementById('stage').classList"
                                   f".contains('{other}')", timeout=5_000)
            settle(page)
            assert_fits(page, f"auto-{w}x{h}-turned", shot=False)
            assert errors == []
        finally:
            page.close()
    page, _ = open_page(browser, 1080, 1920)                     # ?layout= still forces one
    try:
        goto(page, server, "landscape", 1080, 1920)
        show(page, server, auto, "document.getElementById('stage').classList"
                                 ".contains('landscape')")
    finally:
        page.close()


@pytest.mark.parametrize("w,h", [(1080, 1920), (720, 1280)], ids=["1080x1920", "720x1280"])
def test_portrait_keeps_the_chapter_on_screen_while_the_vote_runs(server: Server, browser: Any,
                                                                  w: int, h: int) -> None:
    """A viewer who drops into a portrait stream (TikTok LIVE) mid-vote reads where the story
    stands: the chapter's newest sentences stay above the choices, as in landscape (the text
    vanished when the vote opened, leaving a picture and three choices without context)."""
    auto = msgspec.structs.replace(story("voting"), overlay=OverlayView(
        layout="auto", size="1920x1080", reveal="sentences", reveal_words_per_second=2.5,
        style="panels"))
    page, errors = open_page(browser, w, h)
    try:
        page.goto(f"{server.url}/overlay/?audio=0")
        page.wait_for_function("() => window.storydOverlay && window.storydOverlay.view.snap",
                               timeout=10_000)
        show(page, server, auto, "document.getElementById('stage').classList.contains('portrait')"
                                 " && document.getElementById('vote-panel').dataset.phase === 'open'")
        assert page.is_visible("#text-panel") and page.is_visible("#picture")
        shown = page.evaluate("() => [...document.querySelectorAll('#chapter-text .s')]"
                              ".filter((s) => !s.hidden).map((s) => s.textContent.trim())")
        assert shown and shown[-1] == SENTENCES[-1]        # the decision the vote is about
        picture = page.evaluate("() => document.getElementById('picture')"
                                ".getBoundingClientRect().height")
        assert picture >= 0.15 * h                          # the picture stays a picture
        assert_fits(page, f"portrait-vote-{w}x{h}")
        assert errors == []
    finally:
        page.close()


def recap_story(choices: int, chapters: int, *, style: str = "panels") -> Any:
    """An ended story whose snapshot carries its recap (core/recap_view.py)."""
    from storyd.core.recap_view import CastEntry, MapNode, RecapView, RecapVoter

    nodes = tuple(MapNode(number=i, title=f"Part {i}", choices=0 if i == chapters else choices,
                          chosen=None if i == chapters else i % choices,
                          share=None if i == chapters else 0.31 + (i % 7) / 10,
                          written=tuple(j for j in range(choices) if j != i % choices)[:2],
                          closing=i == chapters) for i in range(1, chapters + 1))
    recap = RecapView(
        session_id=7, title="The Lantern Under the Lake — Fantasy story " * 2,
        theme_name="Fantasy", language="English", status="finished",
        logline=("Mira went down the drowned stair to find the voice that hummed her "
                 "mother's lullaby, and the audience made her choose between the lantern and "
                 "the boy on the pier, again and again, until only the song was left. ") * 2,
        cast=(CastEntry(name="Mira", role="protagonist"), CastEntry(name="Tomas"),
              CastEntry(name="The Ferryman"), CastEntry(name="xX_lantern_Xx", cameo=True)),
        voters=tuple(RecapVoter(name=n, ballots=40 - k, wins=20 - k)
                     for k, n in enumerate(("Amy", "Bob", "ça", "名前", "W" * 40))),
        nodes=nodes, ended_at_ms=now_ms())
    snap = msgspec.structs.replace(story("result", style=style), state="ended", recap=recap)
    return msgspec.structs.replace(snap, overlay=msgspec.structs.replace(
        snap.overlay, recap_seconds=600, layout="auto"))


@pytest.mark.parametrize("w,h", SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
def test_the_recap_card_fits_every_size(server: Server, browser: Any, w: int, h: int) -> None:
    """Issue 20.1: the recap (branch map, title, logline, cast, top voters) fits at every
    size for 3 and 6 choices, also with 40 chapters of 6 choices."""
    page, errors = open_page(browser, w, h)
    try:
        page.goto(f"{server.url}/overlay/?audio=0")
        page.wait_for_function("() => window.storydOverlay && window.storydOverlay.view.snap",
                               timeout=10_000)
        for choices, chapters in ((3, 6), (6, 12), (6, 40)):
            show(page, server, recap_story(choices, chapters),
                 f"!document.getElementById('recap').hidden && document.querySelectorAll("
                 f"'#recap-map .node').length === {chapters}")
            assert_fits(page, f"recap-{w}x{h}-{choices}x{chapters}",
                        shot=w * h <= 1920 * 1080 and chapters != 12)
            assert page.is_hidden("#card")                          # no "The End" on top
            stubs = page.eval_on_selector_all("#recap-map .stub", "els => els.length")
            assert stubs == (chapters - 1) * (choices - 1)          # every road not taken
            assert page.text_content("#recap-voters").startswith("Top voters: Amy 40")
            assert "xX_lantern_Xx (cameo)" in page.text_content("#recap-cast")
            inside = page.evaluate("""() => { const b = document.getElementById('recap-map')
                .getBoundingClientRect(); return [...document.querySelectorAll('#recap-map *')]
                .every(e => { const r = e.getBoundingClientRect(); return r.left >= b.left - 1
                && r.right <= b.right + 1 && r.top >= b.top - 1 && r.bottom <= b.bottom + 1; }); }""")
            assert inside
        assert errors == []
    finally:
        page.close()


def authored_recap(chapters: int = 6) -> Any:
    """An authored story's recap: no cast (its passages name nobody storyd knows), a known
    kind of ending, chapter titles of real length."""
    from storyd.core.recap_view import MapNode, RecapView, RecapVoter

    titles = ("The Fitting", "A Tear at the Seam", "Borrowed Trousers", "The Vicar's Bicycle",
              "Confetti in the Cummerbund", "The Toast Nobody Wrote", "Rings", "Cake")
    nodes = tuple(MapNode(number=i, title=titles[(i - 1) % len(titles)],
                          choices=0 if i == chapters else 3,
                          chosen=None if i == chapters else i % 3,
                          share=None if i == chapters else 0.5, closing=i == chapters)
                  for i in range(1, chapters + 1))
    recap = RecapView(session_id=8, title="The Best Man's Trousers", theme_name="Comedy",
                      language="English", status="finished",
                      logline="Ned had one job at his brother's wedding: keep the rings safe.",
                      ending="triumph", cast=(), voters=(RecapVoter(name="Amy", ballots=5,
                                                                    wins=3),),
                      nodes=nodes, ended_at_ms=now_ms())
    snap = msgspec.structs.replace(story("result"), state="ended", recap=recap)
    return msgspec.structs.replace(snap, overlay=msgspec.structs.replace(
        snap.overlay, recap_seconds=600, layout="auto"))


@pytest.mark.parametrize("w,h", SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
def test_an_authored_storys_recap_says_how_it_ended_and_names_its_chapters(
        server: Server, browser: Any, w: int, h: int) -> None:
    """An authored story knows no cast: its recap card was a title, one line and a bare map.
    It says how the story ended and how long it ran, and names each chapter on the map."""
    page, errors = open_page(browser, w, h)
    try:
        page.goto(f"{server.url}/overlay/?audio=0")
        page.wait_for_function("() => window.storydOverlay && window.storydOverlay.view.snap",
                               timeout=10_000)
        for chapters in (6, 8):
            show(page, server, authored_recap(chapters),
                 "!document.getElementById('recap').hidden && document.querySelectorAll("
                 f"'#recap-map .node').length === {chapters}")
            assert_fits(page, f"recap-authored-{w}x{h}-{chapters}", shot=w * h <= 1920 * 1080)
            assert page.is_hidden("#recap-cast")
            assert page.text_content("#recap-ending") == f"A triumphant ending · {chapters} chapters"
            titles = page.eval_on_selector_all("#recap-titles > div",
                                               "els => els.map(e => e.textContent)")
            assert titles == [n.title for n in authored_recap(chapters).recap.nodes]
            # each title under its own node, clear of every node and of the other titles
            clear = page.evaluate("""() => {
              const boxes = [...document.querySelectorAll('#recap-titles > div')].map(e => {
                const r = document.createRange(); r.selectNodeContents(e);
                return r.getBoundingClientRect(); });
              const nodes = [...document.querySelectorAll('#recap-map .node')]
                .map(n => n.getBoundingClientRect());
              const hit = (a, b) => a.left < b.right && b.left < a.right && a.top < b.bottom
                && b.top < a.bottom;
              return boxes.every((b, i) => nodes.every(n => !hit(b, n)) && boxes.every(
                (c, j) => i === j || !hit(b, c)) && Math.abs((b.left + b.right) / 2 -
                (nodes[i].left + nodes[i].right) / 2) < 2 && b.top > nodes[i].bottom); }""")
            assert clear
        show(page, server, recap_story(6, 40), "!document.getElementById('recap').hidden")
        assert page.eval_on_selector_all("#recap-titles > div", "els => els.length") == 0
        assert errors == []
    finally:
        page.close()


def test_the_recap_goes_after_its_seconds_and_every_style_fits(server: Server,
                                                               browser: Any) -> None:
    page, errors = open_page(browser, 1280, 720)
    try:
        page.goto(f"{server.url}/overlay/?audio=0")
        page.wait_for_function("() => window.storydOverlay && window.storydOverlay.view.snap",
                               timeout=10_000)
        for style in ("storybook", "lowerthird"):
            show(page, server, recap_story(6, 10, style=style),
                 "!document.getElementById('recap').hidden")
            assert_fits(page, f"recap-style-{style}")
        snap = recap_story(3, 4)
        short = msgspec.structs.replace(snap, overlay=msgspec.structs.replace(
            snap.overlay, recap_seconds=1))
        show(page, server, short, "!document.getElementById('recap').hidden")
        page.wait_for_function("() => document.getElementById('recap').hidden && "
                               "document.getElementById('card-title').textContent === 'The End'",
                               timeout=5_000)
        off = msgspec.structs.replace(snap, overlay=msgspec.structs.replace(
            snap.overlay, recap_seconds=0))
        show(page, server, off, "document.getElementById('recap').hidden")
        assert errors == []
    finally:
        page.close()
