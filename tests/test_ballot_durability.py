"""Issue 22 (3): nothing acknowledged is lost, ever — on a real full disk.

The data folder is a 2 MB tmpfs mounted for the test (tests/tiny_disk.py; root only, else
skipped) and filled to the last byte. Acknowledged ballots are kept in memory while it stays
full and written when space returns; a stop leaves them in a recovery file (the data folder,
else the runtime folder) that the next start replays; only when neither folder takes the file
is the exact count logged and returned (the daemon then exits 1). New ballots are refused
only when the memory bound is reached, and the refusal is what the caller sees.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import trio

from storyd.control import protocol
from storyd.core.model import ChapterDraft, ChapterRecord, ChatMessage
from storyd.errors import StoreUnavailable
from storyd.store.db import Store
from tests.tiny_disk import fill, mount_tiny

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def disk(tmp_path: Path) -> Iterator[Path]:
    try:
        with mount_tiny(tmp_path / "disk") as path:
            yield path
    except PermissionError as exc:
        pytest.skip(str(exc))


def ballots(n: int, start: int = 0) -> list[tuple[str, str, int, int]]:
    return [(f"viewer-{i:05d}", f"Viewer {i}", i % 3, 1) for i in range(start, start + n)]


async def open_with_round(data: Path, runtime: Path) -> tuple[Store, int]:
    store = await Store.open(data / "storyd.sqlite3", recovery_dirs=(runtime,))
    sid = await store.create_session(theme="fantasy", language="English", outline="o",
                                     started_at=1.0, settings={})
    await store.add_chapter(ChapterRecord(
        session_id=sid, number=1, closing=False, created_at=1.0,
        draft=ChapterDraft(title="T", text="x", choices=("a", "b", "c"), provider="offline")))
    await store.open_round(sid, 1, round_id=1, choices=["a", "b", "c"], opens_at=1.0,
                           ends_at=61.0)
    return store, sid


def stored(db: Path) -> int:
    conn = sqlite3.connect(db)
    try:
        return int(conn.execute("SELECT COUNT(*) FROM story_ballots").fetchone()[0])
    finally:
        conn.close()


async def test_a_full_disk_keeps_every_ballot_through_a_stop_and_the_next_start_saves_them(
        disk: Path, tmp_path: Path) -> None:
    data, runtime = disk / "data", tmp_path / "run"
    store, sid = await open_with_round(data, runtime)
    filler = fill(disk)
    for k in range(50):                                    # 5,000 ballots, 100 per flush
        await store.save_ballots(sid, 1, ballots(100, k * 100), now=2.0 + k)
    for k in range(100):                                   # an open round's heartbeats
        await store.update_round(sid, 1, heartbeat_at=3.0 + k)
    stats = store.backlog_stats()
    assert stats["buffered_ballots"] == 5000 and stats["pending_writes"] == 1
    assert stats["dropped_writes"] == 0 and store.ballot_refusal() is None
    assert await store.aclose(wait=0.5) == 0               # nothing lost ...
    files = list(runtime.glob("storyd-unsaved-*.json"))    # ... the data folder is full
    assert len(files) == 1 and not list(data.glob("storyd-unsaved-*"))
    kept = json.loads(files[0].read_bytes())
    assert len(kept["ballots"]) == 5000 and len(kept["writes"]) == 1
    assert stored(data / "storyd.sqlite3") == 0

    filler.unlink()                                        # space returns; the next start
    store = await Store.open(data / "storyd.sqlite3", recovery_dirs=(runtime,))
    try:
        assert store.notice() is None
        round_ = (await store.active_session())
        assert round_ is not None and round_.round is not None
        assert round_.round["heartbeat_at"] == 102.0       # the newest heartbeat landed
    finally:
        assert await store.aclose() == 0
    assert stored(data / "storyd.sqlite3") == 5000
    assert not list(runtime.glob("storyd-unsaved-*"))      # replayed, then removed


async def test_a_start_on_a_still_full_disk_keeps_the_recovered_ballots_waiting(
        disk: Path, tmp_path: Path) -> None:
    data, runtime = disk / "data", tmp_path / "run"
    store, sid = await open_with_round(data, runtime)
    filler = fill(disk)
    await store.save_ballots(sid, 1, ballots(300), now=2.0)
    await store.update_round(sid, 1, heartbeat_at=7.0)     # waits too: the file has writes
    await store.save_ballots(sid, 1, [("viewer-00000", "", 2, 1)], now=8.0)   # a change
    assert await store.aclose() == 0
    store = await Store.open(data / "storyd.sqlite3", recovery_dirs=(runtime,))
    stats = store.backlog_stats()
    assert stats["buffered_ballots"] == 300 and stats["pending_writes"] == 1
    assert store.notice() is not None
    # the resume reads the show it had reached, not the database alone: the waiting round
    # update and every acknowledged ballot (the changed one as changed) ...
    resumed = await store.active_session()
    assert resumed is not None and resumed.round is not None
    assert resumed.round["heartbeat_at"] == 7.0
    assert len(resumed.ballots) == 300
    assert ("viewer-00000", "Viewer 0", 2, 1) in resumed.ballots
    # ... and what the resume writes waits with them instead of failing the start
    assert await store.mark_stale_sessions(except_id=sid, ended_at=9.0) is None
    await store.save_ballots(sid, 1, ballots(200, 300), now=3.0)
    assert await store.aclose() == 0                        # one new file holds all 500
    files = list(runtime.glob("storyd-unsaved-*.json"))
    assert len(files) == 1 and len(json.loads(files[0].read_bytes())["ballots"]) == 500
    filler.unlink()
    store = await Store.open(data / "storyd.sqlite3", recovery_dirs=(runtime,))
    assert await store.aclose() == 0
    assert stored(data / "storyd.sqlite3") == 500


async def test_when_no_folder_takes_the_recovery_file_the_exact_count_is_reported(
        disk: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the runtime folder should be")
    store, sid = await open_with_round(disk / "data", blocker / "run")
    fill(disk)
    await store.save_ballots(sid, 1, ballots(1234), now=2.0)
    await store.record_vote_result(sid, 1, winner=0, counts=[1234, 0, 0], voters=1234,
                                   tie_break=None, early=False, forced=False, closed_at=3.0)
    with caplog.at_level(logging.ERROR):
        assert await store.aclose() == 1235
    assert any("1234 acknowledged or chat ballots and 1 other writes" in r.getMessage()
               and "LOST" in r.getMessage() and r.levelno == logging.ERROR
               for r in caplog.records)


async def test_new_ballots_are_refused_only_when_the_memory_bound_is_reached(
        disk: Path, tmp_path: Path) -> None:
    store, sid = await open_with_round(disk / "data", tmp_path / "run")
    store._pending.ballots.limit = 1000       # the real bound is 100,000 (350 bytes a ballot)
    filler = fill(disk)
    try:
        await store.save_ballots(sid, 1, ballots(999), now=2.0)
        assert store.ballot_refusal() is None
        await store.save_ballots(sid, 1, ballots(5, 999), now=2.0)    # the last batch fits
        refusal = store.ballot_refusal()
        assert refusal is not None and "new votes are refused" in refusal
        assert "New votes are refused" in (store.notice() or "")
        with pytest.raises(StoreUnavailable, match="new votes are refused"):
            await store.save_ballots(sid, 1, ballots(1, 5000), now=3.0)
        await store.save_ballots(sid, 1, [("viewer-00000", "V", 2, 1)], now=4.0)  # a changed
        assert store.backlog_stats()["buffered_ballots"] == 1004     # vote costs no memory
        filler.unlink()
        await store.update_round(sid, 1, heartbeat_at=5.0)           # space returns
        assert store.ballot_refusal() is None and store.notice() is None
    finally:
        await store.aclose()
    db = disk / "data" / "storyd.sqlite3"
    assert stored(db) == 1004
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT choice FROM story_ballots WHERE viewer_id = 'viewer-00000'"
                        ).fetchone() == (2,)
    conn.close()


# ---- the real process: fill during ingest, SIGTERM, restart, count ---------------------------
def _ctl(sock: Path, request: dict[str, Any]) -> Any:
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(30)
        s.connect(str(sock))
        s.sendall(json.dumps({"v": 1, "id": 1, "request": request}).encode() + b"\n")
        data = b""
        while not data.endswith(b"\n"):
            data += s.recv(65536)
    return json.loads(data)


class Storyd:
    def __init__(self, tmp: Path, disk: Path) -> None:
        self.tmp, self.sock = tmp, tmp / "run" / "control.sock"
        self.config = tmp / "storyd.toml"
        self.config.write_text(
            f'[server]\nport = 0\n[control]\nsocket = "{self.sock}"\n[storage]\n'
            f'data_dir = "{disk}/data"\ncache_dir = "{tmp}/cache"\n[tts]\nenabled = false\n'
            '[images]\nenabled = false\n[voting]\nduration = 300\n[story]\nreveal = "full"\n'
            'reveal_words_per_second = 0\n')
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with (self.tmp / "storyd.log").open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "storyd.cli", "--config", str(self.config)],
                env=dict(os.environ, PYTHONPATH=str(ROOT)), cwd=ROOT, stdout=log, stderr=log)
        for _ in range(300):
            assert self.proc.poll() is None, self.log()
            try:       # the control socket answers first; the web front a moment later
                if _ctl(self.sock, {"cmd": "admin-url"})["result"]["url"].startswith("http"):
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise AssertionError("storyd did not start")

    def stop(self) -> int:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(60)

    def log(self) -> str:
        return (self.tmp / "storyd.log").read_text(errors="replace")

    def client(self) -> httpx.Client:
        url = _ctl(self.sock, {"cmd": "admin-url"})["result"]["url"]
        base, token = url.split("/admin/?token=")
        return httpx.Client(base_url=base + "/api/interactive-story", timeout=30,
                            headers={"Authorization": f"Bearer {token}"})


def _ingest(client: httpx.Client, first: int, n: int) -> int:
    acked = 0
    for k in range(first, first + n, 100):
        got = client.post("/chat", json={"messages": [
            {"platform": "t", "user_id": f"u{i}", "name": f"viewer {i}", "text": "!b"}
            for i in range(k, k + 100)]})
        assert got.status_code in (200, 503), got.text   # a refusal is seen, never a drop
        if got.status_code == 200:
            acked += got.json()["accepted"]
    return acked


@pytest.mark.slow
def test_a_real_storyd_on_a_full_disk_loses_no_acknowledged_ballot(
        disk: Path, tmp_path: Path) -> None:
    storyd = Storyd(tmp_path, disk)
    storyd.start()
    try:
        with storyd.client() as client:
            assert client.post("/start", json={"theme": "fantasy"}).status_code == 200
            for _ in range(600):
                if client.get("/status").json()["state"] == "voting":
                    break
                time.sleep(0.1)
            filler = fill(disk)
            acked = _ingest(client, 0, 2500)
            assert "disk is full" in client.get("/status").json()["notice"]
            filler.unlink()                           # space returns while the show runs
            for _ in range(100):
                if not client.get("/status").json()["notice"]:
                    break
                time.sleep(0.1)
            db = disk / "data" / "storyd.sqlite3"
            assert stored(db) == acked == 2500
            filler = fill(disk)                       # full again, and it stays full
            acked += _ingest(client, 2500, 2500)
        assert storyd.stop() == 0
        assert "kept in" in storyd.log() and "the next start replays them" in storyd.log()
        storyd.start()                                # still full: the show resumes from
        with storyd.client() as client:               # memory, the ballots wait with it
            status = client.get("/status").json()
            assert status["state"] == "voting" and "disk is full" in status["notice"]
            assert status["voting"]["voters"] == 5000 == sum(status["voting"]["counts"])
        assert storyd.stop() == 0
        filler.unlink()
        storyd.start()
        assert storyd.stop() == 0
        assert stored(db) == acked == 5000
        assert not list((tmp_path / "run").glob("storyd-unsaved-*"))
    finally:
        if storyd.proc is not None and storyd.proc.poll() is None:
            storyd.proc.kill()
            storyd.proc.wait()



# ---- the daemon: the refusal callers see, and exit 1 when nothing can keep the ballots -------
async def _voting_daemon(data: Path, runtime: Path, nursery: trio.Nursery) -> Any:
    from storyd.app import run_daemon
    from storyd.config import loader as config_mod
    from tests.conftest import wait_for_state

    path = runtime.parent / "storyd.toml"
    path.write_text(f'[server]\nport = 0\n[control]\nsocket = "{runtime}/control.sock"\n'
                    f'[storage]\ndata_dir = "{data}"\ncache_dir = "{runtime.parent}/cache"\n'
                    '[tts]\nenabled = false\n[voting]\nduration = 300\n[story]\n'
                    'reveal = "full"\nreveal_words_per_second = 0\n')
    daemon = await nursery.start(run_daemon, config_mod.load(path), path)
    with daemon.bus.subscribe() as sub:
        await daemon.director.start(theme="fantasy")
        await wait_for_state(sub, "voting", timeout=60)
    return daemon


def _chat(first: int, n: int) -> dict[str, Any]:
    return {"messages": [{"platform": "t", "user_id": f"u{i}", "text": "!a"}
                         for i in range(first, first + n)]}


async def test_the_api_refuses_with_503_only_when_the_memory_bound_is_reached(
        disk: Path, tmp_path: Path, autojump_clock: Any) -> None:
    from storyd.control.blocking_client import RemoteError
    from storyd.control.client import ControlClient

    async with trio.open_nursery() as nursery:
        daemon = await _voting_daemon(disk / "data", tmp_path / "run", nursery)
        daemon.store._pending.ballots.limit = 300
        filler = fill(disk)
        headers = {"Authorization": f"Bearer {daemon.admin_token}"}
        async with httpx.AsyncClient(base_url=daemon.web_url + "/api/interactive-story",
                                     headers=headers) as client:
            with trio.fail_after(30):
                for k in range(0, 300, 100):          # kept in memory: acknowledged
                    got = await client.post("/chat", json=_chat(k, 100))
                    assert got.status_code == 200 and got.json()["accepted"] == 100
                got = await client.post("/chat", json=_chat(300, 100))
                assert got.status_code == 503, got.text
                assert got.json()["error"]["code"] == "storage_unavailable"
                assert "new votes are refused" in got.json()["error"]["message"]
                async with await ControlClient.connect(daemon.socket_path) as ctl:
                    with pytest.raises(RemoteError, match="new votes are refused"):
                        await ctl.call(protocol.Vote(viewer="late", choice="b"))
                assert daemon.voting.round.voters == 300    # the refused were not counted
                filler.unlink()
                await daemon.store.update_round(daemon.voting.session_id, daemon.voting.chapter,
                                                heartbeat_at=1.0)   # any write: space is back
                got = await client.post("/chat", json=_chat(300, 100))
                assert got.status_code == 200 and got.json()["accepted"] == 100
        daemon.stop()
    assert stored(disk / "data" / "storyd.sqlite3") == 400


async def test_the_daemon_fails_when_not_even_a_recovery_file_can_be_written(
        disk: Path, tmp_path: Path, autojump_clock: Any,
        caplog: pytest.LogCaptureFixture) -> None:
    from storyd.errors import StorydError

    with mount_tiny(tmp_path / "run", "64k") as runtime:
        with pytest.raises(BaseExceptionGroup) as info:
            async with trio.open_nursery() as nursery:
                daemon = await _voting_daemon(disk / "data", runtime, nursery)
                fill(disk)
                fill(runtime)
                daemon.voting.submit([ChatMessage(platform="t", user_id=f"u{i}", name="",
                                                  text="!c") for i in range(99)])
                await daemon.voting.commit()        # acknowledged: kept in memory
                daemon.stop()
    # the exact count is logged at ERROR; cli.main logs the StorydError too and exits 1
    assert info.group_contains(StorydError, match=r"^\d+ writes \(ballots included\) could "
                               "not be saved to the database nor to a recovery file")
    assert any(r.levelno == logging.ERROR and "99 acknowledged or chat ballots and"
               in r.getMessage() and "LOST" in r.getMessage() for r in caplog.records)
