"""The plan in prompts: the request for a plan, and the story bible pinned to every chapter.

`build_plan_messages` asks for a plan as JSON (schema: `plan.plan_json_schema`), quoting the
operator's outline as story material, offering fresh names and listing overused ones.
`pinned_block` is the part of every chapter prompt that the memory budget never touches:
protagonist, cast (living ones; the dead are marked), central question, "chapter k of N",
this chapter's beat and the open threads. `closing_checklist` is what the last chapter must
settle.

Pure: no I/O, no clocks.
"""

from __future__ import annotations

import re

import msgspec

from storyd.core.cameos import cameo_block
from storyd.core.craft import avoid_line
from storyd.core.memory import name_key
from storyd.core.model import Entity, StoryMemoryView, Theme
from storyd.core.plan import BEAT_HINTS, MAX_CAST, MAX_PLACES, Beat, StoryPlan, arc_shape
from storyd.core.quoting import clean_untrusted, quote_untrusted
from storyd.core.quoting import system_prompt as _system


class PlanRequest(msgspec.Struct, frozen=True, kw_only=True):
    """What the plan request is built from (by the generation service)."""

    theme: Theme
    language: str
    chapters: int                     # planned length: one beat per chapter
    outline: str = ""                 # the operator's outline ("" = none)
    seed: int = 0
    offered_names: tuple[str, ...] = ()   # fresh names from the per-theme pools
    avoid: tuple[str, ...] = ()       # overused model names and motifs (core/craft.py)
    fallback: StoryPlan | None = None  # completes whatever the model leaves out
    keep_beats: tuple[Beat, ...] = ()  # `extend`: beats already aired, kept as they are
    cameos: tuple[str, ...] = ()      # joined viewers offered as walk-on parts (core/cameos.py)


def build_plan_messages(req: PlanRequest, *, enforced: bool = False) -> list[dict[str, str]]:
    """System and user messages asking for the story plan as one JSON object. `enforced`:
    the server holds the answer to the schema, so no JSON template is shown (small models
    copy its placeholders)."""
    n = req.chapters
    kinds = arc_shape(n)
    shape = "; ".join(f"{i + 1}: {k}" for i, k in enumerate(kinds))
    parts = [f"Plan a new interactive story of exactly {n} chapters for a live stream. "
             "The audience votes on a choice at the end of every chapter, so the plan is a "
             "spine, not a script: it says where the story is going."]
    if req.outline.strip():
        parts.append("The operator's outline (keep every person, place and goal it names, "
                     f"spelled as written): {quote_untrusted(req.outline, 2000)}")
    if req.keep_beats:
        done = "; ".join(f"{b.chapter}: {quote_untrusted(b.summary, 200)}"
                         for b in req.keep_beats)
        parts.append(f"Chapters already told (keep them as they are): {done}")
        if req.fallback is not None:
            parts.append(_bible(req.fallback))
    if req.cameos:   # viewers who joined the story (core/cameos.py): names, quoted
        parts.append(cameo_block(req.cameos, plan=True))
    if req.offered_names:
        parts.append("Fresh names you may use: " + ", ".join(req.offered_names) + ".")
    parts.append(avoid_line(req.language))
    if enforced:
        parts.append(
            "Answer in JSON: \"title\"; \"premise\" (two sentences); \"protagonist\" (name, "
            "what they want, one flaw); \"cast\" (2 to 5 people: name, role — one of them the "
            "antagonist —, one trait, what they want); \"places\" (2 to 4: name, note); "
            "\"central_question\" (the yes/no question the ending answers); \"beats\" (one "
            f"sentence per chapter, {n} in all: what happens in it); \"endings\" (2 or 3 "
            f"possible endings). The beats follow this arc: {shape}.")
        return [{"role": "system", "content": _system(req.theme, req.language)},
                {"role": "user", "content": "\n\n".join(parts)}]
    parts.append(
        "Answer with one JSON object only, no prose, no code fence:\n"
        '{"title": "short title", "premise": "two sentences", '
        '"protagonist": {"name": "", "want": "what they want", "flaw": "one flaw"}, '
        '"cast": [{"name": "", "role": "companion|antagonist|mentor|…", "trait": "one trait", '
        f'"want": "what they want"}}] (2 to {MAX_CAST}, one of them the antagonist), '
        f'"places": [{{"name": "", "note": "one line"}}] (2 to {MAX_PLACES}), '
        '"central_question": "the yes/no question the ending answers", '
        f'"beats": [exactly {n} strings, one per chapter, what happens in it], '
        '"endings": [2 or 3 possible endings, one sentence each]}\n'
        f"The beats follow this arc: {shape}. The climax is chapter {max(n - 1, 1)}, the "
        f"resolution chapter {n}.")
    return [{"role": "system", "content": _system(req.theme, req.language)},
            {"role": "user", "content": "\n\n".join(parts)}]


def _bible(plan: StoryPlan) -> str:
    lines = [f"Protagonist: {plan.protagonist.name}"
             + (f" — wants {plan.protagonist.want}" if plan.protagonist.want else "")]
    lines += [f"{c.name} ({c.role})" for c in plan.cast]
    lines.append(f"Central question: {plan.central_question}")
    return "The story so far is built on: " + clean_untrusted("; ".join(lines), 1200)


