"""The pure vote core: parsing, tally, tie/no-vote policies, early close, gifts, stored rows."""

from __future__ import annotations

import itertools
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from storyd.config.structs import VotingConfig
from storyd.core import vote_intake, vote_tally
from storyd.core.model import ChatMessage, viewer_key
from storyd.core.ports import IngestResult
from storyd.core.vote_intake import CHAT, text_table
from storyd.core.vote_parse import command_word, parse_vote
from storyd.core.voting import Extended, RoundResult, RoundRules, VoteRound
from storyd.errors import RefusedError

# -- parsing ---------------------------------------------------------------------------------

VOTES = [
    *[(t, i) for i, k in enumerate("abcdef")
      for t in (f"!{k}", f"!{k.upper()}", k, k.upper(), f"!{i + 1}", str(i + 1))],
    ("!a please", 0), ("!B lets go", 1), ("!3 🔥🔥", 2), ("!c\tgo", 2), ("!d\n", 3),
    ("  !e  ", 4), ("\t f \n", 5), (" 1", 0), ("2 ", 1), ("\u3000!c\u3000x", 2),
    ("!a\xa0yes", 0), ("！ａ", 0), ("Ｂ", 1), ("２ ", 1), ("！3 ok", 2), ("!ｄ", 3),
    # issue 19: as real chat types them
    ("@storybot !a", 0), ("@storybot a", 0), ("@x @y @z !c", 2), ("＠bot ｂ", 1),
    ("+a", 0), ("+B", 1), ("a.", 0), ("a!", 0), ("!a!", 0), ("!b.", 1), ("!a!!!", 0),
    ("a...", 0), ("(a)", 0), ("(C)", 2), ("(a)!", 0), ("+a!", 0), ("aa", 0), ("a a", 0),
    ("AAA", 0), ("a a a", 0), ("aA", 0), ("!a! lets go", 0), ("！ａ！", 0), ("ａ ａ", 0),
    ("@bot +b", 1),
]
NOT_VOTES = [
    "", " ", "!", "!!", "a lot of fun", "b-but why", "ab", "!ab", "!a,", "! a", "a b",
    "!g", "G", "!7", "7", "0", "!0", "first", "1st", "!gift", "🔥", "a🔥", "!a🔥", "lol",
    "é", "!é", "ä", "x" * 1_000_000, "a" + "b" * 1_000_000, "a" + " " * 1_000_000 + "x",
    "\u200ba", "!\u200ba",
    # issue 19: what stays chat
    "+1", "11", "1.", "(1)", "!1!", "1 1", "aaaa", "a  a", "aa a", "a!!!!", "!a!!!!", "@bot",
    "@bot hello", "@ !a", "@a @b @c @d !a", "a !", "++a", "(ab)", "(a", "a)", "@bot ab",
    "+a lets go", "a. go", "(a) go",
]


@pytest.mark.parametrize(("text", "choice"), VOTES)
def test_parse_vote_accepts(text: str, choice: int) -> None:
    assert parse_vote(text) == choice


@pytest.mark.parametrize("text", NOT_VOTES, ids=lambda t: repr(t[:12]))
def test_parse_vote_rejects(text: str) -> None:
    assert parse_vote(text) is None


def test_parse_vote_huge_votes() -> None:
    assert parse_vote("!b " + "words " * 200_000) == 1
    assert parse_vote(" " * 1_000_000 + "a") == 0
    assert parse_vote("c" + " " * 1_000_000) == 2
    assert parse_vote("@" + "x" * 1_000_000 + " !a") is None     # no mention is that long


# The rules as regular expressions: the reference the fast parser must agree with.
_FULLWIDTH = {c: c - 0xFEE0 for c in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}
_MENTIONS = r"(?:@\S{1,63}\s+){0,3}"
_REFERENCE = re.compile(
    rf"{_MENTIONS}(?:!(?P<bang>[a-f])[!.]{{0,3}}(?:\s.*)?|!(?P<bangd>[1-6])(?:\s.*)?"
    r"|\+?(?P<rep>[a-f])(?:(?P=rep)(?P=rep)?| (?P=rep)(?: (?P=rep))?)?[!.]{0,3}"
    r"|\((?P<par>[a-f])\)[!.]{0,3}|(?P<digit>[1-6]))", re.IGNORECASE | re.DOTALL)


