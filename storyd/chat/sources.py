"""Building and starting the chat sources named in `[chat] sources` (the daemon's one call).

Every source gets a ChatHealth in `host.chat_health` (the status snapshot lists them all)
and feeds `host.voting` (the ChatSink). With `[voting] points_reward` and a Twitch token, the
Twitch source brings a second one, "twitch-points": channel points votes over EventSub.
Platform modules are imported here only when their source is configured; none of them
imports its platform library before the daemon is READY (TikTokLive is imported in its
worker thread).
"""

from __future__ import annotations

from functools import partial
from typing import Any, Protocol

import trio

from storyd.chat.base import ChatHealth
from storyd.config.structs import Config
from storyd.core.ports import ChatSink


class _Voting(ChatSink, Protocol):
    @property
    def round(self) -> Any: ...

    def submit_points(self, viewer_id: str, name: str, text: str, weight: int) -> str: ...


class Host(Protocol):
    """What the sources need of the daemon."""

    config: Config
    demo: bool
    chat_health: dict[str, ChatHealth]
    bus: Any

    @property
    def voting(self) -> _Voting: ...


POINTS = "twitch-points"   # channel points votes: a health record of their own


def source_names(cfg: Config, demo: bool) -> list[str]:
    names: list[str] = list(dict.fromkeys(cfg.chat.sources))
    if demo and "demo" not in names:
        names.append("demo")
    return names


async def start_sources(host: Host, nursery: trio.Nursery,
                        settled: trio.Event | None = None) -> None:
    """Start every configured source in `nursery`; each reports started at once. `settled`:
    set when the daemon is ready (sources that load a platform library wait for it)."""
    cfg = host.config
    sink = host.voting
    for name in source_names(cfg, host.demo):
        health = host.chat_health.setdefault(name, ChatHealth(source=name))
        if name == "local":
            health.state = "connected"
            health.detail = "storyctl vote / POST vote / chat ingest"
        elif name == "demo":
            from storyd.chat import demo

            def n_choices() -> int | None:
                r = host.voting.round
                return r.n_choices if r is not None and not r.closed else None

            await nursery.start(partial(demo.run, seed=cfg.demo.seed or None),
                                cfg.demo, sink, health, n_choices)
        elif name == "tiktok":
            from storyd.chat import tiktok

            await nursery.start(partial(tiktok.run, settled=settled), cfg.chat.tiktok, sink,
                                health)
        elif name == "twitch":
            from storyd.chat import twitch

            await nursery.start(partial(twitch.run, bus=host.bus), cfg.chat.twitch, sink, health)
            if cfg.voting.points_reward and cfg.chat.twitch.oauth_token_env:
                await _start_points(host, nursery)


async def _start_points(host: Host, nursery: trio.Nursery) -> None:
    """Channel points votes over EventSub (storyd/chat/eventsub.py), a source of its own."""
    from storyd.chat import eventsub

    health = host.chat_health.setdefault(POINTS, ChatHealth(source=POINTS))
    await nursery.start(eventsub.run, lambda: host.config.chat.twitch,
                        lambda: host.config.voting, host.voting, health)
