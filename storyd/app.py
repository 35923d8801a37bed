"""The daemon: one trio nursery tree that starts every service in order.

Start order (each `await nursery.start(...)` returns only when the service really serves):
the data folder's lock and a check of the control socket (a second storyd stops here,
having touched nothing: storyd.system.instance) → store (opened and migrated) → media cache
→ after-show (on-air times, stream markers, the recap: services/aftershow.py) → director
(voting and generation services, then the resumed story) → control socket → web server →
chat sources. Then READY=1 goes to systemd (httpx's warm-up and TikTokLive load after it).

Wiring: this module is the composition root. It builds each service with exactly what it
uses — `Director(store, generation, voting, bus, clock, settings, ...)`,
`VotingService(store, bus, clock, settings)`, `GenerationService(store, bus, clock, settings,
chains, media)` — with `settings`/`chains` as getters, because a reload swaps them whole.
The control socket and the web front get the Operator port (`StoryOperator`, the director
side), never the Daemon: nothing reaches through it to a service's insides.

Shutdown protocol (SIGTERM/SIGINT or `Daemon.stop()`): STOPPING=1 → `shutdown` event set
(hypercorn stops accepting) → chat sources cancelled (no new ballots) → bus closed (every
websocket ends with 1001) → the last ballots flushed to SQLite → the nursery is cancelled →
store closed (writes still waiting for a full disk get STORAGE_WAIT seconds, then go to a
recovery file the next start replays; exit 1 only when not even that could be written); a
3-second cancel-scope deadline is the backstop. SIGHUP reloads the config file: a new frozen
Config is swapped in whole; provider chains are rebuilt; a bad or missing file is reported
(ERROR, `story:error`, admin notice) and the old config kept.
"""

from __future__ import annotations

import functools
import logging
import os
import random
import secrets
import signal
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import msgspec
import trio

from storyd.bus import EventBus
from storyd.chat.base import ChatHealth
from storyd.chat.twitch_markers import StreamMarkers
from storyd.config import effective
from storyd.config import loader as config_mod
from storyd.config.masking import scrub, secret_values
from storyd.config.structs import Config
from storyd.core import events as ev
from storyd.core import themes
from storyd.core.snapshot import ChatSourceView, ProvidersView, Snapshot
from storyd.errors import ConfigError, ConfigMissing, StorydError
from storyd.providers import http_io
from storyd.providers.chain import Chains, build_chains
from storyd.services.aftershow import AfterShow
from storyd.services.cameos import CameoService
from storyd.services.clock import TrioClock
from storyd.services.director import Director
from storyd.services.generation import GenerationService
from storyd.services.media import MediaCache
from storyd.services.narrator import Presenter
from storyd.services.operator import StoryOperator
from storyd.services.stories import load_story, shipped_for
from storyd.services.voting import VotingService
from storyd.store import export
from storyd.store.db import Store
from storyd.storyteller.story import OfflineStoryteller
from storyd.system import heap, instance, paths
from storyd.system.notify import notify

log = logging.getLogger(__name__)

SHUTDOWN_GRACE = 3.0
STORAGE_WAIT = 5.0     # at stop, how long writes waiting for a full disk get before the
                       # recovery file takes them (storyd.store.pending)


