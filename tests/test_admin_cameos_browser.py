"""The admin page's Cameos card in real Chromium on a real daemon: who joined, as text only,
and the operator's Remove (which asks first)."""

from __future__ import annotations

from typing import Any

import pytest
import trio

from storyd.core.model import ChatMessage
from tests.conftest import wait_for_event
from tests.test_web_browser import launch, sync_playwright

pytestmark = pytest.mark.browser


async def test_the_cameo_card_lists_and_removes(daemon_factory: Any) -> None:
    with trio.fail_after(120):
        d = await daemon_factory(audience={"cameos": True}, voting={"duration": 300})
        with d.bus.subscribe(1024) as sub:
            await d.director.start("fantasy")
            await wait_for_event(sub, "story:voting-started")
        await d.operator.ingest([
            ChatMessage(platform="twitch", user_id="twitch:1", name="Ann", text="!join"),
            ChatMessage(platform="twitch", user_id="twitch:2",
                        name='<img src=x onerror="window.pwned=1">Bo', text="!join")])

        def browse() -> list[str]:
            with sync_playwright() as pw:
                browser = launch(pw)
                try:
                    page = browser.new_page(viewport={"width": 1440, "height": 1000})
                    page.on("dialog", lambda dialog: dialog.accept())   # "Take … out?"
                    page.goto(f"{d.web_url}/admin/?token={d.admin_token}")
                    page.wait_for_function("() => document.querySelectorAll('#cameos tbody tr')"
                                           ".length === 2", timeout=15_000)
                    names = page.locator("#cameos tbody tr td:first-child").all_text_contents()
                    assert names == ["Ann", "img srcx onerrorwindow.p"]   # cleaned, as text
                    assert page.evaluate("() => window.pwned === undefined && "
                                         "!document.querySelector('#cameos img')")
                    assert "2 joined" in page.locator("#cameos-summary").text_content()
                    page.locator("#cameos tbody tr", has_text="Ann").locator("button").click()
                    page.wait_for_function(
                        "() => [...document.querySelectorAll('#cameos tbody tr')].some(r => "
                        "r.textContent.includes('Ann') && r.textContent.includes('removed'))",
                        timeout=15_000)
                    page.wait_for_function("() => document.getElementById('cameos-summary')"
                                           ".textContent.includes('1 joined')", timeout=15_000)
                    return [r.text_content() or "" for r in
                            page.locator("#cameos tbody tr").all()]
                finally:
                    browser.close()

        rows = await trio.to_thread.run_sync(browse)
    assert any("removed" in r for r in rows)
    assert [(c.name, c.status) for c in d.operator.cameos()] == [
        ("Ann", "removed"), ("img srcx onerrorwindow.p", "joined")]
