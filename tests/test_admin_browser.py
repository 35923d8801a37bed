"""The admin page's config form, its buttons and its socket, in real Chromium on a real daemon.

Playwright's sync API runs in a worker thread (it cannot share trio's); the daemon runs in the
trio nursery and is driven from the browser thread with `trio.from_thread.run`.
"""

from __future__ import annotations

import stat
import tomllib
from typing import Any

import msgspec
import pytest
import trio

from storyd.control import protocol as p
from storyd.control.dispatch import handle
from storyd.ctl.plan import format_plan
from tests.conftest import wait_for_state
from tests.test_web_browser import launch, sync_playwright

pytestmark = pytest.mark.browser

# counts timers and keeps every WebSocket the page opens, before any page script runs
PROBE = """
window.__intervals = 0;
const realSetInterval = window.setInterval.bind(window);
window.setInterval = (...args) => { window.__intervals += 1; return realSetInterval(...args); };
window.__sockets = [];
const RealWebSocket = window.WebSocket;
window.WebSocket = class extends RealWebSocket {
  constructor(...args) { super(...args); window.__sockets.push(this); }
};
"""


def enabled(page: Any, selector: str) -> bool:
    return bool(page.evaluate(f"!document.querySelector({selector!r}).disabled"))


async def test_admin_config_form_buttons_and_one_ping_timer(daemon_factory: Any) -> None:
    with trio.fail_after(120):
        daemon = await daemon_factory(chat={"tiktok": {"sign_api_key": "euler-secret"}})
        path = daemon.config_path
        path.chmod(0o644)       # as an editor leaves it; it holds a secret
        token = daemon.admin_token

        def call(request: Any) -> Any:
            return trio.from_thread.run(handle, daemon.operator, request)

        async def until_state(state: str) -> None:
            with daemon.bus.subscribe() as sub:
                if daemon.snapshot().state != state:
                    await wait_for_state(sub, state, timeout=60)

        def browse() -> None:
            with sync_playwright() as pw:
                browser = launch(pw)
                try:
                    page = browser.new_page(viewport={"width": 1440, "height": 1000})
                    page.add_init_script(PROBE)
                    page.goto(f"{daemon.web_url}/admin/?token={token}")
                    page.wait_for_selector("#config-form fieldset", timeout=10_000)
                    page.wait_for_function("() => document.getElementById('st-state')"
                                           ".textContent === 'idle'", timeout=10_000)
                    # -- the form: a control per type, the file's comment as help
                    tie = page.locator("select[data-key='voting.tie_break']")
                    assert tie.evaluate("e => [...e.options].map(o => o.value)") == [
                        "random", "first", "extend"]
                    assert page.locator("input[type=checkbox][data-key='voting.early_close']"
                                        ).count() == 1
                    boxes = page.locator("[data-key='chat.sources'] input[type=checkbox]")
                    assert sorted(boxes.nth(i).get_attribute("value") for i in range(boxes.count())
                                  ) == ["demo", "local", "tiktok", "twitch"]
                    help_text = page.locator("[data-key='voting.duration']").locator(
                        "xpath=..").locator(".help").text_content()
                    assert help_text and help_text.startswith("seconds per vote, 15–300")
                    secret = page.locator("[data-key='chat.tiktok.sign_api_key']")
                    assert secret.get_attribute("type") == "password"
                    assert secret.input_value() == "********"
                    assert "euler-secret" not in page.content()
                    assert not enabled(page, "#btn-config-save")       # nothing changed yet
                    tie.select_option("first")
                    page.check("input[data-key='voting.early_close']")
                    page.check("[data-key='chat.sources'] input[value='demo']")
                    page.click("[data-key='safety.blocklist'] >> text=add")
                    page.fill("[data-key='safety.blocklist'] .list-item input", "zeppelin")
                    page.fill("input[data-key='voting.duration']", "45")
                    assert page.locator(".field.changed").count() == 5
                    page.click("#btn-config-save")
                    page.wait_for_function("() => document.getElementById('config-msg')"
                                           ".textContent === 'saved 5 change(s)'",
                                           timeout=10_000)
                    assert page.locator(".field.changed").count() == 0
                    # a bad number is caught next to its field, nothing is sent
                    page.fill("input[data-key='voting.swing']", "2.5")
                    page.click("#btn-config-save")
                    page.wait_for_function(
                        "() => [...document.querySelectorAll('.field-error')].some(e => "
                        "e.dataset.errorFor === 'voting.swing' && "
                        "e.textContent === 'a whole number is needed')", timeout=10_000)

                    # -- the overlay card: layout and style build the OBS URL and the preview
                    page.select_option("#ov-layout", "layout=portrait&size=1080x1920")
                    page.select_option("#ov-style", "storybook")
                    url = page.input_value("#ov-url")
                    assert url.endswith("/overlay/?layout=portrait&size=1080x1920&style=storybook")
                    assert "style=storybook" in (page.get_attribute("#preview", "src") or "")

                    # -- buttons follow the state
                    for sel in ("#btn-close", "#btn-next", "#btn-regen", "#btn-end"):
                        assert not enabled(page, sel), sel
                    assert enabled(page, "#btn-start")
                    call(p.Start(theme="horror"))
                    trio.from_thread.run(until_state, "voting")
                    page.wait_for_function("() => document.getElementById('st-state')"
                                           ".textContent === 'voting'", timeout=10_000)
                    page.wait_for_selector("#vote-buttons button:not([disabled])",
                                           timeout=10_000)
                    assert enabled(page, "#btn-regen") and enabled(page, "#btn-close")
                    assert not enabled(page, "#btn-start")
                    # -- the story plan shows by itself, as text (issue 17)
                    hero = daemon.director.story.plan.protagonist.name
                    page.wait_for_function(
                        "name => document.getElementById('plan').textContent.includes(name)",
                        arg=hero, timeout=10_000)
                    shown = page.locator("#plan").text_content() or ""
                    assert "1. setup" in shown and "question" in shown
                    assert page.locator("#plan dd.aired").count() == 1     # chapter 1 aired
                    call(p.End())
                    page.wait_for_function("() => document.getElementById('st-state')"
                                           ".textContent === 'ended'", timeout=10_000)
                    for sel in ("#btn-regen", "#btn-close", "#btn-next", "#btn-end",
                                "#vote-buttons button", "#manual-buttons button"):
                        assert not enabled(page, sel), sel
                    assert enabled(page, "#btn-start")

                    # -- reconnects do not add ping timers
                    timers = page.evaluate("window.__intervals")
                    for n in range(2, 5):
                        page.evaluate("window.__sockets.at(-1).close()")
                        page.wait_for_function(
                            "n => window.__sockets.length === n && "
                            "window.__sockets.at(-1).readyState === 1", arg=n, timeout=10_000)
                    page.wait_for_function("() => document.getElementById('conn')"
                                           ".classList.contains('on')", timeout=10_000)
                    assert page.evaluate("window.__intervals") == timers
                finally:
                    browser.close()

        await trio.to_thread.run_sync(browse)
    cfg = daemon.config
    assert (cfg.voting.tie_break, cfg.voting.early_close, cfg.voting.duration) == (
        "first", True, 45)
    assert cfg.safety.blocklist == ("zeppelin",) and "demo" in cfg.chat.sources
    saved = tomllib.loads(path.read_text())
    assert saved["chat"]["tiktok"]["sign_api_key"] == "euler-secret"   # the mask kept it
    assert saved["voting"]["duration"] == 45 and "swing" not in saved["voting"]  # never sent
    assert stat.S_IMODE(path.stat().st_mode) == 0o600     # it holds a secret


