"""Pure parts of the chat sources: health rate window, the bounded hand-off, Twitch rules,
the lazy TikTokLive import, and the sources factory."""

from __future__ import annotations

import subprocess
import sys
import threading
from typing import Any

import pytest
import trio

from storyd.bus import EventBus
from storyd.chat.base import ChatHealth, RateWindow
from storyd.chat.handoff import Handoff
from storyd.chat.twitch_rules import SendLimiter, announcement, chat_of
from storyd.core.irc import parse_line
from storyd.core.ports import IngestResult

# -- rate over a sliding 10 s window --------------------------------------------------------


@pytest.mark.parametrize(("events", "now", "rate"), [
    ([], 100.0, 0.0),
    ([(100.2, 50)], 100.9, 5.0),
    ([(100.2, 50)], 109.99, 5.0),            # still inside the 10 whole seconds
    ([(100.2, 50)], 110.0, 0.0),              # decayed to 0 without any new event
    ([(100.2, 50)], 400.0, 0.0),
    ([(100.0, 10), (105.5, 20), (109.1, 30)], 109.5, 6.0),
    ([(100.0, 10), (105.5, 20), (109.1, 30)], 112.0, 5.0),   # the first second left the window
    ([(100.0, 10), (110.0, 7)], 110.0, 0.7),  # same ring slot, a new second: reset
])
def test_rate_window(events: list[tuple[float, int]], now: float, rate: float) -> None:
    w = RateWindow(10)
    for t, n in events:
        w.add(n, t)
    assert w.rate(now) == pytest.approx(rate)


def test_health_view_is_in_epoch_ms_and_the_rate_decays() -> None:
    h = ChatHealth(source="tiktok", state="backing_off", retry_at=1_700_000_005.5, room="7")
    h.count(IngestResult(3, 1, 6), 10, now=1_700_000_000.25)
    v = h.view(now=1_700_000_001.0)
    assert v.last_event_at_ms == 1_700_000_000_250 and v.retry_at_ms == 1_700_000_005_500
    assert v.rate == 1.0 and v.room == "7" and v.messages == 10
    assert (v.votes_accepted, v.votes_invalid) == (3, 1)
    assert not any(k.endswith("_at") for k in v.__struct_fields__)      # no seconds on the wire
    assert h.view(now=1_700_000_020.0).rate == 0.0   # 20 s after the burst


# -- the bounded hand-off ---------------------------------------------------------------------


class CountingToken:
    """Stands in for the trio token: counts wake-ups, then delivers them to the real one."""

    def __init__(self) -> None:
        self.real = trio.lowlevel.current_trio_token()
        self.calls = 0

    def run_sync_soon(self, fn: Any, *args: Any) -> None:
        self.calls += 1
        self.real.run_sync_soon(fn, *args)


async def test_handoff_drops_when_full_and_queues_one_wakeup() -> None:
    token = CountingToken()
    h: Handoff[int] = Handoff(100, token)
    with trio.fail_after(5):
        async with trio.open_nursery() as nursery:
            got: list[int] = []

            async def consumer() -> None:
                while len(got) < 100:
                    got.extend(await h.get_batch(30))

            nursery.start_soon(consumer)
            await trio.testing.wait_all_tasks_blocked()     # the consumer waits on an empty queue
            # a burst while the consumer cannot run (no checkpoint in between)
            accepted = sum(h.put(i) for i in range(10_000))
        assert accepted == 100 and h.dropped == 9_900
        assert got == list(range(100))
        assert token.calls == 1          # one wake-up for 10,000 puts, not 10,000 callbacks


async def test_handoff_from_a_thread_while_consuming() -> None:
    h: Handoff[int] = Handoff(1_000_000)
    got: list[int] = []
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:

            async def consumer() -> None:
                while len(got) < 50_000:
                    got.extend(await h.get_batch(512))

            nursery.start_soon(consumer)
            t = threading.Thread(target=lambda: [h.put(i) for i in range(50_000)])
            t.start()
            await trio.to_thread.run_sync(t.join)
    assert got == list(range(50_000)) and h.dropped == 0


# -- Twitch rules -----------------------------------------------------------------------------

def _msg(line: str) -> Any:
    msg = parse_line(line)
    assert msg is not None
    return msg


@pytest.mark.parametrize(("line", "expected"), [
    ("@display-name=Ali;id=x1;user-id=42 :ali!ali@ali.tmi.twitch.tv PRIVMSG #chan :!a",
     ("twitch:42", "Ali", "!a", "twitch:x1", 0)),
    (":ali!ali@ali.tmi.twitch.tv PRIVMSG #chan :!b", ("twitch:login:ali", "ali", "!b", "", 0)),
    ("@bits=250;display-name=;user-id=7 :bo!bo@bo.tmi.twitch.tv PRIVMSG #CHAN :Cheer200 "
     "Cheer50 !c go", ("twitch:7", "bo", "!c go", "", 250)),
    ("@bits=abc;user-id=7 :bo!bo@bo PRIVMSG #chan :cheer100 !c", ("twitch:7", "bo",
                                                                  "cheer100 !c", "", 0)),
    ("@user-id=not-a-number :eve!eve@eve PRIVMSG #chan :x", ("twitch:login:eve", "eve", "x",
                                                            "", 0)),
    ("@display-name=\x07Ev\\se\x1b[31m;user-id=9 :e!e@e PRIVMSG #chan :x",
     ("twitch:9", "Ev e [31m", "x", "", 0)),
])
def test_chat_of(line: str, expected: tuple[str, str, str, str, int]) -> None:
    chat = chat_of(_msg(line), "chan")
    assert chat is not None
    m = chat.message
    assert (m.user_id, m.name, m.text, m.msg_id, chat.gift.diamonds if chat.gift else 0
            ) == expected
    assert m.platform == "twitch"


