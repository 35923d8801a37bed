"""POST chat (the chat ingest API) and GET providers over HTTP, against the real daemon.

Real daemon (tests/conftest.py `daemon_factory`), real hypercorn, real time: every wait is
bounded by trio.fail_after and waits on bus events, never on sleeps.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import trio

from storyd.control import protocol as p
from storyd.control.dispatch import handle
from tests.conftest import wait_for_state

API = "/api/interactive-story"
TIMEOUT = 30


async def voting_daemon(daemon_factory: Any) -> Any:
    daemon = await daemon_factory(voting={"duration": 120})
    with daemon.bus.subscribe() as sub:
        await handle(daemon.operator, p.Start(theme="horror"))
        await wait_for_state(sub, "voting", timeout=TIMEOUT)
    return daemon


def counts(daemon: Any) -> list[int]:
    return list(daemon.voting.round.counts)


async def test_chat_batch_and_single_message_count_like_tiktok(daemon_factory: Any) -> None:
    with trio.fail_after(TIMEOUT):
        d = await voting_daemon(daemon_factory)
        h = {"Authorization": f"Bearer {d.admin_token}"}
        async with httpx.AsyncClient(base_url=d.web_url, timeout=10) as c:
            batch = {"messages": [
                {"platform": "yt", "user_id": "1", "name": "Ann", "text": "!a"},
                {"platform": "yt", "user_id": 2, "name": "Bob", "text": "!f"},     # no choice f
                {"platform": "yt", "user_id": "3", "name": "Cy", "text": "hello all"},
                {"platform": "yt", "user_id": "4", "text": "!b", "msg_id": "m1"},
                {"platform": "yt", "user_id": "4", "text": "!b", "msg_id": "m1"},  # duplicate
            ]}
            r = await c.post(f"{API}/chat", json=batch, headers=h)
            assert r.status_code == 200, r.text
            assert r.json() == {"accepted": 2, "invalid": 1, "ignored": 2}
            assert counts(d)[:2] == [1, 1]
            one = {"platform": "tw", "user_id": "1", "name": "Ann", "text": "B"}
            r = await c.post(f"{API}/chat", json=one, headers=h)
            assert r.status_code == 200 and r.json()["accepted"] == 1, r.text
            assert counts(d)[:2] == [1, 2]        # tw:1 is another viewer than yt:1
            health = {s.source: s for s in d.snapshot().chat}
            assert "ingest" in health


@pytest.mark.parametrize("body,status,words", [
    (b"{bad", 400, "not JSON"),
    (b"[1, 2]", 400, "messages"),
    (b'{"messages": [{"platform": "yt"}]}', 400, "user_id"),
    (b'{"messages": [{"platform": "yt", "user_id": "1", "text": "!a", "x": 1}]}', 400, "x"),
    (b'{"messages": [{"platform": "yt", "user_id": "", "text": "!a"}]}', 400, "empty"),
    (b'{"messages": "!a"}', 400, "array"),
    (b'{"platform": "yt", "user_id": "1", "text": 5}', 400, "str"),
])
async def test_chat_bad_bodies_are_400_and_count_nothing(daemon_factory: Any, body: bytes,
                                                         status: int, words: str) -> None:
    with trio.fail_after(TIMEOUT):
        d = await voting_daemon(daemon_factory)
        h = {"Authorization": f"Bearer {d.admin_token}"}
        async with httpx.AsyncClient(base_url=d.web_url, timeout=10) as c:
            r = await c.post(f"{API}/chat", content=body, headers=h)
            assert r.status_code == status, r.text
            err = r.json()["error"]
            assert set(err) >= {"code", "message"} and words in err["message"], err
            assert sum(counts(d)) == 0


async def test_chat_limits_and_token(daemon_factory: Any) -> None:
    with trio.fail_after(TIMEOUT):
        d = await voting_daemon(daemon_factory)
        h = {"Authorization": f"Bearer {d.admin_token}"}
        line = {"platform": "yt", "user_id": "1", "text": "!a"}
        async with httpx.AsyncClient(base_url=d.web_url, timeout=20) as c:
            assert (await c.post(f"{API}/chat", json=line)).status_code == 401
            r = await c.post(f"{API}/chat", json={"messages": [line] * 10_001}, headers=h)
            assert r.status_code == 413, r.text
            assert "at most 10000" in r.json()["error"]["message"]
            assert sum(counts(d)) == 0
            many = [{**line, "user_id": str(i)} for i in range(10_000)]  # ~0.5 MB body
            r = await c.post(f"{API}/chat", json={"messages": many}, headers=h)
            assert r.status_code == 200 and r.json()["accepted"] == 10_000, r.text
            assert counts(d)[0] == 10_000


async def test_providers_route(daemon_factory: Any) -> None:
    with trio.fail_after(TIMEOUT):
        d = await daemon_factory()
        async with httpx.AsyncClient(base_url=d.web_url, timeout=10) as c:
            assert (await c.get(f"{API}/providers")).status_code == 401
            r = await c.get(f"{API}/providers",
                            headers={"Authorization": f"Bearer {d.admin_token}"})
            assert r.status_code == 200, r.text
            rows = r.json()
            assert isinstance(rows, list) and rows
            offline = [x for x in rows if x["provider"] == "offline"]
            assert offline and offline[0]["ok"] is True and "diagnosis" in offline[0]
