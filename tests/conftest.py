"""Shared fixtures: a real storyd daemon in-process, on temporary folders.

`daemon_factory(**overrides)` writes a real config file under tmp_path (port 0, socket and
data in tmp_path, narration off unless asked) and starts `run_daemon` in the test's nursery.
Tests wait on bus events (`wait_for_event`), never on sleeps.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import msgspec
import pytest
import tomlkit
import trio
import trio.testing

from storyd.app import Daemon, run_daemon
from storyd.bus import Subscription
from storyd.config import loader as config_mod
from storyd.core import events

FERRY = Path(__file__).parent / "fixtures" / "twee" / "last_ferry.twee"   # README's example


@pytest.fixture
def autojump_clock() -> trio.testing.MockClock:
    """Virtual time that jumps only after all tasks have been idle for 50 ms of real time.

    The daemon under test does real work in threads (SQLite, media files). With pytest-trio's
    default threshold of 0, virtual time would leap to the next deadline while a thread is
    busy — a 30-second vote could end during a database write. 50 ms keeps that from happening
    while a 60-second countdown still passes in a blink.
    """
    return trio.testing.MockClock(autojump_threshold=0.05)


def make_config_text(tmp_path: Path, overrides: dict[str, dict[str, Any]] | None = None) -> str:
    base: dict[str, dict[str, Any]] = {
        "server": {"host": "127.0.0.1", "port": 0},
        "control": {"socket": str(tmp_path / "run" / "control.sock")},
        "storage": {"data_dir": str(tmp_path / "data"), "cache_dir": str(tmp_path / "cache")},
        "story": {"reveal_words_per_second": 0.0, "result_seconds": 1.0},
        "tts": {"enabled": False},
        "voting": {"duration": 30},
    }
    for section, values in (overrides or {}).items():
        base.setdefault(section, {}).update(values)
    return tomlkit.dumps(base)


@pytest.fixture
def shipped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A shipped-stories folder (storyd/stories/ stand-in) with the README's example story as
    the English story of every theme."""
    import shutil

    from storyd.core.themes import THEMES
    from storyd.services import stories

    root = tmp_path / "shipped"
    (root / "en").mkdir(parents=True)
    for theme in THEMES:
        shutil.copy(FERRY, root / "en" / f"{theme}.twee")
    monkeypatch.setattr(stories, "shipped_dir", lambda: root)
    return root


@pytest.fixture
def daemon_factory(tmp_path: Path, nursery: trio.Nursery
                   ) -> Callable[..., Awaitable[Daemon]]:
    async def start(demo_mode: bool = False, **overrides: dict[str, Any]) -> Daemon:
        path = tmp_path / "storyd.toml"
        path.write_text(make_config_text(tmp_path, overrides))
        cfg = config_mod.load(path)
        return await nursery.start(functools.partial(run_daemon, cfg, path, demo=demo_mode))  # type: ignore[no-any-return]

    return start


async def wait_for_event(sub: Subscription, name: str,
                         pred: Callable[[dict[str, Any]], bool] = lambda d: True,
                         timeout: float = 600) -> dict[str, Any]:
    """The data of the next event `name` whose data satisfies `pred` (virtual-time bound)."""
    with trio.fail_after(timeout):
        async for typed in sub:
            raw = msgspec.json.encode(typed)     # the wire form {"event", "data"} ...
            events.decode(raw)                   # ... which the one schema accepts
            event = msgspec.json.decode(raw)
            if event["event"] == name and pred(event["data"]):
                return event["data"]  # type: ignore[no-any-return]
    raise AssertionError(f"bus closed before {name}")


async def wait_for_state(sub: Subscription, state: str, timeout: float = 600) -> dict[str, Any]:
    return await wait_for_event(sub, "story:state", lambda d: d["state"] == state, timeout)
