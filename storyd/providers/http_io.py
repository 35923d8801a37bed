"""Bounded outbound HTTP for providers: time limits, byte caps, redirects, masking, cost.

Theory of operation:
- `Limits` holds one provider's time limits and byte caps (from `[providers.NAME]`).
  `deadlines()` wraps one HTTP request in two trio cancel scopes: the total deadline
  (`timeout`), and a gap timer that first allows `first_byte_timeout` for the first body
  byte (connecting is bounded separately by httpx's `connect_timeout`), then `read_timeout`
  (or `stall_timeout` for a streamed answer) between two pieces of the body. When a scope
  fires, `RequestTimeout` says which limit it was.
- `body_chunks()` is the one way a body is read: the raw bytes, inflated here (gzip and
  deflate, the codings storyd asks for) in INFLATE_STEP pieces with a checkpoint after each,
  the cap checked before every next piece — never httpx's whole-chunk decoders, so a gzip
  bomb stops at the cap. `read_capped()` collects a body under its cap (an identity body
  whose Content-Length is over the cap is refused before reading); `sse_lines()` splits a
  streamed answer into lines under the same cap. Nothing is ever read whole with
  `resp.content`.
- `redirect_allowed()` is the redirect policy of picture downloads: same host only, unless
  the provider is local (loopback base URL), and never storyd's own port on a loopback
  or wildcard address.
- `Masker` removes credentials (API key, custom header values, `user:pass@` in URLs) from
  anything shown to an operator.
- `Meter` counts calls and tokens; the chain installs one per call in the `METER` context
  variable (each trio task has its own context, so concurrent chapters never mix) and
  providers record into it.
"""

from __future__ import annotations

import functools
import ipaddress
import re
import ssl
import zlib
from collections.abc import AsyncGenerator, AsyncIterator, Iterator
from contextlib import aclosing, contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

import httpx
import trio

MB = 1024 * 1024


class RequestTimeout(Exception):
    """One of the time limits of a request ran out."""

    def __init__(self, which: str, seconds: float) -> None:
        super().__init__(which)
        self.which, self.seconds = which, seconds


class TooLarge(Exception):
    """A body went over its byte cap; `read` bytes were read before the cut."""

    def __init__(self, cap: int, read: int, announced: int | None = None) -> None:
        super().__init__(f"over {cap} bytes")
        self.cap, self.read, self.announced = cap, read, announced


@dataclass(frozen=True)
class Limits:
    connect: float = 10.0
    first_byte: float = 30.0
    read: float = 15.0
    stall: float = 8.0
    total: float = 60.0
    max_text: int = 2 * MB
    max_image: int = 25 * MB
    max_audio: int = 20 * MB

    def httpx_timeout(self) -> httpx.Timeout:
        # reads are timed by deadlines(); httpx bounds connecting, writing and the pool
        return httpx.Timeout(None, connect=self.connect, write=self.total, pool=self.connect)


class Gap:
    """The gap timer of one request: call `tick()` whenever body bytes arrive."""

    def __init__(self, scope: trio.CancelScope, gap: float) -> None:
        self.scope, self.gap, self.started = scope, gap, False

    def tick(self) -> None:
        self.started = True
        self.scope.deadline = trio.current_time() + self.gap


@contextmanager
def deadlines(limits: Limits, *, streaming: bool = False,
              patient: bool = False) -> Iterator[Gap]:
    """Time limits for one request (see the module docstring); raises RequestTimeout.
    `patient`: the answer starts only when the work is done (picture generation), so only
    the total deadline bounds the wait for its first byte."""
    now = trio.current_time()
    gap_seconds = limits.stall if streaming else limits.read
    first = limits.total if patient else limits.first_byte
    with trio.CancelScope(deadline=now + limits.total) as total:
        with trio.CancelScope(deadline=now + first) as scope:
            gap = Gap(scope, gap_seconds)
            yield gap
    if total.cancelled_caught:
        raise RequestTimeout("total", limits.total)
    if gap.scope.cancelled_caught:
        if gap.started:
            raise RequestTimeout("stall" if streaming else "read", gap_seconds)
        raise RequestTimeout("first_byte", limits.first_byte)


@functools.cache
def tls_context() -> ssl.SSLContext:
    """The one TLS context every provider client shares: building one loads the CA bundle
    (20–100 ms), which would otherwise hold the event loop each time a client is made."""
    return httpx.create_ssl_context()


