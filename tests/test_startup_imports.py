"""Start-up cost stays low (issue 23 item 4): `storyctl status` imports only the control
client and its formatting, the daemon loads Pillow, pytest (via trio.testing) and TikTokLive
only after READY, and the collector stays off while the daemon starts. The figures are
measured by tests/bench/bench_storyctl.py and tests/bench/bench_ready.py; these tests fail
when a change brings an import back onto the start's path."""

from __future__ import annotations

import functools
import gc
import io
import json
import os
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest
import trio
import trio.testing

from storyd.chat import tiktok
from storyd.chat.base import ChatHealth
from storyd.config.structs import TikTokConfig
from storyd.control import protocol
from storyd.control.server import serve_control
from storyd.core.snapshot import ChoiceView, Snapshot, VotingView
from storyd.system import heap

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 30

# Nothing `storyctl status` needs: the daemon's frameworks, its storage and providers, the
# config file parser (the socket is given), and what only some commands use.
NOT_FOR_STATUS = {
    "trio", "quart", "quart_trio", "hypercorn", "httpx", "httpcore", "tomlkit", "TikTokLive",
    "PIL", "sqlite3", "prometheus_client", "asyncio", "pytest", "importlib.resources",
    "tempfile", "storyd.app", "storyd.config.loader", "storyd.store", "storyd.services",
    "storyd.web", "storyd.providers", "storyd.storyteller", "storyd.control.client",
    "storyd.control.server", "storyd.control.dispatch",
}
# Loaded after READY (or on first use), never while the daemon starts.
NOT_FOR_START = {"PIL", "pytest", "_pytest", "trio.testing", "TikTokLive",
                 "storyd.services.recap_png"}


def _modules_after(code: str) -> tuple[set[str], str]:
    """Run `code` in a fresh interpreter (this checkout first on the path); the modules it
    had imported by the end, and what it printed before."""
    probe = code + textwrap.dedent("""
        import json, sys
        print("\\nMODULES " + json.dumps(sorted(sys.modules)))
    """)
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    done = subprocess.run([sys.executable, "-c", probe], env=env, cwd=ROOT, text=True,
                          capture_output=True, timeout=TIMEOUT, check=False)
    assert done.returncode == 0, done.stderr
    out, _, mods = done.stdout.rpartition("\nMODULES ")
    return set(json.loads(mods)), out


def _loaded(modules: set[str], names: set[str]) -> set[str]:
    """The `names` (packages count with their submodules) that are in `modules`."""
    return {n for n in names if any(m == n or m.startswith(n + ".") for m in modules)}


async def test_storyctl_status_imports_only_the_control_client(tmp_path: Path) -> None:
    now_ms = 1_700_000_000_000
    choices = (ChoiceView(key="a", text="Take the stairs"), ChoiceView(key="b", text="Hack it"))
    status = Snapshot(state="voting", revision=3, server_time_ms=now_ms, session_id=4,
                      theme="cyberpunk", theme_name="Cyberpunk", language="en",
                      chapter_number=2, title="The Neon Gate", choices=choices,
                      voting=VotingView(round_id=2, choices=choices, counts=(3, 1), voters=4,
                                        ends_at=now_ms + 30_000, open=True))
    seen: list[protocol.Request] = []

    async def handle(request: protocol.Request) -> Snapshot:
        seen.append(request)
        return status

    async def no_watch(send: object) -> None:
        raise AssertionError("status does not watch")

    sock = tmp_path / "c.sock"
    async with trio.open_nursery() as nursery:
        await nursery.start(serve_control, sock, handle, no_watch)
        code = (f"from storyd.ctl.main import main\n"
                f"assert main(['--socket', {str(sock)!r}, 'status']) == 0\n")
        with trio.fail_after(TIMEOUT):
            modules, out = await trio.to_thread.run_sync(_modules_after, code)
        nursery.cancel_scope.cancel()
    assert seen == [protocol.Status()]
    assert "The Neon Gate" in out and "Take the stairs" in out   # the real formatted answer
    assert _loaded(modules, NOT_FOR_STATUS) == set()


def test_the_daemons_modules_leave_pillow_pytest_and_tiktoklive_for_later() -> None:
    modules, _ = _modules_after("import storyd.app, storyd.chat.sources, storyd.chat.tiktok, "
                                "storyd.web.serve, storyd.control.dispatch\n")
    assert _loaded(modules, NOT_FOR_START) == set()


def test_storyd_version_starts_no_daemon_machinery() -> None:
    modules, out = _modules_after(textwrap.dedent("""
        from storyd import cli
        try:
            cli.main(["--version"])
        except SystemExit:
            pass
    """))
    assert "storyd " in out
    assert _loaded(modules, {"trio", "storyd.app", "tomlkit", "quart", "httpx"}) == set()


