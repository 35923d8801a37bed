"""Every JSON answer of the REST API has a type, and the real daemon answers in it.

`storyd.web.openapi.ROUTES` names each route's 200 answer type (storyd/core/replies.py, the
Snapshot, the Config); the OpenAPI document refers to its schema. Here the real daemon
(tests/conftest.py `daemon_factory`, real hypercorn, real time bounded by trio.fail_after)
plays a story over HTTP, and every GET route and every POST route is called: each answer is
decoded strictly into its route's declared type, and must lose nothing in the round trip (a
field the type forgot fails). The store rows and the memory the replies are built from are
checked the same way, so a new column cannot silently vanish from the answer.
"""

from __future__ import annotations

from typing import Any

import httpx
import msgspec
import trio

from storyd.config import schema as config_schema
from storyd.core import replies as rp
from storyd.core.voting import RoundResult
from storyd.web.openapi import API, ROUTES, Route, build_document
from tests.conftest import wait_for_event
from tests.fake_openai import FakeOpenAI

TIMEOUT = 60
JSON_ROUTES = {(r.method, r.path): r for r in ROUTES if "application/json" in r.content}


def _plain(obj: Any) -> Any:
    return msgspec.json.decode(msgspec.json.encode(obj))


def _covers(typed: Any, raw: Any, where: str = "") -> None:
    """Everything in `raw` is in `typed`, unchanged (the type may add its defaults)."""
    if isinstance(raw, dict):
        assert isinstance(typed, dict), where
        for key, value in raw.items():
            assert key in typed, f"{where}.{key} is not in the type"
            _covers(typed[key], value, f"{where}.{key}")
    elif isinstance(raw, list):
        assert isinstance(typed, list) and len(typed) == len(raw), where
        for i, (t, r) in enumerate(zip(typed, raw, strict=True)):
            _covers(t, r, f"{where}[{i}]")
    else:
        assert typed == raw, where


def assert_lossless(raw: Any, kind: Any) -> Any:
    """`raw` (JSON-like) converts strictly into `kind` without losing or changing a field."""
    typed = msgspec.convert(raw, kind, strict=True)
    _covers(_plain(typed), _plain(raw), str(kind))
    return typed


def test_every_json_route_documents_its_answer_type() -> None:
    doc = build_document("test")
    schemas = doc["components"]["schemas"]
    for (method, path), route in JSON_ROUTES.items():
        assert route.response is not None, f"{method} {path} has no answer type"
        schema = (doc["paths"][path][method.lower()]["responses"]["200"]["content"]
                  ["application/json"]["schema"])
        ref = schema.get("$ref") or schema["items"]["$ref"]
        name = ref.rsplit("/", 1)[1]
        assert name in schemas, (path, ref)
        (root,), _ = msgspec.json.schema_components([route.response],
                                                    ref_template="#/components/schemas/{name}")
        assert schema == root, path
    assert "providers" in schemas["Config"]["description"]
    assert schemas["OpenApiDocument"]["required"] == ["openapi", "info", "paths", "components"]
    assert_lossless(config_schema.schema(), rp.ConfigSchema)


async def voting(sub: Any, chapter: int) -> None:
    """Until chapter `chapter`'s vote is open (not an earlier state event still queued)."""
    await wait_for_event(sub, "story:state", lambda d: d["state"] == "voting"
                         and d["chapter_number"] == chapter, TIMEOUT)


class Checker:
    """Calls routes and decodes each 200 answer into its route's declared type."""

    def __init__(self, client: httpx.AsyncClient, token: str) -> None:
        self.c, self.h = client, {"Authorization": f"Bearer {token}"}
        self.seen: set[tuple[str, str]] = set()

    def route(self, method: str, path: str) -> Route:
        return JSON_ROUTES[method, path if path.startswith("/healthz") else f"{API}/{path}"]

    async def call(self, method: str, path: str, url: str | None = None,
                   body: Any = None) -> Any:
        route = self.route(method, path)
        r = await self.c.request(method, url or route.path, headers=self.h,
                                 json=body if method == "POST" else None)
        assert r.status_code == 200, (method, url or route.path, r.text)
        assert r.headers["content-type"].startswith("application/json"), r.headers
        typed = msgspec.json.decode(r.content, type=route.response, strict=True)
        assert _plain(typed) == r.json(), f"{method} {path}: the answer has untyped fields"
        self.seen.add((route.method, route.path))
        return typed

    async def get(self, path: str, url: str | None = None) -> Any:
        return await self.call("GET", path, None if url is None else f"{API}/{url}")

    async def post(self, path: str, body: Any = None) -> Any:
        return await self.call("POST", path, body=body or {})


