"""Crediting a closed round's voters in viewer stats, off the show's path.

Theory of operation (issue 23): at a close, the voting service writes the round's result
(store `record_vote_result` marks it "not credited yet") and calls `due()`; the next chapter
never waits for the credits. This service then credits the round's ballots in steps of
STEP viewers (store `credit_voters`: one transaction per step that also moves the round's
cursor), with a checkpoint between steps so the show's own writes go in between. A crash
between two steps loses nothing and repeats nothing: at start (and after each `due()`) it
goes on with whatever rounds still wait. While the disk refuses writes, a step fails with
StoreUnavailable and is retried after RETRY_S; the ballots it reads are already on disk
(or in the store's memory, replayed before the step).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Protocol

import trio

from storyd.errors import StorydError

log = logging.getLogger(__name__)

STEP = 5_000        # viewers credited per transaction
RETRY_S = 5.0


class CreditStore(Protocol):
    async def credit_voters(self, *, limit: int, now: float) -> bool:
        """One step (`limit` voters) of the round closed first of those waiting; True when
        none waits."""
        ...


class VoteCredits:
    def __init__(self, store: CreditStore, now: Callable[[], float]) -> None:
        self._store = store
        self._now = now
        self._due = trio.Event()
        self._idle = trio.Event()
        self.steps = 0
        self.failures = 0

    def due(self) -> None:
        """A round was closed: credit its voters soon."""
        self._due.set()
        self._idle = trio.Event()

    async def wait_idle(self) -> None:
        """Until every round that was due is credited (tests and benchmarks)."""
        await self._idle.wait()

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
                  ) -> None:
        self._due.set()                 # rounds a crash left uncredited
        task_status.started()
        while True:
            await self._due.wait()
            self._due = trio.Event()
            try:
                await self._credit_all()
            except StorydError as exc:
                self.failures += 1
                log.warning("viewer stats not credited yet (retried in %g s): %s", RETRY_S, exc)
                await trio.sleep(RETRY_S)
                self._due.set()
                continue
            if not self._due.is_set():
                self._idle.set()

    async def _credit_all(self) -> None:
        while not await self._store.credit_voters(limit=STEP, now=self._now()):
            self.steps += 1
            await trio.lowlevel.checkpoint()   # the show's writes go in between
