"""The recap: what a finished story was, in a few lines (for the recap card, exports and
`storyctl session`).

One last request after the closing chapter asks for `StoryRecap` as JSON (`recap_json_schema`):
a logline, 3–5 key moments and the kind of ending. `parse_recap` repairs what a model sends
and completes it from `offline_recap`, which is built from the chapters themselves (their
summaries and titles), so a recap always exists — also for stories the offline storyteller
told, or when the model is gone.

Pure: no I/O, no clocks.
"""

from __future__ import annotations

import re
from typing import Any

import msgspec

from storyd.core.chapter_parse import CONTROL_CHARS, extract_json, sentences
from storyd.core.model import Theme
from storyd.core.quoting import block as _block
from storyd.core.quoting import system_prompt as _system

ENDING_KINDS = ("triumph", "bittersweet", "tragedy", "open")
_TEMPLATE = ("one sentence", "who wanted what")
MIN_MOMENTS, MAX_MOMENTS = 3, 5


class StoryRecap(msgspec.Struct, frozen=True, kw_only=True):
    title: str
    logline: str                  # one sentence: who wanted what, and how it ended
    moments: tuple[str, ...]      # 3–5 key moments, oldest first, one sentence each
    ending: str                   # one of ENDING_KINDS
    chapters: int = 0
    source: str = ""              # a provider name, or "offline"


class RecapChapter(msgspec.Struct, frozen=True, kw_only=True):
    """What the recap is written from: one aired chapter."""

    number: int
    title: str
    summary: str
    text: str = ""
    chosen: str = ""              # the choice the audience took after it ("" for the last)


class RecapRequest(msgspec.Struct, frozen=True, kw_only=True):
    """What the recap request is built from (by the generation service)."""

    theme: Theme
    language: str
    title: str
    chapters: tuple[RecapChapter, ...]
    fallback: StoryRecap          # built from the chapters (`offline_recap`)
    protagonist: str = ""         # the plan's: a recap that never names them is another story's

    def read(self, content: str, *, source: str) -> StoryRecap:
        """The recap in a model's answer to this request (see `parse_recap`)."""
        return parse_recap(content, self.fallback, source=source, protagonist=self.protagonist)


def recap_json_schema(*, grammar: bool = False) -> dict[str, Any]:
    """The recap's schema; `grammar`: texts with a minimum length (see plan_json_schema)."""
    def text(least: int) -> dict[str, Any]:
        return {"type": "string", "minLength": least} if grammar else {"type": "string"}

    return {"type": "object", "properties": {
        "logline": text(30),
        "moments": {"type": "array", "items": text(15),
                    "minItems": MIN_MOMENTS, "maxItems": MAX_MOMENTS},
        "ending": {"type": "string", "enum": list(ENDING_KINDS)}},
        "required": ["logline", "moments", "ending"]}


def build_recap_messages(req: RecapRequest, *, enforced: bool = False
                         ) -> list[dict[str, str]]:
    """Messages asking for the recap of a finished story as JSON (`enforced`: the server
    holds the answer to the schema, so no template is shown to copy)."""
    theme, language, title, chapters = req.theme, req.language, req.title, req.chapters
    told = "\n".join(
        f"Chapter {c.number} ({c.title}): {c.summary or ' '.join(sentences(c.text)[:2])}"
        + (f" The audience chose: {c.chosen}." if c.chosen else "") for c in chapters[-20:])
    last = chapters[-1].text if chapters else ""
    parts = [f"The story {title!r} has ended. What happened, chapter by chapter:\n"
             + _block("STORY", told),
             "Its last chapter:\n" + _block("ENDING", last)]
    if enforced:
        parts.append("Write a short recap for the viewers, in JSON: \"logline\" (who wanted "
                     f"what, and how it ended), \"moments\" ({MIN_MOMENTS} to {MAX_MOMENTS} key "
                     "moments in story order), \"ending\" (" + ", ".join(ENDING_KINDS) + ").")
    else:
        parts.append(
            "Write a short recap for the viewers. Answer with one JSON object only: "
            '{"logline": "one sentence: who wanted what, and how it ended", '
            f'"moments": [{MIN_MOMENTS} to {MAX_MOMENTS} key moments, one short sentence '
            'each, in story order], "ending": "' + "|".join(ENDING_KINDS) + '"}')
    return [{"role": "system", "content": _system(theme, language)},
            {"role": "user", "content": "\n\n".join(parts)}]


