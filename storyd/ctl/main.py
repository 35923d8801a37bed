"""storyctl: the operator's command, a thin client of storyd's control socket.

Imports are what a command needs: the one-shot commands (`status`, `vote`, …) go over a
blocking socket (storyd.control.blocking_client) without starting an event loop, so
`storyctl status` costs about one interpreter start; only `watch` and `chat-import` load
trio and the trio client.

Each command becomes one protocol request (storyd.control.protocol); the result prints
human-readable by default or as one JSON line with --json (anywhere on the command line;
refusals then are `{"error": {"code", "message"}}` on stdout with the same exit code).
Exit codes: 0 ok, 1 the daemon refused (message on stderr), 2 usage error, 3 storyd is not
running. `reset-demo` works on the files, not the socket (storyd.ctl.demo).

`chat-import` is storyd.ctl.chat_import (pipelined `chat` requests; --replay paced).
"""

from __future__ import annotations

import argparse
import functools
import io
import math
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn, TextIO, cast

import msgspec

from storyd.chat import replay
from storyd.control import protocol
from storyd.control.blocking_client import DaemonNotRunning, RemoteError, call_once
from storyd.core.replies import ExportReply, ProviderCheck
from storyd.ctl import aftershow as ctl_after
from storyd.ctl import audience as ctl_audience
from storyd.ctl import plan as ctl_plan
from storyd.ctl.command_subset import OneCommand
from storyd.ctl.formatting import format_result
from storyd.errors import ControlError, StorydError
from storyd.system import paths

EXIT_OK, EXIT_REFUSED, EXIT_USAGE, EXIT_NOT_RUNNING, EXIT_INTERRUPTED = 0, 1, 2, 3, 130


class _UsageExit(Exception):
    """argparse wants to exit: args[0] is the exit status."""


