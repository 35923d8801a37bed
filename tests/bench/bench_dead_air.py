"""Dead air with a real model's latency: branches written during the vote vs. none.

    .venv/bin/python tests/bench/bench_dead_air.py [--chapters 5] [--vote-seconds 20]
                                                   [--answer-seconds 6] [--modes all,off]
                                                   [--finish-at K]

For each `[llm] prefetch` mode a real daemon (`storyd.app.run_daemon`: SQLite, hypercorn, the
real provider chain with httpx) plays one story against the loopback OpenAI-compatible fake
(tests/fake_openai.py, `story_author`: coherent chapters that follow the winning choice)
answering every chat request after `--answer-seconds`. Votes close on their own timers
(`--vote-seconds`, `no_votes = "first"`), the result card shows for 5 s, narration and
pictures are off, so the only waiting is the writing. Printed per chapter: the seconds the
show spent in `generating` between the vote's `result` and the chapter's `presenting` (dead
air; chapter 1 has no vote before it: measured from `start`), and the provider calls made
for it (chat requests the fake answered since the previous chapter aired: prefetch writes a
branch per choice, so it costs more calls). Target: <= 1 s for every chapter after the first.
The last chapter is the closing one (issue 17: the climax without waiting): at the planned end
(`[story] max_chapters = --chapters`), or with `--finish-at K` after an operator's `finish` in
the first seconds of chapter K's vote (no planned length; the vote runs out).
"""

from __future__ import annotations

import argparse
import functools
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import tomlkit
import trio

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))  # run from a checkout, uninstalled

from storyd.app import run_daemon  # noqa: E402
from storyd.config import loader as config_mod  # noqa: E402
from storyd.core import events  # noqa: E402
from tests.fake_openai import FakeOpenAI, story_author  # noqa: E402


def write_config(tmp: Path, base_url: str, args: argparse.Namespace, prefetch: str) -> Path:
    cfg = {
        "server": {"host": "127.0.0.1", "port": 0},
        "control": {"socket": str(tmp / "control.sock")},
        "storage": {"data_dir": str(tmp / "data"), "cache_dir": str(tmp / "cache")},
        "providers": {"fake": {"preset": "custom", "base_url": base_url,
                               "text_model": "fake-text", "timeout": 60.0, "max_retries": 1}},
        "llm": {"chain": ["fake", "offline"], "prefetch": prefetch, "chapter_deadline": 60.0},
        "images": {"enabled": False}, "tts": {"enabled": False},
        "story": {"reveal_words_per_second": 0.0, "result_seconds": 5.0,
                  "max_chapters": 0 if args.finish_at else args.chapters},
        "voting": {"duration": args.vote_seconds, "no_votes": "first"},
    }
    path = tmp / "storyd.toml"
    path.write_text(tomlkit.dumps(cfg))
    return path


def chat_calls(fake: FakeOpenAI) -> int:
    return sum(1 for r in fake.requests if r["path"] == "/v1/chat/completions")


async def one_story(args: argparse.Namespace, prefetch: str) -> list[dict[str, Any]]:
    tmp = Path(tempfile.mkdtemp(prefix="storyd-bench-"))
    rows: list[dict[str, Any]] = []
    async with trio.open_nursery() as nursery:
        fake = FakeOpenAI("openai")
        fake.author = story_author
        fake.delay = args.answer_seconds
        base = await fake.start(nursery)
        path = write_config(tmp, base, args, prefetch)
        daemon: Any = await nursery.start(functools.partial(
            run_daemon, config_mod.load(path), path))
        with daemon.bus.subscribe(10_000) as sub:
            t_wait = time.monotonic()
            calls_before = chat_calls(fake)
            state = "idle"
            await daemon.director.start("fantasy")
            with trio.fail_after(args.chapters * (args.vote_seconds + 90)):
                async for event in sub:
                    if isinstance(event, events.Ended):
                        break
                    if (isinstance(event, events.VotingStarted) and event.data.extended is None
                            and event.data.round_id == args.finish_at):
                        await daemon.operator.finish()   # the vote runs out, then the ending
                    if not isinstance(event, events.State) or event.data.state == state:
                        continue
                    prev, state = state, event.data.state
                    if state in ("generating", "finishing") and prev == "result":
                        t_wait = time.monotonic()
                    elif state == "presenting":
                        now = chat_calls(fake)
                        rows.append({"chapter": event.data.chapter_number,
                                     "dead_air": time.monotonic() - t_wait,
                                     "calls": now - calls_before,
                                     "provider": (event.data.chapter.provider
                                                  if event.data.chapter else ""),
                                     "closing": bool(event.data.chapter
                                                     and event.data.chapter.closing)})
                        calls_before = now
        daemon.stop()
        fake.stop()
    return rows


async def main(args: argparse.Namespace) -> None:
    ending = (f"`finish` in chapter {args.finish_at}'s vote" if args.finish_at
              else f"{args.chapters} chapters planned")
    print(f"provider answers in {args.answer_seconds:g} s, votes of {args.vote_seconds} s, "
          f"result card 5 s, {ending}, python {sys.version.split()[0]}")
    for mode in args.modes:
        rows = await one_story(args, mode)
        for r in rows:
            print(f"prefetch={mode:7} chapter {r['chapter']}{' (closing)' if r['closing'] else ''}"
                  f": generating {r['dead_air']:5.2f} s after "
                  f"{'start' if r['chapter'] == 1 else 'the result'}; provider calls "
                  f"{r['calls']}; written by {r['provider']}")
        later = [r["dead_air"] for r in rows if r["chapter"] > 1]
        if later:
            print(f"prefetch={mode:7} chapters 2+: worst dead air {max(later):.2f} s "
                  f"(target <= 1 s); calls per aired chapter "
                  f"{sum(r['calls'] for r in rows) / len(rows):.1f}")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--chapters", type=int, default=5)
    ap.add_argument("--vote-seconds", type=int, default=20)
    ap.add_argument("--answer-seconds", type=float, default=6.0)
    ap.add_argument("--modes", type=lambda s: s.split(","), default=["all", "off"])
    ap.add_argument("--finish-at", type=int, default=0, metavar="K",
                    help="no planned length: `finish` as chapter K's vote opens")
    trio.run(main, ap.parse_args())
