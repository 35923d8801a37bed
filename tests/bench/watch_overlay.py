"""An independent watcher of the overlay while a model writes long-form chapters (issue 10).

    /work/venv/bin/python tests/bench/watch_overlay.py [--seconds 120] [--interval 2.5]
        [--sizes 1920x1080,1280x720,1080x1920,720x1280] [--answer-seconds 4] [--reveal-wps 8] [--tts]
        [--out DIR]

Starts a real `storyd --demo` process (temporary XDG folders, a free port, `[story] choices = 6`,
`words_per_chapter = 350`, `[voting] duration = 20` via `[demo] voting_duration`, the demo
audience voting, no speech unless `--tts`, offline pictures) whose text provider is a loopback
OpenAI-compatible fake (tests/fake_openai.py) answering as `tests/bench/long_author.py` writes:
350-word chapters of long sentences with quotes, unicode, emoji and the odd 60-letter word,
titles up to ~60 characters and six ~110-character choices, each answer after
`--answer-seconds` (so the "writing" card shows; `[llm] prefetch = "off"`). Without narration
the caption advances at `--reveal-wps` words a second (default 8: a 350-word chapter in ~45 s,
so a two-minute watch sees presenting, voting, the result and writing); with `--tts` the
offline voice (espeak-ng) narrates, the caption follows it and the choices are read out before
the vote opens (a chapter then takes ~3 minutes: watch for 300 s).

One headless Chromium (/usr/bin/chromium, never a downloaded one) opens the overlay at every
size (`/overlay/?layout=…&size=WxH&audio=0`, viewport = size), all at once, and samples each
page every `--interval` seconds for `--seconds`: every visible element holding text is measured
with tests/overlay_harness.py's MEASURE (inside the viewport and every clipping ancestor, no
content overflow, no ellipsis, story/choice/call-to-action/countdown/title text >= 28 px at
1080p scaled with the canvas, nothing under 16 px), and no two visible top-level boxes
(picture, text panel, vote panel, card, connection badge) may overlap. Console errors and
warnings and page errors are counted. A PNG of the first sample of every (state, vote phase)
per size, of every `--shot-every`th sample and of the first samples with a problem is kept in
`--out`. Printed per size: samples, states seen, samples with a problem, the distinct
problems, console errors. Exit status 1 when anything was found.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any

import trio

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from overlay_harness import CHROMIUM, FLOOR, MEASURE, PRIMARY  # noqa: E402

from tests.bench.long_author import long_author  # noqa: E402
from tests.fake_openai import FakeOpenAI  # noqa: E402

SIZES = "1920x1080,1280x720,1080x1920,720x1280"
STATE = """() => {
  const v = window.storydOverlay && window.storydOverlay.view, s = v && v.snap;
  const vp = document.getElementById('vote-panel');
  return {state: s ? s.state : null, chapter: s ? s.chapter_number : null,
          phase: vp && !vp.hidden ? (vp.dataset.phase || '') : '', conn: v ? v.conn : null};
}"""


# The outsider's extra check: no two visible top-level boxes of the stage cover each other
# (a caption under the vote panel, the card over the choices) by more than a pixel.
OVERLAP = """() => {
  const ids = ['picture', 'text-panel', 'vote-panel', 'card', 'conn'], out = [];
  const shown = (e) => { for (let a = e; a; a = a.parentElement) { const cs = getComputedStyle(a);
    if (a.hidden || cs.display === 'none' || cs.visibility === 'hidden' || cs.opacity === '0') return false; }
    return true; };
  const boxes = ids.map(id => document.getElementById(id)).filter(e => e && shown(e))
    .map(e => [e.id, e.getBoundingClientRect()]);
  for (let i = 0; i < boxes.length; i++) for (let j = i + 1; j < boxes.length; j++) {
    const [a, r] = boxes[i], [b, q] = boxes[j];
    const w = Math.min(r.right, q.right) - Math.max(r.left, q.left);
    const h = Math.min(r.bottom, q.bottom) - Math.max(r.top, q.top);
    if (w > 1 && h > 1) out.push('#' + a + ' overlaps #' + b);
  }
  return out;
}"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Fake:
    """FakeOpenAI on its own trio loop in a thread."""

    def __init__(self, delay: float) -> None:
        self.fake = FakeOpenAI("openai")
        self.fake.author = long_author
        self.fake.delay = delay
        self.base_url = ""
        self._token: Any = None
        self._thread: threading.Thread | None = None

    def start(self) -> str:
        ready = threading.Event()

        async def main() -> None:
            self._token = trio.lowlevel.current_trio_token()
            async with trio.open_nursery() as n:
                self.base_url = await self.fake.start(n)
                ready.set()

        self._thread = threading.Thread(target=trio.run, args=(main,), daemon=True)
        self._thread.start()
        assert ready.wait(20), "the fake model did not start"
        return self.base_url

    def stop(self) -> None:
        if self._token is not None:
            trio.from_thread.run_sync(self.fake.stop, trio_token=self._token)
        if self._thread is not None:
            self._thread.join(10)


