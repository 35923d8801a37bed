"""`storyctl status` as a whole process, against a real storyd.

    python tests/bench/bench_storyctl.py [--runs 20]

Starts `python -m storyd.cli` on temporary folders (local chat only), waits for READY=1 on
NOTIFY_SOCKET, then runs `python -m storyd.ctl.main --socket S status` (and `--json
status`) `--runs` times each, interleaved with a bare `python -c pass` for the interpreter's
own start: wall time from exec to exit of each process. Prints median and 90th percentile
and the machine's load average. Target (issue 23): `storyctl status` <= 150 ms.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = str(Path(__file__).resolve().parents[2])   # run from a checkout, uninstalled


def timed(cmd: list[str], env: dict[str, str]) -> float:
    t = time.perf_counter()
    subprocess.run(cmd, env=env, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=20)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp())
    sock = tmp / "c.sock"
    cfg = tmp / "storyd.toml"
    cfg.write_text(f'[server]\nport = 0\n[control]\nsocket = "{sock}"\n[storage]\n'
                   f'data_dir = "{tmp}/data"\ncache_dir = "{tmp}/cache"\n', encoding="utf-8")
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(str(tmp / "notify"))
    notify.settimeout(60)
    env = dict(os.environ, NOTIFY_SOCKET=str(tmp / "notify"), PYTHONPATH=ROOT,
               XDG_RUNTIME_DIR=str(tmp))
    daemon = subprocess.Popen([sys.executable, "-m", "storyd.cli", "--config", str(cfg)],
                              env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        while "READY=1" not in notify.recv(4096).decode():
            pass
        env.pop("NOTIFY_SOCKET")
        load = os.getloadavg()[0]
        ctl = [sys.executable, "-m", "storyd.ctl.main", "--socket", str(sock)]
        runs: dict[str, list[float]] = {"python -c pass": [], "storyctl status": [],
                                        "storyctl --json status": []}
        for _ in range(args.runs):
            runs["python -c pass"].append(timed([sys.executable, "-c", "pass"], env))
            runs["storyctl status"].append(timed([*ctl, "status"], env))
            runs["storyctl --json status"].append(timed([*ctl, "--json", "status"], env))
        for name, xs in runs.items():
            xs.sort()
            print(f"{name:24} median {statistics.median(xs) * 1000:6.1f} ms, p90 "
                  f"{xs[int(0.9 * (len(xs) - 1))] * 1000:6.1f} ms ({len(xs)} runs)")
        print(f"load average {load:.2f} before, {os.getloadavg()[0]:.2f} after "
              f"(target: storyctl status <= 150 ms as a whole process)")
    finally:
        daemon.terminate()
        daemon.wait(10)
        notify.close()


if __name__ == "__main__":
    main()
