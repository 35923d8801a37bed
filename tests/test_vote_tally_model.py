"""The vote core against a plain reference model (issue 23: the core's fast paths — the
batched drain, the vectorised setters, the parser's early rejection — count as one ballot per
viewer, the last one counts, and moderation takes back exactly what it did before)."""

from __future__ import annotations

from typing import Any
from unittest.mock import patch

import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st

from storyd.core import vote_intake
from storyd.core.model import ChatMessage, key_of_viewer_id
from storyd.core.vote_parse import command_word, parse_vote
from storyd.core.voting import RoundRules, VoteRound

N = 3
TEXTS = ("!a", "!b", "!c", "b", "!C lets go", "(a)", "+b!", "2", "!f", "!d", "lol", "ab",
         "cave the dragon 7", "a a a!!", "aaaa", "@bot !c", "")
VIEWERS = ("tiktok:1", "tiktok:2", "tiktok:7300000000000000001", "twitch:5", "local:ann",
           "demo")


class Model:
    """One ballot per viewer, the last vote counts; moderation with two levels."""

    def __init__(self) -> None:
        self.ballot: dict[str, int] = {}
        self.setter: dict[str, tuple[str, int]] = {}
        self.below: dict[str, tuple[str, int] | None] = {}
        self.window: dict[str, str] = {}        # viewers touched since the drain -> name
        self.invalid = 0

    def chat(self, viewer: str, text: str, mid: str, name: str) -> None:
        c = parse_vote(text)
        if c is None:
            return
        if c >= N:
            self.invalid += 1
            return
        if self.ballot.get(viewer) == c:
            return                              # a repeat sets nothing
        self.below[viewer] = self.setter.get(viewer) if viewer in self.ballot else None
        self.setter[viewer] = (mid, c)
        self.ballot[viewer] = c
        self.window[viewer] = name

    def retract(self, mid: str) -> bool:
        for v, (top, _c) in list(self.setter.items()):
            if mid and top == mid:
                fallback = self.below.get(v)
                if fallback is None:
                    del self.ballot[v], self.setter[v]
                    self.below.pop(v, None)
                else:
                    self.ballot[v], self.setter[v], self.below[v] = fallback[1], fallback, None
                self.window.setdefault(v, "")
                return True
            below = self.below.get(v)
            if mid and below is not None and below[0] == mid:
                self.below[v] = None
                return False
        return False

    def ban(self, viewer: str) -> bool:
        if viewer not in self.ballot:
            return False
        del self.ballot[viewer], self.setter[viewer]
        self.below.pop(viewer, None)
        self.window.setdefault(viewer, "")
        return True

    def drain(self) -> list[tuple[str, str, int, int]]:
        rows = [(v, name, self.ballot.get(v, -1), 1 if v in self.ballot else 0)
                for v, name in self.window.items()]
        self.window = {}
        return rows

    def counts(self) -> tuple[int, ...]:
        return tuple(sum(1 for c in self.ballot.values() if c == i) for i in range(N))


def message(viewer: str, text: str, mid: str, name: str) -> ChatMessage:
    key = key_of_viewer_id(viewer)
    return ChatMessage(platform=viewer.partition(":")[0], user_id=viewer, name=name, text=text,
                       msg_id=mid, key=key if isinstance(key, int) else 0)


STEP = st.one_of(
    st.tuples(st.just("chat"), st.lists(st.tuples(st.sampled_from(VIEWERS),
                                                  st.sampled_from(TEXTS)), max_size=12)),
    st.tuples(st.just("drain"), st.just([])),
    st.tuples(st.just("retract"), st.integers(0, 8)),      # the n-th most recent message
    st.tuples(st.just("ban"), st.sampled_from(VIEWERS)))


@settings(max_examples=1500, deadline=None)
@given(st.lists(STEP, max_size=14))
def test_the_tally_behaves_as_the_reference_model(steps: list[tuple[str, object]]) -> None:
    r = VoteRound(round_id=1, n_choices=N, rules=RoundRules(), opens_at=0, ends_at=60, seed=1)
    model = Model()
    sent = 0
    for kind, arg in steps:
        if kind == "chat":
            batch = []
            for viewer, text in arg:  # type: ignore[attr-defined]
                sent += 1
                name = f"{viewer[-3:]}#{sent}"
                batch.append(message(viewer, text, f"m{sent}", name))
                model.chat(viewer, text, f"m{sent}", name)
            r.ingest(batch)
        elif kind == "drain":
            assert r.drain_dirty() == model.drain()
        elif kind == "retract":
            mid = f"m{sent - arg}"  # type: ignore[operator]
            assert r.retract(mid) == model.retract(mid), mid
        else:
            key = key_of_viewer_id(str(arg))
            assert r.remove_viewer(key) == model.ban(str(arg))
        assert r.counts == model.counts() and r.voters == len(model.ballot)
        assert r.invalid == model.invalid
    assert r.drain_dirty() == model.drain()


COMMANDS = frozenset({"join"})
MORE_TEXTS = (*TEXTS, "!join", "!join me", "!leave", " !a", "Ｂ", "a lot", "(b)", "bb", "c.",
              "+a a a!!!  ", "b b       x", "!c          ")


