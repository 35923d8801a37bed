"""One client for every OpenAI-compatible service: text, images and speech.

Theory of operation: one `httpx.AsyncClient` per provider, created lazily and closed by
`aclose()` (or `async with`). The API key goes out only as a per-request `Authorization`
header to the configured base URL — never to image download hosts, never into a log line,
a status or an error message (`_scrub` removes the key, custom header values and any
`user:pass@` from anything shown). Every foreign error is translated into `ProviderError`
here: timeouts, connection trouble, HTTP 429, 5xx and SiliconFlow's 50508 are retryable;
400/401/403/404 are not. `_retrying` repeats an operation up to `max_retries` times with
exponential backoff and jitter, honouring `Retry-After`, using `trio.sleep` (so tests with
a mock clock are instant).

Every read is bounded (see `http_io`): separate connect, first-byte, read and stall
timeouts plus a total deadline per request, and a byte cap per kind of answer; nothing is
read whole before its size is known. Chat answers are streamed (SSE, with
`stream_options.include_usage`); only `delta.content` is kept (`reasoning_content` and
`reasoning` are ignored). A stream that ends early, stalls or runs over its cap is a
retryable fault — unless what arrived already holds a complete JSON chapter, which is then
used. JSON mode follows the preset ("auto") or the config; when a server refuses
`response_format` (an error about it, whatever the status), the provider steps down
json_schema → json_object with `schema` (llama-cpp-python's form) → json_object → none,
remembered (`storyctl providers`). Calls and tokens go to the calling chain's `http_io.METER`.

Chat lives here; pictures and speech come from `MediaClient` (openai_media.py), and the HTTP
client, error translation and retries from `ClientBase` (openai_base.py).
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Callable
from typing import Any

import httpx
import msgspec
import trio

from storyd.core import chapter_parse, prompts
from storyd.core import chapter_repair as repair
from storyd.core.model import (
    ChapterDraft,
    ChapterRequest,
    Theme,
)
from storyd.core.plan import StoryPlan
from storyd.core.plan_parse import parse_plan
from storyd.core.plan_prompts import PlanRequest
from storyd.core.recap import (
    RecapRequest,
    StoryRecap,
)
from storyd.errors import ProviderError, ProviderOutputError
from storyd.providers import http_io
from storyd.providers.base import ChapterDefect
from storyd.providers.chat_format import (
    STEP_DOWN,
    Adapt,
    FormatRefused,
    TextSink,
    chapter_adapt,
    format_refusal,
    is_grammar,
    plan_adapt,
    recap_adapt,
    response_format,
)
from storyd.providers.http_io import MB, RequestTimeout, TooLarge, Usage
from storyd.providers.openai_base import ERROR_BODY, error_detail
from storyd.providers.openai_media import MediaClient
from storyd.system import metrics

log = logging.getLogger(__name__)


def _holds_a_chapter(text: str) -> bool:
    data = chapter_parse.extract_json(text)
    return data is not None and bool(data.get("text") or data.get("content"))


class OpenAICompatProvider(MediaClient):
    """TextProvider, ImageProvider and SpeechProvider for one `[providers.NAME]` section."""

    streams_text = True       # write_chapter takes on_text (the chain checks this)
    stream_usage = True       # ask for `usage` in streams until a server refuses that
    format_note = ""          # why json_mode stepped down ("" = it did not)

    # ------------------------------------------------------------ text
    def _chat_body(self, messages: list[dict[str, str]], schema: dict[str, Any] | None,
                   max_tokens: int, schema_name: str) -> dict[str, Any]:
        body: dict[str, Any] = {"model": self.text_model, "messages": messages, "stream": True,
                                self.preset.token_param: max_tokens}
        if self.stream_usage:
            body["stream_options"] = {"include_usage": True}
        if not (self.preset.name == "openai"
                and self.text_model.startswith(("o1", "o3", "o4", "gpt-5"))):
            body["temperature"] = self.temperature
        fmt = response_format(self.json_mode, schema, schema_name)
        if fmt is not None:
            body["response_format"] = fmt
        return body

    @property
    def grammar(self) -> bool:
        """The server holds answers to the schema as a grammar (llama-cpp-python's json_object
        with `schema`; llama.cpp's and Ollama's json_schema): prompts then show no template."""
        return is_grammar(self.json_mode, self.preset.name)

    async def complete(self, messages: list[dict[str, str]], *,
                       schema: dict[str, Any] | None = None, max_tokens: int = 1200,
                       schema_name: str = "chapter", sink: TextSink | None = None,
                       accept: Callable[[str], bool] | None = None, debug: bool = True,
                       adapt: Adapt | None = None) -> str:
        """The streamed answer's content. Steps down the JSON mode when the server refuses
        it (json_schema → json_object with schema → json_object → none; any status), and
        remembers that for later calls.

        `sink` gets the content as it arrives; `accept` says whether the content of a stream
        that broke off (or stalled, or ran over its cap) is usable all the same. `debug`
        False keeps this exchange out of last_prompt/last_answer (follow-ups). `adapt(grammar)`
        builds (messages, schema) anew for the mode in use, also after a step down."""
        if not self.text_model:
            raise self._fail(f"no text model — set [providers.{self.name}] text_model")
        while True:
            if adapt is not None:
                messages, schema, max_tokens = adapt(self.grammar)
            if debug:
                self.last_prompt = messages
            body = self._chat_body(messages, schema, max_tokens, schema_name)
            try:
                answer = await self._retrying(
                    f"provider '{self.name}' chat",
                    functools.partial(self._stream_chat, body, sink, accept))
                if debug:
                    self.last_answer = answer
                return answer
            except ProviderError as exc:
                low = str(exc).lower()
                if exc.status == 400 and "stream_options" in body and "stream_options" in low:
                    self.stream_usage = False      # an older server: tokens are estimated
                    log.warning("provider %r rejected stream_options; estimating tokens from "
                                "now on", self.name)
                    continue
                if isinstance(exc, FormatRefused) and "response_format" in body:
                    refused = self.json_mode
                    self.json_mode = STEP_DOWN.get(refused, "none")
                    self.format_note = (f"{refused} refused ({exc.detail[:120]}); using "
                                        f"{self.json_mode}")
                    log.warning("provider %r refused response_format %s (HTTP %s: %s); "
                                "using %s from now on", self.name, refused, exc.status,
                                exc.detail[:200], self.json_mode)
                    continue
                raise

    async def _stream_chat(self, body: dict[str, Any], sink: TextSink | None,
                           accept: Callable[[str], bool] | None) -> str:
        url, body = self.base_url + "/chat/completions", self.outgoing(body)
        parts: list[str] = []
        usage: dict[str, Any] = {}
        problem: ProviderError | None = None
        if sink is not None:
            sink.restart()
        try:
            with http_io.deadlines(self.limits, streaming=True) as gap:
                async with self._http().stream("POST", url, json=body,
                                               headers=self._headers()) as resp:
                    if resp.status_code >= 300:
                        raw = (await http_io.read_head(resp, ERROR_BODY, gap)
                               if resp.status_code >= 400 else b"")
                        refused = format_refusal(body, resp.status_code, raw)
                        if refused:
                            raise FormatRefused(
                                self._scrub(f"provider '{self.name}': HTTP "
                                            f"{resp.status_code} {refused}"),
                                provider=self.name, status=resp.status_code,
                                detail=self._scrub(refused))
                        raise self._http_error(resp.status_code, raw, resp.headers)
                    if "text/event-stream" not in resp.headers.get("content-type", ""):
                        data = json.loads(await http_io.read_capped(
                            resp, self.limits.max_text, gap))
                        if isinstance(data, dict) and isinstance(data.get("usage"), dict):
                            usage.update(data["usage"])
                        parts.append(self._content(data))
                        if sink is not None:
                            sink.feed(parts[-1])
                        return "".join(parts)
                    if not await self._read_sse(resp, gap, parts, usage, sink):
                        problem = self._fail("the answer stream broke off after "
                                             f"{len(''.join(parts))} characters", retryable=True)
        except TooLarge as exc:
            problem = self._too_large(exc, "the answer")
        except RequestTimeout as exc:
            problem = self._timeout_error(exc, f", cut after {len(''.join(parts))} characters"
                                          if parts else "")
        except httpx.HTTPError as exc:
            problem = self._transport_error(exc)
        except ValueError:
            problem = self._fail("answer is not JSON", retryable=True)
        finally:
            self._record_chat(body, "".join(parts), usage)
        text = "".join(parts)
        if problem is not None:
            if text.strip() and accept is not None and accept(text):
                log.warning("%s — the part that arrived is a complete answer; using it", problem)
                return text
            raise problem
        if not text.strip():
            raise self._fail("empty answer (only reasoning?) — raise the token limit or pick "
                             "another text_model", output=True)
        return text

    def _record_chat(self, body: dict[str, Any], answer: str, usage: dict[str, Any]) -> None:
        prompt, completion = usage.get("prompt_tokens"), usage.get("completion_tokens")
        if isinstance(prompt, int) and isinstance(completion, int):
            self._record(Usage(1, prompt, completion))
        elif answer:   # answered without `usage`: about four characters per token
            sent = "".join(str(m.get("content", "")) for m in body.get("messages", []))
            self._record(Usage(1, http_io.estimate_tokens(sent),
                               http_io.estimate_tokens(answer), estimated=True))
        else:          # failed before any answer: a call, no tokens
            self._record(Usage(1))

    def _content(self, data: Any) -> str:
        try:
            metrics.count_usage(self.name, data)
            content = data["choices"][0]["message"].get("content") or ""
        except (KeyError, IndexError, TypeError, AttributeError):
            raise self._fail("answer has no choices[0].message", output=True) from None
        if not content.strip():
            raise self._fail("empty answer", output=True)
        return str(content)

    async def _read_sse(self, resp: httpx.Response, gap: http_io.Gap, parts: list[str],
                        usage: dict[str, Any], sink: TextSink | None) -> bool:
        """Collect the content deltas into `parts`; True when the stream ended properly."""
        finished = False
        async for raw_line in http_io.sse_lines(resp, self.limits.max_text, gap):
            line = raw_line.strip()
            if not line.startswith("data:"):
                continue            # comments, event:/id: lines, keep-alives
            payload = line[5:].strip()
            if payload == "[DONE]":
                return True
            chunk = json.loads(payload)   # ValueError → retryable "not JSON"
            if not isinstance(chunk, dict):
                continue
            if "error" in chunk:
                detail, _ = error_detail(json.dumps(chunk).encode())
                raise self._fail(f"error inside the stream: {detail}", retryable=True)
            metrics.count_usage(self.name, chunk)
            if isinstance(chunk.get("usage"), dict):
                usage.update(chunk["usage"])
            for choice in chunk.get("choices") or []:
                if not isinstance(choice, dict):
                    continue
                delta = choice.get("delta") or choice.get("message") or {}
                piece = delta.get("content") if isinstance(delta, dict) else None
                if isinstance(piece, str) and piece:
                    parts.append(piece)   # reasoning fields are ignored
                    if sink is not None:
                        sink.feed(piece)
                finished = finished or bool(choice.get("finish_reason"))
        return finished

    async def write_outline(self, theme: Theme, language: str, seed: int) -> str:
        content = await self.complete(prompts.build_outline_messages(theme, language),
                                      max_tokens=600)
        return prompts.clean_outline(content)

    async def write_plan(self, request: PlanRequest) -> StoryPlan:
        """The story plan, completed from the request's fallback where the answer falls
        short (never refused: see core/plan_parse.py)."""
        content = await self.complete([], adapt=plan_adapt(request), schema_name="plan")
        return msgspec.structs.replace(parse_plan(content, request), source=self.name)

    async def write_recap(self, request: RecapRequest) -> StoryRecap:
        content = await self.complete([], adapt=recap_adapt(request), schema_name="recap",
                                      debug=False)
        return request.read(content, source=self.name)

    async def write_chapter(self, request: ChapterRequest, *,
                            on_text: Callable[[str], None] | None = None) -> ChapterDraft:
        """The next chapter as the model wrote it: never cut or padded, repaired where it
        can be (see `chapter_parse.parse_chapter`); its notes say what was repaired.

        `on_text` gets the chapter text decoded so far while the answer streams in; when a
        retry starts a new answer after text was shown, it gets "" first. Raises
        ProviderOutputError when nothing usable came, ChapterDefect (with the draft) when the
        answer is not a chapter or has no real choices."""
        content = await self.complete(
            [], adapt=chapter_adapt(request),
            sink=TextSink(on_text) if on_text is not None else None, accept=_holds_a_chapter)
        try:
            draft = repair.without_repeats(chapter_parse.parse_chapter(content, request), request)
        except ProviderOutputError as exc:
            raise self._fail(str(exc), output=True) from None
        draft = msgspec.structs.replace(draft, provider=self.name)
        defects = repair.chapter_defects(draft, request)
        if defects:
            raise ChapterDefect(self._scrub(f"provider '{self.name}': {'; '.join(defects)}"),
                                draft, provider=self.name)
        return await self.complete_choices(draft, request)

    async def complete_choices(self, draft: ChapterDraft, request: ChapterRequest
                               ) -> ChapterDraft:
        """The draft with its missing choices: ONE small follow-up request, then choices
        made of the story's own people and places when fewer than two are real. Raises
        ChapterDefect when even then it has fewer than two."""
        missing = repair.missing_choices(draft, request)
        if missing:
            had = len(draft.choices)
            try:
                content = await self.complete(
                    repair.build_choices_messages(draft, request, missing),
                    schema=repair.choices_json_schema(missing), schema_name="choices",
                    max_tokens=200, debug=False)
                draft = repair.add_choices(draft, request, content)
                note = (f"asked for {missing} more choice{'s' * (missing != 1)} in one "
                        f"follow-up: got {len(draft.choices) - had}")
            except ProviderError as exc:
                note = f"the follow-up for {missing} choices failed: {exc}"
            draft = msgspec.structs.replace(draft, notes=(*draft.notes, note))
        draft = repair.story_choices(draft, request)
        if not request.closing and len(draft.choices) < repair.MIN_REAL_CHOICES:
            raise ChapterDefect(self._scrub(
                f"provider '{self.name}': only {len(draft.choices)} real choice(s) "
                f"({'; '.join(draft.notes) or 'none given'})"), draft, provider=self.name)
        return draft

    async def review_chapter(self, draft: ChapterDraft, request: ChapterRequest) -> list[str]:
        """Continuity issues found by a second model pass (the optional coherence check)."""
        content = await self.complete(prompts.build_coherence_messages(draft, request),
                                      max_tokens=400)
        return prompts.parse_coherence(content)

    # ------------------------------------------------------------ check
    async def _probe_chat(self, result: dict[str, Any], why: str) -> None:
        """No model list here (several llama.cpp builds and proxies): ask the text model
        for one token instead; the answer says whether chapters can be written."""
        body = {"model": self.text_model, "max_tokens": 1, "stream": False,
                "messages": [{"role": "user", "content": "Reply with OK."}]}
        try:
            await self._send("POST", "/chat/completions", body)
        except ProviderError as exc:
            result["diagnosis"] = _diagnosis(exc)
            result["message"] = f"no model list (GET /models: {why}); a one-token chat " \
                                f"request failed: {exc}"
            return
        result.update(ok=True, diagnosis="ok", message=f"no model list (GET /models: {why}); "
                      f"a one-token chat request to {self.text_model} worked")

    async def check(self) -> dict[str, Any]:
        """Probe `GET /models` once: diagnosis ok / bad key / rate-limited / unreachable /
        model not offered / bad voice / error, with latency in seconds. A server without a
        model list (404/405/501, or an answer that is not one) gets a one-token chat request
        to the text model instead. A provider in the speech chain also speaks one tiny
        sentence with each configured voice."""
        started = trio.current_time()
        result: dict[str, Any] = {"provider": self.name, "base_url": self.shown_url,
                                  "ok": False, "missing": [], "json_mode": self.json_mode,
                                  "json_mode_note": self.format_note}
        try:
            # model lists of large hubs run to megabytes
            data = json.loads((await self._send("GET", "/models",
                                                cap=max(self.limits.max_text, 16 * MB)))[0])
        except ProviderError as exc:
            if exc.status in NO_MODEL_LIST and self.text_model:
                await self._probe_chat(result, f"HTTP {exc.status}")
            else:
                result["diagnosis"] = _diagnosis(exc)
                result["message"] = str(exc)
        except ValueError:
            if self.text_model:
                await self._probe_chat(result, "not a JSON model list")
            else:
                result.update(diagnosis="error", message="model list is not JSON")
        else:
            models = data.get("data", []) if isinstance(data, dict) else []
            ids = {str(m.get("id")) for m in models if isinstance(m, dict)}
            wanted = [m for m in (self.text_model, self.image_model, self.speech_model) if m]
            result["missing"] = [m for m in wanted if ids and m not in ids]
            result["ok"] = not result["missing"]
            result["diagnosis"] = "ok" if result["ok"] else "model not offered"
            result["message"] = ("" if result["ok"] else
                                 f"not offered by {self.shown_url}: "
                                 f"{', '.join(result['missing'])}")
            if result["ok"] and self.probe_speech and self.speech_model:
                await self._probe_voices(result)
        result["latency"] = round(trio.current_time() - started, 3)
        return result


NO_MODEL_LIST = (404, 405, 501)   # statuses of a server that has no GET /models


def _diagnosis(exc: ProviderError) -> str:
    return {None: "unreachable", 401: "bad key", 403: "bad key",
            429: "rate-limited"}.get(exc.status, "error")
