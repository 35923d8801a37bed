"""Peak memory while a provider answers without end or with a 500 MB body (issue 11, 2–3).

Run: python tests/bench/bench_provider_memory.py

The loopback fake (tests/fake_openai.py) runs in a child process, so only storyd's side is
measured: a real OpenAICompatProvider with its default caps reads (1) an SSE stream that
never ends, (2) a 500 MB JSON answer without Content-Length, (3) a 500 MB picture, (4) an
answer announcing 500 MB. Prints, per case: the error, wall seconds, bytes the fake sent,
and this process's peak RSS (ru_maxrss) before and after.
"""

from __future__ import annotations

import resource
import subprocess
import sys
import time
from pathlib import Path

import trio

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from storyd.config.structs import ProviderConfig  # noqa: E402
from storyd.core.model import ChapterRequest, ImageRequest  # noqa: E402
from storyd.core.themes import THEMES  # noqa: E402
from storyd.errors import ProviderError  # noqa: E402
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
        await trio.sleep(600)
trio.run(main)
"""


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def case(name: str, behaviour: str) -> None:
    proc = subprocess.Popen(  # noqa: ASYNC220 - a child server, killed below
        [sys.executable, "-c", SERVER, str(ROOT), behaviour], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        base = proc.stdout.readline().strip()
        provider = OpenAICompatProvider("bench", ProviderConfig(
            preset="siliconflow", base_url=base, text_model="fake-text",
            image_model="fake-image", max_retries=0))
        before, started = peak_mb(), time.monotonic()
        try:
            async with provider:
                if behaviour == "huge_image":
                    await provider.illustrate(ImageRequest(prompt="p", title="t",
                                                           theme=THEMES["fantasy"]))
                else:
                    await provider.write_chapter(ChapterRequest(
                        theme=THEMES["fantasy"], language="English", chapter_number=1,
                        words=40, n_choices=3))
            outcome = "no error (!)"
        except ProviderError as exc:
            outcome = str(exc)[:110]
        print(f"{name:28} {time.monotonic() - started:6.2f} s  peak RSS {before:6.1f} -> "
              f"{peak_mb():6.1f} MB  | {outcome}")
    finally:
        proc.kill()
        proc.wait()


async def main() -> None:
    print(f"baseline peak RSS {peak_mb():.1f} MB")
    await case("endless SSE stream", "endless")
    await case("500 MB JSON answer", "huge")
    await case("500 MB picture", "huge_image")
    await case("announces 500 MB", "huge_announced")


if __name__ == "__main__":
    trio.run(main)
