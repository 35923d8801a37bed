"""Start-up and stop of the real storyd process, as systemd sees them.

    python tests/bench/bench_ready.py

Per run: seconds from exec of `python -m storyd.cli` to `READY=1` on NOTIFY_SOCKET (control
socket, database and web server all serving), and from SIGTERM to exit. Sources: `local` only,
then `tiktok` with a `room_id` (TikTokLive is imported in its worker thread after READY; the
sign server is unreachable, so no live connection is held). Target (issue 12): READY within
1 s with TikTok configured on an idle machine.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = str(Path(__file__).resolve().parents[2])   # run from a checkout, uninstalled


def run(sources: list[str]) -> None:
    tmp = Path(tempfile.mkdtemp())
    cfg = tmp / "storyd.toml"
    port = 18000 + os.getpid() % 1000
    cfg.write_text(f'''[server]\nport = {port}\n[control]\nsocket = "{tmp}/c.sock"\n[storage]\ndata_dir = "{tmp}/data"\ncache_dir = "{tmp}/cache"\n[chat]\nsources = {sources!r}\n[chat.tiktok]\nroom_id = "7123"\nsign_api_url = "http://127.0.0.1:9"\n'''.replace("'", '"'))
    ns = str(tmp / "notify")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(ns)
    s.settimeout(30)
    env = dict(os.environ, NOTIFY_SOCKET=ns, PYTHONPATH=ROOT, XDG_RUNTIME_DIR=str(tmp))
    t = time.monotonic()
    p = subprocess.Popen([sys.executable, "-m", "storyd.cli", "--config", str(cfg)], env=env, cwd=ROOT,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while True:
        msg = s.recv(4096).decode()
        if "READY=1" in msg:
            break
    ready = time.monotonic() - t
    t = time.monotonic()
    p.terminate()
    p.wait(10)
    stop = time.monotonic() - t
    s.close()
    print(f"{sources}: READY {ready:.2f} s after exec, SIGTERM exit {stop:.2f} s")


for src in (["local"], ["tiktok"], ["tiktok"], ["tiktok"]):
    run(src)
