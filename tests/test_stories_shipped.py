"""Every shipped authored story is walked, and read by an independent Twee 3 parser (issue 18).

The walk picks up whatever `storyd/stories/<lang>/<theme>.twee` files there are (package
data, as an installed storyd finds them), so a story is checked the moment it lands: storyd's
reader accepts it (every link resolves, every passage is reachable and reaches an ending, no
dead end, no story-format code), and it is what the storyd/stories spec asks of a shipped
story — 24+ passages, 3 choices per decision, no loops, 7–10 chapters on every path, 3+ tagged
endings, branches that rejoin, delayed consequences as " ~ variant" passages, chapters of a
narratable length. `STORYD_STORIES_DIR=/some/dir` walks a draft folder of the same layout.

Extwee (npm `extwee`, installed by `npm ci --prefix tests/twine`, which .ci/run does) reads
every shipped file and the README's example, and compiles it to a published Twine 2 story;
what it reads must be what storyd reads. Skipped, with the reason, without node or Extwee
(`STORYD_REQUIRE_EXTWEE=1`, set by .ci/run, turns the missing install into a failure).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections import Counter
from pathlib import Path

import pytest

from storyd.core.themes import THEMES
from storyd.core.twee import LINK, read_twee
from storyd.core.twee_graph import has_cycle, path_lengths
from storyd.core.twee_model import TweeStory
from storyd.system import paths

ROOT = Path(__file__).resolve().parent
STORIES = Path(os.environ.get("STORYD_STORIES_DIR") or paths.asset("stories"))
SHIPPED = sorted(STORIES.glob("*/*.twee"))
EXAMPLE = ROOT / "fixtures" / "twee" / "last_ferry.twee"
TWINE = ROOT / "twine"
LANGUAGES = ("en", "de")
OVERUSED = ("elara", "elias", "mara", "lyra", "kael", "thorne", "voss", "seraphina", "aria",
            "luna", "a testament to", "tapestry", "whispers of", "lighthouse keeper")
NAME_CHARS = re.compile(r"[^\w\s',~.!?-]|_")


def _id(path: Path) -> str:
    return f"{path.parent.name}/{path.stem}"


def _read(path: Path) -> TweeStory:
    return read_twee(path.read_bytes(), _id(path))


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_shipped_stories_cover_six_themes_in_each_language(lang: str) -> None:
    themes = {p.stem for p in SHIPPED if p.parent.name == lang}
    if not themes:
        pytest.skip(f"no {lang} stories in {STORIES} yet")
    assert len(themes) >= 6, f"{lang}: only {sorted(themes)}"


def test_shipped_stories_are_where_storyd_finds_them_each_with_its_own_ifid() -> None:
    assert {p.parent.name for p in SHIPPED} <= set(LANGUAGES)
    ifids = [_read(p).ifid for p in SHIPPED]
    assert len(set(ifids)) == len(ifids), "every story needs its own ifid"


@pytest.mark.parametrize("path", SHIPPED, ids=_id)
def test_a_shipped_story_walks_from_its_start_to_every_ending(path: Path) -> None:
    raw = path.read_bytes()
    assert b"\r" not in raw and not raw.startswith(b"\xef\xbb\xbf"), "UTF-8 with LF endings"
    story = _read(path)   # refused here if a link, a passage or an ending is out of reach
    assert path.parent.name in LANGUAGES and path.stem in THEMES, "stories/<lang>/<theme>.twee"
    assert re.fullmatch(r"[0-9A-F]{8}-[0-9A-F]{4}-4[0-9A-F]{3}-[89AB][0-9A-F]{3}-[0-9A-F]{12}",
                        story.ifid), "ifid: an upper-case UUID v4"
    passages = story.passages.values()
    assert len(story.passages) >= 24
    for p in passages:
        assert len(p.links) in (0, 3), f"{p.name}: {len(p.links)} choices (3 per decision)"
        assert not NAME_CHARS.search(p.name), f"{p.name}: characters the spec keeps out"
        words = len(p.prose.split())
        assert 50 <= words <= 100, f"{p.name}: {words} words (20–40 s of narration)"
        for link in p.links:
            assert len(link.text) <= 60, f"{p.name}: choice '{link.text}' is too long to vote on"
    endings = [p for p in passages if not p.links]
    assert len(endings) >= 3
    assert all(p.ending for p in endings), [p.name for p in endings if not p.ending]
    assert {p.ending for p in endings} >= {"good", "bad"}, "endings that differ"
    assert not has_cycle(story)
    lengths = path_lengths(story)
    assert lengths is not None and 7 <= lengths[0] and lengths[1] <= 10, lengths
    # branch and bottleneck: scenes reached from several passages
    sources: dict[str, set[str]] = {}
    for p in passages:
        for lk in p.links:
            sources.setdefault(lk.target, set()).add(p.name)
    assert sum(1 for s in sources.values() if len(s) >= 2) >= 3, "branches that rejoin"
    # delayed consequences: the same scene in different states (" ~ variant" passages)
    titles = Counter(p.title for p in passages)
    assert sum(1 for n in titles.values() if n >= 2) >= 2, "at least two variant scenes"
    # the final choice matters: some decision leads to two different endings
    ends = {p.name for p in endings}
    assert any(len({lk.target for lk in p.links} & ends) >= 2 for p in passages)
    text = " ".join([story.title, *(p.prose for p in passages), *story.passages]).casefold()
    assert not [w for w in OVERUSED if re.search(rf"\b{w}\b", text)], "overused names/motifs"


# What a scene names as known: on every way to it an earlier passage brought it in, or the
# scene introduces it itself. Found reading the demo as aired: "Über die Grenze" sent Hanne
# away on a path where she was never met, "Die Weinbar" showed "the" little wooden house on a
# path where it was never seen.
INTRODUCED = (
    ("de/mystery", "Über die Grenze", "Hanne", "seine Frau Hanne"),
    ("de/romance", "Die Weinbar", "Holzhaus", "einem winzigen Holzhaus"),
    ("en/comedy", "Curtain Call", "vintage", None),
)


def _ways_to(story: TweeStory, scene: str) -> list[list[str]]:
    """Every path of passage names from the start to `scene` (the scene left out)."""
    out: list[list[str]] = []
    todo = [[story.start]]
    while todo:
        path = todo.pop()
        for link in story.passages[path[-1]].links:
            if link.target == scene:
                out.append(path)
            elif story.passages[link.target].links:
                todo.append([*path, link.target])
    return out


@pytest.mark.parametrize(("story_id", "scene", "name", "introduction"), INTRODUCED,
                         ids=[f"{i}:{s}" for i, s, _n, _x in INTRODUCED])
def test_a_scene_names_only_what_every_way_to_it_brought_in(
        story_id: str, scene: str, name: str, introduction: str | None) -> None:
    path = STORIES / f"{story_id}.twee"
    if not path.is_file():
        pytest.skip(f"no {story_id} in {STORIES}")
    story = _read(path)
    ways = _ways_to(story, scene)
    assert ways, f"{scene}: not reached"
    prose = story.passages[scene].prose
    for way in ways:
        known = any(name.casefold() in story.passages[p].prose.casefold() for p in way)
        assert known or (introduction and introduction in prose), (scene, name, way)


def _extwee(files: list[Path]) -> list[dict[str, object]]:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed: the Extwee check of the shipped stories needs it "
                    "(apt-get install nodejs npm; npm ci --prefix tests/twine)")
    if not (TWINE / "node_modules" / "extwee").is_dir():
        if os.environ.get("STORYD_REQUIRE_EXTWEE"):
            pytest.fail("Extwee is not installed: npm ci --prefix tests/twine")
        pytest.skip("Extwee is not installed: run `npm ci --prefix tests/twine` (.ci/run does)")
    run = subprocess.run([node, str(TWINE / "read_stories.mjs"), *map(str, files)],
                         capture_output=True, text=True, timeout=120, check=False)
    assert run.returncode == 0, run.stderr[-2000:]
    return json.loads(run.stdout)   # type: ignore[no-any-return]


def test_extwee_reads_every_shipped_story_as_storyd_does() -> None:
    files = [EXAMPLE, *SHIPPED]
    results = _extwee(files)
    assert len(results) == len(files)
    for path, found in zip(files, results, strict=True):
        assert found["ok"], f"{path}: Extwee: {found.get('error')}"
        assert found["warnings"] == [], f"{path}: Extwee warns: {found['warnings']}"
        ours = read_twee(path.read_bytes(), path.name)
        assert (found["name"], found["ifid"], found["start"]) == (ours.title, ours.ifid,
                                                                   ours.start), path
        assert found["format"] and found["htmlBytes"] > 1000   # it compiled to Twine 2 HTML
        theirs = {p["name"]: p for p in found["passages"]}    # type: ignore[attr-defined]
        assert set(theirs) == set(ours.passages), path
        for name, p in ours.passages.items():
            text = theirs[name]["text"]
            assert sorted(theirs[name]["tags"]) == sorted(p.tags), name
            links = [m.group(1).split("->") for m in LINK.finditer(text)]
            assert [(lk.text, lk.target) for lk in p.links] == [tuple(x) for x in links], name
            prose = LINK.sub(" ", text)
            assert " ".join(prose.split()) == p.prose, name
