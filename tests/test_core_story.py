"""The story state machine: transitions as a table, refusals change nothing."""

import pytest

from storyd.core.story import TRANSITIONS, StoryMachine
from storyd.errors import RefusedError

ALLOWED = [
    ("idle", "start", "generating"),
    ("ended", "start", "generating"),
    ("generating", "chapter_ready", "presenting"),
    ("presenting", "presented", "voting"),
    ("presenting", "next", "generating"),
    ("voting", "close", "result"),
    ("voting", "vote_closed", "result"),
    ("result", "result_shown", "generating"),
    ("result", "finish", "finishing"),
    ("voting", "finish", "voting"),      # the vote runs out first (finish --now closes it)
    ("presenting", "finish", "finishing"),
    ("finishing", "closing_ready", "presenting"),
    ("voting", "end", "ended"),
    ("generating", "end", "ended"),
]


@pytest.mark.parametrize(("state", "event", "after"), ALLOWED)
def test_allowed_transitions(state, event, after):
    m = StoryMachine(state)
    assert m.apply(event) == after
    assert m.state == after


REFUSED = [
    ("idle", "close", "no vote is running"),
    ("presenting", "close", "the vote has not opened yet"),
    ("generating", "start", "a story is already running"),
    ("voting", "start", "a story is already running"),
    ("idle", "end", "no story is running"),
    ("ended", "finish", "no story is running"),
    ("idle", "next", "no story is running"),
    ("generating", "next", "already being written"),
    ("result", "close", "no vote is running"),
]


@pytest.mark.parametrize(("state", "event", "message"), REFUSED)
def test_refusals_name_the_reason_and_change_nothing(state, event, message):
    m = StoryMachine(state)
    with pytest.raises(RefusedError, match=message):
        m.apply(event)
    assert m.state == state
    assert not m.can(event)


def test_finish_is_remembered_and_start_forgets_it():
    m = StoryMachine("generating")
    m.apply("finish")
    assert m.state == "generating" and m.finish_requested
    m.apply("end")
    assert not m.finish_requested
    m.apply("start")
    assert not m.finish_requested


def test_every_live_state_can_end():
    for state in ("generating", "presenting", "voting", "result", "finishing"):
        assert (state, "end") in TRANSITIONS
