"""Access rules of the web front: Host allow-list, Origin check, admin token, response headers.

Theory of operation: storyd listens on localhost by default, which a hostile web page can
still reach through DNS rebinding (its own name resolving to 127.0.0.1). Checking the Host
header against a short allow-list defeats that: the browser sends the attacker's name, which
is not on the list. The admin token proves the operator; it arrives as `Authorization: Bearer`
or as the HttpOnly, SameSite=Strict cookie the admin page sets when opened with `?token=`.
Tokens are compared in constant time. Cross-site requests carrying the cookie are refused by
the Origin check (browsers always send Origin on websockets and on cross-site POSTs).

Everything here is pure: plain strings in, booleans out, so it is table-tested directly.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from storyd.config.structs import ServerConfig

COOKIE_NAME = "storyd_admin"
LOCAL_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
WILDCARD_BINDS = frozenset({"", "0.0.0.0", "::"})

# style-src admits inline <style>: OBS injects a browser source's Custom CSS as one, and a
# streamer's CSS must apply. Scripts stay 'self' only (no inline, no eval): nothing a viewer
# or a model writes can run, and CSS cannot run script in today's browsers.
PAGE_CSP = ("default-src 'self'; img-src 'self' data:; media-src 'self'; connect-src 'self'; "
            "style-src 'self' 'unsafe-inline'; script-src 'self'; frame-ancestors 'self'; "
            "base-uri 'none'; form-action 'self'")
SVG_CSP = "default-src 'none'; style-src 'unsafe-inline'"
EXPORT_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; sandbox"


def host_name(host_header: str) -> str:
    """The host part of a Host header value, lower-cased, without port or IPv6 brackets."""
    h = host_header.strip().lower()
    if h.startswith("["):
        end = h.find("]")
        return h[1:end] if end > 0 else ""
    if h.count(":") == 1:
        return h.split(":", 1)[0]
    return h


def allowed_hosts(server: ServerConfig) -> frozenset[str]:
    """Every host name the server answers to: localhost names, the bound host, the extras."""
    names = set(LOCAL_NAMES)
    bound = server.host.strip().lower().strip("[]")
    if bound not in WILDCARD_BINDS:
        names.add(bound)
    names.update(h.strip().lower().strip("[]") for h in server.allowed_hosts if h.strip())
    if server.public_url:
        public = urlsplit(server.public_url).hostname
        if public:
            names.add(public.lower())
    return frozenset(names)


def host_allowed(host_header: str | None, server: ServerConfig) -> bool:
    if not host_header:
        return False
    return host_name(host_header) in allowed_hosts(server)


def origin_allowed(origin: str | None, host_header: str | None, server: ServerConfig) -> bool:
    """True when the Origin names this very server (same host and port) on an allowed host."""
    if not origin or not host_header:
        return False
    parts = urlsplit(origin)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return False
    return (parts.netloc.lower() == host_header.strip().lower()
            and host_allowed(parts.netloc, server))


def presented_token(headers: Any, cookies: Mapping[str, str]) -> tuple[str, str]:
    """(token, how) from the Authorization header or the admin cookie; ("", "") when none."""
    auth = headers.get("Authorization", "")
    if auth[:7].lower() == "bearer ":
        return auth[7:].strip(), "bearer"
    cookie = cookies.get(COOKIE_NAME, "")
    if cookie:
        return cookie, "cookie"
    return "", ""


def token_matches(presented: str, expected: str) -> bool:
    """Constant-time comparison; an empty expected token never matches."""
    if not presented or not expected:
        return False
    return hmac.compare_digest(presented.encode("utf-8"), expected.encode("utf-8"))
