"""Editing a story plan as a whole: renaming a person everywhere, a plan as if a model had
answered it, and the bare plan used when no storyteller plan is at hand.

Pure: no I/O, no clocks.
"""

from __future__ import annotations

import re
from typing import Any

from storyd.core.plan import (
    BEAT_HINTS,
    Beat,
    CastMember,
    PlanPlace,
    Protagonist,
    StoryPlan,
    arc_shape,
)
from storyd.core.plan_prompts import PlanRequest


def rename_in(text: str, old: str, new: str) -> str:
    """`text` with the person `old` called `new`: the whole name, then each of its words
    ("Elara Voss" → "Hedda Ruhl", a lone "Elara" → "Hedda")."""
    for part in sorted({old, *old.split()}, key=len, reverse=True):
        if len(part) >= 3 and new.split():
            into = new if part == old else new.split()[0]
            text = re.compile(rf"(?<!\w){re.escape(part)}(?!\w)").sub(
                into.replace("\\", "\\\\"), text)
    return text


def as_answer(plan: StoryPlan) -> dict[str, Any]:
    """A plan as if a model had answered it (so it is completed the same way)."""
    return {"title": plan.title, "premise": plan.premise,
            "protagonist": {"name": plan.protagonist.name, "want": plan.protagonist.want,
                            "flaw": plan.protagonist.flaw},
            "cast": [{"name": c.name, "role": c.role, "trait": c.trait, "want": c.want}
                     for c in plan.cast],
            "places": [{"name": p.name, "note": p.note} for p in plan.places],
            "central_question": plan.central_question,
            "beats": [b.summary for b in plan.beats], "endings": list(plan.endings)}


def renamed(plan: StoryPlan, renames: dict[str, str]) -> StoryPlan:
    def fix(text: str) -> str:
        for old, new in renames.items():
            text = rename_in(text, old, new)
        return text
    return StoryPlan(
        title=fix(plan.title), premise=fix(plan.premise), protagonist=Protagonist(
            name=plan.protagonist.name, want=fix(plan.protagonist.want),
            flaw=fix(plan.protagonist.flaw)),
        cast=tuple(CastMember(name=c.name, role=c.role, trait=fix(c.trait), want=fix(c.want))
                   for c in plan.cast),
        places=tuple(PlanPlace(name=p.name, note=fix(p.note)) for p in plan.places),
        central_question=fix(plan.central_question),
        beats=tuple(Beat(chapter=b.chapter, kind=b.kind, summary=fix(b.summary))
                    for b in plan.beats),
        endings=tuple(fix(e) for e in plan.endings), source=plan.source,
        repairs=plan.repairs)


def bare_plan(req: PlanRequest) -> StoryPlan:
    """The last fallback when no storyteller plan was given (tests, a broken install)."""
    names = list(req.offered_names) or ["Ada", "Ruben", "Corvin"]
    names += ["Ruben", "Corvin", "Ada"]
    german = req.language.strip().casefold() in ("german", "deutsch", "de")
    hero, friend, foe = names[0], names[1], names[2]
    place = "die Stadt" if german else "the old town"
    want = "das Verlorene finden" if german else "find what was lost"
    return StoryPlan(
        title=req.theme.name, premise=f"{hero}: {want}.",
        protagonist=Protagonist(name=hero, want=want,
                                flaw="zu stolz, um Hilfe anzunehmen" if german
                                else "too proud to ask for help"),
        cast=(CastMember(name=friend, role="companion"),
              CastMember(name=foe, role="antagonist")),
        places=(PlanPlace(name=place), PlanPlace(name="der Turm" if german else "the tower")),
        central_question=(f"Wird {hero} das Verlorene finden?" if german
                          else f"Will {hero} find what was lost?"),
        beats=tuple(Beat(chapter=i + 1, kind=k, summary=BEAT_HINTS[k])
                    for i, k in enumerate(arc_shape(req.chapters))),
        endings=("success at a price", "a bittersweet farewell"), source="offline")
