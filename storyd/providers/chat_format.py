"""Chat plumbing of the OpenAI-compatible client: the streamed text sink, and how a refused
structured-output mode is recognised.

`chapter_adapt` / `plan_adapt` / `recap_adapt` build the messages, schema and token limit of
a request for the JSON mode in use (no template where the server enforces a grammar).
`TextSink` feeds streamed content to a ChapterStream and hands the chapter text decoded so
far to a listener. `format_refusal` tells an error answer about `response_format` (whatever
its status: llama-cpp-python answers HTTP 500 "Input should be 'text' or 'json_object'")
from other trouble; the client then steps down along `STEP_DOWN` (json_schema → json_object
with `schema`, llama-cpp-python's form → json_object → none) and asks again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from storyd.core import prompts
from storyd.core.chapter_stream import ChapterStream
from storyd.core.model import ChapterRequest
from storyd.core.plan import plan_json_schema
from storyd.core.plan_prompts import PlanRequest, build_plan_messages
from storyd.core.recap import RecapRequest, build_recap_messages, recap_json_schema
from storyd.errors import ProviderError
from storyd.providers.openai_base import error_detail
from storyd.providers.presets import JsonMode

log = logging.getLogger(__name__)


class TextSink:
    """Feeds streamed content to a ChapterStream and hands the text so far to `on_text`."""

    def __init__(self, on_text: Callable[[str], None]) -> None:
        self.on_text = on_text
        self.stream = ChapterStream()
        self.last = ""
        self.version = 0

    def restart(self) -> None:
        """A new answer begins (a retry): a listener that was shown text gets "" first."""
        shown = self.last
        self.stream, self.last, self.version = ChapterStream(), "", 0
        if shown:
            self._tell("")

    def _tell(self, text: str) -> None:
        try:
            self.on_text(text)
        except Exception:   # a broken listener must not break generation
            log.exception("on_text callback failed")

    def feed(self, piece: str) -> None:
        self.stream.feed(piece)
        if self.stream.version == self.version:
            return
        self.version = self.stream.version
        text = self.stream.text
        if text != self.last:
            self.last = text
            self._tell(text)


# what a server that refuses a structured-output mode gets next (issue 17.7)
STEP_DOWN: dict[str, JsonMode] = {"json_schema": "json_object_schema",
                                  "json_object_schema": "json_object", "json_object": "none"}
_FORMAT_WORDS = ("response_format", "json_schema", "json_object", "json mode", "schema",
                 "grammar")


class FormatRefused(ProviderError):
    """The server refused the structured-output mode (any status): step down, ask again."""

    def __init__(self, message: str, *, provider: str, status: int, detail: str) -> None:
        super().__init__(message, provider=provider, status=status, retryable=False)
        self.detail = detail


def format_refusal(body: dict[str, Any], status: int, raw: bytes) -> str:
    """The error detail when an error answer is about `response_format` (any status: a
    llama-cpp-python server says HTTP 500 "Input should be 'text' or 'json_object'"), else
    ""."""
    if "response_format" not in body or status < 400:
        return ""
    detail, _ = error_detail(raw)
    low = (detail or raw.decode("utf-8", "replace")).lower()
    if not any(w in low for w in _FORMAT_WORDS):
        return ""
    return " ".join((detail or raw.decode("utf-8", "replace")).split())[:300]


# (grammar?) -> messages, schema and max_tokens for the JSON mode in use (OpenAICompat.complete)
Adapt = Callable[[bool], tuple[list[dict[str, str]], dict[str, Any] | None, int]]


def is_grammar(json_mode: str, preset: str) -> bool:
    """The server holds answers to the schema as a grammar (llama-cpp-python's json_object
    with `schema`; llama.cpp's and Ollama's json_schema): prompts then show no template."""
    return json_mode == "json_object_schema" or (
        json_mode == "json_schema" and preset in ("llamacpp", "ollama"))


def response_format(json_mode: str, schema: dict[str, Any] | None,
                    name: str) -> dict[str, Any] | None:
    """The `response_format` of a chat request in this JSON mode (None: none sent)."""
    if schema is None or json_mode == "none":
        return None
    if json_mode == "json_schema":
        return {"type": "json_schema", "json_schema": {"name": name, "schema": schema}}
    if json_mode == "json_object_schema":   # llama-cpp-python: json_object held to a schema
        return {"type": "json_object", "schema": schema}
    return {"type": "json_object"}


def plan_adapt(request: PlanRequest) -> Adapt:
    def adapt(grammar: bool) -> tuple[list[dict[str, str]], dict[str, Any] | None, int]:
        return (build_plan_messages(request, enforced=grammar),
                plan_json_schema(request.chapters, grammar=grammar),
                400 + 40 * request.chapters if grammar else 1800)
    return adapt


def recap_adapt(request: RecapRequest) -> Adapt:
    def adapt(grammar: bool) -> tuple[list[dict[str, str]], dict[str, Any] | None, int]:
        return (build_recap_messages(request, enforced=grammar),
                recap_json_schema(grammar=grammar), 500)
    return adapt


def chapter_adapt(request: ChapterRequest) -> Adapt:
    def adapt(grammar: bool) -> tuple[list[dict[str, str]], dict[str, Any] | None, int]:
        # a grammar asks for title, text and choices only: a CPU model stops sooner
        return (prompts.build_chapter_messages(request, enforced=grammar),
                prompts.chapter_json_schema(request.n_choices, request.closing,
                                            grammar_words=request.words if grammar else 0),
                request.words * 3 + 320 if grammar else max(900, request.words * 4 + 700))
    return adapt
