"""The configuration in effect: the file, then what this run changes on top of it.

`storyd --demo`, `--port` and `--host` do not edit the file; they are *overrides* applied to
every config this process loads (at start, on SIGHUP, after `config set`). `describe` tells,
key by key, where the value in effect comes from: `default` (not in the file), `file`, or the
flag that overrode it — with the file's own value beside it — so `storyctl config get
voting.duration` under --demo says 20 from --demo where the file says 60.

`ACTIVE` holds this process's overrides (set by storyd.cli for the run); the daemon calls
`apply` on each config it swaps in.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import msgspec

from storyd.config import loader as config_mod
from storyd.config.masking import masked
from storyd.config.replies import KeyOrigin
from storyd.config.structs import Config
from storyd.errors import ConfigError
from storyd.system import paths


class Override(msgspec.Struct, frozen=True):
    key: str          # dotted config key, e.g. "server.port"
    value: Any
    source: str       # the flag that set it: "--port", "--demo"


ACTIVE: list[Override] = []


def _replace(obj: Any, parts: list[str], value: Any) -> Any:
    if not parts:
        return value
    head, rest = parts[0], parts[1:]
    if isinstance(obj, Mapping):
        return {**obj, head: _replace(obj[head], rest, value)}
    return msgspec.structs.replace(obj, **{head: _replace(getattr(obj, head), rest, value)})


def apply(cfg: Config, overrides: Iterable[Override] | None = None) -> Config:
    """`cfg` with the overrides (default: this process's) applied, in order."""
    for o in ACTIVE if overrides is None else overrides:
        cfg = _replace(cfg, o.key.split("."), o.value)
    return cfg


def for_run(file_cfg: Config, *, demo: bool, port: int | None, host: str | None
            ) -> list[Override]:
    """The overrides that the command-line flags make to the file's config."""
    out: list[Override] = []
    if demo:
        # a demo keeps its own database and media: a plain storyd never resumes a demo story
        out.append(Override("storage.data_dir", str(paths.data_dir(file_cfg) / "demo"), "--demo"))
        out.append(Override("storage.cache_dir", str(paths.cache_dir(file_cfg) / "demo"),
                            "--demo"))
        out.append(Override("voting.duration", file_cfg.demo.voting_duration, "--demo"))
        if "demo" not in file_cfg.chat.sources:
            out.append(Override("chat.sources", (*file_cfg.chat.sources, "demo"), "--demo"))
    if port is not None:
        out.append(Override("server.port", port, "--port"))
    if host is not None:
        out.append(Override("server.host", host, "--host"))
    return out


def _flat(data: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(data, dict) and data:
        out: dict[str, Any] = {}
        for k, v in data.items():
            out.update(_flat(v, f"{prefix}{k}."))
        return out
    return {prefix.rstrip("."): data}


def _file_keys(text: str, source: str) -> set[str]:
    """The dotted keys the file sets ({} when it cannot be parsed)."""
    try:
        return set(_flat(config_mod.toml_document(text, source).unwrap()))
    except (ConfigError, RecursionError, ValueError):
        return set()


def describe(effective: Config, config_path: Path,
             overrides: Iterable[Override] | None = None) -> dict[str, KeyOrigin]:
    """Every dotted key → its value, source and file_value (secrets masked). `source` is
    "default", "file" or the overriding flag; `file_value` is set when a flag overrode it.
    The file is read once, through the loader's bounded reader; a file that cannot be read
    or parsed now (deleted, broken since the last reload) counts as setting nothing."""
    file_cfg, in_file = effective, set[str]()
    try:
        text = config_mod.read_text_or_none(config_path)
        if text is not None:
            file_cfg = config_mod.parse(text, str(config_path))
            in_file = _file_keys(text, str(config_path))
    except ConfigError:
        file_cfg, in_file = effective, set()
    values = _flat(masked(config_mod.to_builtins(effective)))
    from_file = _flat(masked(config_mod.to_builtins(file_cfg)))
    by_key = {o.key: o for o in (ACTIVE if overrides is None else overrides)}
    out: dict[str, KeyOrigin] = {}
    for key, value in values.items():
        o = by_key.get(key)
        if o is not None and from_file.get(key) != value:
            out[key] = KeyOrigin(value=value, source=o.source, file_value=from_file.get(key))
        else:
            out[key] = KeyOrigin(value=value, source="file" if key in in_file else "default")
    return out


def origin(effective: Config, config_path: Path, key: str) -> KeyOrigin | None:
    """Where one dotted key's value comes from; None for a whole section or unknown key."""
    return describe(effective, config_path).get(key)
