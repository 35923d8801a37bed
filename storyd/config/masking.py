"""Secrets in configuration and in anything storyd shows: masked, never printed.

`masked()` hides secret config values (SECRET_KEYS, every value of SECRET_TABLES such as a
provider's custom `headers`, and the `user:password@` part of any URL) in plain config data;
`scrub()` does the same for free text and reports (provider answers, errors), given the
secret strings a config holds (`secret_values`). `storyd.config.loader` re-exports all of these.
"""

from __future__ import annotations

import os
import re
from typing import Any

SECRET_KEYS = frozenset({"api_key", "sign_api_key", "admin_token", "password", "session_id"})
SECRET_TABLES = frozenset({"headers"})    # every value of these tables is a secret
MASK = "********"
_USERINFO = re.compile(r"(?P<scheme>\b[A-Za-z][A-Za-z0-9+.-]*://)(?P<info>[^/?#@\s]+)@")


def resolve_secret(inline: str, env_name: str) -> str:
    """The secret from the inline value or the named environment variable ("" when neither)."""
    if inline:
        return inline
    return os.environ.get(env_name, "") if env_name else ""


def mask_url(text: str) -> str:
    """`user:pass@` in every URL of `text` replaced by the mask (the rest kept)."""
    return _USERINFO.sub(lambda m: f"{m['scheme']}{MASK}@", text)


def masked(data: Any, *, _table: str = "") -> Any:
    """A deep copy of plain config data with every secret replaced by a mask: SECRET_KEYS,
    every value of a SECRET_TABLES table (custom provider `headers`), and the user:password
    part of any URL (`base_url = "https://user:pass@host/v1"`)."""
    if isinstance(data, dict):
        return {k: (MASK if (k in SECRET_KEYS or _table in SECRET_TABLES) and v
                    else masked(v, _table=k)) for k, v in data.items()}
    if isinstance(data, list | tuple):
        return [masked(v) for v in data]
    if isinstance(data, str):
        return mask_url(data)
    return data


def secret_values(cfg: Any) -> set[str]:
    """Every secret string `cfg` (a storyd.config.structs.Config, typed loosely) holds or
    points to (inline keys, keys from the environment, header values, URL passwords): what
    `scrub` removes from free text."""
    found: set[str] = set()
    for prov in cfg.providers.values():
        found.add(resolve_secret(prov.api_key, prov.api_key_env))
        found.update(prov.headers.values())
        for value in prov.headers.values():   # "Bearer sk-…": the token alone, too
            found.update(value.split())
        for m in _USERINFO.finditer(prov.base_url):
            found.add(m["info"])
            found.update(m["info"].split(":", 1))
    tt = cfg.chat.tiktok
    found.add(resolve_secret(tt.sign_api_key, tt.sign_api_key_env))
    for url in (tt.proxy, tt.sign_api_url):
        found.update(m["info"] for m in _USERINFO.finditer(url))
    return {v for v in found if len(v) >= 4 and v not in {"Bearer", "Basic", "Token"}}


def scrub(data: Any, secrets: set[str]) -> Any:
    """A deep copy of any plain data (a provider report, an error) with URL passwords and
    every string of `secrets` (see secret_values) masked. Longest secrets first."""
    if isinstance(data, dict):
        return {k: scrub(v, secrets) for k, v in data.items()}
    if isinstance(data, list | tuple):
        return [scrub(v, secrets) for v in data]
    if isinstance(data, str):
        text = mask_url(data)
        for secret in sorted(secrets, key=len, reverse=True):
            text = text.replace(secret, MASK)
        return text
    return data
