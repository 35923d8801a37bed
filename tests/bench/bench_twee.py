"""Reading and walking authored stories (issue 18): what a load costs, at the limits.

Run: .venv/bin/python tests/bench/bench_twee.py

Prints, per case, the median time of `read_twee` (decode, parse, markup and graph checks) and
of one authored chapter (walking the path from the start to the passage that airs): every
shipped story; a 300-passage story (the passage limit); a file just under the 1 MB limit
(300 passages of ~3,300 characters); and how fast a 50 MB file is refused (the size is checked
before anything is read or parsed).
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from storyd.core.authored import AuthoredStoryteller  # noqa: E402
from storyd.core.model import ChapterRequest  # noqa: E402
from storyd.core.themes import THEMES  # noqa: E402
from storyd.core.twee import MAX_BYTES, MAX_PASSAGES, read_twee  # noqa: E402
from storyd.errors import StoryFileError  # noqa: E402
from storyd.system import paths  # noqa: E402

HEAD = (':: StoryTitle\nBench\n\n:: StoryData\n{"ifid": "0F4C2D38-5B7E-4A1D-9C3E-2B8A6D1F7E40", '
        '"start": "P0"}\n\n')


def chain(n: int, prose: str) -> bytes:
    parts = [f":: P{i}\n{prose}\n[[On to {i + 1}->P{i + 1}]]\n[[Stay at {i}->P{i + 1}]]\n"
             for i in range(n - 1)]
    return (HEAD + "\n".join(parts) + f"\n:: P{n - 1} [ending good]\n{prose}\n").encode()


def median_ms(fn: Callable[[], object], repeat: int = 15) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return 1000 * statistics.median(times)


def walk_ms(data: bytes, name: str) -> float:
    story = read_twee(data, name)
    teller = AuthoredStoryteller(story)
    path: list[str] = []
    here = story.passages[story.start]
    while here.links:                       # the longest path by first links: a full story
        path.append(here.links[0].text)
        here = story.passages[here.links[0].target]
    req = ChapterRequest(theme=THEMES["fantasy"], language="English",
                         chapter_number=len(path) + 1, words=40, n_choices=3, path=tuple(path))
    return median_ms(lambda: teller.passage_for(req))


def main() -> None:
    print(f"{'case':34} {'bytes':>9} {'passages':>8} {'read ms':>8} {'chapter ms':>10}")
    cases = [(f"shipped {p.parent.name}/{p.stem}", p.read_bytes())
             for p in sorted(paths.asset("stories").glob("*/*.twee"))]
    cases.append((f"{MAX_PASSAGES} passages (the limit)", chain(MAX_PASSAGES, "A room. " * 10)))
    big = chain(MAX_PASSAGES, "Words and more words. " * 150)
    cases.append(("just under 1 MB", big))
    for name, data in cases:
        assert len(data) <= MAX_BYTES, (name, len(data))
        story = read_twee(data, name)
        print(f"{name:34} {len(data):9d} {len(story.passages):8d} "
              f"{median_ms(lambda d=data, n=name: read_twee(d, n)):8.2f} "  # type: ignore[misc]
              f"{walk_ms(data, name):10.3f}")
    huge = b" " * (50 * 1000 * 1000)

    def refuse() -> None:
        try:
            read_twee(huge, "huge.twee")
        except StoryFileError:
            return
        raise AssertionError("a 50 MB file was read")

    print(f"{'50 MB file refused':34} {len(huge):9d} {'-':>8} {median_ms(refuse):8.3f}")


if __name__ == "__main__":
    main()
