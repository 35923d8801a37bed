"""Where storyd keeps things (XDG), each overridable in the config.

- config: $STORYD_CONFIG, else $XDG_CONFIG_HOME/storyd/storyd.toml
- data (SQLite, admin token, exports): [storage] data_dir, else $XDG_DATA_HOME/storyd
- media cache (images, audio): [storage] cache_dir, else $XDG_CACHE_HOME/storyd
- `storyd --demo`: demo/ under both (storyd.config.effective sets [storage] for the run), so a demo
  has its own database, admin token and media; `demo_dirs` names them for `storyctl reset-demo`
- control socket: [control] socket, else $STORYD_SOCKET, else $XDG_RUNTIME_DIR/storyd/control.sock,
  else a private per-user directory under the temp dir.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Protocol


class _Storage(Protocol):
    @property
    def data_dir(self) -> str: ...
    @property
    def cache_dir(self) -> str: ...


class _Control(Protocol):
    @property
    def socket(self) -> str: ...


class Config(Protocol):
    """What paths reads of a storyd.config.structs.Config (system/ sits below config/)."""
    @property
    def storage(self) -> _Storage: ...
    @property
    def control(self) -> _Control: ...


def _xdg(var: str, fallback: str) -> Path:
    value = os.environ.get(var, "")
    return Path(value) if value and os.path.isabs(value) else Path.home() / fallback


def config_path() -> Path:
    env = os.environ.get("STORYD_CONFIG", "")
    if env:
        return Path(env).expanduser()
    return _xdg("XDG_CONFIG_HOME", ".config") / "storyd" / "storyd.toml"


def data_dir(cfg: Config | None = None) -> Path:
    if cfg is not None and cfg.storage.data_dir:
        return Path(cfg.storage.data_dir).expanduser()
    return _xdg("XDG_DATA_HOME", ".local/share") / "storyd"


def cache_dir(cfg: Config | None = None) -> Path:
    if cfg is not None and cfg.storage.cache_dir:
        return Path(cfg.storage.cache_dir).expanduser()
    return _xdg("XDG_CACHE_HOME", ".cache") / "storyd"


def media_dir(cfg: Config | None = None) -> Path:
    return cache_dir(cfg) / "media"


def database_path(cfg: Config | None = None) -> Path:
    return data_dir(cfg) / "storyd.sqlite3"


def demo_dirs(cfg: Config | None = None) -> tuple[Path, Path]:
    """Where `storyd --demo` keeps its data and its media cache."""
    return data_dir(cfg) / "demo", cache_dir(cfg) / "demo"


def socket_path(cfg: Config | None = None) -> Path:
    if cfg is not None and cfg.control.socket:
        return Path(cfg.control.socket).expanduser()
    env = os.environ.get("STORYD_SOCKET", "")
    if env:
        return Path(env).expanduser()
    runtime = os.environ.get("XDG_RUNTIME_DIR", "")
    if runtime and os.path.isabs(runtime):
        return Path(runtime) / "storyd" / "control.sock"
    import tempfile  # only here: `storyctl status` pays for no import it does not use

    return Path(tempfile.gettempdir()) / f"storyd-{os.getuid()}" / "control.sock"


def asset(*parts: str) -> Path:
    """A file or folder shipped inside the storyd package (package data, found with
    importlib.resources): `asset("overlay")`, `asset("data", "storyd.toml")`. The top-level
    overlay/, admin/, config/, contrib/systemd/ and man/ of a checkout are links to these."""
    import importlib.resources  # only here, as tempfile above

    return Path(str(importlib.resources.files("storyd").joinpath(*parts)))
