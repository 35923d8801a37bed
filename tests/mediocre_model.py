"""An independent OpenAI-compatible chat-completions server that answers like a mediocre model.

Written from the OpenAI API documentation (POST /v1/chat/completions: `choices[0].message.
content`, `usage`; with `stream: true` server-sent events of `chat.completion.chunk` objects
whose `choices[0].delta` carries the content, a last chunk with `finish_reason`, a usage-only
chunk with `choices: []` when `stream_options.include_usage` is set, then `data: [DONE]`;
`GET /v1/models`), not from storyd's provider code or its test fakes. Only the standard
library: `http.server.ThreadingHTTPServer` in a thread, so it serves a real `storyd` process
or an in-process daemon alike.

Every request body is logged, with what was answered, as one JSON line (`log_path`). It reads
the prompt the way a model would (the last user message) and answers:
- a plan (asked for "a new interactive story of exactly N chapters"): JSON with prose and a
  code fence around it, sometimes fewer beats than asked or a cast of 40; it ignores the
  operator's outline (storyd has to keep what the outline names);
- a chapter ("Write chapter K"): JSON that opens with the audience's choice and names the
  cast, longer or shorter than the asked words (sometimes only two sentences, sometimes not a
  chapter at all: "Odalys waits."), sometimes wrapped in prose or a fence; its choices
  sometimes repeat earlier ones or each other, and their count is sometimes wrong;
- a follow-up ("more short, distinct choices"): choices, sometimes a repeat among them;
- a recap, an outline, anything else ("OK").
Every answer is a function of the request, how often that same request came, and `seed` (the
misbehaviour too), so a test using it is deterministic; `delay` seconds pass before the answer
starts. `plan_mode` "stall" / "trickle" holds the plan's answer back (first bytes, then
silence; one byte a second) for `plan_seconds` (chapter 1's instead with `slow_chapter_one`).
"""

from __future__ import annotations

import hashlib
import json
import random
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

MODEL_ID = "mediocre-7b"
HERO = "Odalys Brenner"
COMPANION = "Tobiah Quill"
FOE = "Magistrate Corvin Ashdown"
MENTOR = "Pim Larkspur"
QUESTION = "Will Odalys recover the stolen tide charter before the spring flood drowns Saltmarsh?"
GENERIC = ("Press on and see what happens", "Turn back carefully")

_VERBS = ("Follow", "Question", "Hide from", "Bargain with", "Search", "Climb toward",
          "Signal", "Distract", "Warn", "Sneak past", "Trust", "Burn")
_OBJECTS = ("the ferryman's lantern", "Tobiah's cousin", "the archive guard", "the sluice gate",
            "the magistrate's clerk", "the flooded crypt", "the bell tower", "the salt barges",
            "the harbour watch", "the forged seal", "the night market", "the old levee")
_SENTENCES = (
    "{hero} kept one hand on the wet rail while the tide pulled at the pilings below.",
    "{companion} muttered that the magistrate's men were never this quiet without a reason.",
    "Somewhere under the archive, water knocked against stone like a patient visitor.",
    "{foe} had signed the eviction orders himself, and everyone in Saltmarsh knew it.",
    "The lamps along the quay guttered, and the smell of brine grew sharper.",
    "{hero} counted the bells from the tower and knew there was less time than promised.",
    "{mentor} had once said that every charter leaves a second copy for the careful.",
    "A gull screamed overhead, and two guards turned their heads at the same moment.",
    "{companion} pressed a cold brass key into her palm without a word.",
    "The flood marks on the walls stood higher than a tall man's shoulders.",
    "{hero} remembered her father's boat, and the night the sea had taken it.",
    "Footsteps echoed on the boards behind them, unhurried and heavy.",
)


def _rng(body: bytes, seed: int) -> random.Random:
    return random.Random(int.from_bytes(hashlib.sha256(body + str(seed).encode()).digest()[:8],
                                        "big"))


def _quoted(text: str) -> list[str]:
    """The «"…"» strings of a prompt line (storyd quotes untrusted text as JSON strings)."""
    out = []
    for raw in re.findall(r"«(\"(?:[^\"\\]|\\.)*\")»", text):
        try:
            out.append(str(json.loads(raw)))
        except ValueError:
            continue
    return out


def _fresh_choices(rng: random.Random, n: int) -> list[str]:
    pairs = [(v, o) for v in _VERBS for o in _OBJECTS]
    return [f"{v} {o}" for v, o in rng.sample(pairs, n)]


