"""The vote core against a plain reference model (issue 23: the core's fast paths — the
batched drain, the vectorised setters, the parser's early rejection — count as one ballot per
viewer, the last one counts, and moderation takes back exactly what it did before)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from storyd.core.model import ChatMessage, key_of_viewer_id
from storyd.core.vote_parse import parse_vote
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