def _reference(text: str) -> int | None:
    m = _REFERENCE.fullmatch(text.strip().translate(_FULLWIDTH))
    if m is None:
        return None
    key = next(g for g in m.groups() if g).lower()
    return "abcdef".index(key) if key.isalpha() else int(key) - 1


def test_parse_vote_agrees_with_reference_on_every_short_string() -> None:
    alphabet = ["!", "+", "(", ")", ".", "@", "a", "A", "b", "g", "1", "7", " ", "\u3000",
                "x", "ａ", "！"]
    checked = 0
    for n in range(5):
        for chars in itertools.product(alphabet, repeat=n):
            text = "".join(chars)
            assert parse_vote(text) == _reference(text), repr(text)
            checked += 1
    assert checked > 80_000


_VOTEISH = st.text(alphabet=st.sampled_from(
    ["!", "+", "(", ")", ".", "@", "a", "A", "b", "c", "1", "7", " ", "\t", "\u3000", "x",
     "ａ", "！", "＋"]), min_size=5, max_size=24)


@settings(max_examples=3000, deadline=None)
@given(_VOTEISH)
def test_parse_vote_agrees_with_reference_on_longer_strings(text: str) -> None:
    # the parser rejects a bare-vote-shaped text longer than any bare vote early (issue 23)
    assert parse_vote(text) == _reference(text), repr(text)


def test_command_word() -> None:
    words = frozenset({"join", "leave"})
    assert command_word("!join", words) == "join"
    assert command_word("!JOIN as a knight", words) == "join"
    assert command_word("！leave", words) == "leave"
    assert command_word("!joinme", words) is None
    assert command_word("join", words) is None
    assert command_word("!join", frozenset()) is None
    assert command_word("!", words) is None


# -- helpers -----------------------------------------------------------------------------------


def make_round(n: int = 3, seed: int = 1, **rules: object) -> VoteRound:
    return VoteRound(round_id=7, n_choices=n, rules=RoundRules(**rules),  # type: ignore[arg-type]
                     opens_at=100.0, ends_at=160.0, seed=seed)


def msg(user: str, text: str, msg_id: str = "", name: str = "") -> ChatMessage:
    return ChatMessage(platform="test", user_id=user, name=name or user.upper(), text=text,
                       msg_id=msg_id)


def test_rules_from_config() -> None:
    cfg = VotingConfig(allow_change=False, early_close=True, min_votes=3, swing=2,
                       tie_break="extend", no_votes="first", extend_seconds=15, gift_votes=True,
                       diamonds_per_vote=5, max_gift_weight=4)
    rules = RoundRules.from_config(cfg)
    assert rules == RoundRules(allow_change=False, early_close=True, min_votes=3, swing=2,
                               tie_break="extend", no_votes="first", extend_seconds=15.0,
                               gift_votes=True, diamonds_per_vote=5, max_gift_weight=4)
    assert RoundRules.from_config(VotingConfig()) == RoundRules()


@pytest.mark.parametrize(("n", "opens", "ends"), [(0, 0.0, 1.0), (7, 0.0, 1.0), (3, 5.0, 1.0)])
def test_round_rejects_nonsense(n: int, opens: float, ends: float) -> None:
    with pytest.raises(ValueError):
        VoteRound(round_id=1, n_choices=n, rules=RoundRules(), opens_at=opens, ends_at=ends,
                  seed=0)


# -- intake ------------------------------------------------------------------------------------


def test_ingest_counts_and_classifies() -> None:
    r = make_round(3)
    res = r.ingest([msg("u1", "!a"), msg("u2", "B"), msg("u3", "3 "), msg("u4", "hello"),
                    msg("u5", "!e"), msg("u6", "!c go")])
    assert res == IngestResult(accepted=4, invalid=1, ignored=1)
    assert r.counts == (1, 1, 2)
    assert r.voters == 4
    assert r.invalid == 1
    assert r.ballot_of("u5") is None


