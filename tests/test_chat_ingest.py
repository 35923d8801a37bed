"""Chat ingest for other tools: chat-file parsing and replay timing (pure tables), and
`storyctl chat-import` / `storyctl providers` against a real in-process daemon.

The daemon tests use a real control socket and real time, so every wait is bounded by
trio.fail_after (no autojump_clock); they wait on bus events, never on sleeps.
"""

from __future__ import annotations

import functools
import io
import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
import trio

from storyd.chat.replay import Entry, LineError, batches, parse_lines, schedule
from storyd.control.protocol import ChatLine
from storyd.ctl.main import main
from tests.conftest import wait_for_event

TIMEOUT = 20


def line(user: str, text: str, ts: float | None = None, platform: str = "tt") -> Entry:
    return Entry(1, ts, ChatLine(platform=platform, user_id=user, text=text))


# ---- parse_lines ------------------------------------------------------------------------------

@pytest.mark.parametrize(("raw", "messages", "errors"), [
    ('{"platform": "tt", "user_id": "1", "name": "Ann", "text": "!a"}',
     [("tt", "1", "Ann", "!a", "")], []),
    ('{"platform": "tt", "user_id": 7, "text": "!b", "msg_id": 99, "ts": 12}',
     [("tt", "7", "", "!b", "99")], []),
    ('[{"platform": "tt", "user_id": "1", "text": "!a"}, {"platform": "yt", "user_id": "2",'
     ' "text": "hi"}]', [("tt", "1", "", "!a", ""), ("yt", "2", "", "hi", "")], []),
    ("", [], []),
    ("   ", [], []),
    ("not json", [], [(None, "not JSON")]),
    ("[]", [], [(None, "empty array")]),
    ('"!a"', [], [(None, "expected an object")]),
    ("42", [], [(None, "expected an object")]),
    ('{"platform": "tt", "text": "!a"}', [], [(None, "missing required field `user_id`")]),
    ('{"platform": "tt", "user_id": "1"}', [], [(None, "missing required field `text`")]),
    ('{"platform": "tt", "user_id": "1", "text": "!a", "colour": 1}', [],
     [(None, "unknown field `colour`")]),
    ('{"platform": "tt", "user_id": "1", "text": 5}', [], [(None, "Expected `str`")]),
    ('{"platform": " ", "user_id": "1", "text": "!a"}', [], [(None, "must not be empty")]),
    ('{"platform": "tt", "user_id": "", "text": "!a"}', [], [(None, "must not be empty")]),
    ('{"platform": "tt", "user_id": "' + "x" * 129 + '", "text": "!a"}', [],
     [(None, "128 characters at most")]),
    ('{"platform": "tt", "user_id": "1", "text": "!a", "ts": "soon"}', [],
     [(None, "Expected `float | null`")]),
    ('{"platform": "tt", "user_id": true, "text": "!a"}', [],
     [(None, "got `bool` - at `$.user_id`")]),
    # one bad item of a batch is skipped alone; the others still count
    ('[{"platform": "tt", "user_id": "1", "text": "!a"}, {"platform": "tt", "text": "!b"},'
     ' 3]', [("tt", "1", "", "!a", "")],
     [(1, "missing required field `user_id`"), (2, "expected an object")]),
])
def test_parse_lines_table(raw: str, messages: list[tuple[str, ...]],
                           errors: list[tuple[int | None, str]]) -> None:
    entries, errs = parse_lines([raw], first_line=7)
    assert [(e.message.platform, e.message.user_id, e.message.name, e.message.text,
             e.message.msg_id) for e in entries] == messages
    assert all(e.line == 7 for e in entries)
    assert [(e.line, e.item) for e in errs] == [(7, item) for item, _ in errors]
    for err, (_, fragment) in zip(errs, errors, strict=True):
        assert fragment in err.error, err.error


def test_parse_lines_numbers_lines_and_accepts_bytes() -> None:
    entries, errs = parse_lines([b'{"platform":"tt","user_id":"1","text":"!a","ts":1.5}\n',
                                 b"\n", b"\xff\xfe\n",
                                 b'{"platform":"tt","user_id":"2","text":"!b"}'])
    assert [(e.line, e.ts, e.message.user_id) for e in entries] == [(1, 1.5, "1"), (4, None, "2")]
    assert [(e.line, e.item) for e in errs] == [(3, None)]
    assert LineError(3, None, "x").where() == "line 3"
    assert LineError(9, 0, "x").where() == "line 9, item 1"


