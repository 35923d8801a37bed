"""Where storyd keeps things (XDG), each overridable in the config.

- config: $STORYD_CONFIG, else $XDG_CONFIG_HOME/storyd/storyd.toml
- data (SQLite, admin token, exports): [storage] data_dir, else $XDG_DATA_HOME/storyd
- media cache (images, audio): [storage] cache_dir, else $XDG_CACHE_HOME/storyd
- `storyd --demo`: demo/ under both (storyd.effective sets [storage] for the run), so a demo
  has its own database, admin token and media; `demo_dirs` names them for `storyctl reset-demo`
- control socket: [control] socket, else $STORYD_SOCKET, else $XDG_RUNTIME_DIR/storyd/control.sock,
  else a private per-user directory under the temp dir.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from storyd.config import Config


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
    return Path(tempfile.gettempdir()) / f"storyd-{os.getuid()}" / "control.sock"


def package_asset(*parts: str) -> Path:
    """A file shipped with storyd: inside the installed package (storyd/static/...) or, in a
    source checkout, the top-level folder (overlay/, admin/, config/storyd.toml,
    contrib/systemd/storyd.service)."""
    here = Path(__file__).resolve().parent
    installed = here.joinpath("static", *parts)
    if installed.exists():
        return installed
    repo = here.parent
    if parts and parts[0] == "storyd.toml":
        return repo / "config" / "storyd.toml"
    if parts and parts[0] == "storyd.service":
        return repo / "contrib" / "systemd" / "storyd.service"
    return repo.joinpath(*parts)