def test_change_allowed_last_counts_and_stats_once_per_viewer() -> None:
    r = make_round(3)
    res = r.ingest([msg("u1", "!a"), msg("u1", "!a"), msg("u1", "!b"), msg("u1", "!c"),
                    msg("u1", "lol"), msg("u2", "a")])
    assert res == IngestResult(accepted=4, invalid=0, ignored=2)
    assert r.counts == (1, 0, 1)
    assert r.voters == 2
    assert r.ballot_rows() == [("u1", 2, 1), ("u2", 0, 1)]
    assert r.drain_dirty() == [("u1", "U1", 2, 1), ("u2", "U2", 0, 1)]


def test_change_disallowed_first_counts() -> None:
    r = make_round(3, allow_change=False)
    res = r.ingest([msg("u1", "!a"), msg("u1", "!b")])
    assert res == IngestResult(accepted=1, invalid=0, ignored=1)
    assert r.counts == (1, 0, 0)
    assert r.cast("u1", 2) is False
    assert r.ballot_of("u1") == (0, 1)


def test_cast() -> None:
    r = make_round(3)
    assert r.cast("op", 1, "Operator") is True
    assert r.cast("op", 1) is False                    # same choice: nothing changes
    assert r.cast("op", 2) is True
    assert r.cast("op", 3) is False and r.cast("op", -1) is False
    assert r.invalid == 2
    assert r.counts == (0, 0, 1)
    assert r.ballot_rows() == [("op", 2, 1)]
    assert r.drain_dirty() == [("op", "Operator", 2, 1)]   # an unnamed change keeps the name


def test_a_replayed_message_is_a_repeat() -> None:
    # Chat sources drop messages they saw before (RecentIds); one that gets through anyway is
    # a repeat of its own vote, so it never counts twice.
    r = make_round(3)
    assert r.ingest([msg("u1", "!a", "m1")]).accepted == 1
    assert r.ingest([msg("u1", "!a", "m1")]) == IngestResult(0, 0, 1)
    assert r.counts == (1, 0, 0) and r.voters == 1


def test_viewer_keys_unite_the_paths_of_one_viewer() -> None:
    # A TikTok viewer through the live source (int key) and through the ingest API (string
    # user id, no key) is one viewer; a Twitch viewer with the same number is another.
    r = make_round(3)
    r.ingest([ChatMessage(platform="tiktok", user_id="tiktok:42", name="A", text="!a",
                          key=viewer_key("tiktok", "42"))])
    r.ingest([ChatMessage(platform="tiktok", user_id="tiktok:42", name="A", text="!b")])
    r.ingest([ChatMessage(platform="twitch", user_id="twitch:42", name="T", text="!c",
                          key=viewer_key("twitch", 42))])
    assert r.counts == (0, 1, 1) and r.voters == 2
    assert r.ballot_of("tiktok:42") == (1, 1) and r.ballot_of("twitch:42") == (2, 1)
    assert sorted(r.ballot_rows()) == [("tiktok:42", 1, 1), ("twitch:42", 2, 1)]
    assert [row[:3] for row in r.drain_dirty()] == [("tiktok:42", "A", 1),
                                                    ("twitch:42", "T", 2)]


def test_learned_texts_stay_right_and_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(vote_intake, "_CHATTER_CAP", 3)
    monkeypatch.setattr(vote_intake, "_TABLE_CAP", 1)
    r = make_round(3)
    texts = ["!a go", "hi", "!f", "!a go", "hi", "yo", "sup", "hey", "!b go", "!f", "lol"]
    res = r.ingest([msg(f"u{i}", t) for i, t in enumerate(texts)])
    assert res == IngestResult(accepted=3, invalid=2, ignored=6)
    assert r.counts == (2, 1, 0)
    # chat that starts like a vote is learned as chat, at most _CHATTER_CAP texts at a time
    chat = ["a lot", "b-b", "ab", "a lot", "cc dd", "dd ee", "ee ff", "(a", "ab"]
    res = r.ingest([msg(f"v{i}", t) for i, t in enumerate([*chat, "!c go", "!b go"])])
    assert res == IngestResult(accepted=2, invalid=0, ignored=9)
    assert r.counts == (2, 2, 1)
    learned = {t: c for t, c in r._table.items() if t not in text_table(3)}
    assert set(learned) <= {"!a go", *chat} and list(learned.values()).count(CHAT) <= 3
    assert learned.get("!a go") == 0 and "!b go" not in learned      # one vote text learned


