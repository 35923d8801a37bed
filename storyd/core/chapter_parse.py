"""Reading a model's chapter answer: JSON found in whatever surrounds it (fences, prose,
small syntax faults), the older TITLE:/CONTENT:/CHOICES: layout, or plain prose — then
validated and repaired into a ChapterDraft (`parse_chapter`). storyd.core.prompts has the
theory of operation and re-exports the public names.

Pure: no I/O, no clocks.
"""

from __future__ import annotations

import difflib
import json
import re
from typing import Any

from storyd.core.model import ChapterDraft, ChapterRequest, DialogueLine, Entity, MemoryUpdate
from storyd.errors import ProviderOutputError

ROLES = frozenset({"narrator", "hero", "heroine", "villain", "sidekick", "elder"})
CHOICE_LIMIT = 140
CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")
FILLER = re.compile(r"^(?:(?:option|choice|wahl|auswahl|answer)\s*[a-f1-6]?|\.+|…+|-+|"
                     r"tbd|todo|n/?a|none|\?+|[a-f1-6])$", re.IGNORECASE)
CHOICE_PREFIX = re.compile(
    r"^\s*(?:[-*•]\s*|![a-fA-F1-6]\b[).:\]-]?\s*|[a-fA-F1-6]\s*[).:\]-]\s*|\([a-fA-F1-6]\)\s*)")


# ---------------------------------------------------------------- parsing

def strip_reasoning(text: str) -> str:
    return re.sub(r"<think>.*?</think>", "", text, flags=re.DOTALL | re.IGNORECASE)


def _balanced_object(text: str) -> str | None:
    """The first balanced {...} in text, aware of JSON strings."""
    start = text.find("{")
    while start != -1:
        depth, in_str, esc = 0, False, False
        for i in range(start, len(text)):
            c = text[i]
            if in_str:
                esc = (c == "\\") and not esc
                if c == '"' and not esc:
                    in_str = False
                elif c != "\\":
                    esc = False
            elif c == '"':
                in_str = True
            elif c == "{":
                depth += 1
            elif c == "}":
                depth -= 1
                if depth == 0:
                    return text[start:i + 1]
        start = text.find("{", start + 1)
    return None


def _repair(text: str) -> str:
    text = text.replace("\u201c", '"').replace("\u201d", '"').replace("\u201e", '"')
    text = text.replace("\u2018", "'").replace("\u2019", "'")
    return re.sub(r",\s*([}\]])", r"\1", text)


def _loads(text: str) -> dict[str, Any] | None:
    for candidate in (text, _repair(text)):
        try:
            value = json.loads(candidate, strict=False)   # raw newlines inside strings too
        except ValueError:
            continue
        if isinstance(value, dict):
            return value
    return None


def close_truncated(text: str) -> str | None:
    """A JSON object cut off mid-way (a model that ran out of tokens) closed where it stops:
    an open string ended, a dangling key or comma dropped, open arrays and objects closed.
    None when `text` holds no object start."""
    start = text.find("{")
    if start == -1:
        return None
    stack: list[str] = []
    in_str = esc = False
    for c in text[start:]:
        if in_str:
            if esc:
                esc = False
            elif c == "\\":
                esc = True
            elif c == '"':
                in_str = False
        elif c == '"':
            in_str = True
        elif c in "{[":
            stack.append("}" if c == "{" else "]")
        elif c in "}]" and stack:
            stack.pop()
    body = (text[start:] + ('"' if in_str else "")).rstrip()
    if stack and stack[-1] == "}":     # a key without its value: dropped with its comma
        body = re.sub(r'(,\s*|(?<=\{)\s*)"(?:[^"\\]|\\.)*"\s*:?\s*$', "", body)
    body = re.sub(r"[,:]\s*$", "", body)
    return body + "".join(reversed(stack))


