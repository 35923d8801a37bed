"""Splitting a chapter into sentences and timing their reveal (pure)."""

from __future__ import annotations

import re

# A sentence ends at . ! ? … with its closing quotes or bracket (kept with the sentence),
# before white space and the next sentence's capital (or digit), which may open with a quote:
# “…", „…", «…», '…'.
_SENTENCE_END = re.compile(r"[.!?…][\"'”’»“)]*(?=\s+[\"'“‘«„‚(]?[A-ZÀ-ÖØ-ÞĀ-ſА-ЯΑ-Ω0-9])")


def split_sentences(text: str) -> list[str]:
    """Sentences of a chapter, in order; never drops text (the older overlay lost the first,
    and an older split lost the closing quote of a quoted sentence)."""
    text = " ".join(text.split())
    parts, start = [], 0
    for m in _SENTENCE_END.finditer(text):
        parts.append(text[start:m.end()].strip())
        start = m.end()
    parts.append(text[start:].strip())
    return [p for p in parts if p]


def reveal_seconds(sentence: str, words_per_second: float) -> float:
    """How long a sentence stays the newest line when no audio sets the pace (0 = at once)."""
    if words_per_second <= 0:
        return 0.0
    words = max(1, len(sentence.split()))
    return round(words / words_per_second, 3)


def choices_announcement(choices: tuple[str, ...] | list[str]) -> str:
    """What the narrator reads before the vote opens."""
    keys = "ABCDEF"
    said = " ".join(f"{keys[i]}: {c.rstrip('.')}." for i, c in enumerate(choices))
    return f"What happens next? {said} Vote now in chat."


def complete_sentences(text: str) -> str:
    """The text up to its last complete sentence ("" when none is complete yet): what a
    streaming reveal may show of a chapter that is still arriving."""
    end = max(text.rfind(c) for c in ".!?…")
    return text[:end + 1].strip() if end >= 0 else ""
