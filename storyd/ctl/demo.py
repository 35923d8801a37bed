"""`storyctl reset-demo`: delete what `storyd --demo` stored apart from real shows.

The demo keeps its database, admin token and media in demo/ under the data and cache dirs
(storyd.config.effective). This works on those folders directly, not through the daemon, and refuses
while the storyd answering on the control socket is a demo (its data dir comes from --demo).
"""

from __future__ import annotations

import shutil
from pathlib import Path

from storyd.config.replies import ConfigValue
from storyd.control import protocol
from storyd.control.blocking_client import DaemonNotRunning, call_once
from storyd.errors import StorydError
from storyd.system import paths


class DemoRefusal(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def _demo_running(path: Path) -> bool:
    """Whether the storyd on this socket is a `storyd --demo`."""
    got = call_once(path, protocol.ConfigGet(key="storage.data_dir"))
    return isinstance(got, ConfigValue) and got.source == "--demo"


def reset_demo(socket: Path) -> str:
    """Delete the demo's folders; what was done, in words. DemoRefusal while a demo runs."""
    from storyd.config.loader import load

    try:
        if _demo_running(socket):
            raise DemoRefusal("demo_running", "a demo storyd is running; stop it first "
                              "(Ctrl-C, or `systemctl --user stop storyd`)")
    except DaemonNotRunning:
        pass
    try:
        cfg = load(paths.config_path())
    except StorydError:
        cfg = None
    removed = []
    for folder in paths.demo_dirs(cfg):
        if folder.exists():
            try:
                shutil.rmtree(folder)
            except OSError as exc:
                raise DemoRefusal("io_error",
                                  f"cannot delete {folder}: {exc.strerror or exc}") from None
            removed.append(str(folder))
    return ("deleted " + " and ".join(removed)) if removed else "no demo data to delete"
