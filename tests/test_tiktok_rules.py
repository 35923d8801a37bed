"""Pure rules of the TikTok source, and the translation of TikTokLive errors."""

from __future__ import annotations

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from TikTokLive.client.errors import (
    SignAPIError,
    SignatureRateLimitError,
    UserNotFoundError,
    UserOfflineError,
)
from websockets.exceptions import ConnectionClosedError
from websockets.frames import Close

from storyd.chat.tiktok_rules import (
    Backoff,
    GiftStreaks,
    RecentIds,
    comment_message,
    rate_limit_delay,
)
from storyd.chat.tiktok_thread import classify
from storyd.core.model import viewer_key


def test_comment_message_picks_handle_then_nickname_then_id() -> None:
    m = comment_message(42, "alice", "Alice", "  !a ", 9)
    assert m is not None
    assert (m.platform, m.user_id, m.name, m.text, m.msg_id) == ("tiktok", "tiktok:42", "alice", "!a", "9")
    assert comment_message(42, "", "Alice", "!b").name == "Alice"   # type: ignore[union-attr]
    assert comment_message(42, None, None, "!b").name == "42"       # type: ignore[union-attr]
    assert comment_message(42, "a", "b", "!c", 0).msg_id == ""      # type: ignore[union-attr]


@pytest.mark.parametrize("uid,text", [(None, "!a"), (0, "!a"), ("", "!a"), (5, ""), (5, "   "),
                                      (5, None), (5, 12)])
def test_comment_message_rejects_unusable_input(uid: object, text: object) -> None:
    assert comment_message(uid, "x", "y", text) is None


def test_comment_text_and_name_are_length_limited() -> None:
    m = comment_message(1, "n" * 500, "", "x" * 5000)
    assert m is not None and len(m.text) == 500 and len(m.name) == 64


def test_recent_ids_forget_the_oldest() -> None:
    ids = RecentIds(maxlen=3)
    assert [ids.seen_before(x) for x in "abca"] == [False, False, False, True]
    ids.seen_before("d")                       # evicts b (a was refreshed)
    assert ids.seen_before("b") is False and ids.seen_before("a") is True
    assert ids.seen_before("") is False and ids.seen_before("") is False
    assert len(ids) == 3


def test_streak_counts_once_at_its_end() -> None:
    s = GiftStreaks(idle_seconds=10)
    for n in range(1, 6):
        assert s.update("u1", "rose", n, 1, True, now=float(n), name="al") is None
    done = s.update("u1", "rose", 5, 1, False, now=6.0, msg_id="m6")
    assert done is not None and (done.user_id, done.name, done.diamonds, done.msg_id) == (
        "u1", "al", 5, "m6")
    assert s.pending == 0 and s.flush_idle(100.0) == []


def test_non_streak_gift_counts_at_once() -> None:
    s = GiftStreaks()
    done = s.update("u2", "lion", 1, 29999, False, now=0.0, name="bo")
    assert done is not None and done.diamonds == 29999


def test_streaks_of_different_viewers_and_gifts_are_separate() -> None:
    s = GiftStreaks()
    s.update("u1", "rose", 3, 1, True, now=0.0)
    s.update("u2", "rose", 7, 1, True, now=0.0)
    s.update("u1", "gg", 2, 10, True, now=0.0)
    assert s.update("u2", "rose", 7, 1, False, now=1.0).diamonds == 7   # type: ignore[union-attr]
    assert s.pending == 2


def test_idle_streak_is_flushed_and_a_late_end_adds_only_the_rest() -> None:
    s = GiftStreaks(idle_seconds=10)
    s.update("u1", "rose", 4, 2, True, now=0.0, name="al")
    assert s.flush_idle(9.9) == []
    [flushed] = s.flush_idle(10.0)
    assert (flushed.user_id, flushed.diamonds) == ("u1", 8)
    late = s.update("u1", "rose", 6, 2, False, now=11.0)
    assert late is not None and late.diamonds == 4           # repeats 5 and 6 only
    s.update("u1", "rose", 3, 2, True, now=20.0)
    [again] = s.flush_idle(30.0)
    assert s.update("u1", "rose", 3, 2, False, now=31.0) is None   # nothing new
    assert again.diamonds == 6


def test_pending_streaks_are_bounded() -> None:
    s = GiftStreaks(idle_seconds=10, max_pending=2)
    for i in range(3):
        s.update(f"u{i}", "rose", 1, 1, True, now=float(i))
    out = s.flush_idle(3.0)
    assert [g.user_id for g in out] == ["u0"] and s.pending == 2


