"""POST config: turn a web form's changes into `config set` calls, validated all before any.

The admin form sends typed JSON values (numbers, booleans, lists); the control protocol's
ConfigSet takes the operator's string, as `storyctl config set KEY VALUE` does. All changes are
tried together on the file's text (keys that only make sense together, like a new provider's
preset and base_url, pass); when that fails each change is tried alone, so every bad field gets
its own inline message. The control protocol's ConfigUpdate then applies and writes them in one
atomic step. A secret sent back as the mask ("********") means "unchanged" and is dropped.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from storyd.config.loader import apply_changes, read_text_or_none
from storyd.config.masking import MASK, SECRET_KEYS
from storyd.errors import ConfigError
from storyd.web.openapi import MAX_CHANGES, ConfigUpdate


class ChangeError(Exception):
    """Some changes are invalid; `fields` maps each offending key to its message."""

    def __init__(self, message: str, fields: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.fields = fields or {}


def as_text(key: str, value: Any) -> str:
    """The ConfigSet string for one JSON value."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | str):
        return str(value)
    if isinstance(value, list) and all(isinstance(v, str | int | float) for v in value):
        return json.dumps(value, ensure_ascii=False)   # a JSON array of scalars is TOML too
    raise ChangeError(f"{key}: unsupported value {type(value).__name__}",
                      {key: "unsupported value"})


def changes_of(update: ConfigUpdate) -> dict[str, str]:
    """The changes as {key: text}; raises ChangeError when the body names none or both forms."""
    if (update.key is None) == (update.changes is None):
        raise ChangeError("send either {\"key\", \"value\"} or {\"changes\": {key: value}}")
    raw = {update.key: update.value} if update.key is not None else dict(update.changes or {})
    if not raw:
        raise ChangeError("no changes given")
    if len(raw) > MAX_CHANGES:
        raise ChangeError(f"too many changes at once (at most {MAX_CHANGES})")
    out: dict[str, str] = {}
    for key, value in raw.items():
        if not isinstance(key, str) or not key:
            raise ChangeError("config keys must be non-empty strings")
        if value is None:
            raise ChangeError(f"{key}: a value is required", {key: "a value is required"})
        if key.rsplit(".", 1)[-1] in SECRET_KEYS and value == MASK:
            continue    # the form echoed the mask: keep the secret as it is
        out[key] = as_text(key, value)
    return out


def validate(config_path: Path, changes: dict[str, str]) -> None:
    """Raise ChangeError unless all changes together give a valid config.

    Pure checks on the file's text (config.apply_changes); the file is never touched here.
    """
    path = Path(config_path)
    try:
        text = read_text_or_none(path) or ""
    except ConfigError as exc:   # the file itself is broken: say so, change nothing
        raise ChangeError(str(exc)) from None

    def attempt(subset: dict[str, str]) -> str | None:
        try:
            apply_changes(text, subset, str(path))
        except ConfigError as exc:
            return _short(str(exc), str(path))
        return None

    together = attempt(changes)
    if together is None:
        return
    fields = {key: msg for key, value in changes.items()
              if (msg := attempt({key: value})) is not None}
    if not fields:     # each fine alone, wrong together: blame them all
        fields = dict.fromkeys(changes, together)
    first = next(iter(fields.values()))
    raise ChangeError(first if len(fields) == 1 else f"{len(fields)} invalid values", fields)


def _short(message: str, source: str) -> str:
    """Drop the file's name (and line) from a ConfigError message, for an inline field error."""
    if message.startswith(source):
        rest = message[len(source):]
        if rest.startswith(":"):
            rest = rest[1:]
            head, sep, tail = rest.partition(":")
            rest = tail if sep and head.strip().isdigit() else rest
        return rest.strip()
    return message
