"""The cameo roster ("In this story: …") in real Chromium: text only, fits every canvas.

The roster's names are viewer-chosen. storyd cleans them before they get this far, but the
page must not rely on it: here the snapshot carries raw markup, a script-bearing image tag,
bidi overrides and very wide names, and the page shows them as inert text — no element made
from them, no script run — and nothing is clipped at any of the overlay's sizes.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import msgspec
import pytest
from overlay_harness import CHROMIUM, SIZES, Server, assert_fits, goto, open_page, show, story

pytestmark = pytest.mark.browser

try:
    from playwright.sync_api import sync_playwright
except ImportError:  # pragma: no cover
    sync_playwright = None

if sync_playwright is None or not CHROMIUM.exists():
    pytest.skip("overlay browser tests need Playwright and a system Chromium at "
                "/usr/bin/chromium; skipping", allow_module_level=True)

HOSTILE = ('<img src=x onerror="window.pwned=1">', "\u202eevil\u202c", "ادخل السرداب",
           "字" * 24, "W" * 24, "Ann")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    s = Server(tmp_path_factory.mktemp("overlay-cast"))
    s.start()
    yield s
    s.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=str(CHROMIUM), args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        yield b
        b.close()


def test_the_roster_is_text_only_and_fits_every_size(server: Server, browser: Any) -> None:
    for w, h in SIZES:
        layout = "portrait" if h > w else "landscape"
        page, errors = open_page(browser, w, h)
        try:
            goto(page, server, layout, w, h)
            snap = msgspec.structs.replace(story("voting"), cameos=HOSTILE)
            show(page, server, snap, "!document.getElementById('cast').hidden")
            cast = page.evaluate("""() => {
              const c = document.getElementById('cast');
              return {label: c.querySelector('.cast-label').textContent,
                      names: [...c.querySelectorAll('.cast-name')].map(e => e.textContent),
                      more: (c.querySelector('.cast-more') || {}).textContent,
                      elements: c.querySelectorAll('img, script, b, *[onerror]').length,
                      pwned: window.pwned === 1}}""")
            assert cast == {"label": "In this story:", "names": list(HOSTILE[:3]),
                            "more": "+3", "elements": 0, "pwned": False}
            assert_fits(page, f"cast-{w}x{h}", shot=(w, h) in ((1920, 1080), (1080, 1920)))
            show(page, server, msgspec.structs.replace(story("voting"), cameos=()),
                 "document.getElementById('cast').hidden")
            assert errors == []
        finally:
            page.close()
