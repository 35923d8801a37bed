"""Start-up and stop of the real storyd process, as systemd sees them.

    python tests/bench/bench_ready.py [--runs 5] [--no-bytecode]

Per run: seconds from exec of `python -m storyd.cli` to `READY=1` on NOTIFY_SOCKET (control
socket, database and web server all serving), the CPU time (user + system, all threads)
the process had used by then, and from SIGTERM to exit. Sources: `local` only, then `tiktok`
with a `room_id` (TikTokLive is imported in its worker thread after READY; the sign server is
unreachable, so no live connection is held); the two alternate, `--runs` times each, each
run on fresh folders (a new database: its migrations are part of the start), after one
warm-up run that is not counted. Bytecode as installed by default
(tests/bench/process_timing.py). Target (issue 12, issue 23): READY within 1 s with TikTok
configured on an idle machine.
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

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from tests.bench.process_timing import (  # noqa: E402
    ROOT,
    child_env,
    cpu_so_far,
    mode,
    summary,
)


def run(sources: list[str], *, bytecode: bool, cache: Path) -> tuple[float, float, float]:
    """(seconds from exec to READY=1, CPU seconds used by then, seconds from SIGTERM to exit)"""
    tmp = Path(tempfile.mkdtemp())
    cfg = tmp / "storyd.toml"
    port = 18000 + os.getpid() % 1000
    cfg.write_text(f'''[server]\nport = {port}\n[control]\nsocket = "{tmp}/c.sock"\n[storage]\ndata_dir = "{tmp}/data"\ncache_dir = "{tmp}/cache"\n[chat]\nsources = {sources!r}\n[chat.tiktok]\nroom_id = "7123"\nsign_api_url = "http://127.0.0.1:9"\n'''.replace("'", '"'))
    ns = str(tmp / "notify")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(ns)
    s.settimeout(30)
    env = child_env(os.environ, bytecode=bytecode, cache=cache)
    env.update(NOTIFY_SOCKET=ns, XDG_RUNTIME_DIR=str(tmp))
    t = time.monotonic()
    p = subprocess.Popen([sys.executable, "-m", "storyd.cli", "--config", str(cfg)], env=env,
                         cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while True:
        msg = s.recv(4096).decode()
        if "READY=1" in msg:
            break
    ready = time.monotonic() - t
    cpu = cpu_so_far(p.pid)
    t = time.monotonic()
    p.terminate()
    p.wait(10)
    stop = time.monotonic() - t
    s.close()
    return ready, cpu, stop


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--no-bytecode", action="store_true",
                    help="compile storyd from source at every exec (PYTHONDONTWRITEBYTECODE)")
    args = ap.parse_args()
    bytecode = not args.no_bytecode
    cache = Path(tempfile.mkdtemp()) / "pycache"
    run(["tiktok"], bytecode=bytecode, cache=cache)       # warm-up, not counted
    load = os.getloadavg()[0]
    kinds = (["local"], ["tiktok"])
    got: dict[str, list[tuple[float, float, float]]] = {str(k): [] for k in kinds}
    for _ in range(args.runs):
        for sources in kinds:
            ready, cpu, stop = run(sources, bytecode=bytecode, cache=cache)
            got[str(sources)].append((ready, cpu, stop))
            print(f"{sources}: READY {ready:.2f} s after exec (CPU {cpu:.2f} s), "
                  f"SIGTERM exit {stop:.2f} s")
    print(f"{args.runs} runs each, interleaved; {mode(bytecode)}")
    for name, rows in got.items():
        print(f"{name:12} READY    {summary([r[0] for r in rows])}")
        print(f"{'':12} CPU      {summary([r[1] for r in rows])}")
        print(f"{'':12} SIGTERM  {summary([r[2] for r in rows])}")
    achieved = statistics.median(r[0] for r in got[str(["tiktok"])])
    print(f"load average {load:.2f} before, {os.getloadavg()[0]:.2f} after; target: READY "
          f"<= 1 s with TikTok configured, achieved median {achieved:.2f} s "
          f"({'met' if achieved <= 1 else 'MISSED'})")


if __name__ == "__main__":
    main()
