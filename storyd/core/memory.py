"""Story memory: who and what the story knows, and the budgeted context block for prompts.

Theory of operation
-------------------
One `StoryMemory` per story (a new story gets a fresh one, so no lore leaks between stories).
Each chapter's `MemoryUpdate` is merged by `apply`:

* Names are matched by a key that ignores case, accents, punctuation and a leading "the "
  ("The Black Tower", "black tower", "Black-Tówer" are one place). The first spelling seen
  stays the display name.
* Notes: the latest real note wins; placeholder notes ("", "unknown", "n/a", "...",
  "description", ...) never overwrite a real one. A role is kept unless a new one is given.
  `alive` only ever goes from True to False: a model forgetting to say "dead" is no resurrection.
* Bounds: at most `MAX_ENTITIES` characters, locations and items each; the least recently
  mentioned one is dropped. Events: one per chapter, the last `MAX_EVENTS` kept verbatim; an
  older event is folded into that chapter's summary (when it has none). Summaries beyond
  `MAX_SUMMARIES` and choices beyond `MAX_PATH` are folded into short "earlier" lines.

So memory size is bounded however long the story runs, and `context(budget)` additionally
guarantees `estimate_tokens(result) <= budget` by adding lines in priority order (outline,
last 3 events, the living characters, older summaries, compressed "Earlier:" line, the dead,
locations, items, path) and stopping each section at the first line that would not fit.
The story plan (core/plan_prompts.py) is pinned outside this budget.

Tokens are estimated as ceil(len(text) / 4): characters, not words, because names and
non-English text tokenize worse than the words*1.3 rule of thumb suggests.
"""

from __future__ import annotations

import math
import unicodedata
from typing import Any

import msgspec

from storyd.core.model import Entity, MemoryUpdate, StoryMemoryView
from storyd.errors import StorageError

MAX_ENTITIES = 40
MAX_EVENTS = 12
MAX_SUMMARIES = 60
MAX_PATH = 60
RECENT_EVENTS = 3        # shown verbatim in the context block
RECENT_CHOICES = 5       # path entries shown verbatim
MAX_NAME = 60            # characters kept of a name
MAX_NOTE = 160           # ... of a note
MAX_LINE = 300           # ... of an event, summary or choice
MAX_EARLIER = 600        # ... of a folded "earlier" line
SCHEMA_VERSION = 1

_PLACEHOLDERS = frozenset({
    "", "unknown", "n a", "na", "none", "null", "nil", "description", "no description",
    "tbd", "todo", "not specified", "unspecified", "placeholder", "note", "?",
})


def estimate_tokens(text: str) -> int:
    """Token estimate used for every budget: ceil(characters / 4)."""
    return math.ceil(len(text) / 4)


def name_key(name: str) -> str:
    """The matching key of a name: NFKD without marks, casefolded, punctuation to spaces,
    whitespace collapsed, a leading "the " removed. "" when nothing is left."""
    decomposed = unicodedata.normalize("NFKD", name)
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()
    words = "".join(ch if ch.isalnum() else " " for ch in plain).split()
    if len(words) > 1 and words[0] == "the":
        words = words[1:]
    return " ".join(words)


def is_placeholder(note: str) -> bool:
    """True for notes that say nothing ("", "unknown", "n/a", "...", "description" ...)."""
    return name_key(note) in _PLACEHOLDERS


def _clip(text: str, limit: int) -> str:
    text = " ".join(text.split())
    if limit <= 1:
        return ""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


class _Record(msgspec.Struct, kw_only=True):
    name: str
    note: str = ""
    role: str = ""
    alive: bool = True
    last: int = 0        # chapter that last mentioned it
    tick: int = 0        # global mention counter: the tie-break for "least recently mentioned"