def warm_up() -> None:
    """Pay for the TLS context and httpx's first-client imports (for a worker thread)."""
    httpx.AsyncClient(verify=tls_context())


def _announced(resp: httpx.Response) -> int | None:
    value = resp.headers.get("content-length", "")
    return int(value) if value.isdigit() else None


ACCEPT_ENCODING = "gzip, deflate"   # the codings body_chunks() decodes; nothing else is asked
INFLATE_STEP = 64 * 1024            # decoded bytes per step; the loop gets a turn after each


def _coding(resp: httpx.Response) -> str:
    """The one Content-Encoding of a body ("identity", "gzip" or "deflate"); DecodingError
    (an httpx.HTTPError: the callers' transport error) for anything else."""
    codings = [c.strip().lower() for c in resp.headers.get("content-encoding", "").split(",")]
    codings = [c for c in codings if c and c != "identity"]
    if not codings:
        return "identity"
    if len(codings) == 1 and codings[0] in ("gzip", "x-gzip", "deflate"):
        return "deflate" if codings[0] == "deflate" else "gzip"
    raise httpx.DecodingError(f"unsupported Content-Encoding {', '.join(codings)!r} (storyd "
                              f"asks for {ACCEPT_ENCODING})", request=resp.request)


async def body_chunks(resp: httpx.Response, cap: int,
                      gap: Gap | None = None) -> AsyncGenerator[bytes, None]:
    """The decoded body in pieces, never more than `cap` bytes in all (TooLarge past it).

    httpx's own decoders inflate each network chunk whole (a 64 KiB gzip chunk can be 64 MB);
    here the raw bytes are inflated as they stream, at most INFLATE_STEP bytes at a time,
    with a checkpoint after each step, and the cap is checked before the next step: a
    gzip bomb costs one step of memory beyond the cap and never holds the event loop for
    more than one step (well under a millisecond). `gap` is ticked when raw bytes arrive.
    """
    coding = _coding(resp)
    total = 0
    if coding == "identity":
        async for chunk in resp.aiter_raw():
            if gap is not None:
                gap.tick()
            total += len(chunk)
            if total > cap:
                raise TooLarge(cap, total)
            yield chunk
        return
    inflater = zlib.decompressobj(zlib.MAX_WBITS | 16 if coding == "gzip" else zlib.MAX_WBITS)
    first = True
    async for raw in resp.aiter_raw():
        if gap is not None:
            gap.tick()
        data = raw
        while data:
            try:
                out = inflater.decompress(data, INFLATE_STEP)
            except zlib.error as exc:
                if first and coding == "deflate":    # raw deflate without the zlib header
                    inflater, first = zlib.decompressobj(-zlib.MAX_WBITS), False
                    continue
                raise httpx.DecodingError(f"the {coding} body is corrupt: {exc}",
                                          request=resp.request) from None
            first = False
            data = inflater.unconsumed_tail
            if inflater.eof:
                data = b""         # bytes after the end of the stream are not the body
            if not out:
                continue
            total += len(out)
            if total > cap:
                raise TooLarge(cap, total)
            yield out
            await trio.lowlevel.checkpoint()
        if inflater.eof:
            break


async def read_capped(resp: httpx.Response, cap: int, gap: Gap | None = None) -> bytes:
    """The whole body, read in pieces; TooLarge past `cap` bytes (decoded)."""
    announced = _announced(resp)
    if announced is not None and announced > cap and _coding(resp) == "identity":
        raise TooLarge(cap, 0, announced)
    buf = bytearray()
    async with aclosing(body_chunks(resp, cap, gap)) as chunks:
        async for chunk in chunks:
            buf += chunk
    return bytes(buf)


async def read_head(resp: httpx.Response, limit: int, gap: Gap | None = None) -> bytes:
    """At most the first `limit` bytes of a body (an error message); the rest is not read."""
    buf = bytearray()
    try:
        async with aclosing(body_chunks(resp, 1 << 62, gap)) as chunks:
            async for chunk in chunks:
                buf += chunk[:limit - len(buf)]
                if len(buf) >= limit:
                    break
    except httpx.DecodingError:
        pass                       # an error body we cannot decode: what we have, if any
    return bytes(buf)


