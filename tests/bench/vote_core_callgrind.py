"""Instructions per message of the vote core on bench_vote_core.py's stream, for callgrind.

    valgrind --tool=callgrind --toggle-collect=partial_vectorcall \\
        python tests/bench/vote_core_callgrind.py [--messages 30000] [--viewers 1000] \\
                                                  [--part ingest|adapter|drain]

Timings on a machine shared with others move by ±20 % from run to run; instruction counts do
not. This runs the stream of `bench_vote_core.py --mix plugin` (same events, same seed, same
msgspec decode, the TikTok adapter `comment_message`, `VoteRound.ingest`, `drain_dirty` every
25 batches) and calls only the part named through a `functools.partial`, so callgrind's
`--toggle-collect=partial_vectorcall` counts that part alone: its "Collected" line divided by
--messages is the part's instructions per message. Prints the round's voters and counts (to
compare two versions: the same stream gives the same ballots). Compare versions with the same
arguments; instructions are not time (cache misses are not in them), so confirm a gain with the
side-by-side bench.
"""

from __future__ import annotations

import argparse
import functools
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import cast

import msgspec

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))  # run from a checkout, uninstalled

from storyd.chat.tiktok_rules import comment_message  # noqa: E402
from storyd.core.model import ChatMessage  # noqa: E402
from storyd.core.voting import RoundRules, VoteRound  # noqa: E402
from tests.bench.bench_vote_core import N_CHOICES, Wire, build_stream  # noqa: E402


def adapt(wires: list[Wire]) -> list[ChatMessage]:
    batch = []
    for w in wires:
        m = comment_message(w.userId, w.uniqueId, w.nickname, w.comment, w.msgId)
        if m is not None:
            batch.append(m)
    return batch


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--messages", type=int, default=30_000)
    ap.add_argument("--viewers", type=int, default=1_000)
    ap.add_argument("--part", choices=("ingest", "adapter", "drain"), default="ingest")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="storyd-vote-cg-") as tmp:
        path = Path(tmp) / "stream.jsonl"
        build_stream(path, args.messages, args.viewers, "plugin", 1_000, seed=args.viewers)
        lines = path.read_bytes().splitlines()
    decode = msgspec.json.Decoder(list[Wire]).decode
    rnd = VoteRound(round_id=1, n_choices=N_CHOICES, rules=RoundRules(), opens_at=0.0,
                    ends_at=60.0, seed=1)
    counted: Callable[..., object] = {"ingest": rnd.ingest, "adapter": adapt,
                                      "drain": rnd.drain_dirty}[args.part]
    timed: functools.partial[object] = functools.partial(counted)   # callgrind toggles on it
    for i, line in enumerate(lines):
        wires = decode(line)
        if args.part == "adapter":
            batch = cast("list[ChatMessage]", timed(wires))
        else:
            batch = adapt(wires)
        if args.part == "ingest":
            timed(batch)
        else:
            rnd.ingest(batch)
        if i % 25 == 24:
            if args.part == "drain":
                timed()
            else:
                rnd.drain_dirty()
    print(f"{args.part}: {args.messages:,} messages, voters {rnd.voters:,}, counts {rnd.counts}")


if __name__ == "__main__":
    main()
