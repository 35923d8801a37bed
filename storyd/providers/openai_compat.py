"""One client for every OpenAI-compatible service: text, images and speech.

Theory of operation: one `httpx.AsyncClient` per provider, created lazily and closed by
`aclose()` (or `async with`). The API key goes out only as a per-request `Authorization`
header to the configured base URL — never to image download hosts, never into a log line or
an error message (`_scrub` removes it from anything the server echoes). Every foreign error
is translated into `ProviderError` here: timeouts, connection trouble, HTTP 429, 5xx and
SiliconFlow's 50508 are retryable; 400/401/403/404 are not. `_retrying` repeats an operation
up to `max_retries` times with exponential backoff and jitter, honouring `Retry-After`, using
`trio.sleep` (so tests with a mock clock are instant).

Chat answers are streamed (SSE); only `delta.content` is kept (`reasoning_content` and
`reasoning` are ignored); a stream that ends without `[DONE]` or a finish reason is a
retryable fault. JSON mode follows the preset ("auto") or the config; when a server answers
400 about `response_format`, the provider steps down json_schema → json_object → none and
remembers that for its later calls.
"""

from __future__ import annotations

import base64
import functools
import json
import logging
import random
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

import httpx
import msgspec
import trio

from storyd import metrics
from storyd.config import ProviderConfig, resolve_secret
from storyd.core import prompts
from storyd.core.model import (
    ChapterDraft,
    ChapterRequest,
    ImageRequest,
    ImageResult,
    SpeechRequest,
    SpeechResult,
    Theme,
)
from storyd.errors import ConfigError, ProviderError, ProviderOutputError
from storyd.providers.presets import DALLE3_IMAGE_SIZES, nearest_size, preset_for

log = logging.getLogger(__name__)
T = TypeVar("T")
MAX_DOWNLOAD = 25 * 1024 * 1024
_HINTS = {400: "the request was rejected", 401: "check [providers.{n}] api_key_env (key and "
          "base_url must belong together)", 402: "the account has no credit left",
          403: "the key may not use this model or endpoint", 404: "check [providers.{n}] "
          "base_url and the model name", 429: "rate limited"}


def _sniff(data: bytes, fallback: str) -> str:
    if data.startswith(b"\x89PNG"):
        return "image/png"
    if data.startswith(b"\xff\xd8"):
        return "image/jpeg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return fallback.split(";")[0].strip() or "application/octet-stream"


def _detail(body: bytes) -> tuple[str, Any]:
    """(message, code) from an error body: OpenAI, SiliconFlow or a bare string."""
    text = body.decode("utf-8", "replace").strip()
    try:
        data = json.loads(text)
    except ValueError:
        return " ".join(text.split())[:200], None
    if isinstance(data, str):
        return data[:200], None
    if isinstance(data, dict):
        err = data.get("error", data)
        if isinstance(err, str):
            return err[:200], data.get("code")
        if isinstance(err, dict):
            return str(err.get("message") or err)[:200], err.get("code", data.get("code"))
    return text[:200], None