def write_config(path: Path, port: int, base_url: str, reveal_wps: float, tts: bool) -> None:
    path.write_text(f"""
[server]
port = {port}

[story]
choices = 6
words_per_chapter = 350
autostart = true
result_seconds = 5.0
reveal_words_per_second = {reveal_wps}

[voting]
duration = 20

[demo]
voting_duration = 20
viewers = 60
votes_per_second = 4.0

[llm]
chain = ["model", "offline"]
prefetch = "off"
chapter_deadline = 30.0

[images]
enabled = true
chain = ["offline"]

[tts]
enabled = {"true" if tts else "false"}
chain = ["offline"]
read_choices = true

[chat]
sources = ["demo"]

[providers.model]
preset = "custom"
base_url = "{base_url}"
api_key = "sk-watch"
text_model = "fake-text"
json_mode = "json_object"
""")


def start_storyd(tmp: Path, cfg: Path, port: int) -> subprocess.Popen[bytes]:
    env = dict(os.environ)
    for var in ("config", "data", "cache", "runtime"):
        (tmp / var).mkdir(exist_ok=True, mode=0o700)
    env.update(XDG_CONFIG_HOME=str(tmp / "config"), XDG_DATA_HOME=str(tmp / "data"),
               XDG_CACHE_HOME=str(tmp / "cache"), XDG_RUNTIME_DIR=str(tmp / "runtime"),
               PYTHONPATH=str(ROOT))
    env.pop("STORYD_SOCKET", None)
    env.pop("STORYD_CONFIG", None)
    log = (tmp / "storyd.log").open("wb")
    proc = subprocess.Popen([sys.executable, "-m", "storyd.cli", "--config", str(cfg), "--demo",
                             "-q"], env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"storyd exited: {(tmp / 'storyd.log').read_text()[-2000:]}")
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/overlay/", timeout=1).read()
            return proc
        except OSError:
            time.sleep(0.3)
    proc.kill()
    raise SystemExit("storyd did not serve the overlay within 30 s")