def test_commands_are_found_not_counted() -> None:
    r = VoteRound(round_id=1, n_choices=3, rules=RoundRules(), opens_at=0.0, ends_at=60.0,
                  seed=1, commands=frozenset({"join"}))
    res = r.ingest([msg("u1", "!join"), msg("u2", "!a"), msg("u3", "!join me"),
                    msg("u1", "!leave")])
    assert res == IngestResult(accepted=1, invalid=0, ignored=3)
    assert [(w, m.user_id) for w, m in r.found_commands] == [("join", "u1"), ("join", "u3")]


def test_ingest_and_cast_after_close_are_ignored() -> None:
    r = make_round(3)
    r.ingest([msg("u1", "!a")])
    r.close(150.0)
    assert r.ingest([msg("u2", "!b"), msg("u3", "!z")]) == IngestResult(0, 0, 2)
    assert r.cast("u4", 1) is False
    assert r.counts == (1, 0, 0)


# -- closing: winner, ties, no votes --------------------------------------------------------------


def test_clear_winner() -> None:
    r = make_round(3)
    r.ingest([msg("u1", "!b"), msg("u2", "!b"), msg("u3", "!a")])
    assert r.on_deadline(159.9) is None
    res = r.on_deadline(160.0)
    assert res == RoundResult(winner=1, counts=(1, 2, 0), voters=3, tie_break=None, tied=(),
                              early=False, forced=False)
    assert r.closed and r.result is res and r.closed_at == 160.0
    assert r.on_deadline(500.0) is res and r.close(600.0, forced_choice=0) is res  # idempotent


def tied_round(seed: int, **rules: object) -> VoteRound:
    r = make_round(3, seed=seed, **rules)
    r.ingest([msg("u1", "!a"), msg("u2", "!c"), msg("u3", "!a"), msg("u4", "!c"), msg("u5", "b")])
    return r


def test_tie_random_is_seeded_and_recorded() -> None:
    winners = set()
    for seed in range(40):
        res = tied_round(seed).on_deadline(160.0)
        assert isinstance(res, RoundResult)
        assert res.tie_break == "random" and res.tied == (0, 2) and res.winner in (0, 2)
        again = tied_round(seed).on_deadline(160.0)
        assert isinstance(again, RoundResult) and again.winner == res.winner
        winners.add(res.winner)
    assert winners == {0, 2}      # the draw really draws


def test_tie_first() -> None:
    res = tied_round(3, tie_break="first").on_deadline(160.0)
    assert isinstance(res, RoundResult)
    assert (res.winner, res.tie_break, res.tied) == (0, "first", (0, 2))


def test_tie_extend_once_then_random() -> None:
    r = tied_round(3, tie_break="extend", extend_seconds=20.0)
    ext = r.on_deadline(160.5)
    assert ext == Extended(ends_at=180.5, reason="tie")
    assert r.extended and not r.closed and r.ends_at == 180.5
    assert r.on_deadline(170.0) is None
    r.ingest([msg("u6", "!b")])                     # b catches up: a three-way tie
    res = r.on_deadline(180.5)
    assert isinstance(res, RoundResult)
    assert res.tie_break == "random" and res.tied == (0, 1, 2) and res.counts == (2, 2, 2)


def test_extension_resolved_by_new_votes() -> None:
    r = tied_round(3, tie_break="extend")
    assert isinstance(r.on_deadline(160.0), Extended)
    r.ingest([msg("u6", "!c")])
    res = r.on_deadline(180.0)
    assert isinstance(res, RoundResult)
    assert (res.winner, res.tie_break, res.tied) == (2, None, ())


