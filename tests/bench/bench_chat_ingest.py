"""Chat ingest end to end: a running daemon, ballots persisted, overlays updated, the close.

    python tests/bench/bench_chat_ingest.py [--messages N] [--viewers 500,5000,20000,100000]
                                            [--socket-messages N] [--in-flight 8]
                                            [--subscribers 10]

An in-process `run_daemon` on temporary folders (real SQLite in WAL mode, offline providers,
4 choices, 300-second rounds, early close off) with `--subscribers` bus subscribers standing
in for overlays, each counting the `story:vote-update` events it receives.

For every audience size a fresh story is started (`start --force`) and, once its vote is open,
`--messages` pre-built ChatMessages (the realistic mix of tests/bench/bench_vote_core.py: exact
votes, votes with words, chatter, changed votes, a few invalid) go through
`voting.submit(batch)` in batches of 1,000 — the path every chat source uses — with a trio
checkpoint after each batch, so the vote-update ticker, the ballot flusher (every 250 ms; its
SQLite writes run on the store's thread, concurrently) and the subscribers all run inside the
timed window. The ingest clock stops once every ballot is committed to SQLite
(`voting.commit()`, the durable acknowledgement the ingest API gives: the ballots are in the
ballot log then, store/ballot_log.py). Then the close: `close` until `story:voting-ended`
(the result card: what the next chapter waits for), and separately until the voters' credit
in viewer stats is on disk (off the show's path: the log is folded into story_ballots first,
then the voters are credited). After that the bench checks that story_ballots holds exactly
one row per distinct voter of the round (so the check is after the fold). End to end =
messages / (ingest + close to the result card). The stream is built untimed and
frozen out of the GC (gc.freeze), as the pre-built input is not the daemon's heap.

Issue 23's targets: end to end at 100,000 viewers >= 0.5x the rate at 500, and the close with
100,000 voters adding <= 0.5 s before the next chapter can air.

Then the control-socket path, at the first and the last audience size: `Chat` requests of
1,000 messages (pre-encoded envelope lines) over the Unix socket from a client task in the
same process, `--in-flight` requests pipelined on one connection (each reply still only after
its commit): decode, validation and ChatMessage building in dispatch, submit, reply. Issue
23's target: >= 100,000 msgs/s; the ratio of the two sizes is end to end as a chat source
in another process sees it (issue 23 item 2 from the outside).
"""

from __future__ import annotations

import argparse
import functools
import gc
import sqlite3
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import msgspec
import tomlkit
import trio

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))  # run from a checkout, uninstalled
sys.path.insert(0, str(ROOT / "tests" / "bench"))

from bench_vote_core import N_CHOICES, chat_messages  # noqa: E402

from storyd.app import Daemon, run_daemon  # noqa: E402
from storyd.config import loader as config_mod  # noqa: E402
from storyd.control import protocol  # noqa: E402
from storyd.core import events  # noqa: E402
from storyd.core.model import ChatMessage  # noqa: E402

BATCH = 1_000


def write_config(tmp: Path) -> Path:
    cfg = {
        "server": {"host": "127.0.0.1", "port": 0},
        "control": {"socket": str(tmp / "run" / "control.sock")},
        "storage": {"data_dir": str(tmp / "data"), "cache_dir": str(tmp / "cache")},
        "story": {"reveal_words_per_second": 0.0, "result_seconds": 1.0,
                  "choices": N_CHOICES},
        "tts": {"enabled": False},
        "images": {"enabled": False},
        "voting": {"duration": 300, "early_close": False},
    }
    path = tmp / "storyd.toml"
    path.write_text(tomlkit.dumps(cfg))
    return path


async def counting_subscriber(daemon: Daemon, counts: list[int], i: int) -> None:
    with daemon.bus.subscribe() as sub:
        async for event in sub:
            if isinstance(event, events.VoteUpdate):
                counts[i] += 1


async def open_vote(daemon: Daemon) -> None:
    with daemon.bus.subscribe(4096) as sub:
        await daemon.director.start("mystery", force=True)
        with trio.fail_after(60):
            async for event in sub:
                if isinstance(event, events.VotingStarted):
                    return


def ballot_rows(daemon: Daemon, session_id: int) -> int:
    db = sqlite3.connect(daemon.data_dir / "storyd.sqlite3")
    try:
        return int(db.execute("SELECT COUNT(*) FROM story_ballots WHERE session_id = ?",
                              (session_id,)).fetchone()[0])
    finally:
        db.close()


