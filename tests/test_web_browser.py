"""The overlay and the admin page in real Chromium (Playwright's sync API in a worker thread).

The server runs in the trio nursery; the browser part runs in `trio.to_thread.run_sync`
(Playwright's sync API cannot share trio's thread) and reaches back into trio with
`trio.from_thread.run` to inject votes. Screenshots land in tests/artifacts/.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import trio
from web_harness import FakeDaemon, fake_handle, running_web

from storyd.control import protocol as p

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).parent / "artifacts"
XSS = '<img src=x onerror="window.__xss=1">'

try:
    from playwright.sync_api import sync_playwright
except ImportError:  # pragma: no cover
    sync_playwright = None

if sync_playwright is None or not (CHROMIUM.exists() or shutil.which("chromium")):
    pytest.skip("browser tests need Playwright and a system Chromium at /usr/bin/chromium "
                "(.ci/run installs it); skipping", allow_module_level=True)


def launch(pw: Any) -> Any:
    return pw.chromium.launch(executable_path=str(CHROMIUM), args=[
        "--no-sandbox", "--disable-gpu", "--disable-background-networking"])


def no_overflow(page: Any) -> list[str]:
    """Ids of visible panels that stick out of the stage or whose content overflows."""
    return page.evaluate("""() => {
        const stage = document.getElementById('stage').getBoundingClientRect();
        const bad = [];
        for (const id of ['picture', 'text-panel', 'vote-panel', 'card']) {
            const e = document.getElementById(id);
            if (!e || e.hidden) continue;
            const r = e.getBoundingClientRect();
            if (r.left < stage.left - 1 || r.top < stage.top - 1 || r.right > stage.right + 1
                || r.bottom > stage.bottom + 1) bad.push(id + ':outside');
            if (e.scrollHeight > e.clientHeight + 2) bad.push(id + ':content');
        }
        return bad;
    }""")


async def test_overlay_chapter_and_bars_landscape_and_portrait(tmp_path: Path) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    d = FakeDaemon(tmp_path)
    await fake_handle(d, p.Start(outline=f"The fog thickens. {XSS} A bell rings."))

    def vote(viewer: str, choice: str) -> None:
        trio.from_thread.run(fake_handle, d, p.Vote(viewer=viewer, choice=choice))

    async with running_web(d) as url:
        def browse() -> None:
            with sync_playwright() as pw:
                browser = launch(pw)
                try:
                    for n, (layout, w, h) in enumerate((("landscape", 1920, 1080),
                                                        ("portrait", 1080, 1920))):
                        page = browser.new_page(viewport={"width": w, "height": h})
                        page.goto(f"{url}/overlay/?layout={layout}&size={w}x{h}&audio=0")
                        page.wait_for_function(
                            "() => document.querySelectorAll('#choices .choice').length === 3",
                            timeout=10_000)
                        assert XSS in page.text_content("#chapter-text")
                        assert page.evaluate("document.querySelectorAll('#stage img').length") \
                            == 1   # only our own picture element, no injected <img>
                        assert page.evaluate("window.__xss") is None
                        assert layout in page.get_attribute("#stage", "class").split()
                        assert no_overflow(page) == []
                        page.screenshot(path=str(ARTIFACTS / f"overlay-{layout}-before.png"))
                        width = "document.querySelector('#choices .choice:nth-child(2) .bar')" \
                            ".style.width"
                        assert page.evaluate(width) in ("0%", "")
                        vote(f"viewer{n}a", "b")
                        vote(f"viewer{n}b", "b")
                        vote(f"viewer{n}c", "a")
                        page.wait_for_function(f"() => {width} === '67%'", timeout=10_000)
                        num = page.text_content("#choices .choice:nth-child(2) .num")
                        assert num == "67%2"        # percent, then the count below it
                        assert no_overflow(page) == []
                        page.screenshot(path=str(ARTIFACTS / f"overlay-{layout}-voted.png"))
                        page.close()
                        trio.from_thread.run(fake_handle, d, p.Start(force=True, outline=(
                            f"The fog thickens. {XSS} A bell rings.")))
                finally:
                    browser.close()

        await trio.to_thread.run_sync(browse)


async def test_overlay_cards_for_idle_result_and_end(tmp_path: Path) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    d = FakeDaemon(tmp_path)
    async with running_web(d) as url:
        def browse() -> None:
            with sync_playwright() as pw:
                browser = launch(pw)
                try:
                    page = browser.new_page(viewport={"width": 1280, "height": 720})
                    page.goto(f"{url}/overlay/?audio=0")
                    page.wait_for_function("() => document.getElementById('card-title').textContent"
                                           " === 'A new story begins soon'", timeout=10_000)
                    trio.from_thread.run(fake_handle, d, p.Start())
                    trio.from_thread.run(fake_handle, d, p.Vote(viewer="x", choice="c"))
                    trio.from_thread.run(fake_handle, d, p.Close())
                    page.wait_for_selector(".choice.winner", timeout=10_000)
                    page.screenshot(path=str(ARTIFACTS / "overlay-1280x720-result.png"))
                    trio.from_thread.run(fake_handle, d, p.End())
                    page.wait_for_function("() => document.getElementById('card-title').textContent"
                                           " === 'The End'", timeout=10_000)
                    assert no_overflow(page) == []
                finally:
                    browser.close()

        await trio.to_thread.run_sync(browse)


async def test_admin_page_starts_a_story_and_shows_it(tmp_path: Path) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    d = FakeDaemon(tmp_path)
    async with running_web(d) as url:
        def browse() -> None:
            with sync_playwright() as pw:
                browser = launch(pw)
                try:
                    page = browser.new_page(viewport={"width": 1440, "height": 1000})
                    page.goto(f"{url}/admin/")
                    page.wait_for_selector("#login:not([hidden])", timeout=10_000)
                    page.goto(f"{url}/admin/?token={d.admin_token}")
                    assert page.url == f"{url}/admin/"          # token left the address bar
                    page.wait_for_selector("#themes .theme", timeout=10_000)
                    assert page.locator("#themes .theme").count() == 5
                    page.click("#btn-all")
                    assert page.locator("#themes .theme").count() == 12
                    page.fill("#outline", f"A lighthouse. {XSS}")
                    page.click("#btn-start")
                    page.wait_for_function("() => document.getElementById('st-state').textContent"
                                           " === 'voting'", timeout=10_000)
                    assert XSS in page.text_content("#now-text")
                    page.fill("#vote-viewer", XSS)
                    page.click("#vote-buttons button:nth-child(1)")
                    page.wait_for_function("() => document.querySelector('#now-voters').textContent"
                                           ".includes('· 1 voter')", timeout=10_000)
                    page.click("#btn-voters")
                    page.wait_for_function(
                        "() => document.querySelector('#voters tbody').textContent"
                        f".includes({XSS!r})",
                        timeout=10_000)
                    assert page.evaluate("document.querySelectorAll('main img:not(#now-image)')"
                                         ".length") == 0
                    assert page.evaluate("window.__xss") is None
                    page.wait_for_selector("#config-form fieldset", timeout=10_000)
                    page.fill("input[data-key='voting.duration']", "5")
                    page.click("#btn-config-save")
                    page.wait_for_function(
                        "() => [...document.querySelectorAll('.field-error')].some(e => "
                        "e.dataset.errorFor === 'voting.duration' && e.textContent)",
                        timeout=10_000)
                    page.screenshot(path=str(ARTIFACTS / "admin.png"), full_page=True)
                    phone = browser.new_page(viewport={"width": 390, "height": 844})
                    phone.context.add_cookies(page.context.cookies())
                    phone.goto(f"{url}/admin/")
                    phone.wait_for_function("() => document.getElementById('st-state').textContent"
                                            " === 'voting'", timeout=10_000)
                    wide = phone.evaluate("document.documentElement.scrollWidth")
                    culprits = phone.evaluate(
                        "() => [...document.querySelectorAll('body *')].filter(e => "
                        "e.getBoundingClientRect().right > 392).map(e => e.tagName + '#' + e.id"
                        " + '.' + e.className).slice(0, 5)")
                    assert wide <= 390, (wide, culprits)                    # no sideways scrolling
                    phone.screenshot(path=str(ARTIFACTS / "admin-phone.png"))
                finally:
                    browser.close()

        await trio.to_thread.run_sync(browse)
    assert any(isinstance(c, p.Start) and c.outline == f"A lighthouse. {XSS}"
               for c in d.commands)


# ---- the real daemon ---------------------------------------------------------------------------

# docs/screenshots: the transparent overlay drawn over a stand-in for the streamer's scene
STREAM_BACKDROP = "html { background: #2b3d52; }"  # flat: keeps the PNGs small


def bar_state(page: Any, nth: int) -> tuple[str, str]:
    """(width of choice nth's bar, its count/percent text), nth from 1."""
    sel = f"#choices .choice:nth-child({nth})"
    return (page.evaluate(f"document.querySelector('{sel} .bar').style.width"),
            page.text_content(f"{sel} .num") or "")


async def test_real_daemon_overlay_bars_move_after_storyctl_vote(daemon_factory: Any) -> None:
    """storyd.app.run_daemon with the offline storyteller and illustrator; votes through
    storyctl (its real control socket); the overlay in landscape then portrait."""
    from storyd.control.dispatch import handle
    from storyd.ctl import main as ctl
    from tests.conftest import wait_for_event, wait_for_state

    ARTIFACTS.mkdir(exist_ok=True)
    with trio.fail_after(120):
        daemon = await daemon_factory(voting={"duration": 120})
        with daemon.bus.subscribe() as sub:
            await handle(daemon.operator, p.Start(theme="fantasy"))
            await wait_for_state(sub, "voting", timeout=60)
            if daemon.snapshot().chapter.image_url is None:     # the picture comes separately
                await wait_for_event(sub, "story:image-updated", timeout=60)
        snap = daemon.snapshot()
        chapter, n_choices = snap.chapter, len(snap.voting.choices)
        assert n_choices >= 2 and snap.voting.open
        socket = str(daemon.socket_path)

        def vote(viewer: str, choice: str) -> None:
            assert ctl.main(["--socket", socket, "vote", viewer, choice]) == 0

        def browse() -> None:
            with sync_playwright() as pw:
                browser = launch(pw)
                try:
                    plan = (("landscape", 1920, 1080, ["ann:b", "bob:b", "cy:a"], "67%", "2"),
                            ("portrait", 1080, 1920, ["dan:b"], "75%", "3"))
                    for layout, w, h, votes, pct, count in plan:
                        page = browser.new_context(viewport={"width": w, "height": h},
                                                   bypass_csp=True).new_page()
                        page.goto(f"{daemon.web_url}/overlay/?layout={layout}&size={w}x{h}"
                                  "&audio=0")
                        page.wait_for_function(
                            "n => document.querySelectorAll('#choices .choice').length === n",
                            arg=n_choices, timeout=10_000)
                        assert page.text_content("#chapter-title") == chapter.title
                        assert chapter.sentences[0] in page.text_content("#chapter-text")
                        texts = page.eval_on_selector_all("#choices .choice .text",
                                                          "els => els.map(e => e.textContent)")
                        assert texts == [c.text for c in snap.voting.choices]
                        page.wait_for_function("() => { const i = document.getElementById("
                                               "'image'); return i.complete && i.naturalWidth"
                                               " > 0; }", timeout=10_000)
                        assert layout in page.get_attribute("#stage", "class").split()
                        page.screenshot(path=str(ARTIFACTS / f"real-overlay-{layout}-open.png"))
                        assert no_overflow(page) == []
                        before = bar_state(page, 2)
                        for v in votes:
                            vote(*v.split(":"))
                        page.wait_for_function(
                            "w => document.querySelector('#choices .choice:nth-child(2) .bar')"
                            ".style.width === w", arg=pct, timeout=10_000)
                        width, num = bar_state(page, 2)
                        assert (width, num) != before
                        assert num == pct + count, num
                        left = page.text_content("#countdown-num")
                        assert left and 0 < int(left.split(":")[0]) * 60 + int(
                            left.split(":")[-1]) <= 120 if ":" in left else 0 < int(left) <= 120
                        assert no_overflow(page) == []
                        page.screenshot(path=str(ARTIFACTS / f"real-overlay-{layout}.png"))
                        page.add_style_tag(content=STREAM_BACKDROP)   # as it sits on a stream
                        page.screenshot(path=str(ARTIFACTS / f"docs-overlay-{layout}.png"))
                        page.close()
                    page = browser.new_page(viewport={"width": 1440, "height": 1600})
                    page.goto(f"{daemon.web_url}/admin/?token={daemon.admin_token}")
                    page.wait_for_function("() => document.getElementById('st-state')"
                                           ".textContent === 'voting'", timeout=10_000)
                    page.click("#btn-providers")
                    page.wait_for_selector("#providers li.ok", timeout=10_000)
                    assert "offline" in page.text_content("#providers")
                    # chat source health: state, votes counted so far
                    page.wait_for_selector("#chat-sources li.ok", timeout=10_000)
                    chat_text = page.text_content("#chat-sources") or ""
                    assert "local" in chat_text and "connected" in chat_text
                    assert "votes 4 ok / 0 invalid" in chat_text, chat_text
                    page.screenshot(path=str(ARTIFACTS / "real-admin.png"),
                                    clip={"x": 0, "y": 0, "width": 1440, "height": 1600})
                finally:
                    browser.close()

        await trio.to_thread.run_sync(browse)
        r = daemon.voting.round
        assert r is not None and list(r.counts)[:2] == [1, 3] and r.voters == 4
