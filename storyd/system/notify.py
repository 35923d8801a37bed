"""sd_notify without a dependency: READY=1, STOPPING=1, RELOADING=1 and STATUS= lines."""

from __future__ import annotations

import os
import socket


def notify(*lines: str) -> bool:
    """Send lines to $NOTIFY_SOCKET; False (silently) when not under systemd or on error."""
    address = os.environ.get("NOTIFY_SOCKET", "")
    if not address:
        return False
    if address.startswith("@"):
        address = "\0" + address[1:]
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.connect(address)
            sock.sendall("\n".join(lines).encode("utf-8", "replace"))
        return True
    except OSError:
        return False
