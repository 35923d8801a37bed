"""Whole offline stories as the director runs them, and the repetition measures of issue 18.

The measures are written here, independently of the storyteller's own word lists, so they
count what a reader sees:

* **padding tags**: ", once again", "just like before", "schon wieder", "wie schon zuvor" …
  and sentence openers like "Once again," / "Noch einmal:";
* **repeated templates within a story**: the share of sentences whose template (the
  sentence with the story's names, places and things masked) occurs twice or more in the
  same story;
* **stock sentences across stories**: literal sentences that occur in several stories, and
  the share of stories that hold the most common one;
* **first-choice sets**: the shape of chapter 1's three choices (each choice masked to its
  first words and its slots); how many stories share the most common set;
* **ending formula**: the templates of the closing chapter; the share of stories whose
  closing holds the most common one.

Used by tests/bench/bench_offline_stories.py (prints the figures) and
tests/test_offline_repetition.py (holds the storyteller to them).
"""

from __future__ import annotations

import random
import re
from collections import Counter
from typing import NamedTuple

import trio

from storyd.core.memory import StoryMemory
from storyd.core.model import ChapterDraft, ChapterRequest
from storyd.core.themes import THEMES
from storyd.storyteller.story import OfflineStoryteller

PADDING = {
    "en": re.compile(r",\s(once again|just like before|as before|once more|more than ever|"
                     r"as so often)\b|(^|[.!?\u201d]\s)(Once again|And once more|One more time|"
                     r"Yet again),"),
    "de": re.compile(r",\s(schon wieder|wie schon zuvor|einmal mehr|wie so oft|mehr denn je|"
                     r"noch einmal)\b|(^|[.!?\u201c]\s)(Noch einmal|Und wieder|"
                     r"Ein weiteres Mal|Schon wieder):"),
}
_SENT = re.compile(r"(?:(?<=[.!?])|(?<=[.!?][\u201c\u201d]))(?<!Dr\.)(?<!Mr\.)(?<!Ms\.)"
                   r"(?<!Mrs\.)(?<!St\.)\s+(?=[A-Z\u201c\u201eÄÖÜ])")


class Story(NamedTuple):
    theme: str
    lang: str
    seed: int
    outline: str
    drafts: list[ChapterDraft]
    taken: list[str]


def sentences(text: str) -> list[str]:
    """The sentences of a text; a quotation and its speech tag are one sentence
    (“Stay close,” Pip said. / „Bleib dicht bei mir“, sagte Pip.)."""
    out: list[str] = []
    for part in (s.strip() for s in _SENT.split(text) if s.strip()):
        if out and (out[-1].count("\u201e") > out[-1].count("\u201c")
                    or out[-1].count("\u201c") > out[-1].count("\u201d")
                    and "\u201e" not in out[-1]):
            out[-1] = f"{out[-1]} {part}"   # still inside a quotation
        elif out and out[-1].endswith(("?\u201d", "!\u201d")) and len(part.split()) <= 4 \
                and "\u201c" not in part:
            out[-1] = f"{out[-1]} {part}"   # “Are we sure?” Pip asked.
        else:
            out.append(part)
    return out


def quotes(text: str) -> list[str]:
    """What people say in a text (the words inside quotation marks)."""
    return re.findall(r"[\u201c\u201e]([^\u201c\u201d\u201e]+)[\u201d\u201c]", text)


def tell(theme: str, language: str, seed: int, picks: list[int], *, words: int = 40,
         closing_words: int = 70, outline: str | None = None, arc: int = 0) -> Story:
    """A story as the director runs it: memory carried, choices taken, closing at the end."""
    async def run() -> Story:
        teller = OfflineStoryteller()
        th = THEMES[theme]
        text = outline if outline is not None else await teller.write_outline(th, language, seed)
        memory = StoryMemory(text)
        drafts: list[ChapterDraft] = []
        taken: list[str] = []
        win = ""
        for n in range(1, len(picks) + 2):
            closing = n == len(picks) + 1
            prev = drafts[-1] if drafts else None
            draft = await teller.write_chapter(ChapterRequest(
                theme=th, language=language, chapter_number=n,
                words=closing_words if closing else words,
                n_choices=0 if closing else 3, closing=closing, outline=text,
                context=memory.context(900), path=memory.path, winning_choice=win,
                previous_text=prev.text if prev else "", memory=memory.view(),
                avoid_choices=tuple(c for c in (prev.choices if prev else ()) if c != win),
                seed=seed * 1000 + n, max_chapters=arc,
                previous_titles=tuple(d.title for d in drafts)))
            memory.apply(n, draft.memory, draft.summary)
            drafts.append(draft)
            if not closing:
                win = draft.choices[picks[n - 1] % len(draft.choices)]
                memory.take_choice(win)
                taken.append(win)
        return Story(theme, "de" if language == "German" else "en", seed, text, drafts, taken)
    return trio.run(run)


