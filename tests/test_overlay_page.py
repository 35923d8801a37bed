"""The overlay page over real HTTP (no browser): its CSP and its ES modules.

The CSP must admit the `<style>` OBS injects for a browser source's Custom CSS while scripts
stay same-origin only; the page loads its code as `<script type="module">` files, which
browsers run only when served with a JavaScript MIME type.
"""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import trio
from web_harness import FakeDaemon, running_web

OVERLAY = Path(__file__).resolve().parent.parent / "overlay"


def directives(csp: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for part in csp.split(";"):
        words = part.split()
        if words:
            out[words[0]] = words[1:]
    return out


async def test_overlay_csp_admits_injected_styles_but_not_scripts(tmp_path: Path) -> None:
    d = FakeDaemon(tmp_path)
    with trio.fail_after(30):
        async with running_web(d) as url, httpx.AsyncClient(base_url=url, timeout=10) as c:
            r = await c.get("/overlay/?style=storybook")
            assert r.status_code == 200
            csp = directives(r.headers["content-security-policy"])
            assert csp["style-src"] == ["'self'", "'unsafe-inline'"]
            assert csp["script-src"] == ["'self'"]           # no inline, no eval
            assert "'unsafe-inline'" not in csp["default-src"]
            # every module the page imports is served, as JavaScript
            html = r.text
            assert '<script type="module" src="/overlay/main.js"></script>' in html
            names = {"main.js"}
            for js in OVERLAY.glob("*.js"):
                names.update(re.findall(r'from "\./([a-z0-9_-]+\.js)"', js.read_text()))
            assert names >= {"main.js", "socket.js", "view.js", "i18n.js"}
            for name in sorted(names):
                m = await c.get(f"/overlay/{name}")
                assert m.status_code == 200, name
                assert m.headers["content-type"].startswith("text/javascript"), name
            # the node metadata beside the modules is not served
            assert (await c.get("/overlay/package.json")).status_code == 404