def test_backoff_doubles_with_jitter_up_to_the_maximum_and_resets() -> None:
    b = Backoff(1.0, 5.0)
    assert [b.next(1.0) for _ in range(5)] == [1.0, 2.0, 4.0, 5.0, 5.0]
    b.reset()
    assert b.next(0.0) == 0.5 and b.next(0.5) == 1.5


def test_rate_limit_delay_reads_retry_after_or_reset() -> None:
    assert rate_limit_delay({"Retry-After": "12"}, now=0) == 12
    assert rate_limit_delay({"ratelimit-reset": "1700000030"}, now=1_700_000_000) == 30
    assert rate_limit_delay({"RateLimit-Reset": "7"}, now=1_700_000_000) == 7
    assert rate_limit_delay({"Retry-After": "soon", "RateLimit-Reset": "3"}, now=0) == 3
    assert rate_limit_delay({"Retry-After": "-1"}, now=0) is None
    assert rate_limit_delay({"Retry-After": "99999"}, now=0) == 3600
    assert rate_limit_delay({}, now=0) is None


def _response(status: int, headers: dict[str, str]) -> httpx.Response:
    return httpx.Response(status, headers=headers,
                          request=httpx.Request("GET", "http://sign/webcast/fetch"))


def test_classify_translates_library_errors() -> None:
    assert classify(UserOfflineError(), None, {}, 0).kind == "offline"
    rl = SignatureRateLimitError(None, "wait %s s", response=_response(
        429, {"RateLimit-Remaining": "42", "RateLimit-Reset": "1"}))
    out = classify(rl, 429, {}, 0)
    assert (out.kind, out.retry_after) == ("rate_limited", 42)      # library's own reading
    out = classify(TypeError("int() argument"), 429, {"Retry-After": "9"}, 0)
    assert (out.kind, out.retry_after) == ("rate_limited", 9)
    err = SignAPIError(SignAPIError.ErrorReason.CONNECT_ERROR, "x")
    assert classify(err, None, {}, 0).detail == "cannot reach the sign server"
    assert classify(UserNotFoundError("nobody"), None, {}, 0).kind == "fatal"
    assert classify(RuntimeError("boom"), 401, {}, 0).kind == "fatal"
    closed = ConnectionClosedError(Close(1011, "oops"), None)
    out = classify(closed, 200, {}, 0)
    assert out.kind == "closed_error" and "1011" in out.detail
    out = classify(httpx.ReadError("reset"), None, {}, 0)
    assert out.kind == "error" and out.detail.startswith("network:")


def test_deleted_comments_become_moderation() -> None:
    from storyd.chat.tiktok_rules import deletions
    from storyd.core.model import Moderation, viewer_key

    got = deletions([7301, 0, "7302"], [555, None, "0"])
    assert got == [
        Moderation(platform="tiktok", kind="message", msg_id="7301"),
        Moderation(platform="tiktok", kind="message", msg_id="7302"),
        Moderation(platform="tiktok", kind="viewer", user_id="tiktok:555",
                   key=viewer_key("tiktok", "555"))]
    # the message ids are the ones comment_message gives the comments
    m = comment_message(555, "ann", "Ann", "!a", 7301)
    assert m is not None and m.msg_id == got[0].msg_id and m.key == got[2].key


@settings(max_examples=500, deadline=None)
@given(st.one_of(st.integers(min_value=-10**22, max_value=10**22), st.booleans(),
                 st.text(alphabet="0123456789-١ ", max_size=22)))
def test_a_comment_has_the_viewer_key_and_id_of_its_user_id(user_id: object) -> None:
    # issue 23: comment_message takes a shortcut for int ids; same key as viewer_key
    m = comment_message(user_id, "ann", "Ann", "!a", 1)
    if m is None:
        assert user_id in (0, "0", "")
        return
    assert m.user_id == f"tiktok:{user_id}"
    assert m.key == viewer_key("tiktok", str(user_id))


@pytest.mark.parametrize("msg_id,expected", [(None, ""), (0, ""), ("0", ""), ("", ""),
                                             (7, "7"), ("7", "7"), (-3, "-3"),
                                             (7_300_000_000_000_000_001, "7300000000000000001"),
                                             (False, ""), (True, "True")])
def test_a_comment_id_is_its_text_and_zero_is_none(msg_id: object, expected: str) -> None:
    # issue 23: int comment ids take a shortcut; same ids as for any other type
    m = comment_message(5, "ann", "Ann", "!a", msg_id)
    assert m is not None and m.msg_id == expected
