"""Configuration: one frozen schema, loaded from one TOML file.

Theory of operation: the file is parsed with tomlkit (so edits keep comments), unwrapped to
plain Python, and converted with msgspec into frozen Structs that reject unknown keys. A
reload builds a whole new `Config` and the daemon swaps it in one assignment; nobody ever
sees half a config. Errors name the file, the key path, the line when it can be found, and
a did-you-mean hint for misspelt keys. The Structs live in storyd.config.structs, the rules
and error messages in storyd.config.check; this module loads, dumps and edits, and
re-exports their names.

Secrets (`api_key`, `sign_api_key`, tokens, provider `headers`, URL passwords) are masked by
`masked()` (storyd.config.masking, re-exported here); `*_env` keys name an environment variable
instead of holding the secret itself.

Every read of the config file, wherever it happens (start, SIGHUP, `config get/show/set`,
the admin form), goes through `read_text`: bounded (MAX_CONFIG_BYTES), regular files only,
opened without blocking (a FIFO or a device at the config path is refused, never waited on),
and it raises nothing but ConfigError: a file over the cap, not UTF-8 (line and column named),
binary (NUL bytes) or nested too deeply for the parser is refused with the file name and the
reason; a UTF-8 BOM is accepted. A missing file is ConfigMissing: the defaults at start,
but a reload keeps the running config (only an explicit empty file means "defaults").
"""

from __future__ import annotations

import difflib
import os
import re
import stat
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import msgspec
import tomlkit
import tomlkit.exceptions

from storyd.config import check as config_check
from storyd.config.masking import (
    MASK,
    SECRET_KEYS,
    SECRET_TABLES,
    mask_url,
    masked,
)
from storyd.config.structs import (
    Config,
    ProviderConfig,
)
from storyd.errors import ConfigError, ConfigMissing


def defaults() -> Config:
    return Config()


MAX_CONFIG_BYTES = 1024 * 1024   # a real storyd.toml is a few KiB; more is the wrong file


def toml_document(text: str, source: str) -> tomlkit.TOMLDocument:
    """tomlkit's document of `text` (a leading BOM ignored). Any parser failure — syntax,
    nesting too deep, a parser bug on garbage — is a ConfigError naming the file."""
    try:
        return tomlkit.parse(text.removeprefix("\ufeff"))
    except tomlkit.exceptions.ParseError as exc:
        hint = config_check.syntax_hint(text, str(exc), exc.line)
        raise ConfigError(f"{source}:{exc.line}: TOML syntax error: {exc}{hint}") from None
    except RecursionError:
        raise ConfigError(f"{source}: not a usable TOML file: nested too deeply") from None
    except Exception as exc:  # noqa: BLE001 — tomlkit on binary garbage: still a bad file
        raise ConfigError(f"{source}: not a usable TOML file "
                          f"({type(exc).__name__}: {str(exc)[:120]})") from None


def parse(text: str, source: str = "<config>") -> Config:
    """Parse and validate TOML text. Raises ConfigError naming source, line and key."""
    text = text.removeprefix("\ufeff")
    if "\x00" in text:
        raise ConfigError(f"{source}: contains NUL bytes: a binary file, not TOML text")
    doc = toml_document(text, source)
    try:
        cfg = msgspec.convert(doc.unwrap(), Config, strict=True)
    except msgspec.ValidationError as exc:
        raise config_check.explain(exc, source, text) from None
    except RecursionError:
        raise ConfigError(f"{source}: not a usable TOML file: nested too deeply") from None
    config_check.check(cfg, source, text)
    return cfg


_KINDS = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
          (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
          (stat.S_ISSOCK, "a socket"))


