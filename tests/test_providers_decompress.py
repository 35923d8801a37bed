"""Issue 22 (7): compressed answers are inflated as they stream, capped at every step.

A real loopback fake (tests/fake_openai.py) sends gzip the way servers do: an ordinary
answer compressed as it streams, a 10 GiB JSON answer compressed 1000:1 (a gzip bomb) as a
200 and as an error body, and a coding storyd never asked for. The caps are 256 KiB here.
"""

from __future__ import annotations

import zlib
from typing import Any

import httpx
import pytest
import trio
from test_providers_bounded import REQ, clock, setup  # noqa: F401 — the fixture is used

from storyd.errors import ProviderError, ProviderOutputError
from storyd.providers import http_io
from tests.fake_openai import FakeOpenAI

CAP = 256 * 1024


async def test_a_gzip_answer_is_decoded_and_only_codings_we_decode_are_asked_for(
        nursery: trio.Nursery) -> None:
    fake, provider = await setup(nursery)
    fake.script = ["gzip"]
    with trio.fail_after(30):
        chapter = await provider.write_chapter(REQ)
    assert chapter.choices and chapter.text
    assert fake.requests[-1]["headers"]["accept-encoding"] == http_io.ACCEPT_ENCODING


async def test_a_gzip_bomb_stops_at_the_cap_without_inflating_a_step_first(
        nursery: trio.Nursery) -> None:
    fake, provider = await setup(nursery)
    fake.script = ["gzip_bomb"]
    with trio.fail_after(60), pytest.raises(ProviderOutputError,
                                            match="larger than the cap of 256 KiB") as info:
        await provider.write_chapter(REQ)
    cut = int(str(info.value).split("cut after ")[1].split(" ")[0])
    assert CAP < cut <= CAP + http_io.INFLATE_STEP         # one step past the cap, no more
    assert fake.sent_bytes < 64 * 1024 * 1024              # of the 10 MB compressed body


async def test_a_gzip_bomb_as_an_error_body_is_read_only_for_its_message(
        nursery: trio.Nursery) -> None:
    fake, provider = await setup(nursery)
    fake.script = ["gzip_bomb_error"]
    with trio.fail_after(60), pytest.raises(ProviderError, match=r"HTTP 500 .*xxxx") as info:
        await provider.write_chapter(REQ)
    assert len(str(info.value)) < 400


async def test_a_coding_storyd_did_not_ask_for_is_a_clear_provider_error(
        nursery: trio.Nursery) -> None:
    fake, provider = await setup(nursery)
    fake.script = ["brotli"]
    with trio.fail_after(30), pytest.raises(ProviderError,
                                            match="unsupported Content-Encoding 'br'"):
        await provider.write_chapter(REQ)


@pytest.mark.parametrize("coding", ["gzip", "deflate", "raw-deflate", "identity"])
async def test_body_chunks_decodes_in_bounded_steps(nursery: trio.Nursery, coding: str) -> None:
    """Straight through http_io: 3 MiB of text comes back whole, in pieces of at most
    INFLATE_STEP bytes, whatever the coding."""
    text = bytes(range(32, 127)) * (3 * 1024 * 1024 // 95)
    wbits = {"gzip": zlib.MAX_WBITS | 16, "deflate": zlib.MAX_WBITS,
             "raw-deflate": -zlib.MAX_WBITS}.get(coding)
    if wbits is None:
        body, header = text, []
    else:
        c = zlib.compressobj(9, zlib.DEFLATED, wbits)
        body = c.compress(text) + c.flush()
        header = [("content-encoding", coding.removeprefix("raw-"))]
    fake = FakeOpenAI("openai")
    fake._files["/files/blob"] = body                       # served once, as image/png

    async def app_with(scope: dict[str, Any], receive: Any, send: Any) -> None:
        async def with_header(msg: dict[str, Any]) -> None:
            if msg["type"] == "http.response.start":
                msg = {**msg, "headers": [*msg["headers"],
                                          *((k.encode(), v.encode()) for k, v in header)]}
            await send(msg)
        await FakeOpenAI.app(fake, scope, receive, with_header)

    fake.app = app_with  # type: ignore[method-assign]
    root = (await fake.start(nursery)).removesuffix("/v1")
    pieces: list[bytes] = []
    with trio.fail_after(30):
        async with httpx.AsyncClient() as client, client.stream("GET", root + "/files/blob") as r:
            async for piece in http_io.body_chunks(r, len(text)):
                pieces.append(piece)
    assert b"".join(pieces) == text
    if wbits is not None:
        assert max(map(len, pieces)) <= http_io.INFLATE_STEP
    fake.stop()
