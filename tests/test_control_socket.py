"""The control socket server and client over a real Unix socket, with a small fake handler."""

from __future__ import annotations

import functools
import logging
import os
import socket
import stat
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import msgspec
import pytest
import trio
import trio.testing

from storyd.control import protocol
from storyd.control.blocking_client import DaemonNotRunning, RemoteError
from storyd.control.client import ControlClient
from storyd.control.server import serve_control
from storyd.core.events import StorydEvent, VoteUpdate, VoteUpdateData
from storyd.core.model import Theme
from storyd.core.replies import VoteReply
from storyd.core.snapshot import Snapshot
from storyd.errors import NotFoundError, RefusedError, StorydError

TIMEOUT = 5
IDLE = Snapshot(state="idle", revision=1, server_time_ms=0)


def update(i: int) -> VoteUpdate:
    return VoteUpdate(VoteUpdateData(round_id=1, counts=(i,), voters=i))


class FakeDaemon:
    """An edge fake: answers a few requests, refuses close, breaks on memory."""

    def __init__(self) -> None:
        self.votes: list[protocol.Vote] = []
        self.watch_cancelled = trio.Event()
        self.watching = 0

    async def handle(self, request: protocol.Request) -> Any:   # Any: `finish` answers junk
        match request:
            case protocol.Status():
                return IDLE
            case protocol.Themes():
                return [Theme(id="fantasy", name="Fantasy", style="s", tone="t", image_style="i")]
            case protocol.Vote():
                self.votes.append(request)
                n = len(self.votes)
                await trio.lowlevel.checkpoint()   # let other connections interleave
                return VoteReply(accepted=True, counts=(n,), voters=n)
            case protocol.Close():
                raise RefusedError("no vote is running")
            case protocol.Session(id=session_id):
                raise NotFoundError(f"session {session_id} does not exist")
            case protocol.Memory():
                raise ValueError("boom: secret internals")
            case protocol.Finish():
                return object()     # not encodable: must become `internal`, not a crash
        return None

    async def watch(self, send: Callable[[StorydEvent], Awaitable[None]]) -> None:
        self.watching += 1
        try:
            for i in range(3):
                await send(update(i))
            await trio.sleep_forever()
        finally:
            self.watch_cancelled.set()


class Raw:
    """A raw line client, to send what ControlClient never would."""

    def __init__(self, stream: trio.SocketStream) -> None:
        self.stream = stream
        self.buf = b""

    @classmethod
    async def open(cls, path: Path) -> Raw:
        return cls(await trio.open_unix_socket(str(path)))

    async def send(self, data: bytes) -> None:
        await self.stream.send_all(data)

    async def line(self) -> dict[str, Any]:
        while b"\n" not in self.buf:
            chunk = await self.stream.receive_some(65536)
            assert chunk, "server closed the connection"
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return msgspec.json.decode(line)  # type: ignore[no-any-return]

    async def ask(self, obj: Any) -> dict[str, Any]:
        await self.send(msgspec.json.encode(obj) + b"\n")
        return await self.line()


def env(request: dict[str, Any], id: int = 1, v: int = 1) -> dict[str, Any]:
    return {"v": v, "id": id, "request": request}


@pytest.fixture
def sock_path(tmp_path: Path) -> Path:
    return tmp_path / "run" / "c.sock"


@pytest.fixture
async def daemon(nursery: trio.Nursery, sock_path: Path) -> FakeDaemon:
    fake = FakeDaemon()
    started = await nursery.start(serve_control, sock_path, fake.handle, fake.watch)
    assert started == sock_path
    return fake


async def test_socket_and_directory_are_private(daemon: FakeDaemon, sock_path: Path) -> None:
    mode = (await trio.Path(sock_path).stat()).st_mode
    assert stat.S_ISSOCK(mode) and stat.S_IMODE(mode) == 0o600
    assert stat.S_IMODE((await trio.Path(sock_path.parent).stat()).st_mode) == 0o700


