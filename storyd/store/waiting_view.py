"""The resume read on a still-full disk: the stored active session with what waits laid over it.

Theory of operation (issue 22): a start on a disk that is still full replays the recovery
file into memory (storyd.store.pending), not into SQLite, so the database alone shows the
show as it was when the disk filled. The restart's one read of the story (`active_session`)
must see what the show had really reached — the chapters it aired, the choice it made, the
round it opened and its time, the memory, and every ballot it acknowledged — or the
resumed vote would forget acknowledged ballots and the show would write a chapter twice.

`overlay` applies the waiting writes, oldest first, to the dict `queries.active_session`
returned, exactly as SQLite will apply them when space returns; a write it does not know
changes nothing that a resume reads (viewer stats, branches, cameos). Pure: dicts in, dict
out, no I/O; the caller holds the store's worker thread, so nothing changes underneath.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from storyd.store import queries as q
from storyd.store import vote_queries as vq

Write = tuple[Callable[..., Any], tuple[Any, ...]]
BallotRow = tuple[int, int, str, str, int, int, float]
Found = dict[str, Any]

_ROUND_UPDATES = ("ends_at", "extended", "status", "heartbeat_at")


def overlay(found: Found | None, writes: Sequence[Write],
            ballots: Sequence[BallotRow]) -> Found | None:
    """`found` (the stored newest active session, or None) as it will be once `writes` and
    then `ballots` are on disk. None when a waiting write ended that session."""
    if found is None or not (writes or ballots):
        return found
    sid = found["session"]["id"]
    for fn, args in writes:
        if fn is q.mark_stale_sessions and args[0] != sid:
            _end_session(found, "crashed", args[1])
        elif args and args[0] == sid and fn in _RULES:
            _RULES[fn](found, *args[1:])
        if found["session"]["status"] != "active":
            return None
    rnd = found["round"]
    if rnd is not None:
        _ballots(found, [b for b in ballots if b[0] == sid and b[1] == rnd["chapter_number"]])
    return found


def _chapter(found: Found, number: int) -> dict[str, Any] | None:
    return next((c for c in found["chapters"] if c["number"] == number), None)


def _end_session(found: Found, status: str, ended_at: float) -> None:
    found["session"].update(status=status, ended_at=ended_at)


def _add_chapter(found: Found, values: dict[str, Any]) -> None:
    if _chapter(found, values["number"]) is not None:
        return                                   # SQLite refuses the repeat
    chosen = values.get("chosen")
    found["chapters"].append({**values, "image": None, "audio": [], "aired_at": None,
                              "chosen_text": None if chosen is None
                              else values["choices"][chosen]})
    found["chapters"].sort(key=lambda c: c["number"])


def _chapter_media(found: Found, number: int, image: str | None,
                   audio: list[str | None] | None) -> None:
    chapter = _chapter(found, number)
    if chapter is not None:
        if image is not None:
            chapter["image"] = image
        if audio is not None:
            chapter["audio"] = list(audio)


def _chapter_choice(found: Found, number: int, chosen: int, chosen_text: str) -> None:
    chapter = _chapter(found, number)
    if chapter is not None:
        chapter.update(chosen=chosen, chosen_text=chosen_text)


def _memory(found: Found, memory: dict[str, Any], _now: float | None = None) -> None:
    found["memory"] = memory


def _open_round(found: Found, chapter_number: int, round_id: int, choices: list[str],
                opens_at: float, ends_at: float) -> None:
    rnd = found["round"]
    if rnd is not None and rnd["chapter_number"] > chapter_number:
        return                                   # not the latest round: a resume ignores it
    if rnd is None or rnd["chapter_number"] != chapter_number or rnd["round_id"] != round_id:
        found["ballots"] = []                    # a new round starts without ballots
    found["round"] = {"chapter_number": chapter_number, "round_id": round_id,
                      "choices": list(choices), "opens_at": opens_at, "ends_at": ends_at,
                      "extended": False, "status": "open",
                      "heartbeat_at": None if rnd is None else rnd.get("heartbeat_at")}


def _update_round(found: Found, chapter_number: int, *values: Any) -> None:
    rnd = found["round"]
    if rnd is not None and rnd["chapter_number"] == chapter_number:
        rnd.update({k: v for k, v in zip(_ROUND_UPDATES, values, strict=False) if v is not None})


def _vote_result(found: Found, chapter_number: int, *_result: Any) -> None:
    _update_round(found, chapter_number, None, None, "closed")


def _ballots(found: Found, rows: Sequence[BallotRow]) -> None:
    """The upsert of story_ballots: the newest per viewer; choice -1 takes a ballot back;
    an empty name keeps the stored one."""
    if not rows:
        return
    kept = {b[0]: tuple(b) for b in found["ballots"]}
    for _sid, _ch, viewer, name, choice, weight, _at in rows:
        old = kept.pop(viewer, None)
        if choice >= 0:
            kept[viewer] = (viewer, name or (old[1] if old else ""), choice, weight)
    found["ballots"] = list(kept.values())


_RULES: dict[Callable[..., Any], Callable[..., None]] = {
    q.end_session: _end_session, q.add_chapter: _add_chapter,
    q.set_chapter_media: _chapter_media, q.set_chapter_choice: _chapter_choice,
    q.save_memory: _memory, vq.open_round: _open_round, vq.update_round: _update_round,
    vq.record_vote_result: _vote_result,
}
