"""The plumbing of the OpenAI-compatible client: configuration, bounded requests, errors.

`ClientBase` holds one provider's settings, its lazily created `httpx.AsyncClient`, the
masking of credentials, the translation of every foreign error into `ProviderError`, the
bounded `_send` and the `_retrying` loop; `OpenAICompatProvider` (openai_compat.py) builds
text, pictures and speech on top. See openai_compat.py for the theory of operation.
"""

from __future__ import annotations

import base64
import html
import json
import logging
import random
import re
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Self, TypeVar

import httpx
import trio

from storyd.config.masking import resolve_secret
from storyd.config.structs import ProviderConfig
from storyd.errors import ConfigError, ProviderError, ProviderOutputError
from storyd.providers import http_io
from storyd.providers.http_io import MB, METER, Limits, RequestTimeout, TooLarge, Usage
from storyd.providers.presets import preset_for

log = logging.getLogger(__name__)
ERROR_BODY = 16 * 1024      # bytes of an error answer read for its message
T = TypeVar("T")
_HINTS = {400: "the request was rejected", 401: "check [providers.{n}] api_key_env (key and "
          "base_url must belong together)", 402: "the account has no credit left",
          403: "the key may not use this model or endpoint", 404: "check [providers.{n}] "
          "base_url and the model name", 429: "rate limited"}


def sniff_image(data: bytes, fallback: str) -> str:
    if data.startswith(b"\x89PNG"):
        return "image/png"
    if data.startswith(b"\xff\xd8"):
        return "image/jpeg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return fallback.split(";")[0].strip() or "application/octet-stream"


_TITLE = re.compile(r"(?is)<(title|h1)[^>]*>(.*?)</\1>")
_TAG = re.compile(r"(?s)<[^>]*>")


def _html_text(text: str) -> str | None:
    """One readable line from an HTML error page (its title, else its text), or None when
    `text` is not HTML. Never the markup itself."""
    head = text[:512].lower()
    if not text.startswith("<") or not any(t in head for t in ("<html", "<!doctype", "<head",
                                                                  "<body", "<h1", "<title")):
        return None
    found = _TITLE.search(text)
    words = _TAG.sub(" ", found.group(2) if found else text)
    line = " ".join(html.unescape(words).split())
    return f"an HTML page: {line[:120]}" if line else "an HTML page"


def error_detail(body: bytes) -> tuple[str, Any]:
    """(message, code) from an error body: OpenAI, SiliconFlow, a bare string, or one line
    for an HTML page (a proxy's or a web server's 404)."""
    text = body.decode("utf-8", "replace").strip()
    try:
        data = json.loads(text)
    except ValueError:
        page = _html_text(text)
        return (page if page is not None else " ".join(text.split())[:200]), None
    if isinstance(data, str):
        return data[:200], None
    if isinstance(data, dict):
        err = data.get("error", data)
        if isinstance(err, str):
            return err[:200], data.get("code")
        if isinstance(err, dict):
            return str(err.get("message") or err)[:200], err.get("code", data.get("code"))
    return text[:200], None