def extract_json(content: str, *, partial: bool = False) -> dict[str, Any] | None:
    """The JSON object in a model answer, tolerating fences, prose and small syntax faults;
    with `partial`, also an answer cut off before its end (`close_truncated`)."""
    text = strip_reasoning(content).strip()
    candidates = [text]
    candidates += re.findall(r"```(?:json|JSON)?\s*(.*?)```", text, flags=re.DOTALL)
    closed = close_truncated(text) if partial else None
    first = _balanced_object(text)
    if closed and text.lstrip().startswith("{") and (first is None or not text.lstrip()
                                                     .startswith(first)):
        candidates.append(closed)    # the whole answer, cut off: before any inner object
    for cand in list(candidates):
        obj = _balanced_object(cand) or _balanced_object(_repair(cand))
        if obj:
            candidates.append(obj)
    for cand in candidates:
        value = _loads(cand.strip())
        if value is not None:
            return value
    return _loads(closed) if closed else None


_LABELS = {"title": r"TITLE|TITEL", "text": r"CONTENT|TEXT|INHALT",
           "choices": r"CHOICES|OPTIONS|AUSWAHL|WAHLM[ÖO]GLICHKEITEN",
           "tags": r"MEMORY_TAGS|MEMORY|TAGS"}


def parse_plain(content: str) -> dict[str, Any] | None:
    """The older TITLE:/CONTENT:/CHOICES:/MEMORY_TAGS: layout as a dict, or None."""
    text = strip_reasoning(content).replace("**", "")
    label = "|".join(_LABELS.values())
    pieces = re.split(rf"^\s*#*\s*({label})\s*:\s*", text, flags=re.MULTILINE | re.IGNORECASE)
    found: dict[str, str] = {}
    for name_raw, body in zip(pieces[1::2], pieces[2::2], strict=False):
        for key, pattern in _LABELS.items():
            if re.fullmatch(pattern, name_raw, flags=re.IGNORECASE) and key not in found:
                found[key] = body.strip()
    if "title" not in found or "text" not in found:
        return None
    choices = [ln for ln in found.get("choices", "").splitlines() if ln.strip()]
    memory: dict[str, Any] = {"characters": [], "places": [], "items": []}
    for line in found.get("tags", "").splitlines():
        key, _, rest = line.partition(":")
        key = key.strip(" -*").lower()
        target = {"characters": "characters", "charaktere": "characters", "locations": "places",
                  "places": "places", "orte": "places", "items": "items",
                  "gegenstände": "items"}.get(key)
        if target:
            for entry in re.split(r",(?![^()]*\))", rest):
                m = re.match(r"\s*([^()]+?)\s*(?:\(([^)]*)\))?\s*$", entry)
                if m and m.group(1).strip():
                    memory[target].append({"name": m.group(1), "note": m.group(2) or ""})
    return {"title": found["title"].splitlines()[0], "text": " ".join(found["text"].split()),
            "choices": choices, "memory": memory}


_HEADING = re.compile(r"^\s*(?:#+\s*|\*\*)?(?:(?:chapter|kapitel)\s*\d+\s*[:.—-]\s*)?"
                      r"(.+?)(?:\*\*)?\s*$", re.IGNORECASE)


def parse_prose(content: str, words: int) -> dict[str, Any] | None:
    """A chapter written as plain prose (a model that ignored the format): an optional short
    heading line, the story, and a trailing list ("A) …", "- …", "1. …") as the choices.
    None when the answer holds JSON fragments or is not a chapter (`is_a_chapter`)."""
    text = strip_reasoning(content).replace("```", "").strip()
    if "{" in text or not text:
        return None
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    choices: list[str] = []
    while lines and (m := CHOICE_PREFIX.match(lines[-1])) is not None and m.end() > 0:
        choices.insert(0, lines.pop())
    if choices and lines and lines[-1].endswith((":", "?")) and len(lines[-1].split()) <= 10:
        lines.pop()          # "What will Mira do?" / "Choices:" above the list
    title = ""
    if len(lines) > 1 and len(lines[0].split()) <= 10 and not lines[0].endswith((".", "!", "?")):
        m = _HEADING.match(lines.pop(0))
        title = m.group(1).strip(" *#") if m else ""
    story = " ".join(lines)
    if not is_a_chapter(story):
        return None
    return {"title": title, "text": story, "choices": choices}


# ---------------------------------------------------------------- validation

# the placeholders of the prompt's JSON template: a small model copies them instead of writing
TEMPLATE_VALUES = frozenset({"short title", "the chapter", "one sentence", "title", "text",
                             "one line what happened", "the story itself", "chapter"})

