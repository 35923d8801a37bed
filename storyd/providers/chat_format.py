"""Chat plumbing of the OpenAI-compatible client: the streamed text sink, and how a refused
structured-output mode is recognised.

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

from storyd.core.chapter_stream import ChapterStream
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
