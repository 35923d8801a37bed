"""The one event schema (storyd/core/events.py) against what the real daemon sends.

A real daemon (real clock, SQLite, hypercorn) plays a short story while a real websocket
client and a bus subscriber record everything; every frame must decode against the schema,
and every kind of story event must have been seen. The schema is also published in the
OpenAPI document.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec
import trio
from trio_websocket import open_websocket_url
from web_harness import running_daemon

from storyd.core import events as ev
from storyd.core.model import ChatMessage
from storyd.web.openapi import build_document

STORY_EVENTS = {"story:state", "story:generation-started", "story:chapter-ready",
                "story:narration", "story:voting-started", "story:vote-update",
                "story:voting-ended", "story:image-updated", "story:ended"}


def test_the_schema_names_every_event_and_is_in_the_openapi_document() -> None:
    schema = ev.schema()
    text = msgspec.json.encode(schema).decode()
    for name in ev.NAMES:
        assert f'"{name}"' in text, name
    doc = build_document("test")
    components = doc["components"]["schemas"]
    assert "StorydEvent" in components and "VotingStartedData" in components
    assert components["VotingStartedData"]["properties"]["ends_at"]["type"] == "integer"


def test_times_on_the_wire_are_epoch_ms_named_ms() -> None:
    """Every time-like field of every event payload ends in `_ms` (`ends_at` kept)."""
    text = msgspec.json.encode(ev.schema()).decode()
    for word in ("server_time\"", "\"at\"", "\"duration\"", "cooldown_until\"", "retry_at\""):
        assert word not in text, word


def test_a_bad_event_is_refused_by_the_schema() -> None:
    for raw in (b'{"event": "story:vote-update", "data": {"counts": [1]}}',
                b'{"event": "story:nope", "data": {}}',
                b'{"event": "story:error", "data": {"message": 5, "at_ms": 1}}'):
        try:
            ev.decode(raw)
        except msgspec.ValidationError:
            continue
        raise AssertionError(f"accepted {raw!r}")


async def drive(daemon: Any, steps: Any) -> None:
    """Two rounds: a vote and a close, then a vote and finish; until the story ends."""
    d = daemon.director
    await d.start("horror")
    rounds, voted = 0, False
    async for event in steps:
        if isinstance(event, ev.VotingStarted) and event.data.extended is None:
            daemon.voting.submit([ChatMessage(platform="t", user_id="u", name="U",
                                              text="!b")])
            voted = True
        elif isinstance(event, ev.VoteUpdate) and voted:   # the update went out: move on
            voted, rounds = False, rounds + 1
            await (d.finish(now=True) if rounds == 2 else d.close())
        elif isinstance(event, ev.Ended):
            return


async def test_every_event_of_a_real_story_decodes_against_the_schema(tmp_path: Path) -> None:
    extra = "reveal_words_per_second = 0\nresult_seconds = 0\n"
    seen_bus: list[bytes] = []
    seen_ws: list[str] = []
    with trio.fail_after(60):
        async with running_daemon(tmp_path, extra) as daemon:
            url = daemon.web_url.replace("http://", "ws://") + "/ws/overlay"
            async with open_websocket_url(url, message_queue_size=10_000) as ws:
                seen_ws.append(await ws.get_message())   # the snapshot on connect
                with daemon.bus.subscribe(10_000) as sub:
                    async def record() -> None:
                        async for event in sub:
                            seen_bus.append(msgspec.json.encode(event))
                            if isinstance(event, ev.Ended):
                                return

                    async with trio.open_nursery() as nursery:
                        nursery.start_soon(record)
                        with daemon.bus.subscribe(10_000) as steps:
                            await drive(daemon, steps)
                with trio.move_on_after(2):
                    while True:
                        seen_ws.append(await ws.get_message())
    names: set[str] = set()
    for raw in seen_bus:
        names.add(ev.name_of(ev.decode(raw)))
    ws_names = {ev.name_of(ev.decode(raw)) for raw in seen_ws}
    assert STORY_EVENTS <= names, STORY_EVENTS - names
    assert STORY_EVENTS - {"story:ended"} <= ws_names | {"story:vote-update"}, ws_names
    state: Any = msgspec.json.decode(seen_ws[0])
    assert state["data"]["server_time_ms"] > 1_600_000_000_000   # epoch ms, not monotonic
