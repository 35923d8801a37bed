"""The control socket's file on disk: a private directory, no stale or foreign socket in
the way, and a listener bound 0600 (see storyd.control.server for the whole story)."""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

import trio

from storyd.errors import StorydError

log = logging.getLogger("storyd.control.server")


def check_private_dir(directory: Path) -> None:
    """Create `directory` 0700, or make sure an existing one is ours and private enough."""
    if not directory.exists():
        try:
            directory.mkdir(mode=0o700, parents=True)
            os.chmod(directory, 0o700)  # mkdir's mode is filtered by the umask
        except OSError as exc:
            raise StorydError(f"cannot create control socket directory {directory}: "
                              f"{exc.strerror}") from None
        return
    st = directory.stat()
    if not stat.S_ISDIR(st.st_mode):
        raise StorydError(f"control socket directory {directory} is not a directory")
    if st.st_uid != os.getuid():
        raise StorydError(f"control socket directory {directory} belongs to uid {st.st_uid}, "
                          "not to you: set [control] socket or $STORYD_SOCKET to a path in "
                          "a private directory")
    if st.st_mode & 0o022:
        raise StorydError(f"control socket directory {directory} is group- or world-writable "
                          f"(mode {stat.S_IMODE(st.st_mode):o}): chmod 700 it, or set "
                          "[control] socket / $STORYD_SOCKET to a private directory")


def socket_file_exists(path: Path) -> bool:
    """True when a socket file is at `path`; raises when something else is there."""
    try:
        st = path.lstat()
    except FileNotFoundError:
        return False
    if not stat.S_ISSOCK(st.st_mode):
        raise StorydError(f"{path} exists and is not a socket: remove it or choose another "
                          "control socket path")
    return True


def inode(path: Path) -> int | None:
    try:
        return path.stat().st_ino
    except FileNotFoundError:
        return None


async def clear_stale_socket(path: Path) -> None:
    """Remove a socket file nobody answers on; refuse when a live server owns it."""
    if not socket_file_exists(path):
        return
    try:
        stream = await trio.open_unix_socket(str(path))
    except PermissionError:
        raise StorydError(f"{path} is a socket you may not use (another user's storyd?): "
                          "choose another control socket path") from None
    except (ConnectionRefusedError, FileNotFoundError):
        log.info("removing stale control socket %s", path)
        os.unlink(path)
        return
    await stream.aclose()
    raise StorydError(f"another storyd is running on {path}: stop it first "
                      f"(`storyctl --socket {path} status` shows it)")


async def bind(path: Path) -> tuple[trio.SocketListener, int]:
    sock = trio.socket.socket(trio.socket.AF_UNIX, trio.socket.SOCK_STREAM)
    try:
        await sock.bind(str(path))
        os.chmod(path, 0o600)
        sock.listen(128)
    except OSError as exc:
        sock.close()
        raise StorydError(f"cannot listen on control socket {path}: {exc.strerror or exc}"
                          + (" (the path is too long for a Unix socket; choose a shorter one)"
                             if len(os.fsencode(path)) > 100 else "")) from None
    return trio.SocketListener(sock), os.stat(path).st_ino