def _cast_line(plan: StoryPlan, dead: set[str]) -> str:
    people = []
    for c in plan.cast:
        details = [d for d in (c.role, c.trait, f"wants {c.want}" if c.want else "") if d]
        mark = " — DEAD, does not act or speak" if c.name.casefold() in dead else ""
        people.append(f"{c.name} ({', '.join(details)}){mark}")
    return "; ".join(people)


def pinned_block(plan: StoryPlan, chapter: int, *, closing: bool,
                 characters: tuple[Entity, ...] = (), open_threads: tuple[str, ...] = ()
                 ) -> str:
    """The story bible of a chapter prompt (never cut by the memory budget)."""
    n = plan.chapters
    beat = plan.beat(chapter)
    last = plan.beats[-1] if plan.beats else None
    if closing:
        summary = last.summary if last and last.kind == "resolution" else BEAT_HINTS["resolution"]
        where = (f"This is chapter {chapter} of {n}, the last chapter. " if chapter == n else
                 f"This is chapter {chapter}, the last chapter (the plan had {n}). ")
    elif beat is None or chapter > n:
        summary = BEAT_HINTS["complication"]
        where = (f"This is chapter {chapter}, past the planned {n}: the story goes on until "
                 "it is finished; keep the tension and steer toward the resolution. ")
    else:
        summary = beat.summary
        where = f"This is chapter {chapter} of {n} ({beat.kind}). "
    dead = {e.name.casefold() for e in characters if not e.alive}
    p = plan.protagonist
    lines = [f"Story: {clean_untrusted(plan.title, 100)} — {clean_untrusted(plan.premise, 400)}",
             f"Protagonist: {p.name}"
             + (f", wants {p.want}" if p.want else "") + (f"; flaw: {p.flaw}" if p.flaw else ""),
             f"Cast: {_cast_line(plan, dead)}",
             "Places: " + "; ".join(pl.name + (f" ({pl.note})" if pl.note else "")
                                    for pl in plan.places),
             f"Central question: {plan.central_question}",
             where + f"This chapter's beat: {summary}"]
    if open_threads:
        lines.append("Open threads: " + "; ".join(open_threads))
    body = clean_untrusted("\n".join(lines), 3000, keep_newlines=True).replace("END PLAN", "")
    return f"BEGIN PLAN\n{body}\nEND PLAN"


# words in front of a name that do not identify the person ("Magistrate Corvin Ashdown")
_TITLES = frozenset(
    "mr mrs ms miss dr doctor sir lady lord captain capt magistrate detective inspector "
    "professor prof father mother sister brother king queen prince princess old young "
    "herr frau kommissar kommissarin doktor kapitän".split())


def named_in(name: str, texts: tuple[str, ...]) -> bool:
    """True when one of `texts` names the person: their first or last name as a word (a
    title such as "Magistrate" does not count)."""
    words = [w for w in name.split() if len(w) >= 3 and w.casefold().strip(".") not in _TITLES]
    pick = {words[0], words[-1]} if words else set()
    return any(re.search(rf"(?<!\w){re.escape(w)}(?!\w)", t) for w in pick for t in texts)


def open_threads(plan: StoryPlan, memory: StoryMemoryView, chapter: int,
                 told: tuple[str, ...] = ()) -> tuple[str, ...]:
    """What the story has left open, for the next chapter's prompt: the plan's people who
    have not appeared yet (from chapter 3 on) — neither in the memory nor named in the
    chapters `told` so far (a model's memory tags often leave people out) —, the items
    carried, the last thing that happened. At most four short lines."""
    threads: list[str] = []
    seen = {name_key(e.name) for e in memory.characters}
    if chapter >= 3:
        missing = [c.name for c in plan.cast
                   if name_key(c.name) not in seen and not named_in(c.name, told)]
        if missing:
            threads.append(f"not yet met: {', '.join(missing)}")
    for item in memory.items[:2]:
        threads.append(f"{item.name}" + (f" ({item.note})" if item.note else ""))
    if memory.events:
        threads.append(f"last: {memory.events[-1]}")
    return tuple(clean_untrusted(t, 200) for t in threads[:4])


def closing_checklist(plan: StoryPlan, characters: tuple[Entity, ...] = ()) -> str:
    """What the closing chapter must settle, by name."""
    dead = {e.name.casefold() for e in characters if not e.alive}
    items = [f"answer the central question ({plan.central_question})",
             f"settle {plan.protagonist.name}'s want"
             + (f" ({plan.protagonist.want})" if plan.protagonist.want else "")]
    foe = plan.antagonist()
    if foe is not None and foe.name.casefold() not in dead:
        items.append(f"settle the antagonist {foe.name}")
    for c in plan.companions():
        if c.name.casefold() not in dead:
            items.append(f"give {c.name} a last moment")
    endings = "; ".join(quote_untrusted(e, 200) for e in plan.endings)
    return ("Closing checklist — this last chapter must: " + "; ".join(items) + ". "
            + (f"Possible endings from the plan: {endings}. " if endings else "")
            + "The audience's choice decides which ending fits.")