class FullModel(Model):
    """The reference model with gift weight (held before a first ballot), refused changes,
    chat commands and requeued rows."""

    def __init__(self, allow_change: bool) -> None:
        super().__init__()
        self.allow_change = allow_change
        self.gifts: dict[str, int] = {}
        self.held: dict[str, int] = {}
        self.found: list[tuple[str, str]] = []

    def chat(self, viewer: str, text: str, mid: str, name: str) -> None:
        c = parse_vote(text)
        if c is None:
            word = command_word(text, COMMANDS)
            if word is not None:
                self.found.append((word, mid))
            return
        if c < N and viewer in self.ballot and self.ballot[viewer] != c \
                and not self.allow_change:
            return                              # a refused change sets nothing
        if c < N and viewer not in self.ballot and viewer in self.held:
            self.gifts[viewer] = self.held.pop(viewer)
        super().chat(viewer, text, mid, name)

    def gift(self, viewer: str, amount: int) -> int:
        if viewer not in self.ballot:
            have = self.held.get(viewer, 0)
            if min(amount, 10 - have) > 0:
                self.held[viewer] = have + min(amount, 10 - have)
            return 0
        add = min(amount, 10 - self.gifts.get(viewer, 0))
        if add <= 0:
            return 0
        self.gifts[viewer] = self.gifts.get(viewer, 0) + add
        self.window.setdefault(viewer, "")
        return add

    def retract(self, mid: str) -> bool:
        changed = super().retract(mid)
        self.gifts = {v: g for v, g in self.gifts.items() if v in self.ballot}
        return changed

    def ban(self, viewer: str) -> bool:
        self.held.pop(viewer, None)
        self.gifts.pop(viewer, None)
        return super().ban(viewer)

    def requeue(self, rows: list[tuple[str, str, int, int]]) -> None:
        for viewer, name, _c, _w in rows:
            if name or viewer not in self.window:
                self.window[viewer] = name

    def drain(self) -> list[tuple[str, str, int, int]]:
        rows = [(v, name, self.ballot.get(v, -1),
                 1 + self.gifts.get(v, 0) if v in self.ballot else 0)
                for v, name in self.window.items()]
        self.window = {}
        return rows

    def counts(self) -> tuple[int, ...]:
        return tuple(sum(1 + self.gifts.get(v, 0) for v, c in self.ballot.items() if c == i)
                     for i in range(N))


FULL_STEP = st.one_of(
    st.tuples(st.just("chat"), st.lists(st.tuples(st.sampled_from(VIEWERS),
                                                  st.sampled_from(MORE_TEXTS), st.booleans()),
                                        max_size=12)),
    st.tuples(st.just("drain"), st.just(0)),
    st.tuples(st.just("fail"), st.just(0)),                # a drain whose save failed
    st.tuples(st.just("requeue"), st.just(0)),
    st.tuples(st.just("retract"), st.integers(0, 8)),
    st.tuples(st.just("ban"), st.sampled_from(VIEWERS)),
    st.tuples(st.just("gift"), st.tuples(st.sampled_from(VIEWERS), st.integers(1, 12))))


@settings(max_examples=1500, deadline=None)
@given(st.booleans(), st.lists(FULL_STEP, max_size=16))
def test_every_path_of_the_tally_behaves_as_the_reference_model(
        allow_change: bool, steps: list[tuple[str, Any]]) -> None:
    # The common-case loop (no gift weight, changes allowed) and the weighted one, switched
    # between mid-round by a gift; keyless messages of viewers that have keys; chat
    # commands; texts learned past tiny caps; moderation and requeue after either loop.
    r = VoteRound(round_id=1, n_choices=N, rules=RoundRules(allow_change=allow_change),
                  opens_at=0, ends_at=60, seed=1, commands=COMMANDS)
    model = FullModel(allow_change)
    sent = 0
    pending: list[tuple[str, str, int, int]] = []
    with patch.object(vote_intake, "_TABLE_CAP", 2), \
            patch.object(vote_intake, "_CHATTER_CAP", 2):
        for kind, arg in steps:
            if kind == "chat":
                batch = []
                invalid0 = model.invalid
                for viewer, text, keyless in arg:
                    sent += 1
                    name = f"{viewer[-3:]}#{sent}"
                    m = message(viewer, text, f"m{sent}", name)
                    batch.append(msgspec.structs.replace(m, key=0) if keyless else m)
                    model.chat(viewer, text, f"m{sent}", name)
                res = r.ingest(batch)
                assert res.invalid == model.invalid - invalid0
            elif kind in ("drain", "fail"):
                rows = r.drain_dirty()
                assert rows == model.drain()
                if kind == "fail":
                    pending += rows
            elif kind == "requeue":
                r.requeue(pending)
                model.requeue(pending)
                pending = []
            elif kind == "retract":
                mid = f"m{sent - arg}"
                assert r.retract(mid) == model.retract(mid), mid
            elif kind == "ban":
                assert r.remove_viewer(key_of_viewer_id(arg)) == model.ban(arg)
            else:
                viewer, amount = arg
                assert r.add_gift(viewer, amount, unit="votes") == model.gift(viewer, amount)
                assert r.held_weight(viewer) == model.held.get(viewer, 0)
            assert r.counts == model.counts() and r.voters == len(model.ballot)
            assert r.invalid == model.invalid
            assert [(w, m.msg_id) for w, m in r.found_commands] == model.found
        assert r.drain_dirty() == model.drain()
