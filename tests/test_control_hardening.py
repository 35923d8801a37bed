"""Issue 11: hostile control-socket clients end at most their own connection."""

from __future__ import annotations

import functools
import logging
from collections import Counter
from pathlib import Path
from typing import Any

import msgspec
import pytest
import trio
import trio.testing
from test_control_socket import FakeDaemon, Raw, env

from storyd.control import protocol
from storyd.control.server import serve_control
from storyd.system.faults import LogLimiter

TIMEOUT = 30


@pytest.fixture
def sock_path(tmp_path: Path) -> Path:
    return tmp_path / "run" / "c.sock"


async def serve(nursery: trio.Nursery, sock_path: Path, **kw: Any) -> FakeDaemon:
    fake = FakeDaemon()
    await nursery.start(functools.partial(serve_control, **kw), sock_path, fake.handle,
                        fake.watch)
    return fake


@pytest.mark.parametrize("line", [
    b"[" * 1000, b"{" * 1000, b'{"a":' * 1000, b"[" * 60_000,
    b'{"v": 1, "id": 3, "request": ' + b"[" * 5000,
    b'{"v": 1, "id": 3, "request": {"cmd": "vote", "viewer": ' + b"[" * 5000 + b"]" * 5000 + b"}}",
    b'{"v": 1, "id": 4, "request": {"cmd": "chat", "messages": [' + b"{" * 3000 + b"]}}"])
async def test_deeply_nested_lines_are_bad_json_and_the_server_lives(
        nursery: trio.Nursery, sock_path: Path, line: bytes) -> None:
    await serve(nursery, sock_path)
    with trio.fail_after(TIMEOUT):
        raw = await Raw.open(sock_path)
        await raw.send(line + b"\n")
        reply = await raw.line()
        assert reply["ok"] is False
        assert reply["error"]["code"] in ("bad_json", "bad_request")
        assert (await raw.ask(env({"cmd": "status"}, id=2)))["ok"] is True
        other = await Raw.open(sock_path)
        assert (await other.ask(env({"cmd": "status"}, id=1)))["ok"] is True


async def test_an_unexpected_fault_ends_only_its_connection_with_one_log_line(
        nursery: trio.Nursery, sock_path: Path, caplog: pytest.LogCaptureFixture,
        monkeypatch: pytest.MonkeyPatch) -> None:
    from storyd.control import server

    real_decode = server._decode

    def exploding(line: bytes) -> Any:
        if b"explode" in line:
            raise MemoryError("decoder blew up")
        return real_decode(line)

    monkeypatch.setattr(server, "_decode", exploding)
    monkeypatch.setattr(server, "_faults", LogLimiter(server.log))
    await serve(nursery, sock_path)
    with trio.fail_after(TIMEOUT), caplog.at_level(logging.DEBUG):
        bystander = await Raw.open(sock_path)
        for _ in range(20):
            victim = await Raw.open(sock_path)
            await victim.send(b"explode\n")
            assert await victim.stream.receive_some(100) == b""     # only it is closed
        assert (await bystander.ask(env({"cmd": "status"})))["ok"] is True
    faults = [r for r in caplog.records if "decoder blew up" in r.getMessage()]
    assert 1 <= len(faults) <= 5            # one line each, rate-limited
    assert all(r.exc_info is None and "\n" not in r.getMessage() for r in faults)


async def test_half_lines_are_cut_off_and_do_not_lock_others_out(
        nursery: trio.Nursery, sock_path: Path, autojump_clock: trio.testing.MockClock) -> None:
    await serve(nursery, sock_path, max_connections=64, line_timeout=10, idle_timeout=600)
    with trio.fail_after(TIMEOUT):
        holders = [await Raw.open(sock_path) for _ in range(64)]
        for raw in holders:
            await raw.send(b'{"v": 1, "id": 1, "requ')
        await trio.testing.wait_all_tasks_blocked()
        start = trio.current_time()
        late = []
        for i in range(6):                  # clients 65-70 are served at once: each one
            late.append(await Raw.open(sock_path))   # evicts the longest-waiting half line
            assert (await late[-1].ask(env({"cmd": "status"}, id=i)))["ok"] is True
        assert trio.current_time() - start < 1
        codes = []
        for raw in holders:                 # 6 evicted at once, the rest cut off after 10 s
            codes.append((await raw.line())["error"]["code"])
            assert await raw.stream.receive_some(10) == b""
        assert sorted(codes) == ["busy"] * 6 + ["timeout"] * 58, Counter(codes)
        assert 10 <= trio.current_time() - start < 12


async def test_busy_connections_are_never_evicted(
        nursery: trio.Nursery, sock_path: Path) -> None:
    release = trio.Event()
    fake = FakeDaemon()

    async def slow(request: Any) -> Any:
        if isinstance(request, protocol.Memory):
            await release.wait()
            return {"slow": True}
        return await fake.handle(request)

    await nursery.start(functools.partial(serve_control, max_connections=2), sock_path, slow,
                        fake.watch)
    with trio.fail_after(TIMEOUT):
        busy = [await Raw.open(sock_path) for _ in range(2)]
        for raw in busy:                    # both in the middle of a request
            await raw.send(msgspec.json.encode(env({"cmd": "memory"})) + b"\n")
        await trio.testing.wait_all_tasks_blocked()
        extra = await Raw.open(sock_path)
        assert (await extra.line())["error"]["code"] == "busy"
        release.set()
        for raw in busy:
            assert (await raw.line())["result"] == {"slow": True}


async def test_a_trickled_line_does_not_reset_the_line_timeout(
        nursery: trio.Nursery, sock_path: Path, autojump_clock: trio.testing.MockClock) -> None:
    await serve(nursery, sock_path, line_timeout=10, idle_timeout=600)
    line = msgspec.json.encode(env({"cmd": "status"})) + b"\n"   # would take 50 s
    with trio.fail_after(TIMEOUT):
        raw = await Raw.open(sock_path)
        start = trio.current_time()
        with pytest.raises(trio.BrokenResourceError):
            for byte in line:          # a slowloris: one byte a second
                await raw.send(bytes([byte]))
                await trio.sleep(1)
        assert trio.current_time() - start < 12
        assert (await raw.line())["error"]["code"] == "timeout"


async def test_idle_connections_are_closed_after_idle_timeout(
        nursery: trio.Nursery, sock_path: Path, autojump_clock: trio.testing.MockClock) -> None:
    await serve(nursery, sock_path, line_timeout=10, idle_timeout=600)
    with trio.fail_after(TIMEOUT * 100):
        raw = await Raw.open(sock_path)
        assert (await raw.ask(env({"cmd": "status"})))["ok"] is True
        start = trio.current_time()
        reply = await raw.line()
        assert reply["error"]["code"] == "timeout" and "idle" in reply["error"]["message"]
        assert 600 <= trio.current_time() - start < 601


async def test_a_watching_connection_is_never_idle(
        nursery: trio.Nursery, sock_path: Path, autojump_clock: trio.testing.MockClock) -> None:
    fake = await serve(nursery, sock_path, line_timeout=10, idle_timeout=600)
    with trio.fail_after(TIMEOUT * 1000):
        raw = await Raw.open(sock_path)
        assert (await raw.ask(env({"cmd": "watch"})))["ok"] is True
        for _ in range(3):
            assert "event" in await raw.line()
        await trio.sleep(5000)
        assert fake.watching == 1 and not fake.watch_cancelled.is_set()