MIN_WORDS, MIN_SENTENCES = 15, 2    # what makes a text a chapter (any length beyond is fine)


def is_a_chapter(text: str) -> bool:
    """A few sentences of story: at least MIN_SENTENCES sentences and MIN_WORDS words.
    Length is otherwise advice: a short chapter airs as the model wrote it."""
    return len(text.split()) >= MIN_WORDS and len(sentences(text)) >= MIN_SENTENCES

def sentences(text: str) -> list[str]:
    """Sentences, each with its closing quote (an older split dropped it from the text)."""
    return [s for s in _SENTENCE_GAP.split(text.strip()) if s]


_SENTENCE_GAP = re.compile(r"(?<=[.!?…][\"'»”“])\s+|(?<=[.!?…])\s+")


def is_junk(choice: str) -> bool:
    """Not a choice a viewer could vote for: a run-on non-word (what a tiny model writes when
    it drifts: "Flawespeirisrhynaiakdj…"), or hardly any letters."""
    letters = sum(ch.isalpha() for ch in choice)
    return (letters < 3 or letters < len(choice) // 2 or any(c in choice for c in "{}[]<>`_")
            or choice.rstrip().endswith(":")     # a label the model started: "Summary_Ending:"
            or not choice[:1].isalnum() and choice[:1] not in "\"'„“«¿¡"
            or any(len(w.strip(".,;:!?\"'()")) > 24 for w in choice.split()))


def tidy(value: Any, limit: int = 400) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        value = str(value)
    return " ".join(CONTROL_CHARS.sub(" ", value).split())[:limit]


def choice_text(value: Any) -> str:
    if isinstance(value, dict):
        value = next((value[k] for k in ("text", "choice", "label", "option", "action",
                                         "description", "name") if value.get(k)), "")
    text = tidy(value, 400)
    text = CHOICE_PREFIX.sub("", text).strip().strip("\"'«»“”").strip()
    if len(text) > CHOICE_LIMIT:
        text = text[:CHOICE_LIMIT].rsplit(" ", 1)[0].rstrip(",;:") + "…"
    return text


def _entities(raw: Any, *, characters: bool) -> tuple[Entity, ...]:
    out: list[Entity] = []
    for item in raw if isinstance(raw, list) else []:
        if isinstance(item, str):
            item = {"name": item}
        if not isinstance(item, dict):
            continue
        name = tidy(item.get("name"), 80)
        if not name:
            continue
        role = tidy(item.get("role"), 20).lower() if characters else ""
        alive = item.get("alive", True)
        if isinstance(alive, str):
            alive = alive.strip().lower() not in ("false", "no", "dead", "0")
        if item.get("dead") is True or tidy(item.get("status")).lower() == "dead":
            alive = False
        out.append(Entity(name=name, note=tidy(item.get("note") or item.get("description"), 200),
                          role=role if role in ROLES else "", alive=bool(alive)))
    return tuple(out)