@pytest.mark.parametrize(("policy", "winner", "label"),
                         [("first", 0, "no_votes_first"), ("random", None, "no_votes_random")])
def test_no_votes(policy: str, winner: int | None, label: str) -> None:
    res = make_round(4, no_votes=policy).on_deadline(160.0)
    assert isinstance(res, RoundResult)
    assert res.tie_break == label and res.tied == (0, 1, 2, 3) and res.voters == 0
    assert res.counts == (0, 0, 0, 0)
    if winner is not None:
        assert res.winner == winner
    assert 0 <= res.winner < 4


def test_no_votes_random_draws_among_all() -> None:
    winners = set()
    for seed in range(40):
        res = make_round(3, seed=seed).on_deadline(160.0)
        assert isinstance(res, RoundResult)
        winners.add(res.winner)
    assert winners == {0, 1, 2}


def test_no_votes_extend_once_then_random() -> None:
    r = make_round(3, no_votes="extend", tie_break="first", extend_seconds=20.0)
    assert r.on_deadline(160.0) == Extended(ends_at=180.0, reason="no_votes")
    res = r.on_deadline(180.0)
    assert isinstance(res, RoundResult) and res.tie_break == "no_votes_random"
    # a tie after a no-vote extension cannot extend either: tie_break "first" still applies
    r2 = make_round(3, no_votes="extend", tie_break="extend")
    assert isinstance(r2.on_deadline(160.0), Extended)
    r2.ingest([msg("u1", "!a"), msg("u2", "!b")])
    res2 = r2.on_deadline(180.0)
    assert isinstance(res2, RoundResult) and res2.tie_break == "random" and res2.tied == (0, 1)


def test_operator_close_never_extends() -> None:
    r = tied_round(5, tie_break="extend")
    res = r.close(150.0)
    assert res.tie_break == "random" and res.tied == (0, 2) and not r.extended
    assert r.ends_at == 160.0


def test_forced_close() -> None:
    r = tied_round(5)
    with pytest.raises(RefusedError, match="3 choices"):
        r.close(150.0, forced_choice=3)
    assert not r.closed                             # a refused close changes nothing
    res = r.close(150.0, forced_choice=1)
    assert res == RoundResult(winner=1, counts=(2, 1, 2), voters=5, tie_break="forced", tied=(),
                              early=False, forced=True)


# -- early close ---------------------------------------------------------------------------------


def test_early_close_off_by_default() -> None:
    r = make_round(3, min_votes=1, swing=1)
    r.ingest([msg(f"u{i}", "!a") for i in range(20)])
    assert r.leader_clear() is False


def test_early_close_needs_min_votes_and_swing() -> None:
    r = make_round(3, early_close=True, min_votes=6, swing=3)
    r.ingest([msg(f"u{i}", "!a") for i in range(5)])
    assert r.leader_clear() is False                # 5 voters < min_votes
    r.ingest([msg("u5", "!b")])
    assert r.leader_clear() is True                 # 5 vs 1, 6 voters
    r.ingest([msg("u6", "!b"), msg("u7", "!b")])
    assert r.leader_clear() is False                # 5 vs 3: lead 2 < swing
    res = r.close(130.0, early=True)
    assert res.early and res.winner == 0
    assert r.leader_clear() is False                # closed


def test_a_tie_never_closes_early() -> None:
    r = make_round(3, early_close=True, min_votes=1, swing=0)
    r.ingest([msg("u1", "!a"), msg("u2", "!b")])
    assert r.leader_clear() is False
    r.ingest([msg("u3", "!b")])
    assert r.leader_clear() is True


def test_repeated_messages_do_not_reach_min_votes() -> None:
    r = make_round(3, early_close=True, min_votes=3, swing=1)
    r.ingest([msg("spammer", "!a")] * 50)
    assert r.voters == 1 and r.leader_clear() is False


# -- gifts -----------------------------------------------------------------------------------------


def test_gifts_off_add_nothing() -> None:
    r = make_round(3)
    r.cast("u1", 0)
    assert r.add_gift("u1", 100) == 0
    assert r.counts == (1, 0, 0)