@pytest.mark.parametrize("line", [
    "@user-id=1 :a!a@a PRIVMSG #other :!a",          # another channel
    "@user-id=1 :a!a@a NOTICE #chan :!a",
    ":tmi.twitch.tv PRIVMSG #chan :no nick, no id",
    "@user-id=1 :a!a@a PRIVMSG #chan",                # no text parameter
])
def test_chat_of_ignores(line: str) -> None:
    assert chat_of(_msg(line), "chan") is None


@pytest.mark.parametrize(("event", "line"), [
    ({"event": "story:voting-started", "data": {
        "choices": [{"key": "a", "text": "Go"}, {"key": "b", "text": "Stay"}],
        "duration_ms": 45_000}}, "Vote now: !a Go · !b Stay (45 s)"),
    (("story:voting-ended", {"winner": 0, "winner_key": "a", "winner_text": "Go",
                             "counts": [1, 0]}), "A wins: Go (1 vote)"),
    ({"event": "story:voting-started", "data": {"choices": [], "duration_ms": 1}}, None),
    ({"event": "story:voting-started", "data": {"choices": [{"key": "a", "text": "x"}],
                                                "extended": "tie"}}, None),
    ({"event": "story:vote-update", "data": {}}, None),
    ({"event": "story:voting-ended", "data": {"winner": "x"}}, None),
    ("garbage", None),
])
def test_announcement(event: Any, line: str | None) -> None:
    assert announcement(event) == line


def test_announcement_of_a_typed_event() -> None:
    from storyd.core import events as ev

    ended = ev.VotingEnded(ev.VotingEndedData(round_id=1, winner=1, winner_key="b",
                                              winner_text="B" * 1000, counts=(0, 2)))
    line = announcement(ended)
    assert line is not None and line.startswith("B wins: BBB") and len(line) <= 450


def test_send_limiter_keeps_twitch_rate() -> None:
    lim = SendLimiter(limit=20, window=30.0)
    for i in range(20):
        assert lim.wait_time(100.0 + i * 0.1) == 0.0
        lim.record(100.0 + i * 0.1)
    assert lim.wait_time(102.0) == pytest.approx(28.0)
    assert lim.wait_time(130.0) == 0.0          # the first send left the window


# -- lazy TikTokLive import, and every source listed ----------------------------------------

def test_tiktoklive_is_imported_in_the_worker_thread_only() -> None:
    """Importing the chat modules pulls in no TikTokLive; a running source imports it off the
    trio thread (so READY never waits for it)."""
    code = r"""
import sys, threading, trio
import storyd.chat.sources, storyd.chat.tiktok, storyd.chat.tiktok_thread, storyd.app
assert "TikTokLive" not in sys.modules, "imported at module level"
where = []
class Spy:
    def find_spec(self, name, path=None, target=None):
        if name == "TikTokLive":
            where.append(threading.current_thread() is threading.main_thread())
        return None
sys.meta_path.insert(0, Spy())
from storyd.chat import tiktok
from storyd.config.structs import TikTokConfig
from tests.chat_helpers import WatchedHealth, until
class Sink:
    def submit(self, b): raise AssertionError
    def submit_gift(self, g): return 0
    def submit_activity(self, *a, **k): pass
async def main():
    h = WatchedHealth(source="tiktok")
    cfg = TikTokConfig(room_id="123", sign_api_url="http://127.0.0.1:9", connect_timeout=2,
                       backoff_initial=5)
    with trio.fail_after(60):
        async with trio.open_nursery() as n:
            await n.start(tiktok.run, cfg, Sink(), h)
            assert "TikTokLive" not in sys.modules or where == [False]
            await until(h, lambda: h.state == "backing_off")
            n.cancel_scope.cancel()
    print("where", where, h.detail)
trio.run(main)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, cwd=str(__import__("pathlib").Path(__file__).parent.parent))
    assert out.returncode == 0, out.stderr[-2000:]
    assert "where [False]" in out.stdout, out.stdout


async def test_every_configured_source_gets_a_health_record() -> None:
    from storyd.chat.sources import start_sources
    from storyd.config.structs import ChatConfig, Config, TwitchConfig

    class Director:
        round = None

        def submit(self, batch: Any) -> IngestResult:
            return IngestResult(0, 0, len(batch))

        def submit_gift(self, gift: Any) -> int:
            return 0

        def submit_activity(self, user_id: str, name: str, *, likes: int = 0,
                            joins: int = 0) -> None:
            pass

        def submit_moderation(self, action: Any) -> bool:
            return False

    class Host:
        config = Config(chat=ChatConfig(sources=("local", "twitch", "local"),
                                        twitch=TwitchConfig(channel="chan",
                                                            url="ws://127.0.0.1:9")))
        demo = True
        chat_health: dict[str, ChatHealth] = {}
        bus = EventBus()
        voting = Director()

    host = Host()
    with trio.fail_after(5):
        async with trio.open_nursery() as nursery:
            await start_sources(host, nursery)
            assert list(host.chat_health) == ["local", "twitch", "demo"]
            assert host.chat_health["local"].state == "connected"
            assert host.chat_health["twitch"].room == "#chan"
            nursery.cancel_scope.cancel()
    assert host.chat_health["twitch"].state == "stopped"