def test_the_collector_is_off_while_starting_and_as_it_was_after() -> None:
    assert gc.isenabled()
    with heap.starting():
        assert not gc.isenabled()
    assert gc.isenabled()            # a return before READY (--check-config, an error)
    gc.disable()
    with heap.starting():
        pass
    assert not gc.isenabled()        # not switched on behind a caller's back
    gc.enable()
    threshold = gc.get_threshold()
    try:
        with heap.starting():
            heap.settle()            # READY: on again, with the ready daemon's thresholds
            assert gc.isenabled() and gc.get_threshold()[0] == heap.YOUNG
        assert gc.isenabled()
    finally:
        gc.unfreeze()
        gc.set_threshold(*threshold)


class _Sink:
    def submit(self, *args: object, **kwargs: object) -> str:
        return "ignored"

    def submit_batch(self, *args: object, **kwargs: object) -> None:
        return None

    def submit_activity(self, *args: object, **kwargs: object) -> None:
        return None


async def test_tiktoklive_loads_only_once_the_daemon_is_settled(monkeypatch) -> None:
    loaded = trio.Event()
    calls: list[str] = []

    def prime() -> None:          # stands in for the TikTokLive import (a worker thread)
        calls.append(threading.current_thread().name)
        trio.from_thread.run_sync(loaded.set)

    monkeypatch.setattr(tiktok, "prime_event_metadata", prime)
    cfg = TikTokConfig(unique_id="streamer", room_id="7123", sign_api_url="http://127.0.0.1:9")
    settled = trio.Event()
    with trio.fail_after(TIMEOUT):
        async with trio.open_nursery() as nursery:
            await nursery.start(functools.partial(tiktok.run, settled=settled), cfg, _Sink(),
                                ChatHealth(source="tiktok"))
            await trio.testing.wait_all_tasks_blocked(cushion=0.1)   # all quiet: not READY
            assert calls == []
            settled.set()                                           # READY sent
            await loaded.wait()
            assert calls and calls[0] != threading.current_thread().name
            nursery.cancel_scope.cancel()


# Command lines of every shape: top-level options before the command, sub-subcommands, options
# with values, an abbreviated --socket, --json moved to the front by json_anywhere.
COMMAND_LINES = [
    ["status"], ["--socket", "/run/s.sock", "status"], ["--json", "status"], ["--sock=/s", "themes"],
    ["start", "horror", "--seed", "3", "--language", "de"], ["start", "--story", "en/fantasy"],
    ["vote", "alice", "b", "--name", "Al"], ["next"], ["next", "2"], ["finish", "--now"],
    ["sessions", "--limit", "5"], ["sessions", "--delete", "7"],
    ["session", "4", "--chapters", "--since", "1765134000"], ["recap", "4", "--png", "r.png"],
    ["config", "set", "voting.duration", "30"], ["config", "show"], ["config", "get", "x.y"],
    ["cameo", "remove", "Bob"], ["cameo", "list"], ["chat-import", "-", "--batch", "10"],
    ["export", "3", "-f", "html", "-o", "s.html"], ["extend", "12"], ["plan"], ["top-voters"],
    ["watch"], ["providers"], ["admin-url"], ["reset-demo"], ["memory"], ["end"], ["close"],
]


def test_the_one_command_parser_reads_every_line_as_the_full_parser_does() -> None:
    from storyd.ctl.main import build_parser, parse_words

    out, err = io.StringIO(), io.StringIO()
    for words in COMMAND_LINES:
        assert parse_words(words, out, err) == build_parser(out, err).parse_args(words), words
    assert out.getvalue() == err.getvalue() == ""


def test_the_one_command_parser_knows_one_command_and_leaves_help_and_errors_to_the_full_one(
        ) -> None:
    from storyd.ctl.main import _UsageExit, build_parser, parse_words

    quiet = io.StringIO()
    only_status = build_parser(quiet, quiet, "status")
    assert only_status.parse_args(["status"]).command == "status"
    with pytest.raises(_UsageExit):
        only_status.parse_args(["themes"])          # not built: what makes the fast path fast
    for words, status, stream, text in (
            (["stat"], 2, "err", "invalid choice: 'stat' (choose from 'status', 'themes'"),
            (["vote", "alice", "z"], 2, "err", "'z' is not a choice"),
            (["status", "-h"], 0, "out", "usage: storyctl status [-h]"),
            (["-h"], 0, "out", "top-voters"),
            ([], 2, "err", "the following arguments are required: COMMAND")):
        out, err = io.StringIO(), io.StringIO()
        with pytest.raises(_UsageExit) as exc:
            parse_words(words, out, err)
        assert exc.value.args[0] == status
        assert text in (out if stream == "out" else err).getvalue(), words
