"""Repetition in the offline storyteller's stories (issue 18): the figures a reader notices.

Run: .venv/bin/python tests/bench/bench_offline_stories.py [--seeds 3] [--words 40,150]

Tells every theme with each seed in English and German: 8 voted chapters and a closing
chapter, at 40 words a chapter and 70 for the closing (the defaults) and in long form (150), the choices taken by a seeded pick. It prints per language and length: padding tags per story, the share of sentences whose template repeats within a
story, stock sentences shared across stories (the most common ones with how many stories
hold them), how many distinct first-chapter choice sets there are and how common the most
common one is, and the share of stories whose closing chapter holds the most common ending
template. The measures are defined in tests/story_measures.py.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from tests.story_measures import corpus, measure  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=3, help="seeds per theme and language")
    ap.add_argument("--words", default="40,150", help="chapter lengths to tell, in words")
    args = ap.parse_args()
    for words in (int(w) for w in args.words.split(",")):
        for language in ("English", "German"):
            report(language, words, args.seeds)


def report(language: str, words: int, seeds: int) -> None:
    f = measure(corpus(language, range(1, seeds + 1), words=words))
    print(f"== {language}, {words} words a chapter: {f.stories} stories "
          f"(12 themes x {seeds} seeds)")
    print(f"padding tags per story        {f.padding_per_story:6.1f}  (max {f.padding_max})")
    print(f"templates repeated in a story {100 * f.template_repeat_share:5.1f} %")
    print(f"stock sentences (>=20% of stories) {f.stock_sentences}, "
          f"{f.per_story_stock:.1f} per story")
    print(f"stock spoken lines (>=20% of stories, names masked) {f.stock_quotes}")
    for text, n in f.stock_top:
        print(f"    {n:3d}/{f.stories}  {text}")
    print(f"first-chapter choice sets     {f.first_choice_sets} distinct, most common in "
          f"{100 * f.first_choice_top_share:.0f} % of stories")
    print(f"ending formula                most common closing template in "
          f"{100 * f.ending_templates_top_share:.0f} % of stories: {f.ending_top!r}")
    print(f"closing sentences from a formula {100 * f.ending_formula_share:.0f} % "
          "(templates that >= 20 % of closings hold)")


if __name__ == "__main__":
    main()
