"""Re-run issue 22's attacks from the outside against real storyd processes; print figures.

    python tests/redteam_issue22.py            (as root: the full-disk attack mounts a tmpfs)

Not a pytest file (the regression tests are tests/test_config_reader.py,
test_ballot_durability.py, test_single_instance.py, test_providers_decompress.py): this is the
outside re-run the issue asks for, on temporary folders, in about two minutes.

1. Huge and special files at the config path (300 MB sparse file, /dev/zero, a FIFO), each
   with SIGHUP and `config get`/`config show`: the slowest health check, the answers, RSS.
2. The config file deleted under the running daemon, then SIGHUP: the duration kept, the log.
3. A 2 MB tmpfs data folder filled during ingest, SIGTERM, restart: acknowledged vs stored.
4. A second storyd against the running one's data: its exit status and the live vote's ends_at.
5. A provider answering with a 10 GiB gzip bomb: storyd's peak RSS and slowest health check.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.tiny_disk import fill, mount_tiny  # noqa: E402

SERVER = """
import sys, trio
sys.path.insert(0, sys.argv[1])
from tests.fake_openai import FakeOpenAI
async def main():
    fake = FakeOpenAI("siliconflow")
    fake.script = ["gzip_bomb"] * 50
    async with trio.open_nursery() as n:
        print(await fake.start(n), flush=True)
        await trio.sleep(3600)
