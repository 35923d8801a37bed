"""A deadline in real time, for tests that run on an autojump clock.

Under `autojump_clock` virtual time leaps to the next deadline whenever every task has waited
for a moment of real time (tests/conftest.py: 50 ms) — including a task waiting for a worker
thread (SQLite, files). A `trio.fail_after` around such a wait is a virtual deadline, so on a
loaded machine, where a thread can take longer than that moment, the clock leaps straight to
it and the test fails although nothing is late. `real_time_limit` bounds the body in real
seconds instead and adds no virtual deadline: a timer thread of its own cancels the body.
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import trio


@asynccontextmanager
async def real_time_limit(seconds: float) -> AsyncIterator[None]:
    """Run the body; cancel it and raise trio.TooSlowError once `seconds` of real (wall
    clock) time have passed. The body's own errors come out as they are."""
    token = trio.lowlevel.current_trio_token()
    expired = threading.Event()

    def expire() -> None:                    # on the timer's thread
        expired.set()
        try:
            trio.from_thread.run_sync(body.cancel, trio_token=token)
        except trio.RunFinishedError:
            pass

    timer = threading.Timer(seconds, expire)
    timer.daemon = True
    with trio.CancelScope() as body:
        timer.start()
        try:
            yield
        finally:
            timer.cancel()
    if expired.is_set() and body.cancelled_caught:
        raise trio.TooSlowError(f"took more than {seconds:g} s of real time")
