"""Pipelined requests on one control connection (issue 23): several `chat` requests in
flight, each reply only once its commit returned, replies in request order, a failed commit
never acknowledged, and the other requests still answered in turn."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import trio
import trio.testing

from storyd.control import protocol
from storyd.control.server import serve_control
from storyd.errors import StorageError
from tests.test_control_socket import Raw, env

TIMEOUT = 5


class Committer:
    """Stages chat requests like the voting service: counted at once, acknowledged when a
    commit the test releases has happened (a failed one refuses them all)."""

    def __init__(self) -> None:
        self.counted: list[int] = []
        self.committed = trio.Event()
        self.fail = False
        self.order: list[str] = []

    def pipelined(self, request: protocol.Request) -> tuple[Any, Any] | None:
        if not isinstance(request, protocol.Chat):
            return None
        n = len(request.messages)
        self.counted.append(n)
        commit = self.committed

        async def ready() -> None:
            await commit.wait()
            if self.fail:
                raise StorageError("the ballots could not be saved")

        return {"accepted": n}, ready

    async def handle(self, request: protocol.Request) -> Any:
        self.order.append(type(request).__name__)
        return {"handled": type(request).__name__}

    async def watch(self, send: Any) -> None:
        await send({"event": "story:state", "data": {}})
        await trio.sleep_forever()


def chat(n: int, req_id: int) -> bytes:
    lines = [{"platform": "x", "user_id": f"u{i}", "text": "!a"} for i in range(n)]
    return protocol.encode(env({"cmd": "chat", "messages": lines}, id=req_id))


async def serve(nursery: trio.Nursery, tmp_path: Path) -> tuple[Committer, Path]:
    c = Committer()
    path = tmp_path / "run" / "c.sock"
    await nursery.start(lambda task_status: serve_control(
        path, c.handle, c.watch, pipelined=c.pipelined, task_status=task_status))
    return c, path


async def test_requests_in_flight_are_counted_at_once_and_acknowledged_after_commit(
        nursery: trio.Nursery, tmp_path: Path) -> None:
    c, path = await serve(nursery, tmp_path)
    with trio.fail_after(TIMEOUT):
        raw = await Raw.open(path)
        await raw.send(chat(1000, 1) + chat(1000, 2) + chat(3, 3)
                       + protocol.encode(env({"cmd": "status"}, id=4)))
        while len(c.order) < 1:                 # status ran after the three chats counted
            await trio.testing.wait_all_tasks_blocked()
        assert c.counted == [1000, 1000, 3]
        with trio.move_on_after(0.2):
            await raw.line()
            raise AssertionError("a reply before its commit")
        c.committed.set()
        replies = [await raw.line() for _ in range(4)]
    assert [r["id"] for r in replies] == [1, 2, 3, 4]          # in request order
    assert [r["result"] for r in replies[:3]] == [{"accepted": 1000}, {"accepted": 1000},
                                                  {"accepted": 3}]
    assert replies[3]["result"] == {"handled": "Status"}


async def test_a_failed_commit_is_never_acknowledged(nursery: trio.Nursery,
                                                     tmp_path: Path) -> None:
    c, path = await serve(nursery, tmp_path)
    c.fail = True
    c.committed.set()
    with trio.fail_after(TIMEOUT):
        raw = await Raw.open(path)
        await raw.send(chat(2, 1) + b"{oops\n" + chat(2, 3))
        replies = [await raw.line() for _ in range(3)]
    assert [r["id"] for r in replies] == [1, None, 3]
    assert [r["ok"] for r in replies] == [False, False, False]
    assert replies[0]["error"]["code"] == replies[2]["error"]["code"] == "storage"
    assert replies[1]["error"]["code"] == "bad_json"


async def test_a_watch_waits_for_the_replies_before_it(nursery: trio.Nursery,
                                                       tmp_path: Path) -> None:
    c, path = await serve(nursery, tmp_path)
    with trio.fail_after(TIMEOUT):
        raw = await Raw.open(path)
        await raw.send(chat(1, 1) + protocol.encode(env({"cmd": "watch"}, id=2)))
        await trio.testing.wait_all_tasks_blocked()
        c.committed.set()
        first, second, third = await raw.line(), await raw.line(), await raw.line()
    assert first["id"] == 1 and first["ok"]
    assert second == {"v": 1, "id": 2, "ok": True, "result": None}
    assert third["event"] == {"event": "story:state", "data": {}}