class Daemon:
    """Everything the services share. Built by `run_daemon`; read `config` on every use."""

    def __init__(self, cfg: Config, config_path: Path, store: Store, *,
                 admin_token: str = "", demo: bool = False) -> None:
        self.config = cfg
        self.config_path = config_path
        self.demo = demo
        self.bus = EventBus()
        self.shutdown = trio.Event()
        self.data_dir = paths.data_dir(cfg)
        self.media_dir = paths.media_dir(cfg)
        self.socket_path = paths.socket_path(cfg)
        self.media = MediaCache(self.media_dir, cfg.storage.cache_max_mb * 1024 * 1024)
        self.chains: Chains = build_chains(cfg, on_error=self._provider_error,
                                           outgoing=self._outgoing)
        self.chat_health: dict[str, ChatHealth] = {}
        self.storage_notice: str | None = None   # set while the disk refuses writes
        self.config_notice: str | None = None    # set while the file's config is not in effect
        self.admin_token = admin_token
        self.store = store
        self.clock = TrioClock()

        def settings() -> Config:
            return self.config

        def chains() -> Chains:
            return self.chains

        self.voting = VotingService(store, self.bus, self.clock, lambda: self.config.voting)
        self.generation = GenerationService(store, self.bus, self.clock, settings, chains,
                                            self.media, offline=OfflineStoryteller())
        self.director = Director(
            store, self.generation, self.voting, self.bus, self.clock, settings,
            presenter=Presenter(store, self.bus, settings, chains, self.media),
            vote_seconds=self.voting_duration, status=self.status_views,
            on_finished=self.story_finished,
            storage_notice=lambda: self.storage_notice or self.config_notice)
        self.cameos = CameoService(
            store, self.clock, settings, story=lambda: self.director.story,
            running=lambda: self.director.machine.state not in ("idle", "ended"),
            publish=self.director.publish_state)
        self._wire_cameos()
        self.aftershow = AfterShow(
            store, self.bus, self.clock, story=lambda: self.director.story,
            publish=self.director.publish_state,
            markers=StreamMarkers(lambda: self.config.chat.twitch), cameos=self.cameos.names_for)
        self.generation.planner.on_recap = self.aftershow.recap_written   # a late recap
        self.operator = StoryOperator(
            self.director, self.voting, store, self.bus, self.clock, settings=settings,
            apply_config=self.apply_config, config_path=config_path, chains=chains,
            chat_health=self.chat_health, health_for=self.chat_health_for,
            admin_token=admin_token, media_dir=self.media_dir, shutdown=self.shutdown,
            render=export.export_reply, ballot_refusal=store.ballot_refusal,
            cameos=self.cameos)
        self._nursery: trio.Nursery | None = None
        self._rng = random.Random()

    def _wire_cameos(self) -> None:
        """The audience's say (services/cameos.py): chat commands, ballots per viewer, what
        the storyteller is told, and the overlay's roster."""
        c = self.cameos
        self.voting.on_command, self.voting.on_recorded = c.on_command, c.credit
        self.voting.command_words = c.command_words()
        self.generation.adjust_request, self.generation.before_air = c.adjust_request, c.before_air
        self.director.audience = lambda: {"cameos": c.cast(), "audience": c.view()}
        self.generation.planner.adjust_request = c.adjust_request

    def _outgoing(self, body: dict[str, Any]) -> dict[str, Any]:
        """Every provider request body: names that left the story never reach a model."""
        return self.cameos.redact_body(body)

    @property
    def web_url(self) -> str:
        return self.operator.web_url

    # -- helpers the fronts call --------------------------------------------------------------
    def snapshot(self) -> Snapshot:
        return self.director.snapshot()

    def provider_status(self) -> ProvidersView:
        """Provider health (times in epoch ms, `…_ms`), credentials masked."""
        shown = scrub(msgspec.to_builtins(self.chains.status()), secret_values(self.config))
        return msgspec.convert(shown, ProvidersView)

    def chat_status(self) -> list[ChatSourceView]:
        return [h.view() for h in self.chat_health.values()]

    def status_views(self) -> tuple[ProvidersView, tuple[ChatSourceView, ...]]:
        return self.provider_status(), tuple(self.chat_status())

    def chat_health_for(self, source: str, detail: str) -> ChatHealth:
        """The health record of a chat source, made (connected) on first use."""
        health = self.chat_health.get(source)
        if health is None:
            health = self.chat_health[source] = ChatHealth(source=source, state="connected",
                                                           detail=detail)
        return health

    def voting_duration(self) -> float:
        return float(self.config.demo.voting_duration if self.demo
                     else self.config.voting.duration)

    def storage_health(self, notice: str | None) -> None:
        """Store.on_health: a disk fault is an operator notice (status, admin, story:error)."""
        self.storage_notice = notice
        if notice is not None:
            self.bus.publish(ev.error(notice, self.clock.ms()))
        self.director.publish_state()

    def _provider_error(self, message: str) -> None:
        self.bus.publish(ev.error(message, self.clock.ms()))

    def story_finished(self, session_id: int) -> None:
        """In demo mode the next story starts by itself after a pause: `[story]
        next_story_seconds`, but never before the recap card has had its `[overlay]
        recap_seconds` (a new story replaces the card on the overlay)."""
        if self.demo and self._nursery is not None:
            self._nursery.start_soon(self._next_demo_story)

    async def _next_demo_story(self) -> None:
        await trio.sleep(max(self.config.story.next_story_seconds,
                             self.config.overlay.recap_seconds))
        if self.director.machine.can("start"):
            await self.start_demo_story()

    async def start_demo_story(self) -> None:
        """--demo: a story on a random theme ([demo] seed: always the same one) — the shipped
        authored story where that theme has one in the story language, else the storytellers'."""
        seed = self.config.demo.seed or None
        theme = themes.get_theme("random", random.Random(seed) if seed else self._rng).id
        story_id = shipped_for(self.config.story.language, theme)
        authored = None
        try:
            authored = await load_story(story_id) if story_id else None
        except StorydError as exc:   # a broken shipped story: the storytellers step in
            log.error("shipped story %s cannot be played: %s", story_id, exc)
        await self.director.start(theme=theme, seed=seed, authored=authored)

    def stop(self) -> None:
        self.shutdown.set()

    async def reload(self) -> None:
        """Re-read the config file and swap it in whole; keep the old one on errors.

        A file that is missing now keeps the running config too (an editor's save-by-rename
        caught half way, a wrong path): only an explicit empty file means "the defaults".
        Every refusal is an ERROR line, a `story:error` and an admin notice that stays until
        a reload succeeds."""
        notify("RELOADING=1")
        try:
            new = config_mod.load_existing(self.config_path)
            self.apply_config(new)
        except Exception as exc:  # noqa: BLE001 — any fault: the old config stays, and why
            if isinstance(exc, ConfigMissing):
                why = (f"{self.config_path} is missing; the running config is kept (an empty "
                       "file means the defaults)")
            elif isinstance(exc, ConfigError):
                why = str(exc)
            else:
                why = f"{type(exc).__name__}: {exc}"
            log.error("config reload failed, keeping the old config: %s", why)
            self.config_notice = f"Config reload failed: {why}"
            self.bus.publish(ev.error(f"config reload failed: {why}", self.clock.ms()))
            self.director.publish_state()
        else:
            log.info("config reloaded from %s", self.config_path)
            if self.config_notice is not None:
                self.config_notice = None
                self.director.publish_state()
        notify("READY=1")

    def apply_config(self, new: Config) -> None:
        """Swap in a validated config; provider chains are rebuilt first, so a failure
        (ConfigError) leaves the old config and chains in place."""
        new = effective.apply(new)  # this run's --demo/--port/--host stay in effect
        old = self.config
        if (new.llm, new.images, new.tts, new.providers, new.safety) != (
                old.llm, old.images, old.tts, old.providers, old.safety):
            chains = build_chains(new, on_error=self._provider_error, outgoing=self._outgoing)
            old_chains, self.chains = self.chains, chains
            if self._nursery is not None:
                self._nursery.start_soon(old_chains.aclose)
        self.config = new
        words = self.voting.command_words = self.cameos.command_words()   # [audience] changed?
        if self.voting.round is not None:
            self.voting.round.commands = words   # the open round hears them at once
        self.director.publish_state()


