"""CI: the package as an index would ship it. `python -m build` makes the sdist and builds the
wheel *from that sdist*; a fresh venv installs the wheel; `storyd --demo` must then serve
/overlay/ and /admin/ and stop cleanly on SIGTERM. Run by .ci/run after the test suite."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def get(url: str) -> tuple[int, str]:
    with urllib.request.urlopen(url, timeout=5) as r:   # noqa: S310 (loopback only)
        return r.status, r.read().decode("utf-8", "replace")


def main() -> int:
    work = Path(tempfile.mkdtemp(prefix="storyd-wheel-"))
    try:
        dist = work / "dist"
        subprocess.run([sys.executable, "-m", "build", "--outdir", str(dist), str(ROOT)],
                       check=True, stdout=subprocess.DEVNULL)
        wheel = next(dist.glob("storyd-*.whl"))
        sdist = next(dist.glob("storyd-*.tar.gz"))
        print(f"built {sdist.name} and, from it, {wheel.name}")
        venv = work / "venv"
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(venv / "bin" / "pip"), "install", "-q", str(wheel)], check=True)
        home = work / "home"
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("XDG_", "STORYD_", "PYTHON", "VIRTUAL_ENV"))}
        env.update(HOME=str(home), XDG_CONFIG_HOME=str(home / "cfg"),
                   XDG_DATA_HOME=str(home / "data"), XDG_CACHE_HOME=str(home / "cache"),
                   XDG_RUNTIME_DIR=str(home / "run"))
        (home / "run").mkdir(parents=True)
        port = free_port()
        proc = subprocess.Popen([str(venv / "bin" / "storyd"), "--demo", "--port", str(port)],
                                cwd=work, env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True)
        try:
            base = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 60
            while True:
                try:
                    if get(base + "/healthz")[0] == 200:
                        break
                except OSError:
                    pass
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"storyd from the wheel did not start:\n{proc.stdout.read()}")  # type: ignore[union-attr]
                time.sleep(0.2)
            for page, marker in (("/overlay/", "<html"), ("/admin/", "<html")):
                status, body = get(base + page)
                assert status == 200 and marker in body.lower(), (page, status, body[:200])
                print(f"{page}: {status}, {len(body)} bytes")
            status, body = get(base + "/api/interactive-story/status")
            assert status == 200, status
            ctl = subprocess.run([str(venv / "bin" / "storyctl"), "status"], env=env,
                                 capture_output=True, text=True, timeout=30)
            assert ctl.returncode == 0, ctl.stderr
            print("storyctl status:", ctl.stdout.splitlines()[0] if ctl.stdout else "")
        finally:
            proc.send_signal(signal.SIGTERM)
            code = proc.wait(timeout=30)
        assert code == 0, f"storyd exited {code}"
        print("wheel smoke test passed")
        return 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
