"""What the admin page's config form needs to know about each key (GET …/config/schema).

Types come from the Config structs (storyd/config.py): `bool`, `int`, `float`, `text`,
`enum` (a Literal, with its `options`), `multi` (a list of Literal values, e.g. chat.sources),
`list` (of strings), `map` (string → string) and `secret` (masked values). Help text is the
comment after each key in the shipped config/storyd.toml, so the form and the file say the
same thing. Provider sections are described once, as `providers.*.KEY`, from the commented
example block.
"""

from __future__ import annotations

import functools
import re
import types
import typing
from typing import Any

import msgspec

from storyd.config.masking import SECRET_KEYS
from storyd.config.structs import Config
from storyd.system import paths

_SECTION = re.compile(r"^\s*#?\s*\[(?P<name>[A-Za-z0-9_.]+)\]")
_KEY = re.compile(r"^\s*#?\s*(?P<key>[a-z_]+)\s*=\s*(?P<value>.*?)\s+#\s+(?P<help>.+)$")


def _comments(text: str) -> dict[str, str]:
    """dotted key → the comment after it; `[providers.x]` keys become `providers.*.key`."""
    out: dict[str, str] = {}
    section = ""
    for line in text.splitlines():
        m = _SECTION.match(line)
        if m:
            name = m.group("name")
            section = "providers.*" if name.startswith("providers.") else name
            continue
        m = _KEY.match(line)
        if m and section:
            out.setdefault(f"{section}.{m.group('key')}", m.group("help").strip())
    return out


def _kind(ftype: Any, name: str) -> tuple[str, list[Any]]:
    if name in SECRET_KEYS:
        return "secret", []
    origin = typing.get_origin(ftype)
    if origin is typing.Literal:
        return "enum", list(typing.get_args(ftype))
    if origin is tuple:
        item = typing.get_args(ftype)[0]
        if typing.get_origin(item) is typing.Literal:
            return "multi", list(typing.get_args(item))
        return "list", []
    if origin is dict:
        return "map", []
    if ftype is bool:
        return "bool", []
    if ftype is int:
        return "int", []
    if ftype is float:
        return "float", []
    if isinstance(ftype, types.UnionType):
        return "text", []
    return "text", []


def _walk(struct: type[msgspec.Struct], prefix: str, help_text: dict[str, str],
          out: list[dict[str, Any]]) -> None:
    hints = typing.get_type_hints(struct)
    defaults = struct()
    for field in msgspec.structs.fields(struct):
        key = f"{prefix}{field.name}"
        ftype = hints[field.name]
        if isinstance(ftype, type) and issubclass(ftype, msgspec.Struct):
            _walk(ftype, f"{key}.", help_text, out)
            continue
        if typing.get_origin(ftype) is dict and typing.get_args(ftype)[1] is not str:
            _walk(typing.get_args(ftype)[1], f"{key}.*.", help_text, out)
            continue
        kind, options = _kind(ftype, field.name)
        out.append({"key": key, "section": prefix.rstrip(".") or "general", "type": kind,
                    "options": options, "help": help_text.get(key, ""),
                    "default": msgspec.to_builtins(getattr(defaults, field.name))})


@functools.cache
def schema() -> dict[str, Any]:
    """{"fields": [{key, section, type, options, help, default}, …]} in the file's order."""
    try:
        text = paths.asset("data", "storyd.toml").read_text(encoding="utf-8")
    except OSError:
        text = ""
    fields: list[dict[str, Any]] = []
    _walk(Config, "", _comments(text), fields)
    return {"fields": fields}
