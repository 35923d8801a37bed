"""A provider that answers with a gzip bomb: peak RSS and the longest event-loop stall
(issue 22, 7: peak RSS ≤ 100 MB for a 10 GiB bomb, no stall over a few ms).

    python tests/bench/bench_gzip_bomb.py [--httpx]

The loopback fake (tests/fake_openai.py, "gzip_bomb" and "gzip_bomb_error": 10 GiB of JSON
text gzip-compressed to 10 MB) runs in a child process, so only storyd's side is measured.

1. In process: a real OpenAICompatProvider (default caps: 2 MB text) asks for a chapter
   while a watchdog task sleeps 1 ms in a loop; the longest time it was kept from running
   beyond its 1 ms is the longest event-loop stall (wall time: on a busy machine it includes
   what other processes take), and the longest single task step in CPU time of the trio
   thread is what one step of storyd's own work costs the loop (the TLS context and httpx's imports are
   warmed up first in a thread, as the daemon does). Peak RSS (ru_maxrss) before and after.
   `--httpx` adds the same read through httpx's own decoder (what storyd did before).
2. A real `storyd` process whose [llm] chain starts with the bomb: `storyctl start`, then
   /healthz polled every 5 ms until chapter 1 is on air (the offline storyteller takes over);
   prints the slowest health answer and storyd's peak RSS (VmHWM) before and after.
"""

from __future__ import annotations

import json
import os
import resource
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import trio

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from storyd.config.structs import ProviderConfig  # noqa: E402
from storyd.core.model import ChapterRequest  # noqa: E402
from storyd.core.themes import THEMES  # noqa: E402
from storyd.errors import ProviderError  # noqa: E402
from storyd.providers import http_io  # noqa: E402
from storyd.providers.openai_compat import OpenAICompatProvider  # noqa: E402