def _tidy(value: Any, limit: int) -> str:
    if not isinstance(value, str):
        return ""
    text = " ".join(CONTROL_CHARS.sub(" ", value).split())
    return text if len(text) <= limit else text[:limit - 1].rsplit(" ", 1)[0] + "…"


def offline_recap(title: str, chapters: tuple[RecapChapter, ...], *,
                  protagonist: str = "", want: str = "", german: bool = False) -> StoryRecap:
    """A recap from the chapters alone: their summaries as moments, an open ending kind."""
    picks = list(chapters)
    if len(picks) > MAX_MOMENTS:   # the first, the last and evenly spread ones between
        step = (len(picks) - 1) / (MAX_MOMENTS - 1)
        picks = [picks[round(i * step)] for i in range(MAX_MOMENTS)]
    moments = tuple(_tidy(c.summary or (sentences(c.text)[:1] or [c.title])[0], 200)
                    for c in picks if c.summary or c.text or c.title)
    if protagonist and want:
        logline = (f"{protagonist} wollte {want} – und die Zuschauer entschieden, wie es "
                   "ausging." if german else
                   f"{protagonist} set out to {want}, and the audience decided how it ended.")
    else:
        logline = moments[0] if moments else title
    return StoryRecap(title=title, logline=_tidy(logline, 300), moments=moments[:MAX_MOMENTS],
                      ending="open", chapters=len(chapters), source="offline")


def _names(text: str, protagonist: str) -> bool:
    """Whether `text` names the protagonist (any part of the name of 3 letters or more)."""
    parts = [p for p in re.findall(r"\w+", protagonist.casefold()) if len(p) >= 3]
    words = set(re.findall(r"\w+", text.casefold()))
    return not parts or any(p in words for p in parts)


def parse_recap(content: str, fallback: StoryRecap, *, source: str = "",
                protagonist: str = "") -> StoryRecap:
    """The recap in a model's answer, completed from `fallback`; never raises. With
    `protagonist`, a recap that never names them is taken for another story's."""
    data = extract_json(content, partial=True) or {}
    logline = _tidy(data.get("logline") or data.get("summary"), 300)
    if logline.casefold().startswith(_TEMPLATE):      # the template copied, not a recap
        logline, data = "", {}
    raw = data.get("moments") or data.get("key_moments") or []
    moments = [m for m in (_tidy(x if isinstance(x, str) else "", 200)
                           for x in (raw if isinstance(raw, list) else [])) if m]
    if logline and not _names(" ".join([logline, *moments]), protagonist):
        logline, moments, data = "", [], {}           # a story about someone else
    if len(moments) < MIN_MOMENTS:
        moments += [m for m in fallback.moments if m not in moments]
    kind = _tidy(data.get("ending") or data.get("ending_kind"), 40).casefold()
    ending = next((k for k in ENDING_KINDS if k in kind), "") or {
        "happy": "triumph", "victory": "triumph", "sad": "tragedy", "tragic": "tragedy",
        "cliffhanger": "open"}.get(kind, fallback.ending)
    return StoryRecap(title=fallback.title, logline=logline or fallback.logline,
                      moments=tuple(moments[:MAX_MOMENTS]), ending=ending,
                      chapters=fallback.chapters,
                      source=source if logline else fallback.source)


def recap_to_json(recap: StoryRecap) -> dict[str, Any]:
    data: dict[str, Any] = msgspec.to_builtins(recap)
    return data


def recap_from_json(data: Any) -> StoryRecap | None:
    if not isinstance(data, dict):
        return None
    try:
        return msgspec.convert(data, StoryRecap)
    except msgspec.ValidationError:
        return None