async def test_real_daemon_answers_every_route_in_its_documented_type(
        daemon_factory: Any) -> None:
    with trio.fail_after(TIMEOUT):
        d = await daemon_factory(voting={"duration": 120}, images={"enabled": True},
                                 audience={"cameos": True})
        async with httpx.AsyncClient(base_url=d.web_url, timeout=20) as client:
            ck = Checker(client, d.admin_token)
            idle = await ck.get("memory")
            assert idle.session_id is None and idle.memory is None
            for path in ("themes", "stories", "config", "config/schema", "providers",
                         "openapi.json"):
                await ck.get(path)
            health = await ck.call("GET", "/healthz", "/healthz")
            assert health.ok and health.state == "idle"
            with d.bus.subscribe() as sub:
                started = await ck.post("start", {"theme": "horror", "seed": 5})
                assert started.session_id is not None
                await voting(sub, 1)
                sid = started.session_id
                plan = await ck.get("plan")
                assert plan.session_id == sid and plan.plan is not None and plan.aired == 1
                longer = await ck.post("extend", {"chapters": 12})
                assert longer.plan.chapters == 12 and longer.planned_chapters == 12
                assert (await ck.get("status")).state == "voting"
                vote = await ck.post("vote", {"viewer": "amy", "choice": "b"})
                assert vote.accepted and vote.voters == 1
                ingest = await ck.post("chat", {"messages": [
                    {"platform": "yt", "user_id": "1", "name": "Ann", "text": "!a"}]})
                assert ingest.accepted == 1
                await ck.post("chat", {"messages": [
                    {"platform": "yt", "user_id": "2", "name": "Bo", "text": "!join"}]})
                cameos = await ck.get("cameos")
                assert [(c.name, c.viewer_id, c.status) for c in cameos] == [
                    ("Bo", "yt:2", "joined")]
                assert (await ck.post("cameo/remove", {"name": "bo"})).removed == ("Bo",)
                assert (await ck.post("regenerate-image")).ok
                closed = await ck.post("close")
                assert not closed.queued and closed.winner is not None
                await voting(sub, 2)
                assert (await ck.post("next-chapter", {"choice": "a"})).session_id == sid
                await voting(sub, 3)
                assert (await ck.post("finish")).session_id == sid
                ended = await ck.post("end")
                assert ended.state == "ended"
            sessions = await ck.get("sessions", "sessions?limit=5")
            assert sessions[0].id == sid
            detail = await ck.get("session/{id}", f"session/{sid}")
            assert len(detail.chapters) >= 2 and detail.chapters[0].vote is not None
            voters = await ck.get("top-voters", "top-voters?limit=5")
            assert {v.name for v in voters} >= {"amy", "Ann"}
            memory = await ck.get("memory")
            assert memory.session_id == sid and memory.memory is not None
            exported = await ck.get("export/{id}", f"export/{sid}?format=json")
            assert exported == detail
            chapters = await ck.get("sessions/{id}/chapters", f"sessions/{sid}/chapters")
            assert chapters.text.startswith("00:00 ")
            recap = await ck.get("sessions/{id}/recap", f"sessions/{sid}/recap")
            assert [n.number for n in recap.nodes] == [c.number for c in detail.chapters]
            shown = await ck.post("config", {"changes": {"voting.duration": 90}})
            assert shown.voting.duration == 90
            assert (await ck.get("config")).voting.duration == 90
            assert ck.seen == set(JSON_ROUTES), set(JSON_ROUTES) - ck.seen
            # the rows the answers are built from: nothing in them that the types drop
            assert_lossless(await d.store.get_session(sid), rp.SessionDetail)
            assert_lossless(await d.store.list_sessions(limit=5), list[rp.SessionSummary])
            assert_lossless(await d.store.top_voters(limit=5), list[rp.TopVoter])
            assert_lossless(d.director.story.memory.to_json(), rp.MemoryData)


def test_close_reply_carries_every_field_of_a_round_result() -> None:
    result = RoundResult(winner=1, counts=(2, 3), voters=5, tie_break=None, tied=(),
                         early=True, forced=False)
    reply = msgspec.convert(result, rp.CloseReply, from_attributes=True)
    assert {**_plain(result), "queued": False} == _plain(reply)


async def test_provider_probes_are_typed_without_loss(daemon_factory: Any,
                                                      nursery: trio.Nursery) -> None:
    """An OpenAI-compatible provider (the loopback fake; one with a missing model; one that
    does not answer): the raw probe rows convert into ProviderCheck losing nothing."""
    with trio.fail_after(TIMEOUT):
        fake = FakeOpenAI("openai", api_key="sk-replies-SECRET")
        base = await fake.start(nursery)
        common = {"base_url": base, "api_key": "sk-replies-SECRET", "timeout": 3.0,
                  "max_retries": 0}
        d = await daemon_factory(
            providers={"fake": {**common, "text_model": "fake-text", "speech_model":
                                "fake-speech"},
                       "odd": {**common, "text_model": "no-such-model"},
                       "down": {**common, "base_url": "http://127.0.0.1:9/v1",
                                "text_model": "x"}},
            llm={"chain": ["fake", "odd", "down", "offline"], "prefetch": "off"},
            tts={"enabled": True, "chain": ["fake", "offline"]})
        rows = [await client.check() for client in d.chains.clients.values()]
        assert_lossless(rows, list[rp.ProviderCheck])    # the clients' raw probe rows
        by_name = {row.provider: row for row in await d.chains.check()}
        assert by_name["odd"].missing == ("no-such-model",)
        assert by_name["fake"].ok and by_name["fake"].voices
        assert not by_name["down"].ok and by_name["offline"].ok
        async with httpx.AsyncClient(base_url=d.web_url, timeout=20) as client:
            shown = await Checker(client, d.admin_token).get("providers")
        assert {row.provider for row in shown} == set(by_name)
        assert "sk-replies-SECRET" not in msgspec.json.encode(shown).decode()