class _State(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    version: int = SCHEMA_VERSION
    outline: str = ""
    characters: list[_Record] = []
    locations: list[_Record] = []
    items: list[_Record] = []
    events: list[tuple[int, str]] = []
    summaries: list[tuple[int, str]] = []
    earlier: str = ""
    path: list[str] = []
    earlier_path: str = ""
    tick: int = 0


class StoryMemory:
    """The mutable memory of one story. Not thread-safe; owned by the director."""

    def __init__(self, outline: str = "") -> None:
        self.outline = outline
        self._kinds: dict[str, dict[str, _Record]] = {
            "characters": {}, "locations": {}, "items": {}}
        self._events: dict[int, str] = {}
        self._summaries: dict[int, str] = {}
        self._earlier = ""
        self._path: list[str] = []
        self._earlier_path = ""
        self._tick = 0

    # -- merging -----------------------------------------------------------------------------
    def apply(self, chapter_number: int, update: MemoryUpdate, summary: str = "") -> None:
        """Merge one chapter's update (see the module docstring for the rules).
        Applying the same chapter again (a regenerated chapter) replaces its event and summary."""
        for kind, entities in (("characters", update.characters),
                               ("locations", update.locations), ("items", update.items)):
            for entity in entities:
                self._merge(self._kinds[kind], chapter_number, entity, kind == "characters")
        if update.event.strip():
            self._events[chapter_number] = _clip(update.event, MAX_LINE)
        if summary.strip():
            self._summaries[chapter_number] = _clip(summary, MAX_LINE)
        self._fold()

    def _merge(self, table: dict[str, _Record], chapter: int, entity: Entity,
               is_character: bool) -> None:
        name = _clip(entity.name, MAX_NAME)
        key = name_key(name)
        if not key:
            return
        self._tick += 1
        note = "" if is_placeholder(entity.note) else _clip(entity.note, MAX_NOTE)
        record = table.get(key)
        if record is None:
            record = _Record(name=name)
            table[key] = record
        if note:
            record.note = note
        if is_character:
            if entity.role.strip():
                record.role = entity.role.strip().casefold()
            if not entity.alive:
                record.alive = False
        record.last = max(record.last, chapter)
        record.tick = self._tick
        while len(table) > MAX_ENTITIES:
            stalest = min(table, key=lambda k: (table[k].last, table[k].tick))
            del table[stalest]

    def _fold(self) -> None:
        for chapter in sorted(self._events)[:-MAX_EVENTS]:
            event = self._events.pop(chapter)
            self._summaries.setdefault(chapter, event)
        for chapter in sorted(self._summaries)[:-MAX_SUMMARIES]:
            text = self._summaries.pop(chapter)
            self._earlier = _fold_line(self._earlier, f"ch{chapter}: {_gist(text)}")
        if len(self._path) > MAX_PATH:
            for old in self._path[:-MAX_PATH]:
                self._earlier_path = _fold_line(self._earlier_path, _gist(old, 5))
            del self._path[:-MAX_PATH]

    def take_choice(self, text: str) -> None:
        """Record the choice that won (the path of the story)."""
        if text.strip():
            self._path.append(_clip(text, MAX_LINE))
            self._fold()

    # -- reading ---------------------------------------------------------------------------
    def _entities(self, kind: str) -> tuple[Entity, ...]:
        records = sorted(self._kinds[kind].values(), key=lambda r: (-r.last, -r.tick))
        return tuple(Entity(name=r.name, note=r.note, role=r.role, alive=r.alive) for r in records)

    def view(self) -> StoryMemoryView:
        """A frozen copy; entities most recently mentioned first, events/summaries oldest first."""
        return StoryMemoryView(
            characters=self._entities("characters"),
            locations=self._entities("locations"),
            items=self._entities("items"),
            events=tuple(self._events[c] for c in sorted(self._events)),
            summaries=tuple(self._summaries[c] for c in sorted(self._summaries)),
        )

    @property
    def path(self) -> tuple[str, ...]:
        return tuple(self._path)

    def context(self, budget_tokens: int, *, include_outline: bool = True) -> str:
        """The memory block for prompts; `estimate_tokens(result) <= budget_tokens` always.

        `include_outline=False` leaves the outline out (a prompt that quotes it separately
        should not pay for it twice)."""
        out = _Budget(budget_tokens * 4)
        outline = out.section("outline", "Outline:")
        recent = out.section("recent", "Recent events:")
        history = out.section("history", "Earlier chapters:")
        sections = {kind: out.section(kind, title) for kind, title in (
            ("characters", "Characters:"), ("locations", "Locations:"), ("items", "Items:"))}
        if include_outline and self.outline.strip():
            # The outline may be an operator's essay: it gets at most half the budget.
            room = min(len(self.outline) + 2, out.room() // 2)
            out.add(outline, "  " + _clip(self.outline, max(room - 3, 0)))
        recent_chapters = sorted(self._events)[-RECENT_EVENTS:]
        for chapter in reversed(recent_chapters):
            out.add(recent, f"- ch{chapter}: {self._events[chapter]}", front=True)
        # the living cast outranks old summaries: a hero never drops out of the prompt
        # because the story grew long (the dead follow the summaries)
        people = self._entities("characters")
        for entity in (e for e in people if e.alive):
            if not out.add(sections["characters"], _entity_line(entity)):
                break
        older = [c for c in sorted(set(self._summaries) | set(self._events))
                 if c not in recent_chapters]
        folded: list[str] = []
        for chapter in reversed(older):   # newest first: they matter most
            text = self._summaries.get(chapter) or self._events[chapter]
            line = f"- ch{chapter}: {text}"
            if len(history.lines) >= 8 or not out.add(history, line, front=True):
                folded.append(f"ch{chapter}: {_gist(text)}")
        earlier = _fold_line(self._earlier, "; ".join(reversed(folded)))
        if earlier:
            line = "  Earlier: " + earlier
            out.add(history, _clip(line, min(len(line), max(out.room() // 3, 40))), front=True)
        for entity in (e for e in people if not e.alive):
            if not out.add(sections["characters"], _entity_line(entity)):
                break
        for kind in ("locations", "items"):
            for entity in self._entities(kind):
                if not out.add(sections[kind], _entity_line(entity)):
                    break
        path = out.section("path", "Choices taken:")
        for text in self._path[-RECENT_CHOICES:]:
            out.add(path, f"- {text}")
        before = _fold_line(self._earlier_path, "; ".join(_gist(t, 5) for t in
                                                         self._path[:-RECENT_CHOICES]))
        if before:
            line = "  Before that: " + before
            out.add(path, _clip(line, min(len(line), max(out.room() - 8, 0))), front=True)
        return out.render()

    # -- persistence ----------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        """Plain JSON-able data; `from_json(m.to_json()).to_json() == m.to_json()`."""
        state = _State(
            outline=self.outline,
            characters=list(self._kinds["characters"].values()),
            locations=list(self._kinds["locations"].values()),
            items=list(self._kinds["items"].values()),
            events=sorted(self._events.items()), summaries=sorted(self._summaries.items()),
            earlier=self._earlier, path=list(self._path), earlier_path=self._earlier_path,
            tick=self._tick,
        )
        result: dict[str, Any] = msgspec.to_builtins(state)
        return result

    @classmethod
    def from_json(cls, data: Any) -> StoryMemory:
        """Rebuild from `to_json` data. Raises StorageError naming the bad path."""
        try:
            state = msgspec.convert(data, _State)
        except msgspec.ValidationError as exc:
            raise StorageError(f"stored story memory is invalid: {exc}") from exc
        if state.version != SCHEMA_VERSION:
            raise StorageError(f"stored story memory has version {state.version}, "
                               f"this storyd reads version {SCHEMA_VERSION}")
        memory = cls(state.outline)
        for kind in ("characters", "locations", "items"):
            records: list[_Record] = getattr(state, kind)
            memory._kinds[kind] = {name_key(r.name): r for r in records if name_key(r.name)}
        memory._events = dict(state.events)
        memory._summaries = dict(state.summaries)
        memory._earlier, memory._earlier_path = state.earlier, state.earlier_path
        memory._path, memory._tick = list(state.path), state.tick
        return memory


def _gist(text: str, words: int = 8) -> str:
    parts = text.rstrip(".!?… ").split()
    return " ".join(parts[:words]) + ("…" if len(parts) > words else "")


def _fold_line(existing: str, addition: str) -> str:
    """Append to a folded line, dropping its oldest part when it grows past MAX_EARLIER."""
    joined = "; ".join(p for p in (existing, addition) if p)
    if len(joined) > MAX_EARLIER:
        joined = "…" + joined[len(joined) - MAX_EARLIER + 1:]
    return joined


def _entity_line(entity: Entity) -> str:
    details = [d for d in (entity.role, entity.note, "" if entity.alive else "DEAD") if d]
    return f"- {entity.name}" + (f" ({'; '.join(details)})" if details else "")


class _Section:
    def __init__(self, title: str) -> None:
        self.title = title
        self.lines: list[str] = []


class _Budget:
    """Collects lines per section while the rendered text stays within `limit` characters."""

    def __init__(self, limit: int) -> None:
        self.limit = max(limit, 0)
        self.used = 0
        self.sections: list[_Section] = []

    def section(self, key: str, title: str) -> _Section:
        section = _Section(title)
        self.sections.append(section)
        return section

    def room(self) -> int:
        return self.limit - self.used

    def add(self, section: _Section, line: str, *, front: bool = False) -> bool:
        # Each line costs its length plus a newline; a section's first line also pays the title.
        cost = len(line) + 1 + (0 if section.lines else len(section.title) + 1)
        if not line.strip() or self.used + cost > self.limit + 1:   # +1: no newline at the end
            return False
        section.lines.insert(0, line) if front else section.lines.append(line)
        self.used += cost
        return True

    def render(self) -> str:
        return "\n".join(line for s in self.sections if s.lines for line in (s.title, *s.lines))
