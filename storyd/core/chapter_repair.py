"""Repairs of a provider's chapter: drop repeated choices, ask once for what is missing.

Theory of operation: `chapter_parse.parse_chapter` already de-duplicates (and notes what it
dropped); what is left is decided here. The model's story is never cut or padded: length is
advice, and the only defect worth a regeneration is an answer that is not a chapter at all
(`chapter_defects`: no text, or under a few sentences). `without_repeats` drops choices that
repeat the winning choice or a choice of the last rounds and notes how many ("2 of 3 choices
repeated earlier ones"). Missing choices are asked for in ONE small follow-up
(`build_choices_messages` with `choices_json_schema`, read back by `add_choices`). When that
still leaves fewer than two, `story_choices` offers choices made of this story's own people,
places and items (the chapter's, the plan's, the memory's) — never generic filler such as
"Press on and see what happens". A chapter airs with the real choices it has (two or more).

Pure: no I/O, no clocks.
"""

from __future__ import annotations

from typing import Any

import msgspec

from storyd.core.chapter_parse import extract_json, is_a_chapter, is_junk, sentences
from storyd.core.model import ChapterDraft, ChapterRequest
from storyd.core.prompts import (
    _CHOICE_PREFIX,
    _FILLER,
    _choice_text,
    _similar,
)
from storyd.core.quoting import block as _block
from storyd.core.quoting import quote_untrusted
from storyd.core.quoting import system_prompt as _system

MIN_REAL_CHOICES = 2


def _old_choices(req: ChapterRequest) -> list[str]:
    return [*req.avoid_choices, *([req.winning_choice] if req.winning_choice else [])]


def without_repeats(draft: ChapterDraft, req: ChapterRequest) -> ChapterDraft:
    """The draft minus choices that repeat the winning choice or an earlier round's choice;
    how many is added to its notes."""
    old = _old_choices(req)
    keep = tuple(c for c in draft.choices if not any(_similar(c, o) for o in old))
    if keep == draft.choices:
        return draft
    gone = len(draft.choices) - len(keep)
    note = f"{gone} of {len(draft.choices)} choices repeated earlier ones"
    return msgspec.structs.replace(draft, choices=keep, notes=(*draft.notes, note))


def missing_choices(draft: ChapterDraft, req: ChapterRequest) -> int:
    """How many choices the draft lacks (0 for a closing chapter)."""
    return 0 if req.closing else max(0, req.n_choices - len(draft.choices))


def chapter_defects(draft: ChapterDraft, req: ChapterRequest) -> list[str]:
    """The one defect worth a regeneration: the answer is not a chapter (a one-word text,
    a single sentence). Length is never one; missing choices are asked for instead."""
    if is_a_chapter(draft.text):
        return []
    words, count = len(draft.text.split()), len(sentences(draft.text))
    return [f"not a chapter: {words} word{'s' * (words != 1)} in {count} "
            f"sentence{'s' * (count != 1)}"]


def choices_json_schema(k: int) -> dict[str, Any]:
    """Schema of a follow-up answer holding exactly `k` more choices."""
    return {"type": "object", "properties": {"choices": {
        "type": "array", "items": {"type": "string"}, "minItems": k, "maxItems": k}},
        "required": ["choices"]}


def build_choices_messages(draft: ChapterDraft, req: ChapterRequest,
                           k: int) -> list[dict[str, str]]:
    """A small follow-up request for `k` more choices to end this chapter with."""
    taken = [*draft.choices, *_old_choices(req)]
    parts = ["The chapter:\n" + _block("CHAPTER", draft.text)]
    if taken:
        parts.append("Choices already offered or taken (do not repeat them): "
                     + "; ".join(quote_untrusted(c, 200) for c in taken[-15:]))
    parts.append(f"Write exactly {k} more short, distinct choices for what happens next "
                 "(at most 12 words each, no letters or numbers in front), each a concrete "
                 "action of this chapter's people. Answer with JSON "
                 f'only: {{"choices": [exactly {k} strings]}}')
    return [{"role": "system", "content": _system(req.theme, req.language)},
            {"role": "user", "content": "\n\n".join(parts)}]


def add_choices(draft: ChapterDraft, req: ChapterRequest, content: str) -> ChapterDraft:
    """The draft with the usable new choices from a follow-up answer (never over n)."""
    data = extract_json(content)
    raw = data.get("choices") if data else None
    if raw is None:   # no JSON: only list items ("- …", "1. …", "A) …") count as choices
        raw = [ln for ln in content.splitlines()
               if (m := _CHOICE_PREFIX.match(ln)) is not None and m.end() > 0]
    if not isinstance(raw, list):
        return draft
    old = _old_choices(req)
    choices = list(draft.choices)
    for value in raw:
        c = _choice_text(value)
        if (c and not _FILLER.match(c) and not is_junk(c) and len(choices) < req.n_choices
                and not any(_similar(c, o) for o in (*choices, *old))):
            choices.append(c)
    return msgspec.structs.replace(draft, choices=tuple(choices))


def story_choices(draft: ChapterDraft, req: ChapterRequest) -> ChapterDraft:
    """The draft completed to at least two choices without another request, from this
    story's own people, places and items: the chapter's first, then the plan's, then the
    memory's. Never a generic filler; a draft that has two or more is left as it is."""
    if req.closing or len(draft.choices) >= MIN_REAL_CHOICES:
        return draft
    german = req.language.strip().casefold() in ("german", "deutsch", "de")
    heroes = ("hero", "heroine", "narrator")
    people = [e.name for e in draft.memory.characters if e.alive and e.role not in heroes]
    places = [e.name for e in draft.memory.locations]
    items = [e.name for e in draft.memory.items]
    if req.plan is not None:
        hero = req.plan.protagonist.name
        people += [c.name for c in req.plan.cast]
        places += [p.name for p in req.plan.places]
        people = [p for p in people if p != hero]
    if req.memory is not None:
        people += [e.name for e in req.memory.characters
                   if e.alive and e.role not in heroes]
        places += [e.name for e in req.memory.locations]
        items += [e.name for e in req.memory.items]
    ideas = ([(f"Vertraue dich {p} an" if german else f"Confide in {p}") for p in people[:2]]
             + [(f"Geh nach {p}" if german else f"Head for {p}") for p in places[:2]]
             + [(f"Setz {i} ein" if german else f"Use {i}") for i in items[:1]]
             + [(f"Stell {p} zur Rede" if german else f"Confront {p}") for p in people[2:3]])
    old = _old_choices(req)
    choices = list(draft.choices)
    for idea in ideas:
        c = _choice_text(idea)
        if len(choices) >= min(req.n_choices, MIN_REAL_CHOICES):
            break
        if c and not any(_similar(c, o) for o in (*choices, *old)):
            choices.append(c)
    added = len(choices) - len(draft.choices)
    if not added:
        return draft
    note = f"{added} choice{'s' * (added != 1)} made from the story's people and places"
    return msgspec.structs.replace(draft, choices=tuple(choices), notes=(*draft.notes, note))
