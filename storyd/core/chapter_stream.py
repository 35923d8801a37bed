"""An incremental reader of a chapter answer that arrives in pieces (a streamed JSON object).

Theory of operation: `ChapterStream.feed(delta)` takes the next piece of the model's answer
and updates `title`, `text` (the chapter text decoded so far) and `complete` (the top-level
object has closed). Anything before the first `{` outside a `<think>` block is skipped —
prose, a ```json fence, reasoning. A small scanner follows the object's structure (depth,
strings, escapes) character by character and remembers where the raw source of the
top-level "title" and "text" (or "content") string values lies; the raw source seen so far
is decoded with `json.loads` after cutting off an unfinished escape (a lone backslash, a
`\\u` with fewer than four hex digits, or a high surrogate that may still get its low half).
So any split of the same answer gives the same values, and the final values are exactly
what `json.loads` gives for the whole document.

Values are kept up to MAX_CAPTURE raw characters (an endless answer cannot make each
call slower). This is a preview for the streaming reveal; the authoritative chapter is
still parsed and validated by `prompts.parse_chapter` once the answer is complete.
Pure: no I/O.
"""

from __future__ import annotations

import json
import re

_CAPTURE = {"title": "title", "text": "text", "content": "text"}
MAX_CAPTURE = 50_000   # raw characters kept per value: a chapter is a few thousand at most
_HEX_TAIL = re.compile(r"\\u[0-9a-fA-F]{0,3}$")
_HIGH_TAIL = re.compile(r"\\u[dD][89abAB][0-9a-fA-F]{2}$")


def _decodable_prefix(raw: str) -> str:
    """`raw` (JSON string source without quotes) minus an unfinished escape at its end."""
    while True:
        trailing = len(raw) - len(raw.rstrip("\\"))
        if trailing % 2:
            raw = raw[:-1]
            continue
        m = _HEX_TAIL.search(raw) or _HIGH_TAIL.search(raw)
        if m and _even_backslashes_before(raw, m.start()):
            raw = raw[:m.start()]
            continue
        return raw


def _even_backslashes_before(raw: str, index: int) -> bool:
    count = 0
    while index - count - 1 >= 0 and raw[index - count - 1] == "\\":
        count += 1
    return count % 2 == 0


def _decode(raw: str, *, final: bool = False) -> str:
    try:
        value = json.loads('"' + (raw if final else _decodable_prefix(raw)) + '"', strict=False)
    except ValueError:   # an invalid escape from a sloppy model: keep the raw text
        return raw
    return value if isinstance(value, str) else raw


class ChapterStream:
    """Feed answer pieces; read `title`, `text` and `complete` at any time."""

    def __init__(self) -> None:
        self.complete = False
        self.version = 0           # grows whenever title or text grows (cheap change test)
        self._prefix = ""          # text before the object starts (searched for `{`)
        self._started = False
        self._depth = 0
        self._in_string = False
        self._escaped = False
        self._key_raw: list[str] | None = None   # collecting a top-level key
        self._last_key = ""
        self._after_colon = False
        self._capture: str | None = None          # "title"/"text" while inside that value
        self._raw: dict[str, list[str]] = {"title": [], "text": []}
        self._cache: dict[str, tuple[int, str]] = {}   # name → (raw chars decoded, value)
        self._closed: set[str] = set()

    @property
    def title(self) -> str:
        return self._value("title")

    @property
    def text(self) -> str:
        return self._value("text")

    def _value(self, name: str) -> str:
        # decode only what arrived since the last call (cut at a safe point), so a long
        # answer costs linear time however many small pieces it comes in
        parts = self._raw[name]
        consumed, decoded = self._cache.get(name, (0, ""))
        if consumed < len(parts):
            pending = "".join(parts[consumed:])
            safe = pending if name in self._closed else _decodable_prefix(pending)
            if safe:
                decoded += _decode(safe, final=True)
                consumed += len(safe)
                self._cache[name] = (consumed, decoded)
        return decoded

    def feed(self, delta: str) -> None:
        """Take the next piece of the answer."""
        if self.complete or not delta:
            return
        if not self._started:
            self._prefix += delta
            start = self._object_start(self._prefix)
            if start is None:
                self._prefix = self._prefix[-4096:]   # prose without end stays bounded
                return
            self._started = True
            delta, self._prefix = self._prefix[start:], ""
        for c in delta:
            self._step(c)
            if self.complete:
                return

    @staticmethod
    def _object_start(text: str) -> int | None:
        low = text.lower()
        pos = 0
        while True:
            brace = text.find("{", pos)
            think = low.find("<think>", pos)
            if brace == -1:
                return None
            if think == -1 or brace < think:
                return brace
            end = low.find("</think>", think)
            if end == -1:
                return None          # still reasoning: wait for the end of the block
            pos = end + len("</think>")

    def _step(self, c: str) -> None:
        if self._in_string:
            if self._escaped:
                self._escaped = False
            elif c == "\\":
                self._escaped = True
            elif c == '"':
                self._in_string = False
                if self._key_raw is not None:
                    self._last_key = _decode("".join(self._key_raw), final=True)
                    self._key_raw = None
                if self._capture is not None:
                    self._closed.add(self._capture)
                self._capture = None
                return
            if self._key_raw is not None:
                self._key_raw.append(c)
            elif self._capture is not None and len(self._raw[self._capture]) < MAX_CAPTURE:
                self._raw[self._capture].append(c)
                self.version += 1
            return
        if c == '"':
            self._in_string = True
            if self._depth == 1 and not self._after_colon:
                self._key_raw = []
            elif self._depth == 1 and self._after_colon:
                self._capture = _CAPTURE.get(self._last_key)
                if self._capture is not None:
                    self._raw[self._capture] = []
                    self._closed.discard(self._capture)
                    self._cache.pop(self._capture, None)
                    self.version += 1
                self._after_colon = False
        elif c in "{[":
            self._depth += 1
            if self._depth == 2:
                self._after_colon = False
        elif c in "}]":
            self._depth -= 1
            if self._depth <= 0:
                self.complete = True
        elif c == ":" and self._depth == 1:
            self._after_colon = True
        elif c == "," and self._depth == 1:
            self._after_colon = False
