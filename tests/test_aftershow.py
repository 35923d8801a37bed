"""After the show, in the real daemon: on-air times, one Twitch marker per chapter aired
while live (fake Helix), the recap on the snapshot when the story ends, the chapter list,
the recap as JSON and PNG over HTTP and storyctl, and the public story page."""

from __future__ import annotations

import io
import re
import sqlite3
from pathlib import Path
from typing import Any

import httpx
import pytest
import trio
from conftest import wait_for_event
from fake_helix import FakeHelix
from PIL import Image

from storyd.ctl.main import main as storyctl
from storyd.web.openapi import API

TOKEN_ENV = "STORYD_TEST_TWITCH_TOKEN"
HAVE_CHROMIUM = Path("/usr/bin/chromium").exists()
TIMEOUT = 60


async def next_chapter(sub: Any, n: int) -> dict[str, Any]:
    return await wait_for_event(sub, "story:state", lambda d: d["state"] == "voting"
                                and d["chapter_number"] == n, TIMEOUT)


async def test_a_played_story_after_the_show(daemon_factory: Any, nursery: trio.Nursery,
                                             tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    helix = FakeHelix()
    await helix.start(nursery)
    monkeypatch.setenv(TOKEN_ENV, "goodtoken")
    d = await daemon_factory(
        chat={"twitch": {"channel": "storychannel", "login": "storychannel",
                         "oauth_token_env": TOKEN_ENV,
                         "helix_url": f"{helix.base}/helix",
                         "auth_url": f"{helix.base}/oauth2"}},
        story={"choices": 6, "reveal_words_per_second": 0.0, "result_seconds": 0.5},
        server={"public_stories": True}, voting={"duration": 120})
    op = d.operator
    with trio.fail_after(TIMEOUT), d.bus.subscribe() as sub:
        started = await op.start(theme="fantasy", seed=11)
        sid = started.session_id
        await next_chapter(sub, 1)
        await op.vote("amy", "Amy", 1)
        await op.vote("bob", "Bob", 1)
        await op.vote("cid", "Cid", 0)
        helix.live = False                       # chapter 2 airs while the stream is offline
        await op.close()
        await next_chapter(sub, 2)
        await helix.wait_posts(2)                # chapter 2's marker was asked for (refused)
        helix.live = True
        await op.vote("amy", "Amy", 2)
        await op.close()
        await next_chapter(sub, 3)
        await op.finish(now=True)
        ended = await wait_for_event(sub, "story:state", lambda s: s["state"] == "ended"
                                     and s.get("recap") is not None, TIMEOUT)
    recap = ended["recap"]
    aired = [n["number"] for n in recap["nodes"]]
    assert aired[:3] == [1, 2, 3] and recap["nodes"][-1]["closing"]
    assert recap["nodes"][0]["chosen"] == 1 and recap["nodes"][0]["share"] == pytest.approx(2 / 3)
    assert recap["nodes"][0]["choices"] == 6
    assert [v["name"] for v in recap["voters"]][:1] == ["Amy"]
    assert all("viewer_id" not in v and "amy" != v["name"] for v in recap["voters"])
    assert recap["logline"] and recap["ended_at_ms"] > 0
    with trio.fail_after(TIMEOUT):                # markers run in tasks of their own
        await helix.wait_posts(len(aired))
    titles = [n["title"] for n in recap["nodes"]]
    # one marker per chapter aired while live; none for chapter 2 (offline)
    assert [m["description"] for m in helix.markers] == [t for i, t in enumerate(titles)
                                                         if i != 1]
    with sqlite3.connect(d.store.path) as conn:
        times = [r[0] for r in conn.execute("SELECT aired_at FROM story_chapters WHERE "
                                            "session_id = ? ORDER BY number", (sid,))]
    assert all(t is not None for t in times) and times == sorted(times)

    async with httpx.AsyncClient(base_url=d.web_url, timeout=30) as c:
        h = {"Authorization": f"Bearer {d.admin_token}"}
        chapters = (await c.get(f"{API}/sessions/{sid}/chapters", headers=h)).json()
        assert chapters["text"].startswith("00:00 ") and len(chapters["chapters"]) == len(aired)
        later = (await c.get(f"{API}/sessions/{sid}/chapters?since={times[0] - 192}",
                             headers=h)).json()
        assert later["text"].splitlines()[:2] == ["00:00 Before the story",
                                                  f"03:12 {titles[0]}"]
        assert (await c.get(f"{API}/sessions/{sid}/chapters?since=-5", headers=h)
                ).status_code == 409
        assert (await c.get(f"{API}/sessions/{sid}/recap")).status_code == 401
        assert (await c.get(f"{API}/sessions/{sid}/recap", headers=h)).json()["title"]
        for size in ("1080x1920", "1920x1080"):
            png = await c.get(f"{API}/sessions/{sid}/recap.png?size={size}", headers=h)
            assert png.status_code == 200 and png.headers["content-type"] == "image/png"
            with Image.open(io.BytesIO(png.content)) as img:
                assert f"{img.width}x{img.height}" == size
        assert (await c.get(f"{API}/sessions/{sid}/recap.png?size=9x9", headers=h)
                ).status_code == 400
        assert (await c.get(f"{API}/sessions/999/recap", headers=h)).status_code == 404
        page = await c.get(f"/stories/{sid}")
        assert page.status_code == 200 and page.text.startswith("<!doctype html><html lang=")
        assert titles[0] in page.text.replace("&#x27;", "'") and "<svg" in page.text
        assert "Amy" not in page.text and "amy" not in page.text   # no viewers
        assert "<script" not in page.text and d.admin_token not in page.text
        assert (await c.get("/stories/999")).status_code == 404
        assert (await c.get("/stories/99999999999999999999")).status_code == 404
        assert (await c.get(f"{API}/sessions/99999999999999999999/recap", headers=h)
                ).status_code == 400

    sock = str(d.socket_path)
    out, err = io.StringIO(), io.StringIO()
    png_file = tmp_path / "recap.png"
    code = await trio.to_thread.run_sync(lambda: storyctl(
        ["--socket", sock, "recap", str(sid), "--png", str(png_file), "--size", "1920x1080"],
        stdout=out, stderr=err))
    assert code == 0, err.getvalue()
    assert re.match(r"wrote .*recap.png \(1920x1080, \d+ bytes\)", out.getvalue())
    with Image.open(png_file) as img:
        assert img.size == (1920, 1080)
    out = io.StringIO()
    code = await trio.to_thread.run_sync(lambda: storyctl(
        ["--socket", sock, "session", str(sid), "--chapters"], stdout=out, stderr=err))
    assert code == 0 and out.getvalue().startswith(f"00:00 {titles[0]}\n")

    if not HAVE_CHROMIUM:
        return
    sync_api = pytest.importorskip("playwright.sync_api")

    def admin_page() -> tuple[int, str, str, list[str]]:
        """The admin page shows the session's recap picture and its YouTube chapters."""
        with sync_api.sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path="/usr/bin/chromium",
                                         args=["--no-sandbox"])
            try:
                page = browser.new_page(viewport={"width": 1400, "height": 1000})
                errors: list[str] = []
                page.on("pageerror", lambda e: errors.append(str(e)))
                page.goto(f"{d.web_url}/admin/?token={d.admin_token}")
                page.click("#btn-sessions")
                page.click(f"#sessions button:has-text('#{sid} ')")
                page.wait_for_function("() => { const i = document.querySelector("
                                       "'.after-show img.recap'); return i && i.complete && "
                                       "i.naturalWidth > 0 && document.querySelector("
                                       "'.after-show pre').textContent !== ''; }",
                                       timeout=20_000)
                width = page.evaluate("document.querySelector('.after-show img').naturalWidth")
                first = page.text_content(".after-show pre") or ""
                page.fill(".after-show input", "2001-01-01T00:00:00")
                page.dispatch_event(".after-show input", "change")
                page.wait_for_function("() => document.querySelector('.after-show pre')"
                                       ".textContent.startsWith('00:00 Before')", timeout=20_000)
                return width, first, page.text_content(".after-show pre") or "", errors
            finally:
                browser.close()

    with trio.fail_after(TIMEOUT):
        width, first, since, errors = await trio.to_thread.run_sync(admin_page)
    assert width == 1920 and first.startswith(f"00:00 {titles[0]}")
    assert since.splitlines()[1].split(" ", 1)[1] == titles[0] and errors == []


async def test_the_demos_next_story_waits_until_the_recap_has_been_shown(
        daemon_factory: Any) -> None:
    # `[story] next_story_seconds` (2 s here) shorter than `[overlay] recap_seconds` (3 s)
    # started the next demo story 2 s after the end and cut the recap card short.
    recap_seconds = 3.0
    d = await daemon_factory(demo_mode=True, demo={"seed": 3},
                             story={"next_story_seconds": 2.0},
                             overlay={"recap_seconds": recap_seconds})
    story = d.director.story
    assert story is not None
    first = story.session_id
    with trio.fail_after(TIMEOUT), d.bus.subscribe() as sub:
        await next_chapter(sub, 1)
        await d.operator.finish(now=True)        # finished (not ended): the demo goes on
        ended = await wait_for_event(sub, "story:state", lambda s: s["state"] == "ended"
                                     and s.get("recap") is not None, TIMEOUT)
        shown_until = ended["recap"]["ended_at_ms"] + recap_seconds * 1000
        await wait_for_event(sub, "story:state", lambda s: s["session_id"] not in (None, first),
                             TIMEOUT)
        assert d.clock.ms() >= shown_until - 50          # the card had its full time
