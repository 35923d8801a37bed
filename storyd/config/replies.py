"""The answers of the config commands (`config show|get|set`, POST config), as frozen Structs.

Secrets are masked before a value is put into one of these. A value's type depends on its
key (a number for `voting.duration`, a list for `chat.sources`, a table for a section), so
values are plain JSON data; `UNSET` fields are left out on the wire.
"""

from __future__ import annotations

from typing import Any

import msgspec

from storyd.config.structs import Config


class KeyOrigin(msgspec.Struct, frozen=True, kw_only=True):
    """Where the value in effect of one dotted key comes from."""

    value: Any                     # masked when secret
    source: str                    # "default", "file", or the overriding flag ("--demo")
    # the file's own value, when a flag overrode it
    file_value: Any | msgspec.UnsetType = msgspec.UNSET


class ConfigOrigins(msgspec.Struct, frozen=True, kw_only=True):
    """`config show --origins`: the config in effect and where each key's value comes from."""

    config: Config
    origins: dict[str, KeyOrigin]


class ConfigValue(msgspec.Struct, frozen=True, kw_only=True):
    """`config get KEY`: the value in effect, with its origin (a whole section has none)."""

    key: str
    value: Any
    source: str | msgspec.UnsetType = msgspec.UNSET
    file_value: Any | msgspec.UnsetType = msgspec.UNSET


class ConfigSetReply(msgspec.Struct, frozen=True, kw_only=True):
    """`config set KEY VALUE`: the new value in effect and the file it was written to."""

    key: str
    value: Any
    file: str


class ConfigUpdateReply(msgspec.Struct, frozen=True, kw_only=True):
    """Several keys set at once (POST config, `config-update`): each new value, and the file."""

    changes: dict[str, Any]
    file: str