# ---- batches and schedule --------------------------------------------------------------------

def test_batches_keep_order_and_size() -> None:
    entries = [line(str(i), "!a") for i in range(5)]
    assert [[e.message.user_id for e in b] for b in batches(entries, 2)] == [
        ["0", "1"], ["2", "3"], ["4"]]
    assert batches([], 3) == []
    for bad in (0, 10_001):
        with pytest.raises(ValueError, match="batch size"):
            batches(entries, bad)


def _plan(entries: list[Entry], speed: float, **kw: Any) -> list[tuple[float, list[str]]]:
    return [(round(d, 6), [e.message.user_id for e in g])
            for d, g in schedule(entries, speed, **kw)]


@pytest.mark.parametrize(("stamps", "speed", "kw", "expected"), [
    # the original pace, relative to the first stamp (epoch seconds)
    ([1000.0, 1001.0, 1003.5], 1.0, {}, [(0.0, ["0"]), (1.0, ["1"]), (3.5, ["2"])]),
    # four times faster
    ([1000.0, 1001.0, 1003.5], 4.0, {}, [(0.0, ["0"]), (0.25, ["1"]), (0.875, ["2"])]),
    # slower than recorded
    ([10.0, 11.0], 0.5, {}, [(0.0, ["0"]), (2.0, ["1"])]),
    # messages due together (or within the window) share a request
    ([5.0, 5.0, 5.01, 5.2], 1.0, {}, [(0.0, ["0", "1", "2"]), (0.2, ["3"])]),
    ([5.0, 5.0, 5.01], 1.0, {"window": 0.0}, [(0.0, ["0", "1"]), (0.01, ["2"])]),
    # ... but never more than `size` per request
    ([5.0, 5.0, 5.0], 1.0, {"size": 2}, [(0.0, ["0", "1"]), (0.0, ["2"])]),
    # without ts: at once, i.e. with the message before it (at 0 when first)
    ([None, 100.0, None, 102.0, None], 1.0, {}, [(0.0, ["0", "1", "2"]), (2.0, ["3", "4"])]),
    # a stamp earlier than its predecessor goes with it: order is kept, time never runs back
    ([100.0, 103.0, 101.0, 104.0], 1.0, {}, [(0.0, ["0"]), (3.0, ["1", "2"]), (4.0, ["3"])]),
    ([], 1.0, {}, []),
    ([None, None], 3.0, {}, [(0.0, ["0", "1"])]),
])
def test_schedule_table(stamps: list[float | None], speed: float, kw: dict[str, Any],
                        expected: list[tuple[float, list[str]]]) -> None:
    entries = [line(str(i), "!a", ts) for i, ts in enumerate(stamps)]
    assert _plan(entries, speed, **kw) == expected


@pytest.mark.parametrize(("speed", "kw"), [(0.0, {}), (-1.0, {}), (float("inf"), {}),
                                           (float("nan"), {}), (1.0, {"size": 0}),
                                           (1.0, {"window": -0.1})])