class _Parser(argparse.ArgumentParser):
    """argparse that writes to the given streams and raises instead of calling sys.exit."""

    def __init__(self, *args: Any, out: TextIO, err: TextIO, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._out, self._err = out, err

    def _print_message(self, message: str, file: Any = None) -> None:
        if message:
            (self._out if file is sys.stdout else self._err).write(message)

    def exit(self, status: int = 0, message: str | None = None) -> NoReturn:
        if message:
            self._err.write(message)
        raise _UsageExit(status)


def _choice(raw: str) -> str:
    try:
        protocol.parse_choice(raw, 6)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return raw


def _positive(raw: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"'{raw}' is not a positive whole number")
    return value


def _speed(raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        value = 0.0
    if not (value > 0 and math.isfinite(value)):
        raise argparse.ArgumentTypeError(f"'{raw}' is not a positive number")
    return value


def _batch_size(raw: str) -> int:
    value = _positive(raw)
    if value > replay.MAX_BATCH:
        raise argparse.ArgumentTypeError(f"at most {replay.MAX_BATCH} messages per request")
    return value


def build_parser(out: TextIO, err: TextIO, command: str | None = None
                 ) -> argparse.ArgumentParser:
    """storyctl's parser; with `command`, one that knows that command only (parse_words)."""
    make = cast(type[_Parser], functools.partial(_Parser, out=out, err=err))
    p = _Parser(out=out, err=err, prog="storyctl",
                description="Control a running storyd over its control socket.")
    p.add_argument("--socket", type=Path, metavar="PATH",
                   help="control socket (default: [control] socket, $STORYD_SOCKET, "
                        "$XDG_RUNTIME_DIR/storyd/control.sock)")
    p.add_argument("--json", action="store_true", help="print the raw result as one JSON line")
    subparsers = p.add_subparsers(dest="command", required=True, metavar="COMMAND",
                                  parser_class=make)
    sub: Any = subparsers if command is None else OneCommand(subparsers, command)
    sub.add_parser("status", help="state, chapter, vote tallies, chat sources, providers")
    sub.add_parser("themes", help="the theme catalogue")
    sub.add_parser("stories", help="the shipped authored stories (language, theme, title)")
    s = sub.add_parser("start", help="start a story")
    s.add_argument("theme", nargs="?", metavar="THEME")
    s.add_argument("--story", metavar="FILE|ID",
                   help="play an authored story: a Twee 3 file, or a shipped story's id "
                        "(see `storyctl stories`)")
    s.add_argument("--outline", metavar="TEXT")
    s.add_argument("--language", metavar="LANG")
    s.add_argument("--force", action="store_true", help="end a running story first")
    s.add_argument("--seed", type=int, metavar="N",
                   help="reproduce a story exactly (same theme, outline and choices)")
    s = sub.add_parser("vote", help="inject one chat vote")
    s.add_argument("viewer", metavar="VIEWER")
    s.add_argument("choice", type=_choice, metavar="CHOICE", help="a-f or 1-6")
    s.add_argument("--name", help="display name of the viewer")
    sub.add_parser("close", help="close the running vote now")
    s = sub.add_parser("next", help="advance now (vote winner, or a forced choice)")
    s.add_argument("choice", nargs="?", type=_choice, metavar="CHOICE")
    s = sub.add_parser("finish", help="write a closing chapter next, then end")
    s.add_argument("--now", action="store_true", help="close a running vote now (else it runs out)")
    sub.add_parser("end", help="end the story now")
    ctl_plan.add_commands(sub)
    sub.add_parser("regenerate-image", help="new picture for the current chapter")
    sub.add_parser("memory", help="the story memory")
    s = sub.add_parser("sessions", help="story history")
    s.add_argument("--limit", type=_positive, default=20)
    s.add_argument("--offset", type=int, default=0)
    s.add_argument("--delete", type=_positive, metavar="ID",
                   help="delete a stored session (not the running one)")
    sub.add_parser("reset-demo", help="delete what `storyd --demo` stored (database, media)")
    s = sub.add_parser("session", help="one session")
    s.add_argument("id", type=int, metavar="ID")
    ctl_after.add_options(s, sub)
    s = sub.add_parser("top-voters", help="the most active voters")
    s.add_argument("--limit", type=_positive, default=10)
    s = sub.add_parser("config", help="show, get or set configuration")
    csub = s.add_subparsers(dest="config_command", required=True, metavar="show|get|set",
                            parser_class=make)
    csub.add_parser("show", help="the effective configuration (secrets masked)")
    c = csub.add_parser("get", help="one value")
    c.add_argument("key", metavar="KEY")
    c = csub.add_parser("set", help="change one value (the file keeps its comments)")
    c.add_argument("key", metavar="KEY")
    c.add_argument("value", metavar="VALUE")
    s = sub.add_parser("export", help="export a session")
    s.add_argument("id", type=int, metavar="ID")
    s.add_argument("--format", "-f", choices=("md", "html", "twee", "json"), default="md")
    s.add_argument("-o", "--output", type=Path, metavar="FILE", help="write here, not stdout")
    sub.add_parser("watch", help="stream live events until interrupted")
    sub.add_parser("providers", help="probe every configured provider once")
    s = sub.add_parser("chat-import", help="send chat messages from a JSON-lines file",
                       description="Each line: {platform, user_id, name, text} (optional msg_id, "
                                   "ts in epoch seconds) or a JSON array of such objects. "
                                   "Bad lines are reported and skipped (exit 1).")
    s.add_argument("file", metavar="FILE", help="JSON-lines file, '-' for stdin")
    s.add_argument("--replay", action="store_true",
                   help="play back at the recorded pace (the ts field)")
    s.add_argument("--speed", type=_speed, default=1.0, metavar="X",
                   help="with --replay: X times faster (default 1)")
    s.add_argument("--batch", type=_batch_size, default=replay.DEFAULT_BATCH, metavar="N",
                   help=f"messages per request (1-{replay.MAX_BATCH}, "
                        f"default {replay.DEFAULT_BATCH})")
    sub.add_parser("admin-url", help="the admin page URL with its access token")
    ctl_audience.add_parsers(sub, make)
    return p


def to_request(args: argparse.Namespace) -> protocol.Request:
    """The protocol request for parsed arguments."""
    after = ctl_after.to_request(args) or ctl_plan.to_request(args) or ctl_audience.to_request(args)
    if after is not None:
        return after
    match args.command:
        case "start":
            return protocol.Start(theme=args.theme, outline=args.outline,
                                  language=args.language, force=args.force, seed=args.seed,
                                  story=_story_arg(args.story))
        case "vote":
            return protocol.Vote(viewer=args.viewer, choice=args.choice, name=args.name)
        case "next":
            return protocol.Next(choice=args.choice)
        case "finish":
            return protocol.Finish(now=args.now)
        case "sessions":
            if args.delete is not None:
                return protocol.DeleteSession(id=args.delete)
            return protocol.Sessions(limit=args.limit, offset=args.offset)
        case "session":
            return protocol.Session(id=args.id)
        case "top-voters":
            return protocol.TopVoters(limit=args.limit)
        case "export":
            return protocol.Export(id=args.id, format=args.format)
        case "config":
            if args.config_command == "get":
                return protocol.ConfigGet(key=args.key)
            if args.config_command == "set":
                return protocol.ConfigSet(key=args.key, value=args.value)
            return protocol.ConfigShow(origins=True)
    simple: dict[str, type[Any]] = {
        "status": protocol.Status, "themes": protocol.Themes, "stories": protocol.Stories,
        "close": protocol.Close, "end": protocol.End, "memory": protocol.Memory,
        "regenerate-image": protocol.RegenerateImage,
        "watch": protocol.Watch, "admin-url": protocol.AdminUrl, "providers": protocol.Providers}
    return simple[args.command]()  # type: ignore[no-any-return]


def _story_arg(value: str | None) -> str | None:
    """A story file the daemon reads by its absolute path; anything else is sent as an id."""
    path = Path(value or "").expanduser()
    return str(path.resolve()) if value and path.exists() else value


def _default_socket() -> Path:
    """[control] socket from the config file when it can be read, else the environment."""
    try:
        from storyd.config.loader import load
        return paths.socket_path(load(paths.config_path()))
    except (StorydError, OSError):
        return paths.socket_path(None)


def _json_line(value: Any) -> str:
    return msgspec.json.encode(value).decode() + "\n"


async def _watch(path: Path, out: TextIO, as_json: bool) -> int:
    from storyd.control.client import ControlClient
    from storyd.ctl.formatting import format_event

    async with await ControlClient.connect(path) as client:
        async for event in client.watch():
            plain = msgspec.json.decode(msgspec.json.encode(event))
            out.write(_json_line(plain) if as_json else format_event(plain, time.time()))
            out.flush()
    return EXIT_OK


def _run(args: argparse.Namespace, path: Path, out: TextIO, err: TextIO,
         chat: tuple[list[replay.Entry], list[replay.LineError]] | None = None) -> int:
    if chat is not None:
        import trio

        from storyd.ctl.chat_import import send_chat
        return trio.run(send_chat, args, path, out, err, *chat)
    request = to_request(args)
    if isinstance(request, protocol.Watch):
        import trio
        return trio.run(_watch, path, out, args.json)
    answer = call_once(path, request)   # a Struct of the request's answer type
    result = msgspec.json.decode(msgspec.json.encode(answer))   # formatters read the JSON
    if args.json:
        out.write(_json_line(answer))
    elif ctl_after.write_result(args, result, out, err):
        pass
    elif isinstance(answer, ExportReply) and args.output is not None:
        try:
            args.output.write_text(answer.content, encoding="utf-8")
        except OSError as exc:
            raise ControlError(f"cannot write {args.output}: {exc.strerror}") from None
        out.write(f"wrote {args.output} ({len(answer.content.encode())} bytes)\n")
    else:
        out.write(format_result(args.command, getattr(args, "config_command", None), result,
                                now_ms=int(time.time() * 1000),
                                unicode=(getattr(out, "encoding", None) or "utf-8").lower()
                                .replace("-", "") == "utf8"))
    if isinstance(answer, list) and any(isinstance(r, ProviderCheck) and not r.ok
                                        for r in answer):
        return EXIT_REFUSED          # a failing provider: scripts and monitors can tell
    return EXIT_OK


def parse_words(words: Sequence[str], out: TextIO, err: TextIO) -> argparse.Namespace:
    """The parsed command line (_UsageExit for help and usage errors). The parser of the one
    command named is tried first; help, an error, or a line it reads as another command go
    to the full parser, so what is accepted and every message are the full parser's."""
    it = iter(words)
    for word in it:            # the command: the first word that is no option nor its value
        if word == "--socket":
            next(it, None)
        elif not word.startswith("-"):
            try:
                args = build_parser(io.StringIO(), io.StringIO(), word).parse_args(words)
            except _UsageExit:
                break
            if args.command == word:
                return args
            break
    return build_parser(out, err).parse_args(words)


def json_anywhere(argv: Sequence[str]) -> list[str]:
    """`storyctl status --json` = `storyctl --json status`: --json moves to the front
    (words after a `--` are left alone)."""
    words = list(argv)
    stop = words.index("--") if "--" in words else len(words)
    if "--json" not in words[:stop]:
        return words
    return ["--json"] + [w for i, w in enumerate(words) if w != "--json" or i > stop]


class _Refusal(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def main(argv: Sequence[str] | None = None, *, stdout: TextIO | None = None,
         stderr: TextIO | None = None, stdin: TextIO | None = None) -> int:
    """Run storyctl; returns the exit code (0 ok, 1 refused, 2 usage, 3 not running)."""
    out, err = stdout or sys.stdout, stderr or sys.stderr
    words = json_anywhere(sys.argv[1:] if argv is None else argv)
    try:
        args = parse_words(words, out, err)
    except _UsageExit as exc:
        return int(exc.args[0])
    try:
        return _main(args, out, err, stdin)
    except _Refusal as exc:
        if args.json:
            out.write(_json_line({"error": {"code": exc.code, "message": exc.message}}))
        else:
            err.write(f"storyctl: {exc.message}\n")
        return exc.status


def _main(args: argparse.Namespace, out: TextIO, err: TextIO, stdin: TextIO | None) -> int:
    chat = None
    if args.command == "chat-import":
        from storyd.ctl.chat_import import read_chat
        try:
            chat = read_chat(args.file, stdin if stdin is not None else sys.stdin)
        except OSError as exc:
            err.write(f"storyctl: cannot read {args.file}: {exc.strerror or exc}\n")
            return EXIT_USAGE
    path = args.socket if args.socket is not None else _default_socket()
    if args.command == "reset-demo":
        from storyd.ctl import demo as ctl_demo
        try:
            text = ctl_demo.reset_demo(path)
        except ctl_demo.DemoRefusal as exc:
            raise _Refusal(EXIT_REFUSED, exc.code, str(exc)) from None
        out.write(_json_line({"result": text}) if args.json else text + "\n")
        return EXIT_OK
    try:
        return _run(args, path, out, err, chat)
    except DaemonNotRunning as exc:
        raise _Refusal(EXIT_NOT_RUNNING, "not_running",
                       f"storyd is not running (no socket at {exc.path}) — start it with "
                       "`storyd` or `systemctl --user start storyd`") from None
    except RemoteError as exc:
        raise _Refusal(EXIT_REFUSED, exc.code,
                       f"{exc.code.replace('_', ' ')}: {exc.message}") from None
    except ControlError as exc:
        raise _Refusal(EXIT_REFUSED, "control_error", str(exc)) from None
    except KeyboardInterrupt:
        return EXIT_OK if args.command == "watch" else EXIT_INTERRUPTED
    except BrokenPipeError:
        if out is sys.stdout:  # `storyctl watch | head`: stop quietly (see Python's signal docs)
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
