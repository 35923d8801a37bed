"""GET /metrics from a real daemon, read back with prometheus_client's own parser."""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import trio
import trio_websocket
from prometheus_client.parser import text_string_to_metric_families

from storyd.app import Daemon
from storyd.control import dispatch
from storyd.control import protocol as p
from storyd.system import metrics
from tests.conftest import wait_for_event

TIMEOUT = 30
ROOT = Path(__file__).resolve().parent.parent


def parse(text: str) -> dict[str, list[Any]]:
    """Samples by metric family name."""
    return {fam.name: fam.samples for fam in text_string_to_metric_families(text)}


def value(families: dict[str, list[Any]], sample: str, **labels: str) -> float:
    for family in families.values():
        for s in family:
            if s.name == sample and all(s.labels.get(k) == v for k, v in labels.items()):
                return float(s.value)
    raise AssertionError(f"no sample {sample} {labels}")


async def test_metrics_parse_and_count_a_real_story(
        daemon_factory: Callable[..., Awaitable[Daemon]]) -> None:
    d = await daemon_factory()
    with trio.fail_after(TIMEOUT):
        async with httpx.AsyncClient(base_url=d.web_url, timeout=10) as client:
            before = parse((await client.get("/metrics")).text)
            assert value(before, "storyd_state", state="idle") == 1
            dead_before = value(before, "storyd_dead_air_seconds_count")
            delivery_before = value(before, "storyd_vote_delivery_seconds_count")
            host = d.web_url.removeprefix("http://")
            async with trio_websocket.open_websocket_url(f"ws://{host}/ws/overlay") as ws:
                await ws.get_message()   # the first full state: subscribed
                with d.bus.subscribe() as sub:
                    await dispatch.handle(d.operator, p.Start(theme="horror"))
                    await wait_for_event(sub, "story:voting-started", timeout=TIMEOUT)
                    await dispatch.handle(d.operator, p.Vote(viewer="ann", choice="b"))
                    await dispatch.handle(d.operator, p.Vote(viewer="bo", choice="a"))
                while '"story:vote-update"' not in await ws.get_message():
                    pass
            response = await client.get("/metrics")
    assert response.headers["content-type"] == metrics.CONTENT_TYPE
    after = parse(response.text)
    assert value(after, "storyd_state", state="voting") == 1
    assert value(after, "storyd_chapter_number") == 1
    assert value(after, "storyd_votes", choice="a") == 1
    assert value(after, "storyd_votes", choice="b") == 1
    assert value(after, "storyd_voters") == 2
    assert value(after, "storyd_dead_air_seconds_count") == dead_before + 1
    assert value(after, "storyd_vote_delivery_seconds_count") == delivery_before + 1
    assert value(after, "storyd_provider_request_seconds_count",
                 provider="offline", kind="text") >= 2   # the outline and chapter 1
    assert value(after, "storyd_chat_messages_total", source="local") >= 2
    assert value(after, "storyd_ballots_total", source="local") >= 2
    assert value(after, "storyd_bus_published_total") > value(before, "storyd_bus_published_total")
    assert value(after, "storyd_websockets", kind="overlay") == 0
    # every series the Grafana dashboard asks for is one the daemon serves
    served = set(after) | {s.name for samples in after.values() for s in samples}
    dashboard = json.loads((ROOT / "contrib" / "grafana" / "storyd-dashboard.json").read_text())
    wanted = {name for panel in dashboard["panels"] for target in panel["targets"]
              for name in re.findall(r"storyd_\w+", target["expr"])}
    wanted = {re.sub(r"_(total|bucket)$", "", w) if w not in served else w for w in wanted}
    assert wanted and wanted <= served, wanted - served


def test_usage_and_errors_count_by_provider() -> None:
    families = parse(metrics.generate_latest(metrics.REGISTRY).decode())
    try:
        tokens = value(families, "storyd_provider_tokens_total", provider="t-test")
    except AssertionError:
        tokens = 0.0
    metrics.count_usage("t-test", {"usage": {"total_tokens": 120}})
    metrics.count_usage("t-test", {"choices": []})                   # no usage: nothing
    metrics.count_usage("t-test", {"usage": {"total_tokens": "12"}})  # not a number: nothing
    metrics.count_usage("t-test", ["not", "a", "dict"])
    metrics.count_provider_error("t-test", "images")
    families = parse(metrics.generate_latest(metrics.REGISTRY).decode())
    assert value(families, "storyd_provider_tokens_total", provider="t-test") == tokens + 120
    assert value(families, "storyd_provider_errors_total", provider="t-test", kind="images") >= 1


def test_vote_delivery_buckets_reach_down_to_half_a_millisecond() -> None:
    """Most deliveries take under 10 ms (380 of 387 in a real run): the histogram resolves
    them (issue 22)."""
    families = parse(metrics.generate_latest(metrics.REGISTRY).decode())
    bounds = [float(s.labels["le"]) for s in families["storyd_vote_delivery_seconds"]
              if s.name.endswith("_bucket")]
    assert bounds[:5] == [0.0005, 0.001, 0.0025, 0.005, 0.01]
    metrics.observe_vote_delivery(0.0003)
    after = parse(metrics.generate_latest(metrics.REGISTRY).decode())
    first = next(s for s in after["storyd_vote_delivery_seconds"]
                 if s.name.endswith("_bucket") and s.labels["le"] == "0.0005")
    assert first.value >= 1
