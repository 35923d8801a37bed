"""Reading a model's plan answer: never refused, always a whole StoryPlan.

`parse_plan` takes whatever came back — JSON under the schema, JSON with other key names,
half a plan, a cast of 40, prose — and `complete_plan` repairs it:

* the operator's outline wins: every person, place and the goal it names is in the plan
  (its first person is the protagonist), whatever the model wrote;
* a cast is 2–5 people (outline people first, then an antagonist, then the model's order),
  places 2–4, endings 2–3, and there is exactly one beat per planned chapter, with the
  kinds of `plan.arc_shape` (the model's last beat stays the resolution);
* overused model names (core/craft.py) are replaced by offered fresh names everywhere in
  the plan, unless the outline asked for them;
* whatever is still missing comes from `PlanRequest.fallback` (the offline storyteller's plan
  from the outline and the theme), so no field is ever empty.

Each repair is noted in `StoryPlan.repairs` for the operator.

Pure: no I/O, no clocks.
"""

from __future__ import annotations

import re
from typing import Any

from storyd.core.chapter_parse import (
    CONTROL_CHARS,
    extract_json,
    norm,
    sentences,
    strip_reasoning,
)
from storyd.core.craft import is_overused_name
from storyd.core.memory import name_key
from storyd.core.outline_facts import OutlineFacts, read_outline
from storyd.core.plan import (
    ANTAGONIST_ROLES,
    BEAT_HINTS,
    MAX_CAST,
    MAX_ENDINGS,
    MAX_PLACES,
    MIN_CAST,
    MIN_ENDINGS,
    MIN_PLACES,
    Beat,
    CastMember,
    PlanPlace,
    Protagonist,
    StoryPlan,
    arc_shape,
)
from storyd.core.plan_edit import as_answer, bare_plan, renamed
from storyd.core.plan_prompts import PlanRequest

NAME_LIMIT, SHORT_LIMIT, LONG_LIMIT = 60, 160, 400


# the placeholders of the plan prompt's JSON template (a small model copies them)
PLACEHOLDERS = frozenset({"short title", "two sentences", "what they want", "one flaw",
                          "one trait", "one line", "the yes no question the ending answers",
                          "companion antagonist mentor", "name", "title", "premise"})


def _s(value: Any, limit: int = SHORT_LIMIT) -> str:
    if isinstance(value, (list, tuple)):
        value = "; ".join(str(v) for v in value if v)
    if value is None or isinstance(value, dict):
        return ""
    if norm(str(value)) in PLACEHOLDERS or any(len(w) > 30 for w in str(value).split()):
        return ""         # a placeholder, or the nonsense a tiny model writes when it drifts
    text = " ".join(CONTROL_CHARS.sub(" ", str(value)).split())
    if len(text) > limit:
        text = text[:limit - 1].rsplit(" ", 1)[0].rstrip(",;:") + "…"
    return text


def _get(data: dict[str, Any], *keys: str) -> Any:
    for key in keys:
        for k, v in data.items():
            if k.casefold().replace(" ", "_").replace("-", "_") == key and v not in (None, ""):
                return v
    return None


def _person(raw: Any) -> dict[str, str]:
    if isinstance(raw, str):
        name, _, rest = raw.partition(",")
        name, _, more = name.partition(" - ")
        return {"name": _s(name.split(" (")[0], NAME_LIMIT), "role": _s(rest or more, 40)}
    if not isinstance(raw, dict):
        return {}
    return {"name": _s(_get(raw, "name", "character", "who"), NAME_LIMIT),
            "role": _s(_get(raw, "role", "rolle", "relation", "job", "function"), 40),
            "trait": _s(_get(raw, "trait", "traits", "eigenschaft", "personality",
                             "description"), 80),
            "want": _s(_get(raw, "want", "wants", "goal", "desire", "motivation", "ziel"), 120),
            "flaw": _s(_get(raw, "flaw", "weakness", "schwäche", "fehler"), 120)}


def _texts(raw: Any, limit: int) -> list[str]:
    if isinstance(raw, str):
        raw = [ln for ln in re.split(r"\n+|(?<=[.!?])\s+(?=\d+[.)])", raw) if ln.strip()]
    if isinstance(raw, dict):
        raw = [raw[k] for k in raw]
    out: list[str] = []
    for item in raw if isinstance(raw, list) else []:
        if isinstance(item, dict):
            item = _get(item, "summary", "beat", "description", "text", "event", "what",
                        "ending", "outcome", "name") or ""
        text = re.sub(r"^\s*(?:(?:chapter|kapitel|beat)\s*\d+\s*[:.)-]|\d+\s*[.):-])\s*", "",
                      _s(item, limit), flags=re.IGNORECASE)
        if text:
            out.append(text)
    return out