def test_gifts_weight_cap_and_no_ballot() -> None:
    r = make_round(3, gift_votes=True, diamonds_per_vote=5, max_gift_weight=4)
    assert r.add_gift("nobody", 100) == 0
    r.ingest([msg("u1", "!b"), msg("u2", "!a")])
    assert r.add_gift("u1", 4) == 0                 # 4 // 5 == 0
    assert r.add_gift("u1", 14) == 2
    assert r.counts == (1, 3, 0)
    assert r.add_gift("u1", 1000) == 2              # capped at 4 extra per viewer and round
    assert r.add_gift("u1", 1000) == 0
    assert r.add_gift("u1", -5) == 0
    assert r.counts == (1, 5, 0) and r.voters == 2
    r.ingest([msg("u1", "!c")])                     # the whole weight moves with the ballot
    assert r.counts == (1, 0, 5)
    assert r.ballot_of("u1") == (2, 5)
    assert r.close(150.0).winner == 2
    assert r.add_gift("u2", 100) == 0               # closed


# Gift before vote: each step is ("gift", viewer, amount[, unit]) / ("vote", viewer, text) /
# ("cast", viewer, choice) / ("close",); then the counts, and each viewer's held weight.
GIFT_BEFORE_VOTE = [
    ("held then applied on the first ballot",
     [("gift", "u1", 10), ("vote", "u1", "!b")], (0, 3, 0), {"u1": 0}),
    ("held weight is capped like any gift",
     [("gift", "u1", 100), ("gift", "u1", 100), ("vote", "u1", "!a")], (5, 0, 0), {}),
    ("held plus later gifts stay under the cap",
     [("gift", "u1", 15), ("vote", "u1", "!a"), ("gift", "u1", 100)], (5, 0, 0), {}),
    ("no vote: held weight is in no count",
     [("gift", "u1", 20), ("vote", "u2", "!c")], (0, 0, 1), {"u1": 4}),
    ("an operator cast picks up the held weight",
     [("gift", "u1", 10), ("cast", "u1", 2)], (0, 0, 3), {"u1": 0}),
    ("a changed vote moves the applied weight",
     [("gift", "u1", 10), ("vote", "u1", "!a"), ("vote", "u1", "!c")], (0, 0, 3), {}),
    ("an invalid vote keeps it held",
     [("gift", "u1", 10), ("vote", "u1", "!f"), ("vote", "u1", "!b")], (0, 3, 0), {}),
    ("too small a gift holds nothing",
     [("gift", "u1", 4), ("vote", "u1", "!a")], (1, 0, 0), {"u1": 0}),
    ("bits weigh by bits_per_vote",
     [("gift", "u1", 250, "bits"), ("vote", "u1", "!a")], (3, 0, 0), {}),
    ("a closed round holds nothing",
     [("close",), ("gift", "u1", 10)], (0, 0, 0), {"u1": 0}),
]


@pytest.mark.parametrize(("steps", "counts", "held"), [c[1:] for c in GIFT_BEFORE_VOTE],
                         ids=[c[0] for c in GIFT_BEFORE_VOTE])
def test_gift_before_vote(steps: list[tuple[object, ...]], counts: tuple[int, ...],
                          held: dict[str, int]) -> None:
    r = make_round(3, gift_votes=True, diamonds_per_vote=5, bits_per_vote=100,
                   max_gift_weight=4)
    for step in steps:
        if step[0] == "gift":
            unit = step[3] if len(step) > 3 else "diamonds"
            had_ballot = r.ballot_of(str(step[1])) is not None
            added = r.add_gift(str(step[1]), int(step[2]), unit=unit)  # type: ignore[arg-type]
            assert had_ballot or added == 0          # held weight is not in the tally yet
        elif step[0] == "vote":
            r.ingest([msg(str(step[1]), str(step[2]))])
        elif step[0] == "cast":
            r.cast(str(step[1]), int(step[2]))  # type: ignore[call-overload]
        else:
            r.close(150.0)
    assert r.counts == counts
    for viewer, weight in held.items():
        assert r.held_weight(viewer) == weight
    # the tally invariant of the module docstring holds
    assert sum(r.counts) == sum(w for *_, w in r.ballot_rows())


