"""The overlay as a stream widget, in real Chromium: real-length chapters fit every canvas.

One server (the real web app over the harness's FakeDaemon, on its own trio loop in a thread)
and one Chromium per module; tests drive the story by replacing the fake's snapshot, which
the real bus publishes to the page as `story:state`. Checks are measurements in the page:
every visible text element inside the viewport and inside every clipping ancestor, no
content overflow, no ellipsis, and the computed font size of story and choice text ≥ 28 px
at 1080p. Screenshots of every state land in tests/artifacts/overlay/.
"""

from __future__ import annotations

import itertools
import os
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import msgspec
import pytest
import trio
from web_harness import FakeDaemon, now_ms, running_web

from storyd.bus import EventBus
from storyd.core.snapshot import ChapterView, ChoiceView, Snapshot, VotingView

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).parent / "artifacts" / "overlay"
DOCS = Path(__file__).parent.parent / "docs" / "screenshots"

try:
    from playwright.sync_api import sync_playwright
except ImportError:  # pragma: no cover
    sync_playwright = None

if sync_playwright is None or not CHROMIUM.exists():
    pytest.skip("overlay browser tests need Playwright and a system Chromium at "
                "/usr/bin/chromium; skipping", allow_module_level=True)

SIZES = ((1920, 1080), (1280, 720), (2560, 1440), (3840, 2160), (1080, 1920), (720, 1280))
FLOOR = 28      # px at 1080p: story text, choices, call to action, headline, countdown

WORDS = ("the lantern keeper walked past the drowned chapel while ravens argued above the "
         "broken bell tower and somewhere below the river whispered old names nobody dared "
         "to answer").split()


def chapter_sentences(total_words: int = 350) -> tuple[str, ...]:
    """A 350-word chapter of sentences 9–25 words long (deterministic)."""
    out: list[str] = []
    i, n = 0, 0
    while n < total_words:
        size = min(9 + (len(out) * 7) % 17, total_words - n)
        words = [WORDS[(i + k) % len(WORDS)] for k in range(size)]
        i += size
        n += size
        out.append(" ".join(words).capitalize() + ".")
    return tuple(out)


def choice_text(key: str, n: int = 110) -> str:
    base = (f"{key.upper()} Follow the hooded stranger through the flooded catacombs, carrying "
            "the last lantern and the cracked silver key, whatever it costs")
    return (base * 2)[:n].rstrip() + "!" * (n - len((base * 2)[:n].rstrip()))


SENTENCES = chapter_sentences()
CHOICES = tuple(ChoiceView(key=k, text=choice_text(k)) for k in "abcdef")


def story(state: str, *, sentences: tuple[str, ...] = SENTENCES,
          choices: tuple[ChoiceView, ...] = CHOICES, title: str = "The Drowned Chapel",
          language: str = "English", narrated: int | None = None, winner: int | None = None,
          counts: tuple[int, ...] | None = None, voters: int | None = None,
          style: str = "panels", number: int = 3) -> Snapshot:
    chapter = ChapterView(number=number, title=title, text=" ".join(sentences),
                          sentences=sentences, choices=choices)
    counts = counts or tuple((i * 7) % 11 + (3 if i == 1 else 0) for i in range(len(choices)))
    open_ = state == "voting"
    voting = None if state == "presenting" else VotingView(
        round_id=3, choices=choices, counts=counts, voters=voters or sum(counts),
        ends_at=now_ms() + 45_000 if open_ else None, duration_ms=60_000, open=open_,
        winner=None if open_ else (1 if winner is None else winner),
        tie_break=None if open_ else "random")
    return Snapshot(state=state, revision=0, server_time=now_ms(), session_id=7,  # type: ignore[arg-type]
                    theme="fantasy", theme_name="Fantasy", language=language,
                    chapter_number=number, title=title, chapter=chapter, choices=choices,
                    voting=voting,
                    narration=None if narrated is None else {"chapter": number, "index": narrated},
                    overlay={"layout": "landscape", "size": "1920x1080", "reveal": "sentences",
                             "reveal_words_per_second": 2.5, "style": style})


