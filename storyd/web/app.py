"""The Quart-Trio application: REST routes, pages and media, all thin over control.dispatch.

Theory of operation: every API route decodes its body or query string with msgspec into a
control-protocol Request and hands it to `dispatch.handle(op, request)` over the Operator port
(storyd/control/operator.py), exactly what the Unix control socket does, so `GET status`
and `storyctl --json status` give the same object. Errors map to JSON `{"error": {"code",
"message"}}`: bad input 400, missing token 401, wrong Origin 403, unknown id/file 404,
unknown method 405 (with `Allow`), refused command 409, wrong Host 421, an authored story
storyd cannot play 422 (its file:line reasons); nothing a client sends becomes a 500 (JSON
nested too deeply is `bad_json`, ids beyond SQLite's 64-bit integers are `bad_request`). An
unexpected fault in one request or websocket ends only that request or socket and is logged
as one rate-limited line (storyd.system.faults), never a traceback per request. `op.config`
is read on every request, so a reload takes effect at
once.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import msgspec
import trio
from quart import Response, request, send_file, websocket
from quart_trio import QuartTrio
from werkzeug.exceptions import HTTPException

import storyd
from storyd.config import schema as config_schema
from storyd.control import dispatch
from storyd.control import protocol as p
from storyd.control.operator import Handler, Operator
from storyd.core.replies import ExportReply, Health
from storyd.errors import StorydError
from storyd.system import metrics
from storyd.system.faults import LogLimiter
from storyd.web import config_update, overlay_socket, security, ws
from storyd.web.aftershow import register_after_show
from storyd.web.openapi import API, ROUTES, ConfigUpdate, build_document
from storyd.web.pages import register_pages
from storyd.web.responses import (
    ApiError,
    decode_json,
    error_response,
    friendly,
    storyd_status,
    typed_response,
)

log = logging.getLogger(__name__)
T = TypeVar("T")
_faults = LogLimiter(log)

MEDIA_RE = re.compile(r"^[A-Za-z0-9_-]{1,128}\.(png|jpg|jpeg|webp|svg|mp3|wav|ogg|opus)$")
MEDIA_TYPES = {"png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg",
               "webp": "image/webp", "svg": "image/svg+xml", "mp3": "audio/mpeg",
               "wav": "audio/wav", "ogg": "audio/ogg", "opus": "audio/ogg"}
EXPORT_TYPES = {"md": "text/markdown; charset=utf-8", "html": "text/html; charset=utf-8",
                "twee": "text/plain; charset=utf-8", "json": "application/json"}
MAX_BODY = 256 * 1024
MAX_CHAT_BODY = 8 * 1024 * 1024      # POST chat: a 10,000-message batch fits
MAX_CHAT_BATCH = 10_000              # the same bound as control.dispatch.ingest_chat


class _App(QuartTrio):
    """QuartTrio whose unhandled-exception log is one rate-limited line, not a traceback."""

    def log_exception(self, exception_info: Any) -> None:
        exc = exception_info[1]
        if exc is not None:
            _websocket_fault(exc)


def _websocket_fault(exc: BaseException) -> None:
    _faults.fault("web", "web request or websocket failed", exc, logging.ERROR)


def create_app(op: Operator, *, handle: Handler = dispatch.handle) -> QuartTrio:
    """The web app over the Operator port; every API route goes through `handle`
    (storyd.control.dispatch.handle; tests pass a fake)."""
    app = _App(__name__, static_folder=None)
    app.config["MAX_CONTENT_LENGTH"] = MAX_CHAT_BODY   # hard cap; body() holds others to MAX_BODY
    app.config["JSON_SORT_KEYS"] = False
    handler = handle
    stats = ws.WebStats()

    answer_type = {(r.method, r.path): r.response for r in ROUTES}

    def reply(method: str, path: str, result: object) -> Response:
        """The answer through its route's documented type (ROUTES)."""
        return typed_response(answer_type[method, path], result)

    async def call(req: p.Request) -> p.Result | None:
        try:
            return await handler(op, req)
        except StorydError as exc:
            raise ApiError(storyd_status(exc), exc.code, str(exc)) from None

    def authorised() -> bool:
        token, how = security.presented_token(request.headers, request.cookies)
        if not security.token_matches(token, op.admin_token):
            return False
        origin = request.headers.get("Origin")
        if how == "cookie" and origin is not None and not security.origin_allowed(
                origin, request.headers.get("Host"), op.config.server):
            raise ApiError(403, "bad_origin", "cross-site request refused")
        return True

    def admin(fn: Callable[..., Awaitable[Response]]) -> Callable[..., Awaitable[Response]]:
        @functools.wraps(fn)
        async def wrapper(*args: Any, **kwargs: Any) -> Response:
            if not authorised():
                raise ApiError(401, "unauthorized", "admin token required: open the admin page "
                               "with the URL printed by `storyctl admin-url`")
            return await fn(*args, **kwargs)
        return wrapper

    def too_large() -> ApiError:
        return ApiError(413, "request_entity_too_large",
                        f"request body too large ({MAX_BODY // 1024} KiB at most)")

    async def body(kind: type[T]) -> T:
        if (request.content_length or 0) > MAX_BODY:
            raise too_large()
        raw = await request.get_data(as_text=False)
        if len(raw) > MAX_BODY:
            raise too_large()
        data = decode_json(raw) if raw else {}   # no body is {}; whitespace is bad JSON
        if not isinstance(data, dict):
            raise ApiError(400, "bad_request", "request body must be a JSON object")
        if "cmd" in data:
            raise ApiError(400, "bad_request", "unknown field 'cmd' (the URL names the command)")
        try:
            return msgspec.convert(data, kind)
        except msgspec.ValidationError as exc:
            raise ApiError(400, "bad_request", f"invalid request body: {friendly(exc)}"
                           ) from None

    def query(kind: type[T], **extra: object) -> T:
        data: dict[str, object] = {**request.args.to_dict(), **extra}
        try:
            return msgspec.convert(data, kind, strict=False)
        except msgspec.ValidationError as exc:
            raise ApiError(400, "bad_request", f"invalid query: {exc}") from None

    @app.before_request
    async def check_host() -> Response | None:
        # Read a declared body before any early answer (401, 405, 421, OPTIONS): hypercorn
        # stalls a keep-alive connection whose response went out before its request body
        # arrived, so the client's next request would never be answered.
        if 0 < (request.content_length or 0) <= MAX_CHAT_BODY or (
                "chunked" in request.headers.get("Transfer-Encoding", "").lower()):
            await request.get_data(as_text=False)
        if not security.host_allowed(request.headers.get("Host"), op.config.server):
            return error_response(421, "bad_host", "unknown Host header: add it to "
                                  "[server] allowed_hosts to reach storyd by that name")
        return None

    @app.before_websocket
    async def check_ws_host() -> Response | None:
        if not security.host_allowed(websocket.headers.get("Host"), op.config.server):
            return error_response(421, "bad_host", "unknown Host header")
        return None

    @app.after_request
    async def headers(resp: Response) -> Response:
        resp.headers.setdefault("Content-Security-Policy", security.PAGE_CSP)
        resp.headers["X-Content-Type-Options"] = "nosniff"
        resp.headers["Referrer-Policy"] = "no-referrer"
        resp.headers.setdefault("Cache-Control", "no-store")
        if (request.content_length or 0) > MAX_CHAT_BODY:   # body left unread: end it here
            resp.headers["Connection"] = "close"
        return resp

    @app.errorhandler(ApiError)
    async def api_error(exc: ApiError) -> Response:
        return error_response(exc.status, exc.code, exc.message, exc.fields)

    @app.errorhandler(HTTPException)
    async def http_error(exc: HTTPException) -> Response:
        code = (exc.name or "error").lower().replace(" ", "_")
        resp = error_response(exc.code or 500, code, exc.description or code)
        allowed = getattr(exc, "valid_methods", None)
        if exc.code == 405 and allowed:   # RFC 9110 §15.5.6: a 405 names what is allowed
            resp.headers["Allow"] = ", ".join(sorted(allowed))
        return resp

    @app.errorhandler(Exception)
    async def unexpected(exc: Exception) -> Response:
        _faults.fault("web", f"web request failed: {request.method} {request.path}", exc,
                      logging.ERROR)
        return error_response(500, "internal", "internal error (see the storyd log)")

    simple: dict[str, tuple[type[p.Request], bool]] = {   # route -> (request, needs a body)
        "start": (p.Start, True), "next-chapter": (p.Next, True), "close": (p.Close, True),
        "finish": (p.Finish, True), "end": (p.End, True), "vote": (p.Vote, True),
        "extend": (p.Extend, True),
        "regenerate-image": (p.RegenerateImage, True)}
    for name, (kind, _) in simple.items():
        async def post(kind: type[p.Request] = kind, name: str = name) -> Response:
            return reply("POST", f"{API}/{name}", await call(await body(kind)))
        app.add_url_rule(f"{API}/{name}", f"post_{name}", admin(post), methods=["POST"])

    @app.post(f"{API}/chat")
    @admin
    async def chat() -> Response:
        req = await chat_body()
        try:
            return reply("POST", f"{API}/chat", await call(req))
        except ApiError as exc:   # ingest refuses bad lines: that is bad input, not a conflict
            if exc.status == 409:
                exc.status, exc.code = 400, "bad_request"
            raise

    async def chat_body() -> p.Chat:
        """`{"messages": [line, ...]}` or one bare line object; each line a p.ChatLine."""
        raw = await request.get_data(as_text=False)
        data = decode_json(raw)
        if isinstance(data, dict) and "messages" not in data:
            data = {"messages": [data]}
        if not isinstance(data, dict):
            raise ApiError(400, "bad_request", 'request body must be {"messages": [...]} or '
                           "one message object {platform, user_id, name, text}")
        lines = data.get("messages")
        if isinstance(lines, list) and len(lines) > MAX_CHAT_BATCH:
            raise ApiError(413, "too_many_messages", f"at most {MAX_CHAT_BATCH} messages per "
                           f"request (got {len(lines)}): split the batch")
        for line in lines if isinstance(lines, list) else ():
            for key in ("user_id", "msg_id"):   # TikTok ids are numbers; as chat-import does
                if isinstance(line, dict) and type(line.get(key)) is int and (
                        0 <= line[key] < 2**64):
                    line[key] = str(line[key])
        try:
            return msgspec.convert(data, p.Chat)
        except msgspec.ValidationError as exc:
            raise ApiError(400, "bad_request", f"invalid chat message: {friendly(exc)}"
                           ) from None

    @app.get(f"{API}/plan")
    @admin
    async def plan() -> Response:
        return reply("GET", f"{API}/plan", await call(p.Plan()))

    @app.get(f"{API}/providers")
    @admin
    async def providers() -> Response:
        return reply("GET", f"{API}/providers", await call(p.Providers()))

    @app.get(f"{API}/status")
    async def status() -> Response:
        return reply("GET", f"{API}/status", await call(p.Status()))

    @app.get(f"{API}/themes")
    async def themes() -> Response:
        return reply("GET", f"{API}/themes", await call(p.Themes()))

    @app.get(f"{API}/stories")
    async def stories() -> Response:
        return reply("GET", f"{API}/stories", await call(p.Stories()))

    @app.get(f"{API}/config")
    @admin
    async def config_show() -> Response:
        return reply("GET", f"{API}/config", await call(p.ConfigShow()))

    @app.get(f"{API}/config/schema")
    @admin
    async def config_schema_page() -> Response:
        return reply("GET", f"{API}/config/schema", config_schema.schema())

    @app.post(f"{API}/config")
    @admin
    async def config_set() -> Response:
        update: ConfigUpdate = await body(ConfigUpdate)
        try:
            changes = config_update.changes_of(update)
            await trio.to_thread.run_sync(config_update.validate, op.config_path, changes)
        except config_update.ChangeError as exc:
            raise ApiError(400, "bad_config", str(exc), exc.fields) from None
        # the control protocol's own path: all keys written at once, then applied live
        await call(p.ConfigUpdate(changes=changes))
        return reply("POST", f"{API}/config", await call(p.ConfigShow()))

    @app.get(f"{API}/memory")
    @admin
    async def memory() -> Response:
        return reply("GET", f"{API}/memory", await call(p.Memory()))

    @app.get(f"{API}/sessions")
    @admin
    async def sessions() -> Response:
        return reply("GET", f"{API}/sessions", await call(query(p.Sessions)))

    @app.get(f"{API}/session/<int:session_id>")
    @admin
    async def session(session_id: int) -> Response:
        try:
            req = msgspec.convert({"id": session_id}, p.Session)
        except msgspec.ValidationError as exc:
            raise ApiError(400, "bad_request", f"invalid session id: {exc}") from None
        return reply("GET", f"{API}/session/{{id}}", await call(req))

    @app.get(f"{API}/top-voters")
    @admin
    async def top_voters() -> Response:
        return reply("GET", f"{API}/top-voters", await call(query(p.TopVoters)))

    @app.get(f"{API}/cameos")
    @admin
    async def cameos() -> Response:
        return reply("GET", f"{API}/cameos", await call(p.Cameos()))

    @app.post(f"{API}/cameo/remove")
    @admin
    async def cameo_remove() -> Response:
        return reply("POST", f"{API}/cameo/remove", await call(await body(p.CameoRemove)))

    @app.get(f"{API}/export/<int:session_id>")
    @admin
    async def export(session_id: int) -> Response:
        req: p.Export = query(p.Export, id=session_id)
        got = msgspec.convert(await call(req), ExportReply, from_attributes=True)
        data, filename = got.content, got.filename
        ctype = got.content_type or EXPORT_TYPES[req.format]
        if req.format == "json":   # the session itself: held to its documented type
            msgspec.json.decode(data, type=answer_type["GET", f"{API}/export/{{id}}"])
        resp = Response(data, content_type=ctype)
        safe = "".join(ch for ch in filename if ch.isalnum() or ch in "._-")
        resp.headers["Content-Disposition"] = f'inline; filename="{safe}"'
        if req.format == "html":
            resp.headers["Content-Security-Policy"] = security.EXPORT_CSP
        return resp

    def media_path(filename: str) -> Path | None:
        root = Path(op.media_dir).resolve()
        path = (root / filename).resolve()     # follows links: a link out of the folder fails
        return path if path.parent == root and path.is_file() else None

    async def media(filename: str) -> Response:
        path = media_path(filename) if MEDIA_RE.match(filename) else None
        if path is None:
            raise ApiError(404, "not_found", "no such file")
        ext = filename.rsplit(".", 1)[1].lower()
        resp = await send_file(path, mimetype=MEDIA_TYPES[ext], conditional=True)
        resp.headers["Cache-Control"] = "public, max-age=3600"
        if ext == "svg":
            resp.headers["Content-Security-Policy"] = security.SVG_CSP
        return resp

    app.add_url_rule(f"{API}/image/<path:filename>", "image", media, methods=["GET"])
    app.add_url_rule(f"{API}/audio/<path:filename>", "audio", media, methods=["GET"])

    @app.get(f"{API}/openapi.json")
    async def openapi() -> Response:
        return reply("GET", f"{API}/openapi.json", build_document(storyd.__version__))

    @app.get("/healthz")
    async def healthz() -> Response:
        snap = op.snapshot()
        return reply("GET", "/healthz", Health(ok=True, state=snap.state,
                                               subscribers=op.bus.subscribers,
                                               websockets=stats.open_sockets()))

    @app.get("/metrics")
    async def metrics_page() -> Response:
        return Response(metrics.exposition(op.snapshot(), op.bus, stats),
                        content_type=metrics.CONTENT_TYPE)

    # /ws/overlay on the ASGI layer (storyd/web/overlay_socket.py), Quart's middleware point
    app.asgi_app = overlay_socket.route(  # type: ignore[method-assign,assignment]
        app.asgi_app, op, stats, handler, on_fault=_websocket_fault)

    @app.websocket("/ws/admin")
    async def ws_admin() -> Response | None:
        server = op.config.server
        origin = websocket.headers.get("Origin")
        if origin is not None and not security.origin_allowed(
                origin, websocket.headers.get("Host"), server):
            return error_response(403, "bad_origin", "cross-site websocket refused")
        token, _ = security.presented_token(websocket.headers, websocket.cookies)
        if not security.token_matches(token, op.admin_token):
            return error_response(401, "unauthorized", "admin token required")
        await websocket.accept()
        sock = websocket._get_current_object()  # type: ignore[attr-defined]  # a LocalProxy
        await ws.serve_socket(op, stats, handler, sock, admin=True)
        return None

    register_after_show(app, op, admin=admin, call=call, reply=reply, query=query)
    register_pages(app, op)
    return app
