"""Issue 17 checked from the outside: the real `storyd` process against an independent model.

Run: .venv/bin/python tests/bench/check_model_story.py [--chapters 12] [--fast-delay 0.3]
         [--slow-delay 6] [--vote 15] [--seed 7] [--keep DIR] [--only RUN,RUN,...]

The model is tests/mediocre_model.py, an OpenAI-compatible chat-completions server written
from the OpenAI API documentation (not storyd's provider code or test fakes): it logs every
request body and what it answered to a JSON-lines file and answers like a mediocre model —
prose and code fences around its JSON, a plan with fewer beats than asked or a cast of 40,
chapters longer or shorter than asked (now and then not a chapter at all), choices that
repeat earlier rounds or each other, the wrong number of choices, "A) " in front, a long
rambling one. storyd runs as its own process (`storyd --config FILE`), with the model as an
openai-compatible `[providers]` text provider (prefetch "all", pictures and narration off,
`result_seconds = 0`, so dead air is not hidden behind the result card), driven by
`storyctl --socket … vote/close/extend/finish` and observed with `storyctl --json watch`
(each event line time-stamped as it arrives).

Runs (all by default; `--only` picks):
- arc:         model delay --fast-delay; after chapter 1 airs `storyctl extend N` (--chapters);
               every vote gets one ballot and is closed once the branches are written.
- end:         model delay --slow-delay (6 s), `max_chapters = 3`, votes of --vote seconds run
               out: dead air at the planned end (vote close → closing chapter's chapter-ready).
- finish:      model delay --slow-delay, `storyctl finish` 1 s into chapter 1's vote, the vote
               runs out: dead air after `finish`.
- late-finish: the same with `finish` 3 s before the vote closes (no target: the closing
               branches, started at `finish`, need the model's 6 s).
               late-finish-card: the same with the default result card of 5 s.
- finish-now:  `storyctl finish --now` 1 s into chapter 1's vote (no target: the closing
               chapter is written from then on).
- extend-early: model delay 1 s, `storyctl extend N` right after `start`, while the plan is
               being written: one plan request, N chapters, "of N" from chapter 1 on.
- extend-end:  `max_chapters = 3`, `storyctl extend 5` during chapter 2's vote, whose branches
               are being written as closing chapters: the story must end at chapter 5.
- outline:     `--outline` in German naming Anna Berg, Jonas Falk and Lübeck; the model
               ignores it: the plan and every chapter prompt must keep them.
- plan-stall, plan-trickle, plan-stall-chapter1, plan-trickle-chapter1: the plan's (or
               chapter 1's) answer stalls after its first byte or trickles one byte a second
               for 30 s; `chapter_deadline = 5`: chapter 1 must air within it (issue 22.6).

Printed: whether the first request asked for a plan; per chapter prompt up to chapter N
whether it carries the protagonist's name, the central question and "of N" (and the cast);
aired chapters shorter than (or different from) the model's text; generic filler choices
aired; choices aired that repeat the same chapter's or the last round's; dead air per chapter
(targets: closing ≤ 1 s); requests per aired chapter (by kind); and per story whether each
chapter's prompt carried the audience's winning choice, the cast, and the closing checklist.
Also: the overlay's sentences and streamed text against what aired, choices cut short, the
story:error lines by kind, the stored chapters and recap (`storyctl --json session ID`), and
chapter 1's time from `start`. Exit status 1 when a check with a target failed.
`--keep DIR` keeps the request logs, event logs and each story as Markdown to read.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.mediocre_model import GENERIC, MediocreModel  # noqa: E402

FILLER = re.compile(r"press on|see what happens|turn back carefully|wait and see|"
                    r"look around|continue onward|go forward", re.IGNORECASE)
TARGET_DEAD_AIR = 1.0
SEED = 7
OUTLINE = ("Kommissarin Anna Berg jagt einen Kunstdieb, und ihr Kollege Jonas Falk in Lübeck "
           "hilft ihr.")


def _storyd_cmd() -> list[str]:
    return [sys.executable, "-m", "storyd.cli"]


def _storyctl_cmd() -> list[str]:
    return [sys.executable, "-m", "storyd.ctl.main"]


class Daemon:
    """One storyd process on its own folders, its control socket and an event watcher."""

    def __init__(self, tmp: Path, base_url: str, *, max_chapters: int, vote: int,
                 deadline: float = 20.0, result_seconds: float = 0.0) -> None:
        self.tmp = tmp
        self.socket = tmp / "control.sock"
        self.config = tmp / "storyd.toml"
        self.config.write_text(f"""
