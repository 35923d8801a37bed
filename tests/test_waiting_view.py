"""Issue 22: a start on a still-full disk resumes the show it had reached — the resume read
lays the writes and ballots still waiting in memory over what SQLite holds, exactly as
SQLite will apply them when space returns (storyd/store/waiting_view.py)."""

from __future__ import annotations

from typing import Any

from storyd.store import queries as q
from storyd.store import vote_queries as vq
from storyd.store.waiting_view import overlay

SID = 4


def stored(**round_: Any) -> dict[str, Any]:
    """What queries.active_session returns: chapter 2's vote is open, two ballots stored."""
    chapter = {"number": 2, "title": "T", "text": "x", "choices": ["a", "b"], "closing": False,
               "summary": "", "provider": "offline", "lines": [], "memory_update": {},
               "image": None, "audio": [], "chosen": None, "chosen_text": None,
               "created_at": 1.0, "aired_at": 2.0}
    return {"session": {"id": SID, "status": "active", "ended_at": None},
            "chapters": [chapter], "memory": {"facts": ["old"]},
            "round": {"chapter_number": 2, "round_id": 7, "choices": ["a", "b"],
                      "opens_at": 10.0, "ends_at": 70.0, "extended": False, "status": "open",
                      "heartbeat_at": 20.0, **round_},
            "ballots": [("v1", "Ann", 0, 1), ("v2", "Bob", 1, 1)]}


def test_nothing_waiting_leaves_the_stored_session_as_it_is() -> None:
    assert overlay(stored(), [], []) == stored()
    assert overlay(None, [(vq.update_round, (SID, 2, None, None, None, 30.0))], []) is None


def test_waiting_ballots_count_as_the_upsert_will_store_them() -> None:
    rows = [(SID, 2, "v3", "Cy", 1, 1, 25.0),       # new
            (SID, 2, "v1", "", 1, 1, 26.0),         # changed; an empty name keeps "Ann"
            (SID, 2, "v2", "", -1, 1, 27.0),        # taken back by a moderator
            (SID, 1, "v9", "Old", 0, 1, 5.0),       # another round's: not this vote's
            (SID + 1, 2, "v8", "X", 0, 1, 5.0)]     # another session's
    got = overlay(stored(), [], rows)
    assert got is not None
    assert sorted(got["ballots"]) == [("v1", "Ann", 1, 1), ("v3", "Cy", 1, 1)]


def test_the_waiting_heartbeat_and_round_changes_give_the_vote_its_real_time_left() -> None:
    writes = [(vq.update_round, (SID, 2, None, None, None, 40.0)),
              (vq.update_round, (SID, 2, 100.0, True, None, None)),
              (vq.update_round, (SID, 1, None, None, "closed", None))]   # an older round
    got = overlay(stored(), writes, [])
    assert got is not None and got["round"]["heartbeat_at"] == 40.0
    assert got["round"]["ends_at"] == 100.0 and got["round"]["extended"] is True
    assert got["round"]["status"] == "open"


def test_a_chapter_and_round_the_show_reached_while_the_disk_was_full_are_resumed() -> None:
    values = {"number": 3, "title": "Three", "text": "y", "choices": ["c", "d", "e"],
              "closing": False, "summary": "", "provider": "offline", "lines": [],
              "memory_update": {}, "created_at": 80.0, "chosen": None}
    writes = [(vq.record_vote_result, (SID, 2, 1, [0, 2], 2, None, False, False, 70.0)),
              (q.set_chapter_choice, (SID, 2, 1, "b")),
              (q.add_chapter, (SID, values)),
              (q.set_chapter_media, (SID, 3, "p.png", ["s0.mp3"])),
              (q.save_memory, (SID, {"facts": ["new"]}, 81.0)),
              (vq.open_round, (SID, 3, 8, ["c", "d", "e"], 90.0, 150.0)),
              (vq.update_round, (SID, 3, None, None, None, 95.0))]
    rows = [(SID, 2, "v5", "Late", 0, 1, 69.0), (SID, 3, "v6", "New", 2, 1, 96.0)]
    got = overlay(stored(), writes, rows)
    assert got is not None
    assert [c["number"] for c in got["chapters"]] == [2, 3]
    assert got["chapters"][0]["chosen"] == 1 and got["chapters"][0]["chosen_text"] == "b"
    assert got["chapters"][1]["image"] == "p.png" and got["chapters"][1]["audio"] == ["s0.mp3"]
    assert got["memory"] == {"facts": ["new"]}
    assert got["round"] == {"chapter_number": 3, "round_id": 8, "choices": ["c", "d", "e"],
                            "opens_at": 90.0, "ends_at": 150.0, "extended": False,
                            "status": "open", "heartbeat_at": 95.0}
    assert got["ballots"] == [("v6", "New", 2, 1)]      # the new round's, none of the old


def test_a_repeated_chapter_is_refused_as_sqlite_refuses_it() -> None:
    values = {"number": 2, "title": "Again", "text": "z", "choices": ["a"], "closing": False,
              "summary": "", "provider": "x", "lines": [], "memory_update": {},
              "created_at": 3.0, "chosen": None}
    got = overlay(stored(), [(q.add_chapter, (SID, values))], [])
    assert got is not None and [c["title"] for c in got["chapters"]] == ["T"]


def test_a_session_that_ended_while_the_disk_was_full_is_not_resumed() -> None:
    assert overlay(stored(), [(q.end_session, (SID, "finished", 99.0))], []) is None
    assert overlay(stored(), [(q.mark_stale_sessions, (SID + 1, 99.0))], []) is None
    assert overlay(stored(), [(q.mark_stale_sessions, (SID, 99.0))], []) is not None
