"""Helpers for the overlay browser tests: a real-length story, a restartable server, and
the in-page measurement of every visible text element.

`Server` runs the real web app over web_harness's FakeDaemon on its own trio loop in a thread
(so one Chromium per test module can drive it from the main thread with Playwright's sync
API); `Server.show(snapshot)` publishes a state through the real bus. `MEASURE` is the check:
every visible element that holds text lies inside the viewport and inside every clipping
ancestor, its content does not overflow, there is no ellipsis, and its computed font size is
at least the floor (28 px at 1080p for story text, choices, the call to action, headlines and
the countdown; 16 px for everything else).
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec
import trio
from web_harness import FakeDaemon, now_ms, running_web

from storyd.bus import EventBus
from storyd.core import events as ev
from storyd.core.snapshot import (
    ChapterView,
    ChoiceView,
    NarrationRef,
    OverlayView,
    Snapshot,
    VotingView,
)

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).parent / "artifacts" / "overlay"
DOCS = Path(__file__).parent.parent / "docs" / "screenshots"
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
    return Snapshot(state=state, revision=0, server_time_ms=now_ms(), session_id=7,  # type: ignore[arg-type]
                    theme="fantasy", theme_name="Fantasy", language=language,
                    chapter_number=number, title=title, chapter=chapter, choices=choices,
                    voting=voting,
                    narration=None if narrated is None else NarrationRef(chapter=number, index=narrated),
                    overlay=OverlayView(layout="landscape", size="1920x1080", reveal="sentences",
                                        reveal_words_per_second=2.5, style=style))  # type: ignore[arg-type]


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

    def close(self) -> None:
        """Stop it for good (a fixture's teardown): nothing if a test already stopped it."""
        if self._thread is not None and self._stop is not None and self._thread.is_alive():
            trio.from_thread.run_sync(self._stop.set, trio_token=self.token)
            self._thread.join(20)

    def show(self, snap: Snapshot) -> None:
        """Make `snap` the story's state and publish it (in the server's trio thread)."""
        def publish() -> None:
            self.d.snap = msgspec.structs.replace(snap, revision=self.d.snap.revision + 1)
            self.d.bus.publish(ev.State(self.d.snapshot()))
        trio.from_thread.run_sync(publish, trio_token=self.token)

    def publish(self, name: str, data: dict[str, Any]) -> None:
        """Publish one event given in its wire form (decoded through the one event schema)."""
        event = ev.decode(msgspec.json.encode({"event": name, "data": data}))
        trio.from_thread.run_sync(self.d.bus.publish, event, trio_token=self.token)


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