def watch(url: str, sizes: list[tuple[int, int]], seconds: float, interval: float,
          out: Path, shot_every: int) -> dict[str, dict[str, Any]]:
    from playwright.sync_api import sync_playwright

    results: dict[str, dict[str, Any]] = {}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        try:
            pages = {}
            for w, h in sizes:
                label = f"{w}x{h}"
                layout = "portrait" if h > w else "landscape"
                page = browser.new_page(viewport={"width": w, "height": h})
                r = results[label] = {"samples": 0, "bad_samples": 0, "texts": 0,
                                      "problems": Counter(), "console": [], "states": Counter(),
                                      "shots": [], "examples": {}}
                log: list[str] = r["console"]

                def on_console(m: Any, log: list[str] = log) -> None:
                    if m.type in ("error", "warning"):
                        log.append(f"{m.type}: {m.text}")

                def on_error(e: Any, log: list[str] = log) -> None:
                    log.append(f"pageerror: {e}")

                page.on("console", on_console)
                page.on("pageerror", on_error)
                page.goto(f"{url}/overlay/?layout={layout}&size={label}&audio=0")
                pages[label] = page
            end = time.monotonic() + seconds
            tick = time.monotonic()
            while time.monotonic() < end:
                for label, page in pages.items():
                    r = results[label]
                    st = page.evaluate(STATE)
                    m = page.evaluate(MEASURE, [FLOOR, PRIMARY])
                    m["bad"] += page.evaluate(OVERLAP)
                    key = f"{st['state']}/{st['phase'] or '-'}"
                    r["samples"] += 1
                    r["texts"] += m["texts"]
                    r["states"][key] += 1
                    if m["bad"]:
                        r["bad_samples"] += 1
                        for b in m["bad"]:
                            r["problems"][b] += 1
                            r["examples"].setdefault(b, f"{key} ch{st['chapter']} "
                                                        f"t={time.monotonic() - tick:.0f}s")
                    if (r["states"][key] == 1 or r["samples"] % shot_every == 0
                            or m["bad"] and r["bad_samples"] <= 3):
                        name = f"{label}-{len(r['shots']):02d}-{key.replace('/', '-')}.png"
                        page.screenshot(path=str(out / name))
                        r["shots"].append(name)
                tick += interval
                time.sleep(max(0.0, tick - time.monotonic()))
        finally:
            browser.close()
    return results


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=120)
    ap.add_argument("--interval", type=float, default=2.5)
    ap.add_argument("--sizes", default=SIZES)
    ap.add_argument("--tts", action="store_true",
                    help="narrate with the offline voice (espeak-ng): the caption follows the "
                         "narration and the choices are read out before the vote")
    ap.add_argument("--shot-every", type=int, default=10, help="also a PNG every N samples")
    ap.add_argument("--answer-seconds", type=float, default=4.0)
    ap.add_argument("--reveal-wps", type=float, default=8.0,
                    help="[story] reveal_words_per_second (no narration: the caption's pace)")
    ap.add_argument("--out", type=Path, default=ROOT / "tests" / "artifacts" / "watch")
    args = ap.parse_args()
    sizes = [tuple(int(x) for x in s.split("x")) for s in args.sizes.split(",")]
    shutil.rmtree(args.out, ignore_errors=True)
    args.out.mkdir(parents=True)
    tmp = Path(tempfile.mkdtemp(prefix="storyd-watch-"))
    fake = Fake(args.answer_seconds)
    proc = None
    try:
        base_url = fake.start()
        port = free_port()
        cfg = tmp / "storyd.toml"
        write_config(cfg, port, base_url, args.reveal_wps, args.tts)
        proc = start_storyd(tmp, cfg, port)
        results = watch(f"http://127.0.0.1:{port}", sizes, args.seconds,  # type: ignore[arg-type]
                        args.interval, args.out, args.shot_every)
        chats = sum(1 for q in fake.fake.requests if q["path"] == "/v1/chat/completions")
    finally:
        if proc is not None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        fake.stop()
        log = (tmp / "storyd.log").read_text(errors="replace") if (tmp / "storyd.log").exists() else ""
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"overlay watch: {args.seconds:.0f} s, a sample every {args.interval} s per size; "
          f"the model answered {chats} chat requests; screenshots in {args.out}")
    found = 0
    for label, r in results.items():
        found += r["bad_samples"] + len(r["console"])
        print(f"\n{label}: {r['samples']} samples ({r['texts']} text elements measured), "
              f"{r['bad_samples']} with clipped/small/overlapping text, {len(r['console'])} console "
              f"errors/warnings")
        print("  states: " + ", ".join(f"{k}×{n}" for k, n in sorted(r["states"].items())))
        for b, n in r["problems"].most_common(12):
            print(f"  {n:3d}× {b}   (first: {r['examples'][b]})")
        for c in r["console"][:8]:
            print(f"  console {c}")
    if log.strip():
        print("\nstoryd log (warnings and errors):\n" + log[-1500:])
    print(json.dumps({k: {"samples": r["samples"], "clipped_samples": r["bad_samples"],
                          "console": len(r["console"])} for k, r in results.items()}))
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
