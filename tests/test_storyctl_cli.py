"""storyctl end to end: main() in a worker thread against a real control socket server."""

from __future__ import annotations

import functools
import io
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import msgspec
import pytest
import trio

from storyd.control import protocol
from storyd.control.server import serve_control
from storyd.core.snapshot import ChoiceView, Snapshot, VotingView
from storyd.ctl import main
from storyd.ctl_format import format_status
from storyd.errors import RefusedError

TIMEOUT = 10
CHOICES = (ChoiceView(key="a", text="Take the stairs"), ChoiceView(key="b", text="Hack the door"))


def snapshot(now_ms: int) -> Snapshot:
    return Snapshot(
        state="voting", revision=12, server_time=now_ms, session_id=4, theme="cyberpunk",
        theme_name="Cyberpunk", language="en", chapter_number=3, title="The Neon Gate",
        choices=CHOICES,
        voting=VotingView(round_id=3, choices=CHOICES, counts=(3, 1), voters=4,
                          ends_at=now_ms + 42_500, open=True, invalid=2),
        chat=({"source": "tiktok", "state": "connected", "messages": 120, "rate": 2.5},),
        providers={"text": {"name": "offline", "ok": True}})


class FakeDaemon:
    def __init__(self) -> None:
        self.requests: list[protocol.Request] = []

    async def handle(self, request: protocol.Request) -> Any:
        self.requests.append(request)
        match request:
            case protocol.Status():
                return snapshot(int(time.time() * 1000))
            case protocol.Close():
                raise RefusedError("no vote is running")
            case protocol.Export(id=session_id, format=fmt):
                return {"filename": f"s{session_id}.{fmt}", "content": f"# Session {session_id}\n"}
            case protocol.ConfigShow():
                return {"voting": {"duration": 60}, "server": {"port": 8080}}
            case protocol.AdminUrl():
                return "http://127.0.0.1:8080/admin/?token=abc"
        return None

    async def watch(self, send: Callable[[Any], Awaitable[None]]) -> None:
        await send({"event": "story:vote-update", "data": {"counts": [1, 0], "voters": 1}})
        await send({"event": "story:ended", "data": {"session_id": 4}})


@pytest.fixture
async def fake(nursery: trio.Nursery, tmp_path: Path) -> tuple[FakeDaemon, Path]:
    daemon = FakeDaemon()
    path = tmp_path / "run" / "c.sock"
    await nursery.start(serve_control, path, daemon.handle, daemon.watch)
    return daemon, path


