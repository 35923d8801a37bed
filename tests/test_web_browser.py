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
                        assert page.get_attribute("#stage", "class") == layout
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
                        assert num.startswith("2") and "67%" in num
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
                                           ".startsWith('1 voters')", timeout=10_000)
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