def load_admin_token(data_dir: Path) -> str:
    """The admin token, generated on first start and kept 0600 beside the data."""
    path = data_dir / "admin_token"
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        token = path.read_text().strip()
        if len(token) >= 20:
            return token
    except FileNotFoundError:
        pass
    token = secrets.token_urlsafe(24)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(token + "\n")
    return token


async def _chat_sources(daemon: Daemon, nursery: trio.Nursery, settled: trio.Event) -> None:
    from storyd.chat.sources import start_sources

    await start_sources(daemon, nursery, settled)


async def _signals(daemon: Daemon) -> None:
    with trio.open_signal_receiver(signal.SIGTERM, signal.SIGINT, signal.SIGHUP) as signals:
        async for signum in signals:
            if signum == signal.SIGHUP:
                await daemon.reload()
            else:
                log.info("stopping (signal %s)", signal.Signals(signum).name)
                daemon.stop()


async def run_daemon(cfg: Config, config_path: Path, *, demo: bool = False,
                     handle_signals: bool = False,
                     task_status: trio.TaskStatus[Daemon] = trio.TASK_STATUS_IGNORED) -> None:
    """Run storyd until `daemon.stop()` (or a signal). Reports the Daemon when serving.
    StorydError, before anything is opened, when another storyd holds the data folder or
    answers on the control socket."""
    from storyd.control.socket_file import clear_stale_socket

    # one storyd per data folder and socket, decided before any state is touched
    lock = instance.claim(paths.data_dir(cfg), paths.socket_path(cfg))
    try:
        await clear_stale_socket(paths.socket_path(cfg))
        await _run_claimed(cfg, config_path, demo=demo, handle_signals=handle_signals,
                           task_status=task_status)
    finally:
        lock.release()