async def ctl(path: Path | None, *argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    args = (["--socket", str(path)] if path is not None else []) + list(argv)
    with trio.fail_after(TIMEOUT):
        code = await trio.to_thread.run_sync(functools.partial(main, args, stdout=out,
                                                               stderr=err))
    return code, out.getvalue(), err.getvalue()


async def test_status_human(fake: tuple[FakeDaemon, Path]) -> None:
    code, out, err = await ctl(fake[1], "status")
    assert (code, err) == (0, "")
    assert "state: voting   session 4   theme: Cyberpunk (en)" in out
    assert "chapter 3: The Neon Gate" in out
    assert "vote: open, 4" in out and " s left; 4 voters, 2 invalid" in out
    assert "a) Take the stairs" in out and "75%" in out
    assert "chat: tiktok connected (120 msgs, 2.5/s)" in out
    assert "providers: text: name=offline, ok=true" in out


async def test_status_json_is_one_line_of_the_snapshot(fake: tuple[FakeDaemon, Path]) -> None:
    code, out, _ = await ctl(fake[1], "--json", "status")
    assert code == 0 and out.count("\n") == 1
    decoded = msgspec.json.decode(out, type=Snapshot)
    assert decoded.chapter_number == 3 and decoded.voting is not None
    assert decoded.voting.counts == (3, 1)


async def test_requests_sent_for_commands(fake: tuple[FakeDaemon, Path]) -> None:
    daemon, path = fake
    assert (await ctl(path, "vote", "alice", "B", "--name", "Alice"))[0] == 0
    assert (await ctl(path, "start", "horror", "--outline", "a dark house", "--force"))[0] == 0
    assert (await ctl(path, "next", "2"))[0] == 0
    assert (await ctl(path, "sessions", "--limit", "5"))[0] == 0
    assert (await ctl(path, "config", "set", "voting.duration", "90"))[0] == 0
    assert daemon.requests == [
        protocol.Vote(viewer="alice", choice="B", name="Alice"),
        protocol.Start(theme="horror", outline="a dark house", force=True),
        protocol.Next(choice="2"),
        protocol.Sessions(limit=5),
        protocol.ConfigSet(key="voting.duration", value="90")]


async def test_refused_exits_1_with_message(fake: tuple[FakeDaemon, Path]) -> None:
    code, out, err = await ctl(fake[1], "close")
    assert (code, out, err) == (1, "", "storyctl: refused: no vote is running\n")


async def test_not_running_exits_3(tmp_path: Path) -> None:
    missing = tmp_path / "nope.sock"
    code, out, err = await ctl(missing, "status")
    assert code == 3 and out == ""
    assert err.startswith(f"storyctl: storyd is not running (no socket at {missing})")
    assert "systemctl --user start storyd" in err


async def test_not_running_uses_storyd_socket_env(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STORYD_CONFIG", str(tmp_path / "absent.toml"))
    monkeypatch.setenv("STORYD_SOCKET", str(tmp_path / "env.sock"))
    code, _, err = await ctl(None, "status")
    assert code == 3 and str(tmp_path / "env.sock") in err


def test_usage_errors_exit_2() -> None:
    for argv in ([], ["frobnicate"], ["vote", "alice", "z"], ["sessions", "--limit", "0"],
                 ["export", "x"], ["config"]):
        out, err = io.StringIO(), io.StringIO()
        assert main(argv, stdout=out, stderr=err) == 2, argv
        assert "usage: storyctl" in err.getvalue() and out.getvalue() == ""
    err = io.StringIO()
    main(["vote", "alice", "z"], stdout=io.StringIO(), stderr=err)
    assert "'z' is not a choice" in err.getvalue()


def test_help_exits_0_on_stdout() -> None:
    out, err = io.StringIO(), io.StringIO()
    assert main(["--help"], stdout=out, stderr=err) == 0
    assert "admin-url" in out.getvalue() and err.getvalue() == ""


async def test_export_to_file_and_stdout(fake: tuple[FakeDaemon, Path], tmp_path: Path) -> None:
    target = tmp_path / "s4.md"
    code, out, _ = await ctl(fake[1], "export", "4", "--format", "md", "-o", str(target))
    assert code == 0 and target.read_text() == "# Session 4\n" and "wrote" in out
    code, out, _ = await ctl(fake[1], "export", "4")
    assert (code, out) == (0, "# Session 4\n")


async def test_config_show_and_admin_url(fake: tuple[FakeDaemon, Path]) -> None:
    code, out, _ = await ctl(fake[1], "config", "show")
    assert (code, out) == (0, "voting.duration = 60\nserver.port = 8080\n")
    code, out, _ = await ctl(fake[1], "admin-url")
    assert (code, out) == (0, "http://127.0.0.1:8080/admin/?token=abc\n")
    code, out, _ = await ctl(fake[1], "end")
    assert (code, out) == (0, "ok\n")


async def test_watch_prints_events_until_the_stream_ends(fake: tuple[FakeDaemon, Path]) -> None:
    code, out, _ = await ctl(fake[1], "watch")
    lines = out.splitlines()
    assert code == 0 and len(lines) == 2
    assert "story:vote-update counts=[1,0], voters=1" in lines[0]
    assert lines[1].endswith("story:ended session_id=4")
    code, out, _ = await ctl(fake[1], "--json", "watch")
    assert [msgspec.json.decode(line)["event"] for line in out.splitlines()] == [
        "story:vote-update", "story:ended"]


class InterruptingStream(io.StringIO):
    """Raises KeyboardInterrupt on the first write, as Ctrl-C would while watching."""

    def write(self, s: str) -> int:
        raise KeyboardInterrupt


async def test_watch_ctrl_c_exits_0_quietly(fake: tuple[FakeDaemon, Path]) -> None:
    err = io.StringIO()
    with trio.fail_after(TIMEOUT):
        code = await trio.to_thread.run_sync(functools.partial(
            main, ["--socket", str(fake[1]), "watch"], stdout=InterruptingStream(), stderr=err))
    assert (code, err.getvalue()) == (0, "")


def test_format_status_closed_vote_and_ascii() -> None:
    snap = msgspec.to_builtins(snapshot(1_000_000))
    snap["voting"].update(open=False, ends_at=None, winner=1, tie_break="random",
                          counts=[2, 2])
    text = format_status(snap, now_ms=1_000_000, unicode=False)
    assert "vote: closed, winner b (tie-break: random); 4 voters" in text
    assert "b) Hack the door    ##########.........." in text and "<- winner" in text
    snap["voting"].update(open=True, ends_at=1_010_999, winner=None, tie_break=None)
    assert "vote: open, 10 s left;" in format_status(snap, now_ms=1_000_000)
