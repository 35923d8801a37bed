"""Re-run issue 11's client-side attacks against a real storyd process; print figures.

    python tests/redteam_issue11.py

Not a pytest file (the regression tests are tests/test_*hardening*.py and friends): this is
the outside re-run the issue asks for, on temporary folders, in about 20 seconds.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import trio
from trio_websocket import open_websocket_url

ROOT = Path(__file__).resolve().parent.parent
API = "/api/interactive-story"


def ctl(sock: Path, line: bytes) -> bytes:
    """Send one raw line on the control socket; the reply line."""
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(10)
        s.connect(str(sock))
        s.sendall(line)
        data = b""
        while not data.endswith(b"\n"):
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    return data


async def deep_frames(base: str) -> None:
    async with open_websocket_url(base.replace("http", "ws", 1) + "/ws/overlay") as ws:
        await ws.get_message()
        for _ in range(200):
            await ws.send_message("[" * 1000 + "]" * 1000)
        await ws.send_message('{"event": "ping"}')
        while "pong" not in await ws.get_message():
            pass


def main() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="storyd-redteam-"))
    cfg = tmp / "storyd.toml"
    cfg.write_text(f'[server]\nport = 0\n[control]\nsocket = "{tmp}/run/control.sock"\n'
                   f'[storage]\ndata_dir = "{tmp}/data"\ncache_dir = "{tmp}/cache"\n'
                   "[tts]\nenabled = false\n")
    logfile = tmp / "storyd.log"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    sock = tmp / "run" / "control.sock"
    with logfile.open("wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "storyd.cli", "--config", str(cfg)],
                                stdout=log, stderr=subprocess.STDOUT, env=env, cwd=ROOT)
    try:
        deadline = time.monotonic() + 30
        while not sock.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(0.5)
        url = json.loads(ctl(sock, b'{"v":1,"id":1,"request":{"cmd":"admin-url"}}\n'))
        base, token = url["result"]["url"].split("/admin/?token=")
        alive = lambda: proc.poll() is None  # noqa: E731
        print("1. 1,000 '[' on the control socket:", ctl(sock, b"[" * 1000 + b"\n")[:70],
              "alive:", alive())
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"},
                          timeout=10) as c:
            deep = b"[" * 1000 + b"]" * 1000
            for route in ("vote", "chat", "config"):
                print(f"9. deep JSON POST /{route}:",
                      c.post(f"{API}/{route}", content=deep).status_code)
            print("9. invalid UTF-8 POST /vote:",
                  c.post(f"{API}/vote", content=b'{"viewer":"\xff","choice":"a"}').status_code)
            print("9. GET session/11405098181550602240:",
                  c.get(f"{API}/session/11405098181550602240").status_code)
            reply = ctl(sock, b'{"v":1,"id":2,"request":{"cmd":"session",'
                              b'"id":11405098181550602240}}\n')
            print("   the same on the socket:", json.loads(reply)["error"]["code"])
            r = c.request("TRACE", f"{API}/status")
            print("13. TRACE:", r.status_code, "Allow:", r.headers.get("allow"))
        before = logfile.stat().st_size
        trio.run(deep_frames, base)
        time.sleep(0.3)
        print("10. log bytes after 200 deep frames on /ws/overlay:",
              logfile.stat().st_size - before)
        held = []
        for _ in range(70):
            s = socket.socket(socket.AF_UNIX)
            s.connect(str(sock))
            s.sendall(b'{"v":1,"id":1,"requ')
            held.append(s)
        started, served = time.monotonic(), None
        while served is None and time.monotonic() - started < 30:
            try:
                if b'"ok":true' in ctl(sock, b'{"v":1,"id":3,"request":{"cmd":"status"}}\n'):
                    served = time.monotonic() - started
            except OSError:
                pass
            time.sleep(0.5)
        print("7. 70 clients holding half a line: a new client served after",
              f"{served:.1f} s" if served is not None else "NEVER (30 s)")
        for s in held:
            s.close()
        good = cfg.read_bytes()
        cfg.write_bytes(good + b"\n# caf\xe9\n")
        proc.send_signal(signal.SIGHUP)
        time.sleep(1.5)
        print("4. SIGHUP with invalid UTF-8 in the config: alive:", alive())
        cfg.write_bytes(good)
        r2 = subprocess.run([sys.executable, "-m", "storyd.cli", "--config", "/bin/ls",
                             "--check-config"], capture_output=True, env=env, cwd=ROOT)
        print("4. storyd --check-config /bin/ls: exit", r2.returncode,
              r2.stderr.decode(errors="replace").strip()[:100])
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        proc.wait(15)
        print(f"   SIGTERM: exit {proc.returncode} after {time.monotonic() - started:.2f} s; "
              "tracebacks in the log:", logfile.read_text(errors="replace").count("Traceback"))
    finally:
        if proc.poll() is None:
            proc.kill()


if __name__ == "__main__":
    main()
