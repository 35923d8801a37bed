"""Issue 22 (5): a second storyd is refused before it touches any state.

The running daemon has a live vote; its round's `ends_at` and its session are read from the
SQLite file before and after a second start against the same data folder (or the same
control socket), in process and as a real `storyd` process (exit status 1, today's message).
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import trio
from conftest import wait_for_state
from web_harness import real_config_text, running_daemon

from storyd.app import run_daemon
from storyd.config import loader as config_mod
from storyd.errors import StorydError

ROOT = Path(__file__).resolve().parent.parent


def live_rows(db: Path) -> list[Any]:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return conn.execute(
            "SELECT s.id, s.status, r.chapter_number, r.ends_at, r.status FROM story_sessions s"
            " JOIN story_rounds r ON r.session_id = s.id ORDER BY s.id, r.chapter_number"
        ).fetchall()
    finally:
        conn.close()


async def _on_air_voting(daemon: Any) -> Path:
    with daemon.bus.subscribe() as sub:
        await daemon.director.start(theme="fantasy")
        await wait_for_state(sub, "voting", timeout=60)
    return daemon.store.path  # type: ignore[no-any-return]


@pytest.mark.parametrize("second", ["same-config", "other-socket", "same-socket-other-data"])
async def test_a_second_daemon_is_refused_before_it_opens_anything(
        tmp_path: Path, second: str, autojump_clock: Any) -> None:
    async with running_daemon(tmp_path) as daemon:
        with trio.fail_after(60):
            db = await _on_air_voting(daemon)
            before = live_rows(db)
            other = tmp_path / "second"
            other.mkdir()
            text = real_config_text(tmp_path)
            if second == "other-socket":
                text = text.replace(f"{tmp_path}/control.sock", f"{other}/control.sock")
            elif second == "same-socket-other-data":
                text = text.replace(f"{tmp_path}/data", f"{other}/data")
            path = other / "storyd.toml"
            path.write_text(text)
            with pytest.raises(StorydError) as info:
                await run_daemon(config_mod.load(path), path)
            message = str(info.value)
            assert message.startswith(f"another storyd is running on {tmp_path}/control.sock: "
                                      "stop it first (`storyctl --socket")
            assert live_rows(db) == before               # ends_at and the session untouched
            assert not (other / "data" / "storyd.sqlite3").exists()
            assert not (other / "data" / "admin_token").exists()
            assert daemon.voting.is_open()
            assert (tmp_path / "control.sock").exists()   # the running one's socket stays


async def test_the_lock_is_released_when_the_daemon_stops(tmp_path: Path) -> None:
    async with running_daemon(tmp_path):
        pass
    path = tmp_path / "storyd.toml"
    with trio.fail_after(30):
        async with trio.open_nursery() as nursery:
            daemon = await nursery.start(partial(run_daemon, config_mod.load(path), path))
            daemon.stop()


@pytest.mark.slow
def test_a_second_storyd_process_exits_1_and_the_live_vote_keeps_its_end(tmp_path: Path) -> None:
    path = tmp_path / "storyd.toml"
    path.write_text(real_config_text(tmp_path, "[demo]\nvoting_duration = 300\n"))
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    first = subprocess.Popen([sys.executable, "-m", "storyd.cli", "--config", str(path),
                              "--demo"], env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    db = tmp_path / "data" / "demo" / "storyd.sqlite3"
    try:
        rows: list[Any] = []
        for _ in range(600):          # the demo story's first vote is open (≤ 60 s)
            if db.exists():
                try:
                    rows = live_rows(db)
                except sqlite3.OperationalError:
                    rows = []
                if rows and rows[-1][4] == "open":
                    break
            assert first.poll() is None
            time.sleep(0.1)
        assert rows and rows[-1][4] == "open", rows
        second = subprocess.run([sys.executable, "-m", "storyd.cli", "--config", str(path),
                                 "--demo"], env=env, cwd=ROOT, capture_output=True, text=True,
                                timeout=60)
        assert second.returncode == 1, second.stderr
        assert f"another storyd is running on {tmp_path}/control.sock: stop it first" in \
            second.stderr
        after = live_rows(db)
        assert [r[:4] for r in after] == [r[:4] for r in rows]   # ends_at not moved
        assert first.poll() is None
    finally:
        first.terminate()
        first.wait(20)