async def test_reply_shape_and_struct_results(daemon: FakeDaemon, sock_path: Path) -> None:
    with trio.fail_after(TIMEOUT):
        raw = await Raw.open(sock_path)
        assert await raw.ask(env({"cmd": "status"}, id=7)) == {
            "v": 1, "id": 7, "ok": True,
            "result": msgspec.json.decode(msgspec.json.encode(IDLE))}
        themes = await raw.ask(env({"cmd": "themes"}, id=8))
        assert themes["result"][0]["id"] == "fantasy"


async def test_garbage_then_valid_request(daemon: FakeDaemon, sock_path: Path) -> None:
    with trio.fail_after(TIMEOUT):
        raw = await Raw.open(sock_path)
        await raw.send(b"{not json\n\xff\xfe\n")
        for _ in range(2):
            reply = await raw.line()
            assert reply["ok"] is False and reply["id"] is None
            assert reply["error"]["code"] == "bad_json"
        assert (await raw.ask(env({"cmd": "status"}, id=2)))["ok"] is True


async def test_oversized_line_is_discarded_and_connection_survives(
        daemon: FakeDaemon, sock_path: Path) -> None:
    with trio.fail_after(TIMEOUT):
        raw = await Raw.open(sock_path)
        # exactly MAX_LINE bytes is still fine
        exact = msgspec.json.encode(env({"cmd": "status"}, id=1))
        await raw.send(exact + b" " * (protocol.MAX_LINE - len(exact)) + b"\n")
        assert (await raw.line())["ok"] is True
        # one byte more is not; sent in pieces, the tail arrives after the error reply
        await raw.send(b"x" * (protocol.MAX_LINE + 1))
        reply = await raw.line()
        assert reply["error"]["code"] == "line_too_long"
        await raw.send(b"y" * 100_000 + b"\n" + msgspec.json.encode(env({"cmd": "status"}, 2))
                       + b"\n")
        reply = await raw.line()
        assert reply["id"] == 2 and reply["ok"] is True


async def test_unknown_cmd_and_wrong_types(daemon: FakeDaemon, sock_path: Path) -> None:
    with trio.fail_after(TIMEOUT):
        raw = await Raw.open(sock_path)
        reply = await raw.ask(env({"cmd": "explode"}, id=3))
        assert reply["id"] == 3 and reply["error"]["code"] == "bad_request"
        assert "explode" in reply["error"]["message"]
        reply = await raw.ask(env({"cmd": "session", "id": "x"}, id=4))
        assert reply["id"] == 4 and reply["error"]["code"] == "bad_request"
        assert "$.request.id" in reply["error"]["message"]
        reply = await raw.ask(env({"cmd": "status", "extra": 1}, id=5))
        assert reply["error"]["code"] == "bad_request"
        reply = await raw.ask([1, 2])
        assert reply["error"]["code"] == "bad_request"


async def test_bad_version(daemon: FakeDaemon, sock_path: Path) -> None:
    with trio.fail_after(TIMEOUT):
        raw = await Raw.open(sock_path)
        reply = await raw.ask(env({"cmd": "status"}, id=9, v=2))
        assert reply["id"] == 9 and reply["error"]["code"] == "bad_version"
        reply = await raw.ask(env({"cmd": "from-the-future"}, id=10, v=3))
        assert reply["id"] == 10 and reply["error"]["code"] == "bad_version"


async def test_refusals_keep_their_codes(daemon: FakeDaemon, sock_path: Path) -> None:
    with trio.fail_after(TIMEOUT):
        raw = await Raw.open(sock_path)
        reply = await raw.ask(env({"cmd": "close"}))
        assert reply["error"] == {"code": "refused", "message": "no vote is running"}
        reply = await raw.ask(env({"cmd": "session", "id": 99}))
        assert reply["error"] == {"code": "not_found", "message": "session 99 does not exist"}


@pytest.fixture
def fresh_fault_log(monkeypatch: pytest.MonkeyPatch) -> None:
    """A new rate-limit window, so earlier tests' faults do not hide this test's lines."""
    from storyd.control import server
    from storyd.system.faults import LogLimiter

    monkeypatch.setattr(server, "_faults", LogLimiter(server.log))