def read_text(path: Path) -> str:
    """The text of a config file — the one reader every read of the file goes through.

    Bounded and never blocking: the file is opened with O_NONBLOCK (a FIFO or a device
    opens at once, and nothing waits for a writer), `fstat` on the open descriptor decides
    before a byte is read: anything but a regular file is refused, so is a file larger
    than MAX_CONFIG_BYTES; at most MAX_CONFIG_BYTES + 1 bytes are ever read (a file that
    grows meanwhile is refused too). Raises ConfigMissing when nothing is at `path`, else
    ConfigError naming the file and the fault: unreadable, not a regular file, too large,
    not UTF-8 (with the line and column of the first bad byte). A UTF-8 BOM is accepted."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    except FileNotFoundError:
        raise ConfigMissing(f"{path}: no such file") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None
    try:
        st = os.fstat(fd)
        for test, kind in _KINDS:
            if test(st.st_mode):
                raise ConfigError(f"{path}: cannot read: it is {kind}, not a config file")
        if not stat.S_ISREG(st.st_mode):
            raise ConfigError(f"{path}: cannot read: not a regular file")
        if st.st_size > MAX_CONFIG_BYTES:
            raise _too_large(path)
        chunks: list[bytes] = []
        got = 0
        while got <= MAX_CONFIG_BYTES:
            chunk = os.read(fd, MAX_CONFIG_BYTES + 1 - got)
            if not chunk:
                break
            chunks.append(chunk)
            got += len(chunk)
        data = b"".join(chunks)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None
    finally:
        os.close(fd)
    if len(data) > MAX_CONFIG_BYTES:
        raise _too_large(path)
    return _decode(data, path)


def read_text_or_none(path: Path) -> str | None:
    """`read_text`, or None when nothing is at `path`."""
    try:
        return read_text(path)
    except ConfigMissing:
        return None


def _too_large(path: Path) -> ConfigError:
    return ConfigError(f"{path}: larger than {MAX_CONFIG_BYTES // 1024} KiB: not a storyd "
                       "config file (wrong --config path?)")


def _decode(data: bytes, path: Path) -> str:
    data = data.removeprefix(b"\xef\xbb\xbf")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise ConfigError(f"{path}:{line}: not UTF-8 text (byte 0x{data[exc.start]:02x} at "
                          f"column {column}): save the file as UTF-8") from None


def load(path: Path | None) -> Config:
    """Load the config file; a missing file means the defaults (at start: a reload keeps
    the running config instead, see `load_existing`). Any fault of the file is a
    ConfigError naming it and saying why."""
    if path is None:
        return defaults()
    text = read_text_or_none(path)
    return defaults() if text is None else parse(text, str(path))


def load_existing(path: Path) -> Config:
    """Load the config file; ConfigMissing when it is not there (an empty file is the
    defaults: that has to be said on purpose)."""
    return parse(read_text(path), str(path))


def to_builtins(cfg: msgspec.Struct) -> dict[str, Any]:
    return msgspec.to_builtins(cfg)  # type: ignore[no-any-return]


def dump_toml(cfg: Config, *, mask: bool = True) -> str:
    data = to_builtins(cfg)
    return tomlkit.dumps(masked(data) if mask else data)


def get_value(cfg: Config, key: str) -> Any:
    """The value at a dotted key ("voting.duration"), masked if secret. Raises ConfigError."""
    try:
        value = config_check.get_path(to_builtins(cfg), key)
    except (KeyError, TypeError):
        raise ConfigError(f"unknown config key '{key}'{_key_hint(key)}") from None
    leaf = key.rsplit(".", 1)[-1]
    if leaf in SECRET_KEYS and value:
        return MASK
    return masked(value, _table=leaf)


def _all_keys(data: Any, prefix: str = "") -> list[str]:
    out = []
    if isinstance(data, dict):
        for k, v in data.items():
            p = f"{prefix}.{k}" if prefix else k
            out.append(p)
            out.extend(_all_keys(v, p))
    return out


def _key_hint(key: str) -> str:
    hint = difflib.get_close_matches(key, _all_keys(to_builtins(defaults())), n=1)
    return f"; did you mean '{hint[0]}'?" if hint else ""


def _coerce(raw: str, current: Any, key: str) -> Any:
    """Turn the operator's VALUE string into the type the key holds now."""
    if isinstance(current, bool):
        low = raw.strip().lower()
        if low in ("true", "yes", "on", "1"):
            return True
        if low in ("false", "no", "off", "0"):
            return False
        raise ConfigError(f"{key}: expected true or false, got {raw!r}")
    if isinstance(current, int):
        try:
            return int(raw)
        except ValueError:
            raise ConfigError(f"{key}: expected a whole number, got {raw!r}") from None
    if isinstance(current, float):
        try:
            return float(raw)
        except ValueError:
            raise ConfigError(f"{key}: expected a number, got {raw!r}") from None
    if isinstance(current, dict):
        try:
            table = tomlkit.parse(f"v = {raw}")["v"]
        except tomlkit.exceptions.ParseError:
            raise ConfigError(f"{key}: expected an inline table like {{ name = \"value\" }}, "
                              f"got {raw!r}") from None
        value = table.unwrap() if hasattr(table, "unwrap") else table
        if not isinstance(value, dict):
            raise ConfigError(f"{key}: expected an inline table, got {raw!r}")
        return value
    if isinstance(current, (list, tuple)):
        try:
            value = tomlkit.parse(f"v = {raw}")["v"].unwrap()
        except tomlkit.exceptions.ParseError:
            value = [p.strip() for p in raw.split(",") if p.strip()]
        if not isinstance(value, list):
            value = [value]
        return value
    return raw


