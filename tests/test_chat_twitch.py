"""The Twitch chat source with the real trio-websocket client against a loopback fake.

Real sockets: no autojump clock; every wait is on an event or a condition under
`trio.fail_after`. Ballots go into the real VoteRound, so counts are the ones viewers see.
"""

from __future__ import annotations

import contextlib
import random
import re
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass

import msgspec
import pytest
import trio
import trio_websocket

from storyd.bus import EventBus
from storyd.chat import twitch
from storyd.chat.base import ChatHealth
from storyd.config.structs import TwitchConfig
from storyd.core import events as ev
from storyd.core.model import ChatMessage, GiftMessage, Moderation
from storyd.core.ports import IngestResult
from storyd.core.voting import RoundRules, VoteRound
from tests.chat_helpers import WatchedHealth, until
from tests.fake_twitch import FakeTwitch, TwitchConn, privmsg


def wire(name: str, data: dict[str, object]) -> object:
    """The typed bus event for a wire-form event (through the one event schema)."""
    return ev.decode(msgspec.json.encode({"event": name, "data": data}))

CHAN = "storychan"


class RoundSink:
    """The director's ChatSink reduced to its core: a real VoteRound, gifts weighed as bits."""

    def __init__(self, n_choices: int = 3, **rules: object) -> None:
        self.round = VoteRound(round_id=1, n_choices=n_choices,
                               rules=RoundRules(**rules),  # type: ignore[arg-type]
                               opens_at=0.0, ends_at=60.0, seed=1)
        self.messages: list[ChatMessage] = []
        self.gifts: list[GiftMessage] = []
        self.moderation: list[Moderation] = []
        self._changed = trio.Event()

    def submit(self, batch: Sequence[ChatMessage]) -> IngestResult:
        self.messages.extend(batch)
        result = self.round.ingest(batch)
        self._poke()
        return result

    def submit_gift(self, gift: GiftMessage) -> int:
        self.gifts.append(gift)
        self._poke()
        return self.round.add_gift(gift.user_id, gift.diamonds,
                                   unit="bits" if gift.platform == "twitch" else "diamonds")

    def submit_activity(self, user_id: str, name: str, *, likes: int = 0,
                        joins: int = 0) -> None:
        raise AssertionError("Twitch has no likes or joins")

    def submit_moderation(self, action: Moderation) -> bool:
        self.moderation.append(action)
        self._poke()
        if action.kind == "message":
            return self.round.retract(action.msg_id)
        if action.kind == "viewer":
            return self.round.remove_viewer(action.key or action.user_id)
        return False

    def _poke(self) -> None:
        self._changed.set()
        self._changed = trio.Event()

    async def wait(self, pred: Callable[[], bool]) -> None:
        while not pred():
            await self._changed.wait()