def test_schedule_rejects_bad_parameters(speed: float, kw: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        schedule([line("1", "!a", 1.0)], speed, **kw)


# ---- storyctl against a real daemon ----------------------------------------------------------

CHAT_FILE = "\n".join([
    '{"platform": "tt", "user_id": "1", "name": "Ann", "text": "!a", "msg_id": "m1"}',
    '{"platform": "tt", "user_id": "1", "name": "Ann", "text": "!a", "msg_id": "m1"}',
    '[{"platform": "tt", "user_id": 2, "name": "Bob", "text": "!b"},'
    ' {"platform": "tt", "user_id": "2", "name": "Bob", "text": "!C"}]',
    '{"platform": "tt", "user_id": "3", "name": "Cy", "text": "!f"}',
    '{"platform": "tt", "user_id": "4", "name": "Dee", "text": "hello chat"}',
    "this is not json",
    '[{"platform": "tt", "user_id": "5", "text": "!2 go"}, {"platform": "", "user_id": "6",'
    ' "text": "!a"}]',
    '{"platform": "yt", "user_id": "1", "name": "Ann on YouTube", "text": "b"}',
    '{"platform": "tt", "user_id": "7", "text": "!1", "ts": "soon"}',
    "",
    '{"platform": "tt", "user_id": "1", "name": "Ann", "text": "!A", "msg_id": "m2"}',
]) + "\n"


async def ctl(sock: Path, *argv: str, stdin: str | None = None) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with trio.fail_after(TIMEOUT):
        code = await trio.to_thread.run_sync(functools.partial(
            main, ["--socket", str(sock), *argv], stdout=out, stderr=err,
            stdin=io.StringIO(stdin) if stdin is not None else None))
    return code, out.getvalue(), err.getvalue()


async def voting_daemon(daemon_factory: Any) -> tuple[Any, Path]:
    d = await daemon_factory()
    with d.bus.subscribe(4096) as sub:
        await d.director.start("mystery")
        await wait_for_event(sub, "story:voting-started", timeout=TIMEOUT)
    return d, d.socket_path


def rows(d: Any, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    db = sqlite3.connect(d.data_dir / "storyd.sqlite3")
    try:
        return db.execute(sql, args).fetchall()
    finally:
        db.close()


async def test_chat_import_counts_each_vote_once_and_reports_bad_lines(
        daemon_factory: Any, tmp_path: Path) -> None:
    d, sock = await voting_daemon(daemon_factory)
    path = tmp_path / "chat.jsonl"
    path.write_text(CHAT_FILE)
    code, out, err = await ctl(sock, "chat-import", str(path), "--batch", "2")
    assert code == 1
    assert out.splitlines() == [
        "sent 9 messages in 5 requests: 5 accepted, 1 invalid, 3 ignored",
        "3 bad lines skipped (listed on stderr)"]
    assert err.splitlines() == [
        f"storyctl: {path}: line 6: not JSON: JSON is malformed: invalid character (byte 4)",
        f"storyctl: {path}: line 7, item 2: platform and user_id must not be empty",
        f"storyctl: {path}: line 9: Expected `float | null`, got `str` - at `$.ts`"]
    snap = d.director.snapshot()
    assert snap.voting is not None and snap.voting.open
    # Ann a (her repeat and her duplicate msg id ignored), Bob changed b -> c, tt:5 b,
    # yt:1 is another viewer than tt:1 (b); Cy's !f is invalid; Dee is chatter
    assert snap.voting.counts == (1, 2, 1)
    assert (snap.voting.voters, snap.voting.invalid) == (4, 1)
    ingest = next(c for c in snap.chat if c.source == "ingest")
    assert (ingest.messages, ingest.votes_accepted, ingest.votes_invalid) == (9, 5, 1)

    with d.bus.subscribe(4096) as sub:
        code, out, _ = await ctl(sock, "close")
        assert code == 0
        ended = await wait_for_event(sub, "story:voting-ended", timeout=TIMEOUT)
    assert ended["counts"] == [1, 2, 1] and ended["winner_key"] == "b"
    ballots = rows(d, "SELECT viewer_id, name, choice FROM story_ballots WHERE session_id = ?"
                      " ORDER BY viewer_id", snap.session_id)
    assert ballots == [("tt:1", "Ann", 0), ("tt:2", "Bob", 2), ("tt:5", "5", 1),
                       ("yt:1", "Ann on YouTube", 1)]


async def test_chat_import_stdin_json_and_outside_a_vote(daemon_factory: Any) -> None:
    d = await daemon_factory()
    sock = d.socket_path
    good = '{"platform": "tt", "user_id": "1", "text": "!a"}\n'
    code, out, err = await ctl(sock, "--json", "chat-import", "-", stdin=good * 3)
    assert (code, err) == (0, "")   # no story: nothing counts, but nothing was wrong either
    assert json.loads(out) == {"sent": 3, "requests": 1, "accepted": 0, "invalid": 0,
                               "ignored": 3, "refused": 0, "seconds": None, "bad_lines": []}
    with d.bus.subscribe(4096) as sub:
        await d.director.start("horror")
        await wait_for_event(sub, "story:voting-started", timeout=TIMEOUT)
    code, out, _ = await ctl(sock, "--json", "chat-import", "-", stdin=good * 3 + "{}\n")
    result = json.loads(out)
    assert code == 1 and (result["accepted"], result["ignored"]) == (1, 2)
    assert result["bad_lines"] == [{"line": 4, "item": None,
                                    "error": "Object missing required field `platform`"}]


async def test_chat_replay_keeps_order_at_speed(daemon_factory: Any, tmp_path: Path) -> None:
    d, sock = await voting_daemon(daemon_factory)
    path = tmp_path / "recorded.jsonl"
    stamps = [1_700_000_000.0 + i * 0.3 for i in range(6)]      # 1.5 s recorded
    texts = ["!a", "!b", "!c", "!a", "!b", "!c"]                 # one viewer changing mind
    path.write_text("".join(json.dumps({"platform": "tt", "user_id": "9", "text": t, "ts": s})
                            + "\n" for t, s in zip(texts, stamps, strict=True)))
    code, out, _ = await ctl(sock, "--json", "chat-import", "--replay", "--speed", "4",
                             str(path))
    result = json.loads(out)
    assert code == 0 and result["sent"] == 6 and result["accepted"] == 6
    assert result["requests"] == 6              # 75 ms apart at 4x: one request each
    assert 0.37 <= result["seconds"] < TIMEOUT  # paced (375 ms at 4x), not all at once
    snap = d.director.snapshot()
    assert snap.voting is not None and snap.voting.counts == (0, 0, 1)   # the last one counts


async def test_providers_and_history_output_on_a_real_daemon(daemon_factory: Any) -> None:
    d, sock = await voting_daemon(daemon_factory)
    code, out, _ = await ctl(sock, "providers")
    assert code == 0 and out.splitlines()[0].split() == ["PROVIDER", "STATE", "LATENCY",
                                                          "JSON", "MESSAGE"]
    assert out.splitlines()[1].split()[:2] == ["offline", "ok"]
    code, out, _ = await ctl(sock, "--json", "providers")
    assert json.loads(out)[-1]["provider"] == "offline"
    await ctl(sock, "vote", "zoe", "b", "--name", "Zoe")
    with d.bus.subscribe(4096) as sub:
        await ctl(sock, "close")
        await wait_for_event(sub, "story:voting-ended", timeout=TIMEOUT)
        await wait_for_event(sub, "story:chapter-ready", lambda c: c["number"] == 2,
                             timeout=TIMEOUT)
    sid = d.director.story.session_id
    code, out, _ = await ctl(sock, "sessions")
    assert code == 0 and out.splitlines()[0].split() == [
        "ID", "STARTED", "STATUS", "THEME", "LANGUAGE", "CHAPTERS"]
    assert out.splitlines()[1].split()[0] == str(sid) and "mystery" in out
    code, out, _ = await ctl(sock, "session", str(sid))
    assert code == 0 and f"session {sid}: Mystery" in out
    assert "chapter 1: " in out and "<- chosen" in out
    assert "vote: a 0 · b 1 · c 0; 1 voter, b won, closed" in out
    assert "chapter 2: " in out
    code, out, _ = await ctl(sock, "top-voters")
    assert code == 0 and out.splitlines()[1].split()[:6] == ["1", "zoe", "local", "Zoe", "1", "1"]
    code, out, _ = await ctl(sock, "memory")
    assert code == 0 and out.startswith(f"memory of session {sid}\ncharacters:\n")
    assert "\nevents:\n  ch1: " in out and "context (what the storyteller sees):" in out
    code, out, _ = await ctl(sock, "themes")
    assert code == 0 and "mystery — Mystery: a detective story" in out


async def test_chat_import_usage_and_not_running(tmp_path: Path) -> None:
    sock = tmp_path / "absent.sock"
    path = tmp_path / "c.jsonl"
    path.write_text('{"platform": "tt", "user_id": "1", "text": "!a"}\n')
    assert (await ctl(sock, "chat-import", str(path)))[0] == 3
    code, _, err = await ctl(sock, "chat-import", str(tmp_path / "missing.jsonl"))
    assert code == 2 and "cannot read" in err
    for argv in (["--speed", "0"], ["--speed", "fast"], ["--batch", "0"], ["--batch", "10001"]):
        code, _, err = await ctl(sock, "chat-import", str(path), *argv)
        assert code == 2 and "usage: storyctl" in err, argv