async def close_vote(daemon: Daemon) -> tuple[dict[str, Any], float, float]:
    """The result, seconds from `close` to `story:voting-ended`, and to the credit on disk."""
    with daemon.bus.subscribe(4096) as sub:
        t0 = time.perf_counter()
        await daemon.director.close()
        with trio.fail_after(120):
            async for event in sub:
                if isinstance(event, events.VotingEnded):
                    ended = time.perf_counter() - t0
                    credits = getattr(daemon.voting, "credits", None)   # older storyd: none
                    if credits is not None:
                        await credits.wait_idle()
                    credited = time.perf_counter() - t0
                    return (msgspec.to_builtins(event.data), ended,  # type: ignore[return-value]
                            credited)
    raise AssertionError("no story:voting-ended")


async def director_phase(daemon: Daemon, viewers: int, n_messages: int,
                         updates: list[int], wire: bool = False) -> dict[str, Any]:
    """`wire`: batches are kept as JSON and decoded (timed) right before each submit, as a
    source does, so the messages are fresh and hot in cache rather than pre-built and cold."""
    base = chat_messages(min(n_messages, 1_000_000), viewers, seed=viewers)
    batches: list[Any] = [base[i:i + BATCH] for i in range(0, len(base), BATCH)]
    decode = msgspec.json.Decoder(list[ChatMessage]).decode
    if wire:
        batches = [msgspec.json.encode(b) for b in batches]
        del base
    rounds = -(-n_messages // (len(batches) * BATCH))
    gc.collect()
    gc.freeze()
    await open_vote(daemon)
    story = daemon.director.story
    assert story is not None
    submit = daemon.voting.submit
    checkpoint = trio.lowlevel.checkpoint
    before = list(updates)
    sent = accepted = 0
    t0 = time.perf_counter()
    for _ in range(rounds):
        for b in batches:
            msgs = decode(b) if wire else b
            accepted += submit(msgs).accepted
            sent += len(msgs)
            await checkpoint()
    await daemon.voting.commit()          # the clock stops once the ballots are on disk
    elapsed = time.perf_counter() - t0
    flushed_during = ballot_rows(daemon, story.session_id)
    r = daemon.voting.round
    assert r is not None
    voters = r.voters
    ended, close_s, credit_s = await close_vote(daemon)
    rows = ballot_rows(daemon, story.session_id)
    gc.unfreeze()
    per_sub = [u - b for u, b in zip(updates, before, strict=True)]
    return {"viewers": viewers, "sent": sent, "seconds": elapsed, "rate": sent / elapsed,
            "e2e": sent / (elapsed + close_s), "close": close_s, "credit": credit_s,
            "accepted": accepted, "voters": voters, "ended_voters": ended["voters"],
            "rows": rows, "flushed_during": flushed_during,
            "updates_min": min(per_sub), "updates_max": max(per_sub)}


SOCKET_BATCH = 1_000


def encoded_requests(n_messages: int, viewers: int, batch: int) -> list[bytes]:
    stream = chat_messages(min(n_messages, 1_000_000), viewers, seed=3)
    lines = []
    for i in range(0, len(stream), batch):
        chunk = [protocol.ChatLine(platform="tiktok", user_id=m.user_id.removeprefix("tiktok:"),
                                   name=m.name, text=m.text, msg_id=m.msg_id)
                 for m in stream[i:i + batch]]
        lines.append(protocol.encode(protocol.Envelope(id=i // batch + 1,
                                                       request=protocol.Chat(messages=chunk))))
    return lines


async def socket_phase(daemon: Daemon, n_messages: int, viewers: int,
                       in_flight: int, batch: int) -> dict[str, Any]:
    lines = encoded_requests(n_messages, viewers, batch)
    rounds = -(-n_messages // (len(lines) * batch))
    await open_vote(daemon)
    stream = await trio.open_unix_socket(str(daemon.socket_path))
    window = trio.Semaphore(in_flight)
    sent = acked = 0
    t0 = time.perf_counter()

    async def reader() -> None:
        nonlocal acked
        buf = bytearray()
        while acked < sent or sending:
            while (nl := buf.find(b"\n")) < 0:
                chunk = await stream.receive_some(1 << 20)
                if not chunk:
                    raise RuntimeError("storyd closed the control connection")
                buf.extend(chunk)
            reply = msgspec.json.decode(bytes(buf[:nl]))
            del buf[:nl + 1]
            if not reply.get("ok"):
                raise RuntimeError(f"storyd refused a Chat request: {reply.get('error')}")
            acked += 1
            window.release()

    sending = True
    async with stream, trio.open_nursery() as nursery:
        nursery.start_soon(reader)
        for _ in range(rounds):
            for line in lines:
                await window.acquire()
                sent += 1
                await stream.send_all(line)
        sending = False
    elapsed = time.perf_counter() - t0
    ended, _, _ = await close_vote(daemon)
    return {"sent": acked * batch, "seconds": elapsed,
            "rate": acked * batch / elapsed, "voters": ended["voters"],
            "bytes": sum(map(len, lines)) // len(lines)}


async def main(args: argparse.Namespace) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="storyd-bench-"))
    path = write_config(tmp)
    cfg = config_mod.load(path)
    updates = [0] * args.subscribers
    async with trio.open_nursery() as nursery:
        daemon: Daemon = await nursery.start(functools.partial(run_daemon, cfg, path))
        for i in range(args.subscribers):
            nursery.start_soon(counting_subscriber, daemon, updates, i)
        print(f"daemon on {tmp} (SQLite WAL), {args.subscribers} bus subscribers, "
              f"batches of {BATCH}, python {sys.version.split()[0]}")
        results = []
        wires = (False, True) if args.wire else (False,)
        for viewers, wire in [(v, w) for w in wires for v in args.viewers]:
            res = await director_phase(daemon, viewers, args.messages, updates, wire)
            if not wire:
                results.append(res)
            ok = "ok" if res["rows"] == res["voters"] == res["ended_voters"] else "MISMATCH"
            kind = "wire" if wire else "path"
            print(f"director {kind}  {viewers:>7,} viewers: offered {res['sent']:>9,} msgs, "
                  f"ingest {res['seconds']:5.2f} s = {res['rate']:>11,.0f} msgs/s; close "
                  f"{res['close']:.3f} s to the result card (credit on disk after "
                  f"{res['credit']:.2f} s); end to end {res['e2e']:>11,.0f} msgs/s "
                  f"(ballots in SQLite {res['rows']:,} = voters {res['voters']:,}: {ok}; "
                  f"vote-updates per subscriber {res['updates_min']}-{res['updates_max']})",
                  flush=True)
        rates = [r["e2e"] for r in results]
        closes = [r["close"] for r in results]
        print(f"end to end at {results[-1]['viewers']:,} viewers / at "
              f"{results[0]['viewers']:,}: {rates[-1] / rates[0]:.2f} (target >= 0.5); close "
              f"with {results[-1]['voters']:,} voters {closes[-1]:.3f} s, "
              f"{closes[-1] - closes[0]:+.3f} s over {results[0]['voters']:,} voters "
              f"(target <= 0.5 s)")
        if args.socket_messages:
            socket_rates = []
            for viewers in dict.fromkeys((args.viewers[0], args.viewers[-1])):
                res = await socket_phase(daemon, args.socket_messages, viewers,
                                         args.in_flight, args.socket_batch)
                socket_rates.append(res["rate"])
                print(f"control socket {viewers:>7,} viewers: offered "
                      f"{args.socket_messages:,} msgs, acknowledged {res['sent']:>9,} in "
                      f"{res['seconds']:5.2f} s = {res['rate']:>11,.0f} msgs/s  (Chat requests "
                      f"of {args.socket_batch}, ~{res['bytes']:,} bytes each, {args.in_flight} in "
                      f"flight, each acknowledged after its commit; voters {res['voters']:,}; "
                      f"target >= 100,000 msgs/s)", flush=True)
            if len(socket_rates) == 2:
                print(f"control socket end to end at {args.viewers[-1]:,} viewers / at "
                      f"{args.viewers[0]:,}: {socket_rates[1] / socket_rates[0]:.2f} (from a "
                      f"client, acknowledged after commit; target >= 0.5)")
        print(f"bus drops (slow subscribers, lossy by design): {daemon.bus.dropped}")
        daemon.stop()


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--messages", type=int, default=3_000_000, help="per audience size")
    ap.add_argument("--viewers", type=lambda s: [int(x) for x in s.split(",")],
                    default=[500, 5_000, 20_000, 100_000])
    ap.add_argument("--socket-messages", type=int, default=1_000_000)
    ap.add_argument("--subscribers", type=int, default=10)
    ap.add_argument("--in-flight", type=int, default=8)
    ap.add_argument("--socket-batch", type=int, default=SOCKET_BATCH)
    ap.add_argument("--wire", action="store_true",
                    help="also time batches decoded from JSON right before each submit")
    trio.run(main, ap.parse_args())
