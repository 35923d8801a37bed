"""One place where requests become actions — shared by the control socket and the web front.

`handle(daemon, request)` takes a request Struct from control/protocol.py and returns a
msgspec-encodable result, or raises a StorydError subclass that both fronts turn into a
typed error (socket: `{"code", "message"}`; HTTP: 4xx with the same body).

It depends on the `Context` Protocol below (what the daemon offers the fronts), not on
storyd.app: the dependency points from the composition root down to here. An acknowledged
ballot (`vote`, `chat`) is committed to SQLite before the answer goes out (group commit in
the voting service).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any, Protocol

import msgspec
import trio

from storyd.bus import EventBus
from storyd.config import effective
from storyd.config import loader as config_mod
from storyd.config.masking import masked, scrub, secret_values
from storyd.config.structs import Config
from storyd.control import protocol as p
from storyd.core import events as ev
from storyd.core import replies as r
from storyd.core.model import ChatMessage
from storyd.core.ports import IngestResult
from storyd.core.snapshot import Snapshot
from storyd.core.themes import THEMES
from storyd.errors import ConfigError, RefusedError
from storyd.providers.chain import Chains
from storyd.services.director import Director
from storyd.services.stories import language_code, load_story, shipped_stories
from storyd.services.voting import VotingService
from storyd.store import export
from storyd.store.db import Store


class Health(Protocol):
    def count(self, result: IngestResult, n_messages: int, now: float | None = None) -> None: ...


class Context(Protocol):
    """What the daemon (storyd.app.Daemon) offers the control socket and the web front."""

    config: Config
    config_path: Path
    admin_token: str
    web_url: str
    bus: EventBus
    chains: Chains
    director: Director
    voting: VotingService
    store: Store

    @property
    def chat_health(self) -> Mapping[str, Health]: ...

    def snapshot(self) -> Snapshot: ...
    def apply_config(self, new: Config) -> None: ...
    def chat_health_for(self, source: str, detail: str) -> Health: ...


Daemon = Context   # the name the handlers below were written with


def _choice_index(daemon: Daemon, raw: str) -> int:
    ch = daemon.director.story.current if daemon.director.story else None
    n = len(ch.draft.choices) if ch else 6
    try:
        return p.parse_choice(raw, n)
    except ValueError as exc:
        raise RefusedError(str(exc)) from None


def admin_url(daemon: Daemon) -> str:
    base = daemon.config.server.public_url.rstrip("/") or daemon.web_url
    return f"{base}/admin/?token={daemon.admin_token}"


async def _vote(daemon: Daemon, req: p.Vote) -> r.VoteReply:
    voting = daemon.voting
    if not voting.is_open():
        raise RefusedError(f"no vote is running (state: {daemon.director.machine.state})")
    viewer = req.viewer.strip()
    if not 1 <= len(viewer) <= 128:
        raise RefusedError("the viewer name must be 1–128 characters")
    idx = _choice_index(daemon, req.choice)
    msg = ChatMessage(platform="local", user_id=viewer, name=req.name or viewer,
                      text=f"!{'abcdef'[idx]}")
    result = voting.submit([msg])
    if result.accepted:
        await voting.commit()    # on disk before the answer: an acknowledged ballot is kept
    health = daemon.chat_health.get("local")
    if health is not None:
        health.count(result, 1, daemon.director.clock.now())
    rnd = voting.round
    return r.VoteReply(accepted=bool(result.accepted), counts=tuple(rnd.counts) if rnd else (),
                       voters=rnd.voters if rnd else 0)


def _config_set(daemon: Daemon, changes: dict[str, str]) -> dict[str, Any]:
    """Validate all changes together, apply them live (provider chains are built first, so
    a ConfigError changes nothing), then write the file atomically, keeping its comments."""
    if not changes:
        raise RefusedError("no changes given")
    path = daemon.config_path
    text = config_mod.read_text(path) if path.exists() else ""
    new_text, new = config_mod.apply_changes(text, changes, str(path))
    old = daemon.config
    daemon.apply_config(new)
    try:
        config_mod.atomic_write(path, new_text)
    except OSError as exc:
        daemon.apply_config(old)
        raise ConfigError(f"{path}: cannot write: {exc.strerror or exc}") from None
    return {"changes": {k: config_mod.get_value(new, k) for k in changes}, "file": str(path)}


MAX_CHAT_BATCH = 10_000
MAX_CHAT_FIELD = 500


async def ingest_chat(daemon: Daemon, lines: list[p.ChatLine]) -> r.IngestReply:
    """The chat ingest path: the same ChatSink that TikTok comments go through."""
    if len(lines) > MAX_CHAT_BATCH:
        raise RefusedError(f"at most {MAX_CHAT_BATCH} messages per batch (got {len(lines)})")
    batch = []
    for i, line in enumerate(lines):
        if not line.user_id or not line.platform:
            raise RefusedError(f"messages[{i}]: platform and user_id must not be empty")
        if max(len(line.user_id), len(line.name), len(line.platform)) > 128:
            raise RefusedError(f"messages[{i}]: platform, user_id and name are 128 chars at most")
        batch.append(ChatMessage(platform=line.platform, user_id=f"{line.platform}:{line.user_id}",
                                 name=line.name or line.user_id,
                                 text=line.text[:MAX_CHAT_FIELD], msg_id=line.msg_id))
    result = daemon.voting.submit(batch)
    if result.accepted:
        await daemon.voting.commit()   # on disk before the answer: acknowledged is kept
    daemon.chat_health_for("ingest", "chat ingest API").count(
        result, len(batch), daemon.director.clock.now())
    return r.IngestReply(accepted=result.accepted, invalid=result.invalid, ignored=result.ignored)


async def start(daemon: Daemon, req: p.Start) -> Snapshot:
    """`start`: a story from a theme (the storytellers write it), or an authored story — read
    and checked first, so a refused file ends nothing that is running."""
    theme, language = req.theme, req.language
    authored = None
    if req.story is not None:
        if req.outline:
            raise RefusedError("an authored story has its own plot: --outline does not go with "
                               "--story")
        authored = await load_story(req.story)
        if (authored.language and language
                and language_code(language) != language_code(authored.language)):
            raise RefusedError(f"the story '{req.story}' is written in {authored.language}, "
                               f"not {language}")
        theme, language = theme or authored.theme, language or authored.language
    return await daemon.director.start(theme, req.outline, language, req.force, seed=req.seed,
                                       authored=authored)


async def check_providers(daemon: Daemon) -> list[dict[str, Any]]:
    """One tiny request per configured provider; the offline ones report what they need."""
    import shutil

    out: list[dict[str, Any]] = []
    for client in daemon.chains.clients.values():
        out.append(await client.check())
    espeak = shutil.which("espeak-ng")
    out.append({"provider": "offline", "ok": True, "diagnosis": "ok", "latency": 0.0,
                "message": "built-in storyteller and illustrator; voice "
                           + (f"via {espeak}" if espeak else "silent (install espeak-ng)")})
    return out


def _memory(daemon: Daemon) -> r.MemoryReply:
    story = daemon.director.story
    if story is None:
        return r.MemoryReply(session_id=None, memory=None, context="", last_prompt=None)
    prompt = getattr(daemon.chains.text, "last_prompt", None)
    return r.MemoryReply(
        session_id=story.session_id,
        memory=msgspec.convert(story.memory.to_json(), r.MemoryData),
        context=story.memory.context(daemon.config.llm.context_tokens, include_outline=False),
        path=tuple(story.taken_path()),
        last_prompt=None if prompt is None else msgspec.convert(prompt, tuple[dict[str, str], ...]))


async def handle(daemon: Daemon, request: p.Request) -> Any:
    d, store = daemon.director, daemon.store
    match request:
        case p.Status():
            return d.snapshot()
        case p.Themes():
            return list(THEMES.values())
        case p.Stories():
            return await trio.to_thread.run_sync(shipped_stories)
        case p.Start():
            return await start(daemon, request)
        case p.Vote():
            return await _vote(daemon, request)
        case p.Close():
            closed = await d.close()
            return (r.CloseReply(queued=True) if isinstance(closed, dict) else
                    msgspec.convert(closed, r.CloseReply, from_attributes=True))
        case p.Next(choice=choice):
            await d.next(None if choice is None else _choice_index(daemon, choice))
            return d.snapshot()
        case p.Finish():
            await d.finish()
            return d.snapshot()
        case p.End():
            await d.end()
            return d.snapshot()
        case p.RegenerateImage():
            await d.regenerate_image()
            return r.OkReply(ok=True)
        case p.Memory():
            return _memory(daemon)
        case p.Sessions(limit=limit, offset=offset):
            if not (1 <= limit <= 500 and offset >= 0):
                raise RefusedError("limit must be 1–500 and offset ≥ 0")
            return msgspec.convert(await store.list_sessions(limit=limit, offset=offset),
                                   list[r.SessionSummary])
        case p.Session(id=sid):
            return msgspec.convert(await store.get_session(sid), r.SessionDetail)
        case p.TopVoters(limit=limit):
            if not 1 <= limit <= 500:
                raise RefusedError("limit must be 1–500")
            return msgspec.convert(await store.top_voters(limit=limit), list[r.TopVoter])
        case p.ConfigShow(origins=origins):
            shown = masked(config_mod.to_builtins(daemon.config))
            return {"config": shown, "origins": effective.describe(
                daemon.config, daemon.config_path)} if origins else shown
        case p.ConfigGet(key=key):
            return {"key": key, "value": config_mod.get_value(daemon.config, key),
                    **effective.origin(daemon.config, daemon.config_path, key)}
        case p.DeleteSession(id=sid):
            if d.story is not None and d.story.session_id == sid:
                raise RefusedError(f"session {sid} is running; end it first (storyctl end)")
            await store.delete_session(sid)
            return {"deleted": sid}
        case p.ConfigSet(key=key, value=value):
            result = _config_set(daemon, {key: value})
            return {"key": key, "value": result["changes"][key], "file": result["file"]}
        case p.ConfigUpdate(changes=changes):
            return _config_set(daemon, changes)
        case p.Export(id=sid, format=fmt):
            session = await store.get_session(sid)
            return r.ExportReply(format=fmt, content_type=export.CONTENT_TYPES[fmt],
                                 filename=f"storyd-session-{sid}.{export.EXTENSIONS[fmt]}",
                                 content=export.render(session, fmt))
        case p.AdminUrl():
            return {"url": admin_url(daemon)}
        case p.Providers():   # URLs and messages may carry credentials: masked here
            return msgspec.convert(scrub(await check_providers(daemon),
                                                    secret_values(daemon.config)),
                                   list[r.ProviderCheck])
        case p.Chat(messages=lines):
            return await ingest_chat(daemon, lines)
        case p.Watch():
            raise RefusedError("watch is a streaming request")
    raise ConfigError(f"unsupported request {type(request).__name__}")  # pragma: no cover


async def watch(daemon: Daemon, send: Callable[[Any], Awaitable[None]]) -> None:
    """Stream bus events (after a first full state) until the client or the daemon goes."""
    with daemon.bus.subscribe() as sub:
        await send(ev.State(daemon.snapshot()))
        async for event in sub:
            await send(event)
