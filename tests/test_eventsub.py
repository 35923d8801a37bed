"""Channel points votes over Twitch EventSub, against a fake EventSub server and fake Helix
written from Twitch's documentation (tests/fake_eventsub.py), through the real voting service.

Virtual time (autojump) makes keepalive windows, backoff and timeouts cost nothing while the
loopback websocket and HTTP traffic run for real.
"""

from __future__ import annotations

import logging
import random
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import pytest
import trio
from trio.testing import MockClock

from storyd.bus import EventBus
from storyd.chat import eventsub
from storyd.chat.base import ChatHealth
from storyd.chat.eventsub_rules import (
    helix_answer,
    parse_frame,
    redemption_of,
    same_title,
    token_problem,
    with_keepalive,
)
from storyd.config.structs import TwitchConfig, VotingConfig
from storyd.core.snapshot import ChoiceView
from storyd.services.clock import TrioClock
from storyd.services.voting import VotingService
from tests.conftest import wait_for_event
from tests.fake_eventsub import FakeEventSub, redemption_event
from tests.memory_store import MemoryStore

BROADCASTER = "141981764"
TITLE = "Story vote x5"


@pytest.fixture
def clock() -> MockClock:
    return MockClock(autojump_threshold=0.01)


class Sink:
    """The real voting service, with a way to wait for the votes it is given."""

    def __init__(self, voting: VotingService) -> None:
        self.voting = voting
        self.outcomes: list[str] = []
        self._changed = trio.Event()

    def submit_points(self, viewer_id: str, name: str, text: str, weight: int) -> str:
        outcome = self.voting.submit_points(viewer_id, name, text, weight)
        self.outcomes.append(outcome)
        self._changed.set()
        self._changed = trio.Event()
        return outcome

    async def wait(self, n: int) -> None:
        while len(self.outcomes) < n:
            await self._changed.wait()


