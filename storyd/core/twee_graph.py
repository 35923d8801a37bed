"""A Twee story as a graph: the checks that make it playable, and walking it (pure).

Theory of operation: passages are nodes, links are edges. A story is playable when every
passage can be reached from the start passage and every passage can reach an ending (a
passage without links). Cycles are allowed on that condition — viewers may loop back, but
there is always a way out, and `finish` (or `[story] max_chapters`) takes the nearest way
out — so no story storyd accepts can hang at a dead end or loop forever with no exit.

Walking: the chapters taken so far are the link texts chosen, oldest first; from the start
passage each text names the link to follow (link texts are unique within a passage).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence

from storyd.core.twee_model import Passage, TweeStory
from storyd.errors import RefusedError

Problems = list[tuple[int, str]]


def reachable(story: TweeStory, start: str | None = None) -> set[str]:
    """Every passage a walk from `start` (default: the start passage) can reach, itself too."""
    seen = {start or story.start}
    todo = deque(seen)
    while todo:
        for link in story.passages[todo.popleft()].links:
            if link.target not in seen:
                seen.add(link.target)
                todo.append(link.target)
    return seen


def can_end(story: TweeStory) -> set[str]:
    """Every passage from which some path reaches an ending."""
    into: dict[str, list[str]] = {name: [] for name in story.passages}
    for p in story.passages.values():
        for link in p.links:
            into[link.target].append(p.name)
    done = {p.name for p in story.passages.values() if not p.links}
    todo = deque(done)
    while todo:
        for source in into[todo.popleft()]:
            if source not in done:
                done.add(source)
                todo.append(source)
    return done


def graph_problems(story: TweeStory) -> Problems:
    """Unreachable passages, passages with no way to an ending, a story with no ending."""
    problems: Problems = []
    seen = reachable(story)
    ends = can_end(story)
    if not any(not p.links for p in story.passages.values()):
        problems.append((0, "the story has no ending (a passage without links)"))
    for p in story.passages.values():
        if p.name not in seen:
            problems.append((p.line, f"passage '{p.name}' cannot be reached from the start "
                                     f"passage '{story.start}'"))
        elif p.name not in ends:
            problems.append((p.line, f"from passage '{p.name}' no path reaches an ending: a "
                                     "loop with no way out would never end"))
    return problems


def has_cycle(story: TweeStory) -> bool:
    state: dict[str, int] = {}     # 1 on the current path, 2 done

    for root in story.passages:
        if root in state:
            continue
        stack = [(root, iter(story.passages[root].links))]
        state[root] = 1
        while stack:
            name, links = stack[-1]
            link = next(links, None)
            if link is None:
                state[name] = 2
                stack.pop()
            elif state.get(link.target) == 1:
                return True
            elif link.target not in state:
                state[link.target] = 1
                stack.append((link.target, iter(story.passages[link.target].links)))
    return False


def path_lengths(story: TweeStory) -> tuple[int, int] | None:
    """(shortest, longest) number of passages from the start to an ending, both counted;
    None for a story with a cycle (its longest path has no bound)."""
    if has_cycle(story):
        return None
    memo: dict[str, tuple[int, int]] = {}
    stack = [story.start]
    while stack:                      # post-order without recursion (300 passages deep)
        name = stack[-1]
        todo = [t for t in (lk.target for lk in story.passages[name].links) if t not in memo]
        if todo:
            stack.extend(todo)
            continue
        stack.pop()
        if name in memo:
            continue
        links = story.passages[name].links
        memo[name] = ((1, 1) if not links else
                      (1 + min(memo[lk.target][0] for lk in links),
                       1 + max(memo[lk.target][1] for lk in links)))
    return memo[story.start]


def walk(story: TweeStory, path: Sequence[str]) -> Passage:
    """The passage reached from the start by choosing these link texts in order."""
    here = story.passages[story.start]
    for number, text in enumerate(path, 1):
        link = next((lk for lk in here.links if lk.text == text), None)
        if link is None:
            raise RefusedError(f"{story.source}: choice {number} ('{text[:60]}') is not a link "
                               f"of passage '{here.name}': the story file changed")
        here = story.passages[link.target]
    return here


def nearest_ending(story: TweeStory, name: str) -> Passage:
    """The ending fewest links away from passage `name` (itself when it is one); links in
    their order break ties, so the answer is always the same."""
    seen, todo = {name}, deque([name])
    while todo:
        p = story.passages[todo.popleft()]
        if not p.links:
            return p
        for link in p.links:
            if link.target not in seen:
                seen.add(link.target)
                todo.append(link.target)
    raise RefusedError(f"{story.source}: no ending can be reached from '{name}'")
