"""A real full disk for tests: a small tmpfs mounted for the test, and a filler that takes
every free byte of it (root only; `mount_tiny` raises PermissionError elsewhere).

Used by tests/test_ballot_durability.py and tests/redteam_issue22.py.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def mount_tiny(path: Path, size: str = "2m") -> Iterator[Path]:
    """A tmpfs of `size` at `path` for the body of the `with`; unmounted afterwards (lazily,
    if a process still holds a file there)."""
    path.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs",
                           str(path)], capture_output=True, text=True)
    if done.returncode != 0:
        raise PermissionError(f"cannot mount a tmpfs at {path}: {done.stderr.strip()}")
    try:
        yield path
    finally:
        if subprocess.run(["umount", str(path)], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", str(path)], capture_output=True)


def fill(folder: Path, name: str = "filler") -> Path:
    """Take every free byte of the file system under `folder` with one file; delete the
    file to give the space back."""
    filler = folder / name
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    block = b"\0" * 65536
    try:
        while True:
            try:
                os.write(fd, block)
            except OSError:
                if len(block) == 1:
                    break
                block = block[:len(block) // 2]
    finally:
        os.close(fd)
    return filler


def free_bytes(folder: Path) -> int:
    st = os.statvfs(folder)
    return st.f_bavail * st.f_frsize
