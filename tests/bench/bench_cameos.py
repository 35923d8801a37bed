"""Cameos on the chat path: what `!join`/`!leave` cost, a 10,000-viewer join flood, and what
the rest of chat pays for cameos being on.

    PYTHONPATH=. python tests/bench/bench_cameos.py [--messages N] [--joins N] [--repeat R]

The real voting service (an open 3-choice round) and the real cameo service over a real
SQLite file (temporary folder), wired as the daemon wires them (`command_words` /
`on_command`). Three streams go through `voting.submit` in batches of 1,000:
- chat: the realistic mix of votes and chatter (no commands), with cameos off and on, each in
  a fresh round (twice, alternating) — the difference is what cameos cost every other message;
- a join flood: `--joins` distinct viewers typing `!join` (names of 8–20 characters, some with
  emoji and markup to clean), with `[audience] max_joined` 1000: joined, dropped and counted;
- the same viewers again typing `!join` and `!leave`.
Then the roster's persistence (one transaction) and the next chapter request's `adjust_request`
(offer and redaction) are timed. Figures are the best of `--repeat` runs.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import trio

from storyd.bus import EventBus
from storyd.config.structs import AudienceConfig, Config
from storyd.core.memory import StoryMemory
from storyd.core.model import ChapterDraft, ChapterRecord, ChapterRequest, ChatMessage
from storyd.core.snapshot import ChoiceView
from storyd.core.themes import THEMES
from storyd.services.cameos import CameoService
from storyd.services.clock import TrioClock
from storyd.services.story_state import StoryState
from storyd.services.voting import VotingService
from storyd.store.db import Store

BATCH = 1000


def chat_stream(n: int, rng: random.Random) -> list[ChatMessage]:
    texts = ["!a", "!b", "b", "!C", "2", "lol", "that was close", "!a go go", "GG", "!b!"]
    return [ChatMessage(platform="twitch", user_id=f"twitch:{rng.randrange(20_000)}",
                        name="v", text=rng.choice(texts)) for _ in range(n)]


def join_stream(n: int, rng: random.Random, text: str = "!join") -> list[ChatMessage]:
    decor = ["", "🔥", "<b>", "\u200b", " ", "\u202e"]
    return [ChatMessage(platform="twitch", user_id=f"twitch:{i}",
                        name=f"{rng.choice(decor)}Viewer{i:05d}{rng.choice(decor)}", text=text)
            for i in range(n)]


def timed(fn: Callable[[], object]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def feed(voting: VotingService, stream: list[ChatMessage]) -> None:
    for i in range(0, len(stream), BATCH):
        voting.submit(stream[i:i + BATCH])


async def one_run(folder: Path, messages: int, joins: int) -> dict[str, float]:
    cfg = [Config(audience=AudienceConfig(cameos=False, max_joined=1000))]
    store = await Store.open(folder / "bench.sqlite3")
    sid = await store.create_session(theme="fantasy", language="English", outline="",
                                     started_at=time.time(), settings={})
    for number in range(1, 6):
        await store.add_chapter(ChapterRecord(
            session_id=sid, number=number, closing=False, created_at=time.time(),
            draft=ChapterDraft(title="t", text="x", choices=("a", "b", "c"), provider="offline")))
    story = StoryState(session_id=sid, theme=THEMES["fantasy"], language="English", outline="",
                       seed=1, memory=StoryMemory())
    clock = TrioClock()
    voting = VotingService(store, EventBus(), clock, lambda: cfg[0].voting)
    cameos = CameoService(store, clock, lambda: cfg[0], story=lambda: story)
    voting.on_command = cameos.on_command
    rng = random.Random(7)
    chat = chat_stream(messages, rng)
    flood, again = join_stream(joins, rng), join_stream(joins, rng, "!join")
    leave = join_stream(joins, rng, "!leave")
    out: dict[str, float] = {}
    async with trio.open_nursery() as nursery:
        await nursery.start(voting.run)
        choices = tuple(ChoiceView(key=k, text=k) for k in "abc")
        for number, on in ((1, False), (2, True), (3, False), (4, True)):   # fresh rounds
            cfg[0] = Config(audience=AudienceConfig(cameos=on, max_joined=1000))
            voting.command_words = cameos.command_words()   # as the daemon's wiring does
            await voting.open(sid, number, choices, 600.0, 1)
            key = "chat_on" if on else "chat_off"
            out[key] = min(out.get(key, 1e9), timed(lambda: feed(voting, chat)))
            voting.close()
            await voting.record_result()
            voting.clear()
        await voting.open(sid, 5, choices, 600.0, 1)
        out["chat_on"] = timed(lambda: feed(voting, chat))
        out["flood"] = timed(lambda: feed(voting, flood))
        view = cameos.view()
        out["joined"], out["dropped"], out["refused"] = view.joined, view.dropped, view.refused
        out["again_and_leave"] = timed(lambda: (feed(voting, again), feed(voting, leave)))
        t0 = time.perf_counter()
        await cameos.flush()
        out["flush"] = time.perf_counter() - t0
        out["rows"] = len(await store.cameos(sid))
        req = ChapterRequest(theme=THEMES["fantasy"], language="English", chapter_number=2,
                             words=40, n_choices=3, previous_text="Viewer00001 waved. " * 20)
        out["adjust"] = timed(lambda: cameos.adjust_request(req))
        nursery.cancel_scope.cancel()
    await store.aclose()
    return out


async def main(args: argparse.Namespace) -> None:
    runs = []
    for _ in range(args.repeat):
        with tempfile.TemporaryDirectory() as tmp:
            runs.append(await one_run(Path(tmp), args.messages, args.joins))
    best = {k: min(r[k] for r in runs) for k in runs[0]}
    n, j = args.messages, args.joins
    print(f"chat, cameos off : {n / best['chat_off']:>12,.0f} msg/s")
    print(f"chat, cameos on  : {n / best['chat_on']:>12,.0f} msg/s "
          f"({(best['chat_on'] - best['chat_off']) / n * 1e9:+.0f} ns per message)")
    print(f"join flood       : {j / best['flood']:>12,.0f} joins/s; {int(best['joined'])} joined, "
          f"{int(best['dropped'])} dropped, {int(best['refused'])} refused (offered: {j})")
    print(f"join again+leave : {2 * j / best['again_and_leave']:>12,.0f} commands/s")
    print(f"roster saved     : {best['flush'] * 1000:>12.1f} ms for {int(best['rows'])} rows")
    print(f"next request     : {best['adjust'] * 1e6:>12.0f} µs (offer + redaction)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=200_000)
    parser.add_argument("--joins", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    trio.run(main, parser.parse_args())
