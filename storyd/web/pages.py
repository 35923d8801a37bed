"""The static pages: `/overlay/` (OBS browser source) and `/admin/` (the operator's page).

Files are package data of storyd (`storyd/overlay/`, `storyd/admin/`).
Only plain names listed in the folder are served. Opening
`/admin/?token=T` with the right token sets the HttpOnly, SameSite=Strict admin cookie and
redirects to `/admin/`, so the token does not stay in the address bar or the history.
"""

from __future__ import annotations

import re
from pathlib import Path

from quart import Response, redirect, request, send_file
from quart_trio import QuartTrio

from storyd.control.operator import Operator
from storyd.system import paths
from storyd.web import security

NAME_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}\.(html|css|js|svg|png|woff2)$")
TYPES = {"html": "text/html", "css": "text/css",
         "js": "text/javascript", "svg": "image/svg+xml", "png": "image/png",
         "woff2": "font/woff2"}


def static_dir(name: str) -> Path:
    """Where the `overlay` or `admin` files live: package data of storyd."""
    folder = paths.asset(name)
    if not (folder / "index.html").is_file():
        raise FileNotFoundError(f"storyd's {name}/ files are missing from {folder}")
    return folder


def register_pages(app: QuartTrio, op: Operator) -> None:
    dirs = {"overlay": static_dir("overlay"), "admin": static_dir("admin")}

    async def serve(folder: str, filename: str) -> Response:
        if not NAME_RE.match(filename):
            return Response("not found", status=404, content_type="text/plain")
        path = dirs[folder] / filename
        if not path.is_file():
            return Response("not found", status=404, content_type="text/plain")
        resp = await send_file(path, mimetype=TYPES[filename.rsplit(".", 1)[1]])
        resp.headers["Cache-Control"] = "no-cache"
        return resp

    @app.get("/")
    async def root() -> Response:
        return redirect("/admin/", 302)  # type: ignore[return-value]

    @app.get("/overlay")
    async def overlay_slash() -> Response:
        qs = request.query_string.decode("latin1")
        return redirect("/overlay/" + (f"?{qs}" if qs else ""), 301)  # type: ignore[return-value]

    @app.get("/overlay/")
    async def overlay_index() -> Response:
        return await serve("overlay", "index.html")

    @app.get("/overlay/<name>")
    async def overlay_file(name: str) -> Response:
        return await serve("overlay", name)

    @app.get("/admin")
    async def admin_slash() -> Response:
        return redirect("/admin/", 301)  # type: ignore[return-value]

    @app.get("/admin/")
    async def admin_index() -> Response:
        token = request.args.get("token")
        if token is not None:
            resp: Response = redirect("/admin/", 303)  # type: ignore[assignment]
            if security.token_matches(token, op.admin_token):
                resp.set_cookie(security.COOKIE_NAME, token, httponly=True, samesite="Strict",
                                path="/")
            else:
                resp.delete_cookie(security.COOKIE_NAME, path="/")
            return resp
        return await serve("admin", "index.html")

    @app.get("/admin/<name>")
    async def admin_file(name: str) -> Response:
        return await serve("admin", name)
