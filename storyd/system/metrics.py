"""Prometheus metrics: one registry, small functions the rest of storyd calls in one line.

Histograms and counters live in `REGISTRY` for the whole process and are fed by hooks:
  * provider chain: `observe_provider_latency`, `count_provider_error`
  * OpenAI-compatible client: `count_usage` (the answer's `usage.total_tokens`)
  * director: `dead_air_started` / `dead_air_ended` around writing a chapter (the audience
    sees no new chapter meanwhile), `vote_arrived` when a ballot is accepted
  * websockets: `delivered` after each send (a vote update reaching an overlay closes the
    ballot → overlay delivery time opened by the first ballot not yet shown)
  * chat sources: `count_chat` (messages and ballots by source, from ChatHealth.count)
The gauges (state, chapter, votes, websockets, bus) are read at scrape time by
`exposition(snapshot, bus, stats)`, which serves GET /metrics.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from typing import Any, Protocol

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from storyd.bus import EventBus
from storyd.core import events as ev
from storyd.core.snapshot import Snapshot

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
STATES = ("idle", "generating", "presenting", "voting", "result", "finishing", "ended")

REGISTRY = CollectorRegistry(auto_describe=True)

PROVIDER_LATENCY = Histogram(
    "storyd_provider_request_seconds", "Provider request latency (successful answers)",
    ["provider", "kind"], registry=REGISTRY,
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60, 120))
PROVIDER_ERRORS = Counter(
    "storyd_provider_errors", "Failed or rejected provider requests", ["provider", "kind"],
    registry=REGISTRY)
TOKENS = Counter("storyd_provider_tokens", "Tokens used, as the providers report them",
                 ["provider"], registry=REGISTRY)
DEAD_AIR = Histogram(
    "storyd_dead_air_seconds", "Per chapter: time the audience waited for it to be written",
    registry=REGISTRY, buckets=(0.1, 0.25, 0.5, 1, 2, 3, 5, 8, 13, 20, 30, 60))
VOTE_DELIVERY = Histogram(
    "storyd_vote_delivery_seconds", "Ballot accepted → vote update sent to an overlay",
    registry=REGISTRY, buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.15,
                                0.2, 0.3, 0.5, 1, 2))   # most deliveries take under 10 ms
CHAT_MESSAGES = Counter("storyd_chat_messages", "Chat messages received", ["source"],
                        registry=REGISTRY)
BALLOTS = Counter("storyd_ballots", "Ballots cast or changed", ["source"], registry=REGISTRY)

_marks: dict[str, float] = {}
STALE_S = 5.0


def _now() -> float:
    return time.monotonic()


def observe_provider_latency(provider: str, kind: str, seconds: float) -> None:
    PROVIDER_LATENCY.labels(provider, kind).observe(max(seconds, 0.0))


def count_provider_error(provider: str, kind: str) -> None:
    PROVIDER_ERRORS.labels(provider, kind).inc()


def count_tokens(provider: str, n: int) -> None:
    if n > 0:
        TOKENS.labels(provider).inc(n)


def count_usage(provider: str, answer: Any) -> None:
    """Tokens from an OpenAI-style answer or stream chunk (`usage.total_tokens`), if any."""
    usage = answer.get("usage") if isinstance(answer, dict) else None
    total = usage.get("total_tokens") if isinstance(usage, dict) else None
    if isinstance(total, int) and not isinstance(total, bool):
        count_tokens(provider, total)


def observe_dead_air(seconds: float) -> None:
    DEAD_AIR.observe(max(seconds, 0.0))


def dead_air_started() -> None:
    _marks["dead_air"] = _now()


def dead_air_ended() -> None:
    started = _marks.pop("dead_air", None)
    if started is not None:
        observe_dead_air(_now() - started)


def observe_vote_delivery(seconds: float) -> None:
    VOTE_DELIVERY.observe(max(seconds, 0.0))


def vote_arrived() -> None:
    """A ballot was accepted; the first one not yet shown starts the delivery clock (a mark
    older than STALE_S means no overlay was listening: it starts again)."""
    now = _now()
    if now - _marks.get("vote", now) > STALE_S:
        del _marks["vote"]
    _marks.setdefault("vote", now)


def delivered(kind: str, event: Any) -> None:
    """A websocket sent `event`; a vote update reaching an overlay stops the clock."""
    if kind == "overlay" and isinstance(event, ev.VoteUpdate):
        started = _marks.pop("vote", None)
        if started is not None:
            observe_vote_delivery(_now() - started)


def count_chat_message(source: str, n: int = 1) -> None:
    if n > 0:
        CHAT_MESSAGES.labels(source).inc(n)


def count_ballot(source: str, n: int = 1) -> None:
    if n > 0:
        BALLOTS.labels(source).inc(n)


def count_chat(source: str, messages: int, ballots: int) -> None:
    """One chat batch from a source: its messages and the ballots they cast or changed."""
    count_chat_message(source, messages)
    count_ballot(source, ballots)


class SocketStats(Protocol):
    """The websocket counters (storyd.web.ws.WebStats)."""

    @property
    def open(self) -> Mapping[str, int]: ...
    @property
    def sent(self) -> int: ...
    @property
    def coalesced(self) -> int: ...
    @property
    def send_timeouts(self) -> int: ...


class _Live(Collector):
    """The gauges of one daemon, read when scraped."""

    def __init__(self, snap: Snapshot, bus: EventBus, stats: SocketStats) -> None:
        self.snap, self.bus, self.stats = snap, bus, stats

    def collect(self) -> Iterator[Metric]:
        snap = self.snap
        state = GaugeMetricFamily("storyd_state", "The story state (1 = current)",
                                  labels=["state"])
        for name in STATES:
            state.add_metric([name], int(snap.state == name))
        yield state
        yield GaugeMetricFamily("storyd_chapter_number", "Current chapter",
                                value=snap.chapter_number or 0)
        if snap.voting is not None:
            votes = GaugeMetricFamily("storyd_votes", "Votes per choice in the current round",
                                      labels=["choice"])
            for choice, count in zip(snap.voting.choices, snap.voting.counts, strict=False):
                votes.add_metric([choice.key], count)
            yield votes
            yield GaugeMetricFamily("storyd_voters", "Voters in the current round",
                                    value=snap.voting.voters)
        bus = self.bus
        yield GaugeMetricFamily("storyd_bus_subscribers", "Bus subscribers",
                                value=bus.subscribers)
        yield CounterMetricFamily("storyd_bus_published", "Events published",
                                  value=bus.published)
        yield CounterMetricFamily("storyd_bus_dropped", "Events dropped for slow subscribers",
                                  value=bus.dropped)
        sockets = GaugeMetricFamily("storyd_websockets", "Open websockets", labels=["kind"])
        for kind, n in self.stats.open.items():
            sockets.add_metric([kind], n)
        yield sockets
        yield CounterMetricFamily("storyd_ws_messages_sent", "Websocket messages sent",
                                  value=self.stats.sent)
        yield CounterMetricFamily("storyd_ws_vote_updates_coalesced",
                                  "Vote updates merged into a later one",
                                  value=self.stats.coalesced)
        yield CounterMetricFamily("storyd_ws_send_timeouts", "Clients dropped for not reading",
                                  value=self.stats.send_timeouts)


def exposition(snap: Snapshot, bus: EventBus, stats: SocketStats) -> bytes:
    """The text exposition for GET /metrics: the show's gauges (from `snap`), the bus's and
    the websockets', then the process's histograms and counters."""
    live = CollectorRegistry(auto_describe=False)
    live.register(_Live(snap, bus, stats))
    return generate_latest(live) + generate_latest(REGISTRY)