trio.run(main)
"""


def ctl(sock: Path, request: dict[str, Any], timeout: float = 30) -> Any:
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(timeout)
        s.connect(str(sock))
        s.sendall(json.dumps({"v": 1, "id": 1, "request": request}).encode() + b"\n")
        data = b""
        while not data.endswith(b"\n"):
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    return json.loads(data)


class Storyd:
    """One real `python -m storyd.cli` with its own folders (the data folder may be given)."""

    def __init__(self, tmp: Path, data: Path | None = None, extra: str = "") -> None:
        self.tmp, self.sock = tmp, tmp / "run" / "control.sock"
        self.config = tmp / "storyd.toml"
        self.text = (f'[server]\nport = 0\n[control]\nsocket = "{self.sock}"\n[storage]\n'
                     f'data_dir = "{data or tmp / "data"}"\ncache_dir = "{tmp}/cache"\n'
                     '[tts]\nenabled = false\n[images]\nenabled = false\n[voting]\n'
                     f'duration = 300\n[story]\nreveal = "full"\n{extra}')
        self.config.write_text(self.text)
        self.log = tmp / "storyd.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.base = ""

    def start(self) -> subprocess.Popen[bytes]:
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "storyd.cli", "--config", str(self.config)],
                env=dict(os.environ, PYTHONPATH=str(ROOT)), cwd=ROOT, stdout=log, stderr=log)
        for _ in range(600):
            if self.proc.poll() is not None:
                return self.proc
            try:
                url = ctl(self.sock, {"cmd": "admin-url"})["result"]["url"]
                if url.startswith("http"):
                    self.base, token = url.split("/admin/?token=")
                    self.token = token
                    return self.proc
            except OSError:
                pass
            time.sleep(0.1)
        raise SystemExit("storyd did not start")

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.base, timeout=30,
                            headers={"Authorization": f"Bearer {self.token}"})

    def stop(self) -> int:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(60)

    def rss_mb(self) -> tuple[float, float]:
        assert self.proc is not None
        fields = dict(line.split(":", 1) for line in
                      Path(f"/proc/{self.proc.pid}/status").read_text().splitlines())
        return (int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024)

    def on_air_voting(self) -> None:
        with self.client() as c:
            c.post("/api/interactive-story/start", json={"theme": "fantasy"})
            for _ in range(600):
                if c.get("/api/interactive-story/status").json()["state"] == "voting":
                    return
                time.sleep(0.1)


class HealthWatch:
    """Polls /healthz every 10 ms in a thread; the slowest answer (or a timeout) counts."""

    def __init__(self, base: str) -> None:
        self.base, self.worst, self.failed = base, 0.0, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        with httpx.Client(timeout=10) as c:
            while not self._stop.is_set():
                t = time.perf_counter()
                try:
                    c.get(self.base + "/healthz")
                except httpx.HTTPError:
                    self.failed += 1
                self.worst = max(self.worst, time.perf_counter() - t)
                time.sleep(0.01)

    def __enter__(self) -> HealthWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def attack_config_files(tmp: Path) -> None:
    d = Storyd(tmp, extra="")
    d.config.write_text(d.text.replace("duration = 300", "duration = 45"))
    d.start()
    try:
        with HealthWatch(d.base) as watch:
            time.sleep(0.8)
        print(f"0.   baseline (nothing happening): slowest /healthz {watch.worst * 1000:.1f} ms")
        for name in ("300 MB sparse file", "/dev/zero", "a FIFO", "deleted"):
            d.config.unlink()
            if name == "300 MB sparse file":
                with d.config.open("wb") as f:
                    f.truncate(300 * 1024 * 1024)
            elif name == "/dev/zero":
                d.config.symlink_to("/dev/zero")
            elif name == "a FIFO":
                os.mkfifo(d.config)
            with HealthWatch(d.base) as watch:
                assert d.proc is not None
                d.proc.send_signal(signal.SIGHUP)
                time.sleep(0.5)
                got = ctl(d.sock, {"cmd": "config-get", "key": "voting.duration"})
                shown = ctl(d.sock, {"cmd": "config-show", "origins": True})
                time.sleep(0.3)
            status = ctl(d.sock, {"cmd": "status"})["result"]
            rss, hwm = d.rss_mb()
            value = got.get("result", {}).get("value", got.get("error"))
            print(f"1/2. config is {name:18}: config get -> {value!r:5} show ok "
                  f"{'error' not in shown}; slowest /healthz {watch.worst * 1000:6.1f} ms "
                  f"({watch.failed} failed); RSS {rss:.0f} MB (peak {hwm:.0f}); notice: "
                  f"{(status.get('notice') or '')[:70]!r}")
            if d.config.exists() or d.config.is_symlink():
                d.config.unlink()
            d.config.write_text(d.text.replace("duration = 300", "duration = 45"))
        errors = [line for line in d.log.read_text().splitlines()
                  if "ERROR" in line and "config reload failed" in line]
        print(f"     log: {len(errors)} ERROR lines for 4 refused reloads; last: "
              f"{errors[-1][:150] if errors else '-'}")
    finally:
        d.stop()


def attack_full_disk(tmp: Path) -> None:
    try:
        with mount_tiny(tmp / "disk") as disk:
            d = Storyd(tmp, data=disk / "data")
            d.start()
            d.on_air_voting()
            acked = refused = 0
            with d.client() as c:
                filler = fill(disk)
                for k in range(0, 5000, 100):
                    got = c.post("/api/interactive-story/chat", json={"messages": [
                        {"platform": "t", "user_id": f"u{i}", "text": "!a"}
                        for i in range(k, k + 100)]})
                    if got.status_code == 200:
                        acked += got.json()["accepted"]
                    else:
                        refused += 100
            t = time.monotonic()
            code = d.stop()
            stop_s = time.monotonic() - t
            kept = list((tmp / "run").glob("storyd-unsaved-*.json"))
            filler.unlink()
            d.start()
            code2 = d.stop()
            db = sqlite3.connect(disk / "data" / "storyd.sqlite3")
            stored = db.execute("SELECT COUNT(*) FROM story_ballots").fetchone()[0]
            db.close()
            print(f"3. full 2 MB tmpfs: {acked} ballots acknowledged ({refused} refused); "
                  f"SIGTERM exit {code} after {stop_s:.1f} s, recovery files {len(kept)}; "
                  f"restart exit {code2}; stored {stored} -> "
                  f"{'EQUAL' if stored == acked else 'LOST ' + str(acked - stored)}")
    except PermissionError as exc:
        print(f"3. full disk: skipped ({exc})")


def attack_second_start(tmp: Path) -> None:
    d = Storyd(tmp)
    d.start()
    try:
        d.on_air_voting()
        db = tmp / "data" / "storyd.sqlite3"

        def ends_at() -> Any:
            conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
            try:
                return conn.execute("SELECT ends_at, status FROM story_rounds ORDER BY "
                                    "chapter_number DESC LIMIT 1").fetchone()
            finally:
                conn.close()

        before = ends_at()
        second = subprocess.run([sys.executable, "-m", "storyd.cli", "--config",
                                 str(d.config)], env=dict(os.environ, PYTHONPATH=str(ROOT)),
                                cwd=ROOT, capture_output=True, text=True, timeout=60)
        after = ends_at()
        print(f"4. second storyd: exit {second.returncode}, "
              f"{second.stderr.strip().splitlines()[-1][:110]!r}; live vote ends_at "
              f"{'untouched' if before == after else f'MOVED {before} -> {after}'}")
    finally:
        d.stop()


def attack_gzip_bomb(tmp: Path) -> None:
    server = subprocess.Popen([sys.executable, "-c", SERVER, str(ROOT)],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        base = server.stdout.readline().strip()
        d = Storyd(tmp, extra=f'[providers.bomb]\npreset = "siliconflow"\nbase_url = "{base}"\n'
                   'text_model = "fake-text"\n[llm]\nchain = ["bomb", "offline"]\n')
        d.start()
        try:
            _, before = d.rss_mb()
            t = time.monotonic()
            with HealthWatch(d.base) as watch:
                d.on_air_voting()
            _, after = d.rss_mb()
            print(f"5. 10 GiB gzip bomb from the provider: chapter 1 voting after "
                  f"{time.monotonic() - t:.1f} s; slowest /healthz {watch.worst * 1000:.1f} ms;"
                  f" storyd peak RSS {before:.0f} -> {after:.0f} MB")
        finally:
            d.stop()
    finally:
        server.kill()
        server.wait()


def main() -> None:
    for n, attack in enumerate((attack_config_files, attack_full_disk, attack_second_start,
                                attack_gzip_bomb), 1):
        with tempfile.TemporaryDirectory(prefix=f"storyd-redteam22-{n}-") as tmp:
            attack(Path(tmp))


if __name__ == "__main__":
    main()
