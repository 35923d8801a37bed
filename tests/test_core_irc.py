"""The pure IRC line parser and splitter (storyd/core/irc.py): tables and hypothesis fuzzing."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from storyd.core.irc import (
    MAX_LINE,
    IrcMessage,
    LineSplitter,
    escape_tag,
    format_line,
    parse_line,
    privmsg_text,
    unescape_tag,
)

T = "tmi.twitch.tv"

PARSED: list[tuple[str, IrcMessage]] = [
    ("PING :tmi.twitch.tv", IrcMessage(command="PING", params=(T,))),
    (":tmi.twitch.tv 001 justinfan1 :Welcome, GLHF!",
     IrcMessage(prefix=T, command="001", params=("justinfan1", "Welcome, GLHF!"))),
    (":tmi.twitch.tv CAP * ACK :twitch.tv/tags twitch.tv/commands",
     IrcMessage(prefix=T, command="CAP", params=("*", "ACK", "twitch.tv/tags twitch.tv/commands"))),
    ("@badge-info=;bits=100;display-name=Ali\\sce;id=u-1;user-id=1001 "
     ":alice!alice@alice.tmi.twitch.tv PRIVMSG #chan :Cheer100 !a",
     IrcMessage(tags={"badge-info": "", "bits": "100", "display-name": "Ali ce", "id": "u-1",
                      "user-id": "1001"},
                prefix="alice!alice@alice.tmi.twitch.tv", command="PRIVMSG",
                params=("#chan", "Cheer100 !a"))),
    ("@a=x\\:y\\\\z\\r\\n;b;c=\\q;d=end\\ :srv RECONNECT",     # escapes, key without =
     IrcMessage(tags={"a": "x;y\\z\r\n", "b": "", "c": "q", "d": "end"}, prefix="srv",
                command="RECONNECT")),
    ("privmsg #chan :lower-case command", IrcMessage(command="PRIVMSG",
                                                     params=("#chan", "lower-case command"))),
    (":a!a@a PRIVMSG #chan ::starts with a colon",
     IrcMessage(prefix="a!a@a", command="PRIVMSG", params=("#chan", ":starts with a colon"))),
    (":a!a@a PRIVMSG #chan :", IrcMessage(prefix="a!a@a", command="PRIVMSG",
                                           params=("#chan", ""))),
    ("JOIN   #chan  ", IrcMessage(command="JOIN", params=("#chan",))),
    ("RECONNECT\r\n", IrcMessage(command="RECONNECT")),
    ("@;;=v;k=1 CLEARCHAT #c", IrcMessage(tags={"k": "1"}, command="CLEARCHAT",
                                         params=("#c",))),
]

MALFORMED = ["", "   ", "\r\n", "@tags-without-command", ":prefix-only", ": PRIVMSG #c :x",
             "@a=b :prefix", "12 x", "1234 x", "PRIV-MSG #c", "PRIVMSG\0 #c :x",
             "ÜMLAUT #c", ":p 4a5 x", "@a=b  ", "x" * (MAX_LINE + 1)]


@pytest.mark.parametrize(("line", "expected"), PARSED)
def test_parse_line(line: str, expected: IrcMessage) -> None:
    assert parse_line(line) == expected


@pytest.mark.parametrize("line", MALFORMED)
def test_malformed_lines_are_none(line: str) -> None:
    assert parse_line(line) is None


@pytest.mark.parametrize(("prefix", "nick"), [
    ("alice!alice@alice.tmi.twitch.tv", "alice"), ("tmi.twitch.tv", ""), ("bob", "bob"),
    ("", "")])
def test_nick(prefix: str, nick: str) -> None:
    assert IrcMessage(prefix=prefix, command="X").nick == nick


@pytest.mark.parametrize(("text", "out"), [
    ("\x01ACTION !b\x01", "!b"), ("\x01ACTION waves", "\x01ACTION waves"), ("!a", "!a")])
def test_privmsg_text_unwraps_me(text: str, out: str) -> None:
    assert privmsg_text(IrcMessage(command="PRIVMSG", params=("#c", text))) == out


@pytest.mark.parametrize(("args", "kw", "line"), [
    (("PONG", "tmi.twitch.tv"), {}, "PONG :tmi.twitch.tv\r\n"),
    (("PRIVMSG", "#chan", "B wins: x"), {}, "PRIVMSG #chan :B wins: x\r\n"),
    (("NICK", "justinfan123"), {"trailing": False}, "NICK justinfan123\r\n"),
    (("RECONNECT",), {}, "RECONNECT\r\n"),
])
def test_format_line(args: tuple[str, ...], kw: dict[str, bool], line: str) -> None:
    assert format_line(*args, **kw) == line


@pytest.mark.parametrize("args", [
    ("PRIVMSG", "#chan", "two\r\nPRIVMSG #chan :lines"), ("PRIVMSG", "#chan", "nul\0"),
    ("PRIVMSG", "#ch an", "x"), ("NO SUCH", "x"), ("PRIVMSG", ":#chan", "x")])
def test_format_line_refuses_injection(args: tuple[str, ...]) -> None:
    with pytest.raises(ValueError):
        format_line(*args)


def test_splitter_joins_lines_across_frames_and_drops_oversized() -> None:
    s = LineSplitter(max_line=20)
    assert s.feed("PING :a\r\nPRIV") == ["PING :a"]
    assert s.buffered == 4
    assert s.feed("MSG #c :x\r\n\r\n") == ["PRIVMSG #c :x"]
    assert s.feed("y" * 15) == [] and s.feed("y" * 10) == []    # 25 > 20: skipped to its end
    assert s.oversized == 1 and s.buffered == 0
    assert s.feed("yyy\r\nPING :b\r\n") == ["PING :b"]
    assert s.feed("z" * 30 + "\r\nPING :c\r\n") == ["PING :c"] and s.oversized == 2


# -- fuzzing ---------------------------------------------------------------------------------

irc_text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=300)
# NUL never travels (a line with NUL is refused: see MALFORMED)
tag_value = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",),
                                  exclude_characters="\0"), max_size=40)


@settings(max_examples=400, deadline=None)
@given(irc_text)
def test_parse_line_never_raises(line: str) -> None:
    msg = parse_line(line)
    if msg is not None:
        assert msg.command.isascii() and (msg.command.isalpha() or msg.command.isdigit())
        assert all(" " not in p for p in msg.params[:-1])


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.from_regex(r"[a-z][a-z0-9-]{0,12}", fullmatch=True), tag_value,
                       max_size=6),
       st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc", "Zl", "Zp")),
               max_size=200))
def test_tagged_privmsg_round_trips(tags: dict[str, str], text: str) -> None:
    raw = ";".join(f"{k}={escape_tag(v)}" for k, v in tags.items())
    line = (f"@{raw} " if tags else "") + f":u!u@u.tmi.twitch.tv PRIVMSG #chan :{text}"
    msg = parse_line(line)
    assert msg is not None
    assert msg.tags == tags and msg.params == ("#chan", text) and msg.nick == "u"


@given(tag_value)
def test_escape_round_trip(value: str) -> None:
    assert unescape_tag(escape_tag(value)) == value


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(st.sampled_from("ab :\r\n"), max_size=40), max_size=20))
def test_splitter_is_bounded_and_loses_no_short_line(frames: list[str]) -> None:
    s = LineSplitter(max_line=16)
    out: list[str] = []
    for f in frames:
        out.extend(s.feed(f))
        assert s.buffered <= 16
    whole = "".join(frames)
    complete = whole.split("\n")[:-1]          # lines that were ended
    expected = [ln.rstrip("\r") for ln in complete if 0 < len(ln) <= 16 and ln.rstrip("\r")]
    # a line after an over-long one may be swallowed only if it shares the long line's frame
    # tail; with lines no longer than the cap every ended line comes out exactly once
    if all(len(ln) <= 16 for ln in complete) and len(whole.split("\n")[-1]) <= 16:
        assert out == expected
    assert all(len(x) <= 16 for x in out)