class Server:
    """The real web app on its own trio loop in a thread, restartable on the same port."""

    def __init__(self, tmp: Path) -> None:
        self.d = FakeDaemon(tmp)
        self.url = ""
        self.token: Any = None
        self._stop: trio.Event | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        ready = threading.Event()

        async def main() -> None:
            self.token = trio.lowlevel.current_trio_token()
            self._stop = trio.Event()
            async with running_web(self.d) as url:
                self.url = url
                ready.set()
                await self._stop.wait()

        self._thread = threading.Thread(target=trio.run, args=(main,), daemon=True)
        self._thread.start()
        assert ready.wait(20), "the web server did not start"

    def stop(self) -> None:
        assert self._thread is not None and self._stop is not None
        trio.from_thread.run_sync(self._stop.set, trio_token=self.token)
        self._thread.join(20)
        assert not self._thread.is_alive()
        # the same daemon, restartable: fresh bus and shutdown event, the port it had
        port = int(self.url.rsplit(":", 1)[1])
        self.d.bus, self.d.shutdown = EventBus(), trio.Event()
        self.d.config = msgspec.structs.replace(
            self.d.config, server=msgspec.structs.replace(self.d.config.server, port=port))

    def show(self, snap: Snapshot) -> None:
        """Make `snap` the story's state and publish it (in the server's trio thread)."""
        def publish() -> None:
            self.d.snap = msgspec.structs.replace(snap, revision=self.d.snap.revision + 1)
            self.d.bus.publish("story:state", msgspec.to_builtins(self.d.snapshot()))
        trio.from_thread.run_sync(publish, trio_token=self.token)

    def publish(self, name: str, data: dict[str, Any]) -> None:
        trio.from_thread.run_sync(self.d.bus.publish, name, data, trio_token=self.token)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    s = Server(tmp_path_factory.mktemp("overlay"))
    s.start()
    yield s
    if s._thread is not None and s._thread.is_alive():
        trio.from_thread.run_sync(s._stop.set, trio_token=s.token)  # type: ignore[union-attr]
        s._thread.join(20)


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


def open_page(browser: Any, w: int, h: int) -> tuple[Any, list[str]]:
    page = browser.new_page(viewport={"width": w, "height": h})
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    return page, errors


def settle(page: Any) -> None:
    """Two animation frames: the layout main.js made after the last event is on screen."""
    page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")


def goto(page: Any, server: Server, layout: str, w: int, h: int, extra: str = "") -> None:
    page.goto(f"{server.url}/overlay/?layout={layout}&size={w}x{h}&audio=0{extra}")
    page.wait_for_function("() => window.storydOverlay && window.storydOverlay.view.snap",
                           timeout=10_000)


def show(page: Any, server: Server, snap: Snapshot, ready: str) -> None:
    """Publish `snap` and wait until the page drew it (`ready`: a JS condition)."""
    rev = server.d.snap.revision + 1
    server.show(snap)
    page.wait_for_function(f"() => window.storydOverlay.view.snap.revision >= {rev} && ({ready})",
                           timeout=10_000)
    settle(page)


# Every visible element that holds text directly: its box, its clipping ancestors, its font.
MEASURE = """([floor, primary]) => {
  const k = parseFloat(document.documentElement.style.getPropertyValue('--scale')) || 1;
  const vw = innerWidth, vh = innerHeight, bad = [];
  const name = (e) => e.id ? '#' + e.id : e.tagName.toLowerCase() + '.' + e.className;
  const shown = (e) => {
    for (let a = e; a; a = a.parentElement) {
      const cs = getComputedStyle(a);
      if (a.hidden || cs.display === 'none' || cs.visibility === 'hidden' || cs.opacity === '0') return false;
    }
    return true;
  };
  let texts = 0;
  for (const e of document.querySelectorAll('#stage *')) {
    const own = [...e.childNodes].some(n => n.nodeType === 3 && n.textContent.trim());
    if (!own || !shown(e)) continue;
    texts += 1;
    const cs = getComputedStyle(e);
    const rects = [...e.getClientRects()];
    if (!rects.length) { bad.push(name(e) + ': no box'); continue; }
    for (const r of rects) {
      if (r.left < -0.5 || r.top < -0.5 || r.right > vw + 0.5 || r.bottom > vh + 0.5)
        bad.push(name(e) + ': outside the viewport ' + JSON.stringify([r.left, r.top, r.right, r.bottom]));
      for (let a = e.parentElement; a && a.id !== 'stage'; a = a.parentElement) {
        if (getComputedStyle(a).overflow === 'visible') continue;
        const ar = a.getBoundingClientRect();
        if (r.top < ar.top - 1 || r.bottom > ar.bottom + 1 || r.left < ar.left - 1 || r.right > ar.right + 1)
          bad.push(name(e) + ': clipped by ' + name(a));
      }
    }
    if (cs.display !== 'inline' && (e.scrollHeight > e.clientHeight + 1 || e.scrollWidth > e.clientWidth + 1))
      bad.push(name(e) + ': content overflows');
    if (cs.textOverflow === 'ellipsis' || (cs.webkitLineClamp && cs.webkitLineClamp !== 'none'))
      bad.push(name(e) + ': ellipsis');
    const px = parseFloat(cs.fontSize);
    if (e.matches(primary) && px < floor - 0.01) bad.push(name(e) + ': font ' + px + 'px < ' + floor);
    if (px < 16) bad.push(name(e) + ': font ' + px + 'px');
  }
  return {bad, texts, scale: k};
}"""
PRIMARY = ("#chapter-text .s, .choice .text, #vote-cta, #vote-call, #countdown-num, "
           "#chapter-title, #card-title")