async def _run_claimed(cfg: Config, config_path: Path, *, demo: bool, handle_signals: bool,
                       task_status: trio.TaskStatus[Daemon]) -> None:
    from storyd.control import dispatch
    from storyd.control.protocol import Request, Result
    from storyd.control.server import serve_control
    from storyd.web.serve import serve_web

    admin_token = load_admin_token(paths.data_dir(cfg))
    # a recovery file goes to the data folder, else beside the control socket (runtime dir)
    store = await Store.open(paths.database_path(cfg),
                             recovery_dirs=(paths.socket_path(cfg).parent,))
    daemon = Daemon(cfg, config_path, store, admin_token=admin_token, demo=demo)
    store.on_health = daemon.storage_health
    lost = 0
    try:
        async with trio.open_nursery() as nursery:
            daemon._nursery = nursery
            nursery.start_soon(daemon.store.retry_backlog)
            if handle_signals:
                nursery.start_soon(_signals, daemon)
            await nursery.start(daemon.media.run, daemon.store.referenced_media)
            await nursery.start(daemon.aftershow.run)   # before the director: no lost air time
            await nursery.start(daemon.director.run)
            await nursery.start(daemon.cameos.run)      # the resumed story's cameos

            async def handle(request: Request) -> Result | None:
                return await dispatch.handle(daemon.operator, request)

            async def watch(send: Callable[[ev.StorydEvent], Awaitable[None]]) -> None:
                await dispatch.watch(daemon.operator, send)

            await nursery.start(functools.partial(
                serve_control, idle_timeout=cfg.control.idle_timeout,
                line_timeout=cfg.control.line_timeout,
                pipelined=functools.partial(dispatch.pipelined, daemon.operator)),
                daemon.socket_path, handle, watch)
            async with trio.open_nursery() as web:
                # hypercorn returns by itself once `shutdown` is set and its clients are gone
                daemon.operator.web_url = await web.start(serve_web, daemon.operator)
                chat, chat_stopped, settled = trio.CancelScope(), trio.Event(), trio.Event()

                async def chat_sources(*, task_status: trio.TaskStatus[None]
                                       = trio.TASK_STATUS_IGNORED) -> None:
                    try:
                        with chat:
                            async with trio.open_nursery() as sources:
                                await _chat_sources(daemon, sources, settled)
                                task_status.started()
                                await trio.sleep_forever()
                    finally:
                        chat_stopped.set()

                await nursery.start(chat_sources)
                if demo and daemon.director.story is None and daemon.director.machine.can("start"):
                    await daemon.start_demo_story()
                heap.settle()           # the startup heap out of every later GC pass
                log.info("storyd ready: overlay %s/overlay/  control %s", daemon.web_url,
                         daemon.socket_path)
                notify("READY=1", f"STATUS=serving on {daemon.web_url}")
                settled.set()           # now TikTokLive may load (storyd/chat/tiktok.py)
                # TLS context, httpx imports after READY; never abandoned: SIGSEGV at exit
                nursery.start_soon(trio.to_thread.run_sync, http_io.warm_up)
                task_status.started(daemon)
                await daemon.shutdown.wait()
                notify("STOPPING=1", "STATUS=stopping")
                chat.cancel()           # no new ballots from here on ...
                daemon.bus.close_all()  # every websocket handler ends and closes with 1001
                with trio.CancelScope(shield=True), trio.move_on_after(SHUTDOWN_GRACE):
                    await chat_stopped.wait()   # ... once the sources are really gone
                    await daemon.voting.flush()
                web.cancel_scope.deadline = trio.current_time() + SHUTDOWN_GRACE
            nursery.cancel_scope.cancel()
    finally:
        with trio.CancelScope(shield=True):
            try:
                await daemon.chains.aclose()
            except StorydError as exc:
                log.warning("closing providers: %s", exc)
            lost = await daemon.store.aclose(wait=STORAGE_WAIT)
    if lost:   # the store logged what and why; the exit status says it too
        raise StorydError(f"{lost} writes (ballots included) could not be saved to the "
                          "database nor to a recovery file: they are lost (see the log)")
