"""Issue 22 (1, 2): one bounded reader for every read of the config file, and a reload that
never silently falls back to the defaults.

Real files, a real FIFO, /dev/zero, a 300 MB sparse file; the real daemon in-process, asked
over its real control socket (`config get`/`config show`) and reloaded the way SIGHUP does.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import msgspec
import pytest
import trio
from web_harness import running_daemon

from storyd.config import effective
from storyd.config import loader as config_mod
from storyd.control import protocol
from storyd.control.client import ControlClient
from storyd.core import events as ev
from storyd.errors import ConfigError, ConfigMissing

NOT_UTF8 = b'[voting]\nduration = 45\n[story]\nlanguage = "Fran\xe7ais"\n'


def test_a_fifo_is_refused_at_once_without_waiting_for_a_writer(tmp_path: Path) -> None:
    path = tmp_path / "storyd.toml"
    os.mkfifo(path)
    started = time.monotonic()
    with pytest.raises(ConfigError, match="a FIFO"):
        config_mod.read_text(path)
    with pytest.raises(ConfigError, match="a FIFO"):
        config_mod.load(path)
    assert time.monotonic() - started < 1.0


def test_a_device_is_refused_before_a_byte_is_read() -> None:
    with pytest.raises(ConfigError, match="/dev/zero: cannot read: it is a character device"):
        config_mod.load(Path("/dev/zero"))


def test_a_huge_file_is_refused_by_its_size_not_by_reading_it(tmp_path: Path) -> None:
    path = tmp_path / "huge.toml"
    with path.open("wb") as f:          # sparse: 300 MB on paper, nothing on disk
        f.truncate(300 * 1024 * 1024)
    with pytest.raises(ConfigError, match="larger than 1024 KiB"):
        config_mod.read_text(path)
    assert effective.describe(config_mod.defaults(), path)["voting.duration"].source == \
        "default"


def test_not_utf8_names_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "storyd.toml"
    path.write_bytes(NOT_UTF8)
    with pytest.raises(ConfigError, match=r":4: not UTF-8 text \(byte 0xe7 at column 17\)"):
        config_mod.read_text(path)


def test_missing_is_its_own_error_and_the_defaults_only_at_start(tmp_path: Path) -> None:
    path = tmp_path / "absent.toml"
    assert config_mod.read_text_or_none(path) is None
    assert config_mod.load(path) == config_mod.defaults()
    with pytest.raises(ConfigMissing):
        config_mod.load_existing(path)
    path.write_text("")
    assert config_mod.load_existing(path) == config_mod.defaults()


async def _ask(daemon: Any, request: dict[str, Any]) -> Any:
    """The answer as JSON data; an error reply raises RemoteError."""
    async with await ControlClient.connect(daemon.socket_path) as client:
        answer = await client.call(msgspec.convert(request, protocol.Request))
    return msgspec.to_builtins(answer)


@pytest.mark.parametrize("fault", ["not-utf8", "fifo", "dev-zero", "huge", "deleted"])
async def test_config_get_and_show_answer_whatever_is_at_the_path(
        tmp_path: Path, fault: str) -> None:
    async with running_daemon(tmp_path, "[voting]\nduration = 45\n") as daemon:
        path = daemon.config_path
        path.unlink()
        if fault == "not-utf8":
            path.write_bytes(NOT_UTF8)
        elif fault == "fifo":
            os.mkfifo(path)
        elif fault == "dev-zero":
            path.symlink_to("/dev/zero")
        elif fault == "huge":
            with path.open("wb") as f:
                f.truncate(300 * 1024 * 1024)
        with trio.fail_after(10):
            await daemon.reload()      # what SIGHUP does: refused, the running config stays
            assert daemon.config.voting.duration == 45
            got = await _ask(daemon, {"cmd": "config-get", "key": "voting.duration"})
            assert got["value"] == 45
            shown = await _ask(daemon, {"cmd": "config-show", "origins": True})
            assert shown["config"]["voting"]["duration"] == 45
            assert shown["origins"]["voting.duration"]["value"] == 45
            plain = await _ask(daemon, {"cmd": "config-show"})
            assert plain["voting"]["duration"] == 45


async def test_reload_with_the_file_deleted_keeps_the_running_config_and_says_so(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    extra = "[voting]\nduration = 45\n[llm]\nchain = [\"offline\"]\n"
    async with running_daemon(tmp_path, extra) as daemon:
        path = daemon.config_path
        with trio.fail_after(10), daemon.bus.subscribe() as sub:
            path.unlink()
            await daemon.reload()
            assert daemon.config.voting.duration == 45
            event = await sub.get()
            while not isinstance(event, ev.Error):
                event = await sub.get()
            assert "is missing; the running config is kept" in event.data.message
            assert str(path) in event.data.message
            errors = [r for r in caplog.records if r.levelname == "ERROR"
                      and "config reload failed" in r.getMessage()]
            assert errors and "is missing" in errors[-1].getMessage()
            assert not any("config reloaded" in r.getMessage() for r in caplog.records)
            status = await _ask(daemon, {"cmd": "status"})
            assert "is missing" in (status["notice"] or "")

            path.write_text("")                  # an explicit empty file: the defaults
            await daemon.reload()
            assert daemon.config.voting.duration == config_mod.defaults().voting.duration
            status = await _ask(daemon, {"cmd": "status"})
            assert not status["notice"]          # the notice ends with a good reload


# ---- messages that say what to do (issue 22, smaller items) ----------------------------------
def _error(text: str) -> str:
    with pytest.raises(ConfigError) as info:
        config_mod.parse(text, "f.toml")
    return str(info.value)


def test_a_pasted_recipe_after_the_default_config_says_where_the_first_llm_is() -> None:
    from storyd.system import paths

    default = paths.asset("data", "storyd.toml").read_text(encoding="utf-8")
    first = next(n for n, line in enumerate(default.splitlines(), 1) if line == "[llm]")
    text = default + '\n[llm]\nchain = ["offline"]\n'
    assert f"the first [llm] is at line {first}: merge the two sections" in _error(text)


def test_type_and_syntax_hints() -> None:
    assert _error('[voting]\nduration = "60"\n').endswith(
        "Expected `int`, got `str`; remove the quotes around the number")
    assert _error("[voting]\nallow_change = yes\n").endswith(
        "use true or false (lower case, no quotes)")
    assert _error('[voting]\nallow_change = "yes"\n').endswith(
        "use true or false without quotes")
    assert _error("[voting]\nduration = 30\nduration = 40\n").endswith(
        "'duration' is already set at line 2: keep one of the two")
    assert _error("[story]\ntheme = fantasy\n").endswith('text needs quotes: theme = "fantasy"')


async def test_config_set_after_the_file_was_deleted_does_not_reset_the_rest(
        tmp_path: Path) -> None:
    from storyd.control.blocking_client import RemoteError

    async with running_daemon(tmp_path, "[voting]\nduration = 45\n") as daemon:
        daemon.config_path.unlink()
        with trio.fail_after(10), pytest.raises(RemoteError, match="is missing, but the "
                                                "running config came from it"):
            await _ask(daemon, {"cmd": "config-set", "key": "voting.min_votes", "value": "2"})
        assert daemon.config.voting.duration == 45 and not daemon.config_path.exists()
