"""storyctl status: one line per chat source with every health figure (pure, time passed in)."""

from __future__ import annotations

import msgspec

from storyd.chat.base import ChatHealth
from storyd.core.ports import IngestResult
from storyd.ctl.formatting import format_status
from storyd.ctl.formatting_chat import format_chat

NOW = 1_700_000_100.0
NOW_MS = int(NOW * 1000)


def test_every_source_with_state_room_age_rate_reconnects_drops_and_retry() -> None:
    tiktok = ChatHealth(source="tiktok", state="connected", detail="room 7001", room="7001",
                        reconnects=2, dropped=5)
    tiktok.count(IngestResult(40, 2, 8), 50, now=NOW - 3.2)
    twitch = ChatHealth(source="twitch", state="backing_off", room="#chan", failures=3,
                        detail="Twitch closed the connection (1006)", retry_at=NOW + 4.2)
    waiting = ChatHealth(source="tt2", state="waiting_for_live", detail="the stream ended",
                         retry_at=NOW + 59.0)
    waiting.count(IngestResult(0, 0, 1), 1, now=NOW - 125)
    local = ChatHealth(source="local", state="connected", detail="storyctl vote")
    lines = format_chat(msgspec.to_builtins([h.view(now=NOW) for h in (tiktok, twitch, waiting, local)]),
                        NOW_MS)
    assert lines == [
        "chat:",
        "  tiktok  connected · room 7001 · last event 3 s ago · 5.0 msg/s · 50 msgs · "
        "votes 40 ok / 2 invalid · 2 reconnects · 0 failed attempts · 5 dropped",
        "  twitch  backing off: Twitch closed the connection (1006) · room #chan · "
        "next try in 5 s · no events yet · 0.0 msg/s · 0 msgs · votes 0 ok / 0 invalid · "
        "0 reconnects · 3 failed attempts · 0 dropped",
        "  tt2     waiting for live: the stream ended · next try in 59 s · last event 2 min ago"
        " · 0.0 msg/s · 1 msg · votes 0 ok / 0 invalid · 0 reconnects · 0 failed attempts · "
        "0 dropped",
        "  local   connected: storyctl vote · no events yet · 0.0 msg/s · 0 msgs · "
        "votes 0 ok / 0 invalid · 0 reconnects · 0 failed attempts · 0 dropped",
    ]


def test_status_lists_chat_sources_and_tolerates_odd_shapes() -> None:
    out = format_status({"state": "idle", "revision": 1, "chat": [
        {"source": "x"}, {"state": "connected", "rate": "fast", "retry_at_ms": "soon"}]},
        NOW_MS)
    assert "chat:\n  x  ? · no events yet\n  ?  connected · no events yet\n" in out
    assert "chat:" not in format_status({"state": "idle", "revision": 1, "chat": []}, NOW_MS)


def test_a_sources_own_counters_are_listed() -> None:
    points = ChatHealth(source="twitch-points", state="connected", room="#chan",
                        detail="#chan: channel points reward 'Story vote x5'",
                        counters={"duplicates": 2, "points_counted": 7, "moves": 1})
    line = format_chat(msgspec.to_builtins([points.view(now=NOW)]), NOW_MS)[1]
    assert line.endswith("0 dropped · duplicates 2, moves 1, points counted 7")
