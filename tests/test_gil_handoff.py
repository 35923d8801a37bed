"""system/gil.py's `run_sync`: trio.to_thread.run_sync's contract, plus the GIL handoff task.

How fast the worker gets the GIL while the trio thread is busy is a figure, measured by
tests/bench/bench_store_handoff.py; these tests hold the contract: the value and the error
come back as they are, a cancelled caller still waits for its thread (a store transaction
is never left half done), the limiter serializes calls, and the handoff task ends with the
call.
"""

from __future__ import annotations

import threading

import pytest
import trio
import trio.testing

from storyd.system import gil


async def test_the_value_comes_back_and_the_call_ran_on_another_thread() -> None:
    main = threading.get_ident()
    with trio.fail_after(10):
        ident = await gil.run_sync(threading.get_ident)
    assert ident != main


async def test_an_error_leaves_as_it_is_not_in_an_exception_group() -> None:
    def boom() -> None:
        raise LookupError("no such ballot")

    with trio.fail_after(10), pytest.raises(LookupError, match="no such ballot"):
        await gil.run_sync(boom)


async def test_a_cancelled_caller_waits_for_its_thread_to_finish(
        autojump_clock: trio.testing.MockClock) -> None:
    started, release = trio.Event(), threading.Event()
    finished: list[str] = []
    scopes: list[trio.CancelScope] = []

    def work() -> None:
        trio.from_thread.run_sync(started.set)
        release.wait(10)
        finished.append("committed")

    async def caller() -> None:
        with trio.CancelScope() as scope:
            scopes.append(scope)
            await gil.run_sync(work)
        finished.append("caller returned")

    with trio.fail_after(60):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(caller)
            await started.wait()
            scopes[0].cancel()                 # cancelled while its thread runs
            await trio.sleep(1)
            assert finished == []              # not abandoned: the caller still waits
            release.set()
    assert finished == ["committed", "caller returned"]


async def test_the_limiter_lets_one_call_run_at_a_time() -> None:
    limiter = trio.CapacityLimiter(1)
    running = peak = 0
    lock = threading.Lock()

    def work() -> None:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        threading.Event().wait(0.01)
        with lock:
            running -= 1

    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            for _ in range(6):
                nursery.start_soon(lambda: gil.run_sync(work, limiter=limiter))
    assert peak == 1


async def test_the_handoff_runs_while_the_call_is_in_flight_and_ends_with_it(
        monkeypatch: pytest.MonkeyPatch, autojump_clock: trio.testing.MockClock) -> None:
    pauses: list[float] = []
    three = trio.Event()
    done = threading.Event()

    def pause(seconds: float) -> None:          # the handoff's blocking pause, recorded
        pauses.append(seconds)
        if len(pauses) == 3:
            three.set()

    monkeypatch.setattr(gil, "_block", pause)

    def work() -> None:
        done.wait(10)

    with trio.fail_after(60):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(lambda: gil.run_sync(work, pause=0.0002, every=0.001))
            await three.wait()                 # it hands the GIL over again and again
            done.set()
        after = len(pauses)
        await trio.sleep(1)
    assert set(pauses) == {0.0002}
    assert len(pauses) == after                  # no handoff once the call returned
