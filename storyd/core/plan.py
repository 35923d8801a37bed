"""The story plan: what a story is about and where it goes, decided before chapter 1.

Theory of operation
-------------------
The first request of a story asks a model for a `StoryPlan` as JSON under `plan_json_schema`:
a title, a premise, the protagonist (name, want, flaw), a cast of 2–5, 2–4 places, the
central question, one beat per planned chapter and 2–3 possible endings. The beats follow
the arc shape of `arc_shape(n)`: set-up first, complications, a midpoint turn, a crisis,
the climax in the next-to-last chapter and the resolution in the last.

A plan is never refused: `storyd.core.plan_parse.parse_plan` reads whatever came back
(JSON, half a plan, prose, a cast of 40) and completes it from the operator's outline and
from a fallback plan (the offline storyteller writes one from the outline and the theme), so
a story always starts with a whole plan. Everything an operator's outline names — people,
places, a goal, in English or German — is kept (`storyd.core.outline_facts`).

Every chapter prompt then carries the plan's pinned part (`pinned_lines`): protagonist, cast,
central question, "chapter k of N" and this chapter's beat. `extend_plan` lengthens a running
story by re-planning the beats that have not aired yet.

The Structs are stored with the session as JSON (`plan_to_json` / `plan_from_json`); unknown
fields are ignored on reading so later versions may add fields.

Pure: no I/O, no clocks.
"""

from __future__ import annotations

from typing import Any

import msgspec

MIN_CAST, MAX_CAST = 2, 5
MIN_PLACES, MAX_PLACES = 2, 4
MIN_ENDINGS, MAX_ENDINGS = 2, 3
MIN_CHAPTERS, MAX_CHAPTERS = 3, 60
DEFAULT_CHAPTERS = 8      # a story's planned length when [story] max_chapters = 0
BEAT_KINDS = ("setup", "complication", "midpoint", "crisis", "climax", "resolution")
ANTAGONIST_ROLES = frozenset({"antagonist", "villain", "rival", "enemy", "foe", "gegner",
                              "gegenspieler", "gegenspielerin", "schurke", "rivale", "rivalin"})