def _same(a: str, b: str) -> bool:
    ka, kb = name_key(a), name_key(b)
    return bool(ka and kb) and (ka == kb or ka in kb.split() or kb in ka.split()
                                or set(ka.split()) == set(kb.split()))


def parse_plan(content: str, req: PlanRequest) -> StoryPlan:
    """The plan in a model's answer, completed (see the module docstring); never raises."""
    data = extract_json(content, partial=True)    # a small model may run out of tokens
    if data is not None and isinstance(data.get("plan"), dict):
        data = data["plan"]
    prose = "" if data is not None else " ".join(strip_reasoning(content).split())
    if prose.startswith(("{", "[")):     # broken JSON is no story to read names from
        prose = ""
    return complete_plan(data, req, prose=prose)


def complete_plan(data: dict[str, Any] | None, req: PlanRequest, *, prose: str = "",
                  source: str = "") -> StoryPlan:
    """A whole plan from `data` (a model's JSON, or None), the outline and the fallback."""
    fb = req.fallback or bare_plan(req)
    facts = read_outline(req.outline)
    repairs: list[str] = []
    quiet = False           # the fallback itself is the answer: its gaps are no repairs
    if data is None:
        data = {}
        if prose:
            said = read_outline(prose)
            data = {"premise": " ".join(sentences(prose)[:2]),
                    "protagonist": {"name": said.people[0].name} if said.people else {},
                    "cast": [{"name": p.name, "role": p.role} for p in said.people[1:]],
                    "places": list(said.places)}
            repairs.append("the answer was prose: read what it named, completed the rest "
                           "from the outline and the theme")
        else:
            if source != "offline":
                repairs.append("no plan came back: written from the outline and the theme")
            data = as_answer(fb)
            quiet = True
    hero = _person(_get(data, "protagonist", "hero", "heroine", "main_character",
                        "protagonistin", "held", "heldin") or {})
    raw_cast = _get(data, "cast", "characters", "supporting_cast", "figuren", "personen") or []
    cast = [p for p in (_person(c) for c in (raw_cast if isinstance(raw_cast, list) else []))
            if p.get("name")]
    if not hero.get("name") and cast:
        for i, c in enumerate(cast):
            if c.get("role", "").casefold() in ("protagonist", "hero", "heroine", "held",
                                                "heldin", "main character"):
                hero = cast.pop(i)
                break
    # the outline's people: the first is the protagonist, the others stay in the cast
    told = list(facts.people)
    renames: dict[str, str] = {}
    if told and not _same(hero.get("name", ""), told[0].name):
        at = next((i for i, c in enumerate(cast) if _same(c["name"], told[0].name)), None)
        chosen = cast.pop(at) if at is not None else {}
        old = hero.get("name", "")
        if old and any(_same(old, p.name) for p in told[1:]):   # another outline person
            role = hero.get("role", "")
            cast.insert(0, {**hero, "role": "companion" if not role or role.casefold() in (
                "protagonist", "hero", "heroine") else role})
        elif old:     # the model's protagonist is the outline's, under another name
            renames[old] = told[0].name
            repairs.append(f"protagonist {old!r} → {told[0].name!r} (the outline's)")
        hero = {**chosen, "name": told[0].name,
                "want": chosen.get("want") or hero.get("want", ""),
                "flaw": chosen.get("flaw") or hero.get("flaw", "")}
    if not hero.get("name"):
        hero = {"name": fb.protagonist.name}
        repairs.append("no protagonist: the fallback's")
    elif told and hero["name"] != told[0].name and _same(hero["name"], told[0].name):
        hero["name"] = told[0].name       # the outline's spelling ("Jonas Falk", not "Jonas")
    for named in told[1:]:
        found = next((c for c in cast if _same(c["name"], named.name)), None)
        if found is None:
            cast.insert(0, {"name": named.name, "role": named.role or "companion"})
            repairs.append(f"added {named.name!r} from the outline to the cast")
        else:
            found["name"] = named.name
    cast = _dedupe([c for c in cast if not _same(c["name"], hero["name"])])
    if quiet and told[1:]:    # the outline's companions take the places of the theme's
        stock = {c.name for c in fb.companions()}
        cast = [c for c in cast if c["name"] not in stock]
    cast, cut = _fit_cast(cast, told, fb)
    repairs += cut
    moved = _retarget(fb, cast)
    fb = renamed(fb, moved) if moved else fb
    if quiet:
        renames.update(moved)
    # names the outline did not ask for, overused by models: fresh ones
    offered = [n for n in req.offered_names
               if not any(_same(n, x["name"]) for x in (hero, *cast))]
    for person in (hero, *cast):
        if is_overused_name(person["name"], req.language) and not any(
                _same(person["name"], p.name) for p in told) and offered:
            new = offered.pop(0)
            renames[person["name"]] = new
            repairs.append(f"overused name {person['name']!r} → {new!r}")
            person["name"] = new
    if name_key(fb.protagonist.name) != name_key(hero["name"]):
        # the fallback's texts speak of its own protagonist: they now speak of this one
        fb = renamed(fb, {fb.protagonist.name: hero["name"]})
    protagonist = Protagonist(
        name=hero["name"], want=hero.get("want") or fb.protagonist.want,
        flaw=hero.get("flaw") or fb.protagonist.flaw)
    if facts.goal and not _mentions(protagonist.want, facts.goal):
        protagonist = Protagonist(name=protagonist.name, want=_s(facts.goal, 120),
                                  flaw=protagonist.flaw)
    members = tuple(CastMember(name=c["name"], role=c.get("role") or "companion",
                               trait=c.get("trait", ""), want=c.get("want", "")) for c in cast)
    places = _places(data, facts, fb, repairs)
    question = _s(_get(data, "central_question", "question", "dramatic_question",
                       "zentrale_frage", "frage"), 200)
    if not question:
        question = fb.central_question
        repairs.append("no central question: the fallback's")
    elif facts.goal and not _mentions(question, facts.goal) and _mentions(
            fb.central_question, facts.goal):
        repairs.append(f"central question {question!r} → one about the outline's goal")
        question = fb.central_question
    elif not question.endswith("?"):
        question = question.rstrip(".!") + "?"
    beats = _beats(_texts(_get(data, "beats", "chapters", "outline", "plot", "kapitel",
                               "chapter_beats"), 300), req, fb, repairs)
    endings = _texts(_get(data, "endings", "possible_endings", "enden", "ending"), 240)
    if len(endings) < MIN_ENDINGS:
        endings += [e for e in fb.endings if e not in endings][:MIN_ENDINGS - len(endings)]
    plan = StoryPlan(
        title=_s(_get(data, "title", "titel", "story_title"), 100) or fb.title,
        premise=_s(_get(data, "premise", "logline", "synopsis", "summary", "prämisse"),
                   LONG_LIMIT) or fb.premise,
        protagonist=protagonist, cast=members, places=places, central_question=question,
        beats=beats, endings=tuple(endings[:MAX_ENDINGS]),
        source=source, repairs=tuple(r for r in repairs if not quiet or not _is_fill(r)))
    return renamed(plan, renames) if renames else plan


