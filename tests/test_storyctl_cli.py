"""storyctl end to end: main() in a worker thread against a real control socket server."""

from __future__ import annotations

import functools
import io
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import msgspec
import pytest
import trio

from storyd.config.replies import ConfigOrigins, ConfigSetReply, ConfigValue, KeyOrigin
from storyd.config.structs import Config, VotingConfig
from storyd.control import protocol
from storyd.control.server import serve_control
from storyd.core.events import Ended, EndedData, StorydEvent, VoteUpdate, VoteUpdateData
from storyd.core.replies import (
    AdminUrlReply,
    DeletedReply,
    ExportReply,
    IngestReply,
    ProviderCheck,
    VoteReply,
)
from storyd.core.snapshot import (
    ChatSourceView,
    ChoiceView,
    ProviderHealth,
    ProvidersView,
    Snapshot,
    VotingView,
)
from storyd.ctl.formatting import format_result, format_status
from storyd.ctl.main import main
from storyd.errors import RefusedError

TIMEOUT = 10
CHOICES = (ChoiceView(key="a", text="Take the stairs"), ChoiceView(key="b", text="Hack the door"))


def snapshot(now_ms: int) -> Snapshot:
    return Snapshot(
        state="voting", revision=12, server_time_ms=now_ms, session_id=4, theme="cyberpunk",
        theme_name="Cyberpunk", language="en", chapter_number=3, title="The Neon Gate",
        choices=CHOICES,
        voting=VotingView(round_id=3, choices=CHOICES, counts=(3, 1), voters=4,
                          ends_at=now_ms + 42_500, open=True, invalid=2),
        chat=(ChatSourceView(source="tiktok", state="connected", messages=120, rate=2.5),),
        providers=ProvidersView(text={"offline": ProviderHealth(ok=True, last_latency_ms=6)}))


class FakeDaemon:
    def __init__(self) -> None:
        self.requests: list[protocol.Request] = []
        self.providers: list[ProviderCheck] = []

    async def handle(self, request: protocol.Request) -> protocol.Result | None:
        """Each request answered in its type (protocol.answer_type), as the daemon does."""
        self.requests.append(request)
        match request:
            case protocol.Status() | protocol.Start() | protocol.Next():
                return snapshot(int(time.time() * 1000))
            case protocol.End():
                return Snapshot(state="ended", revision=13, server_time_ms=0, session_id=4)
            case protocol.Close():
                raise RefusedError("no vote is running")
            case protocol.Export(id=session_id, format=fmt):
                return ExportReply(format=fmt, content_type="text/markdown",
                                   filename=f"s{session_id}.{fmt}",
                                   content=f"# Session {session_id}\n")
            case protocol.ConfigShow(origins=True):
                return ConfigOrigins(
                    config=Config(voting=VotingConfig(duration=20)),
                    origins={"server.port": KeyOrigin(value=8080, source="default"),
                             "voting.duration": KeyOrigin(value=20, source="--demo",
                                                          file_value=60),
                             "story.theme": KeyOrigin(value="horror", source="file")})
            case protocol.ConfigGet(key=key):
                return ConfigValue(key=key, value=9000, source="--port", file_value=8080)
            case protocol.ConfigSet(key=key, value=value):
                return ConfigSetReply(key=key, value=int(value), file="/tmp/storyd.toml")
            case protocol.Sessions():
                return []
            case protocol.Vote():
                return VoteReply(accepted=True, counts=(4, 3, 0), voters=7)
            case protocol.DeleteSession(id=4):
                raise RefusedError("session 4 is running; end it first (storyctl end)")
            case protocol.DeleteSession(id=sid):
                return DeletedReply(deleted=sid)
            case protocol.AdminUrl():
                return AdminUrlReply(url="http://127.0.0.1:8080/admin/?token=abc")
            case protocol.Providers():
                return self.providers
            case protocol.Chat(messages=lines):
                if any(m.user_id == "refuse-me" for m in lines):
                    raise RefusedError("not today")
                votes = sum(m.text.startswith("!") for m in lines)
                return IngestReply(accepted=votes, invalid=0, ignored=len(lines) - votes)
        raise AssertionError(f"the fake does not answer {request}")

    async def watch(self, send: Callable[[StorydEvent], Awaitable[None]]) -> None:
        await send(VoteUpdate(VoteUpdateData(round_id=3, counts=(1, 0), voters=1)))
        await send(Ended(EndedData(session_id=4)))