@dataclass
class Rig:
    fake: FakeEventSub
    sink: Sink
    health: ChatHealth
    nursery: trio.Nursery
    twitch: TwitchConfig
    vote: VotingConfig

    def start(self, **kw: Any) -> trio.CancelScope:
        self.twitch = TwitchConfig(**{**_twitch_base(self.fake), **kw})
        scope = trio.CancelScope()

        async def runner(task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
            with scope:
                await eventsub.run(lambda: self.twitch, lambda: self.vote, self.sink,
                                   self.health, rng=random.Random(3), task_status=task_status)

        self.nursery.start_soon(runner)
        return scope

    async def until(self, pred: Callable[[], bool]) -> None:
        """Wait until `pred()` holds, looking whenever the fake saw something or a tick
        passed (the health record changes without the fake knowing)."""
        while not pred():
            with trio.move_on_after(0.5):
                await self.fake.wait_for(pred)

    def ballot(self, viewer: str) -> tuple[int, int] | None:
        r = self.sink.voting.round
        assert r is not None
        return r.ballot_of(viewer)


def _twitch_base(fake: FakeEventSub) -> dict[str, Any]:
    return dict(channel="storychannel", login="storychannel", oauth_token_env="STORYD_TW_TOKEN",
                eventsub_url=fake.ws_url, helix_url=f"{fake.http_url}/helix",
                auth_url=f"{fake.http_url}/oauth2", connect_timeout=5.0, keepalive_seconds=10,
                backoff_initial=1.0, backoff_max=30.0)


@pytest.fixture
async def rig(clock: MockClock, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Rig]:
    monkeypatch.setenv("STORYD_TW_TOKEN", "oauth:goodtoken")
    vote = VotingConfig(points_reward=TITLE, points_weight=5)
    async with trio.open_nursery() as nursery:
        fake = FakeEventSub()
        await fake.start(nursery)
        voting = VotingService(MemoryStore(), EventBus(), TrioClock(), lambda: vote)
        await nursery.start(voting.run)
        await voting.open(1, 1, tuple(ChoiceView(key=k, text=f"choice {k}") for k in "abc"),
                          600.0, seed=1)
        yield Rig(fake, Sink(voting), ChatHealth(source="twitch-points"), nursery,
                  TwitchConfig(), vote)
        nursery.cancel_scope.cancel()


def redeem(user: str, text: str, title: str = TITLE, **kw: Any) -> dict[str, Any]:
    return redemption_event(BROADCASTER, user, f"Viewer{user}", text, title, **kw)


async def connected(rig: Rig, subscriptions: int = 1) -> None:
    await rig.until(lambda: rig.health.state == "connected"
                    and len(rig.fake.subscribe_bodies) >= subscriptions)


async def test_a_redemption_is_a_weighted_vote_and_the_client_only_listens(clock: MockClock, rig: Rig) -> None:
    rig.start()
    await connected(rig)
    body = rig.fake.subscribe_bodies[0]
    assert body["type"] == "channel.channel_points_custom_reward_redemption.add"
    assert body["version"] == "1" and body["condition"] == {"broadcaster_user_id": BROADCASTER}
    assert body["transport"] == {"method": "websocket", "session_id": rig.fake.connections[0].id}
    assert rig.fake.requests == [("GET", "/oauth2/validate"),
                                 ("POST", "/helix/eventsub/subscriptions")]
    await rig.fake.notify(redeem("1001", "b"))
    await rig.fake.notify(redeem("1002", "!C please"))
    await rig.fake.notify(redeem("1003", "no idea"))                      # no choice in it
    await rig.fake.notify(redeem("1004", "a", title="Hydrate!"))          # another reward
    await rig.fake.notify(redeem("1005", "a", title="  story VOTE x5 "))  # case and spaces
    await rig.sink.wait(4)
    await trio.sleep(30)                 # keepalives come; nothing else happens
    assert rig.ballot("twitch:1001") == (1, 5) and rig.ballot("twitch:1002") == (2, 5)
    assert rig.ballot("twitch:1003") is None and rig.ballot("twitch:1004") is None
    assert rig.sink.outcomes == ["counted", "counted", "no_choice", "counted"]
    r = rig.sink.voting.round
    assert r is not None and r.counts == (5, 5, 5)
    c = rig.health.counters
    assert c["other_rewards"] == 1 and c["keepalives"] >= 2 and c["points_counted"] == 3
    assert rig.health.state == "connected" and rig.health.reconnects == 0
    assert rig.health.votes_accepted == 3 and rig.health.votes_invalid == 1
    assert rig.fake.inbound == []        # nothing but pongs ever went to Twitch
    assert len(rig.fake.subscribe_bodies) == 1


async def test_a_redemption_before_helix_answers_counts_and_shows_connected(
        clock: MockClock, rig: Rig) -> None:
    # Twitch may deliver an event on the session before the subscription's Helix answer
    # reaches the client: the ballot counts and the source reads "connected" at once (it
    # read "connecting" until the answer came, and a daemon test raced on it).
    rig.fake.hold_subscribe_answer = trio.Event()
    rig.start()
    await rig.fake.wait_for(lambda: any(s.subscriptions for s in rig.fake.live()))
    assert rig.health.state == "connecting"
    await rig.fake.notify(redeem("3001", "b"))
    await rig.sink.wait(1)
    assert rig.ballot("twitch:3001") == (1, 5)
    assert rig.health.state == "connected" and rig.health.connected_since is not None
    since = rig.health.connected_since
    rig.fake.hold_subscribe_answer.set()
    await rig.until(lambda: rig.fake.requests.count(("POST", "/helix/eventsub/subscriptions"))
                    == 1)
    await trio.sleep(30)                                    # the answer came; nothing changes
    assert rig.health.state == "connected" and rig.health.connected_since == since
    assert rig.health.reconnects == 0 and len(rig.fake.subscribe_bodies) == 1


async def test_duplicates_are_ignored_and_no_ballot_is_counted_twice(clock: MockClock, rig: Rig) -> None:
    rig.start()
    await connected(rig)
    rig.fake.duplicate = True                               # every message sent twice
    await rig.fake.notify(redeem("2001", "a", redemption_id="r-1"))
    await rig.fake.notify(redeem("2001", "a", redemption_id="r-1"))   # Twitch resends it
    await rig.fake.notify(redeem("2002", "b", redemption_id="r-2"))
    await rig.sink.wait(2)
    await trio.sleep(15)
    assert rig.sink.outcomes == ["counted", "counted"]
    assert rig.ballot("twitch:2001") == (0, 5) and rig.ballot("twitch:2002") == (1, 5)
    assert rig.health.counters["duplicates"] == 4


async def test_session_reconnect_moves_without_subscribing_again(clock: MockClock, rig: Rig) -> None:
    rig.start()
    await connected(rig)
    first = rig.fake.connections[0]
    await rig.fake.notify(redeem("3001", "a"))
    await rig.fake.reconnect(first)
    await rig.until(lambda: len(rig.fake.connections) == 2 and first.closed.is_set())
    await rig.fake.notify(redeem("3002", "c"))
    await rig.sink.wait(2)
    second = rig.fake.connections[1]
    assert second.subscriptions and first.close_code == 4004
    assert len(rig.fake.subscribe_bodies) == 1              # the subscription moved along
    assert rig.health.counters["moves"] == 1 and rig.health.reconnects == 0
    assert rig.health.state == "connected" and rig.fake.inbound == []
    await trio.sleep(40)                                    # the new socket stays healthy
    assert rig.health.state == "connected" and len(rig.fake.live()) == 1


async def test_a_drop_mid_session_reconnects_and_subscribes_again(clock: MockClock, rig: Rig,
                                                                  caplog: Any) -> None:
    caplog.set_level(logging.DEBUG, logger="storyd.chat.eventsub")
    rig.start()
    await connected(rig)
    await rig.fake.notify(redeem("4001", "b", redemption_id="r-41"))
    await rig.sink.wait(1)
    await rig.fake.drop(rig.fake.connections[0])            # no close frame: the network
    await connected(rig, subscriptions=2)
    assert rig.health.reconnects == 1 and rig.health.failures == 0
    assert rig.fake.subscribe_bodies[1]["transport"]["session_id"] == rig.fake.connections[1].id
    await rig.fake.notify(redeem("4001", "b", redemption_id="r-41"))  # delivered again
    await rig.fake.notify(redeem("4002", "a"))
    await rig.sink.wait(2)
    assert rig.ballot("twitch:4001") == (1, 5) and rig.ballot("twitch:4002") == (0, 5)
    await rig.fake.close(rig.fake.connections[1], 4000, "internal server error")
    await connected(rig, subscriptions=3)
    assert rig.health.reconnects == 2
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert sum("connection" in r.getMessage() for r in warnings) <= 2   # once per reason


async def test_a_server_that_never_welcomes_is_retried_counted_and_logged_once(
        clock: MockClock, rig: Rig, caplog: Any) -> None:
    caplog.set_level(logging.DEBUG, logger="storyd.chat.eventsub")
    rig.fake.welcome = False
    rig.start()
    await rig.until(lambda: rig.health.failures >= 3)
    assert rig.health.state == "backing_off" and "no session_welcome" in rig.health.detail
    assert rig.fake.subscribe_bodies == [] and rig.fake.inbound == []
    warned = [r for r in caplog.records if r.levelno == logging.WARNING
              and "no session_welcome" in r.getMessage()]
    assert len(warned) == 1
    rig.fake.welcome = True                                 # Twitch is back
    await connected(rig)
    assert rig.health.reconnects == 0


async def test_unknown_types_and_bad_frames_are_counted_and_harmless(clock: MockClock, rig: Rig,
                                                                     caplog: Any) -> None:
    caplog.set_level(logging.DEBUG, logger="storyd.chat.eventsub")
    rig.start()
    await connected(rig)
    s = rig.fake.connections[0]
    for _ in range(3):
        await rig.fake.send_unknown(s, "session_party")
    await rig.fake.send_raw(s, "not json at all")
    await rig.fake.send_raw(s, '{"metadata": "nope"}')
    await rig.fake.send_raw(s, '["a list"]')
    await rig.fake.notify(redeem("5001", "a"))
    await rig.sink.wait(1)
    c = rig.health.counters
    assert c["unknown"] == 3 and c["bad_frames"] == 3 and rig.health.state == "connected"
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert sum("unknown message type 'session_party'" in m for m in warnings) == 1
    assert sum("not an EventSub message" in m for m in warnings) == 1


async def test_a_revoked_subscription_fails_and_waits(clock: MockClock, rig: Rig) -> None:
    rig.start()
    await connected(rig)
    await rig.fake.revoke(rig.fake.connections[0], "authorization_revoked")
    await rig.until(lambda: rig.health.state == "failed")
    assert "revoked" in rig.health.detail and "authorization_revoked" in rig.health.detail
    assert rig.health.counters["revocations"] == 1
    attempts = rig.fake.attempts
    await trio.sleep(20)
    assert rig.fake.attempts == attempts                    # backoff_max (30 s) first
    await connected(rig, subscriptions=2)                   # then it tries again


@pytest.mark.parametrize("token, detail", [
    ("chatonly", "lacks the channel:read:redemptions scope"),
    ("fantoken", "belongs to 'somefan'"),
    ("expired", "invalid or expired"),
    ("", "no token"),
])
async def test_unusable_tokens_fail_with_a_clear_reason(clock: MockClock, rig: Rig, monkeypatch: Any, token: str,
                                                        detail: str) -> None:
    monkeypatch.setenv("STORYD_TW_TOKEN", token)
    rig.start()
    await rig.until(lambda: rig.health.state == "failed")
    assert detail in rig.health.detail
    assert rig.fake.attempts == 0 and rig.fake.subscribe_bodies == []


async def test_helix_refusals_end_the_attempt(clock: MockClock, rig: Rig) -> None:
    rig.fake.bucket = 0                                     # 429 from Helix
    rig.start()
    await rig.until(lambda: rig.health.failures >= 1)
    assert "HTTP 429" in rig.health.detail and rig.health.state == "backing_off"
    rig.fake.bucket = 10
    await connected(rig)


async def test_no_vote_open_is_counted_not_a_ballot(clock: MockClock, rig: Rig) -> None:
    rig.start()
    await connected(rig)
    rig.sink.voting.close()
    await rig.fake.notify(redeem("6001", "a"))
    await rig.sink.wait(1)
    assert rig.sink.outcomes == ["no_vote"] and rig.health.counters["points_no_vote"] == 1


# ---- the pure rules ------------------------------------------------------------------------

def test_frames_are_read_as_twitch_documents_them() -> None:
    welcome = parse_frame('{"metadata": {"message_id": "96a3", "message_type": "session_welcome",'
                          ' "message_timestamp": "2023-07-19T14:56:51.634234626Z"}, "payload":'
                          ' {"session": {"id": "AQoQ", "status": "connected", "connected_at":'
                          ' "2023-07-19T14:56:51.616329898Z", "keepalive_timeout_seconds": 10,'
                          ' "reconnect_url": null}}}')
    assert (welcome.kind, welcome.session_id, welcome.keepalive) == ("welcome", "AQoQ", 10)
    assert parse_frame(b'{"metadata": {"message_type": "session_keepalive"}, "payload": {}}'
                       ).kind == "keepalive"
    reconnect = parse_frame('{"metadata": {"message_type": "session_reconnect"}, "payload": '
                            '{"session": {"id": "x", "reconnect_url": "wss://e.example/ws?x=1"}}}')
    assert reconnect.reconnect_url == "wss://e.example/ws?x=1"
    assert parse_frame('{"metadata": {"message_type": "session_reconnect"}, "payload": '
                       '{"session": {"reconnect_url": "http://evil"}}}').kind == "bad"
    assert parse_frame("\xff garbage").kind == "bad" and parse_frame("[]").kind == "bad"
    assert parse_frame('{"metadata": {"message_type": "new_thing"}}').kind == "unknown"


def test_redemptions_titles_urls_answers_and_tokens() -> None:
    r = redemption_of(redeem("42", "  b   please "))
    assert r is not None and r.viewer_id == "twitch:42" and r.user_input == "b please"
    assert redemption_of({"id": "x", "user_id": "../42"}) is None
    assert same_title("Story  vote X5", "story vote x5") and not same_title("", "")
    assert with_keepalive("wss://h/ws", 5) == "wss://h/ws?keepalive_timeout_seconds=10"
    assert with_keepalive("wss://h/ws?keepalive_timeout_seconds=30", 99).endswith("=30")
    assert [helix_answer(s, m) for s, m in ((202, ""), (409, ""), (401, ""), (403, ""),
                                            (429, ""), (503, ""), (400, "session gone"),
                                            (400, "bad"))] == [
        "ok", "ok", "auth", "forbidden", "rate", "retry", "gone", "refused"]
    good = {"client_id": "c", "login": "storychannel", "user_id": "1",
            "scopes": ["channel:read:redemptions"]}
    assert token_problem(good, "storychannel") is None
    assert "scope" in (token_problem({**good, "scopes": []}, "storychannel") or "")
    assert "broadcaster" in (token_problem(good, "otherchannel") or "")


async def test_the_daemon_runs_points_votes_beside_twitch_chat(
        daemon_factory: Any, nursery: trio.Nursery, monkeypatch: pytest.MonkeyPatch) -> None:
    """Real time, a real daemon: `[voting] points_reward` with a token starts the
    twitch-points source (its own health line) next to the chat source."""
    monkeypatch.setenv("STORYD_TW_TOKEN", "goodtoken")
    fake = FakeEventSub()
    await fake.start(nursery)
    twitch = {**_twitch_base(fake), "url": "ws://127.0.0.1:9/", "backoff_initial": 5.0}
    d = await daemon_factory(chat={"sources": ["local", "twitch"], "twitch": twitch},
                             voting={"duration": 120, "points_reward": TITLE})
    with d.bus.subscribe(4096) as sub, trio.fail_after(30):
        await d.director.start("fantasy")
        await wait_for_event(sub, "story:voting-started")
        await fake.wait_for(lambda: any(s.subscriptions for s in fake.live()))
        await fake.notify(redeem("9001", "c"))
        while d.voting.round.ballot_of("twitch:9001") is None:
            await wait_for_event(sub, "story:vote-update")
    assert d.voting.round.ballot_of("twitch:9001") == (2, 5)
    health = {c.source: c for c in d.director.snapshot().chat}
    assert health["twitch-points"].state == "connected"
    assert health["twitch-points"].votes_accepted == 1
    assert health["twitch"].state in ("connecting", "backing_off")   # chat is another matter