async def test_admin_starts_a_shipped_authored_story(daemon_factory: Any, shipped: Any) -> None:
    with trio.fail_after(120):
        daemon = await daemon_factory()

        def browse() -> None:
            with sync_playwright() as pw:
                browser = launch(pw)
                try:
                    page = browser.new_page(viewport={"width": 1440, "height": 1000})
                    page.goto(f"{daemon.web_url}/admin/?token={daemon.admin_token}")
                    page.wait_for_function("() => document.querySelectorAll('#story option')"
                                           ".length === 13", timeout=10_000)
                    assert page.locator("#story option[value='en/horror']").text_content() == (
                        "The Last Ferry — English, Horror")
                    page.select_option("#story", "en/horror")
                    page.click("#btn-start")
                    page.wait_for_function("() => document.getElementById('st-theme')"
                                           ".textContent === 'Horror · “The Last Ferry”'",
                                           timeout=20_000)
                    # the plan card: an authored story has no plan to wait for
                    page.click("#btn-plan")
                    page.wait_for_function("() => document.getElementById('plan').textContent"
                                           ".includes('authored story')", timeout=10_000)
                    assert "being written" not in page.text_content("#plan")
                    assert "The Last Ferry" in page.text_content("#plan")
                    # its history entry: no plan, no recap yet, and no stray "null" for them
                    page.click("#btn-sessions")
                    page.locator("#sessions li button").first.click()
                    page.wait_for_function("() => document.querySelector('#session-detail h3')"
                                           " && document.querySelector('#session-detail .chapter')",
                                           timeout=10_000)
                    detail = page.evaluate("() => [...document.getElementById('session-detail')"
                                           ".childNodes].filter((n) => n.nodeType === 3)"
                                           ".map((n) => n.textContent)")
                    assert detail == [], detail
                finally:
                    browser.close()

        await trio.to_thread.run_sync(browse)
        story = daemon.director.story
        assert story is not None and story.authored is not None
        assert story.authored.ref.id == "en/horror"
        reply = await handle(daemon.operator, p.Plan())
        assert reply.plan is None and reply.authored == "The Last Ferry"
        assert format_plan(msgspec.to_builtins(reply)) == (
            f"session {story.session_id}: “The Last Ferry” is an authored story: its passages "
            f"are its plan ({len(story.chapters)} chapter(s) aired)\n")
