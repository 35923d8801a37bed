"""The OpenAPI 3.1 document, generated from the same msgspec types the routes decode.

ROUTES is the single table of what the web front serves; `storyd.web.app` registers a handler
for each entry and a test checks that the two agree, so the document cannot drift from the
code. Request bodies are the control protocol's Structs minus their `cmd` tag (the URL says
which command it is). Every JSON answer has a type too (storyd/core/replies.py, the Snapshot,
the Config): `Route.response` is the type the handler converts its answer through before it
is sent, and the document's `responses.200` refers to its schema, so neither can drift.
"""

from __future__ import annotations

from typing import Any

import msgspec

from storyd.config.structs import Config
from storyd.control import protocol as p
from storyd.core import events
from storyd.core import replies as rp
from storyd.core.chapter_times import ChapterList
from storyd.core.model import Theme
from storyd.core.recap_view import RecapView
from storyd.core.snapshot import Snapshot
from storyd.web.responses import ErrorReply

API = "/api/interactive-story"


MAX_CHANGES = 100   # keys one POST config may change


class ConfigUpdate(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """POST config body: one `key`/`value`, or several `changes`; all validated, then saved."""

    key: str | None = None
    value: Any = None
    changes: dict[str, Any] | None = None


class Route(msgspec.Struct, frozen=True):
    method: str
    path: str                      # OpenAPI form: /api/interactive-story/session/{id}
    summary: str
    admin: bool = False            # needs the admin token
    body: Any = None               # Struct type of the JSON body
    query: Any = None              # Struct type whose fields are query parameters
    response: Any = None           # type of the 200 JSON answer; None: not JSON
    content: str = "application/json"   # the 200 answer's media type; several: "a | b"


SNAP = Snapshot   # start, next-chapter, finish and end answer the show's new snapshot
ROUTES: tuple[Route, ...] = (
    Route("GET", f"{API}/status", "The show's snapshot (same as storyctl --json status)",
          response=SNAP),
    Route("GET", f"{API}/themes", "The theme catalogue", response=list[Theme]),
    Route("GET", f"{API}/stories", "The shipped authored stories (Twee), to start with "
          "`story`", response=list[rp.StoryInfo]),
    Route("GET", f"{API}/config", "The effective configuration, secrets masked", admin=True,
          response=Config),
    Route("GET", f"{API}/config/schema", "Each config key's type, allowed values, default "
          "and help text (for the admin page's form)", admin=True, response=rp.ConfigSchema),
    Route("POST", f"{API}/config", "Change config keys (comments in the file kept); answers "
          "the new configuration", admin=True, body=ConfigUpdate, response=Config),
    Route("POST", f"{API}/start", "Start a story (`story`: an authored story's id or file; "
          "a file storyd cannot play is refused with 422 and its file:line reasons)",
          admin=True, body=p.Start, response=SNAP),
    Route("POST", f"{API}/next-chapter", "Advance now, optionally forcing a choice",
          admin=True, body=p.Next, response=SNAP),
    Route("POST", f"{API}/close", "Close the running vote now", admin=True, body=p.Close,
          response=rp.CloseReply),
    Route("POST", f"{API}/finish", "Write a closing chapter next, then end (a running vote "
          "runs out first; `now`: it closes at once)", admin=True,
          body=p.Finish, response=SNAP),
    Route("POST", f"{API}/end", "End the story now", admin=True, body=p.End, response=SNAP),
    Route("GET", f"{API}/plan", "The running story's plan: protagonist, cast, places, central "
          "question, one beat per chapter, endings (readable before chapter 1 airs)",
          admin=True, response=rp.PlanReply),
    Route("POST", f"{API}/extend", "Lengthen the running story to `chapters`; the beats not "
          "aired yet are re-planned", admin=True, body=p.Extend, response=rp.PlanReply),
    Route("POST", f"{API}/vote", "Inject one chat vote", admin=True, body=p.Vote,
          response=rp.VoteReply),
    Route("POST", f"{API}/regenerate-image", "New picture for the current chapter",
          admin=True, body=p.RegenerateImage, response=rp.OkReply),
    Route("POST", f"{API}/chat", "Chat ingest: a batch of chat messages counted like TikTok "
          "comments (or one bare message object); at most 10,000 per request", admin=True,
          body=p.Chat, response=rp.IngestReply),
    Route("GET", f"{API}/providers", "Probe every configured provider (diagnosis, latency)",
          admin=True, response=list[rp.ProviderCheck]),
    Route("GET", f"{API}/memory", "The story memory and the last prompt context", admin=True,
          response=rp.MemoryReply),
    Route("GET", f"{API}/sessions", "Session history", admin=True, query=p.Sessions,
          response=list[rp.SessionSummary]),
    Route("GET", f"{API}/session/{{id}}", "One session with chapters and vote results",
          admin=True, response=rp.SessionDetail),
    Route("GET", f"{API}/top-voters", "Top voters", admin=True, query=p.TopVoters,
          response=list[rp.TopVoter]),
    Route("GET", f"{API}/cameos", "The cameos of the story on air (joined, left, removed; "
          "viewer ids included)", admin=True, response=list[rp.CameoEntry]),
    Route("POST", f"{API}/cameo/remove", "Take a cameo (name or viewer id) out of every later "
          "chapter; the name is never sent to a model again", admin=True, body=p.CameoRemove,
          response=rp.CameoRemoveReply),
    Route("GET", f"{API}/export/{{id}}", "Export a session (format md, html, twee or json; "
          "the JSON export is the session/{id} object)", admin=True, query=p.Export,
          response=rp.SessionDetail,
          content="text/markdown | text/html | text/plain | application/json"),
    Route("GET", f"{API}/sessions/{{id}}/chapters", "A YouTube chapter list from the "
          "chapters' on-air times, from the story's start or `since` (a stream start, epoch "
          "seconds)", admin=True, query=p.Chapters, response=ChapterList),
    Route("GET", f"{API}/sessions/{{id}}/recap", "The story's recap: branch map, logline, "
          "cast, top voters", admin=True, response=RecapView),
    Route("GET", f"{API}/sessions/{{id}}/recap.png", "The recap as a picture to post "
          "(size 1080x1920 or 1920x1080)", admin=True, query=p.RecapPng, content="image/png"),
    Route("GET", f"{API}/image/{{filename}}", "A picture from the media cache",
          content="image/*"),
    Route("GET", f"{API}/audio/{{filename}}", "Narration audio from the media cache",
          content="audio/*"),
    Route("GET", f"{API}/openapi.json", "This document", response=rp.OpenApiDocument),
    Route("GET", "/healthz", "Liveness", response=rp.Health),
    Route("GET", "/metrics", "Prometheus metrics", content="text/plain"),
)

CONFIG_NOTE = ("The configuration in effect, secrets masked as \"********\". Its sections are "
               "fixed; `providers` is keyed by the provider names the file declares.")

_REF = "#/components/schemas/{name}"


def _strip_tag(schema: dict[str, Any]) -> dict[str, Any]:
    """A request's schema without its `cmd` tag (the URL names the command)."""
    if "cmd" not in schema.get("properties", {}):
        return schema
    props = {k: v for k, v in schema.get("properties", {}).items() if k != "cmd"}
    out = {**schema, "properties": props}
    req = [r for r in schema.get("required", []) if r != "cmd"]
    if req:
        out["required"] = req
    else:
        out.pop("required", None)
    return out


def _params(route: Route) -> list[dict[str, Any]]:
    params: list[dict[str, Any]] = []
    for name in ("id", "filename"):
        if "{" + name + "}" in route.path:
            kind = {"type": "integer", "minimum": 0, "maximum": 2**63 - 1} if name == "id" else {
                "type": "string",
                "pattern": r"^[A-Za-z0-9_-]{1,128}\.(png|jpg|jpeg|webp|svg|mp3|wav|ogg|opus)$"}
            params.append({"name": name, "in": "path", "required": True, "schema": kind})
    if route.query is not None:
        (_,), comps = msgspec.json.schema_components([route.query], ref_template=_REF)
        schema = comps[route.query.__name__]
        for fname, fschema in schema.get("properties", {}).items():
            if fname in ("cmd", "id"):
                continue
            params.append({"name": fname, "in": "query", "required": False, "schema": fschema})
    return params


# What POST config takes as one change's value (storyd.web.config_update.as_text)
CHANGE_VALUE: dict[str, Any] = {"anyOf": [
    {"type": "string"}, {"type": "number"}, {"type": "boolean"},
    {"type": "array", "items": {"anyOf": [{"type": "string"}, {"type": "number"}]}}]}
TOO_LARGE = {f"{API}/chat": "more than 10,000 messages (`too_many_messages`), or a body over "
                            "8 MiB: split the batch"}


def build_document(version: str) -> dict[str, Any]:
    """The whole OpenAPI document as plain data."""
    types = [ErrorReply, *dict.fromkeys(r.body for r in ROUTES if r.body)]
    answers = list(dict.fromkeys(r.response for r in ROUTES if r.response))
    roots, components = msgspec.json.schema_components([*types, *answers], ref_template=_REF)
    ok_schemas = dict(zip(answers, roots[len(types):], strict=True))
    components = {k: _strip_tag(v) for k, v in components.items()}
    components["Config"]["description"] = CONFIG_NOTE
    for key in ("user_id", "msg_id"):   # TikTok ids arrive as numbers: taken as their text
        line = components["ChatLine"]["properties"]
        line[key] = {"anyOf": [line[key], {"type": "integer", "minimum": 0,
                                           "maximum": 2**64 - 1}]}
    components["ConfigUpdate"]["oneOf"] = [   # one key and its value, or several changes
        {"required": ["key", "value"], "properties": {"key": {"type": "string", "minLength": 1},
                                                      "value": CHANGE_VALUE}},
        {"required": ["changes"], "properties": {"changes": {
            "type": "object", "minProperties": 1, "maxProperties": MAX_CHANGES,
            "propertyNames": {"minLength": 1}, "additionalProperties": CHANGE_VALUE}}}]
    # The websocket events (storyd/core/events.py): one schema, served with the API.
    event_root, event_components = events.schema_components(_REF)
    clash = [k for k, v in event_components.items() if components.get(k, v) != v]
    if clash:   # two different types of one name would share one $ref
        raise TypeError(f"event and API types share names: {clash}")
    components.update(event_components)
    components["StorydEvent"] = event_root
    error = {"description": "error", "content": {"application/json": {
        "schema": {"$ref": _REF.format(name="ErrorReply")}}}}
    paths: dict[str, dict[str, Any]] = {}
    for r in ROUTES:
        ok_schema: dict[str, Any] = ok_schemas[r.response] if r.response else {}
        op: dict[str, Any] = {
            "summary": r.summary,
            "operationId": (r.method.lower() + r.path.replace(API, "").replace("/", "_")
                            .replace("{", "").replace("}", "").replace("-", "_")
                            .replace(".", "_")),
            "responses": {"200": {"description": "ok", "content": {
                media.strip(): {"schema": ok_schema if media.strip() == "application/json" else {}}
                for media in r.content.split("|")}},
                "400": error, "404": error, "405": error, "409": error, "421": error,
                "503": error},
        }
        if r.body is not None:
            op["responses"]["413"] = {**error, "description": TOO_LARGE.get(r.path, "the body "
                                      "is larger than the route takes")}
        if r.path == f"{API}/start":   # an authored story storyd cannot play
            op["responses"]["422"] = error
        params = _params(r)
        if params:
            op["parameters"] = params
        if r.body is not None:   # a body with required fields must be sent
            needed = bool(components[r.body.__name__].get("required")) or r.body is ConfigUpdate
            op["requestBody"] = {"required": needed, "content": {"application/json": {
                "schema": {"$ref": _REF.format(name=r.body.__name__)}}}}
        if r.admin:
            op["security"] = [{"bearer": []}, {"cookie": []}]
            op["responses"]["401"] = error
        paths.setdefault(r.path, {})[r.method.lower()] = op
    return {
        "openapi": "3.1.0",
        "info": {"title": "storyd", "version": version,
                 "description": "Live, audience-voted story: control and overlay API."},
        "paths": paths,
        "components": {"schemas": components, "securitySchemes": {
            "bearer": {"type": "http", "scheme": "bearer"},
            "cookie": {"type": "apiKey", "in": "cookie", "name": "storyd_admin"}}},
    }
