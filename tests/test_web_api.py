"""REST routes over a real hypercorn on 127.0.0.1:0, driven with httpx."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from web_harness import FakeDaemon, running_web

from storyd.config.structs import ServerConfig
from storyd.control import protocol as p
from storyd.web import security
from storyd.web.openapi import ROUTES

API = "/api/interactive-story"


@pytest.fixture
async def web(tmp_path: Any) -> AsyncIterator[tuple[FakeDaemon, httpx.AsyncClient]]:
    daemon = FakeDaemon(tmp_path)
    async with running_web(daemon) as url:
        async with httpx.AsyncClient(base_url=url, timeout=10) as client:
            yield daemon, client


def bearer(d: FakeDaemon) -> dict[str, str]:
    return {"Authorization": f"Bearer {d.admin_token}"}


async def test_status_is_the_snapshot_and_public(web: Any) -> None:
    d, c = web
    r = await c.get(f"{API}/status")
    assert r.status_code == 200
    assert r.json()["state"] == "idle"
    assert r.headers["content-security-policy"].startswith("default-src 'self'")
    assert r.headers["x-content-type-options"] == "nosniff"


async def test_themes_public(web: Any) -> None:
    _, c = web
    r = await c.get(f"{API}/themes")
    assert r.status_code == 200
    assert len(r.json()) == 12


async def test_start_takes_a_seed(web: Any) -> None:
    d, c = web
    h = bearer(d)
    r = await c.post(f"{API}/start", json={"seed": "seven"}, headers=h)
    assert r.status_code == 400, r.text
    r = await c.post(f"{API}/start", json={"theme": "horror", "seed": 77}, headers=h)
    assert r.status_code == 200, r.text
    assert d.commands[-1] == p.Start(theme="horror", seed=77)


async def test_story_flow_start_vote_next_end(web: Any) -> None:
    d, c = web
    h = bearer(d)
    r = await c.post(f"{API}/start", json={"theme": "horror", "outline": "Fog."}, headers=h)
    assert r.status_code == 200, r.text
    assert (await c.get(f"{API}/status")).json()["state"] == "voting"
    assert (await c.post(f"{API}/start", json={}, headers=h)).status_code == 409
    r = await c.post(f"{API}/vote", json={"viewer": "amy", "choice": "b"}, headers=h)
    assert r.status_code == 200
    assert (await c.get(f"{API}/status")).json()["voting"]["counts"] == [0, 1, 0]
    r = await c.post(f"{API}/vote", json={"viewer": "amy", "choice": "z"}, headers=h)
    assert r.status_code == 409 and "not a choice" in r.json()["error"]["message"]
    assert (await c.post(f"{API}/next-chapter", json={"choice": "a"}, headers=h)).status_code \
        == 200
    assert (await c.post(f"{API}/finish", headers=h)).status_code == 200
    assert (await c.post(f"{API}/end", headers=h)).status_code == 409   # already ended
    assert (await c.post(f"{API}/regenerate-image", headers=h)).status_code == 200
    assert [type(r).__name__ for r in d.commands[:2]] == ["Start", "Status"]
    assert d.commands[0].outline == "Fog."


@pytest.mark.parametrize("path", ["memory", "sessions?limit=5", "session/1", "top-voters",
                                  "config", "export/1?format=md"])
async def test_admin_reads(web: Any, path: str) -> None:
    d, c = web
    assert (await c.get(f"{API}/{path}")).status_code == 401
    r = await c.get(f"{API}/{path}", headers=bearer(d))
    assert r.status_code == 200, r.text


async def test_export_content_types(web: Any) -> None:
    d, c = web
    r = await c.get(f"{API}/export/1?format=html", headers=bearer(d))
    assert r.headers["content-type"].startswith("text/html")
    assert "sandbox" in r.headers["content-security-policy"]
    r = await c.get(f"{API}/export/1?format=md", headers=bearer(d))
    assert r.headers["content-type"].startswith("text/markdown") and r.text == "# The Gate\n"
    assert (await c.get(f"{API}/export/1?format=pdf", headers=bearer(d))).status_code == 400
    assert (await c.get(f"{API}/export/7", headers=bearer(d))).status_code == 404


@pytest.mark.parametrize("method,path", [
    ("POST", "start"), ("POST", "next-chapter"), ("POST", "end"), ("POST", "finish"),
    ("POST", "vote"), ("POST", "close"), ("POST", "regenerate-image"), ("POST", "config"),
    ("GET", "config")])
async def test_mutating_routes_need_the_token(web: Any, method: str, path: str) -> None:
    d, c = web
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic x"}):
        r = await c.request(method, f"{API}/{path}", json={}, headers=headers)
        assert r.status_code == 401, (headers, r.text)
        assert r.json()["error"]["code"] == "unauthorized"
    assert d.commands == []


async def test_admin_cookie_flow_and_csrf(web: Any) -> None:
    d, c = web
    r = await c.get(f"/admin/?token={d.admin_token}")
    assert r.status_code == 303 and r.headers["location"] == "/admin/"
    cookie = r.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    assert c.cookies.get(security.COOKIE_NAME) == d.admin_token
    assert (await c.get(f"{API}/config")).status_code == 200
    evil = {"Origin": "http://evil.example"}
    r = await c.post(f"{API}/start", json={}, headers=evil)
    assert r.status_code == 403
    assert not any(type(x).__name__ == "Start" for x in d.commands)
    same = {"Origin": str(c.base_url).rstrip("/")}
    assert (await c.post(f"{API}/start", json={}, headers=same)).status_code == 200
    c.cookies.clear()
    r = await c.get("/admin/?token=nope")
    assert r.status_code == 303 and c.cookies.get(security.COOKIE_NAME) is None


@pytest.mark.parametrize("content,status", [
    (b"{bad", 400), (b"[1, 2]", 400), (b'{"viewer": 3, "choice": "a"}', 400),
    (b'{"viewer": "a"}', 400), (b'{"viewer": "a", "choice": "a", "extra": 1}', 400),
    (b'{"cmd": "end", "viewer": "a", "choice": "a"}', 400), (b"x" * 300_000, 413)])
async def test_bad_bodies_are_4xx(web: Any, content: bytes, status: int) -> None:
    d, c = web
    r = await c.post(f"{API}/vote", content=content, headers=bearer(d))
    assert r.status_code == status, r.text
    assert set(r.json()["error"]) >= {"code", "message"}
    assert d.commands == []


async def test_bad_queries_and_ids(web: Any) -> None:
    d, c = web
    h = bearer(d)
    assert (await c.get(f"{API}/sessions?limit=many", headers=h)).status_code == 400
    assert (await c.get(f"{API}/session/abc", headers=h)).status_code == 404
    r = await c.get(f"{API}/session/999", headers=h)
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    assert (await c.get(f"{API}/nothing-here")).status_code == 404
    assert (await c.put(f"{API}/status")).status_code == 405


async def test_config_set_validates_all_then_applies(web: Any) -> None:
    d, c = web
    h = bearer(d)
    before = d.config_path.read_text()
    r = await c.post(f"{API}/config", headers=h, json={"changes": {
        "voting.duration": 5, "story.reveal": "never", "overlay.font_size": 40}})
    assert r.status_code == 400
    fields = r.json()["error"]["fields"]
    assert set(fields) == {"voting.duration", "story.reveal"}
    assert d.config_path.read_text() == before
    r = await c.post(f"{API}/config", headers=h, json={"changes": {
        "voting.duration": 90, "overlay.show_voters": False}})
    assert r.status_code == 200, r.text
    assert r.json()["voting"]["duration"] == 90
    text = d.config_path.read_text()
    assert "# how long a round lasts" in text and "duration = 90" in text
    r = await c.post(f"{API}/config", headers=h, json={"key": "voting.durration", "value": 3})
    assert r.status_code == 400 and "did you mean" in r.json()["error"]["message"]
    assert (await c.post(f"{API}/config", headers=h, json={})).status_code == 400


async def test_config_never_returns_a_secret(web: Any) -> None:
    d, c = web
    h = bearer(d)
    r = await c.post(f"{API}/config", headers=h, json={"changes": {
        "providers.sf.api_key": "sk-very-secret", "providers.sf.base_url": "http://x"}})
    assert r.status_code == 200, r.text
    assert "sk-very-secret" not in r.text
    shown = await c.get(f"{API}/config", headers=h)
    assert "sk-very-secret" not in shown.text
    assert shown.json()["providers"]["sf"]["api_key"] == "********"
    # echoing the mask back keeps the secret
    r = await c.post(f"{API}/config", headers=h, json={"changes": {
        "providers.sf.api_key": "********", "providers.sf.base_url": "http://y"}})
    assert r.status_code == 200
    assert d.config.providers["sf"].api_key == "sk-very-secret"


@pytest.mark.parametrize("name", [
    "..%2F..%2Fetc%2Fpasswd", "../storyd.toml", "%2e%2e%2fstoryd.toml", "a/b.png",
    "secret.txt", ".hidden.png", "x.png%00.txt", "x" * 129 + ".png", "link.png",
    "..%5Cstoryd.toml"])
async def test_media_traversal_is_404(web: Any, name: str) -> None:
    d, c = web
    (d.media_dir / "secret.txt").write_text("no")
    outside = d.media_dir.parent / "outside.png"
    outside.write_bytes(b"\x89PNG")
    (d.media_dir / "link.png").symlink_to(outside)
    for kind in ("image", "audio"):
        r = await c.get(f"{API}/{kind}/{name}")
        assert r.status_code == 404, (kind, name, r.status_code)


async def test_media_is_served_with_types(web: Any) -> None:
    d, c = web
    (d.media_dir / "ch1_abc.png").write_bytes(b"\x89PNG\r\n\x1a\npicture")
    (d.media_dir / "s-1.mp3").write_bytes(b"ID3audio")
    (d.media_dir / "pic.svg").write_text("<svg xmlns='http://www.w3.org/2000/svg'/>")
    r = await c.get(f"{API}/image/ch1_abc.png")
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    assert r.content.endswith(b"picture")
    r = await c.get(f"{API}/audio/s-1.mp3")
    assert r.status_code == 200 and r.headers["content-type"] == "audio/mpeg"
    r = await c.get(f"{API}/image/pic.svg")
    assert r.headers["content-security-policy"] == security.SVG_CSP
    assert r.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize("host,status", [
    ("evil.example", 421), ("evil.example:8080", 421), ("127.0.0.1.nip.io", 421),
    ("localhost:1234", 200), ("[::1]:80", 200), ("stream.lan", 200)])
async def test_host_allow_list(tmp_path: Any, host: str, status: int) -> None:
    d = FakeDaemon(tmp_path)
    d.config_path.write_text(d.config_path.read_text().replace(
        'port = 0', 'port = 0\nallowed_hosts = ["stream.lan"]'))
    from storyd.config.loader import load
    d.config = load(d.config_path)
    async with running_web(d) as url:
        async with httpx.AsyncClient(base_url=url, timeout=10) as c:
            r = await c.get(f"{API}/status", headers={"Host": host})
            assert r.status_code == status
            r = await c.get("/overlay/", headers={"Host": host})
            assert r.status_code == status


async def test_pages_have_csp_and_health_metrics(web: Any) -> None:
    d, c = web
    for page in ("/overlay/", "/admin/"):
        r = await c.get(page)
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
        assert "script-src 'self'" in r.headers["content-security-policy"]
    assert (await c.get("/overlay/../storyd.toml")).status_code == 404
    assert (await c.get("/healthz")).json()["ok"] is True
    await c.post(f"{API}/start", json={}, headers=bearer(d))
    m = (await c.get("/metrics")).text
    assert 'storyd_state{state="voting"} 1' in m and 'storyd_votes{choice="a"} 0' in m
    assert "storyd_bus_dropped_total 0" in m


async def test_openapi_describes_every_route(web: Any) -> None:
    d, c = web
    doc = (await c.get(f"{API}/openapi.json")).json()
    documented = {(m.upper(), path) for path, ops in doc["paths"].items() for m in ops}
    assert documented == {(r.method, r.path) for r in ROUTES}
    from web_harness import fake_handle

    from storyd.web.app import create_app
    app = create_app(d, handle=fake_handle)
    served = set()
    for rule in app.url_map.iter_rules():
        if rule.websocket or not (rule.rule.startswith(API) or rule.rule in ("/healthz",
                                                                             "/metrics")):
            continue
        path = (rule.rule.replace("<int:session_id>", "{id}")
                .replace("<path:filename>", "{filename}"))
        served |= {(m, path) for m in rule.methods or () if m in ("GET", "POST")}
    assert served == documented
    start = doc["components"]["schemas"]["Start"]
    assert "cmd" not in start["properties"] and "theme" in start["properties"]


@pytest.mark.parametrize("header,ok", [
    ("localhost", True), ("LOCALHOST:8080", True), ("127.0.0.1:80", True), ("[::1]", True),
    ("[::1]:8080", True), ("evil.com", False), ("", False), ("localhost.evil.com", False)])
def test_host_rules_table(header: str, ok: bool) -> None:
    assert security.host_allowed(header, ServerConfig()) is ok


def test_origin_and_token_rules() -> None:
    s = ServerConfig()
    assert security.origin_allowed("http://127.0.0.1:8080", "127.0.0.1:8080", s)
    assert not security.origin_allowed("http://127.0.0.1:9999", "127.0.0.1:8080", s)
    assert not security.origin_allowed("null", "127.0.0.1:8080", s)
    assert not security.origin_allowed("http://evil.com", "evil.com", s)
    assert security.token_matches("abc", "abc")
    assert not security.token_matches("", "")
    assert not security.token_matches("abd", "abc")
    assert security.allowed_hosts(ServerConfig(host="0.0.0.0")) == security.LOCAL_NAMES


# ---- issue 22: what the OpenAPI document says is what the handlers do ----------------------
@pytest.mark.parametrize("route", ["regenerate-image", "end", "close"])
@pytest.mark.parametrize("content", [b" ", b"\n\t \r\n"])
async def test_a_whitespace_only_body_is_bad_json_like_other_bad_bodies(
        web: Any, route: str, content: bytes) -> None:
    d, c = web
    r = await c.post(f"{API}/{route}", content=content, headers=bearer(d))
    assert r.status_code == 400 and r.json()["error"]["code"] == "bad_json", r.text
    assert d.commands == []
    empty = await c.post(f"{API}/{route}", content=b"", headers=bearer(d))   # no body: {}
    assert empty.status_code != 400 and len(d.commands) == 1


def test_the_document_refuses_what_post_config_refuses() -> None:
    jsonschema_rs = pytest.importorskip("jsonschema_rs")   # schemathesis's validator

    from storyd.web.openapi import build_document

    schemas = build_document("test")["components"]["schemas"]
    schema = {**schemas["ConfigUpdate"], "components": {"schemas": schemas}}

    def valid(body: Any) -> bool:
        return bool(jsonschema_rs.validator_for(schema).is_valid(body))

    assert valid({"changes": {"voting.duration": 45}})
    assert valid({"key": "voting.duration", "value": "45"})
    for refused in ({"changes": {"": []}}, {"changes": {}}, {"changes": {"a": None}},
                    {"changes": {"a": {"b": 1}}}, {"key": "", "value": 1},
                    {"key": "a", "value": 1, "changes": {"b": 2}}):
        assert not valid(refused), refused


async def test_post_config_refuses_an_empty_key(web: Any) -> None:
    d, c = web
    r = await c.post(f"{API}/config", json={"changes": {"": []}}, headers=bearer(d))
    assert r.status_code == 400, r.text


async def test_too_many_chat_messages_is_a_documented_413(web: Any) -> None:
    from storyd.web.openapi import build_document

    d, c = web
    lines = [{"platform": "t", "user_id": str(i), "text": "!a"} for i in range(10_001)]
    r = await c.post(f"{API}/chat", json={"messages": lines}, headers=bearer(d))
    assert r.status_code == 413 and r.json()["error"]["code"] == "too_many_messages"
    doc = build_document("test")
    answer = doc["paths"][f"{API}/chat"]["post"]["responses"]["413"]
    assert "10,000 messages" in answer["description"]


async def test_a_session_id_beyond_64_bits_is_a_400_on_every_session_route(web: Any) -> None:
    d, c = web
    for path in ("session/{}", "sessions/{}/recap", "sessions/{}/chapters", "export/{}"):
        r = await c.get(f"{API}/{path.format(2**63)}", headers=bearer(d))
        assert r.status_code in (400, 404), (path, r.status_code, r.text)