@pytest.fixture
async def fake(nursery: trio.Nursery, tmp_path: Path) -> tuple[FakeDaemon, Path]:
    daemon = FakeDaemon()
    path = tmp_path / "run" / "c.sock"
    await nursery.start(serve_control, path, daemon.handle, daemon.watch)
    return daemon, path


async def ctl(path: Path | None, *argv: str, stdin: str | None = None) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    args = (["--socket", str(path)] if path is not None else []) + list(argv)
    with trio.fail_after(TIMEOUT):
        code = await trio.to_thread.run_sync(functools.partial(
            main, args, stdout=out, stderr=err,
            stdin=io.StringIO(stdin) if stdin is not None else None))
    return code, out.getvalue(), err.getvalue()


async def test_status_human(fake: tuple[FakeDaemon, Path]) -> None:
    code, out, err = await ctl(fake[1], "status")
    assert (code, err) == (0, "")
    assert "state: voting   session 4   theme: Cyberpunk (en)" in out
    assert "chapter 3: The Neon Gate" in out
    assert "vote: open, 4" in out and " s left; a 3 · b 1; 4 voters, 2 invalid" in out
    assert "a) Take the stairs" in out and "75%" in out
    assert "chat:\n  tiktok  connected · no events yet · 2.5 msg/s · 120 msgs" in out
    assert "providers: text offline ok 6 ms" in out


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
    assert (await ctl(path, "start", "random", "--seed", "42"))[0] == 0
    assert (await ctl(path, "next", "2"))[0] == 0
    assert (await ctl(path, "sessions", "--limit", "5"))[0] == 0
    assert (await ctl(path, "config", "set", "voting.duration", "90"))[0] == 0
    assert daemon.requests == [
        protocol.Vote(viewer="alice", choice="B", name="Alice"),
        protocol.Start(theme="horror", outline="a dark house", force=True),
        protocol.Start(theme="random", seed=42),
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
    assert (code, out) == (0, "values this run overrides (the file is unchanged):\n"
                              "  voting.duration = 20   (from --demo; the file says 60)\n\n"
                              "server.port = 8080   (default)\n"
                              "story.theme = horror   (from the file)\n")
    code, out, _ = await ctl(fake[1], "config", "get", "server.port")
    assert (code, out) == (0, "server.port = 9000   (from --port; the file says 8080)\n")
    code, out, _ = await ctl(fake[1], "admin-url")
    assert (code, out) == (0, "http://127.0.0.1:8080/admin/?token=abc\n")
    code, out, _ = await ctl(fake[1], "end")
    assert code == 0 and out.startswith("state: ended   session 4")


async def test_watch_prints_events_until_the_stream_ends(fake: tuple[FakeDaemon, Path]) -> None:
    code, out, _ = await ctl(fake[1], "watch")
    lines = out.splitlines()
    assert code == 0 and len(lines) == 2
    assert lines[0].endswith("story:vote-update round_id=3, counts=[1,0], voters=1, invalid=0")
    assert lines[1].endswith("story:ended session_id=4, reason=ended")
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
    assert "vote: closed, winner b (tie-break: random); a 2 · b 2; 4 voters" in text
    assert "b) Hack the door    ##########.........." in text and "<- winner" in text
    snap["voting"].update(open=True, ends_at=1_010_999, winner=None, tie_break=None)
    assert "vote: open, 10 s left;" in format_status(snap, now_ms=1_000_000)
    # issue 19: with a stream delay both times show; an early close says it was decided
    snap["voting"].update(closes_at=1_018_999, moderated=2)
    assert ("vote: open, 10 s left, ballots until +8 s (stream delay: 18 s to the close); "
            "a 2 · b 2; 4 voters, 2 invalid, 2 taken back by moderators"
            in format_status(snap, now_ms=1_000_000))
    snap["voting"].update(open=False, ends_at=None, closes_at=None, winner=0, early=True)
    assert "vote: closed, winner a (decided early: clear lead)" in format_status(
        snap, now_ms=1_000_000)


async def test_providers_and_chat_requests(fake: tuple[FakeDaemon, Path], tmp_path: Path) -> None:
    daemon, path = fake
    daemon.providers = [ProviderCheck(provider="offline", ok=True, diagnosis="ok", latency=0)]
    assert (await ctl(path, "providers"))[0] == 0
    assert daemon.requests[-1] == protocol.Providers()
    daemon.providers.insert(0, ProviderCheck(provider="sf", ok=False, diagnosis="bad voice",
                                             latency=0.2, message="speech failed"))
    code, out, _ = await ctl(path, "providers")
    assert code == 1 and "bad voice" in out          # a failing provider: exit status 1
    chat = tmp_path / "chat.jsonl"
    chat.write_text('{"platform": "tt", "user_id": "1", "name": "Ann", "text": "!a"}\n'
                    '[{"platform": "tt", "user_id": "2", "text": "hi", "msg_id": "x"},'
                    ' {"platform": "tt", "user_id": "3", "text": "!b", "ts": 5}]\n')
    code, out, err = await ctl(path, "chat-import", str(chat))
    assert (code, err) == (0, "")
    assert out == "sent 3 messages in 1 request: 2 accepted, 0 invalid, 1 ignored\n"
    assert daemon.requests[-1] == protocol.Chat(messages=[
        protocol.ChatLine(platform="tt", user_id="1", name="Ann", text="!a"),
        protocol.ChatLine(platform="tt", user_id="2", text="hi", msg_id="x"),
        protocol.ChatLine(platform="tt", user_id="3", text="!b")])


async def test_chat_import_splits_requests_to_fit_a_line(fake: tuple[FakeDaemon, Path],
                                                         tmp_path: Path) -> None:
    """10,000 long messages make a line over MAX_LINE: halved until each request fits."""
    daemon, path = fake
    chat = tmp_path / "big.jsonl"
    text = "!a " + "ü" * 500
    chat.write_text("".join(msgspec.json.encode({"platform": "tt", "user_id": str(i),
                                                 "text": text}).decode() + "\n"
                            for i in range(10_000)))
    code, out, _ = await ctl(path, "--json", "chat-import", "--batch", "10000", str(chat))
    result = msgspec.json.decode(out)
    assert code == 0 and (result["sent"], result["accepted"]) == (10_000, 10_000)
    chats = [r for r in daemon.requests if isinstance(r, protocol.Chat)]
    sizes = [len(r.messages) for r in chats]
    assert sum(sizes) == 10_000 and result["requests"] == len(sizes) > 1
    assert all(len(protocol.encode({"v": 1, "id": 1, "request": r})) <= protocol.MAX_LINE
               for r in chats)


async def test_chat_import_refused_batch_is_reported_and_the_rest_sent(
        fake: tuple[FakeDaemon, Path]) -> None:
    lines = [msgspec.json.encode({"platform": "tt", "user_id": u, "text": "!a"}).decode()
             for u in ("1", "2", "refuse-me", "4", "5")]
    code, out, err = await ctl(fake[1], "chat-import", "--batch", "2", "-",
                               stdin="\n".join(lines) + "\n")
    assert code == 1
    assert err == "storyctl: -: lines 3-4 refused: refused: not today\n"
    assert out == ("sent 3 messages in 2 requests: 3 accepted, 0 invalid, 0 ignored\n"
                   "2 message(s) refused by storyd\n")


# ---- the history, voter, memory, theme and provider formatters (shapes as the daemon sends)

T0 = 1_795_607_969.07


def stamp(ts: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(ts))


def test_format_sessions_and_top_voters() -> None:
    sessions = [{"id": 12, "theme": "romance", "language": "English", "status": "active",
                 "started_at": T0, "ended_at": None, "chapters": 3},
                {"id": 9, "theme": "horror", "language": "Deutsch", "status": "finished",
                 "started_at": T0 - 86_400, "ended_at": T0 - 80_000, "chapters": 11}]
    assert format_result("sessions", None, sessions, now_ms=0) == (
        "ID  STARTED           STATUS    THEME    LANGUAGE  CHAPTERS\n"
        f"12  {stamp(T0)}  active    romance  English          3\n"
        f" 9  {stamp(T0 - 86_400)}  finished  horror   Deutsch         11\n")
    assert format_result("sessions", None, [], now_ms=0) == "no stories yet\n"
    voters = [{"viewer_id": "tiktok:61", "name": "Tom", "ballots": 12, "wins": 8,
               "likes": 340, "joins": 2, "last_seen": T0},
              {"viewer_id": "demo-9", "name": "", "ballots": 2, "wins": 0, "last_seen": None}]
    assert format_result("top-voters", None, voters, now_ms=0) == (
        "#  VIEWER     PLATFORM  NAME  BALLOTS  WINS  LIKES  JOINS  LAST SEEN\n"
        f"1  tiktok:61  tiktok    Tom        12     8    340      2  {stamp(T0)}\n"
        "2  demo-9     demo      -           2     0      0      0  -\n")
    same_name = [{"viewer_id": "7001", "name": "Lea32", "ballots": 3},
                 {"viewer_id": "twitch:lea32", "name": "Lea32", "ballots": 2},
                 {"viewer_id": "bob", "name": "Lea32", "ballots": 1}]
    rows = format_result("top-voters", None, same_name, now_ms=0).splitlines()[1:]
    assert [r.split()[1:4] for r in rows] == [["7001", "tiktok", "Lea32"],
                                              ["twitch:lea32", "twitch", "Lea32"],
                                              ["bob", "local", "Lea32"]]


def test_format_session_chapters_choices_and_votes() -> None:
    session = {
        "id": 1, "theme": "romance", "language": "English", "outline": "Two hearts.",
        "status": "finished", "started_at": T0, "ended_at": T0 + 600, "settings": {},
        "memory": {}, "chapters": [
            {"number": 1, "title": "The Pier", "choices": ["Dance", "Run away"],
             "text": "Camille waits on the pier.\nThe lanterns sway.",
             "closing": False, "chosen": 0, "chosen_text": "Dance",
             "vote": {"winner": 0, "counts": [9, 9], "voters": 18, "tie_break": "random",
                      "early": False, "forced": False, "closed_at": T0 + 60}},
            {"number": 2, "title": "The Fair", "choices": ["Ride", "Eat"], "closing": False,
             "text": "The fair is loud. " * 6,
             "chosen": 1, "vote": {"winner": 1, "counts": [0, 1], "voters": 1,
                                   "tie_break": None, "early": False, "forced": True,
                                   "closed_at": None}},
            {"number": 3, "title": "Together", "choices": [], "closing": True, "chosen": None,
             "text": "They walk home.", "vote": None}]}
    assert format_result("session", None, session, now_ms=0) == (
        f"session 1: Romance (English), finished, started {stamp(T0)}, "
        f"ended {stamp(T0 + 600)}\n"
        "outline: Two hearts.\n\n"
        "chapter 1: The Pier\n"
        "  Camille waits on the pier.\n"
        "  The lanterns sway.\n"
        "  a) Dance         9  <- chosen\n"
        "  b) Run away      9\n"
        f"  vote: a 9 · b 9; 18 voters, a won (tie-break: random), closed {stamp(T0 + 60)}\n\n"
        "chapter 2: The Fair\n"
        "  The fair is loud. The fair is loud. The fair is loud. The fair is loud. The\n"
        "  fair is loud. The fair is loud.\n"
        "  a) Ride      0\n"
        "  b) Eat       1  <- chosen\n"
        "  vote: a 0 · b 1; 1 voter, b won (forced by the operator)\n\n"
        "chapter 3: Together\n"
        "  They walk home.\n"
        "  — the end —\n")
    running = {**session, "status": "active", "ended_at": None,
               "chapters": [{**session["chapters"][0], "chosen": None, "vote": None}]}
    assert format_result("session", None, running, now_ms=0).endswith(
        "  b) Run away\n  vote: not decided yet\n")
    ended_early = {**session, "chapters": [{**running["chapters"][0]}]}
    assert format_result("session", None, ended_early, now_ms=0).endswith(
        "  b) Run away\n  — the story was ended here —\n")


def test_format_memory_and_no_story() -> None:
    memory = {"session_id": 4, "path": ["Dance", "Ride"], "last_prompt": [{"role": "user"}],
              "context": "Outline:\n  Two hearts.\nChoices taken:\n- Dance",
              "memory": {"characters": [{"name": "Camille", "note": "a painter",
                                         "role": "heroine", "alive": True},
                                        {"name": "Marco", "note": "", "role": "",
                                         "alive": False}],
                         "locations": [{"name": "the pier", "note": "lights on the water"}],
                         "items": [], "events": [[1, "Camille set out."], [2, "She danced."]]}}
    assert format_result("memory", None, memory, now_ms=0) == (
        "memory of session 4\n"
        "characters:\n  Camille (heroine) — a painter\n  Marco [gone]\n"
        "places:\n  the pier — lights on the water\n"
        "items: (none)\n"
        "events:\n  ch1: Camille set out.\n  ch2: She danced.\n"
        "path: Dance → Ride\n"
        "context (what the storyteller sees):\n  Outline:\n    Two hearts.\n"
        "  Choices taken:\n  - Dance\n"
        "last prompt: 1 message(s) (see `storyctl --json memory`)\n")
    none = {"session_id": None, "memory": None, "context": "", "last_prompt": None}
    assert format_result("memory", None, none, now_ms=0) == "no story is running\n"


def test_format_themes_and_providers() -> None:
    themes = [{"id": "horror", "name": "Horror", "style": "creeping dread"},
              {"id": "comedy", "name": "Comedy", "style": ""}]
    assert format_result("themes", None, themes, now_ms=0) == (
        "horror — Horror: creeping dread\ncomedy — Comedy\n")
    providers = [{"provider": "sf", "base_url": "https://api.example", "ok": False,
                  "diagnosis": "bad key", "latency": 0.2104, "message": "HTTP 401",
                  "json_mode": "json_object_schema",
                  "json_mode_note": "json_schema refused (Input should be 'text' or "
                                    "'json_object'); using json_object_schema"},
                 {"provider": "offline", "ok": True, "diagnosis": "ok", "latency": 0.0,
                  "message": "built-in"}]
    assert format_result("providers", None, providers, now_ms=0) == (
        "PROVIDER  STATE    LATENCY  JSON                MESSAGE\n"
        "sf        bad key   210 ms  json_object_schema  https://api.example: HTTP 401 "
        "[json_schema refused (Input should be 'text' or 'json_object'); using "
        "json_object_schema]\n"
        "offline   ok          0 ms  -                   built-in\n")


async def test_vote_prints_letter_labelled_counts(fake: tuple[FakeDaemon, Path]) -> None:
    code, out, _ = await ctl(fake[1], "vote", "alice", "a")
    assert (code, out) == (0, "accepted: a 4 · b 3 · c 0 (7 voters)\n")


async def test_json_anywhere_and_refusals_as_json(fake: tuple[FakeDaemon, Path]) -> None:
    code, out, err = await ctl(fake[1], "status", "--json")
    assert code == 0 and err == "" and msgspec.json.decode(out, type=Snapshot).session_id == 4
    code, out, err = await ctl(fake[1], "close", "--json")
    assert (code, err) == (1, "")
    assert msgspec.json.decode(out) == {"error": {"code": "refused",
                                                  "message": "refused: no vote is running"}}
    code, out, err = await ctl(fake[1].parent / "nope.sock", "--json", "status")
    assert code == 3 and err == ""
    assert msgspec.json.decode(out)["error"]["code"] == "not_running"


async def test_sessions_delete_and_running_refusal(fake: tuple[FakeDaemon, Path]) -> None:
    daemon, path = fake
    assert await ctl(path, "sessions", "--delete", "2") == (0, "deleted session 2\n", "")
    code, out, err = await ctl(path, "sessions", "--delete", "4")
    assert (code, out) == (1, "")
    assert err == "storyctl: refused: session 4 is running; end it first (storyctl end)\n"
    assert daemon.requests[-2:] == [protocol.DeleteSession(id=2), protocol.DeleteSession(id=4)]


def test_status_explains_rehearsal_mode() -> None:
    snap = msgspec.to_builtins(snapshot(1_000_000))
    snap["test_mode"] = True
    text = format_status(snap, now_ms=1_000_000)
    assert "test mode" not in text
    assert "rehearsal: no live chat is connected — votes come only from storyctl" in text


def test_status_reads_the_ms_provider_fields() -> None:
    snap = msgspec.to_builtins(snapshot(1_000_000))
    snap["providers"] = {"text": {"sf": {"ok": True, "last_latency_ms": 812.4},
                                  "ol": {"ok": False, "cooldown_until_ms": 1_000_500}}}
    assert "providers: text sf ok 812 ms, ol cooling down" in format_status(snap, now_ms=1_000_000)
    snap["providers"] = {"text": {"sf": {"ok": False, "last_error": "HTTP 500"},
                                  "offline": {"ok": True, "stepped_in": 3,
                                              "used_because": "provider 'sf': HTTP 500"}}}
    assert ("offline ok, stepped in 3 times (used because: provider 'sf': HTTP 500)"
            in format_status(snap, now_ms=1_000_000))
