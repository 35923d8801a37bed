"""Resume planning (pure): what to do with a stored session after a restart.

Given the newest chapter of the stored story, its vote round (if any) and the time now, decide
where the show picks up — with no I/O, so every case is a plain unit test:

  * no chapter yet                    → write chapter 1          (state "generating")
  * the last chapter was the closing  → the story is finished    (state "ended")
  * the last chapter has a choice     → write the next chapter   (state "generating")
  * its vote round is stored          → reopen the vote          (state "voting")
  * otherwise                         → present it again         (state "presenting")

A reopened vote gets the time it had left at its last heartbeat (none yet: all of it), at
least `min_vote` seconds; its length (for the countdown bar) stays as it was.
"""

from __future__ import annotations

from typing import Any, Literal

import msgspec

MIN_RESUME_VOTE = 10.0


class ResumePlan(msgspec.Struct, frozen=True, kw_only=True):
    state: Literal["generating", "presenting", "voting", "ended"]
    pending_choice: int | None = None   # the stored winner that drives the next chapter
    opens_at: float = 0.0               # a reopened vote (epoch s)
    ends_at: float = 0.0
    round_id: int = 0


def plan_resume(*, chapter_number: int | None, closing: bool, chosen: int | None,
                round_row: dict[str, Any] | None, now: float,
                min_vote: float = MIN_RESUME_VOTE) -> ResumePlan:
    if chapter_number is None:
        return ResumePlan(state="generating")
    if closing:
        return ResumePlan(state="ended")
    if chosen is not None:
        return ResumePlan(state="generating", pending_choice=chosen)
    if round_row is not None and round_row.get("chapter_number") == chapter_number:
        opens, ends = float(round_row["opens_at"]), float(round_row["ends_at"])
        alive = round_row.get("heartbeat_at")
        remaining = ends - (opens if alive is None else float(alive))
        new_ends = now + max(remaining, min_vote)
        return ResumePlan(state="voting", opens_at=min(new_ends - (ends - opens), now),
                          ends_at=new_ends, round_id=int(round_row["round_id"]))
    return ResumePlan(state="presenting")
