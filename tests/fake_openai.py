"""A loopback fake of an OpenAI-compatible service (chat, images, speech, models).

Served by hypercorn on 127.0.0.1:0 inside the test's nursery; a real httpx client talks
to it. `mode` picks the dialect: "siliconflow" (error shapes `{"code","message","data"}` and
bare strings, `images[].url` links that work once and then expire), "openai"
(`{"error":{...}}`, `data[].b64_json`), "ollama"/"llamacpp" (streams carry reasoning fields;
llamacpp enforces only the nested json_schema form, like the real server), "llama_cpp_python"
(llama-cpp-python's server: HTTP 500 "Input should be 'text' or 'json_object'" for any
json_schema response_format; it takes `{"type": "json_object", "schema": …}`).

`script` is a list of behaviours consumed one per request to the scripted endpoints (chat,
images, speech); when empty, "ok". Behaviours: "ok", "500", "429" (Retry-After: 7),
"503" (SiliconFlow code 50508), "hang", "truncated", "garbage", "fenced", "wrong_choices",
"blocklisted", "400_format" (rejects json_schema response_format), "400_stream_options" (an older
server refusing `stream_options`), "401", "prose",
"review_bad" (a coherence review finding an issue), "echo_key" (a 400 whose message
repeats the Authorization header).
Messier chapter answers: "extra_choices" (five), "duplicate_choices" (one choice twice),
"no_title", "no_choices", "short", "story_prose" (a heading, prose and two listed choices) (eight words), "repeat_choice" (a choice repeating the
winning one), "think_prose" (reasoning and prose around a fenced answer), "plain_json"
(a whole JSON answer although a stream was asked for), "truncated_done" (the complete chapter,
then the connection drops before the finish reason), "stall" (half the chapter, then
silence), "endless" (valid deltas without end), "keepalive" (SSE comments without end),
"huge" (a body of `huge_bytes` with no Content-Length), "huge_announced" (a Content-Length of
500 MB, then little), "huge_error" (a 500 with an endless message), "gzip" (the
ordinary answer, gzip-compressed as it streams), "gzip_bomb" / "gzip_bomb_error" (a 200 / 500
JSON answer of 10 GiB gzip-compressed to 10 MB), "brotli" (a `Content-Encoding: br` body), "stream_error" (an error object inside the stream), "slow_first"
(`delay` seconds before the headers), "trickle" (the ordinary answer at one byte per
second), "first_byte" (the headers and one byte of the ordinary answer, then silence).
Follow-up requests for more choices ("more short,
distinct choices") are answered with fresh choices. Usage: `{"usage": ...}` closes every
stream that asked for it, except in "ollama" mode (storyd estimates then).
Pictures: "redirect_same" / "redirect_other" / "redirect_own" (the link redirects to the
same host, to another host name, to `own_url`), "huge_image" (a 500 MB picture, no
Content-Length). Speech: "wav" (WAV bytes labelled application/octet-stream), "bad_voice"
(SiliconFlow's 400 for an unknown voice).

Daemon-level tests add: `scripts` (per-endpoint scripts, "chat"/"images"/"speech", consumed
before the shared `script`), `author` (builds each chat answer from the request body —
`story_author` writes a coherent, ever-growing story that follows the winning choice and
attributes dialogue), and `delay` (seconds every chat answer waits before it starts).
"""

from __future__ import annotations

import base64
import json
import random
import re
import zlib
from collections.abc import Callable
from typing import Any

import trio
from hypercorn.config import Config as HyperConfig
from hypercorn.trio import serve

from tests.asgi_fake import read_request

PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00"
       b"\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N"
       b"\x00\x00\x00\x00IEND\xaeB`\x82")
MP3 = b"ID3\x03\x00\x00\x00\x00\x00\x00fake-mp3-frames"
WAV = (b"RIFF\x2c\x00\x00\x00WAVEfmt \x10\x00\x00\x00\x01\x00\x01\x00\x44\xac\x00\x00"
       b"\x88\x58\x01\x00\x02\x00\x10\x00data\x08\x00\x00\x00\x00\x00\x01\x00\x02\x00\x03\x00")


_GZIP_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"


def _trickling(send: Any) -> Any:
    """An ASGI `send` that lets the body out one byte per second."""
    async def slow(msg: dict[str, Any]) -> None:
        if msg["type"] != "http.response.body":
            return await send(msg)
        for byte in msg.get("body", b""):
            await send({"type": "http.response.body", "body": bytes([byte]), "more_body": True})
            await trio.sleep(1)
        if not msg.get("more_body"):
            await send({"type": "http.response.body", "body": b""})
    return slow