async def test_handler_crash_is_internal_and_logged(
        daemon: FakeDaemon, sock_path: Path, caplog: pytest.LogCaptureFixture,
        fresh_fault_log: None) -> None:
    with trio.fail_after(TIMEOUT), caplog.at_level(logging.ERROR):
        raw = await Raw.open(sock_path)
        reply = await raw.ask(env({"cmd": "memory"}, id=5))
        assert reply["id"] == 5 and reply["error"]["code"] == "internal"
        assert "boom" not in reply["error"]["message"]
        # logged once, as one line naming the exception and where it was raised
        lines = [r for r in caplog.records if "boom" in r.getMessage()]
        assert len(lines) == 1 and lines[0].exc_info is None
        assert "ValueError: boom: secret internals (at " in lines[0].getMessage()
        assert (await raw.ask(env({"cmd": "status"}, id=6)))["ok"] is True
        reply = await raw.ask(env({"cmd": "finish"}, id=7))
        assert reply["id"] == 7 and reply["error"]["code"] == "internal"
        assert (await raw.ask(env({"cmd": "status"}, id=8)))["ok"] is True


async def test_crashing_watch_closes_only_its_connection(
        nursery: trio.Nursery, sock_path: Path, caplog: pytest.LogCaptureFixture,
        fresh_fault_log: None) -> None:
    fake = FakeDaemon()

    async def broken_watch(send: Callable[[StorydEvent], Awaitable[None]]) -> None:
        await send(update(0))
        raise RuntimeError("watch broke")

    with trio.fail_after(TIMEOUT), caplog.at_level(logging.ERROR):
        await nursery.start(serve_control, sock_path, fake.handle, broken_watch)
        async with await ControlClient.connect(sock_path) as client:
            assert [e async for e in client.watch()] == [update(0)]
        lines = [r for r in caplog.records if "watch broke" in r.getMessage()]
        assert len(lines) == 1 and lines[0].exc_info is None
        async with await ControlClient.connect(sock_path) as client:
            assert await client.call(protocol.Status()) == IDLE


async def test_pipelined_requests_are_answered_in_order(
        daemon: FakeDaemon, sock_path: Path) -> None:
    with trio.fail_after(TIMEOUT):
        raw = await Raw.open(sock_path)
        await raw.send(b"".join(
            msgspec.json.encode(env({"cmd": "vote", "viewer": f"v{i}", "choice": "a"}, id=i))
            + b"\n" for i in range(1, 21)))
        replies = [await raw.line() for _ in range(20)]
        assert [r["id"] for r in replies] == list(range(1, 21))
        assert [r["result"]["voters"] for r in replies] == list(range(1, 21))


async def test_watch_streams_until_client_leaves(daemon: FakeDaemon, sock_path: Path) -> None:
    with trio.fail_after(TIMEOUT):
        async with await ControlClient.connect(sock_path) as client:
            events = []
            async for event in client.watch():
                events.append(event)
                if len(events) == 3:
                    break
        assert events == [update(0), update(1), update(2)]   # typed, as the daemon sent them
        await daemon.watch_cancelled.wait()
        async with await ControlClient.connect(sock_path) as client:
            assert await client.call(protocol.Status()) == IDLE


async def test_watch_wire_format(daemon: FakeDaemon, sock_path: Path) -> None:
    with trio.fail_after(TIMEOUT):
        raw = await Raw.open(sock_path)
        assert await raw.ask(env({"cmd": "watch"}, id=4)) == {
            "v": 1, "id": 4, "ok": True, "result": None}
        assert await raw.line() == {"v": 1, "id": 4, "event": {
            "event": "story:vote-update",
            "data": {"round_id": 1, "counts": [0], "voters": 0, "invalid": 0}}}


async def test_client_call_and_errors(daemon: FakeDaemon, sock_path: Path) -> None:
    with trio.fail_after(TIMEOUT):
        async with await ControlClient.connect(sock_path) as client:
            assert await client.call(protocol.Vote(viewer="x", choice="b")) == VoteReply(
                accepted=True, counts=(1,), voters=1)
            with pytest.raises(RemoteError) as info:
                await client.call(protocol.Close())
            assert (info.value.code, info.value.message) == ("refused", "no vote is running")
            assert daemon.votes == [protocol.Vote(viewer="x", choice="b")]


