"""The real-time bound that tests on an autojump clock use (tests/real_time.py)."""

from __future__ import annotations

import time

import pytest
import trio
import trio.testing

from tests.real_time import real_time_limit


async def test_it_fails_after_real_seconds_and_adds_no_virtual_deadline(
        autojump_clock: trio.testing.MockClock) -> None:
    start, virtual = time.monotonic(), trio.current_time()
    with pytest.raises(trio.TooSlowError):
        async with real_time_limit(0.2):
            await trio.sleep_forever()       # no virtual deadline to leap to
    assert time.monotonic() - start >= 0.2 and trio.current_time() == virtual


async def test_a_body_in_time_passes_and_its_errors_are_its_own(
        autojump_clock: trio.testing.MockClock) -> None:
    async with real_time_limit(30):
        await trio.sleep(3600)               # virtual: passes at once
        await trio.to_thread.run_sync(time.sleep, 0.1)   # a busy worker thread
    with pytest.raises(KeyError):
        async with real_time_limit(30):
            raise KeyError("x")
