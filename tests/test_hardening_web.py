"""Issue 11: hostile HTTP and websocket input against the real daemon answers 4xx, never 5xx,
never kills a connection other than its own, and never floods the log."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import trio
import trio.testing
from trio_websocket import open_websocket_url
from web_harness import running_daemon

API = "/api/interactive-story"
TIMEOUT = 20
DEEP = b"[" * 1000 + b"]" * 1000
DEEP_OBJ = b'{"a":' * 1000 + b"1" + b"}" * 1000


@pytest.fixture
async def real(tmp_path: Path) -> AsyncIterator[tuple[Any, httpx.AsyncClient]]:
    async with running_daemon(tmp_path) as daemon:
        async with httpx.AsyncClient(base_url=daemon.web_url, timeout=10, headers={
                "Authorization": f"Bearer {daemon.admin_token}"}) as client:
            yield daemon, client


@pytest.mark.parametrize("route", ["vote", "chat", "config", "start", "next-chapter"])
@pytest.mark.parametrize("body", [DEEP, DEEP_OBJ, b'{"messages": ' + DEEP + b"}"])
async def test_deep_json_is_400(real: Any, route: str, body: bytes) -> None:
    _, c = real
    with trio.fail_after(TIMEOUT):
        r = await c.post(f"{API}/{route}", content=body)
        assert r.status_code == 400, r.text
        assert r.json()["error"]["code"] in ("bad_json", "bad_request")
        assert (await c.get(f"{API}/status")).status_code == 200


@pytest.mark.parametrize("body", [
    b'{"viewer": "\xff\xfe", "choice": "a"}', b"\xff\xfe\xfd", b'{"viewer": "a", "choice": "\xc3"}',
    b'\xef\xbb\xbf{"viewer": "a", "choice": "a"}'])
async def test_invalid_utf8_on_vote_is_400(real: Any, body: bytes) -> None:
    _, c = real
    with trio.fail_after(TIMEOUT):
        r = await c.post(f"{API}/vote", content=body,
                         headers={"Content-Type": "application/json; charset=utf-8"})
        assert r.status_code == 400, r.text


@pytest.mark.parametrize("path", [
    "session/11405098181550602240", "session/9223372036854775808", "export/99999999999999999999",
    "sessions?offset=11405098181550602240", "sessions?limit=11405098181550602240",
    "top-voters?limit=99999999999999999999"])
async def test_integer_overflow_is_4xx(real: Any, path: str) -> None:
    _, c = real
    with trio.fail_after(TIMEOUT):
        r = await c.get(f"{API}/{path}")
        assert 400 <= r.status_code < 500, r.text
        assert r.json()["error"]["code"] in ("bad_request", "not_found")


async def test_session_overflow_on_the_socket_is_not_internal(real: Any) -> None:
    from storyd.control import protocol
    from storyd.control.blocking_client import RemoteError
    from storyd.control.client import ControlClient

    d, _ = real
    with trio.fail_after(TIMEOUT):
        async with await ControlClient.connect(d.socket_path) as client:
            with pytest.raises(RemoteError) as info:
                await client.call(protocol.Session(id=11405098181550602240))  # unchecked here
            assert info.value.code in ("bad_request", "not_found")


@pytest.mark.parametrize("method", ["TRACE", "PATCH", "DELETE", "PUT"])
async def test_unknown_methods_are_405_with_allow(real: Any, method: str) -> None:
    _, c = real
    with trio.fail_after(TIMEOUT):
        r = await c.request(method, f"{API}/status")
        assert r.status_code == 405
        assert "GET" in r.headers["Allow"]
        r = await c.request(method, f"{API}/vote")
        assert r.status_code == 405 and "POST" in r.headers["Allow"]


async def test_deep_json_frames_on_the_overlay_socket_log_one_line(
        real: Any, caplog: pytest.LogCaptureFixture) -> None:
    d, c = real
    url = d.web_url.replace("http://", "ws://") + "/ws/overlay"
    with trio.fail_after(TIMEOUT), caplog.at_level(logging.DEBUG):
        async with open_websocket_url(url) as ws:
            assert '"story:state"' in await ws.get_message()
            for _ in range(200):
                await ws.send_message(DEEP.decode())
            await ws.send_message('{"event": "ping"}')
            while '"pong"' not in await ws.get_message():
                pass
        tracebacks = [r for r in caplog.records if r.exc_info]
        assert tracebacks == []
        assert sum(len(r.getMessage()) for r in caplog.records) < 20_000
        assert (await c.get(f"{API}/status")).status_code == 200


@pytest.mark.parametrize("method,route,auth", [
    ("PATCH", "end", True), ("OPTIONS", "end", True), ("POST", "vote", False),
    ("TRACE", "status", False)])
async def test_an_early_answer_does_not_stall_the_keep_alive_connection(
        real: Any, method: str, route: str, auth: bool) -> None:
    """Found by schemathesis: answered before its body arrived, the next request hung."""
    d, _ = real
    port = int(d.web_url.rsplit(":", 1)[1])
    token = f"Authorization: Bearer {d.admin_token}\r\n" if auth else ""
    with trio.fail_after(TIMEOUT):
        stream = await trio.open_tcp_stream("127.0.0.1", port)
        await stream.send_all(f"{method} {API}/{route} HTTP/1.1\r\nHost: 127.0.0.1\r\n{token}"
                              "Content-Type: application/json\r\nContent-Length: 2\r\n\r\n"
                              .encode())
        await trio.testing.wait_all_tasks_blocked(0.05)   # the server had its chance to answer
        await stream.send_all(b"{}GET " + API.encode() + b"/status HTTP/1.1\r\n"
                              b"Host: 127.0.0.1\r\n\r\n")
        received = b""
        while received.count(b"HTTP/1.1 ") < 2 or not received.endswith(b"}"):
            chunk = await stream.receive_some(65536)
            assert chunk, f"connection closed after {received[:200]!r}"
            received += chunk
        assert b'"state"' in received.split(b"HTTP/1.1 ")[2]
        await stream.aclose()


async def test_a_crashing_request_or_websocket_logs_one_line_each_rate_limited(
        tmp_path: Path, caplog: pytest.LogCaptureFixture,
        monkeypatch: pytest.MonkeyPatch) -> None:
    from web_harness import FakeDaemon, fake_handle, running_web

    from storyd.control import protocol as p
    from storyd.system.faults import LogLimiter
    from storyd.web import app as web_app
    from storyd.web import ws

    monkeypatch.setattr(web_app, "_faults", LogLimiter(web_app.log))   # fresh window

    async def handle(d: Any, req: Any) -> Any:
        if isinstance(req, p.Memory):
            raise RuntimeError("handler bug\nwith a second line")
        return await fake_handle(d, req)

    async def broken_read(*args: Any) -> None:
        raise RuntimeError("reader bug")

    monkeypatch.setattr(ws, "_read", broken_read)
    daemon = FakeDaemon(tmp_path)
    with caplog.at_level(logging.DEBUG):
        async with running_web(daemon, handle) as url:
            headers = {"Authorization": f"Bearer {daemon.admin_token}"}
            async with httpx.AsyncClient(base_url=url, headers=headers, timeout=10) as c:
                with trio.fail_after(TIMEOUT):
                    for _ in range(3):    # each socket ends; the server does not
                        async with open_websocket_url(url.replace("http", "ws", 1)
                                                      + "/ws/overlay") as sock:
                            with contextlib.suppress(Exception):
                                while True:
                                    await sock.get_message()
                    for _ in range(30):
                        r = await c.get(f"{API}/memory")
                        assert r.status_code == 500 and "bug" not in r.text
                    assert (await c.get(f"{API}/status")).status_code == 200
    assert [r.getMessage() for r in caplog.records if r.exc_info] == []   # no tracebacks
    lines = [r.getMessage() for r in caplog.records if "bug" in r.getMessage()]
    assert all("\n" not in line for line in lines) and len(lines) <= 5
    assert any("RuntimeError: reader bug" in line for line in lines)
    assert any("RuntimeError: handler bug with a second line" in line for line in lines)
