"""Daemon start-up failures are clear, and leave nothing behind."""

from __future__ import annotations

import functools
import socket

import trio

from storyd.app import load_admin_token, run_daemon
from storyd.config import loader as config_mod
from storyd.errors import StorydError
from tests.conftest import make_config_text


def leaves(exc: BaseException) -> list[StorydError]:
    if isinstance(exc, BaseExceptionGroup):
        return [leaf for e in exc.exceptions for leaf in leaves(e)]
    return [exc] if isinstance(exc, StorydError) else []


async def test_a_busy_port_is_a_clear_error_and_the_socket_is_removed(tmp_path):
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen()
    port = busy.getsockname()[1]
    path = tmp_path / "storyd.toml"
    path.write_text(make_config_text(tmp_path, {"server": {"port": port}}))
    cfg = config_mod.load(path)
    errors: list[StorydError] = []
    try:
        with trio.fail_after(20):
            async with trio.open_nursery() as nursery:
                await nursery.start(functools.partial(run_daemon, cfg, path))
    except* StorydError as group:
        errors.extend(leaves(group))
    finally:
        busy.close()
    assert errors and f"cannot listen on 127.0.0.1:{port}" in str(errors[0])
    assert "choose another [server] port" in str(errors[0])
    assert not (tmp_path / "run" / "control.sock").exists()


def test_admin_token_is_made_once_and_kept_private(tmp_path):
    token = load_admin_token(tmp_path / "data")
    assert len(token) >= 20
    assert load_admin_token(tmp_path / "data") == token
    assert oct((tmp_path / "data" / "admin_token").stat().st_mode & 0o777) == "0o600"
