"""End to end: the real `storyd` process on temporary XDG folders, driven by `storyctl`.

Readiness comes from the daemon's own sd_notify READY=1 on a datagram socket the test
owns; progress is observed through `storyctl --json watch`. Real time, real sockets, so
every wait is bounded by trio.fail_after.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import trio

pytestmark = pytest.mark.slow

STORYD = [sys.executable, "-m", "storyd.cli"]
STORYCTL = [sys.executable, "-m", "storyd.ctl.main"]

CONFIG = """
[server]
port = 0
[story]
reveal_words_per_second = 0
result_seconds = 0
[tts]
enabled = false
[voting]
duration = 60
"""


class Storyd:
    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.env = dict(os.environ)
        for var in ("config", "data", "cache", "runtime"):
            (tmp / var).mkdir(exist_ok=True, mode=0o700)
        self.env.update(XDG_CONFIG_HOME=str(tmp / "config"), XDG_DATA_HOME=str(tmp / "data"),
                        XDG_CACHE_HOME=str(tmp / "cache"), XDG_RUNTIME_DIR=str(tmp / "runtime"),
                        PYTHONPATH=str(Path(__file__).resolve().parent.parent))
        self.env.pop("STORYD_SOCKET", None)
        self.env.pop("STORYD_CONFIG", None)
        (tmp / "config" / "storyd").mkdir(exist_ok=True)
        (tmp / "config" / "storyd" / "storyd.toml").write_text(CONFIG)
        self.socket = tmp / "runtime" / "storyd" / "control.sock"
        self.db = tmp / "data" / "storyd" / "storyd.sqlite3"
        self.proc: trio.Process | None = None
        self.notify_path = tmp / "notify.sock"

    async def start(self) -> list[str]:
        """Start storyd; returns the sd_notify lines up to READY=1."""
        self.notify_path.unlink(missing_ok=True)
        self.notify = trio.socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        await self.notify.bind(str(self.notify_path))
        env = dict(self.env, NOTIFY_SOCKET=str(self.notify_path))
        self.proc = await trio.lowlevel.open_process(STORYD, env=env)
        lines: list[str] = []
        with trio.fail_after(20):
            while "READY=1" not in lines:
                data = await self.notify.recv(4096)
                lines.extend(data.decode().splitlines())
        return lines

    async def ctl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[bytes]:
        with trio.fail_after(20):
            result = await trio.run_process([*STORYCTL, *args], env=self.env,
                                            capture_stdout=True, capture_stderr=True, check=False)
        if check and result.returncode != 0:
            raise AssertionError(f"storyctl {args} → {result.returncode}: {result.stderr!r}")
        return result

    async def status(self) -> dict[str, Any]:
        return json.loads((await self.ctl("--json", "status")).stdout)  # type: ignore[no-any-return]

    async def stop(self, sig: int = signal.SIGTERM) -> int:
        assert self.proc is not None
        self.proc.send_signal(sig)
        with trio.fail_after(5):
            return await self.proc.wait()

    def rows(self, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        db = sqlite3.connect(self.db)
        try:
            return db.execute(sql, args).fetchall()
        finally:
            db.close()


class Watcher:
    """`storyctl --json watch` as a line stream of events."""

    def __init__(self, sd: Storyd) -> None:
        self.sd = sd
        self.buf = b""

    async def __aenter__(self) -> Watcher:
        self.proc = await trio.lowlevel.open_process(
            [*STORYCTL, "--json", "watch"], env=self.sd.env, stdout=subprocess.PIPE)
        await self.until("story:state")  # subscribed: the first line is always a full state
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.proc.kill()
        await self.proc.wait()

    async def until(self, name: str, pred=lambda d: True, timeout: float = 30) -> dict[str, Any]:
        assert self.proc.stdout is not None
        with trio.fail_after(timeout):
            while True:
                while b"\n" not in self.buf:
                    chunk = await self.proc.stdout.receive_some(65536)
                    assert chunk, "watch ended"
                    self.buf += chunk
                line, self.buf = self.buf.split(b"\n", 1)
                event = json.loads(line)
                if event.get("event") == name and pred(event.get("data", {})):
                    return event["data"]  # type: ignore[no-any-return]


@pytest.fixture
async def storyd(tmp_path: Path):
    sd = Storyd(tmp_path)
    yield sd
    if sd.proc is not None and sd.proc.returncode is None:
        sd.proc.kill()
        await sd.proc.wait()


async def test_three_chapter_story_through_storyctl(storyd: Storyd) -> None:
    notes = await storyd.start()
    assert any(n.startswith("STATUS=serving on http://127.0.0.1:") for n in notes)
    assert oct(storyd.socket.stat().st_mode & 0o777) == "0o600"
    assert oct(storyd.socket.parent.stat().st_mode & 0o777) == "0o700"
    assert (await storyd.status())["state"] == "idle"
    refused = await storyd.ctl("close", check=False)
    assert refused.returncode == 1 and b"no vote is running" in refused.stderr

    async with Watcher(storyd) as watch:
        await storyd.ctl("start", "cyberpunk", "--language", "English")
        await watch.until("story:voting-started")
        for viewer, choice in [("ann", "a"), ("bob", "b"), ("cy", "2"), ("ann", "b")]:
            await storyd.ctl("vote", viewer, choice)
        bad = await storyd.ctl("vote", "dee", "f", check=False)
        assert bad.returncode == 1 and b"does not exist" in bad.stderr
        status = await storyd.status()
        assert status["voting"]["counts"] == [0, 3, 0]
        assert status["voting"]["voters"] == 3 and status["voting"]["ends_at"] > 0
        assert status["chapter_number"] == 1 and len(status["choices"]) == 3
        await storyd.ctl("close")
        ended = await watch.until("story:voting-ended")
        assert ended["winner"] == 1
        await watch.until("story:voting-started", lambda d: d["round_id"] == 2)
        await storyd.ctl("vote", "ann", "c")
        await storyd.ctl("finish", "--now")
        await watch.until("story:ended")

    status = await storyd.status()
    assert status["state"] == "ended" and status["chapter_number"] == 3
    assert status["chapter"]["closing"] and status["choices"] == []
    sid = status["session_id"]
    human = (await storyd.ctl("status")).stdout.decode()
    assert "ended" in human
    titles = [c["title"] for c in json.loads(
        (await storyd.ctl("--json", "session", str(sid))).stdout)["chapters"]]
    assert len(titles) == 3
    for fmt in ("md", "html", "twee", "json"):
        out = storyd.tmp / f"story.{fmt}"
        await storyd.ctl("export", str(sid), "--format", fmt, "-o", str(out))
        text = out.read_text()
        assert all(t.replace("'", "&#x27;") in text or t in text for t in titles), fmt
    assert json.loads((storyd.tmp / "story.json").read_text())["id"] == sid
    assert ":: Chapter 1" in (storyd.tmp / "story.twee").read_text()
    assert "<!doctype html>" in (storyd.tmp / "story.html").read_text()
    missing = await storyd.ctl("export", "999", "--format", "md", check=False)
    assert missing.returncode == 1 and b"999" in missing.stderr
    assert await storyd.stop() == 0
    assert storyd.rows("SELECT status FROM story_sessions WHERE id=?", sid) == [("finished",)]
    chapters = storyd.rows("SELECT number, chosen FROM story_chapters WHERE session_id=? "
                           "ORDER BY number", sid)
    assert chapters == [(1, 1), (2, 2), (3, None)]
    votes = storyd.rows("SELECT chapter_number, winner, voters FROM story_votes "
                        "WHERE session_id=? ORDER BY chapter_number", sid)
    assert votes == [(1, 1, 3), (2, 2, 1)]
    ballots = dict(storyd.rows("SELECT viewer_id, ballots FROM story_viewer_stats"))
    assert ballots == {"ann": 2, "bob": 1, "cy": 1}


async def test_sigterm_stops_cleanly_and_removes_the_socket(storyd: Storyd) -> None:
    await storyd.start()
    await storyd.ctl("start", "fantasy")
    t0 = trio.current_time()
    assert await storyd.stop(signal.SIGTERM) == 0
    assert trio.current_time() - t0 < 3
    assert not storyd.socket.exists()
    gone = await storyd.ctl("status", check=False)
    assert gone.returncode == 3 and b"not running" in gone.stderr


async def test_kill_9_mid_vote_then_restart_resumes_the_vote(storyd: Storyd) -> None:
    await storyd.start()
    async with Watcher(storyd) as watch:
        await storyd.ctl("start", "mystery")
        started = await watch.until("story:voting-started")
    for viewer, choice in [("v1", "a"), ("v2", "c"), ("v3", "c")]:
        await storyd.ctl("vote", viewer, choice)
    sid = (await storyd.status())["session_id"]
    # an acknowledged ballot is on disk already: kill -9 right away
    assert len(storyd.rows("SELECT 1 FROM story_ballots WHERE session_id=?", sid)) == 3
    before = await storyd.status()
    left_before = before["voting"]["ends_at"] - before["server_time_ms"]   # ms
    assert await storyd.stop(signal.SIGKILL) == -signal.SIGKILL
    await storyd.start()
    status = await storyd.status()
    assert status["state"] == "voting" and status["session_id"] == sid
    assert status["voting"]["counts"] == [1, 0, 2] and status["voting"]["voters"] == 3
    assert status["voting"]["ends_at"] >= started["ends_at"]
    # the vote resumes with the time it had left (its heartbeat is at most ~1 s old)
    left_after = status["voting"]["ends_at"] - status["server_time_ms"]
    assert left_before - 1500 <= left_after <= left_before + 1500
    assert abs(status["voting"]["duration_ms"] - started["duration_ms"]) <= 1
    await storyd.ctl("vote", "v1", "c")
    assert (await storyd.status())["voting"]["counts"] == [0, 0, 3]
    assert await storyd.stop() == 0


async def _ingest_until_killed(sock: Path, client: int, acked: set[str]) -> None:
    """Chat requests of 50 votes, one in flight, until storyd dies; records what was acked."""
    from storyd.control import protocol as p

    try:
        stream = await trio.open_unix_socket(str(sock))
    except OSError:
        return
    buf = bytearray()
    async with stream:
        for n in range(10_000):
            ids = [f"c{client}-{n}-{i}" for i in range(50)]
            lines = [p.ChatLine(platform="k", user_id=u, text="!b") for u in ids]
            try:
                await stream.send_all(p.encode(p.Envelope(id=n + 1,
                                                          request=p.Chat(messages=lines))))
                while (nl := buf.find(b"\n")) < 0:
                    chunk = await stream.receive_some(65536)
                    if not chunk:
                        return
                    buf.extend(chunk)
            except (trio.BrokenResourceError, OSError):
                return
            reply = json.loads(bytes(buf[:nl]))
            del buf[:nl + 1]
            if reply.get("ok") and reply["result"]["accepted"] == 50:
                acked.update(f"k:{u}" for u in ids)


async def test_kill_9_during_concurrent_ingest_loses_no_acknowledged_ballot(
        storyd: Storyd) -> None:
    """Several rounds: four clients ingest concurrently, storyd is killed with SIGKILL while
    requests are in flight, restarted; every acknowledged ballot is in SQLite."""
    acked: set[str] = set()
    await storyd.start()
    async with Watcher(storyd) as watch:
        await storyd.ctl("start", "mystery")
        await watch.until("story:voting-started")
    sid = (await storyd.status())["session_id"]
    for _ in range(3):
        async with trio.open_nursery() as nursery:
            for client in range(4):
                nursery.start_soon(_ingest_until_killed, storyd.socket, client, acked)
            while len(acked) < 2_000:   # noqa: ASYNC110 — another process: no event to wait on
                await trio.sleep(0.02)
            assert await storyd.stop(signal.SIGKILL) == -signal.SIGKILL
        saved = {r[0] for r in storyd.rows(
            "SELECT viewer_id FROM story_ballots WHERE session_id=?", sid)}
        assert acked <= saved, f"{len(acked - saved)} acknowledged ballots lost"
        await storyd.start()
        assert (await storyd.status())["state"] == "voting"
    assert await storyd.stop() == 0


async def test_sighup_reloads_the_config_and_a_bad_file_keeps_the_old(storyd: Storyd) -> None:
    await storyd.start()
    cfg = storyd.tmp / "config" / "storyd" / "storyd.toml"
    async with Watcher(storyd) as watch:
        cfg.write_text(CONFIG.replace("duration = 60", "duration = 90"))
        assert storyd.proc is not None
        storyd.proc.send_signal(signal.SIGHUP)
        await watch.until("story:state")  # the reload publishes a fresh state
    got = json.loads((await storyd.ctl("--json", "config", "get", "voting.duration")).stdout)
    assert got["value"] == 90
    async with Watcher(storyd) as watch:
        cfg.write_text("[voting]\nduration = 1\n")
        storyd.proc.send_signal(signal.SIGHUP)
        error = await watch.until("story:error")
        assert "out of range" in error["message"]
    got = json.loads((await storyd.ctl("--json", "config", "get", "voting.duration")).stdout)
    assert got["value"] == 90
    assert await storyd.stop() == 0


async def test_config_set_edits_the_file_keeping_comments(storyd: Storyd) -> None:
    await storyd.start()
    cfg = storyd.tmp / "config" / "storyd" / "storyd.toml"
    cfg.write_text("# my show\n" + CONFIG)
    await storyd.ctl("config", "set", "voting.duration", "45")
    assert "# my show" in cfg.read_text() and "duration = 45" in cfg.read_text()
    bad = await storyd.ctl("config", "set", "voting.duration", "7", check=False)
    assert bad.returncode == 1 and b"out of range" in bad.stderr
    assert "duration = 45" in cfg.read_text()
    status = await storyd.status()
    assert status["state"] == "idle"
    assert await storyd.stop() == 0
