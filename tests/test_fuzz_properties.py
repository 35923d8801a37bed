"""Issue 11: hypothesis property tests for the three parsers that read untrusted input:
the control protocol decoder (a line from any local client), the chat parser (anything a
viewer types) and the config loader (any file an operator points storyd at).

Properties, not examples: each parser either answers or raises its own documented error,
never anything else, and what it accepts round-trips."""

from __future__ import annotations

import re
import string
import unicodedata
import zlib
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import msgspec
import trio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from storyd.config import effective
from storyd.config import loader as config_mod
from storyd.control import protocol
from storyd.control.server import _decode
from storyd.core.vote_parse import parse_vote
from storyd.errors import ConfigError
from storyd.providers import http_io

SETTINGS = settings(max_examples=300, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow])

json_leaf = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text()
json_value = st.recursive(json_leaf, lambda inner: st.lists(inner, max_size=4)
                          | st.dictionaries(st.text(max_size=8), inner, max_size=4),
                          max_leaves=20)
commands = st.sampled_from(["status", "vote", "session", "sessions", "chat", "config-set",
                            "export", "watch", "nope"])
envelopes = st.fixed_dictionaries(
    {"v": st.integers(-2, 3) | json_leaf, "id": st.integers() | json_leaf,
     "request": st.fixed_dictionaries({"cmd": commands}, optional={
         "id": st.integers() | json_leaf, "viewer": json_value, "choice": json_value,
         "limit": st.integers(), "messages": json_value, "key": json_value,
         "value": json_value}) | json_value})


def reply_of(line: bytes) -> protocol.Envelope | dict[str, object]:
    out = _decode(line)
    if isinstance(out, bytes):
        assert out.endswith(b"\n") and out.count(b"\n") == 1
        reply = msgspec.json.decode(out)
        assert reply["ok"] is False and reply["v"] == protocol.PROTOCOL_VERSION
        assert reply["error"]["code"] in ("bad_json", "bad_request", "bad_version")
        return reply  # type: ignore[no-any-return]
    return out


@SETTINGS
@given(st.binary(max_size=300))
def test_control_decoder_answers_any_bytes(line: bytes) -> None:
    reply_of(line)


@SETTINGS
@given(st.integers(1, 20_000), st.sampled_from([b"[", b"{", b'{"a":', b'{"v":1,"request":[']))
def test_control_decoder_answers_any_nesting(depth: int, opener: bytes) -> None:
    reply_of(opener * depth)


@SETTINGS
@given(envelopes)
def test_control_decoder_on_json_shaped_requests(env: object) -> None:
    out = reply_of(msgspec.json.encode(env))
    if isinstance(out, protocol.Envelope):      # accepted: it round-trips exactly
        again = protocol.decode_envelope(msgspec.json.encode(out))
        assert again == out and out.v == protocol.PROTOCOL_VERSION
    elif isinstance(env, dict) and isinstance(env.get("id"), int) and not isinstance(
            env["id"], bool) and -(2**63) <= env["id"] < 2**64:
        assert out["id"] == env["id"]          # an id that could be read is echoed


@SETTINGS
@given(st.text(max_size=200))
def test_chat_parser_never_raises_and_answers_a_choice_or_none(text: str) -> None:
    choice = parse_vote(text)
    assert choice is None or 0 <= choice <= 5


VOTE_KEYS = "abcdefABCDEF123456"


@SETTINGS
@given(st.sampled_from(VOTE_KEYS), st.sampled_from(["", " ", "  go go", "\tyes"]),
       st.sampled_from(["!", "！"]))
def test_chat_parser_reads_every_documented_vote(key: str, tail: str, bang: str) -> None:
    expected = ("abcdef".index(key.lower()) if key.isalpha() else int(key) - 1)
    assert parse_vote(f"{bang}{key}{tail}") == expected
    wide = unicodedata.normalize("NFKC", key)           # the fullwidth form counts too
    fullwidth = chr(ord(wide) + 0xFEE0)
    assert parse_vote(f"{bang}{fullwidth}{tail}") == expected
    assert parse_vote(f" {key} ") == expected           # a bare key, whole message