def corpus(language: str, seeds: range, chapters: int = 8, words: int = 40) -> list[Story]:
    """Every theme told with each seed: 8 voted chapters and a closing chapter of twice
    their length (70 words after chapters of 40, the defaults)."""
    out = []
    for theme in sorted(THEMES):
        for seed in seeds:
            rng = random.Random(f"{theme}:{seed}:picks")
            picks = [rng.randrange(3) for _ in range(chapters)]
            out.append(tell(theme, language, seed, picks, words=words,
                            closing_words=70 if words == 40 else 2 * words))
    return out


def _names(story: Story) -> list[str]:
    """The story's own names, longest first: people, places, things (with and without article)."""
    found: set[str] = set()
    for d in story.drafts:
        for e in (*d.memory.characters, *d.memory.locations, *d.memory.items):
            name = e.name.strip()
            if not name:
                continue
            found.add(name)
            words = name.split()
            if words[0].casefold() in ("the", "der", "die", "das", "den", "dem"):
                found.add(" ".join(words[1:]))
            found.update(w for w in words if w[:1].isupper() and len(w) > 2)
    return sorted(found, key=len, reverse=True)


def template(sentence: str, names: list[str]) -> str:
    """The sentence with the story's names and every other capitalised word after the first
    masked, and padding tags dropped: what stays is the storyteller's own wording."""
    text = sentence
    for lang in ("en", "de"):
        text = PADDING[lang].sub(lambda m: m.group(2) or "", text)
    for name in names:
        text = re.sub(r"(?<![\w])" + re.escape(name) + r"(?![\w])", "X", text)
    words = text.split()
    out = [w if i == 0 or not w[:1].isupper() else "X" for i, w in enumerate(words)]
    return re.sub(r"(X[\s,']*)+", "X ", " ".join(out)).strip()


class Figures(NamedTuple):
    stories: int
    padding_per_story: float
    padding_max: int
    template_repeat_share: float        # within a story, sentences whose template repeats
    stock_sentences: int                # literal sentences in ≥ 3 stories (or ≥ 20 % of them)
    stock_top: list[tuple[str, int]]
    first_choice_sets: int              # distinct chapter-1 choice shapes
    first_choice_top_share: float
    ending_templates_top_share: float   # stories whose closing holds the most common template
    ending_top: str
    ending_formula_share: float         # closing sentences whose template ≥ 20 % of closings hold
    per_story_stock: float              # stock sentences per story
    stock_quotes: int                   # spoken lines in ≥ 20 % of stories (names masked)


def choice_shape(choice: str, names: list[str]) -> str:
    return " ".join(template(choice, names).split()[:2]).casefold()


def measure(stories: list[Story]) -> Figures:
    padding = [sum(len(PADDING[s.lang].findall(d.text)) for d in s.drafts) for s in stories]
    repeats = total = 0
    seen_in: Counter[str] = Counter()
    said_in: Counter[str] = Counter()
    shapes: Counter[tuple[str, ...]] = Counter()
    endings: Counter[str] = Counter()
    closings: list[list[str]] = []
    for s in stories:
        names = _names(s)
        sents = [x for d in s.drafts for x in sentences(d.text)]
        temps = Counter(template(x, names) for x in sents)
        repeats += sum(n for n in temps.values() if n > 1)
        total += len(sents)
        seen_in.update(set(sents))
        said_in.update({template(q, names) for d in s.drafts for q in quotes(d.text)})
        shapes[tuple(sorted(choice_shape(c, names) for c in s.drafts[0].choices))] += 1
        closing = [template(x, names) for x in sentences(s.drafts[-1].text)]
        closings.append(closing)
        endings.update(set(closing))
    limit = max(3, round(0.2 * len(stories)))
    stock = [(t, n) for t, n in seen_in.most_common() if n >= limit]
    top_end = endings.most_common(1)[0] if endings else ("", 0)
    formula = {t for t, n in endings.items() if n >= max(2, 0.2 * len(stories))}
    formula_share = sum(sum(t in formula for t in c) / max(len(c), 1)
                        for c in closings) / len(stories)
    return Figures(
        stories=len(stories), padding_per_story=sum(padding) / len(stories),
        padding_max=max(padding), template_repeat_share=repeats / max(total, 1),
        stock_sentences=len(stock), stock_top=stock[:5], first_choice_sets=len(shapes),
        first_choice_top_share=shapes.most_common(1)[0][1] / len(stories),
        ending_templates_top_share=top_end[1] / len(stories), ending_top=top_end[0],
        ending_formula_share=formula_share,
        per_story_stock=sum(n for _, n in stock) / len(stories),
        stock_quotes=sum(n >= limit for n in said_in.values()))
