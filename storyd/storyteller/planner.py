"""The offline storyteller's story plan: a whole plan from the outline and the theme.

Used three ways: as the plan when no model writes one (or none came within the deadline),
as the fallback that completes whatever a model's plan leaves out (`PlanRequest.fallback`,
see core/plan_parse.py), and through it the offline storyteller then tells the story with
the plan's cast and places. Who and where come from `Plot` (the outline first, then the
theme's word bank); each beat is a line of the arc in the story's language.
"""

from __future__ import annotations

from storyd.core.model import ChapterRequest
from storyd.core.outline_facts import read_outline
from storyd.core.plan import Beat, CastMember, PlanPlace, Protagonist, StoryPlan, arc_shape
from storyd.core.plan_parse import complete_plan
from storyd.core.plan_prompts import PlanRequest
from storyd.storyteller.plot import Plot

_BEATS: dict[str, dict[str, str | tuple[str, ...]]] = {
    "en": {
        "setup": "{hero} sets out {here_loc} to {goal}; {friend} joins {obj}.",
        "complication": ("{foe} turns up first and wants the same thing.",
                         "The way to {dest} is cut off, and {friend} hides something.",
                         "{Threat} forces {hero} to choose between speed and safety.",
                         "A clue about {item} points somewhere nobody wants to go."),
        "midpoint": "{hero} learns what {foe} really wants, and the goal changes its meaning.",
        "crisis": "{hero}'s flaw costs dearly: {friend} is in danger and {foe} is ahead.",
        "climax": "{hero} faces {foe} for everything, with {item} as the last chance.",
        "resolution": "The end: whether {hero} managed to {goal}, and what it cost.",
    },
    "de": {
        "setup": "{hero} bricht {here_loc} auf und will {goal}; {friend} kommt mit.",
        "complication": ("{foe} taucht zuerst auf und will dasselbe.",
                         "Der Weg ist abgeschnitten, und {friend} verschweigt etwas.",
                         "{Threat} zwingt {hero}, zwischen Eile und Vorsicht zu wählen.",
                         "Eine Spur zu {item} führt dorthin, wo niemand hinwill."),
        "midpoint": "{hero} erfährt, was {foe} wirklich will, und das Ziel bekommt einen "
                    "neuen Sinn.",
        "crisis": "Die eigene Schwäche kostet {hero} viel: {friend} ist in Gefahr, und {foe} "
                  "ist voraus.",
        "climax": "{hero} stellt sich {foe} – alles steht auf dem Spiel, {item} ist die "
                  "letzte Chance.",
        "resolution": "Das Ende: Kann {hero} {goal}? Und was kostet es?",
    },
}
_FLAWS = {"en": ("too proud to ask for help", "trusts too quickly", "acts before thinking",
                 "cannot let go of the past"),
          "de": ("zu stolz, um Hilfe anzunehmen", "vertraut zu schnell",
                 "handelt, bevor sie nachdenkt", "kann die Vergangenheit nicht loslassen")}


def offline_plan(req: PlanRequest) -> StoryPlan:
    """The offline storyteller's own plan for `req` (before any completion)."""
    p = Plot(ChapterRequest(theme=req.theme, language=req.language, chapter_number=1,
                            words=40, n_choices=3, outline=req.outline,
                            seed=req.seed * 1000 + 1, max_chapters=req.chapters))
    s = p.slots()
    s.setdefault("obj", s.get("obj", p.hero.name))
    lang = "de" if p.lang == "de" else "en"
    lines = _BEATS[lang]
    n = max(req.chapters, 1)
    beats = []
    step = 0
    for i, kind in enumerate(arc_shape(n)):
        entry = lines[kind]
        if isinstance(entry, tuple):
            entry, step = entry[step % len(entry)], step + 1
        beats.append(Beat(chapter=i + 1, kind=kind, summary=_fill(entry, s)))
    hero, friend, foe = p.hero, p.friend, p.foe
    told = read_outline(req.outline).people
    if told and told[0].role:      # "Kommissarin Anna Berg": what the outline says she is
        role = told[0].role.split()[-1]
        article = (("eine" if role.endswith("in") else "ein") if lang == "de"
                   else "an" if role[:1].lower() in "aeiou" else "a")
        hero = hero._replace(desc=f"{article} {role if lang == 'de' else role.lower()}")
    flaw = _FLAWS[lang][p.key % len(_FLAWS[lang])]
    if lang == "de":
        question = f"Wird {hero.name} {p.goal}?"
        endings = (f"{hero.name} kann {p.goal} – aber nicht ohne Preis.",
                   f"{foe.name} gewinnt, doch {hero.name} und {friend.name} finden einen "
                   "anderen Weg.",
                   f"{hero.name} gibt das Ziel auf, um {friend.name} zu retten.")
        want_friend, want_foe = f"{hero.name} beistehen", "selbst an das Ziel gelangen"
        premise = (f"{hero.name}, {hero.desc}, will {p.goal}. {foe.name}, {foe.desc}, steht "
                   "im Weg.")
    else:
        question = f"Will {hero.name} {p.goal}?"
        endings = (f"{hero.name} manages to {p.goal}, but at a price.",
                   f"{foe.name} wins, yet {hero.name} and {friend.name} find another way.",
                   f"{hero.name} gives up the goal to save {friend.name}.")
        want_friend, want_foe = f"to stand by {hero.name}", "the prize for themselves"
        premise = (f"{hero.name}, {hero.desc}, must {p.goal}. {foe.name}, {foe.desc}, stands "
                   "in the way.")
    item = s.get("item", "")
    plan = StoryPlan(
        title=f"{hero.name} und {item}" if lang == "de" else f"{hero.name} and {item}",
        premise=premise, protagonist=Protagonist(name=hero.name, want=p.goal, flaw=flaw),
        cast=(CastMember(name=friend.name, role="companion", trait=friend.desc,
                         want=want_friend),
              CastMember(name=foe.name, role="antagonist", trait=foe.desc, want=want_foe)),
        places=tuple(PlanPlace(name=w.name, note=w.note) for w in p.route[:3]),
        central_question=question, beats=tuple(beats), endings=endings, source="offline")
    return plan


def write_plan(req: PlanRequest) -> StoryPlan:
    """The offline plan, completed like a model's (the outline's names kept, overused names
    replaced) — what airs when no model plans the story."""
    own = req.fallback or offline_plan(req)
    return complete_plan(None, PlanRequest(
        theme=req.theme, language=req.language, chapters=req.chapters, outline=req.outline,
        seed=req.seed, offered_names=req.offered_names, avoid=req.avoid, fallback=own,
        keep_beats=req.keep_beats), source="offline")


def _fill(template: str, s: dict[str, str]) -> str:
    text = " ".join(template.format(**s).split())
    return text[:1].upper() + text[1:]
