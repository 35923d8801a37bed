"""The real `storyd` process with TikTok configured (room_id + a loopback sign/push fake).

READY does not wait for TikTokLive (imported in a worker thread after the daemon settled),
and SIGTERM with a live TikTok connection ends the process within a second.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import trio

from tests.fake_tiktok import FakePushServer, FakeSignServer, chat
from tests.test_e2e_process import CONFIG, Storyd

pytestmark = pytest.mark.slow


async def test_sigterm_with_a_live_tiktok_connection_exits_within_a_second(
        tmp_path: Path, nursery: trio.Nursery) -> None:
    push = FakePushServer()
    await nursery.start(push.serve)
    sign = FakeSignServer(push.url)
    await nursery.start(sign.serve)
    sd = Storyd(tmp_path)
    (tmp_path / "config" / "storyd" / "storyd.toml").write_text(
        CONFIG + f'[chat]\nsources = ["tiktok"]\n[chat.tiktok]\nroom_id = "7123"\n'
        f'sign_api_url = "http://127.0.0.1:{sign.port}"\n')
    try:
        await sd.start()
        with trio.fail_after(90):          # TikTokLive's import is slow on a busy machine
            conn = await push.next_connection()
        await conn.send(chat(1, 11, "!a", "ann"))
        with trio.fail_after(20):
            while (await sd.status())["chat"][0]["state"] != "connected":
                await conn.send(chat(2, 12, "hello", "ben"))
        t0 = time.monotonic()
        assert await sd.stop() == 0
        took = time.monotonic() - t0
        with trio.fail_after(2):
            await conn.closed.wait()
        assert took <= 1.0, f"SIGTERM took {took:.2f} s"
    finally:
        if sd.proc is not None and sd.proc.returncode is None:
            sd.proc.kill()
