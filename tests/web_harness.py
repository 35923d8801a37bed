"""A small, real stand-in for the daemon, used by the web tests.

Real EventBus, real Config loaded from a real file in tmp_path, a real media folder and a
tiny command handler that keeps a one-round story in memory, publishes the same typed
events the director does (storyd/core/events.py) and answers with the same reply types
(storyd/core/replies.py): the fake cannot drift from the schema. `running_web()` serves the real app on 127.0.0.1:0 with hypercorn.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path
from typing import Any

import msgspec
import trio

from storyd.bus import EventBus
from storyd.config import loader as cfgmod
from storyd.control import protocol as p
from storyd.core import events as ev
from storyd.core import replies as rp
from storyd.core.model import CHOICE_KEYS
from storyd.core.snapshot import ChapterView, ChoiceView, OverlayView, Snapshot, VotingView
from storyd.core.themes import THEMES
from storyd.errors import NotFoundError, RefusedError
from storyd.web.app import create_app
from storyd.web.serve import serve_web

CONFIG_TEXT = """\
# storyd test configuration
[server]
host = "127.0.0.1"
port = 0   # any free port

[voting]
# how long a round lasts
duration = 60
"""


def now_ms() -> int:
    return int(time.time() * 1000)


class FakeDaemon:
    def __init__(self, tmp_path: Path) -> None:
        self.config_path = tmp_path / "storyd.toml"
        self.config_path.write_text(CONFIG_TEXT, encoding="utf-8")
        self.config = cfgmod.load(self.config_path)
        self.bus = EventBus()
        self.admin_token = secrets.token_urlsafe(24)
        self.media_dir = tmp_path / "media"
        self.media_dir.mkdir()
        self.shutdown = trio.Event()
        self.snap = Snapshot(state="idle", revision=0, server_time_ms=now_ms(),
                             overlay=OverlayView(layout="landscape", size="1920x1080",
                                                 reveal="full", reveal_words_per_second=0))
        self.ballots: dict[str, int] = {}
        self.commands: list[p.Request] = []

    def apply_config(self, new: Any) -> None:
        self.config = new

    def snapshot(self) -> Snapshot:
        return msgspec.structs.replace(self.snap, server_time_ms=now_ms())

    def transition(self, **changes: Any) -> None:
        self.snap = msgspec.structs.replace(self.snap, revision=self.snap.revision + 1,
                                            **changes)
        self.bus.publish(ev.State(self.snapshot()))


SESSION = rp.SessionDetail(id=1, theme="fantasy", language="en", outline="", status="ended",
                           started_at=1.0, ended_at=2.0, settings={}, chapters=(), memory=None)


def _chapter(title: str, text: str) -> ChapterView:
    choices = (ChoiceView(key="a", text="Open the door"), ChoiceView(key="b", text="Run"),
               ChoiceView(key="c", text=text[:40]))
    return ChapterView(number=1, title=title, text=text, sentences=(text,), choices=choices)


async def fake_handle(d: FakeDaemon, req: p.Request) -> Any:
    d.commands.append(req)
    snap = d.snap
    match req:
        case p.Status():
            return d.snapshot()
        case p.Themes():
            return list(THEMES.values())
        case p.Start(theme=theme, outline=outline, force=force):
            if snap.state not in ("idle", "ended") and not force:
                raise RefusedError("a story is running: end it first or use force")
            if theme is not None and theme not in THEMES:
                raise RefusedError(f"unknown theme '{theme}'")
            chapter = _chapter("The Gate", outline or "A gate stands in the fog.")
            voting = VotingView(round_id=1, choices=chapter.choices, counts=(0, 0, 0),
                                voters=0, ends_at=now_ms() + 60_000, open=True)
            d.ballots.clear()
            d.transition(state="voting", session_id=1, theme=theme or "fantasy",
                         chapter_number=1, title=chapter.title, chapter=chapter,
                         choices=chapter.choices, voting=voting)
            return d.snapshot()
        case p.Vote(viewer=viewer, choice=choice):
            if snap.voting is None or not snap.voting.open:
                raise RefusedError("no vote is running")
            try:
                d.ballots[viewer] = p.parse_choice(choice, len(snap.voting.choices))
            except ValueError as exc:
                raise RefusedError(str(exc)) from None
            counts = [0] * len(snap.voting.choices)
            for idx in d.ballots.values():
                counts[idx] += 1
            voting = msgspec.structs.replace(snap.voting, counts=tuple(counts),
                                             voters=len(d.ballots))
            d.snap = msgspec.structs.replace(snap, voting=voting)
            d.bus.publish(ev.VoteUpdate(ev.VoteUpdateData(
                round_id=voting.round_id, counts=tuple(counts), voters=len(d.ballots))))
            return rp.VoteReply(accepted=True, counts=tuple(counts), voters=len(d.ballots))
        case p.Close() | p.Next():
            if snap.voting is None or not snap.voting.open:
                raise RefusedError("no vote is running")
            voting = msgspec.structs.replace(snap.voting, open=False, ends_at=None, winner=0)
            d.bus.publish(ev.VotingEnded(ev.VotingEndedData(
                round_id=voting.round_id, winner=0, winner_key=CHOICE_KEYS[0],
                winner_text=voting.choices[0].text, counts=voting.counts,
                voters=voting.voters)))
            d.transition(state="result", voting=voting)
            if isinstance(req, p.Next):
                return d.snapshot()
            return rp.CloseReply(winner=0, counts=voting.counts, voters=voting.voters)
        case p.End() | p.Finish():
            if snap.state in ("idle", "ended"):
                raise RefusedError("no story is running")
            d.bus.publish(ev.Ended(ev.EndedData(session_id=snap.session_id)))
            d.transition(state="ended")
            return d.snapshot()
        case p.RegenerateImage():
            return rp.OkReply(ok=True)
        case p.Memory():
            return rp.MemoryReply(session_id=snap.session_id, memory=None, context="")
        case p.Sessions(limit=limit):
            return [rp.SessionSummary(id=1, theme="fantasy", language="en", status="active",
                                      started_at=time.time(), ended_at=None, chapters=0)][:limit]
        case p.Session(id=sid) | p.Export(id=sid) if sid != 1:
            raise NotFoundError(f"no session {sid}")
        case p.Session():
            return SESSION
        case p.Export(format=fmt):   # the shape storyd.control.dispatch returns
            content = {"md": "# The Gate\n", "json": msgspec.json.encode(SESSION).decode()}
            return rp.ExportReply(format=fmt, content_type="", filename=f"storyd-session-1.{fmt}",
                                  content=content.get(fmt, f"<h1>{fmt}</h1>"))
        case p.TopVoters(limit=limit):
            names = list(d.ballots) or ["amy"]
            return [rp.TopVoter(viewer_id=n, name=n, ballots=1, wins=0, likes=0, joins=0,
                                last_seen=time.time()) for n in names][:limit]
        case p.ConfigShow():
            return cfgmod.masked(cfgmod.to_builtins(d.config))
        case p.ConfigSet(key=key, value=value):
            d.config = cfgmod.set_value(d.config_path, key, value)
            return {"key": key}
        case p.ConfigUpdate(changes=changes):
            d.config = cfgmod.set_values(d.config_path, changes)
            return {"changes": changes}
    raise RefusedError(f"unsupported: {type(req).__name__}")


@asynccontextmanager
async def running_web(daemon: Any, handle: Any = fake_handle) -> AsyncIterator[str]:
    """Serve the app on a free port; yields the base URL; shuts down on exit."""
    async with trio.open_nursery() as nursery:
        app = create_app(daemon, handle=handle)
        url: str = await nursery.start(partial(serve_web, daemon, app=app))
        try:
            yield url
        finally:
            daemon.shutdown.set()
            daemon.bus.close_all()


def real_config_text(tmp_path: Path, extra: str = "") -> str:
    return f"""\
[server]
port = 0
[control]
socket = "{tmp_path}/control.sock"
[storage]
data_dir = "{tmp_path}/data"
cache_dir = "{tmp_path}/cache"
[tts]
enabled = false
[story]
reveal = "full"
{extra}
"""


@asynccontextmanager
async def running_daemon(tmp_path: Path, extra: str = "") -> AsyncIterator[Any]:
    """The real storyd daemon (storyd.app.run_daemon) in-process; yields the Daemon."""
    from storyd.app import run_daemon

    path = tmp_path / "storyd.toml"
    path.write_text(real_config_text(tmp_path, extra), encoding="utf-8")
    cfg = cfgmod.load(path)
    async with trio.open_nursery() as nursery:
        daemon = await nursery.start(partial(run_daemon, cfg, path))
        try:
            yield daemon
        finally:
            daemon.stop()