class Protagonist(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    want: str = ""        # what they want (the goal the story tests)
    flaw: str = ""        # what stands in their own way


class CastMember(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    role: str = ""        # "companion", "antagonist", "mentor", … (free text, short)
    trait: str = ""       # one trait
    want: str = ""        # what they want


class PlanPlace(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    note: str = ""


class Beat(msgspec.Struct, frozen=True, kw_only=True):
    chapter: int          # 1-based
    kind: str             # one of BEAT_KINDS
    summary: str          # what should happen in that chapter


class StoryPlan(msgspec.Struct, frozen=True, kw_only=True):
    """The story bible of one session (see the module docstring)."""

    title: str
    premise: str
    protagonist: Protagonist
    cast: tuple[CastMember, ...] = ()
    places: tuple[PlanPlace, ...] = ()
    central_question: str = ""
    beats: tuple[Beat, ...] = ()
    endings: tuple[str, ...] = ()
    source: str = ""      # who wrote it: a provider name, "offline"
    repairs: tuple[str, ...] = ()   # what was completed or cut, for the operator
    extended: bool = False  # `storyctl extend` set its length: the story ends there even
    #                         with `[story] max_chapters = 0` (kept across a restart)

    @property
    def chapters(self) -> int:
        return len(self.beats)

    def beat(self, chapter: int) -> Beat | None:
        """The beat of `chapter` (1-based); past the plan the last beat (the resolution)."""
        for b in self.beats:
            if b.chapter == chapter:
                return b
        return self.beats[-1] if self.beats and chapter > self.beats[-1].chapter else None

    def antagonist(self) -> CastMember | None:
        for c in self.cast:
            if any(w in ANTAGONIST_ROLES for w in c.role.casefold().replace("-", " ").split()):
                return c
        return None

    def companions(self) -> tuple[CastMember, ...]:
        foe = self.antagonist()
        return tuple(c for c in self.cast if c is not foe)


def arc_shape(n: int) -> tuple[str, ...]:
    """The beat kind of each chapter of an n-chapter story (see the module docstring)."""
    n = max(1, n)
    if n == 1:
        return ("resolution",)
    if n == 2:
        return ("setup", "resolution")
    if n == 3:
        return ("setup", "climax", "resolution")
    if n == 4:
        return ("setup", "midpoint", "climax", "resolution")
    kinds = ["complication"] * n
    kinds[0], kinds[-1], kinds[-2], kinds[-3] = "setup", "resolution", "climax", "crisis"
    if n >= 6:
        kinds[(n - 1) // 2] = "midpoint"
    else:
        kinds[1] = "midpoint"
    return tuple(kinds)


BEAT_HINTS = {
    "setup": "introduce the protagonist, what they want and the world; end on the first "
             "real problem",
    "complication": "make it harder: a new obstacle, a cost or a secret",
    "midpoint": "a turn: something learned or lost changes what the protagonist is "
                "fighting for",
    "crisis": "the lowest point: the flaw costs the protagonist dearly and the way ahead "
              "looks closed",
    "climax": "the decisive confrontation with the antagonist; everything is at stake",
    "resolution": "the ending: answer the central question and settle every thread",
}


def plan_json_schema(chapters: int, *, grammar: bool = False) -> dict[str, Any]:
    """The JSON schema of a plan answer (`chapters` beats). `grammar`: for a server that turns
    it into a grammar (see prompts.chapter_json_schema): texts get a minimum length, so a small
    model writes something instead of copying a placeholder."""
    def text(least: int) -> dict[str, Any]:
        return {"type": "string", "minLength": least} if grammar else {"type": "string"}

    person = {"type": "object", "properties": {
        "name": text(2), "role": text(4), "trait": text(3), "want": text(5)},
        "required": ["name", "role", "trait", "want"]}
    return {"type": "object", "properties": {
        "title": text(3),
        "premise": text(40),
        "protagonist": {"type": "object", "properties": {
            "name": text(2), "want": text(8), "flaw": text(4)},
            "required": ["name", "want", "flaw"]},
        "cast": {"type": "array", "items": person,
                 "minItems": MIN_CAST, "maxItems": MAX_CAST},
        "places": {"type": "array", "items": {"type": "object", "properties": {
            "name": text(3), "note": {"type": "string"}},
            "required": ["name", "note"]}, "minItems": MIN_PLACES, "maxItems": MAX_PLACES},
        "central_question": text(15),
        "beats": {"type": "array", "items": text(20),
                  "minItems": chapters, "maxItems": chapters},
        "endings": {"type": "array", "items": text(15),
                    "minItems": MIN_ENDINGS, "maxItems": MAX_ENDINGS},
    }, "required": ["title", "premise", "protagonist", "cast", "places", "central_question",
                    "beats", "endings"]}


# ---------------------------------------------------------------- storage

def plan_to_json(plan: StoryPlan) -> dict[str, Any]:
    data: dict[str, Any] = msgspec.to_builtins(plan)
    return data


def plan_from_json(data: Any) -> StoryPlan | None:
    """A stored plan, or None when there is none or it cannot be read (never raises)."""
    if not isinstance(data, dict):
        return None
    try:
        return msgspec.convert(data, StoryPlan)
    except msgspec.ValidationError:
        return None


# ---------------------------------------------------------------- extending

def extend_plan(plan: StoryPlan, chapters: int, aired: int) -> StoryPlan:
    """The plan stretched (or shortened) to `chapters`, the first `aired` beats unchanged.

    The kinds of the remaining beats follow the arc shape of the new length; their summaries
    are kept in order where there are enough and filled with the kind's hint otherwise, so
    the climax and the resolution stay at the end. A model may re-plan them afterwards
    (`PlanRequest.keep_beats`)."""
    chapters = max(chapters, aired + 1, MIN_CHAPTERS)
    kinds = arc_shape(chapters)
    kept = [b for b in plan.beats if b.chapter <= aired]
    rest = [b for b in plan.beats if b.chapter > aired]
    tail_kinds = list(kinds[len(kept):])
    had_midpoint = any(b.kind == "midpoint" for b in kept)
    tail_kinds = ["complication" if k == "midpoint" and had_midpoint else k for k in tail_kinds]
    if not had_midpoint and "midpoint" not in tail_kinds and len(tail_kinds) > 3:
        tail_kinds[0] = "midpoint"      # the turn is still to come
    by_kind: dict[str, list[str]] = {}
    for b in rest:
        by_kind.setdefault(b.kind, []).append(b.summary)
    beats = list(kept)
    for i, kind in enumerate(tail_kinds):
        pool = by_kind.get(kind) or []
        summary = pool.pop(0) if pool else BEAT_HINTS[kind]
        beats.append(Beat(chapter=len(kept) + i + 1, kind=kind, summary=summary))
    return msgspec.structs.replace(
        plan, beats=tuple(beats), extended=True,
        repairs=(*plan.repairs, f"extended to {chapters} chapters after chapter {aired}"))
