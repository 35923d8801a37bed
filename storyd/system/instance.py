"""One storyd per data folder, decided before any state is touched.

Theory of operation: the first thing a starting daemon does — before it writes the admin
token, opens the database or resumes a story — is take an exclusive `flock` on
`storyd.lock` in its data folder (`claim`). The lock belongs to the open file, so it is
released when the process ends however it ends (kill -9 included); nothing stale is ever
left to clean up. The holder writes its pid and control socket into the file, so a second
storyd that finds the lock taken can say where the running one answers. The control
socket is checked next (storyd.control.socket_file.clear_stale_socket), so a second storyd
with another data folder but the same socket is refused before its own database opens too.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from storyd.errors import StorydError

LOCK_NAME = "storyd.lock"


class InstanceLock:
    """The held lock; `release()` (idempotent) lets the next storyd in."""

    def __init__(self, fd: int, path: Path) -> None:
        self._fd: int | None = fd
        self.path = path

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)      # closing the file releases the flock


def claim(data_dir: Path, socket_path: Path) -> InstanceLock:
    """Take the data folder's lock, or StorydError naming the running storyd's socket
    ("another storyd is running on …: stop it first"). Creates the folder (0700) if needed."""
    try:
        data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        path = data_dir / LOCK_NAME
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    except OSError as exc:
        raise StorydError(f"cannot use the data folder {data_dir}: "
                          f"{exc.strerror or exc}") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = _holder_socket(fd) or str(socket_path)
        os.close(fd)
        raise StorydError(f"another storyd is running on {holder}: stop it first "
                          f"(`storyctl --socket {holder} status` shows it; it holds "
                          f"{path})") from None
    except OSError as exc:
        os.close(fd)
        raise StorydError(f"cannot lock {path}: {exc.strerror or exc}") from None
    # Who holds the lock serves only a second storyd's message: a disk that is still full
    # (a start that resumes from a recovery file) or failing is no reason to stop here.
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n{socket_path}\n".encode(), 0)
    except OSError:
        pass
    return InstanceLock(fd, path)


def _holder_socket(fd: int) -> str:
    """The control socket the lock's holder wrote into the file ("" when unknown)."""
    try:
        lines = os.pread(fd, 4096, 0).decode("utf-8", "replace").splitlines()
    except OSError:
        return ""
    return lines[1].strip() if len(lines) > 1 else ""