class ClientBase:
    """Settings, HTTP client, masking, errors and retries of one `[providers.NAME]`."""

    def __init__(self, name: str, cfg: ProviderConfig, *, temperature: float = 0.9,
                 backoff_base: float = 1.0, backoff_max: float = 30.0,
                 retry_after_max: float = 120.0, api_key: str | None = None,
                 rng: random.Random | None = None, own_port: int | None = None,
                 probe_speech: bool = False,
                 outgoing: Callable[[dict[str, Any]], dict[str, Any]] | None = None) -> None:
        self.name = name
        self.cfg = cfg
        self.preset = preset_for(cfg.preset)
        self.base_url = (cfg.base_url or self.preset.base_url).rstrip("/")
        if not self.base_url.startswith(("http://", "https://")):
            raise ConfigError(f"provider '{name}' has no usable base_url: set [providers.{name}] "
                              "base_url or a preset")
        self._key = api_key if api_key is not None else resolve_secret(cfg.api_key,
                                                                       cfg.api_key_env)
        self._mask = http_io.Masker()
        self._mask.add(self._key, *cfg.headers.values())
        url = httpx.URL(self.base_url)
        if url.userinfo:   # httpx sends it as Basic auth: mask both forms
            self._mask.add(url.password or "",
                           base64.b64encode(url.userinfo).decode())
        self.shown_url = http_io.mask_url(self.base_url)
        self.local = http_io.is_loopback_host(url.host)
        self.own_port = own_port
        self.probe_speech = probe_speech
        self.limits = Limits(connect=cfg.connect_timeout, first_byte=cfg.first_byte_timeout,
                             read=cfg.read_timeout, stall=cfg.stall_timeout, total=cfg.timeout,
                             max_text=int(cfg.max_text_mb * MB),
                             max_image=int(cfg.max_image_mb * MB),
                             max_audio=int(cfg.max_audio_mb * MB))
        self.text_model = cfg.text_model or self.preset.text_model
        self.image_model = cfg.image_model or (self.preset.image_model if self.preset.images
                                               else "")
        self.speech_model = cfg.speech_model or (self.preset.speech_model if self.preset.speech
                                                 else "")
        self.json_mode = cfg.json_mode if cfg.json_mode != "auto" else self.preset.json_mode
        self.temperature = temperature
        self.backoff_base, self.backoff_max = backoff_base, backoff_max
        self.retry_after_max = retry_after_max
        self._rng = rng or random.Random()
        self._client: httpx.AsyncClient | None = None
        self.usage = Usage()      # everything this provider has spent since it was built
        self.last_prompt: list[dict[str, str]] = []
        self.last_answer = ""     # the content of the last chat answer (admin debug view)
        # every request body passes this on its way out: names that left the story are taken
        # out of what the model reads (services/cameos.py, via build_chains' options)
        self.outgoing: Callable[[dict[str, Any]], dict[str, Any]] = outgoing or (lambda b: b)

    # ------------------------------------------------------------ plumbing
    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._client is not None:
            client, self._client = self._client, None
            await client.aclose()

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:   # redirects are followed by hand (pictures only)
            self._client = httpx.AsyncClient(   # only the codings http_io decodes, capped
                timeout=self.limits.httpx_timeout(), follow_redirects=False,
                headers={"Accept-Encoding": http_io.ACCEPT_ENCODING},
                verify=http_io.tls_context())
        return self._client

    def _headers(self) -> dict[str, str]:
        headers = dict(self.cfg.headers)
        if self._key:
            headers["Authorization"] = f"Bearer {self._key}"
        return headers

    def _scrub(self, text: str) -> str:
        return self._mask(text)

    def _record(self, usage: Usage) -> None:
        self.usage.add(usage)
        meter = METER.get()
        if meter is not None:
            meter.record(self.name, usage)

    def _fail(self, message: str, *, status: int | None = None, retryable: bool = False,
              retry_after: float | None = None, output: bool = False) -> ProviderError:
        cls = ProviderOutputError if output else ProviderError
        return cls(self._scrub(f"provider '{self.name}': {message}"), provider=self.name,
                   status=status, retryable=retryable, retry_after=retry_after)

    def _http_error(self, status: int, body: bytes, headers: Mapping[str, str]) -> ProviderError:
        detail, code = error_detail(body)
        retryable = status == 429 or status >= 500 or code == 50508
        retry_after = None
        try:
            retry_after = max(0.0, float(headers.get("retry-after", "")))
        except ValueError:
            pass
        hint = _HINTS.get(status, "server trouble" if status >= 500 else "")
        if 300 <= status < 400:
            hint = "redirects are not followed — check the base_url"
        if retryable:
            hint = f"{hint or 'overloaded'}; will retry"
        hint = hint.format(n=self.name)
        message = f"HTTP {status} {detail or '(no detail)'}" + (f" — {hint}" if hint else "")
        return self._fail(message, status=status, retryable=retryable, retry_after=retry_after)

    def _transport_error(self, exc: Exception) -> ProviderError:
        if isinstance(exc, httpx.ConnectTimeout | httpx.PoolTimeout):
            return self._fail(f"no connection to {self.shown_url} within "
                              f"{self.limits.connect:g} s (connect_timeout) — the service "
                              "is slow or down", retryable=True)
        if isinstance(exc, httpx.TimeoutException):
            return self._fail(f"sending to {self.shown_url} took longer than "
                              f"{self.limits.total:g} s (timeout) — the service is slow or "
                              "down", retryable=True)
        if isinstance(exc, httpx.DecodingError):
            return self._fail(f"the answer from {self.shown_url} cannot be decoded: {exc}",
                              retryable=True)
        return self._fail(f"cannot reach {self.shown_url} ({type(exc).__name__}) — check "
                          f"[providers.{self.name}] base_url and the network", retryable=True)

    def _timeout_error(self, exc: RequestTimeout, got: str = "") -> ProviderError:
        what = {"first_byte": f"no answer from {self.shown_url} within {exc.seconds:g} s "
                              "(first_byte_timeout)",
                "read": f"the answer stopped for {exc.seconds:g} s (read_timeout)",
                "stall": f"the answer stream stalled: no byte for {exc.seconds:g} s "
                         "(stall_timeout)"}.get(exc.which)
        if what is None:
            what = (f"the answer took longer than {exc.seconds:g} s (timeout){got}"
                    if got else f"no answer from {self.shown_url} within {exc.seconds:g} s "
                    "(timeout)")
        return self._fail(f"{what} — the service is slow or down", retryable=True)

    def _too_large(self, exc: TooLarge, what: str) -> ProviderError:
        size = (f"announced {exc.announced} bytes" if exc.announced is not None
                else f"cut after {exc.read} bytes")
        return self._fail(f"{what} is larger than the cap of {exc.cap // 1024} KiB ({size}) — "
                          f"raise [providers.{self.name}] max_*_mb if this is expected",
                          output=True)

    async def _send(self, method: str, path: str, body: dict[str, Any] | None = None, *,
                    cap: int | None = None, patient: bool = False
                    ) -> tuple[bytes, httpx.Headers]:
        """One bounded API request: (body, headers) of a 2xx answer, else ProviderError."""
        cap, body = cap or self.limits.max_text, None if body is None else self.outgoing(body)
        try:
            with http_io.deadlines(self.limits, patient=patient) as gap:
                async with self._http().stream(method, self.base_url + path, json=body,
                                               headers=self._headers()) as resp:
                    if resp.status_code >= 300:
                        raw = await http_io.read_head(resp, ERROR_BODY, gap) if (
                            resp.status_code >= 400) else b""
                        raise self._http_error(resp.status_code, raw, resp.headers)
                    return await http_io.read_capped(resp, cap, gap), resp.headers
        except TooLarge as exc:
            raise self._too_large(exc, "the answer") from None
        except RequestTimeout as exc:
            raise self._timeout_error(exc) from None
        except httpx.HTTPError as exc:
            raise self._transport_error(exc) from None
        raise AssertionError("unreachable")   # pragma: no cover - mypy: scopes may swallow

    async def _retrying(self, what: str, op: Callable[[], Awaitable[T]]) -> T:
        attempt = 0
        while True:
            try:
                return await op()
            except ProviderError as exc:
                if not exc.retryable or attempt >= self.cfg.max_retries:
                    raise
                delay = exc.retry_after
                if delay is None:
                    delay = min(self.backoff_max, self.backoff_base * 2 ** attempt)
                    delay *= 0.5 + self._rng.random()
                delay = min(delay, self.retry_after_max)
                attempt += 1
                log.warning("%s failed (%s); retry %d/%d in %.2f s", what, exc, attempt,
                            self.cfg.max_retries, delay)
                await trio.sleep(delay)

