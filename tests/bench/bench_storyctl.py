"""`storyctl status` as a whole process, against a real storyd.

    python tests/bench/bench_storyctl.py [--runs 20] [--no-bytecode]

Starts `python -m storyd.cli` on temporary folders (local chat only), waits for READY=1 on
NOTIFY_SOCKET, then runs `python -m storyd.ctl.main --socket S status`, `--json status`, and
`status` with no --socket (the socket named in the config file, $STORYD_CONFIG: what an
operator types) `--runs` times each, interleaved with a bare `python -c pass` for the
interpreter's own start: wall time from exec to exit of each process and the process's CPU
time (user + system), as median, min, 90th percentile and spread, and the machine's load
average. Bytecode as installed by default (tests/bench/process_timing.py). Target (issue 23):
`storyctl status` <= 150 ms as a whole process.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from tests.bench.process_timing import ROOT, child_env, mode, summary, timed  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--no-bytecode", action="store_true",
                    help="compile storyd from source at every exec (PYTHONDONTWRITEBYTECODE)")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp())
    sock = tmp / "c.sock"
    cfg = tmp / "storyd.toml"
    cfg.write_text(f'[server]\nport = 0\n[control]\nsocket = "{sock}"\n[storage]\n'
                   f'data_dir = "{tmp}/data"\ncache_dir = "{tmp}/cache"\n', encoding="utf-8")
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(str(tmp / "notify"))
    notify.settimeout(60)
    env = child_env(os.environ, bytecode=not args.no_bytecode, cache=tmp / "pycache")
    env.update(NOTIFY_SOCKET=str(tmp / "notify"), XDG_RUNTIME_DIR=str(tmp))
    daemon = subprocess.Popen([sys.executable, "-m", "storyd.cli", "--config", str(cfg)],
                              env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        while "READY=1" not in notify.recv(4096).decode():
            pass
        env.pop("NOTIFY_SOCKET")
        from_config = dict(env, STORYD_CONFIG=str(cfg))
        ctl = [sys.executable, "-m", "storyd.ctl.main"]
        cases = {"python -c pass": ([sys.executable, "-c", "pass"], env),
                 "storyctl status": ([*ctl, "--socket", str(sock), "status"], env),
                 "storyctl --json status": ([*ctl, "--socket", str(sock), "--json", "status"],
                                            env),
                 "storyctl status (config)": ([*ctl, "status"], from_config)}
        for cmd, cmd_env in cases.values():
            timed(cmd, cmd_env)          # warm-up: fills the bytecode cache, not counted
        load = os.getloadavg()[0]
        wall: dict[str, list[float]] = {name: [] for name in cases}
        cpu: dict[str, list[float]] = {name: [] for name in cases}
        for _ in range(args.runs):
            for name, (cmd, cmd_env) in cases.items():
                w, c = timed(cmd, cmd_env)
                wall[name].append(w)
                cpu[name].append(c)
        print(f"{args.runs} runs each, interleaved; {mode(not args.no_bytecode)}")
        for name in cases:
            print(f"{name:26} wall {summary(wall[name])}")
            print(f"{'':26} cpu  {summary(cpu[name])}")
        achieved = statistics.median(wall["storyctl status"]) * 1000
        print(f"load average {load:.2f} before, {os.getloadavg()[0]:.2f} after; "
              f"target: storyctl status <= 150 ms as a whole process, achieved median "
              f"{achieved:.0f} ms ({'met' if achieved <= 150 else 'MISSED'})")
    finally:
        daemon.terminate()
        daemon.wait(10)
        notify.close()


if __name__ == "__main__":
    main()