@SETTINGS
@given(st.text(alphabet=string.ascii_letters + " ", min_size=2, max_size=40))
def test_chat_parser_ignores_chatter(text: str) -> None:
    if not text.strip() or len(text.strip()) == 1:
        return
    if text.lstrip()[:1] == "!":
        return
    if re.fullmatch(r"([a-f])(?:\1\1?| \1(?: \1)?)", text.strip(), re.IGNORECASE):
        return          # a repeated letter (`aa`, `a a`, `aaa`) is a vote (issue 19)
    assert parse_vote(text) is None


toml_keys = st.sampled_from(["voting", "story", "server", "providers.x", "overlay", "chat",
                             "nope"])
toml_lines = st.one_of(
    st.text(max_size=60),
    st.builds(lambda s: f"[{s}]", toml_keys),
    st.builds(lambda k, v: f"{k} = {v}", st.sampled_from(
        ["duration", "choices", "theme", "port", "base_url", "headers", "sources", "x"]),
        st.sampled_from(['45', '"x"', "[1, 2]", "{ a = 1 }", "true", "1e999", '"\\u0000"',
                         "[" * 50, "nan", "-1", "99999999999999999999999"])))


@SETTINGS
@given(st.lists(toml_lines, max_size=12))
def test_config_parse_gives_a_config_or_a_config_error(lines: list[str]) -> None:
    text = "\n".join(lines)
    try:
        cfg = config_mod.parse(text, "fuzz.toml")
    except ConfigError as exc:
        assert str(exc).startswith("fuzz.toml")
        return
    again = config_mod.parse(config_mod.dump_toml(cfg, mask=False), "again.toml")
    assert again == cfg


@settings(max_examples=150, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=2000))
def test_config_load_gives_a_config_or_a_config_error_for_any_file(
        tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "fuzz.toml"
    path.write_bytes(data)
    try:
        config_mod.load(path)
    except ConfigError as exc:
        assert str(exc).startswith(str(path))


class Chunks(httpx.AsyncByteStream):
    """A body arriving in network-sized pieces (httpx reads an in-memory body eagerly)."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for i in range(0, len(self.data), 1500):
            yield self.data[i:i + 1500]


# ---- issue 22: the config reader behind `config get/show`, and capped decompression ---------
@settings(max_examples=100, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=2000) | st.builds(lambda ls: "\n".join(ls).encode(),
                                             st.lists(toml_lines, max_size=12)))
def test_config_show_answers_every_key_whatever_the_file_holds(
        tmp_path: Path, data: bytes) -> None:
    """`config show` with origins: every key, from the running config, never an exception."""
    path = tmp_path / "fuzz.toml"
    path.write_bytes(data)
    running = config_mod.defaults()
    shown = effective.describe(running, path)
    assert shown["voting.duration"].value == running.voting.duration
    assert {e.source for e in shown.values()} <= {"default", "file"}


@settings(max_examples=60, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=4096), st.sampled_from(["gzip", "deflate", "raw-deflate", "garbage"]),
       st.integers(1, 8192), st.integers(0, 200))
def test_a_compressed_body_is_decoded_whole_under_its_cap_or_refused(
        payload: bytes, coding: str, cap: int, repeat: int) -> None:
    """Any payload (repeated to compress well), any coding, any cap: the body comes back
    exactly, or TooLarge without reading more than one step past the cap, or a
    DecodingError; never anything else."""
    plain = payload * (repeat + 1)
    wbits = {"gzip": zlib.MAX_WBITS | 16, "deflate": zlib.MAX_WBITS,
             "raw-deflate": -zlib.MAX_WBITS}.get(coding)
    if wbits is None:
        body = payload
    else:
        c = zlib.compressobj(6, zlib.DEFLATED, wbits)
        body = c.compress(plain) + c.flush()
    header = "gzip" if coding in ("gzip", "garbage") else "deflate"
    resp = httpx.Response(200, headers={"content-encoding": header}, stream=Chunks(body),
                          request=httpx.Request("GET", "http://fuzz.invalid/"))

    async def read() -> bytes:
        return await http_io.read_capped(resp, cap)

    try:
        got = trio.run(read)
    except http_io.TooLarge as exc:
        assert wbits is None or len(plain) > cap
        assert exc.read <= cap + http_io.INFLATE_STEP
        return
    except httpx.DecodingError:
        assert wbits is None
        return
    assert len(got) <= cap
    if wbits is not None:
        assert got == plain