def measure(page: Any) -> dict[str, Any]:
    result: dict[str, Any] = page.evaluate(MEASURE, [FLOOR, PRIMARY])
    return result


def snap_shot(page: Any, label: str) -> None:
    """A test artifact (JPEG: a 4K PNG takes seconds to encode on a busy machine)."""
    page.screenshot(path=str(ARTIFACTS / f"{label}.jpg"), type="jpeg", quality=70)


def assert_fits(page: Any, label: str, shot: bool = True) -> None:
    if shot:
        snap_shot(page, label)
    m = measure(page)
    assert m["texts"] > 0, label
    assert m["bad"] == [], (label, m["bad"][:8])


STATES: tuple[tuple[str, Callable[[int], Snapshot], str], ...] = (
    ("presenting", lambda n: story("presenting", narrated=12, number=n),
     "!document.getElementById('text-panel').hidden"),
    ("choices-read", lambda n: story("presenting", narrated=len(SENTENCES), number=n),
     "document.getElementById('vote-panel').dataset.phase === 'preview'"),
    ("voting", lambda n: story("voting", number=n),
     "document.getElementById('vote-panel').dataset.phase === 'open'"
     " && document.getElementById('countdown-num').textContent !== ''"),
    ("result", lambda n: story("result", number=n),
     "document.getElementById('vote-panel').dataset.phase === 'closed'"),
    ("generating", lambda n: msgspec.structs.replace(
        story("result", number=n), state="generating",
        generating={"what": "chapter", "chapter": n + 1, "progress": 0.4, "waiting": True}),
     "!document.getElementById('card').hidden"),
    ("ended", lambda n: msgspec.structs.replace(story("result", number=n), state="ended"),
     "document.getElementById('card-title').textContent === 'The End'"),
)
CHAPTERS = itertools.count(10)   # each walk through the states is a new chapter


@pytest.mark.parametrize("w,h", SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
def test_a_350_word_chapter_with_six_long_choices_fits(server: Server, browser: Any,
                                                      w: int, h: int) -> None:
    page, errors = open_page(browser, w, h)
    try:
        for layout in ("landscape", "portrait"):
            goto(page, server, layout, w, h)
            number = next(CHAPTERS)
            for state, make, ready in STATES:
                show(page, server, make(number), ready)
                # every state is kept as a picture; above 1080p (the same layout, scaled, and
                # seconds per picture on a busy machine) only the vote is
                assert_fits(page, f"{w}x{h}-{layout}-{state}",
                            shot=w * h <= 1920 * 1080 or state == "voting")
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
            for state, make, ready in STATES:
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
        assert hidden_ms - back_ms < 2_000 * 1.2 + 300   # retries ≤ 2 s apart (+ jitter)
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
        page.evaluate("""() => { window.__cardSeen = 0;
            new MutationObserver(() => { if (!document.getElementById('card').hidden)
              window.__cardSeen += 1; }).observe(document.getElementById('card'),
              {attributes: true}); }""")
        gen = msgspec.structs.replace(story("result"), state="generating",
                                      generating={"chapter": 4, "progress": 0.2})
        server.show(gen)
        server.show(story("presenting", narrated=0))   # written 0 ms later: no card at all
        page.wait_for_function("() => window.storydOverlay.view.snap.state === 'presenting'")
        page.wait_for_timeout(600)
        assert page.evaluate("window.__cardSeen") == 0
        show(page, server, gen, "true")                # a long one shows…
        page.wait_for_selector("#card:not([hidden])", timeout=2_000)
        shown = time.monotonic()
        server.show(story("presenting", narrated=0))
        page.wait_for_selector("#card", state="hidden", timeout=3_000)
        assert time.monotonic() - shown >= 1.3          # …for at least 1.5 s (page clock)
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
    from storyd.providers.offline_media import render_scene

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