def test_held_gift_needs_gift_votes_on() -> None:
    r = make_round(3)
    assert r.add_gift("u1", 100) == 0
    r.ingest([msg("u1", "!a")])
    assert r.counts == (1, 0, 0) and r.held_weight("u1") == 0


def test_held_gifts_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(vote_tally, "_HELD_CAP", 3)
    r = make_round(3, gift_votes=True)
    for i in range(5):
        r.add_gift(f"u{i}", 2)
    assert [r.held_weight(f"u{i}") for i in range(5)] == [2, 2, 2, 0, 0]
    r.add_gift("u0", 1)                      # a viewer already held may still add
    assert r.held_weight("u0") == 3


# -- persistence rows ---------------------------------------------------------------------------


def test_drain_dirty() -> None:
    r = make_round(3, gift_votes=True)
    r.ingest([msg("u1", "!a"), msg("u2", "!b"), msg("u1", "!c")])
    assert r.drain_dirty() == [("u1", "U1", 2, 1), ("u2", "U2", 1, 1)]
    assert r.drain_dirty() == []
    r.ingest([msg("u2", "!b"), msg("u3", "hi")])    # nothing changed
    assert r.drain_dirty() == []
    r.add_gift("u2", 3)
    r.cast("u4", 0, "Four")
    assert r.drain_dirty() == [("u2", "", 1, 4), ("u4", "Four", 0, 1)]  # "": keep the name


def test_restore() -> None:
    r = make_round(3, gift_votes=True, max_gift_weight=5)
    skipped = r.restore([("u1", "One", 0, 1), ("u2", "Two", 2, 4), ("u3", "Bad", 5, 1)])
    assert skipped == [("u3", "Bad", 5, 1)]
    assert r.counts == (1, 0, 4) and r.voters == 2
    assert r.drain_dirty() == []                    # restored rows are already stored
    assert r.add_gift("u2", 10) == 2                # the restored weight counts toward the cap
    r.ingest([msg("u2", "!a")])
    assert r.counts == (7, 0, 0)
    assert r.drain_dirty() == [("u2", "U2", 0, 6)]   # the name of the latest message


# -- moderation (issue 19) -----------------------------------------------------------------------


def test_a_deleted_vote_gives_back_the_ballot_before_it() -> None:
    r = make_round(3)
    r.ingest([msg("u1", "!a", "m1"), msg("u2", "!b", "m2"), msg("u1", "!c", "m3")])
    assert r.counts == (0, 1, 1)
    r.drain_dirty()
    assert r.retract("m3") is True              # u1's "!c" deleted: their "!a" stands
    assert r.counts == (1, 1, 0) and r.ballot_of("u1") == (0, 1)
    assert r.drain_dirty() == [("u1", "", 0, 1)]
    assert r.retract("m2") is True              # u2 had no ballot before: none now
    assert r.counts == (1, 0, 0) and r.ballot_of("u2") is None
    assert r.drain_dirty() == [("u2", "", -1, 0)]  # -1: the stored ballot is deleted
    assert r.moderated == 2


def test_deleting_the_earlier_vote_forgets_the_fallback() -> None:
    r = make_round(3)
    r.ingest([msg("u1", "!a", "m1"), msg("u1", "!b", "m2")])
    assert r.retract("m1") is False             # the ballot is "!b": unchanged
    assert r.counts == (0, 1, 0)
    assert r.retract("m2") is True              # nothing left to fall back to
    assert r.counts == (0, 0, 0) and r.voters == 0


def test_deleted_chat_repeats_and_unknown_ids_change_nothing() -> None:
    r = make_round(3)
    r.ingest([msg("u1", "!a", "m1"), msg("u1", "hello", "m2"), msg("u1", "a.", "m3"),
              msg("u2", "!b", "")])
    for mid in ("m2", "m3", "nope", ""):        # chat, a repeat of the same vote, unknown
        assert r.retract(mid) is False
    assert r.counts == (1, 1, 0) and r.moderated == 0


