"""Repairs of a provider's chapter: drop repeated choices, find what is missing, refill.

Theory of operation: `prompts.parse_chapter` already trims and de-duplicates; what is left
is decided here. `without_repeats` drops choices that repeat the winning or an earlier
choice; `missing_choices` counts what the draft lacks; `chapter_defects` names the real
defects worth one regeneration (no choices where choices are needed, a text far too short).
Missing choices are asked for in one small follow-up (`build_choices_messages` with
`choices_json_schema`, read back by `add_choices`); `fill_choices` completes a draft
without another request, from the chapter's own characters, places and items first.

Pure: no I/O, no clocks.
"""

from __future__ import annotations

from typing import Any

from storyd.core.chapter_parse import extract_json
from storyd.core.model import ChapterDraft, ChapterRequest
from storyd.core.prompts import (
    _CHOICE_PREFIX,
    _FILLER,
    _block,
    _choice_text,
    _similar,
    _system,
    quote_untrusted,
)


def without_repeats(draft: ChapterDraft, req: ChapterRequest) -> ChapterDraft:
    """The draft minus choices that repeat the winning choice or an earlier choice."""
    old = [*req.avoid_choices, *([req.winning_choice] if req.winning_choice else [])]
    keep = tuple(c for c in draft.choices if not any(_similar(c, o) for o in old))
    return draft if keep == draft.choices else _with_choices(draft, keep)


def _with_choices(draft: ChapterDraft, choices: tuple[str, ...]) -> ChapterDraft:
    return ChapterDraft(title=draft.title, text=draft.text, choices=choices,
                        memory=draft.memory, summary=draft.summary, lines=draft.lines,
                        provider=draft.provider, attempt=draft.attempt)


def missing_choices(draft: ChapterDraft, req: ChapterRequest) -> int:
    """How many choices the draft lacks (0 for a closing chapter)."""
    return 0 if req.closing else max(0, req.n_choices - len(draft.choices))


def chapter_defects(draft: ChapterDraft, req: ChapterRequest) -> list[str]:
    """Real defects worth one regeneration: no choices where choices are needed, a text
    far too short. Everything else is repaired or aired as it is."""
    defects: list[str] = []
    words = len(draft.text.split())
    low = max(1, req.words // 2)
    if words < low:
        defects.append(f"chapter text too short: {words} words, wanted about {req.words} "
                       f"(at least {low})")
    if not req.closing and not draft.choices:
        defects.append(f"no choices (wanted {req.n_choices})")
    return defects


def choices_json_schema(k: int) -> dict[str, Any]:
    """Schema of a follow-up answer holding exactly `k` more choices."""
    return {"type": "object", "properties": {"choices": {
        "type": "array", "items": {"type": "string"}, "minItems": k, "maxItems": k}},
        "required": ["choices"]}


def build_choices_messages(draft: ChapterDraft, req: ChapterRequest,
                           k: int) -> list[dict[str, str]]:
    """A small follow-up request for `k` more choices to end this chapter with."""
    taken = [*draft.choices, *req.avoid_choices,
             *([req.winning_choice] if req.winning_choice else [])]
    parts = ["The chapter:\n" + _block("CHAPTER", draft.text)]
    if taken:
        parts.append("Choices already offered or taken (do not repeat them): "
                     + "; ".join(quote_untrusted(c, 200) for c in taken[-12:]))
    parts.append(f"Write exactly {k} more short, distinct choices for what happens next "
                 "(at most 12 words each, no letters or numbers in front). Answer with JSON "
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
    old = [*req.avoid_choices, *([req.winning_choice] if req.winning_choice else [])]
    choices = list(draft.choices)
    for value in raw:
        c = _choice_text(value)
        if (c and not _FILLER.match(c) and len(choices) < req.n_choices
                and not any(_similar(c, o) for o in (*choices, *old))):
            choices.append(c)
    return _with_choices(draft, tuple(choices))


_FILL = {"german": ("Weitergehen und sehen, was geschieht", "Vorsichtig umkehren",
                    "Einen Moment warten und lauschen", "Um Hilfe rufen",
                    "Nach einem anderen Weg suchen", "Das Geheimnis genauer untersuchen"),
         "english": ("Press on and see what happens", "Turn back carefully",
                     "Wait a moment and listen", "Call out for help",
                     "Search for another way", "Look closer at the mystery")}


def fill_choices(draft: ChapterDraft, req: ChapterRequest) -> ChapterDraft:
    """The draft completed to n choices without another request: choices built from the
    story's own characters and places first, then calm generic ones."""
    if missing_choices(draft, req) == 0:
        return draft
    german = req.language.strip().lower() in ("german", "deutsch", "de")
    ideas: list[str] = []
    for e in draft.memory.characters:
        if e.alive and e.name:
            ideas.append(f"Folge {e.name}" if german else f"Follow {e.name}")
    for e in draft.memory.locations:
        ideas.append(f"Erkunde {e.name}" if german else f"Explore {e.name}")
    for e in draft.memory.items:
        ideas.append(f"Benutze {e.name}" if german else f"Use the {e.name}")
    ideas += _FILL["german" if german else "english"]
    old = [*req.avoid_choices, *([req.winning_choice] if req.winning_choice else [])]
    choices = list(draft.choices)
    for idea in ideas:
        c = _choice_text(idea)
        if len(choices) >= req.n_choices:
            break
        if c and not any(_similar(c, o) for o in (*choices, *old)):
            choices.append(c)
    for i in range(len(choices), req.n_choices):   # cannot happen with 6 distinct fillers
        choices.append(f"{_FILL['english'][i % 6]} ({i + 1})")
    return _with_choices(draft, tuple(choices))
