"""The story state machine (pure).

Theory of operation: the show is always in one of seven states.

    idle → generating → presenting → voting → result → generating → …
                                           ↘ finishing → presenting(closing) → ended

Operator commands and internal events are *inputs*; `TRANSITIONS` maps (state, input) to
the next state. Anything not in the table is refused with a message that says why, so a
`close` with no vote running, or a `start` while a story plays, can never race the loop.
`finish` and `end` are accepted in every live state. The director (services/director.py)
owns the only StoryMachine and is the only caller; it performs the side effects.
"""

from __future__ import annotations

from typing import Final, Literal

from storyd.errors import RefusedError

State = Literal["idle", "generating", "presenting", "voting", "result", "finishing", "ended"]
Input = Literal[
    "start", "chapter_ready", "closing_ready", "presented", "vote_closed", "result_shown",
    "finish", "close", "next", "end",
]

LIVE: Final = frozenset({"generating", "presenting", "voting", "result", "finishing"})

# (state, input) -> next state.  Data, not nested ifs.
TRANSITIONS: Final[dict[tuple[str, str], str]] = {
    ("idle", "start"): "generating",
    ("ended", "start"): "generating",
    ("generating", "chapter_ready"): "presenting",
    ("finishing", "closing_ready"): "presenting",
    ("presenting", "presented"): "voting",
    ("presenting", "next"): "generating",      # operator skips the vote with a forced choice
    ("voting", "close"): "result",
    ("voting", "vote_closed"): "result",
    ("voting", "next"): "result",
    ("result", "result_shown"): "generating",
    ("result", "next"): "generating",
    ("result", "finish"): "finishing",
    ("generating", "finish"): "generating",    # remembered; the chapter after this one closes
    ("presenting", "finish"): "finishing",
    ("voting", "finish"): "voting",            # the vote runs out; its winner drives the end
                                               # (`finish --now` closes it: "finish", "close")
    ("finishing", "finish"): "finishing",
    **{(s, "end"): "ended" for s in LIVE},
    ("presenting", "end"): "ended",
}

REASONS: Final[dict[str, str]] = {
    "start": "a story is already running (use --force to end it and start anew)",
    "close": "no vote is running",
    "next": "the next chapter is already being written",
    "finish": "no story is running",
    "end": "no story is running",
}


class StoryMachine:
    """Holds the state; `apply` moves it or raises RefusedError, changing nothing. There is
    no way around the table: a resumed story gets a new machine in its planned state."""

    def __init__(self, state: State = "idle") -> None:
        self.state: State = state
        self.finish_requested = False

    def can(self, event: Input) -> bool:
        return (self.state, event) in TRANSITIONS

    def apply(self, event: Input) -> State:
        key = (self.state, event)
        if key not in TRANSITIONS:
            reason = REASONS.get(event, f"'{event}' does not fit state '{self.state}'")
            if event == "next" and self.state in ("idle", "ended"):
                reason = "no story is running"
            if event == "close" and self.state == "presenting":
                reason = "the vote has not opened yet (use next to skip ahead)"
            raise RefusedError(f"{reason} (state: {self.state})")
        if event == "finish":
            self.finish_requested = True
        elif event in ("start", "end"):
            self.finish_requested = False
        self.state = TRANSITIONS[key]  # type: ignore[assignment]
        return self.state


def check_start_options(outline: str | None, language: str | None) -> None:
    """Refuse a `start` whose outline or language cannot be right (changes nothing)."""
    if outline is not None and len(outline) > 2000:
        raise RefusedError("the outline is too long (2000 characters at most)")
    if language is not None and not 1 <= len(language.strip()) <= 40:
        raise RefusedError("the language must be a name like 'English' or 'Deutsch'")