def _is_fill(note: str) -> bool:
    return note.startswith(("no ", "cast completed", "places completed"))


def _retarget(fb: StoryPlan, cast: list[dict[str, str]]) -> dict[str, str]:
    """The fallback's texts about its companion and antagonist, moved to this plan's own
    companion and antagonist when the fallback's are not in the cast (its beats may fill
    gaps of this plan and must not speak of people who are not in it)."""
    renames: dict[str, str] = {}
    mine_foe = next((c["name"] for c in cast if _is_foe(c.get("role", ""))), "")
    mine_friends = [c["name"] for c in cast if not _is_foe(c.get("role", ""))]
    foe = fb.antagonist()
    if foe is not None and mine_foe and not any(_same(foe.name, c["name"]) for c in cast):
        renames[foe.name] = mine_foe
    friends = [c for c in fb.companions() if not any(_same(c.name, m["name"]) for m in cast)]
    for old, new in zip(friends, [m for m in mine_friends
                                  if not any(_same(m, c.name) for c in fb.cast)], strict=False):
        renames[old.name] = new
    return renames


def _mentions(text: str, goal: str) -> bool:
    words = [w for w in name_key(goal).split() if len(w) >= 4]
    have = set(name_key(text).split())
    return bool(words) and sum(w in have for w in words) * 2 >= len(words)


def _dedupe(cast: list[dict[str, str]]) -> list[dict[str, str]]:
    out: list[dict[str, str]] = []
    for c in cast:
        if not any(_same(c["name"], o["name"]) for o in out):
            out.append(c)
    return out