async def test_client_daemon_not_running(tmp_path: Path) -> None:
    with trio.fail_after(TIMEOUT):
        with pytest.raises(DaemonNotRunning):
            await ControlClient.connect(tmp_path / "absent.sock")
        dead = tmp_path / "dead.sock"
        s = socket.socket(socket.AF_UNIX)
        s.bind(str(dead))
        s.close()                      # the file stays, nobody listens
        with pytest.raises(DaemonNotRunning):
            await ControlClient.connect(dead)


async def test_stale_socket_file_is_replaced(nursery: trio.Nursery, sock_path: Path) -> None:
    sock_path.parent.mkdir(mode=0o700)
    s = socket.socket(socket.AF_UNIX)
    s.bind(str(sock_path))
    s.close()
    fake = FakeDaemon()
    with trio.fail_after(TIMEOUT):
        with pytest.raises(DaemonNotRunning):
            await ControlClient.connect(sock_path)
        await nursery.start(serve_control, sock_path, fake.handle, fake.watch)
        async with await ControlClient.connect(sock_path) as client:
            assert await client.call(protocol.Status()) == IDLE


async def test_live_socket_is_refused(daemon: FakeDaemon, sock_path: Path) -> None:
    with trio.fail_after(TIMEOUT):
        with pytest.raises(StorydError, match="another storyd is running on"):
            await serve_control(sock_path, daemon.handle, daemon.watch)
        async with await ControlClient.connect(sock_path) as client:  # the first one lives on
            assert await client.call(protocol.Status()) == IDLE


async def test_unsafe_places_are_refused(tmp_path: Path) -> None:
    fake = FakeDaemon()
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o777)
    with trio.fail_after(TIMEOUT):
        with pytest.raises(StorydError, match="world-writable"):
            await serve_control(shared / "c.sock", fake.handle, fake.watch)
        private = tmp_path / "private"
        private.mkdir(mode=0o700)
        (private / "c.sock").write_text("not a socket")
        with pytest.raises(StorydError, match="not a socket"):
            await serve_control(private / "c.sock", fake.handle, fake.watch)
        assert (private / "c.sock").read_text() == "not a socket"   # nothing lost


async def test_socket_unlinked_after_cancel(sock_path: Path) -> None:
    fake = FakeDaemon()
    with trio.fail_after(TIMEOUT):
        async with trio.open_nursery() as nursery:
            await nursery.start(serve_control, sock_path, fake.handle, fake.watch)
            raw = await Raw.open(sock_path)          # an open connection must not block exit
            assert (await raw.ask(env({"cmd": "status"})))["ok"] is True
            nursery.cancel_scope.cancel()
    assert not await trio.Path(sock_path).exists()
    with pytest.raises(DaemonNotRunning):
        await ControlClient.connect(sock_path)


async def test_many_concurrent_clients(daemon: FakeDaemon, sock_path: Path) -> None:
    results: list[int] = []

    async def one(i: int) -> None:
        async with await ControlClient.connect(sock_path) as client:
            for _ in range(5):
                result = await client.call(protocol.Vote(viewer=f"v{i}", choice="a"))
                assert isinstance(result, VoteReply)
                results.append(result.voters)

    with trio.fail_after(TIMEOUT):
        async with trio.open_nursery() as nursery:
            for i in range(50):
                nursery.start_soon(one, i)
    assert sorted(results) == list(range(1, 251))


async def test_connection_limit_refuses_overflow(nursery: trio.Nursery, sock_path: Path) -> None:
    fake = FakeDaemon()
    with trio.fail_after(TIMEOUT):
        await nursery.start(functools.partial(serve_control, max_connections=2),
                            sock_path, fake.handle, fake.watch)
        held = [await Raw.open(sock_path) for _ in range(2)]
        for raw in held:                        # both are really being served: watching,
            assert (await raw.ask(env({"cmd": "watch"})))["ok"] is True   # never evicted
        extra = await Raw.open(sock_path)
        reply = await extra.line()
        assert reply["error"]["code"] == "busy"
        assert await extra.stream.receive_some(10) == b""
        await held[0].stream.aclose()
        await trio.testing.wait_all_tasks_blocked()   # the server has seen the hang-up
        again = await Raw.open(sock_path)             # and the freed slot is served again
        assert (await again.ask(env({"cmd": "status"})))["ok"] is True