def norm(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", text.casefold()).split())


def title_from_text(text: str) -> str:
    """A short title taken from the chapter's first sentence (for answers without one)."""
    first = sentences(text)[0] if text.strip() else ""
    words = re.sub(r"[^\w\s'-]", " ", first).split()[:6]
    return " ".join(words).strip().capitalize()[:120] or "Untitled"


def parse_chapter(content: str, req: ChapterRequest) -> ChapterDraft:
    """Parse a model's chapter answer and repair what can be repaired.

    Repairs: fences, prose and small syntax faults around the JSON; a missing title is
    taken from the text; the text is never cut (length is advice to the model); choices lose
    letter/number prefixes, placeholders, empties and duplicates, and extra choices are
    trimmed — so the draft may hold FEWER than `req.n_choices` choices (see
    `missing_choices`), never more. A closing chapter's stray choices are dropped.
    What was repaired goes to `notes` ("2 of 3 choices repeated another choice").
    Raises ProviderOutputError only when nothing usable is there (no parsable answer, no
    chapter text).
    """
    data = (extract_json(content) or parse_plain(content) or parse_prose(content, req.words)
            or _cut_off(content))
    if data is None:
        raise ProviderOutputError("answer is neither a JSON object nor the TITLE/CONTENT/CHOICES "
                                  "layout, nor a story in prose")
    raw_text = str(data.get("text") or data.get("content") or "")
    # stray brackets and commas at the edges (a small model's JSON residue) are no story
    text = " ".join(CONTROL_CHARS.sub(" ", raw_text).split()).strip(" {}[],;:")
    if norm(text) in TEMPLATE_VALUES:
        raise ProviderOutputError(f"the answer copied the template: \"text\" is {text!r}")
    if not text:
        raise ProviderOutputError("answer has no chapter text")
    title = re.sub(r"^(?:(?:BEGIN|END)\s+[A-Z]+\b|(?i:chapter|kapitel)\b)\s*\d*\s*[:.—–-]?\s*",
                   "", tidy(data.get("title"), 120)).strip(" {}[],;:")
    if norm(title) in TEMPLATE_VALUES:
        title = ""
    title = title or title_from_text(text)
    raw_choices: Any = next((data[k] for k in ("choices", "options", "decisions", "choice",
                                          "next_choices") if data.get(k)), [])
    if isinstance(raw_choices, dict):
        raw_choices = [raw_choices[k] for k in sorted(raw_choices)]
    if isinstance(raw_choices, str):
        raw_choices = [ln for ln in raw_choices.splitlines() if ln.strip()]
    if not isinstance(raw_choices, list):
        raw_choices = []      # a number, a bool: no choices (asked for in a follow-up)
    choices: list[str] = []
    twins = fillers = 0
    for value in raw_choices:
        c = choice_text(value)
        if not c or FILLER.match(c) or is_junk(c):
            fillers += 1
        elif any(similar(c, o) for o in choices):
            twins += 1
        else:
            choices.append(c)
    notes: list[str] = []
    if req.closing:
        choices = []   # a closing chapter passes; stray choices are dropped
    else:
        if twins:
            notes.append(f"{twins} of {len(raw_choices)} choices repeated another choice")
        if fillers:
            notes.append(f"{fillers} of {len(raw_choices)} choices were empty or placeholders")
        if 0 < len(raw_choices) < req.n_choices:
            notes.append(f"{len(raw_choices)} choice{'s' * (len(raw_choices) != 1)} sent "
                         f"for {req.n_choices}")
        elif not raw_choices:
            notes.append(f"no choices sent (wanted {req.n_choices})")
        if len(choices) > req.n_choices:
            notes.append(f"{len(choices)} choices for {req.n_choices}: the first "
                         f"{req.n_choices} kept")
    choices = choices[:req.n_choices]
    mem = data.get("memory") or data.get("memory_tags") or {}
    if not isinstance(mem, dict):
        mem = {}
    memory = MemoryUpdate(
        characters=_entities(mem.get("characters"), characters=True),
        locations=_entities(mem.get("places", mem.get("locations")), characters=False),
        items=_entities(mem.get("items"), characters=False),
        event=tidy(mem.get("event") or data.get("event"), 200))
    raw_lines = data.get("lines")
    lines = tuple(DialogueLine(text=tidy(ln.get("text"), 600),
                               speaker=tidy(ln.get("speaker"), 80))
                  for ln in (raw_lines if isinstance(raw_lines, list) else [])
                  if isinstance(ln, dict) and tidy(ln.get("text")))
    return ChapterDraft(title=title, text=text, choices=tuple(choices), memory=memory,
                        summary=tidy(data.get("summary"), 300), lines=lines,
                        notes=tuple(notes))


def _cut_off(content: str) -> dict[str, Any] | None:
    """A JSON answer that stopped after its whole "text" (a model that ran out of tokens in
    the choices): the chapter as far as it is complete — its text whole, never cut here —
    and the choices then asked for in a follow-up. None when the text itself was cut."""
    data = extract_json(content, partial=True)
    text = data.get("text") if data else None
    if not isinstance(text, str) or not text.strip():
        return None
    tail = json.dumps(text[-20:], ensure_ascii=False)[1:-1]
    return data if f'{tail}"' in content else None


def similar(a: str, b: str) -> bool:
    na, nb = norm(a), norm(b)
    return bool(na) and (na == nb or difflib.SequenceMatcher(None, na, nb).ratio() >= 0.85)
