"""Vote updates from the count to each websocket client (issue 23 item 3), under autojump_clock:
one throttle (the voting service's ticker), nothing else holding an update back (not the
group commit of the acknowledgements, not the bus, not the web layer), and latest wins per
client: a slow client never delays a fast one and never queues more than one update.

The clients are `storyd.web.ws.serve_socket` over fake sockets (the real writer, reader,
subscription and encoding; the socket records what it is sent and when), the services are
the real ones around the memory store (tests/memory_store.py)."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import trio
import trio.testing

from storyd.core import events as ev
from storyd.services.vote_ticker import TICK
from storyd.web import ws
from tests.memory_store import stage
from tests.test_services import msg, next_event, running


@pytest.fixture
def autojump_clock() -> trio.testing.MockClock:
    """Jump at once: nothing here runs in a thread (the memory store), unlike the daemon
    that tests/conftest.py's 50 ms threshold is for."""
    return trio.testing.MockClock(autojump_threshold=0)


class FakeSocket:
    """Records (virtual time, total votes) of every vote update it is sent; each send takes
    `delay` seconds (a client on a slow link)."""

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay
        self.updates: list[tuple[float, int]] = []
        self.frames = 0

    async def send(self, data: str) -> None:
        if self.delay:
            await trio.sleep(self.delay)
        self.frames += 1
        msg = json.loads(data)
        if msg["event"] == "story:vote-update":
            self.updates.append((trio.current_time(), sum(msg["data"]["counts"])))

    async def receive(self) -> str:
        await trio.sleep_forever()
        raise AssertionError

    async def close(self, code: int, reason: str) -> None:
        pass


async def no_handler(op: Any, req: Any) -> None:
    raise AssertionError("the overlay socket runs no commands")


async def record_published(bus: Any, into: list[tuple[float, int]], *,
                           task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
                           ) -> None:
    """Every vote update the bus publishes, with the (virtual) time it was published."""
    with bus.subscribe(4096) as sub:
        task_status.started()
        async for event in sub:
            if isinstance(event, ev.VoteUpdate):
                into.append((trio.current_time(), sum(event.data.counts)))


async def voting_with_clients(st: Any, nursery: trio.Nursery, socks: list[FakeSocket]) -> None:
    await running(st, nursery)
    with st.bus.subscribe(4096) as sub:
        await st.director.start("horror")
        await next_event(sub, ev.VotingStarted)
    op = SimpleNamespace(bus=st.bus, snapshot=st.director.snapshot, shutdown=trio.Event())
    stats = ws.WebStats()
    for sock in socks:
        nursery.start_soon(lambda s=sock: ws.serve_socket(op, stats, no_handler, s, admin=False))
    await trio.sleep(1.0)      # snapshots sent; the ticker idle for longer than TICK


async def test_a_burst_inside_one_interval_reaches_each_client_as_at_most_two_updates(
        tmp_path: Path, autojump_clock: Any) -> None:
    st = stage(tmp_path)
    socks = [FakeSocket() for _ in range(3)]
    async with trio.open_nursery() as nursery:
        await voting_with_clients(st, nursery, socks)
        published: list[tuple[float, int]] = []
        await nursery.start(record_published, st.bus, published)
        t0 = trio.current_time()
        for i in range(500):                    # 500 votes within half an interval
            st.voting.submit([msg(f"v{i}", "!a")])
            await trio.sleep(TICK / 1000)
        await trio.sleep(1.0)
        nursery.cancel_scope.cancel()
    assert published == [(t0, 1), (pytest.approx(t0 + TICK), 500)]   # at once, then a tick
    for sock in socks:                                # the web adds, delays and drops none
        assert sock.updates == published


async def test_acknowledged_votes_reach_every_client_within_one_tick(
        tmp_path: Path, autojump_clock: Any) -> None:
    """2,000 votes/s for 3 s, sent as the bench's injector does (a batch, then wait for the
    acknowledgement: the group commit): every vote is in an update that every client has
    at most TICK after it was counted, at most 10 updates a second, and no fewer (a second
    throttle anywhere on the path would show as fewer, later updates)."""
    st = stage(tmp_path)
    socks = [FakeSocket() for _ in range(3)]
    sent: list[float] = []                      # virtual send time of vote i
    async with trio.open_nursery() as nursery:
        await voting_with_clients(st, nursery, socks)
        start = trio.current_time()
        while (now := trio.current_time()) - start < 3.0:
            due = int((now - start) * 2000) - len(sent)
            if due > 0:
                st.voting.submit([msg(f"v{len(sent) + i}", "!b") for i in range(due)])
                sent.extend([now] * due)
                await st.voting.commit()        # the acknowledgement: after the commit
            else:
                await trio.sleep(0.005)
        await trio.sleep(1.0)
        nursery.cancel_scope.cancel()
    assert len(sent) > 5900
    for sock in socks:
        times = [t for t, _ in sock.updates]
        totals = [n for _, n in sock.updates]
        assert 29 <= len(times) <= 32, len(times)
        assert all(b - a >= TICK - 1e-9 for a, b in zip(times, times[1:], strict=False))
        assert totals[-1] == len(sent)
        for vote in range(0, len(sent), 50):
            seen = next(t for t, n in sock.updates if n > vote)
            assert seen - sent[vote] <= TICK + 1e-9, (vote, seen - sent[vote])


async def test_a_slow_client_never_delays_a_fast_one_and_gets_the_latest(
        tmp_path: Path, autojump_clock: Any) -> None:
    st = stage(tmp_path)
    fast, slow = FakeSocket(), FakeSocket(delay=2.0)     # each send to `slow` takes 2 s
    published: list[tuple[float, int]] = []
    backlog = 0
    async with trio.open_nursery() as nursery:
        await voting_with_clients(st, nursery, [slow, fast])
        await nursery.start(record_published, st.bus, published)
        for i in range(3000):                       # 1,000 votes/s for 3 s
            st.voting.submit([msg(f"v{i}", "!c")])
            await trio.sleep(0.001)
            backlog = max(backlog, *st.bus.backlogs())   # the slow one's, in effect
        await trio.sleep(10.0)                      # the slow one catches up
        nursery.cancel_scope.cancel()
    assert len(published) >= 29
    assert fast.updates == published                 # every update, at the time it was published
    assert len(slow.updates) <= 4                    # one per send it could finish...
    assert slow.updates[-1][1] == 3000               # ...and the latest counts in the end
    assert backlog <= 1                              # never more than one update queued for it
    assert st.bus.dropped == 0