def _first_byte_only(send: Any) -> Any:
    """An ASGI `send` that lets one byte of the body out, then never another."""
    async def stuck(msg: dict[str, Any]) -> None:
        if msg["type"] != "http.response.body":
            return await send(msg)
        await send({"type": "http.response.body", "body": msg.get("body", b"")[:1] or b" ",
                    "more_body": True})
        await trio.sleep_forever()
    return stuck


def _gzipping(send: Any) -> Any:
    """An ASGI `send` that gzips the body as it goes (each piece flushed, so a stream stays
    a stream) and says so in the headers."""
    c = zlib.compressobj(6, zlib.DEFLATED, zlib.MAX_WBITS | 16)

    async def gz(msg: dict[str, Any]) -> None:
        if msg["type"] == "http.response.start":
            headers = [(k, v) for k, v in msg.get("headers", []) if k != b"content-length"]
            msg = {**msg, "headers": [*headers, (b"content-encoding", b"gzip")]}
        elif msg["type"] == "http.response.body":
            body = c.compress(msg.get("body", b""))
            body += c.flush(zlib.Z_SYNC_FLUSH if msg.get("more_body") else zlib.Z_FINISH)
            msg = {**msg, "body": body}
        await send(msg)
    return gz


def chapter(n_choices: int = 3, *, words: int = 40, text: str = "") -> dict[str, Any]:
    body = text or " ".join(["Mira opens the old gate and steps into the misty garden."]
                            + ["The lanterns hum softly around her."] * (words // 6))
    return {"title": "The Misty Garden", "text": body,
            "choices": ["Follow the humming lanterns", "Climb the crooked tower",
                        "Wake the sleeping gardener", "Dig under the silver tree",
                        "Call out for the lost cat", "Read the runes on the gate"][:n_choices],
            "summary": "Mira enters the garden.",
            "memory": {"characters": [{"name": "Mira", "note": "curious", "role": "heroine",
                                       "alive": True}],
                       "places": [{"name": "Misty Garden", "note": "behind the gate"}],
                       "items": [], "event": "Mira entered the garden."},
            "lines": [{"speaker": "", "text": "Mira opens the old gate."}]}


_ENDPOINTS = {"/v1/chat/completions": "chat", "/v1/images/generations": "images",
              "/v1/audio/speech": "speech"}
_SYLLABLES = ("ka", "vo", "ru", "me", "pi", "da", "to", "li", "mos", "ser", "an", "qu", "el",
              "zor", "fi", "na", "gel", "bo", "ith", "ul", "ra", "wen", "dri", "os")
_VERBS = ("Visit", "Follow", "Question", "Hide from", "Bargain with", "Chase", "Trust",
          "Warn", "Rescue", "Spy on")
_PREPS = ("near", "beyond", "under", "inside", "behind")


def _word(rng: random.Random) -> str:
    return "".join(rng.choice(_SYLLABLES) for _ in range(3)).capitalize()


def story_author(req: dict[str, Any]) -> dict[str, Any] | str:
    """A coherent chapter for a chat request built by storyd's prompts: it opens with the
    winning choice, offers fresh choices, adds a new character, place and item each chapter
    (so the memory keeps growing), and attributes dialogue to Mira (heroine) and Vorn
    (villain) — Vorn's line is given as the quote alone, as models often do."""
    prompt = req["messages"][-1]["content"]
    if "outline for a new story" in prompt:
        return "Mira, a young gardener, must stop Vorn from stealing the lanterns' light."
    n = int(m.group(1)) if (m := re.search(r"Write chapter (\d+)", prompt)) else 1
    wins = re.search(r"The audience voted for: «(\".*?\")»", prompt)
    winner = json.loads(wins.group(1)) if wins else ""
    words = int(m.group(1)) if (m := re.search(r"about (\d+) words", prompt)) else 40
    k = int(m.group(1)) if (m := re.search(r"offer exactly (\d+) short", prompt)) else 0
    rng = random.Random(n)
    friend, place, item = _word(rng), _word(rng), _word(rng)
    vorn_says = f"\"You will never leave {place}!\""
    sentences = ([f"{winner.rstrip('.!?')}, and it changes everything."] if winner else []) + [
        f"Mira meets {friend} in {place}.",
        f"\"We must find the {item} before nightfall,\" says Mira.",
        f"{vorn_says} growls Vorn from the shadows."]
    while sum(len(x.split()) for x in sentences) < words:
        sentences.append(f"The wind carries old songs through {place}.")
    choices = [f"{rng.choice(_VERBS)} {_word(rng)} {rng.choice(_PREPS)} {_word(rng)}"
               for _ in range(k)]
    return {"title": f"{place} at Dusk", "text": " ".join(sentences), "choices": choices,
            "summary": f"Mira met {friend} in {place} and learned of the {item}.",
            "memory": {"characters": [
                {"name": "Mira", "note": "a young gardener", "role": "heroine", "alive": True},
                {"name": "Vorn", "note": "wants the lanterns' light", "role": "villain"},
                {"name": friend, "note": f"met in {place}", "role": "sidekick"}],
                "places": [{"name": place, "note": f"where the {item} is hidden"}],
                "items": [{"name": item, "note": "sought before nightfall"}],
                "event": f"Mira met {friend} in {place} while Vorn threatened her."},
            "lines": [{"speaker": "", "text": f"Mira meets {friend} in {place}."},
                      {"speaker": "Mira", "text": sentences[2 if winner else 1]},
                      {"speaker": "Vorn", "text": vorn_says}]}


class FakeOpenAI:
    def __init__(self, mode: str = "openai", *, api_key: str = "") -> None:
        self.mode = mode
        self.api_key = api_key
        self.script: list[str] = []
        self.chapter: dict[str, Any] = chapter()
        self.models = ["fake-text", "fake-image", "fake-speech"]
        self.no_model_list = False        # GET /models answers an HTML 404 (some proxies)
        self.requests: list[dict[str, Any]] = []
        self.scripts: dict[str, list[str]] = {}   # "chat"/"images"/"speech" -> behaviours
        self.author: Callable[[dict[str, Any]], dict[str, Any] | str] | None = None
        self.delay = 0.0
        self.huge_bytes = 500 * 1024 * 1024
        self.bomb_bytes = 10 * 1024 ** 3         # decoded size of a "gzip_bomb"
        self.own_url = ""                 # where "redirect_own" points (storyd's own port)
        self.sent_bytes = 0               # body bytes of "endless"/"huge" answers sent so far
        self.base_url = ""
        self._files: dict[str, bytes] = {}
        self._shutdown = trio.Event()

    async def start(self, nursery: trio.Nursery) -> str:
        cfg = HyperConfig()
        cfg.bind = ["127.0.0.1:0"]
        cfg.accesslog = None
        binds = await nursery.start(lambda task_status: serve(
            self.app, cfg, shutdown_trigger=self._shutdown.wait, task_status=task_status))
        self.base_url = binds[0] + "/v1"
        return self.base_url

    def stop(self) -> None:
        self._shutdown.set()

    # ------------------------------------------------------------ ASGI
    async def app(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        request = await read_request(scope, receive, send)
        if request is None:
            return
        body, headers = request
        path = scope["path"]
        data = json.loads(body) if body else None
        self.requests.append({"method": scope["method"], "path": path, "headers": headers,
                              "json": data})
        if path.startswith("/redirect/"):
            target = path.removeprefix("/redirect/")
            return await self._reply(send, 302, b"", "text/plain", [(b"location",
                                                                     target.encode())])
        if path == "/files/huge.png":
            return await self._endless(send, b"\x89PNG\r\n\x1a\n", b"\0" * 65536, "image/png",
                                       self.huge_bytes)
        if path.startswith("/files/"):
            blob = self._files.pop(path, None)   # one download, then the link has expired
            if blob is None:
                return await self._reply(send, 404, b"expired", "text/plain")
            return await self._reply(send, 200, blob, "image/png")
        if self.api_key and headers.get("authorization") != f"Bearer {self.api_key}":
            return await self._error(send, 401, "Invalid token", 20015)
        if path == "/v1/models" and self.no_model_list:   # nginx in front of llama.cpp
            return await self._reply(send, 404, b"<html>\r\n<head><title>404 Not Found</title>"
                                     b"</head>\r\n<body>\r\n<center><h1>404 Not Found</h1>"
                                     b"</center>\r\n<hr><center>nginx</center>\r\n</body>"
                                     b"\r\n</html>\r\n", "text/html")
        if path == "/v1/models":
            return await self._json(send, 200, {"object": "list", "data": [
                {"id": m, "object": "model"} for m in self.models]})
        own = self.scripts.get(_ENDPOINTS.get(path, ""))
        behaviour = own.pop(0) if own else self.script.pop(0) if self.script else "ok"
        if behaviour == "hang":
            await trio.sleep_forever()
        if behaviour in ("gzip_bomb", "gzip_bomb_error"):
            return await self._gzip_bomb(send, 500 if behaviour == "gzip_bomb_error" else 200)
        if behaviour == "brotli":
            return await self._reply(send, 200, b"\x1b\x03\x00\xf8garbage", "application/json",
                                     [(b"content-encoding", b"br")])
        if behaviour == "gzip":        # the ordinary answer, gzip-compressed as it streams
            send, behaviour = _gzipping(send), "ok"
        elif behaviour == "trickle":   # the ordinary answer, one byte a second
            send, behaviour = _trickling(send), "ok"
        elif behaviour == "first_byte":   # the ordinary answer's first byte, then silence
            send, behaviour = _first_byte_only(send), "ok"
        if behaviour == "slow_first":
            await trio.sleep(self.delay)
        if path == "/v1/chat/completions" and behaviour == "huge":
            return await self._endless(send, b'{"choices": [{"message": {"content": "',
                                       b"x" * 65536, "application/json", self.huge_bytes)
        if behaviour == "huge_error":
            return await self._endless(send, b'{"code": 50000, "message": "', b"e" * 65536,
                                       "application/json", self.huge_bytes, status=500)
        if behaviour == "huge_announced":
            await send({"type": "http.response.start", "status": 200, "headers": [
                (b"content-type", b"application/json"), (b"content-length", b"524288000")]})
            await send({"type": "http.response.body", "body": b"{}", "more_body": True})
            await trio.sleep_forever()
        if behaviour == "bad_voice":
            return await self._error(send, 400, "voice not found: fake-speech:nobody", 20015)
        if behaviour == "500":
            return await self._error(send, 500, "internal server error", 50000)
        if behaviour == "429":
            return await self._error(send, 429, "Request was rejected due to rate limiting "
                                     "(RPM limit)", 50603, extra=[(b"retry-after", b"7")])
        if behaviour == "503":
            return await self._error(send, 503, "The model is overloaded, try later", 50508)
        if behaviour == "echo_key":   # a careless server repeating the credentials
            return await self._error(send, 400, f"bad header {headers.get('authorization')}", 1)
        if behaviour == "echo_headers":
            return await self._error(send, 400, f"bad headers {sorted(headers.items())}", 1)
        if behaviour == "401":
            return await self._error(send, 401, "Invalid token", 20015)
        if path == "/v1/chat/completions":
            return await self._chat(send, data or {}, behaviour)
        if path == "/v1/images/generations":
            return await self._image(send, data or {}, behaviour)
        if path == "/v1/audio/speech":
            if behaviour == "wav":
                return await self._reply(send, 200, WAV, "application/octet-stream")
            return await self._reply(send, 200, MP3, "audio/mpeg")
        return await self._error(send, 404, f"no route {path}", 40400)

    async def _reply(self, send: Any, status: int, body: bytes, ctype: str,
                     extra: list[tuple[bytes, bytes]] | None = None) -> None:
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", ctype.encode()), *(extra or [])]})
        await send({"type": "http.response.body", "body": body})

    async def _json(self, send: Any, status: int, value: Any,
                    extra: list[tuple[bytes, bytes]] | None = None) -> None:
        await self._reply(send, status, json.dumps(value).encode(), "application/json", extra)

    async def _error(self, send: Any, status: int, message: str, code: int,
                     extra: list[tuple[bytes, bytes]] | None = None) -> None:
        if self.mode.startswith("siliconflow"):
            value: Any = (message if status == 401 else
                          {"code": code, "message": message, "data": None})
        else:
            value = {"error": {"message": message, "type": "invalid_request_error",
                               "param": None, "code": str(code)}}
        await self._json(send, status, value, extra)

    async def _chat(self, send: Any, req: dict[str, Any], behaviour: str) -> None:
        fmt = req.get("response_format") or {}
        if behaviour == "400_stream_options" and "stream_options" in req:
            return await self._error(send, 400, "Unrecognized request argument supplied: "
                                     "stream_options", 20001)
        if self.mode == "llama_cpp_python" and fmt.get("type") not in (None, "text",
                                                                       "json_object"):
            # the real server's answer (llama-cpp-python 0.3, captured): a 500 naming the field
            return await self._json(send, 500, {"error": {
                "message": "1 validation error:\n  {'type': 'literal_error', 'loc': ('body', "
                           "'response_format', 'type'), 'msg': \"Input should be 'text' or "
                           "'json_object'\", 'input': 'json_schema'}",
                "type": "internal_server_error", "param": None, "code": None}})
        if behaviour == "400_format" and fmt.get("type") == "json_schema":
            return await self._error(send, 400, "response_format json_schema is not supported "
                                     "for this model", 20024)
        if self.delay and behaviour != "slow_first":
            await trio.sleep(self.delay)
        prompt = str((req.get("messages") or [{}])[-1].get("content", ""))
        if m := re.search(r"Write exactly (\d+) more short, distinct choices", prompt):
            rng = random.Random(len(self.requests))
            written: dict[str, Any] | str = {"choices": [
                f"{rng.choice(_VERBS)} {_word(rng)} {rng.choice(_PREPS)} {_word(rng)}"
                for _ in range(int(m.group(1)))]}
        else:
            written = self.author(req) if self.author is not None else self.chapter
        chapter_ = written if isinstance(written, dict) else self.chapter
        content = written if isinstance(written, str) else json.dumps(written, ensure_ascii=False)
        choices = list(chapter_.get("choices") or [])
        if behaviour == "garbage":
            content = "I am sorry, I cannot write stories today."
        elif behaviour == "fenced":
            content = f"Here is the chapter:\n```json\n{content}\n```\nEnjoy!"
        elif behaviour == "think_prose":
            content = (f"<think>The user wants {{a chapter}}.</think>Sure! Here it is:\n```json\n"
                       f"{content}\n```\nI hope the audience likes it.")
        elif behaviour == "wrong_choices":
            content = json.dumps({**chapter_, "choices": choices[:2]})
        elif behaviour == "extra_choices":
            content = json.dumps({**chapter_, "choices": choices + ["Sing to the moon",
                                                                    "Count the stars"]})
        elif behaviour == "duplicate_choices":
            content = json.dumps({**chapter_, "choices": [choices[0], choices[0].upper() + "!",
                                                          *choices[1:-1]]})
        elif behaviour == "repeat_choice":
            won = re.search(r"The audience voted for: «(\".*?\")»", prompt)
            again = json.loads(won.group(1)) if won else "Climb the crooked tower"
            content = json.dumps({**chapter_, "choices": [again, *choices[1:]]})
        elif behaviour == "no_title":
            content = json.dumps({k: v for k, v in chapter_.items() if k != "title"})
        elif behaviour == "no_choices":
            content = json.dumps({**chapter_, "choices": []})
        elif behaviour == "short":
            content = json.dumps({**chapter_, "text": "Mira waits. Nothing happens here yet."})
        elif behaviour == "story_prose":   # the format ignored: a heading, prose, a list
            content = (f"## Chapter 1: {chapter_.get('title', 'Untitled')}\n\n"
                       f"{chapter_.get('text', '')}\n\nWhat will Mira do?\n"
                       + "\n".join(f"{'ABC'[i]}) {c}" for i, c in enumerate(choices[:2])))
        elif behaviour == "review_bad":
            content = json.dumps({"ok": False, "issues": ["Tom speaks although he died"]})
        elif behaviour == "blocklisted":
            content = json.dumps({**chapter_, "title": "What the fuck happened"})
        elif behaviour == "prose" or (self.mode == "llamacpp" and fmt.get("type") == "json_schema"
                                      and "schema" not in fmt.get("json_schema", {})):
            content = "Once upon a time there was a garden. The end."   # schema ignored
        usage = {"prompt_tokens": len(json.dumps(req.get("messages"))) // 4,
                 "completion_tokens": len(content) // 4}
        usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
        if not req.get("stream") or behaviour == "plain_json":
            return await self._json(send, 200, {"choices": [{"index": 0, "message": {
                "role": "assistant", "content": content}, "finish_reason": "stop"}],
                "usage": usage})
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"text/event-stream")]})
        reasoning = {"ollama": "reasoning", "siliconflow": "reasoning_content",
                     "llamacpp": "reasoning_content"}.get(self.mode)
        if reasoning:
            await self._event(send, {"choices": [{"index": 0, "delta": {
                reasoning: "{not json} thinking about the story..."}, "finish_reason": None}]})
        if behaviour == "keepalive":
            for _ in range(100_000):
                await send({"type": "http.response.body", "body": b": keep-alive\n\n",
                            "more_body": True})
                await trio.sleep(1)
        if behaviour == "endless":
            await self._event(send, {"choices": [{"index": 0, "delta": {"content": content[:-1]},
                                                  "finish_reason": None}]})
            piece = b"data: " + json.dumps({"choices": [{"index": 0, "delta": {
                "content": " and on"}, "finish_reason": None}]}).encode() + b"\n\n"
            sent = 0    # a model that never stops (no sleep: as fast as the socket takes it)
            while sent < self.huge_bytes:   # bounded only so a gone client ends the loop
                sent += len(piece) * 64
                self.sent_bytes += len(piece) * 64
                await send({"type": "http.response.body", "body": piece * 64, "more_body": True})
            await send({"type": "http.response.body", "body": b""})
            return
        if behaviour == "stream_error":
            await self._event(send, {"error": {"message": "model crashed", "code": 50000}})
            await send({"type": "http.response.body", "body": b""})
            return
        pieces = [content[i:i + 40] for i in range(0, len(content), 40)]
        if behaviour in ("truncated", "stall"):
            pieces = pieces[: len(pieces) // 2]
        for piece_ in pieces:
            await self._event(send, {"choices": [{"index": 0, "delta": {"content": piece_},
                                                  "finish_reason": None}]})
        if behaviour == "stall":
            await trio.sleep_forever()
        if behaviour not in ("truncated", "truncated_done"):
            await self._event(send, {"choices": [{"index": 0, "delta": {},
                                                  "finish_reason": "stop"}]})
            if (req.get("stream_options") or {}).get("include_usage") and self.mode != "ollama":
                await self._event(send, {"choices": [], "usage": usage})
            await send({"type": "http.response.body", "body": b"data: [DONE]\n\n",
                        "more_body": True})
        await send({"type": "http.response.body", "body": b""})

    async def _endless(self, send: Any, head: bytes, block: bytes, ctype: str,
                       size: int, status: int = 200) -> None:
        """A body of `size` bytes without Content-Length, sent block by block."""
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", ctype.encode())]})
        await send({"type": "http.response.body", "body": head, "more_body": True})
        sent = len(head)
        while sent < size:
            chunk = block[:size - sent]
            sent += len(chunk)
            self.sent_bytes += len(chunk)
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b""})

    async def _gzip_bomb(self, send: Any, status: int) -> None:
        """`bomb_bytes` (10 GiB) of JSON text, gzip-compressed about 1000:1 (10 MB sent):
        one compressed MiB of "x", repeated (a full flush makes each copy independent)."""
        head = b'{"choices": [{"message": {"content": "'
        await send({"type": "http.response.start", "status": status, "headers": [
            (b"content-type", b"application/json"), (b"content-encoding", b"gzip")]})
        c = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
        first = _GZIP_HEADER + c.compress(head) + c.flush(zlib.Z_FULL_FLUSH)
        segment = c.compress(b"x" * (1 << 20)) + c.flush(zlib.Z_FULL_FLUSH)
        await send({"type": "http.response.body", "body": first, "more_body": True})
        for _ in range(self.bomb_bytes >> 26):   # 64 MiB decoded per piece sent (66 KB)
            self.sent_bytes += len(segment) * 64
            await send({"type": "http.response.body", "body": segment * 64, "more_body": True})
        await send({"type": "http.response.body", "body": b""})

    async def _event(self, send: Any, value: Any) -> None:
        await send({"type": "http.response.body",
                    "body": b"data: " + json.dumps(value).encode() + b"\n\n", "more_body": True})

    async def _image(self, send: Any, req: dict[str, Any], behaviour: str = "ok") -> None:
        root = self.base_url.removesuffix("/v1")
        if self.mode.startswith("siliconflow") or behaviour != "ok":
            name = f"/files/img{len(self.requests)}.png"
            self._files[name] = PNG
            url = root + name
            if behaviour == "huge_image":
                url = root + "/files/huge.png"
            elif behaviour == "redirect_same":
                url = root + "/redirect/" + name
            elif behaviour == "redirect_other":   # the same server under another host name
                url = root + "/redirect/" + root.replace("127.0.0.1", "localhost") + name
            elif behaviour == "redirect_own":
                url = root + "/redirect/" + self.own_url
            return await self._json(send, 200, {"images": [{"url": url}], "seed": 1,
                                                "timings": {"inference": 0.1}})
        return await self._json(send, 200, {"created": 0, "data": [
            {"b64_json": base64.b64encode(PNG).decode()}]})
