"""One place where requests become actions — shared by the control socket and the web front.

`handle(operator, request)` takes a request Struct from control/protocol.py and returns its
answer, a Struct of the request's answer type (protocol.ANSWERS: the Snapshot, a reply of
core/replies.py or config/replies.py), or raises a StorydError subclass that both fronts turn
into the one ErrorBody (socket: a Refusal; HTTP: 4xx `{"error": {...}}`).

It depends on the Operator port (control/operator.py) alone — never on the director, the
voting service, the store or the clock behind it: it checks what a client sent (choice
letters, limits, chat lines) and calls the one Operator method that does the work.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import msgspec

from storyd.config import effective
from storyd.config import loader as config_mod
from storyd.config.masking import masked
from storyd.config.replies import ConfigOrigins, ConfigSetReply, ConfigUpdateReply, ConfigValue
from storyd.config.structs import Config
from storyd.control import protocol as p
from storyd.control.operator import Operator, Ready
from storyd.core import events as ev
from storyd.core import replies as r
from storyd.core.model import ChatMessage, viewer_key
from storyd.core.snapshot import Snapshot
from storyd.core.themes import THEMES
from storyd.errors import ConfigError, RefusedError


def _choice_index(snap: Snapshot, raw: str) -> int:
    """A–F / 1–6 as a 0-based choice of the chapter on air."""
    try:
        return p.parse_choice(raw, len(snap.chapter.choices) if snap.chapter else 6)
    except ValueError as exc:
        raise RefusedError(str(exc)) from None


async def _vote(op: Operator, req: p.Vote) -> r.VoteReply:
    snap = op.snapshot()
    if snap.voting is None or not snap.voting.open:
        raise RefusedError(f"no vote is running (state: {snap.state})")
    viewer = req.viewer.strip()
    if not 1 <= len(viewer) <= 128:
        raise RefusedError("the viewer name must be 1–128 characters")
    return await op.vote(viewer, req.name or viewer, _choice_index(snap, req.choice))


def _config_set(op: Operator, changes: dict[str, str]) -> ConfigUpdateReply:
    """Validate all changes together, apply them live (provider chains are built first, so
    a ConfigError changes nothing), then write the file atomically, keeping its comments."""
    if not changes:
        raise RefusedError("no changes given")
    path = op.config_path
    text = config_mod.read_text_or_none(path)
    if text is None and op.config != effective.apply(config_mod.defaults()):
        # the file was deleted under the running daemon: starting a new one from the
        # defaults would silently reset every other key (as a reload refuses to, too)
        raise ConfigError(f"{path} is missing, but the running config came from it: restore "
                          "it first (an empty file starts from the defaults)")
    new_text, new = config_mod.apply_changes(text or "", changes, str(path))
    old = op.config
    op.apply_config(new)
    try:
        config_mod.atomic_write(path, new_text)
    except OSError as exc:
        op.apply_config(old)
        raise ConfigError(f"{path}: cannot write: {exc.strerror or exc}") from None
    return ConfigUpdateReply(changes={k: config_mod.get_value(new, k) for k in changes},
                             file=str(path))


MAX_CHAT_BATCH = 10_000
MAX_CHAT_FIELD = 500


def chat_batch(lines: list[p.ChatLine]) -> list[ChatMessage]:
    """Chat lines as the chat sink's messages (viewer ids `platform:user_id`, the vote core's
    viewer key). The lines' types already hold the limits (decoding refused a line with an
    empty or over-long platform, user id or name, or a batch over MAX_CHAT_BATCH)."""
    if len(lines) > MAX_CHAT_BATCH:
        raise RefusedError(f"at most {MAX_CHAT_BATCH} messages per batch (got {len(lines)})")
    for i, line in enumerate(lines):    # a line built in code rather than decoded
        if not line.user_id or not line.platform:
            raise RefusedError(f"messages[{i}]: platform and user_id must not be empty")
    key = viewer_key
    return [ChatMessage(platform=line.platform, user_id=f"{line.platform}:{line.user_id}",
                        name=line.name or line.user_id, text=line.text[:MAX_CHAT_FIELD],
                        msg_id=line.msg_id, key=key(line.platform, line.user_id))
            for line in lines]


async def handle(op: Operator, request: p.Request) -> p.Result | None:
    """The answer to `request`, of its type (protocol.answer_type)."""
    match request:
        case p.Status():
            return op.snapshot()
        case p.Themes():
            return list(THEMES.values())
        case p.Stories():
            return await op.stories()
        case p.Start(theme=theme, outline=outline, language=language, force=force, seed=seed,
                     story=story):
            return await op.start(theme=theme, outline=outline, language=language, force=force,
                                  seed=seed, story=story)
        case p.Vote():
            return await _vote(op, request)
        case p.Close():
            return await op.close()
        case p.Next(choice=choice):
            return await op.next(None if choice is None else _choice_index(op.snapshot(), choice))
        case p.Finish(now=now):
            return await op.finish(now=now)
        case p.End():
            return await op.end()
        case p.Plan():
            return op.plan()
        case p.Extend(chapters=chapters):
            return await op.extend(chapters)
        case p.RegenerateImage():
            await op.regenerate_image()
            return r.OkReply(ok=True)
        case p.Memory():
            return op.memory()
        case p.Sessions(limit=limit, offset=offset):
            if not (1 <= limit <= 500 and offset >= 0):
                raise RefusedError("limit must be 1–500 and offset ≥ 0")
            return await op.sessions(limit=limit, offset=offset)
        case p.Session(id=sid):
            return await op.session(sid)
        case p.TopVoters(limit=limit):
            if not 1 <= limit <= 500:
                raise RefusedError("limit must be 1–500")
            return await op.top_voters(limit=limit)
        case p.ConfigShow(origins=origins):
            shown = msgspec.convert(masked(config_mod.to_builtins(op.config)), Config)
            if not origins:
                return shown
            return ConfigOrigins(config=shown,
                                 origins=effective.describe(op.config, op.config_path))
        case p.ConfigGet(key=key):
            value = config_mod.get_value(op.config, key)
            where = effective.origin(op.config, op.config_path, key)
            if where is None:   # a whole section
                return ConfigValue(key=key, value=value)
            return ConfigValue(key=key, value=value, source=where.source,
                               file_value=where.file_value)
        case p.DeleteSession(id=sid):
            await op.delete_session(sid)
            return r.DeletedReply(deleted=sid)
        case p.ConfigSet(key=key, value=value):
            result = _config_set(op, {key: value})
            return ConfigSetReply(key=key, value=result.changes[key], file=result.file)
        case p.ConfigUpdate(changes=changes):
            return _config_set(op, changes)
        case p.Export(id=sid, format=fmt):
            return await op.export(sid, fmt)
        case p.Chapters(id=sid, since=since):
            if since is not None and not (0 < since < 1e11):
                raise RefusedError("since must be a time (epoch seconds) after 1970")
            return await op.chapters(sid, since)
        case p.Recap(id=sid):
            return await op.recap(sid)
        case p.RecapPng(id=sid, size=size):
            return await op.recap_png(sid, size)
        case p.AdminUrl():
            return r.AdminUrlReply(url=op.admin_url())
        case p.Providers():
            return await op.providers()
        case p.Chat(messages=lines):
            return await op.ingest(chat_batch(lines))
        case p.Cameos():
            return op.cameos()
        case p.CameoRemove(name=name):
            if not name.strip():
                raise RefusedError("name the cameo to remove")
            return await op.remove_cameo(name)
        case p.Watch():
            raise RefusedError("watch is a streaming request")
    raise ConfigError(f"unsupported request {type(request).__name__}")  # pragma: no cover


def pipelined(op: Operator, request: p.Request) -> tuple[r.IngestReply, Ready | None] | None:
    """The requests a connection may pipeline (control socket): `chat` is counted now and
    its reply waits only for its commit (the returned wait), so the next request on the
    connection is read meanwhile. None for every other request (answered by `handle`)."""
    if isinstance(request, p.Chat):
        return op.ingest_now(chat_batch(request.messages))
    return None


async def watch(op: Operator, send: Callable[[ev.StorydEvent], Awaitable[None]]) -> None:
    """Stream bus events (after a first full state) until the client or the daemon goes."""
    with op.bus.subscribe() as sub:
        await send(ev.State(op.snapshot()))
        async for event in sub:
            await send(event)