async def sse_lines(resp: httpx.Response, cap: int, gap: Gap) -> AsyncIterator[str]:
    """The lines of a streamed answer (decoded, without line ends); TooLarge past `cap`."""
    announced = _announced(resp)
    if announced is not None and announced > cap and _coding(resp) == "identity":
        raise TooLarge(cap, 0, announced)
    buf = bytearray()
    async with aclosing(body_chunks(resp, cap, gap)) as chunks:
        async for chunk in chunks:
            buf += chunk
            while True:
                end = buf.find(b"\n")
                if end == -1:
                    break
                line = bytes(buf[:end])
                del buf[:end + 1]
                yield line.rstrip(b"\r").decode("utf-8", "replace")
    if buf:
        yield bytes(buf).rstrip(b"\r").decode("utf-8", "replace")


# ------------------------------------------------------------------ addresses

def is_loopback_host(host: str) -> bool:
    host = host.strip("[]").lower()
    if host in ("localhost", "localhost.localdomain") or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _own_host(host: str) -> bool:
    host = host.strip("[]").lower()
    if is_loopback_host(host):
        return True
    try:
        return ipaddress.ip_address(host).is_unspecified
    except ValueError:
        return False


def _origin(url: httpx.URL) -> tuple[str, str, int]:
    port = url.port or (443 if url.scheme == "https" else 80)
    return url.scheme, url.host.lower(), port


def redirect_allowed(first: httpx.URL, target: httpx.URL, *, local: bool,
                     own_port: int | None) -> str:
    """"" when a download may go from `first` to `target`, else why not."""
    if target.scheme not in ("http", "https"):
        return "redirect to a non-http(s) URL"
    _, host, port = _origin(target)
    if own_port and port == own_port and _own_host(host):
        return "redirect to storyd's own port"
    if local:
        return ""
    if (host, port) != _origin(first)[1:]:
        return f"redirect to another host ({host})"
    return ""


def download_allowed(url: httpx.URL, *, own_port: int | None) -> str:
    """"" when a picture URL named by a provider may be fetched, else why not."""
    if url.scheme not in ("http", "https"):
        return "image URL is not http(s)"
    _, host, port = _origin(url)
    if own_port and port == own_port and _own_host(host):
        return "image URL points at storyd's own port"
    return ""


# ------------------------------------------------------------------ masking

_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/@\s]*@")


def mask_url(url: str) -> str:
    """The URL without `user:pass@`."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit((parts.scheme, "***@" + host, parts.path, parts.query, parts.fragment))


@dataclass
class Masker:
    secrets: list[str] = field(default_factory=list)

    def add(self, *values: str) -> None:
        for v in values:
            if v and len(v) >= 4 and v not in self.secrets:
                self.secrets.append(v)
        self.secrets.sort(key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "********")
        return _USERINFO.sub(r"\1***@", text)


# ------------------------------------------------------------------ cost

@dataclass
class Usage:
    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    estimated: bool = False      # some token counts are estimates (no `usage` in answers)

    def add(self, other: Usage) -> None:
        self.calls += other.calls
        self.prompt_tokens += other.prompt_tokens
        self.completion_tokens += other.completion_tokens
        self.estimated = self.estimated or other.estimated


@dataclass
class Meter:
    """Usage of one chain call, per provider."""

    by_provider: dict[str, Usage] = field(default_factory=dict)

    def record(self, provider: str, usage: Usage) -> None:
        self.by_provider.setdefault(provider, Usage()).add(usage)

    def total(self) -> Usage:
        out = Usage()
        for u in self.by_provider.values():
            out.add(u)
        return out


METER: ContextVar[Meter | None] = ContextVar("storyd_provider_meter", default=None)


def estimate_tokens(text: str) -> int:
    """About four characters per token — the usual rule of thumb for English text."""
    return max(1, (len(text) + 3) // 4) if text else 0


# ------------------------------------------------------------------ media types

def sniff_audio(data: bytes, declared: str) -> str | None:
    """The audio type from the first bytes, else the declared one when it is audio."""
    if data[:4] == b"RIFF" and data[8:12] == b"WAVE":
        return "audio/wav"
    if data.startswith(b"ID3") or (len(data) > 1 and data[0] == 0xFF and data[1] & 0xE0 == 0xE0):
        return "audio/mpeg"
    if data.startswith(b"OggS"):
        return "audio/ogg"          # Vorbis or Opus in Ogg: browsers want audio/ogg
    ctype = declared.split(";")[0].strip().lower()
    mapping = {"audio/mp3": "audio/mpeg", "audio/x-wav": "audio/wav", "audio/wave": "audio/wav",
               "audio/mpeg": "audio/mpeg", "audio/wav": "audio/wav", "audio/ogg": "audio/ogg",
               "audio/opus": "audio/opus"}
    return mapping.get(ctype)