def _wrap(rng: random.Random, data: dict[str, Any]) -> str:
    """JSON the way a chatty model sends it: sometimes bare, sometimes with prose or fences."""
    body = json.dumps(data, ensure_ascii=False, indent=rng.choice([None, 2]))
    style = rng.random()
    if style < 0.3:
        return f"Sure! Here it is:\n```json\n{body}\n```\nI hope this fits your story."
    if style < 0.5:
        return f"Here is the next part of the story.\n{body}\nLet me know what you think!"
    return body


class MediocreModel:
    """The server. `start()` returns the base URL (…/v1); `stop()` shuts it down."""

    def __init__(self, log_path: Path, *, delay: float = 0.0, seed: int = 1,
                 quirks: bool = True, plan_mode: str = "ok", plan_seconds: float = 0.0,
                 delays: dict[str, float] | None = None) -> None:
        self.log_path = Path(log_path)
        self.delay = delay
        self.delays = dict(delays or {})    # per kind of request ("recap": 1.0), over `delay`
        self.seed = seed
        self.quirks = quirks
        # "ok"; "stall": the plan's first bytes, then silence for `plan_seconds`;
        # "trickle": the plan one byte a second (issue 22, item 6)
        self.plan_mode = plan_mode
        self.plan_seconds = plan_seconds
        self.slow_chapter_one = False    # hold back chapter 1's first answer instead
        self._seen: dict[bytes, int] = {}
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.base_url = ""

    # -- lifecycle ---------------------------------------------------------------------
    def start(self) -> str:
        model = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:   # quiet
                pass

            def do_GET(self) -> None:
                if self.path.rstrip("/").endswith("/models"):
                    self._json(200, {"object": "list", "data": [
                        {"id": MODEL_ID, "object": "model", "created": 0, "owned_by": "bench"}]})
                else:
                    self._json(404, {"error": {"message": "not found", "type": "invalid_request_error",
                                               "param": None, "code": None}})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                if not self.path.rstrip("/").endswith("/chat/completions"):
                    self._json(404, {"error": {"message": "unknown endpoint",
                                               "type": "invalid_request_error",
                                               "param": None, "code": None}})
                    return
                try:
                    body = json.loads(raw)
                except ValueError:
                    self._json(400, {"error": {"message": "body is not JSON",
                                               "type": "invalid_request_error",
                                               "param": None, "code": None}})
                    return
                kind, chapter, content = model.answer(body, raw)
                model._log({"t": time.time(), "kind": kind, "chapter": chapter,
                            "stream": bool(body.get("stream")), "body": body,
                            "content": content})
                slow_kind = ("chapter", 1) if model.slow_chapter_one else ("plan", 0)
                if (kind, chapter) == slow_kind and model.plan_mode != "ok":
                    try:
                        self._slow(content)
                    except (BrokenPipeError, ConnectionResetError):
                        self.close_connection = True
                    return
                wait = model.delays.get(kind, model.delay)
                if wait > 0:
                    time.sleep(wait)
                if body.get("stream"):
                    try:
                        self._stream(body, content)
                    except (BrokenPipeError, ConnectionResetError):
                        self.close_connection = True     # the client hung up: a cancel
                else:
                    self._json(200, {
                        "id": "chatcmpl-bench", "object": "chat.completion",
                        "created": int(time.time()), "model": MODEL_ID,
                        "choices": [{"index": 0, "finish_reason": "stop",
                                     "message": {"role": "assistant", "content": content}}],
                        "usage": _usage(body, content)})

            def _json(self, status: int, data: dict[str, Any]) -> None:
                payload = json.dumps(data).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def _slow(self, content: str) -> None:
                """A whole (non-streamed) answer that stalls after its first bytes, or
                trickles one byte a second, for `plan_seconds`."""
                payload = json.dumps({"id": "chatcmpl-bench", "object": "chat.completion",
                                      "created": int(time.time()), "model": MODEL_ID,
                                      "choices": [{"index": 0, "finish_reason": "stop",
                                                   "message": {"role": "assistant",
                                                               "content": content}}]}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload[:1])
                self.wfile.flush()
                end = time.monotonic() + model.plan_seconds
                i = 1
                while time.monotonic() < end and i < len(payload):
                    time.sleep(1.0)
                    if model.plan_mode == "trickle":
                        self.wfile.write(payload[i:i + 1])
                        self.wfile.flush()
                        i += 1
                self.wfile.write(payload[i:])
                self.close_connection = True

            def _stream(self, body: dict[str, Any], content: str) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Cache-Control", "no-cache")
                self.send_header("Connection", "close")
                self.end_headers()
                base = {"id": "chatcmpl-bench", "object": "chat.completion.chunk",
                        "created": int(time.time()), "model": MODEL_ID}

                def send(chunk: dict[str, Any]) -> None:
                    self.wfile.write(b"data: " + json.dumps({**base, **chunk}).encode()
                                     + b"\n\n")
                    self.wfile.flush()

                send({"choices": [{"index": 0, "delta": {"role": "assistant", "content": ""},
                                   "finish_reason": None}]})
                for i in range(0, len(content), 24):
                    send({"choices": [{"index": 0, "delta": {"content": content[i:i + 24]},
                                       "finish_reason": None}]})
                send({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
                if (body.get("stream_options") or {}).get("include_usage"):
                    send({"choices": [], "usage": _usage(body, content)})
                self.wfile.write(b"data: [DONE]\n\n")
                self.wfile.flush()
                self.close_connection = True

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        self.base_url = f"http://127.0.0.1:{self._server.server_address[1]}/v1"
        return self.base_url

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def _log(self, entry: dict[str, Any]) -> None:
        line = json.dumps(entry, ensure_ascii=False)
        with self._lock, self.log_path.open("a", encoding="utf-8") as f:
            f.write(line + "\n")

    def requests(self) -> list[dict[str, Any]]:
        if not self.log_path.exists():
            return []
        return [json.loads(ln) for ln in self.log_path.read_text("utf-8").splitlines() if ln]

    # -- answers -----------------------------------------------------------------------
    def answer(self, body: dict[str, Any], raw: bytes) -> tuple[str, int, str]:
        """(kind, chapter number or 0, the content to send)."""
        messages = body.get("messages") or []
        prompt = next((str(m.get("content", "")) for m in reversed(messages)
                       if m.get("role") == "user"), "")
        with self._lock:    # a request sent again gets another answer, as from a sampler
            nth = self._seen[raw] = self._seen.get(raw, 0) + 1
        rng = _rng(raw + str(nth).encode(), self.seed)
        quirky = self.quirks
        if m := re.search(r"new interactive story of exactly (\d+) chapters", prompt):
            return "plan", 0, self._plan(rng, int(m.group(1)), quirky)
        if m := re.search(r"Write chapter (\d+)", prompt):
            return "chapter", int(m.group(1)), self._chapter(rng, int(m.group(1)), prompt,
                                                              quirky)
        if m := re.search(r"Write exactly (\d+) more short", prompt):
            return "choices", 0, self._more(rng, int(m.group(1)), prompt, quirky)
        if "recap" in prompt.lower() and "logline" in prompt:
            return "recap", 0, _wrap(rng, {
                "logline": f"{HERO} wanted the tide charter back from {FOE}, and got it.",
                "moments": ["The charter went missing.", f"{COMPANION} found the key.",
                            "The flood rose over the quay.", f"{FOE} was exposed."],
                "ending": "triumph"})
        if "outline" in prompt.lower():
            return "outline", 0, (f"{HERO}, a ferry pilot, must recover a stolen charter. "
                                  f"{FOE} wants the marsh drained. The flood is coming.")
        return "other", 0, "OK"

    def _plan(self, rng: random.Random, n: int, quirky: bool) -> str:
        beats = [f"Beat {i + 1}: {HERO} {s}" for i, s in enumerate(
            ["finds the archive robbed", "follows the thief to the salt barges",
             "bargains with the harbour watch", "learns the magistrate forged the seal",
             "loses the key in the flooded crypt", "is betrayed at the night market",
             "is cornered at the old levee", "faces the magistrate at the sluice gate",
             "opens the gate as the flood comes", "wins the town back",
             "counts the cost", "sails at dawn", "hears the bells again", "rests"] * 2)][:n]
        if quirky and rng.random() < 0.5:      # ignores the asked count
            beats = beats[:max(n - 2, 1)]
        plan = {"title": "The Tide Charter", "premise": f"{HERO} pilots the last ferry of "
                "Saltmarsh. When the town's charter is stolen, the flood and the magistrate "
                "close in together.",
                "protagonist": {"name": HERO, "want": "to recover the tide charter",
                                "flaw": "she trusts no one"},
                "cast": [{"name": COMPANION, "role": "companion", "trait": "nervous",
                          "want": "to keep his sister safe"},
                         {"name": FOE, "role": "antagonist", "trait": "patient",
                          "want": "to drain the marsh and sell it"},
                         {"name": MENTOR, "role": "mentor", "trait": "forgetful",
                          "want": "to see the archive whole"}],
                "places": [{"name": "Saltmarsh Archive", "note": "half under water"},
                           {"name": "the Gallows Ferry", "note": "Odalys's boat"}],
                "central_question": QUESTION, "beats": beats,
                "endings": ["Odalys recovers the charter and the town is saved.",
                            "The charter is lost but the people leave in time."]}
        if quirky and rng.random() < 0.15:      # a cast of 40
            plan["cast"] = [*plan["cast"], *({"name": f"Villager {i}", "role": "extra",
                                              "trait": "quiet", "want": "to go home"}
                                             for i in range(37))]
        return _wrap(rng, plan)

    def _chapter(self, rng: random.Random, k: int, prompt: str, quirky: bool) -> str:
        closing = "FINAL chapter" in prompt
        words = int(m.group(1)) if (m := re.search(r"about (\d+) words", prompt)) else 80
        n = int(m.group(1)) if (m := re.search(r"exactly (\d+) short", prompt)) else 3
        voted = ""
        if m := re.search(r"The audience voted for: («.*?»)", prompt):
            voted = (_quoted(m.group(1)) or [""])[0]
        avoid: list[str] = []
        for line in prompt.splitlines():
            if line.startswith("Do not repeat choices"):
                avoid = _quoted(line)
        names = {"hero": HERO.split()[0], "companion": COMPANION.split()[0],
                 "foe": FOE, "mentor": MENTOR}
        sents = [f"In chapter {k}, {HERO.split()[0]} chose to "
                 f"{voted[:1].lower() + voted[1:] if voted else 'listen to the water'}, "
                 f"and {COMPANION.split()[0]} went with her."]
        if closing:
            sents.append(f"At last the answer came: yes, {HERO.split()[0]} recovered the tide "
                         f"charter before the spring flood, and {FOE} was led away in chains.")
        shape = rng.random() if quirky else 1.0
        if shape < 0.07:                 # not a chapter: one short sentence
            return json.dumps({"title": "Waiting", "text": f"{HERO.split()[0]} waits.",
                               "choices": _fresh_choices(rng, n) if not closing else []})
        target = 20 if shape < 0.15 else int(words * rng.uniform(0.6, 1.8))
        order = rng.sample(range(len(_SENTENCES)), len(_SENTENCES))
        i = 0
        while sum(len(s.split()) for s in sents) < target:
            sents.append(_SENTENCES[order[i % len(order)]].format(**names))
            i += 1
        if quirky and rng.random() < 0.3:        # dialogue, and paragraphs
            sents.insert(1, f"\"We go now,\" {COMPANION.split()[0]} whispered — \"or never.\"\n\n")
        if closing:
            sents.append(f"{COMPANION.split()[0]} laughed for the first time in weeks, and "
                         f"{MENTOR} wept over the saved archive.")
        choices: list[str] = [] if closing else _fresh_choices(rng, n)
        if quirky and not closing:
            roll = rng.random()
            if roll < 0.3 and avoid:                 # repeats earlier rounds' choices
                choices[: min(2, len(avoid))] = avoid[:2]
            elif roll < 0.45:                         # repeats itself
                choices[-1] = choices[0]
            elif roll < 0.6:                          # ignores the asked count
                choices = choices[: max(n - 1, 1)] if rng.random() < 0.5 else \
                    choices + _fresh_choices(rng, 1)
            elif roll < 0.7:                          # letters in front
                choices = [f"{'ABCDEF'[i]}) {c}" for i, c in enumerate(choices)]
            elif roll < 0.8:                          # one long, rambling choice
                choices[1] = (f"{choices[1]} while {COMPANION.split()[0]} keeps watch from "
                              "the roof of the old customs house by the quay")
        data = {"title": f"Chapter {k}: " + rng.choice(["High Water", "The Key",
                                                          "Salt and Ink", "The Bells"]),
                "text": " ".join(sents), "choices": choices,
                "summary": f"{HERO.split()[0]} chose to {voted or 'wait'}.",
                "memory": {"characters": [
                    {"name": HERO, "note": "ferry pilot", "role": "heroine", "alive": True},
                    {"name": COMPANION, "note": "her friend", "role": "sidekick",
                     "alive": True}],
                    "places": [{"name": "Saltmarsh Archive", "note": "flooding"}],
                    "items": [{"name": "brass key", "note": "from Tobiah"}],
                    "event": f"chapter {k}"}}
        return _wrap(rng, data) if quirky else json.dumps(data)

    def _more(self, rng: random.Random, k: int, prompt: str, quirky: bool) -> str:
        taken = []
        for line in prompt.splitlines():
            if line.startswith("Choices already offered"):
                taken = _quoted(line)
        choices = _fresh_choices(rng, k + 1)[:k]
        if quirky and taken and rng.random() < 0.3:     # one of them a repeat again
            choices[0] = taken[0]
        return _wrap(rng, {"choices": choices}) if quirky else json.dumps({"choices": choices})


def _usage(body: dict[str, Any], content: str) -> dict[str, int]:
    prompt = sum(len(str(m.get("content", ""))) for m in body.get("messages") or []) // 4
    completion = len(content) // 4
    return {"prompt_tokens": prompt, "completion_tokens": completion,
            "total_tokens": prompt + completion}
