"""Time from vote close to the next chapter on screen, with a provider answering in 3 s.

Run: .venv/bin/python tests/bench/bench_next_chapter_latency.py [--rounds 5] [--delay 3]
     [--result-seconds 0]

Real time, real sockets: a storyd daemon (SQLite, web server, control socket in a temp dir)
with `[llm] chain = ["fake", "offline"]` and `[images] chain = ["fake"]`, the loopback fake
OpenAI server waiting `--delay` seconds before every chat answer (streamed). An overlay
client is connected to `/ws/overlay` over a real websocket. Each round closes the running
vote (`director.close()`, as `storyctl close` does) and measures until the overlay receives
`story:chapter-ready` for the next chapter. `--result-seconds` is the on-screen pause that
shows the winner (default config: 5 s); 0 measures the pipeline alone.
"""

from __future__ import annotations

import argparse
import functools
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import trio
from trio_websocket import open_websocket_url

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from conftest import make_config_text  # noqa: E402
from fake_openai import FakeOpenAI, story_author  # noqa: E402

from storyd.app import run_daemon  # noqa: E402
from storyd.config import loader as config_mod  # noqa: E402

OUTLINE = "Mira, a young gardener, must stop Vorn from stealing the lanterns' light."


async def next_event(ws: Any, name: str) -> dict[str, Any]:
    while True:
        msg = json.loads(await ws.get_message())
        if msg["event"] == name:
            return msg["data"]  # type: ignore[no-any-return]


async def measure(rounds: int, delay: float, result_seconds: float) -> list[float]:
    tmp = Path(tempfile.mkdtemp(prefix="storyd-bench-"))
    latencies: list[float] = []
    async with trio.open_nursery() as nursery:
        fake = FakeOpenAI("openai")
        fake.author = story_author
        base = await fake.start(nursery)
        text = make_config_text(tmp, {
            "providers": {"fake": {"base_url": base, "text_model": "fake-text",
                                   "image_model": "fake-image", "timeout": 30.0}},
            "llm": {"chain": ["fake", "offline"]}, "images": {"chain": ["fake"]},
            "story": {"result_seconds": result_seconds}, "voting": {"no_votes": "first"}})
        path = tmp / "storyd.toml"
        path.write_text(text)
        daemon: Any = await nursery.start(functools.partial(run_daemon, config_mod.load(path),
                                                            path))
        url = daemon.web_url.replace("http://", "ws://") + "/ws/overlay"
        async with open_websocket_url(url, message_queue_size=4096) as ws:
            with trio.fail_after(60):
                await daemon.director.start("fantasy", outline=OUTLINE)
                await next_event(ws, "story:voting-started")
            fake.delay = delay
            for n in range(2, rounds + 2):
                with trio.fail_after(delay * 3 + result_seconds + 30):
                    t0 = time.perf_counter()
                    await daemon.director.close()
                    ready = await next_event(ws, "story:chapter-ready")
                    latencies.append(time.perf_counter() - t0)
                    assert ready["number"] == n and ready["provider"] == "fake", ready
                    await next_event(ws, "story:voting-started")
        daemon.stop()
        fake.stop()
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--delay", type=float, default=3.0)
    parser.add_argument("--result-seconds", type=float, default=0.0)
    args = parser.parse_args()
    lat = trio.run(measure, args.rounds, args.delay, args.result_seconds)
    p50 = statistics.median(lat)
    extra = args.delay + args.result_seconds
    print(f"vote close -> next chapter on the overlay, provider answering in {args.delay:g} s, "
          f"result pause {args.result_seconds:g} s, {len(lat)} rounds: "
          f"p50 {p50:.3f} s, min {min(lat):.3f} s, max {max(lat):.3f} s; "
          f"overhead beyond the provider{' and pause' if args.result_seconds else ''}: "
          f"p50 {(p50 - extra) * 1000:.0f} ms, max {(max(lat) - extra) * 1000:.0f} ms")


if __name__ == "__main__":
    main()
