"""`storyctl chat-import`: read a chat file, send it as `chat` requests.

The file is parsed first (storyd.chat.replay: bad lines are listed and skipped, exit 1).
Without --replay the requests of at most --batch messages are pipelined, up to IN_FLIGHT on
the one connection (each reply still comes only after its ballots are committed); --replay
paces them by the recorded `ts`, one at a time. A request line is split further until it
fits protocol.MAX_LINE.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any, BinaryIO, TextIO

import msgspec
import trio

from storyd.chat import replay
from storyd.control import protocol
from storyd.control.blocking_client import RemoteError
from storyd.control.client import ControlClient
from storyd.core.replies import IngestReply
from storyd.ctl.formatting_tables import format_import

IN_FLIGHT = 8
EXIT_OK, EXIT_REFUSED = 0, 1


def read_chat(name: str, stdin: TextIO) -> tuple[list[replay.Entry], list[replay.LineError]]:
    """Parse a chat file ('-' = stdin, read to its end). OSError when it cannot be read."""
    if name == "-":
        buffer: BinaryIO | TextIO = getattr(stdin, "buffer", None) or stdin
        return replay.parse_lines(buffer)
    with open(name, "rb") as f:
        return replay.parse_lines(f)


def split(group: list[replay.Entry]) -> list[list[replay.Entry]]:
    """Halve a group until each request line fits the protocol's line limit."""
    line = len(protocol.encode(protocol.Envelope(
        id=0, request=protocol.Chat(messages=[e.message for e in group]))))
    if line <= protocol.MAX_LINE or len(group) == 1:
        return [group]
    half = len(group) // 2
    return split(group[:half]) + split(group[half:])


async def _sent(client: ControlClient, plan: list[tuple[float, list[replay.Entry]]],
                replay_pace: bool) -> list[tuple[list[replay.Entry], Any]]:
    """(part, result or RemoteError) for every request, in order."""
    parts = [(delay, part) for delay, group in plan for part in split(group)]
    if not replay_pace:
        results = await client.pipeline(
            (protocol.Chat(messages=[e.message for e in part]) for _, part in parts), IN_FLIGHT)
        return [(part, result) for (_, part), result in zip(parts, results, strict=True)]
    out: list[tuple[list[replay.Entry], Any]] = []
    start = trio.current_time()
    for delay, part in parts:
        await trio.sleep_until(start + delay)
        try:
            out.append((part, await client.call(
                protocol.Chat(messages=[e.message for e in part]))))
        except RemoteError as exc:
            out.append((part, exc))
    return out


async def send_chat(args: argparse.Namespace, path: Path, out: TextIO, err: TextIO,
                    entries: list[replay.Entry], errors: list[replay.LineError]) -> int:
    """Send the entries; totals on `out`, problems on `err`."""
    for e in errors:
        err.write(f"storyctl: {args.file}: {e.where()}: {e.error}\n")
    plan = (replay.schedule(entries, args.speed, size=args.batch) if args.replay
            else [(0.0, group) for group in replay.batches(entries, args.batch)])
    totals: dict[str, Any] = {"sent": 0, "requests": 0, "accepted": 0, "invalid": 0,
                              "ignored": 0, "refused": 0, "seconds": None,
                              "bad_lines": msgspec.to_builtins(errors)}
    async with await ControlClient.connect(path) as client:
        start = trio.current_time()
        for part, result in await _sent(client, plan, args.replay):
            if isinstance(result, RemoteError):
                totals["refused"] += len(part)
                err.write(f"storyctl: {args.file}: lines {part[0].line}-{part[-1].line} "
                          f"refused: {result.code.replace('_', ' ')}: {result.message}\n")
                continue
            totals["requests"] += 1
            totals["sent"] += len(part)
            if isinstance(result, IngestReply):
                totals["accepted"] += result.accepted
                totals["invalid"] += result.invalid
                totals["ignored"] += result.ignored
        if args.replay:
            totals["seconds"] = round(trio.current_time() - start, 3)
    out.write(msgspec.json.encode(totals).decode() + "\n" if args.json
              else format_import(totals))
    return EXIT_REFUSED if errors or totals["refused"] else EXIT_OK