class OpenAICompatProvider:
    """TextProvider, ImageProvider and SpeechProvider for one `[providers.NAME]` section."""

    def __init__(self, name: str, cfg: ProviderConfig, *, temperature: float = 0.9,
                 backoff_base: float = 1.0, backoff_max: float = 30.0,
                 retry_after_max: float = 120.0, api_key: str | None = None,
                 rng: random.Random | None = None) -> None:
        self.name = name
        self.cfg = cfg
        self.preset = preset_for(cfg.preset)
        self.base_url = (cfg.base_url or self.preset.base_url).rstrip("/")
        if not self.base_url.startswith(("http://", "https://")):
            raise ConfigError(f"provider '{name}' has no usable base_url: set [providers.{name}] "
                              "base_url or a preset")
        self._key = api_key if api_key is not None else resolve_secret(cfg.api_key,
                                                                       cfg.api_key_env)
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
        self.last_prompt: list[dict[str, str]] = []
        self.last_answer = ""     # the content of the last chat answer (admin debug view)

    # ------------------------------------------------------------ plumbing
    async def __aenter__(self) -> OpenAICompatProvider:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._client is not None:
            client, self._client = self._client, None
            await client.aclose()

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            timeout = httpx.Timeout(self.cfg.timeout, connect=min(10.0, self.cfg.timeout))
            self._client = httpx.AsyncClient(timeout=timeout, follow_redirects=True)
        return self._client

    def _headers(self) -> dict[str, str]:
        headers = dict(self.cfg.headers)
        if self._key:
            headers["Authorization"] = f"Bearer {self._key}"
        return headers

    def _scrub(self, text: str) -> str:
        return text.replace(self._key, "********") if self._key else text

    def _fail(self, message: str, *, status: int | None = None, retryable: bool = False,
              retry_after: float | None = None, output: bool = False) -> ProviderError:
        cls = ProviderOutputError if output else ProviderError
        return cls(self._scrub(f"provider '{self.name}': {message}"), provider=self.name,
                   status=status, retryable=retryable, retry_after=retry_after)

    def _http_error(self, status: int, body: bytes, headers: Mapping[str, str]) -> ProviderError:
        detail, code = _detail(body)
        retryable = status == 429 or status >= 500 or code == 50508
        retry_after = None
        try:
            retry_after = max(0.0, float(headers.get("retry-after", "")))
        except ValueError:
            pass
        hint = _HINTS.get(status, "server trouble" if status >= 500 else "")
        if retryable:
            hint = f"{hint or 'overloaded'}; will retry"
        hint = hint.format(n=self.name)
        message = f"HTTP {status} {detail or '(no detail)'}" + (f" — {hint}" if hint else "")
        return self._fail(message, status=status, retryable=retryable, retry_after=retry_after)

    def _transport_error(self, exc: Exception) -> ProviderError:
        if isinstance(exc, httpx.TimeoutException):
            return self._fail(f"no answer from {self.base_url} within {self.cfg.timeout:g} s "
                              f"({type(exc).__name__}) — the service is slow or down",
                              retryable=True)
        return self._fail(f"cannot reach {self.base_url} ({type(exc).__name__}) — check "
                          f"[providers.{self.name}] base_url and the network", retryable=True)

    async def _send(self, method: str, path: str, body: dict[str, Any] | None = None,
                    ) -> httpx.Response:
        try:
            resp = await self._http().request(method, self.base_url + path, json=body,
                                              headers=self._headers())
        except httpx.HTTPError as exc:
            raise self._transport_error(exc) from None
        if resp.status_code >= 400:
            raise self._http_error(resp.status_code, resp.content, resp.headers)
        return resp

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

    # ------------------------------------------------------------ text
    def _chat_body(self, messages: list[dict[str, str]], schema: dict[str, Any] | None,
                   max_tokens: int) -> dict[str, Any]:
        body: dict[str, Any] = {"model": self.text_model, "messages": messages, "stream": True,
                                self.preset.token_param: max_tokens}
        if not (self.preset.name == "openai"
                and self.text_model.startswith(("o1", "o3", "o4", "gpt-5"))):
            body["temperature"] = self.temperature
        if schema is not None and self.json_mode == "json_schema":
            body["response_format"] = {"type": "json_schema",
                                       "json_schema": {"name": "chapter", "schema": schema}}
        elif schema is not None and self.json_mode == "json_object":
            body["response_format"] = {"type": "json_object"}
        return body

    async def complete(self, messages: list[dict[str, str]], *,
                       schema: dict[str, Any] | None = None, max_tokens: int = 1200) -> str:
        """The streamed answer's content. Steps down the JSON mode on a 400 about it."""
        if not self.text_model:
            raise self._fail(f"no text model — set [providers.{self.name}] text_model")
        self.last_prompt = messages
        while True:
            body = self._chat_body(messages, schema, max_tokens)
            try:
                self.last_answer = await self._retrying(
                    f"provider '{self.name}' chat", functools.partial(self._stream_chat, body))
                return self.last_answer
            except ProviderError as exc:
                low = str(exc).lower()
                if (exc.status == 400 and "response_format" in body
                        and any(w in low for w in ("response_format", "json", "schema"))):
                    self.json_mode = "json_object" if self.json_mode == "json_schema" else "none"
                    log.warning("provider %r rejected response_format; using %s from now on",
                                self.name, self.json_mode)
                    continue
                raise

    async def _stream_chat(self, body: dict[str, Any]) -> str:
        url = self.base_url + "/chat/completions"
        try:
            with trio.move_on_after(self.cfg.timeout * 4):
                async with self._http().stream("POST", url, json=body,
                                               headers=self._headers()) as resp:
                    if resp.status_code >= 400:
                        raise self._http_error(resp.status_code, await resp.aread(),
                                               resp.headers)
                    if "text/event-stream" not in resp.headers.get("content-type", ""):
                        return self._content(json.loads(await resp.aread()))
                    return await self._read_sse(resp)
        except httpx.HTTPError as exc:
            raise self._transport_error(exc) from None
        except ValueError:
            raise self._fail("answer is not JSON", retryable=True) from None
        raise self._fail(f"answer took longer than {self.cfg.timeout * 4:g} s", retryable=True)

    def _content(self, data: Any) -> str:
        try:
            metrics.count_usage(self.name, data)
            content = data["choices"][0]["message"].get("content") or ""
        except (KeyError, IndexError, TypeError, AttributeError):
            raise self._fail("answer has no choices[0].message", output=True) from None
        if not content.strip():
            raise self._fail("empty answer", output=True)
        return str(content)

    async def _read_sse(self, resp: httpx.Response) -> str:
        parts: list[str] = []
        done = finished = False
        async for raw_line in resp.aiter_lines():
            line = raw_line.strip()
            if not line.startswith("data:"):
                continue            # comments, event:/id: lines, keep-alives
            payload = line[5:].strip()
            if payload == "[DONE]":
                done = True
                break
            chunk = json.loads(payload)   # ValueError → retryable "not JSON"
            if isinstance(chunk, dict) and "error" in chunk:
                detail, _ = _detail(json.dumps(chunk).encode())
                raise self._fail(f"error inside the stream: {detail}", retryable=True)
            metrics.count_usage(self.name, chunk)
            for choice in chunk.get("choices") or []:
                delta = choice.get("delta") or choice.get("message") or {}
                if isinstance(delta.get("content"), str):
                    parts.append(delta["content"])   # reasoning fields are ignored
                finished = finished or bool(choice.get("finish_reason"))
        text = "".join(parts)
        if not (done or finished):
            raise self._fail(f"the answer stream broke off after {len(text)} characters",
                             retryable=True)
        if not text.strip():
            raise self._fail("empty answer (only reasoning?) — raise the token limit or pick "
                             "another text_model", output=True)
        return text

    async def write_outline(self, theme: Theme, language: str, seed: int) -> str:
        content = await self.complete(prompts.build_outline_messages(theme, language),
                                      max_tokens=600)
        return prompts.clean_outline(content)

    async def write_chapter(self, request: ChapterRequest) -> ChapterDraft:
        schema = prompts.chapter_json_schema(request.n_choices, request.closing)
        content = await self.complete(prompts.build_chapter_messages(request), schema=schema,
                                      max_tokens=max(900, request.words * 4 + 700))
        try:
            draft = prompts.parse_chapter(content, request)
        except ProviderOutputError as exc:
            raise self._fail(str(exc), output=True) from None
        return msgspec.structs.replace(draft, provider=self.name)

    async def review_chapter(self, draft: ChapterDraft, request: ChapterRequest) -> list[str]:
        """Continuity issues found by a second model pass (the optional coherence check)."""
        content = await self.complete(prompts.build_coherence_messages(draft, request),
                                      max_tokens=400)
        return prompts.parse_coherence(content)

    # ------------------------------------------------------------ images
    async def illustrate(self, request: ImageRequest) -> ImageResult:
        model = self.image_model
        if not model:
            raise self._fail(f"no image model — set [providers.{self.name}] image_model")
        prompt = f"{request.prompt}. {request.theme.image_style}"[:1500]
        body: dict[str, Any] = {"model": model, "prompt": prompt}
        if self.preset.image_api == "siliconflow":
            body["image_size"] = nearest_size(request.width, request.height,
                                              self.preset.image_sizes)
            body["batch_size"] = 1
            if request.seed:
                body["seed"] = request.seed % 4_294_967_295
        else:
            sizes = DALLE3_IMAGE_SIZES if "dall-e-3" in model else self.preset.image_sizes
            body.update(n=1, size=nearest_size(request.width, request.height, sizes))
            if "dall-e" in model:
                body["response_format"] = "b64_json"

        async def once() -> ImageResult:
            data = (await self._send("POST", "/images/generations", body)).json()
            items = data.get("images") or data.get("data") or []
            first = items[0] if items and isinstance(items[0], dict) else {}
            if first.get("b64_json"):
                raw, ctype = base64.b64decode(first["b64_json"]), ""
            elif isinstance(first.get("url"), str):
                raw, ctype = await self._download(first["url"])
            else:
                raise self._fail("answer holds no image (no url or b64_json)", output=True)
            return ImageResult(data=raw, content_type=_sniff(raw, ctype or "image/png"),
                               provider=self.name)

        return await self._retrying(f"provider '{self.name}' image", once)

    async def _download(self, url: str) -> tuple[bytes, str]:
        if not url.startswith(("http://", "https://")):
            raise self._fail("image URL is not http(s)", output=True)
        try:   # no API headers: the picture host is not the API host
            resp = await self._http().get(url)
        except httpx.HTTPError as exc:
            raise self._fail(f"image download failed ({type(exc).__name__})",
                             retryable=True) from None
        if resp.status_code != 200 or not resp.content or len(resp.content) > MAX_DOWNLOAD:
            raise self._fail(f"image download failed: HTTP {resp.status_code} (the link may "
                             "have expired)", retryable=True)
        return resp.content, resp.headers.get("content-type", "")

    # ------------------------------------------------------------ speech
    def voice_for(self, role: str) -> str:
        voices, defaults = self.cfg.voices, self.preset.voices
        voice = (voices.get(role) or defaults.get(role) or voices.get("narrator")
                 or defaults.get("narrator") or "alloy")
        if self.preset.voice_prefix_model and ":" not in voice:
            voice = f"{self.speech_model}:{voice}"
        return voice

    async def speak(self, request: SpeechRequest) -> SpeechResult | None:
        if not self.speech_model:
            raise self._fail(f"no speech model — set [providers.{self.name}] speech_model")
        body: dict[str, Any] = {"model": self.speech_model, "input": request.text[:4096],
                                "voice": self.voice_for(request.role), "response_format": "mp3"}
        if self.preset.sample_rate:
            body["sample_rate"] = self.preset.sample_rate

        async def once() -> SpeechResult:
            resp = await self._send("POST", "/audio/speech", body)
            if not resp.content or "json" in resp.headers.get("content-type", ""):
                raise self._fail("speech answer holds no audio", output=True)
            return SpeechResult(data=resp.content, content_type="audio/mpeg", provider=self.name)

        return await self._retrying(f"provider '{self.name}' speech", once)

    # ------------------------------------------------------------ check
    async def check(self) -> dict[str, Any]:
        """Probe `GET /models` once: diagnosis ok / bad key / rate-limited / unreachable /
        model not offered / error, with latency in seconds."""
        started = trio.current_time()
        result: dict[str, Any] = {"provider": self.name, "base_url": self.base_url,
                                  "ok": False, "missing": []}
        try:
            data = (await self._send("GET", "/models")).json()
        except ProviderError as exc:
            result["diagnosis"] = {None: "unreachable", 401: "bad key", 403: "bad key",
                                   429: "rate-limited"}.get(exc.status, "error")
            result["message"] = str(exc)
        except ValueError:
            result.update(diagnosis="error", message="model list is not JSON")
        else:
            ids = {str(m.get("id")) for m in data.get("data", []) if isinstance(m, dict)}
            wanted = [m for m in (self.text_model, self.image_model, self.speech_model) if m]
            result["missing"] = [m for m in wanted if ids and m not in ids]
            result["ok"] = not result["missing"]
            result["diagnosis"] = "ok" if result["ok"] else "model not offered"
            result["message"] = ("" if result["ok"] else
                                 f"not offered by {self.base_url}: {', '.join(result['missing'])}")
        result["latency"] = round(trio.current_time() - started, 3)
        return result