def _unmask(value: Any, current: Any, leaf: str) -> Any:
    """A value echoed back masked (a form showing `masked()` data) keeps the secret."""
    if leaf in SECRET_KEYS and value == MASK:
        return current
    if leaf in SECRET_TABLES and isinstance(value, dict) and isinstance(current, dict):
        return {k: (current.get(k, v) if v == MASK else v) for k, v in value.items()}
    if isinstance(value, str) and isinstance(current, str) and f"://{MASK}@" in value and (
            mask_url(current) == value):
        return current
    return value


def set_value(path: Path, key: str, raw: str) -> Config:
    """Set KEY to VALUE in the file at `path`, keeping its comments (see set_values)."""
    return set_values(path, {key: raw})


def set_values(path: Path, changes: Mapping[str, str]) -> Config:
    """Set several keys at once in the file at `path`, keeping its comments.

    The changes are validated as a whole (see apply_changes) before anything is written;
    the file is replaced atomically (temp file in the same folder, fsync, rename). Returns
    the new Config. Raises ConfigError, and leaves the file untouched, on any problem.
    """
    text = read_text_or_none(path) or ""
    new_text, cfg = apply_changes(text, changes, str(path))
    atomic_write(path, new_text)
    return cfg


def apply_changes(text: str, changes: Mapping[str, str], source: str = "<config>"
                  ) -> tuple[str, Config]:
    """The config file text with several keys set, and the Config it gives (pure).

    Values are the operator's strings, coerced to each key's type. All changes are applied
    to the parsed document (comments kept) and the result is validated as a whole, so a
    provider's preset and base_url can change together. Raises ConfigError naming the key.
    """
    current_data = to_builtins(parse(text, source))
    doc = toml_document(text, source)
    for key, raw in changes.items():
        parts = key.split(".")
        if not all(parts):
            raise ConfigError(f"bad config key '{key}'")
        try:
            current = config_check.get_path(current_data, key)
        except (KeyError, TypeError):
            if len(parts) == 3 and parts[0] == "providers":
                try:
                    current = config_check.get_path(to_builtins(ProviderConfig()), parts[2])
                except (KeyError, TypeError):
                    raise ConfigError(f"unknown config key '{key}'{_key_hint(key)}") from None
            else:
                raise ConfigError(f"unknown config key '{key}'{_key_hint(key)}") from None
        if isinstance(current, dict) and not (parts[0] == "providers" and len(parts) == 3
                                              and parts[2] in ("headers", "voices")):
            raise ConfigError(f"{key} is a section; set one of its keys")
        value = _unmask(_coerce(raw, current, key), current, parts[-1])
        table: Any = doc
        for part in parts[:-1]:
            if part not in table:
                table[part] = tomlkit.table()
            table = table[part]
        table[parts[-1]] = value
    new_text = tomlkit.dumps(doc)
    return new_text, parse(new_text, source)


_SECRET_LINE = re.compile(rf"(?m)^\s*(?:{'|'.join(SECRET_KEYS)})\s*=\s*[\"'][^\"']")


def atomic_write(path: Path, text: str, mode: int | None = None) -> None:
    """Replace the file in one step. It keeps its mode; a new file is 0600 when it holds a
    secret (an inline api_key/sign_api_key), else 0644. An existing file that gains a secret
    loses group/other access."""
    if mode is None:
        try:
            mode = os.stat(path).st_mode & 0o7777
        except FileNotFoundError:
            mode = 0o644
        if _SECRET_LINE.search(text):
            mode &= 0o700
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