def test_two_levels_are_remembered() -> None:
    r = make_round(3)
    r.ingest([msg("u1", "!a", "m1"), msg("u1", "!b", "m2"), msg("u1", "!c", "m3")])
    assert r.retract("m3") is True and r.ballot_of("u1") == (1, 1)   # back to "!b"
    assert r.retract("m2") is True and r.ballot_of("u1") is None     # "!a" is too far back


def test_the_index_follows_later_votes() -> None:
    r = make_round(3)
    r.ingest([msg("u1", "!a", "m1")])
    assert r.retract("x") is False              # builds the index
    r.ingest([msg("u2", "!b", "m2")])
    r.drain_dirty()                             # the flusher ran in between
    r.ingest([msg("u2", "!c", "m3")])
    assert r.retract("m3") is True and r.ballot_of("u2") == (1, 1)
    assert r.retract("m1") is True and r.ballot_of("u1") is None


def test_a_removed_viewer_loses_ballot_gifts_and_fallback() -> None:
    r = make_round(3, gift_votes=True, max_gift_weight=5)
    r.ingest([msg("u1", "!a", "m1"), msg("u1", "!b", "m2"), msg("u2", "!b")])
    r.add_gift("u1", 3)
    assert r.counts == (0, 5, 0)
    assert r.remove_viewer("u1") is True
    assert r.counts == (0, 1, 0) and r.ballot_of("u1") is None
    assert r.retract("m2") is False             # nothing of theirs is left to restore
    assert r.remove_viewer("u1") is False and r.remove_viewer("nobody") is False
    r.ingest([msg("u1", "!c", "m4")])           # a timeout ended: they may vote again
    assert r.counts == (0, 1, 1)


def test_moderation_after_close_changes_nothing() -> None:
    r = make_round(3)
    r.ingest([msg("u1", "!a", "m1")])
    r.close(150.0)
    assert r.retract("m1") is False and r.remove_viewer("u1") is False
    assert r.counts == (1, 0, 0)


# -- stream delay (issue 19) ---------------------------------------------------------------------


def test_stream_delay_keeps_the_round_open_after_the_announced_end() -> None:
    r = make_round(3, stream_delay=8.0)
    assert (r.ends_at, r.closes_at) == (160.0, 168.0)
    r.ingest([msg("u1", "!a")])
    assert r.on_deadline(160.0) is None          # the countdown shows 0; viewers still see 8 s
    assert r.ingest([msg("u2", "!b"), msg("u3", "!b")]).accepted == 2
    res = r.on_deadline(168.0)
    assert isinstance(res, RoundResult) and res.winner == 1 and r.closed_at == 168.0


def test_stream_delay_with_an_extension() -> None:
    r = make_round(3, stream_delay=5.0, tie_break="extend", extend_seconds=20.0)
    r.ingest([msg("u1", "!a"), msg("u2", "!b")])
    ext = r.on_deadline(165.0)
    assert ext == Extended(ends_at=185.0, reason="tie") and r.closes_at == 190.0
    assert r.on_deadline(185.0) is None
    assert isinstance(r.on_deadline(190.0), RoundResult)


def test_restored_ballots_meet_their_viewers_live_messages() -> None:
    # after a restart the stored viewer ids get the keys the live sources give their messages
    r = make_round(3)
    r.restore([("twitch:55", "Tess", 0, 1), ("tiktok:7000000000000000001", "Tim", 1, 1)])
    r.ingest([ChatMessage(platform="twitch", user_id="twitch:55", name="Tess", text="!c",
                          msg_id="twitch:m1", key=viewer_key("twitch", "55")),
              ChatMessage(platform="tiktok", user_id="tiktok:7000000000000000001", name="Tim",
                          text="b", key=viewer_key("tiktok", 7000000000000000001))])
    assert r.voters == 2 and r.counts == (0, 1, 1)     # a change and a repeat, no new voter
    assert r.retract("twitch:m1") and r.ballot_of("twitch:55") == (0, 1)   # back to stored
