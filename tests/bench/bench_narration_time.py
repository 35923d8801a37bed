"""How long a chapter of N words takes on air: the measure behind `[story] words_per_chapter`.

Run: .venv/bin/python tests/bench/bench_narration_time.py [--seeds 4]

For English and German, chapters of 40–160 words are written by the offline storyteller
(four themes, `--seeds` stories each) and every sentence is spoken by the real narrator
(espeak-ng through storyd's OfflineNarrator, the narrator voice at 160 words/min; the
presenter airs sentence after sentence, so the chapter's air time is the sum of the WAV
durations). The overlay without a voice reveals at `[story] reveal_words_per_second` = 2.5.
Printed: seconds of narration per chapter length, words per second, and the length of one
round (narration + the 60 s vote + the 5 s result card), the figure a streamer feels.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

import trio

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from storyd.core.model import ChapterRequest, SpeechRequest  # noqa: E402
from storyd.core.narration import split_sentences  # noqa: E402
from storyd.core.themes import THEMES  # noqa: E402
from storyd.providers.offline_media import OfflineNarrator  # noqa: E402
from storyd.storyteller.story import OfflineStoryteller  # noqa: E402

LENGTHS = (40, 60, 80, 100, 120, 160)
THEME_IDS = ("fantasy", "mystery", "scifi", "horror")
VOTE, RESULT = 60.0, 5.0


async def measure(language: str, seeds: int) -> dict[int, list[tuple[int, float]]]:
    teller, narrator = OfflineStoryteller(), OfflineNarrator()
    out: dict[int, list[tuple[int, float]]] = {}
    for words in LENGTHS:
        for theme in THEME_IDS:
            for seed in range(seeds):
                draft = await teller.write_chapter(ChapterRequest(
                    theme=THEMES[theme], language=language, chapter_number=2, words=words,
                    n_choices=3, winning_choice="", seed=(seed + 1) * 1000 + 2))
                seconds = 0.0
                for sentence in split_sentences(draft.text):
                    spoken = await narrator.speak(SpeechRequest(text=sentence,
                                                                language=language))
                    if spoken is None:
                        raise SystemExit("espeak-ng is not installed: nothing to measure")
                    seconds += spoken.duration or 0.0
                out.setdefault(words, []).append((len(draft.text.split()), seconds))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=4)
    args = parser.parse_args()
    print(f"{'lang':<8} {'asked':>5} {'words':>6} {'spoken s':>9} {'words/s':>8} "
          f"{'round s':>8}   (round = narration + {VOTE:g} s vote + {RESULT:g} s result)")
    for language in ("English", "German"):
        results = trio.run(measure, language, args.seeds)
        for asked, rows in results.items():
            words = statistics.mean(w for w, _ in rows)
            seconds = statistics.mean(s for _, s in rows)
            print(f"{language:<8} {asked:>5} {words:>6.0f} {seconds:>9.1f} "
                  f"{words / seconds:>8.2f} {seconds + VOTE + RESULT:>8.0f}")


if __name__ == "__main__":
    main()