[server]
host = "127.0.0.1"
port = 0
[control]
socket = "{self.socket}"
[storage]
data_dir = "{tmp / 'data'}"
cache_dir = "{tmp / 'cache'}"
[story]
theme = "mystery"
max_chapters = {max_chapters}
reveal_words_per_second = 0
result_seconds = {result_seconds}
[voting]
duration = {vote}
no_votes = "first"
[llm]
chain = ["bench", "offline"]
prefetch = "all"
chapter_deadline = {deadline}
[images]
enabled = false
[tts]
enabled = false
[providers.bench]
preset = "custom"
base_url = "{base_url}"
api_key = "bench-secret"
text_model = "mediocre-7b"
""")
        self.env = {**os.environ, "PYTHONPATH": str(ROOT)}
        for var in ("STORYD_SOCKET", "STORYD_CONFIG"):
            self.env.pop(var, None)
        self.log = (tmp / "storyd.log").open("w")
        self.proc = subprocess.Popen([*_storyd_cmd(), "--config", str(self.config)],
                                     stdout=self.log, stderr=subprocess.STDOUT, env=self.env)
        self.events: list[tuple[float, dict[str, Any]]] = []
        self._cond = threading.Condition()
        self._wait_ready()
        self.watcher = subprocess.Popen(
            [*_storyctl_cmd(), "--socket", str(self.socket), "--json", "watch"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=self.env, text=True)
        threading.Thread(target=self._read_events, daemon=True).start()
        time.sleep(0.5)    # the watcher subscribes before anything is started

    def _wait_ready(self) -> None:
        end = time.monotonic() + 30
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise RuntimeError(f"storyd exited {self.proc.returncode}; see {self.log.name}")
            if self.socket.exists() and self.ctl("status", check=False).returncode == 0:
                return
            time.sleep(0.2)
        raise RuntimeError("storyd did not come up in 30 s")

    def _read_events(self) -> None:
        assert self.watcher.stdout is not None
        for line in self.watcher.stdout:
            try:
                ev = json.loads(line)
            except ValueError:
                continue
            with self._cond:
                self.events.append((time.monotonic(), ev))
                self._cond.notify_all()

    def ctl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        result = subprocess.run([*_storyctl_cmd(), "--socket", str(self.socket), *args],
                                capture_output=True, text=True, env=self.env, timeout=60,
                                check=False)
        if check and result.returncode != 0:
            raise RuntimeError(f"storyctl {' '.join(args)}: {result.stdout}{result.stderr}")
        return result

    def wait_event(self, name: str, since: int, timeout: float = 120.0
                   ) -> tuple[int, float, dict[str, Any]]:
        """The first event `name` at index >= since: (index, arrival time, data)."""
        end = time.monotonic() + timeout
        with self._cond:
            while True:
                for i in range(since, len(self.events)):
                    t, ev = self.events[i]
                    if ev.get("event") == name:
                        return i, t, ev.get("data") or {}
                left = end - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"no {name} within {timeout} s")
                self._cond.wait(left)

    def named(self, name: str) -> list[tuple[float, dict[str, Any]]]:
        with self._cond:
            return [(t, ev.get("data") or {}) for t, ev in self.events if ev.get("event") == name]

    def stop(self) -> None:
        for proc in (self.watcher, self.proc):
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        self.log.close()


# ------------------------------------------------------------------------------ playing

def play(d: Daemon, model: MediocreModel, *, extend: int = 0, close_after: float | None = None,
         start: tuple[str, ...] = ("mystery",), outline_names: tuple[str, ...] = (),
         extend_early: int = 0, finish_now: bool = False,
         finish_at: int = 0, finish_after: float = 1.0, extend_at: tuple[int, int] | None = None,
         timeout: float = 600.0) -> dict[str, Any]:
    """Start a story and vote until it ends. Returns the session id and the plan."""
    t_start = time.monotonic()
    d.ctl("start", *start)
    if extend_early:     # while the plan is being written
        d.ctl("extend", str(extend_early))
    mark = 0
    _, t_first, first = d.wait_event("story:chapter-ready", mark)
    first = {**first, "_after": t_first - t_start}
    plan = _plan(d)
    if extend:
        d.ctl("extend", str(extend))
        plan = _plan(d)
    end = time.monotonic() + timeout
    voter = 0
    while time.monotonic() < end:
        with d._cond:
            names = [ev.get("event") for _, ev in d.events]
        if "story:ended" in names:
            break
        try:
            i, _, data = d.wait_event("story:voting-started", mark, timeout=5)
        except TimeoutError:
            continue
        mark = i + 1
        round_id = data.get("round_id")
        keys = [c["key"] for c in data.get("choices", [])]
        voter += 1
        d.ctl("vote", f"viewer{voter}", keys[voter % len(keys)], check=False)
        chapter = _chapter_on_air(d)
        if finish_at and chapter == finish_at:
            time.sleep(finish_after)
            d.ctl("finish", *(["--now"] if finish_now else []))
        if extend_at and chapter == extend_at[0]:
            time.sleep(1.0)
            d.ctl("extend", str(extend_at[1]))
            plan = _plan(d)
        if close_after is not None:
            time.sleep(close_after)
            if _round_open(d, round_id):
                d.ctl("close", check=False)
    ended = d.wait_event("story:ended", 0, timeout=60)[2]
    time.sleep(1.0)      # the recap request follows the closing chapter
    return {"session": ended.get("session_id"), "plan": plan, "first": first,
            "extended_after": 1 if extend else (extend_at[0] if extend_at else 0),
            "outline_names": outline_names}


def _plan(d: Daemon) -> dict[str, Any]:
    reply = json.loads(d.ctl("--json", "plan").stdout or "{}")
    plan = reply.get("plan") or {}
    plan["chapters"] = reply.get("planned_chapters") or len(plan.get("beats") or [])
    return dict(plan)


def _chapter_on_air(d: Daemon) -> int:
    ready = d.named("story:chapter-ready")
    return int(ready[-1][1].get("number", 0)) if ready else 0


def _round_open(d: Daemon, round_id: Any) -> bool:
    return not any(data.get("round_id") == round_id for _, data in d.named("story:voting-ended"))


# ------------------------------------------------------------------------------ figures

def _json_of(content: str) -> dict[str, Any] | None:
    start, end = content.find("{"), content.rfind("}")
    if start < 0 or end < start:
        return None
    try:
        data = json.loads(content[start:end + 1])
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def _words(text: str) -> int:
    return len(text.split())


def dead_air(d: Daemon) -> list[tuple[int, bool, float]]:
    """(chapter, closing, seconds from the vote's close to the chapter's chapter-ready)."""
    out = []
    ended = d.named("story:voting-ended")
    for t_ready, ch in d.named("story:chapter-ready"):
        before = [t for t, _ in ended if t <= t_ready]
        if before and int(ch.get("number", 0)) > 1:
            out.append((int(ch["number"]), bool(ch.get("closing")), t_ready - before[-1]))
    return out


def analyse(name: str, d: Daemon, model: MediocreModel, result: dict[str, Any],
            upto: int, keep: Path | None) -> dict[str, Any]:
    reqs = model.requests()
    plan = result["plan"] or {}
    hero = (plan.get("protagonist") or {}).get("name", "")
    question = plan.get("central_question", "")
    cast = [c.get("name", "") for c in plan.get("cast") or []]
    n_planned = int(plan.get("chapters") or len(plan.get("beats") or []) or 0)
    aired = [data for _, data in d.named("story:chapter-ready")]
    winners = {int(v.get("round_id", 0)): v for _, v in d.named("story:voting-ended")}
    print(f"\n== {name}: {len(aired)} chapters aired, {len(reqs)} requests, "
          f"plan: protagonist {hero!r}, {n_planned} chapters, question {question!r}")
    figures: dict[str, Any] = {"name": name}

    first = reqs[0] if reqs else {}
    figures["first_is_plan"] = first.get("kind") == "plan"
    print(f"first request asks for a plan: {figures['first_is_plan']} (kind {first.get('kind')})")

    # -- the pinned plan in every chapter prompt
    misses: list[str] = []
    checked = 0
    for r in reqs:
        if r["kind"] != "chapter" or r["chapter"] > upto:
            continue
        checked += 1
        prompt = "\n".join(str(m.get("content", "")) for m in r["body"]["messages"])
        k = r["chapter"]
        lack = [what for what, ok in (
            ("protagonist", bool(hero) and hero in prompt),
            ("central question", bool(question) and question in prompt),
            ("of N", re.search(rf"chapter {k} of \d+", prompt) is not None),
            *((f"cast {c}", c in prompt) for c in cast)) if not ok]
        if lack:
            misses.append(f"chapter {k}: no {', '.join(lack)}")
    figures["prompt_misses"] = misses
    print(f"chapter prompts up to chapter {upto}: {checked} checked, {len(misses)} missing "
          "something" + "".join(f"\n  - {m}" for m in misses[:12]))

    # -- aired vs written
    written: list[dict[str, Any]] = []
    for r in reqs:
        if r["kind"] == "chapter" and (data := _json_of(r["content"])):
            written.append({"chapter": r["chapter"], "text": str(data.get("text", "")),
                            "choices": data.get("choices") or [], "prompt": r["body"]})
    shorter, changed, unmatched, filler, repeats, offline = [], [], [], [], [], []
    cut_choices: list[str] = []
    cut_sentences: list[str] = []
    prev_choices: list[str] = []
    for ch in aired:
        num, text = int(ch["number"]), ch["text"]
        choices = [c["text"] for c in ch.get("choices") or []]
        if ch.get("provider") == "offline":
            offline.append(num)
        match = next((w for w in written if w["chapter"] == num
                      and " ".join(w["text"].split()) == " ".join(text.split())), None)
        if match is None:
            match = next((w for w in written if w["chapter"] == num
                          and w["text"][:60].split() == text[:60].split()), None)
        if match is None:
            match = next((w for w in written if w["chapter"] == num
                          and " ".join(w["text"].split()[:8]) in text), None)
        if match is None:
            if ch.get("provider") != "offline":
                unmatched.append(num)
        else:
            if _words(text) < _words(match["text"]):
                shorter.append(f"chapter {num}: model {_words(match['text'])} words, "
                               f"aired {_words(text)}")
            elif " ".join(text.split()) != " ".join(match["text"].split()):
                changed.append(num)
            ch["_written"] = match
        if match is not None:
            asked = [re.sub(r"^[A-F]\)\s*", "", str(c)) for c in match["choices"]]
            for c in choices:
                if c not in asked and any(a.startswith(c.rstrip(".…")) for a in asked):
                    cut_choices.append(f"chapter {num}: {c!r}")
        shown = " ".join(" ".join(ch.get("sentences") or ()).split())
        if _words(shown) < _words(text):
            cut_sentences.append(f"chapter {num}: text {_words(text)} words, sentences "
                                 f"{_words(shown)}")
        for c in choices:
            if FILLER.search(c) or any(g.casefold() in c.casefold() for g in GENERIC):
                filler.append(f"chapter {num}: {c!r}")
        seen = [c.casefold() for c in prev_choices]
        for i, c in enumerate(choices):
            if c.casefold() in seen or c.casefold() in (x.casefold() for x in choices[:i]):
                repeats.append(f"chapter {num}: {c!r}")
        prev_choices = choices
    figures.update(cut_choices=cut_choices, cut_sentences=cut_sentences)
    figures.update(shorter=shorter, changed=changed, filler=filler, repeats=repeats,
                   offline=offline, unmatched=unmatched)
    print(f"aired shorter than the model wrote: {len(shorter)}"
          + "".join(f"\n  - {s}" for s in shorter))
    print(f"aired text different from the model's (same length or longer): {changed}")
    print(f"overlay sentences shorter than the aired text: {len(cut_sentences)}"
          + "".join(f"\n  - {x}" for x in cut_sentences))
    print(f"choices aired cut short: {len(cut_choices)}"
          + "".join(f"\n  - {x}" for x in cut_choices))
    errors = collections.Counter(
        re.sub(r"\d+", "N", re.sub(r"^chapter \d+ from '[^']+': ", "", str(e.get("message"))))
        for _, e in d.named("story:error"))
    print("story:error lines by kind: " + ("none" if not errors else "".join(
        f"\n  {n:3d} × {k[:150]}" for k, n in errors.most_common(12))))
    print(f"aired chapters not found in the model's answers (not offline): {unmatched}")
    print(f"written by the offline storyteller: {offline}")
    print(f"generic filler choices aired: {len(filler)}" + "".join(f"\n  - {f}" for f in filler))
    print(f"repeated choices aired: {len(repeats)}" + "".join(f"\n  - {r}" for r in repeats))

    # -- requests per aired chapter
    kinds = collections.Counter(r["kind"] for r in reqs)
    per = len(reqs) / max(len(aired), 1)
    figures["requests_per_chapter"] = per
    print(f"requests per aired chapter: {per:.2f} ({len(reqs)} for {len(aired)}; "
          + ", ".join(f"{k} {v}" for k, v in sorted(kinds.items())) + ")")

    # -- dead air
    air = dead_air(d)
    figures["dead_air"] = air
    closing = [s for _, c, s in air if c]
    figures["closing_dead_air"] = closing
    print("dead air after each vote (s): " + ", ".join(
        f"{n}{'*' if c else ''} {s:.2f}" for n, c, s in air) + "  (* = closing)")
    if closing:
        print(f"closing-chapter dead air: {closing[-1]:.2f} s (target ≤ {TARGET_DEAD_AIR} s: "
              f"{'met' if closing[-1] <= TARGET_DEAD_AIR else 'MISSED'})")
    started = [t for t, g in d.named("story:generation-started") if g.get("closing")]
    ready = [t for t, c in d.named("story:chapter-ready") if c.get("closing")]
    if started and ready:
        print(f"closing chapter: generation-started → chapter-ready {ready[-1] - started[-1]:.2f} "
              "s (the wait after the result card)")

    # -- the reader's checks on storyd's part
    story_notes = []
    for ch in aired:
        num = int(ch["number"])
        w = ch.get("_written")
        if num > 1 and w is not None:
            chosen = winners_before(d, ch)
            user = w["prompt"]["messages"][-1]["content"]
            if chosen and chosen not in user:
                story_notes.append(f"chapter {num}: the prompt does not carry the winning "
                                   f"choice {chosen!r}")
            if chosen and not user.rstrip().endswith("consequence."):
                story_notes.append(f"chapter {num}: the winning choice is not the last line")
        if ch.get("closing") and w is not None:
            user = w["prompt"]["messages"][-1]["content"]
            if "Closing checklist" not in user or (question and question not in user):
                story_notes.append(f"chapter {num}: closing prompt without the checklist")
    for ch in aired:     # what aired was written to the final plan's length
        w = ch.get("_written")
        if int(ch["number"]) <= result.get("extended_after", 0):
            continue         # aired before `extend`
        if w is not None and "finish" not in name and n_planned and \
                f"chapter {ch['number']} of {n_planned}" not in w["prompt"]["messages"][-1][
                    "content"]:
            story_notes.append(f"chapter {ch['number']} aired from a prompt without "
                               f"\"chapter {ch['number']} of {n_planned}\"")
    plans = sum(r["kind"] == "plan" for r in reqs)
    if plans > 1 + ("extend" in name or name == "arc"):
        story_notes.append(f"{plans} plan requests")
    if aired and "finish" not in name and n_planned and len(aired) != n_planned:
        story_notes.append(f"the story ended after {len(aired)} chapters; its plan has "
                           f"{n_planned}")
    if aired and not aired[-1].get("closing"):
        story_notes.append("the last aired chapter is not a closing chapter")
    # -- the overlay's streamed text: only from the chapter that then airs
    strays = []
    for t, data in d.named("story:state"):
        gen = data.get("generating") or {}
        preview = str(gen.get("preview") or "")
        if not preview:
            continue
        nxt = next((c for tc, c in d.named("story:chapter-ready")
                    if tc >= t and int(c["number"]) == int(gen.get("chapter", 0))), None)
        if nxt is None or " ".join(preview.split()) not in " ".join(nxt["text"].split()):
            strays.append(f"chapter {gen.get('chapter')}: {preview[:60]!r}")
    figures["preview_strays"] = strays
    print(f"streamed text on the overlay that did not air: {len(strays)}"
          + "".join(f"\n  - {x}" for x in strays[:5]))
    regen = [r["chapter"] for r in reqs if r["kind"] == "chapter" and "waits." in r["content"]]
    print(f"answers that were not a chapter (asked again): {len(regen)} "
          f"(chapters {sorted(set(regen))}); aired: "
          f"{[int(a['number']) for a in aired if 'waits.' in a['text'] and _words(a['text']) < 5]}")
    if names := result.get("outline_names"):
        plan_text = json.dumps(plan, ensure_ascii=False)
        lost = [n for n in names if n not in plan_text]
        unpinned = sorted({n for n in names for r in reqs if r["kind"] == "chapter"
                           and n not in "\n".join(str(m.get("content", ""))
                                                   for m in r["body"]["messages"])})
        figures["outline_lost"] = lost + [f"{n} (not in every chapter prompt)" for n in unpinned]
        print(f"outline names kept in the plan: {len(names) - len(lost)} of {len(names)}"
              + (f" (lost: {lost})" if lost else "")
              + (f"; missing from some chapter prompts: {unpinned}" if unpinned else ""))
    figures["story_notes"] = story_notes
    print("story (storyd's part): " + ("ok" if not story_notes else "")
          + "".join(f"\n  - {s}" for s in story_notes))
    _ = winners
    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
        shutil.copy(model.log_path, keep / f"{name}-requests.jsonl")
        with (keep / f"{name}-events.jsonl").open("w") as f:
            for t, ev in d.events:
                f.write(json.dumps({"t": t, **ev}) + "\n")
        (keep / f"{name}-story.md").write_text(story_markdown(d, plan))
        shutil.copy(d.tmp / "storyd.log", keep / f"{name}-storyd.log")
    return figures


def winners_before(d: Daemon, ch: dict[str, Any]) -> str:
    """The winning choice of the vote that led to chapter `ch` (the last vote ended before)."""
    num = int(ch["number"])
    with d._cond:
        events = list(d.events)
    winner = ""
    for _, ev in events:
        data = ev.get("data") or {}
        if ev.get("event") == "story:voting-ended":
            winner = str(data.get("winner_text", ""))
        if ev.get("event") == "story:chapter-ready" and int(data.get("number", 0)) == num:
            return winner
    return winner


def story_markdown(d: Daemon, plan: dict[str, Any]) -> str:
    lines = [f"# {plan.get('title', '')}", "", f"Protagonist: {plan.get('protagonist')}",
             f"Central question: {plan.get('central_question')}", ""]
    for _, ev in d.events:
        data = ev.get("data") or {}
        if ev.get("event") == "story:chapter-ready":
            lines += [f"## {data.get('number')}. {data.get('title')} ({data.get('provider')})",
                      "", data.get("text", ""), ""]
            lines += [f"- {c['key']}) {c['text']}" for c in data.get("choices") or []]
            lines.append("")
        elif ev.get("event") == "story:voting-ended":
            lines += [f"**Chosen: {data.get('winner_text')}**", ""]
        elif ev.get("event") == "story:error":
            lines += [f"> story:error: {data.get('message')}", ""]
    return "\n".join(lines)


def run(name: str, base: Path, *, delay: float, max_chapters: int, vote: int,
        keep: Path | None, upto: int, deadline: float = 20.0, plan_mode: str = "ok",
        plan_seconds: float = 0.0, result_seconds: float = 0.0,
        **play_args: Any) -> dict[str, Any]:
    tmp = base / name
    tmp.mkdir()
    model = MediocreModel(tmp / "requests.jsonl", delay=delay, seed=SEED,
                          plan_mode=plan_mode.removesuffix("-chapter1"),
                          plan_seconds=plan_seconds)
    model.slow_chapter_one = plan_mode.endswith("-chapter1")
    url = model.start()
    d = Daemon(tmp, url, max_chapters=max_chapters, vote=vote, deadline=deadline,
               result_seconds=result_seconds)
    try:
        t0 = time.monotonic()
        result = play(d, model, **play_args)
        print(f"\n[{name}] story played in {time.monotonic() - t0:.0f} s "
              f"(model delay {delay} s, session {result['session']})")
        stored: dict[str, Any] = {}
        waited = time.monotonic()
        while time.monotonic() - waited < deadline + 5:   # the recap follows the ending
            sess = d.ctl("--json", "session", str(result["session"]), check=False)
            try:
                stored = json.loads(sess.stdout or "{}")
            except ValueError:
                stored = {}
            if stored.get("recap"):
                break
            time.sleep(0.5)
        (tmp / "session.json").write_text(json.dumps(stored))
        recap = stored.get("recap") or {}
        card = [data.get("recap") for _, data in d.named("story:state") if data.get("recap")]
        print(f"recap card on the overlay: {len(card)} version(s), the last "
              f"{(card[-1] or {}).get('logline', '')!r} (ending "
              f"{(card[-1] or {}).get('ending')!r})" if card else "recap card: none")
        aired = {int(c["number"]): " ".join(c["text"].split())
                 for _, c in d.named("story:chapter-ready")}
        kept = {int(c["number"]): " ".join(c["text"].split())
                for c in stored.get("chapters") or []}
        differ = [n for n in aired if kept.get(n) != aired[n]]
        print(f"stored chapters (storyctl session): {len(kept)}; differing from what aired: "
              f"{differ}")
        print(f"recap stored: {bool(recap.get('logline'))} — ending {recap.get('ending')!r}, "
              f"{len(recap.get('moments') or [])} moments: {recap.get('logline', '')!r}")
        figures = analyse(name, d, model, result, upto, keep)
        figures["chapter1_after"] = result["first"]["_after"]
        figures["chapter1_provider"] = result["first"].get("provider")
        print(f"chapter 1 aired {figures['chapter1_after']:.2f} s after start "
              f"(by {figures['chapter1_provider']}; chapter_deadline {deadline:g} s)")
        return figures
    finally:
        d.stop()
        model.stop()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--chapters", type=int, default=12)
    ap.add_argument("--fast-delay", type=float, default=0.3)
    ap.add_argument("--slow-delay", type=float, default=6.0)
    ap.add_argument("--vote", type=int, default=15)
    ap.add_argument("--keep", type=Path)
    ap.add_argument("--only", default="arc,end,finish,late-finish,finish-now,extend-early,"
                    "extend-end,outline,"
                    "plan-stall,plan-trickle,plan-stall-chapter1,plan-trickle-chapter1")
    ap.add_argument("--seed", type=int, default=SEED, help="the model's misbehaviour")
    args = ap.parse_args()
    globals()["SEED"] = args.seed
    only = set(args.only.split(","))
    results = []
    with tempfile.TemporaryDirectory(prefix="check-model-story-") as raw:
        base = Path(raw)
        if "arc" in only:
            results.append(run("arc", base, delay=args.fast_delay, max_chapters=8, vote=60,
                               keep=args.keep, upto=args.chapters, extend=args.chapters,
                               close_after=args.fast_delay * 3 + 0.7))
        if "end" in only:
            results.append(run("end", base, delay=args.slow_delay, max_chapters=3,
                               vote=args.vote, keep=args.keep, upto=args.chapters))
        if "finish" in only:
            results.append(run("finish", base, delay=args.slow_delay, max_chapters=8,
                               vote=args.vote, keep=args.keep, upto=args.chapters,
                               finish_at=1))
        if "outline" in only:
            results.append(run("outline", base, delay=args.fast_delay, max_chapters=4, vote=60,
                               keep=args.keep, upto=args.chapters, close_after=args.fast_delay * 3 + 0.7,
                               start=("mystery", "--outline", OUTLINE),
                               outline_names=("Anna Berg", "Jonas Falk", "Lübeck")))
        for mode in ("stall", "trickle", "stall-chapter1", "trickle-chapter1"):
            if f"plan-{mode}" in only:
                results.append(run(f"plan-{mode}", base, delay=args.fast_delay, max_chapters=2,
                                   vote=60, keep=args.keep, upto=args.chapters, deadline=5.0,
                                   plan_mode=mode, plan_seconds=30.0,
                                   close_after=args.fast_delay * 3 + 0.7))
        if "late-finish" in only:
            results.append(run("late-finish", base, delay=args.slow_delay, max_chapters=8,
                               vote=args.vote, keep=args.keep, upto=args.chapters,
                               finish_at=1, finish_after=args.vote - 3.0))
            results.append(run("late-finish-card", base, delay=args.slow_delay, max_chapters=8,
                               vote=args.vote, keep=args.keep, upto=args.chapters,
                               finish_at=1, finish_after=args.vote - 3.0, result_seconds=5.0))
        if "finish-now" in only:
            results.append(run("finish-now", base, delay=args.slow_delay, max_chapters=8,
                               vote=args.vote, keep=args.keep, upto=args.chapters,
                               finish_at=1, finish_after=1.0, finish_now=True))
        if "extend-early" in only:
            results.append(run("extend-early", base, delay=1.0, max_chapters=8, vote=60,
                               keep=args.keep, upto=args.chapters, extend_early=args.chapters,
                               close_after=3 * 1.0 + 0.7))
        if "extend-end" in only:
            results.append(run("extend-end", base, delay=args.fast_delay, max_chapters=3,
                               vote=args.vote, keep=args.keep, upto=args.chapters,
                               extend_at=(2, 5)))
    print("\n== summary")
    bad = 0
    for f in results:
        closing = f["closing_dead_air"][-1] if f["closing_dead_air"] else None
        late = f["name"] in ("arc", "late-finish", "late-finish-card", "finish-now")   # no target
        slow_start = f["name"].startswith("plan-") and f["chapter1_after"] > 5.0 + 1.0
        flaws = (len(f["prompt_misses"]) + len(f["shorter"]) + len(f["filler"])
                 + (0 if f["first_is_plan"] else 1) + len(f["story_notes"])
                 + len(f["preview_strays"]) + len(f["cut_sentences"])
                 + len(f.get("outline_lost") or ()) + int(slow_start)
                 + (1 if closing is not None and closing > TARGET_DEAD_AIR and not late
                    else 0))
        bad += flaws
        print(f"{f['name']}: first=plan {f['first_is_plan']}, prompt misses "
              f"{len(f['prompt_misses'])}, shorter {len(f['shorter'])}, filler "
              f"{len(f['filler'])}, repeats {len(f['repeats'])}, offline {f['offline']}, "
              f"requests/chapter {f['requests_per_chapter']:.2f}, closing dead air "
              f"{'-' if closing is None else f'{closing:.2f} s'}, story notes "
              f"{len(f['story_notes'])}, chapter 1 after {f['chapter1_after']:.2f} s"
              + (" — FAILED" if flaws else ""))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
