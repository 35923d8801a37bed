"""What the start-up benchmarks (bench_storyctl.py, bench_ready.py) share: the child's
environment, one timed process, and the summary line.

Bytecode: an installed storyd has its .pyc files (pip compiles them at install time), and a
checkout writes __pycache__/ on its first run. A shell with PYTHONDONTWRITEBYTECODE=1 (this
team's machines) would instead compile every storyd module from source at every exec, which
is not what a user's process does. So by default the children get a private bytecode cache
(PYTHONPYCACHEPREFIX, a temporary folder: nothing is written into the checkout or the venv),
filled by a warm-up run that is not counted; `--no-bytecode` measures compile-from-source
instead. The summary says which one it measured.

CPU time is the child's own (user + system, every thread): it depends much less on what
else the machine runs than wall time does, and so is the figure to compare across hours.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def child_env(base: Mapping[str, str], *, bytecode: bool, cache: Path) -> dict[str, str]:
    """`base` with the checkout on PYTHONPATH and the bytecode mode applied."""
    env = dict(base, PYTHONPATH=str(ROOT))
    if bytecode:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(cache)
    else:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        env.pop("PYTHONPYCACHEPREFIX", None)
    return env


def mode(bytecode: bool) -> str:
    return ("bytecode cached, as installed (warm-up run not counted)" if bytecode
            else "no bytecode: every storyd module compiled from source at each exec")


def timed(cmd: Sequence[str], env: Mapping[str, str]) -> tuple[float, float]:
    """(wall seconds from exec to exit, the child's CPU seconds); raises when it fails."""
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise subprocess.CalledProcessError(proc.returncode, list(cmd))
    return wall, usage.ru_utime + usage.ru_stime


def cpu_so_far(pid: int) -> float:
    """CPU seconds (user + system, all threads) a running process has used: /proc/PID/stat."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def summary(xs: Sequence[float]) -> str:
    """median, min, 90th percentile and the spread (max - min) of seconds, in ms."""
    s = sorted(xs)
    p90 = s[int(0.9 * (len(s) - 1))]
    return (f"median {statistics.median(s) * 1000:6.1f}  min {s[0] * 1000:6.1f}  "
            f"p90 {p90 * 1000:6.1f}  spread {(s[-1] - s[0]) * 1000:6.1f} ms")
