"""After-the-show routes: a session's chapter list for the recording, its recap (JSON and
PNG), and the public read-only story page.

Admin (token): `GET {API}/sessions/<id>/chapters?since=EPOCH`, `…/recap`,
`…/recap.png?size=1080x1920|1920x1080`. Public, only with `[server] public_stories = true`:
`GET /stories/<id>` (storyd/web/story_page.py), for finished or ended stories; everything
else is a plain 404, so an off switch and a missing story look the same.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol, TypeVar

import msgspec
from quart import Response
from quart_trio import QuartTrio

from storyd.control import protocol as p
from storyd.control.operator import Operator
from storyd.core import replies as r
from storyd.errors import NotFoundError
from storyd.web.openapi import API
from storyd.web.story_page import render_story_page

T = TypeVar("T")


class Query(Protocol):
    """The web app's query-string decoder: `kind` from the URL's query and `extra` (400 on
    bad input)."""

    def __call__(self, kind: type[T], **extra: object) -> T: ...


Wrap = Callable[[Callable[..., Awaitable[Response]]], Callable[..., Awaitable[Response]]]


def register_after_show(app: QuartTrio, op: Operator, *, admin: Wrap,
                        call: Callable[[p.Request], Awaitable[p.Result | None]],
                        reply: Callable[[str, str, object], Response],
                        query: Query) -> None:
    @app.get(f"{API}/sessions/<int:session_id>/chapters")
    @admin
    async def chapters(session_id: int) -> Response:
        return reply("GET", f"{API}/sessions/{{id}}/chapters",
                     await call(query(p.Chapters, id=session_id)))

    @app.get(f"{API}/sessions/<int:session_id>/recap")
    @admin
    async def recap(session_id: int) -> Response:
        return reply("GET", f"{API}/sessions/{{id}}/recap",    # converted: ids are 64-bit
                     await call(query(p.Recap, id=session_id)))

    @app.get(f"{API}/sessions/<int:session_id>/recap.png")
    @admin
    async def recap_png(session_id: int) -> Response:
        req: p.RecapPng = query(p.RecapPng, id=session_id)
        got = msgspec.convert(await call(req), r.PngReply, from_attributes=True)
        resp = Response(got.png, content_type="image/png")
        resp.headers["Content-Disposition"] = (
            f'inline; filename="storyd-recap-{session_id}-{req.size}.png"')
        return resp

    @app.get("/stories/<int:session_id>")
    async def story_page(session_id: int) -> Response:
        missing = Response("no such story\n", status=404, content_type="text/plain")
        if not op.config.server.public_stories or not 0 <= session_id < 2**63:
            return missing
        try:
            session = await op.session(session_id)
            if session.status not in ("finished", "ended"):
                return missing
            view = await op.recap(session_id)
        except NotFoundError:
            return missing
        resp = Response(render_story_page(session, view), content_type="text/html; "
                        "charset=utf-8")
        resp.headers["Cache-Control"] = "public, max-age=300"
        return resp