@dataclass
class Rig:
    server: FakeTwitch
    nursery: trio.Nursery
    health: ChatHealth

    def cfg(self, **kw: object) -> TwitchConfig:
        base: dict[str, object] = dict(channel=CHAN, url=self.server.url, connect_timeout=2.0,
                                       stall_seconds=30.0, backoff_initial=0.05,
                                       backoff_max=0.2)
        base.update(kw)
        return TwitchConfig(**base)  # type: ignore[arg-type]

    async def start(self, sink: RoundSink, bus: EventBus | None = None,
                    **kw: object) -> Running:
        running = Running(trio.CancelScope(), trio.Event())
        cfg = self.cfg(**kw)

        async def runner(task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
            try:
                with running.scope:
                    await twitch.run(cfg, sink, self.health, bus=bus, rng=random.Random(7),
                                     task_status=task_status)
            finally:
                running.done.set()

        await self.nursery.start(runner)
        return running


@dataclass
class Running:
    scope: trio.CancelScope
    done: trio.Event

    async def stop(self) -> float:
        """Seconds from cancelling the source until it has returned."""
        t0 = trio.current_time()
        self.scope.cancel()
        with trio.fail_after(5):
            await self.done.wait()
        return trio.current_time() - t0


@pytest.fixture
async def rig() -> AsyncIterator[Rig]:
    async with trio.open_nursery() as nursery:
        server = FakeTwitch()
        await nursery.start(server.serve)
        yield Rig(server, nursery, WatchedHealth(source="twitch"))
        nursery.cancel_scope.cancel()


async def joined(rig: Rig) -> TwitchConn:
    conn = await rig.server.next_connection()
    await conn.joined.wait()
    return conn


async def sync(conn: TwitchConn, n: int) -> None:
    """PING and wait for the n-th PONG: every frame sent before it has been handled."""
    await conn.send(f"PING :tmi.twitch.tv/{n}")
    pongs = await conn.wait_for("PONG", n)
    assert pongs[n - 1].params == [f"tmi.twitch.tv/{n}"]


def pm(login: str, text: str, uid: str, msg_id: str, **kw: object) -> str:
    return privmsg(CHAN, login, text, user_id=uid, msg_id=msg_id, **kw)  # type: ignore[arg-type]


async def test_votes_counted_exactly_across_ping_and_reconnect(rig: Rig) -> None:
    sink = RoundSink()
    with trio.fail_after(15):
        scope = await rig.start(sink)
        conn = await joined(rig)
        said = [m.command for m in conn.lines]
        assert said[:3] == ["CAP", "NICK", "JOIN"]          # anonymous: no PASS
        assert conn.said("CAP")[0].params == ["REQ", "twitch.tv/tags twitch.tv/commands"]
        assert re.fullmatch(r"justinfan\d+", conn.nick)
        assert conn.said("JOIN")[0].params == [f"#{CHAN}"]
        # one messy frame: votes, chatter, noise commands, a /me vote, escaped tags ...
        await conn.send(
            pm("alice", "!a", "1001", "m1", display="Ali ce;\\x"),
            pm("bob", "!B lets go", "1002", "m2"),
            pm("carol", "hello chat", "1003", "m3"),
            f"@login=dave;room-id=12345;target-msg-id=m3 :tmi.twitch.tv CLEARMSG #{CHAN} :hi",
            pm("dave", "!d", "1004", "m4"),                 # only three choices: invalid
            f"@msg-id=sub;user-id=1005 :tmi.twitch.tv USERNOTICE #{CHAN} :great stream",
            f":tmi.twitch.tv NOTICE #{CHAN} :This room is now in slow mode.",
            pm("erin", "\x01ACTION !c\x01", "1005", "m5"),   # /me !c
            ":tmi.twitch.tv FROBNICATE #x :an unknown command",
            "@this-line-has-no-command",
            "",
            pm("alice", "!c", "1001", "m6"),                # a changed vote
            pm("alice", "!a", "1001", "m6"),                # a replayed id: ignored
            f"@room-id=12345 :tmi.twitch.tv CLEARCHAT #{CHAN} :carol",
        )
        # no tags at all (a server without the tags capability): the login is the viewer
        await conn.send_raw(privmsg(CHAN, "frank", "!b", tags=False) + "\r\n"
                            + pm("gina", "!a", "1007", "m7")[:40])   # half a line ...
        await conn.send_raw(pm("gina", "!a", "1007", "m7")[40:] + "\r\n")  # ... finished
        await sync(conn, 1)
        assert sink.round.counts == (1, 2, 2)     # gina a; bob, frank b; erin, alice c
        assert sink.round.invalid == 1
        names: dict[str, str] = {}
        for m in sink.messages:
            names.setdefault(m.user_id, m.name)
        assert names["twitch:1001"] == "Ali ce;\\x"
        assert names["twitch:login:frank"] == "frank"
        assert {m.platform for m in sink.messages} == {"twitch"}
        h = rig.health
        assert h.state == "connected" and h.room == f"#{CHAN}" and h.reconnects == 0
        # the USERNOTICE's text is chat too (issue 19): 9 messages
        assert h.messages == 9 and h.votes_accepted == 6 and h.votes_invalid == 1
        assert [a.kind for a in sink.moderation] == ["message", "viewer"]   # nothing to undo

        await conn.send("RECONNECT")                 # maintenance: reconnect and rejoin
        conn2 = await joined(rig)
        with trio.fail_after(2):
            await conn.closed.wait()
        await conn2.send(pm("bob", "!c", "1002", "m8"), pm("hank", "!a", "1008", "m9"),
                         pm("alice", "!b", "1001", "m6"))   # replayed id after the reconnect
        await sync(conn2, 1)
        assert sink.round.counts == (2, 1, 3)
        assert rig.health.reconnects == 1 and rig.health.failures == 0
        assert rig.health.state == "connected"
        assert await scope.stop() < 1.0
        with trio.fail_after(2):
            await conn2.closed.wait()
    assert rig.health.state == "stopped"


async def test_cheers_weigh_votes_before_and_after_the_ballot(rig: Rig) -> None:
    sink = RoundSink(gift_votes=True, bits_per_vote=100, max_gift_weight=3)
    with trio.fail_after(15):
        await rig.start(sink)
        conn = await joined(rig)
        await conn.send(
            pm("alice", "Cheer200 !b", "1001", "c1", bits=200),     # vote + 2 extra
            pm("bob", "Cheer100 Cheer100", "1002", "c2", bits=200),  # held until bob votes
            pm("carol", "!a", "1003", "c3"),
            pm("carol", "cheer1000", "1003", "c4", bits=1000),     # capped at 3 extra
            pm("dave", "Cheer50 nice", "1004", "c5", bits=50),      # 50 < 100: no weight
        )
        await sync(conn, 1)
        assert sink.round.counts == (4, 3, 0)
        assert sink.round.held_weight("twitch:1002") == 2
        await conn.send(pm("bob", "!c", "1002", "c6"))
        await sync(conn, 2)
        assert sink.round.counts == (4, 3, 3)
        assert [(g.user_id, g.diamonds) for g in sink.gifts] == [
            ("twitch:1001", 200), ("twitch:1002", 200), ("twitch:1003", 1000),
            ("twitch:1004", 50)]
        assert rig.health.gifts == 4


async def test_announcements_only_when_logged_in(rig: Rig,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    choices = [{"key": "a", "text": "Open the door"}, {"key": "b", "text": "Run\r\nPRIVMSG #x :hi"}]
    started = {"round_id": 1, "choices": choices, "ends_at": 0, "duration_ms": 30_000}
    ended = {"round_id": 1, "winner": 1, "winner_key": "b", "winner_text": "Run away",
             "counts": [3, 4], "voters": 7}
    with trio.fail_after(15):
        # anonymous: the announcer never even subscribes, nothing is posted
        bus = EventBus()
        scope = await rig.start(RoundSink(), bus)
        conn = await joined(rig)
        assert bus.subscribers == 0
        bus.publish(wire("story:voting-started", started))
        await sync(conn, 1)
        assert conn.said("PRIVMSG") == [] and conn.said("PASS") == []
        assert await scope.stop() < 1.0
        await conn.closed.wait()

        monkeypatch.setenv("STORYD_TEST_TWITCH_TOKEN", "oauth:s3cret-token")
        bus = EventBus()
        await rig.start(RoundSink(), bus, login="storybot",
                        oauth_token_env="STORYD_TEST_TWITCH_TOKEN")
        conn = await joined(rig)
        assert conn.said("PASS")[0].params == ["oauth:s3cret-token"] and conn.nick == "storybot"
        assert "s3cret" not in rig.health.detail
        bus.publish(wire("story:vote-update", {"round_id": 1, "counts": [1, 0], "voters": 1}))
        bus.publish(wire("story:voting-started", started))
        bus.publish(wire("story:voting-started", {**started, "extended": "tie"}))   # not announced
        bus.publish(wire("story:voting-ended", ended))
        posted = await conn.wait_for("PRIVMSG", 2)
        assert [p.params for p in posted] == [
            [f"#{CHAN}", "Vote now: !a Open the door · !b Run PRIVMSG #x :hi (30 s)"],
            [f"#{CHAN}", "B wins: Run away (4 votes)"]]
        assert len(conn.raw) == len(conn.lines)     # one line each: no CR/LF injection


async def test_bad_token_is_failed_not_a_crash(rig: Rig, monkeypatch: pytest.MonkeyPatch,
                                               ) -> None:
    monkeypatch.setenv("STORYD_TEST_TWITCH_TOKEN", "wrong")
    with trio.fail_after(15):
        await rig.start(RoundSink(), login="storybot", oauth_token_env="STORYD_TEST_TWITCH_TOKEN",
                        backoff_max=5.0)
        conn = await rig.server.next_connection()
        await conn.closed.wait()
        await until(rig.health, lambda: rig.health.state == "failed")
        assert "authentication failed" in rig.health.detail
        assert rig.health.retry_at is not None and rig.health.failures == 1


async def test_silent_server_hits_the_handshake_deadline(rig: Rig) -> None:
    rig.server.silent = True
    with trio.fail_after(15):
        t0 = trio.current_time()
        await rig.start(RoundSink(), connect_timeout=0.3, backoff_initial=0.05, backoff_max=0.05)
        first = await rig.server.next_connection()
        await until(rig.health, lambda: rig.health.state == "backing_off")
        assert trio.current_time() - t0 >= 0.3
        assert "no answer to the Twitch handshake within 0.3 s" == rig.health.detail
        assert rig.health.failures == 1 and rig.health.reconnects == 0
        await first.closed.wait()
        await rig.server.next_connection()              # it retries after backing off ...
        await until(rig.health, lambda: rig.health.failures == 2)   # ... with the same result
        rig.server.silent = False
        conn = await joined(rig)
        await sync(conn, 1)
        assert rig.health.state == "connected"


async def test_huge_lines_and_frames_and_floods_are_bounded(rig: Rig) -> None:
    sink = RoundSink(n_choices=2)
    with trio.fail_after(20):
        await rig.start(sink)
        conn = await joined(rig)
        # a 100 kB line between two votes in one frame: dropped and counted, the rest counted
        await conn.send(pm("a1", "!a", "1", "h1"), "@x=" + "y" * 100_000 + " PRIVMSG #c :!b",
                        pm("a2", "!b", "2", "h2"))
        await sync(conn, 1)
        assert sink.round.counts == (1, 1) and rig.health.dropped == 1
        # a flood: 200 frames of 50 votes each, every viewer once
        for f in range(200):
            await conn.send(*(pm(f"v{f}x{i}", "!a", f"{10_000 + f * 50 + i}", f"f{f}.{i}")
                              for i in range(50)))
        await sync(conn, 2)
        assert sink.round.counts == (10_001, 1) and rig.health.messages == 10_002
        # a frame over the size cap: the client closes (1009) and reconnects
        with contextlib.suppress(trio_websocket.ConnectionClosed):   # closed mid-send
            await conn.send_raw("PING :" + "z" * 400_000 + "\r\n")
        await until(rig.health, lambda: rig.health.state == "backing_off")
        assert rig.health.detail == "a message from Twitch was over 256 KiB; reconnecting (1009)"
        assert rig.health.reconnects == 1 and rig.health.dropped == 2
        await conn.closed.wait()
        conn2 = await joined(rig)
        await sync(conn2, 1)
        assert rig.health.state == "connected"


async def test_stall_forces_a_reconnect(rig: Rig) -> None:
    with trio.fail_after(15):
        t0 = trio.current_time()
        await rig.start(RoundSink(), stall_seconds=0.3)
        conn = await joined(rig)
        await until(rig.health, lambda: rig.health.state == "backing_off")
        assert rig.health.detail == "no data from Twitch for 0.3 s"
        assert trio.current_time() - t0 >= 0.3
        await conn.closed.wait()                     # nothing said: the client gave up
        await joined(rig)
        assert rig.health.reconnects == 1


async def test_missing_channel_is_reported_not_raised() -> None:
    health = ChatHealth(source="twitch")
    with trio.fail_after(5):
        async with trio.open_nursery() as nursery:
            await nursery.start(twitch.run, TwitchConfig(), RoundSink(), health)
            assert health.state == "failed" and "channel" in health.detail
            nursery.cancel_scope.cancel()