SERVER = """
import sys, trio
sys.path.insert(0, sys.argv[1])
from tests.fake_openai import FakeOpenAI
async def main():
    fake = FakeOpenAI("siliconflow")
    fake.script = sys.argv[2].split(",")
    async with trio.open_nursery() as n:
        print(await fake.start(n), flush=True)
        await trio.sleep(3600)
trio.run(main)
"""
REQ = ChapterRequest(theme=THEMES["fantasy"], language="English", chapter_number=1, words=40,
                     n_choices=3)


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def fake_server(script: str) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen([sys.executable, "-c", SERVER, str(ROOT), script],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    return proc, proc.stdout.readline().strip()


class StepMeter(trio.abc.Instrument):
    """The longest single task step, in CPU time of the trio thread: what one step costs the
    loop, apart from what other processes on a busy machine take from it."""

    def __init__(self) -> None:
        self.worst = 0.0
        self._t: float | None = None    # None: the step that installed the meter

    def before_task_step(self, task: trio.lowlevel.Task) -> None:
        self._t = time.thread_time()

    def after_task_step(self, task: trio.lowlevel.Task) -> None:
        if self._t is not None:
            self.worst = max(self.worst, time.thread_time() - self._t)


class Watchdog:
    def __init__(self) -> None:
        self.worst = 0.0

    async def run(self) -> None:
        while True:
            t = time.perf_counter()
            await trio.sleep(0.001)
            self.worst = max(self.worst, time.perf_counter() - t - 0.001)


async def in_process(name: str, behaviour: str) -> None:
    proc, base = fake_server(behaviour)
    try:
        provider = OpenAICompatProvider("bench", ProviderConfig(
            preset="siliconflow", base_url=base, text_model="fake-text", max_retries=0))
        dog, steps = Watchdog(), StepMeter()
        before, started = peak_mb(), time.monotonic()
        async with trio.open_nursery() as nursery:
            nursery.start_soon(dog.run)
            await trio.sleep(0.05)
            trio.lowlevel.add_instrument(steps)
            try:
                async with provider:
                    await provider.write_chapter(REQ)
                outcome = "no error (!)"
            except ProviderError as exc:
                outcome = str(exc)[:100]
            trio.lowlevel.remove_instrument(steps)
            nursery.cancel_scope.cancel()
        print(f"{name:30} {time.monotonic() - started:6.2f} s  peak RSS {before:6.1f} -> "
              f"{peak_mb():6.1f} MB  longest task step {steps.worst * 1000:6.2f} ms CPU, "
              f"loop stall {dog.worst * 1000:6.2f} ms wall  | {outcome}")
    finally:
        proc.kill()
        proc.wait()


async def httpx_decoder(cap: int = 2 * 1024 * 1024) -> None:
    """What storyd did before: httpx's decoder inflates each network chunk whole."""
    proc, base = fake_server("gzip_bomb")
    try:
        dog, steps = Watchdog(), StepMeter()
        before, started, got = peak_mb(), time.monotonic(), 0
        async with trio.open_nursery() as nursery:
            nursery.start_soon(dog.run)
            trio.lowlevel.add_instrument(steps)
            async with httpx.AsyncClient(verify=http_io.tls_context()) as client, client.stream(
                    "POST", base + "/chat/completions", json={}) as resp:
                async for chunk in resp.aiter_bytes():
                    got += len(chunk)
                    if got > cap:
                        break
            nursery.cancel_scope.cancel()
        trio.lowlevel.remove_instrument(steps)
        print(f"{'httpx aiter_bytes (before)':30} {time.monotonic() - started:6.2f} s  peak RSS "
              f"{before:6.1f} -> {peak_mb():6.1f} MB  longest task step "
              f"{steps.worst * 1000:6.2f} ms CPU, loop stall {dog.worst * 1000:6.2f} ms wall  "
              f"| cut after {got} bytes")
    finally:
        proc.kill()
        proc.wait()


def vm_hwm_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def ctl(sock: Path, request: dict[str, object]) -> dict[str, object]:
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(30)
        s.connect(str(sock))
        s.sendall(json.dumps({"v": 1, "id": 1, "request": request}).encode() + b"\n")
        data = b""
        while not data.endswith(b"\n"):
            data += s.recv(65536)
    return json.loads(data)  # type: ignore[no-any-return]


def real_process(behaviour: str) -> None:
    server, base = fake_server(",".join([behaviour] * 20))
    tmp = Path(tempfile.mkdtemp(prefix="storyd-bomb-"))
    port = 19000 + os.getpid() % 1000
    sock = tmp / "c.sock"
    (tmp / "storyd.toml").write_text(
        f'[server]\nport = {port}\n[control]\nsocket = "{sock}"\n[storage]\n'
        f'data_dir = "{tmp}/data"\ncache_dir = "{tmp}/cache"\n[tts]\nenabled = false\n'
        f'[images]\nenabled = false\n[providers.bomb]\npreset = "siliconflow"\n'
        f'base_url = "{base}"\ntext_model = "fake-text"\nmax_retries = 0\n'
        '[llm]\nchain = ["bomb", "offline"]\nchapter_deadline = 30\n')
    proc = subprocess.Popen([sys.executable, "-m", "storyd.cli", "--config",
                             str(tmp / "storyd.toml")], cwd=ROOT, env=dict(
                                 os.environ, PYTHONPATH=str(ROOT), BOMB_KEY="x"),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        health = f"http://127.0.0.1:{port}/healthz"
        with httpx.Client(timeout=30) as client:
            while True:
                try:
                    client.get(health)
                    break
                except httpx.TransportError:
                    time.sleep(0.05)
            before = vm_hwm_mb(proc.pid)
            started = time.monotonic()
            ctl(sock, {"cmd": "start", "theme": "fantasy"})
            worst, state = 0.0, ""
            while state not in ("presenting", "voting") and time.monotonic() - started < 120:
                t = time.perf_counter()
                state = client.get(health).json()["state"]
                worst = max(worst, time.perf_counter() - t)
                time.sleep(0.005)
        print(f"storyd process, {behaviour:16} chapter 1 on air after "
              f"{time.monotonic() - started:5.2f} s (state {state}); slowest /healthz "
              f"{worst * 1000:6.1f} ms; storyd peak RSS (VmHWM) {before:6.1f} -> "
              f"{vm_hwm_mb(proc.pid):6.1f} MB")
    finally:
        proc.terminate()
        proc.wait(10)
        server.kill()
        server.wait()


async def main() -> None:
    await trio.to_thread.run_sync(http_io.warm_up)      # as the daemon does at start
    print(f"baseline peak RSS {peak_mb():.1f} MB (this process, providers imported)")
    await in_process("10 GiB gzip bomb, 200", "gzip_bomb")
    await in_process("10 GiB gzip bomb as error body", "gzip_bomb_error")
    if "--httpx" in sys.argv:
        await httpx_decoder()


if __name__ == "__main__":
    trio.run(main)
    real_process("gzip_bomb")
    real_process("gzip_bomb_error")
