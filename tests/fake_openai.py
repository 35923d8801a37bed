"""A loopback fake of an OpenAI-compatible service (chat, images, speech, models).

Served by hypercorn on 127.0.0.1:0 inside the test's nursery; a real httpx client talks
to it. `mode` picks the dialect: "siliconflow" (error shapes `{"code","message","data"}` and
bare strings, `images[].url` links that work once and then expire), "openai"
(`{"error":{...}}`, `data[].b64_json`), "ollama"/"llamacpp" (streams carry reasoning fields;
llamacpp enforces only the nested json_schema form, like the real server).

`script` is a list of behaviours consumed one per request to the scripted endpoints (chat,
images, speech); when empty, "ok". Behaviours: "ok", "500", "429" (Retry-After: 7),
"503" (SiliconFlow code 50508), "hang", "truncated", "garbage", "fenced", "wrong_choices",
"blocklisted", "400_format" (rejects json_schema response_format), "401", "prose",
"review_bad" (a coherence review finding an issue), "echo_key" (a 400 whose message
repeats the Authorization header).

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
from collections.abc import Callable
from typing import Any

import trio
from hypercorn.config import Config as HyperConfig
from hypercorn.trio import serve

PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00"
       b"\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N"
       b"\x00\x00\x00\x00IEND\xaeB`\x82")
MP3 = b"ID3\x03\x00\x00\x00\x00\x00\x00fake-mp3-frames"


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
        self.requests: list[dict[str, Any]] = []
        self.scripts: dict[str, list[str]] = {}   # "chat"/"images"/"speech" -> behaviours
        self.author: Callable[[dict[str, Any]], dict[str, Any] | str] | None = None
        self.delay = 0.0
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
        if scope["type"] == "lifespan":
            while True:
                msg = await receive()
                if msg["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif msg["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        body = b""
        while True:
            msg = await receive()
            body += msg.get("body", b"")
            if not msg.get("more_body"):
                break
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        path = scope["path"]
        data = json.loads(body) if body else None
        self.requests.append({"method": scope["method"], "path": path, "headers": headers,
                              "json": data})
        if path.startswith("/files/"):
            blob = self._files.pop(path, None)   # one download, then the link has expired
            if blob is None:
                return await self._reply(send, 404, b"expired", "text/plain")
            return await self._reply(send, 200, blob, "image/png")
        if self.api_key and headers.get("authorization") != f"Bearer {self.api_key}":
            return await self._error(send, 401, "Invalid token", 20015)
        if path == "/v1/models":
            return await self._json(send, 200, {"object": "list", "data": [
                {"id": m, "object": "model"} for m in self.models]})
        own = self.scripts.get(_ENDPOINTS.get(path, ""))
        behaviour = own.pop(0) if own else self.script.pop(0) if self.script else "ok"
        if behaviour == "hang":
            await trio.sleep_forever()
        if behaviour == "500":
            return await self._error(send, 500, "internal server error", 50000)
        if behaviour == "429":
            return await self._error(send, 429, "Request was rejected due to rate limiting "
                                     "(RPM limit)", 50603, extra=[(b"retry-after", b"7")])
        if behaviour == "503":
            return await self._error(send, 503, "The model is overloaded, try later", 50508)
        if behaviour == "echo_key":   # a careless server repeating the credentials
            return await self._error(send, 400, f"bad header {headers.get('authorization')}", 1)
        if behaviour == "401":
            return await self._error(send, 401, "Invalid token", 20015)
        if path == "/v1/chat/completions":
            return await self._chat(send, data or {}, behaviour)
        if path == "/v1/images/generations":
            return await self._image(send, data or {})
        if path == "/v1/audio/speech":
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
        if behaviour == "400_format" and fmt.get("type") == "json_schema":
            return await self._error(send, 400, "response_format json_schema is not supported "
                                     "for this model", 20024)
        if self.delay:
            await trio.sleep(self.delay)
        written = self.author(req) if self.author is not None else self.chapter
        chapter_ = written if isinstance(written, dict) else self.chapter
        content = written if isinstance(written, str) else json.dumps(written, ensure_ascii=False)
        if behaviour == "garbage":
            content = "I am sorry, I cannot write stories today."
        elif behaviour == "fenced":
            content = f"Here is the chapter:\n```json\n{content}\n```\nEnjoy!"
        elif behaviour == "wrong_choices":
            content = json.dumps({**chapter_, "choices": chapter_["choices"][:2]})
        elif behaviour == "review_bad":
            content = json.dumps({"ok": False, "issues": ["Tom speaks although he died"]})
        elif behaviour == "blocklisted":
            content = json.dumps({**chapter_, "title": "What the fuck happened"})
        elif behaviour == "prose" or (self.mode == "llamacpp" and fmt.get("type") == "json_schema"
                                      and "schema" not in fmt.get("json_schema", {})):
            content = "Once upon a time there was a garden. The end."   # schema ignored
        if not req.get("stream"):
            return await self._json(send, 200, {"choices": [{"index": 0, "message": {
                "role": "assistant", "content": content}, "finish_reason": "stop"}]})
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"text/event-stream")]})
        reasoning = {"ollama": "reasoning", "siliconflow": "reasoning_content",
                     "llamacpp": "reasoning_content"}.get(self.mode)
        if reasoning:
            await self._event(send, {"choices": [{"index": 0, "delta": {
                reasoning: "{not json} thinking about the story..."}, "finish_reason": None}]})
        pieces = [content[i:i + 40] for i in range(0, len(content), 40)]
        if behaviour == "truncated":
            pieces = pieces[: len(pieces) // 2]
        for piece in pieces:
            await self._event(send, {"choices": [{"index": 0, "delta": {"content": piece},
                                                  "finish_reason": None}]})
        if behaviour != "truncated":
            await self._event(send, {"choices": [{"index": 0, "delta": {},
                                                  "finish_reason": "stop"}]})
            await send({"type": "http.response.body", "body": b"data: [DONE]\n\n",
                        "more_body": True})
        await send({"type": "http.response.body", "body": b""})

    async def _event(self, send: Any, value: Any) -> None:
        await send({"type": "http.response.body",
                    "body": b"data: " + json.dumps(value).encode() + b"\n\n", "more_body": True})

    async def _image(self, send: Any, req: dict[str, Any]) -> None:
        if self.mode.startswith("siliconflow"):
            name = f"/files/img{len(self.requests)}.png"
            self._files[name] = PNG
            url = self.base_url.removesuffix("/v1") + name
            return await self._json(send, 200, {"images": [{"url": url}], "seed": 1,
                                                "timings": {"inference": 0.1}})
        return await self._json(send, 200, {"created": 0, "data": [
            {"b64_json": base64.b64encode(PNG).decode()}]})