def _is_foe(role: str) -> bool:
    return any(w in ANTAGONIST_ROLES for w in role.casefold().replace("-", " ").split())


def _fit_cast(cast: list[dict[str, str]], told: list[Any], fb: StoryPlan
              ) -> tuple[list[dict[str, str]], list[str]]:
    notes: list[str] = []
    outline_people = [c for c in cast if any(_same(c["name"], p.name) for p in told)]
    foes = [c for c in cast if _is_foe(c.get("role", "")) and c not in outline_people]
    rest = [c for c in cast if c not in outline_people and c not in foes[:1]]
    ordered = list(cast)
    if len(ordered) > MAX_CAST:
        ordered = outline_people + foes[:1] + rest
        notes.append(f"a cast of {len(ordered)} cut to {MAX_CAST}")
        keep = ordered[:MAX_CAST]
        ordered = [c for c in cast if c in keep]       # the model's order, outline first
        ordered.sort(key=lambda c: c not in outline_people)
    if not any(_is_foe(c.get("role", "")) for c in ordered):
        foe = fb.antagonist()
        if foe is not None and not any(_same(foe.name, c["name"]) for c in ordered):
            if len(ordered) >= MAX_CAST:
                ordered.pop()
            ordered.append({"name": foe.name, "role": foe.role, "trait": foe.trait,
                            "want": foe.want})
            notes.append(f"no antagonist: added {foe.name!r}")
    for extra in fb.cast:
        if len(ordered) >= MIN_CAST:
            break
        if not any(_same(extra.name, c["name"]) for c in ordered):
            ordered.append({"name": extra.name, "role": extra.role, "trait": extra.trait,
                            "want": extra.want})
            notes.append(f"cast completed with {extra.name!r}")
    return ordered, notes


def _places(data: dict[str, Any], facts: OutlineFacts, fb: StoryPlan,
            repairs: list[str]) -> tuple[PlanPlace, ...]:
    raw = _get(data, "places", "locations", "settings", "orte", "schauplätze") or []
    found: list[PlanPlace] = [PlanPlace(name=_s(p, NAME_LIMIT)) for p in facts.places]
    for item in raw if isinstance(raw, list) else []:
        if isinstance(item, dict):
            place = PlanPlace(name=_s(_get(item, "name", "place", "ort"), NAME_LIMIT),
                              note=_s(_get(item, "note", "description", "beschreibung"), 120))
        else:
            name, _, note = _s(item, 200).partition(" - ")
            place = PlanPlace(name=_s(name.split(":")[0], NAME_LIMIT), note=note)
        if not place.name:
            continue
        twin = next((i for i, f in enumerate(found) if _same(f.name, place.name)), None)
        if twin is None:
            found.append(place)
        elif not found[twin].note:
            found[twin] = PlanPlace(name=found[twin].name, note=place.note)
    if len(found) > MAX_PLACES:
        repairs.append(f"{len(found)} places cut to {MAX_PLACES}")
        found = found[:MAX_PLACES]
    for extra in fb.places:
        if len(found) >= MIN_PLACES:
            break
        if not any(_same(extra.name, f.name) for f in found):
            found.append(extra)
            repairs.append(f"places completed with {extra.name!r}")
    return tuple(found)


def _beats(texts: list[str], req: PlanRequest, fb: StoryPlan,
           repairs: list[str]) -> tuple[Beat, ...]:
    n = max(req.chapters, len(req.keep_beats) + 1)
    kinds = arc_shape(n)
    keep = list(req.keep_beats[:n - 1])
    want = n - len(keep)
    if texts and len(texts) != want:
        repairs.append(f"{len(texts)} beats for {want} chapters")
    if len(texts) > want:    # too many: keep the opening ones and the model's ending
        texts = texts[:want - 1] + texts[-1:] if want > 1 else texts[-1:]
    elif 1 < len(texts) < want:   # too few: the last stays the ending, the gap is filled
        texts = texts[:-1] + [""] * (want - len(texts)) + texts[-1:]
    texts += [""] * (want - len(texts))
    beats = list(keep)
    for i, text in enumerate(texts):
        number = len(keep) + i + 1
        kind = kinds[number - 1]
        if not text:
            old = fb.beat(number)
            text = old.summary if old is not None and old.kind == kind else BEAT_HINTS[kind]
        beats.append(Beat(chapter=number, kind=kind, summary=text))
    return tuple(beats)


