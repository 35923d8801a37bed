"""Issue 22 (smaller items): `storyctl providers` against a server without `GET /models`.

Several llama.cpp builds and proxies answer `/models` with an HTML 404 while chapters work:
the probe then asks the text model for one token, and says so in one readable line — never
the page's markup. Real loopback fake (tests/fake_openai.py, `no_model_list`).
"""

from __future__ import annotations

import trio
from test_providers_bounded import setup

from storyd.ctl.formatting_tables import format_providers
from storyd.providers.openai_base import error_detail

NGINX_404 = (b"<html>\r\n<head><title>404 Not Found</title></head>\r\n<body>\r\n<center>"
             b"<h1>404 Not Found</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n"
             b"</html>\r\n")


async def test_no_model_list_is_probed_with_a_one_token_chat(nursery: trio.Nursery) -> None:
    fake, provider = await setup(nursery)
    fake.no_model_list = True
    with trio.fail_after(30):
        result = await provider.check()
    assert result["ok"] and result["diagnosis"] == "ok", result
    assert result["message"] == ("no model list (GET /models: HTTP 404); a one-token chat "
                                 "request to fake-text worked")
    chat = fake.requests[-1]
    assert chat["path"] == "/v1/chat/completions" and chat["json"]["max_tokens"] == 1
    line = format_providers([result]).splitlines()[1]
    assert "<" not in line and "worked" in line


async def test_no_model_list_and_a_failing_chat_is_one_readable_line(
        nursery: trio.Nursery) -> None:
    fake, provider = await setup(nursery)
    fake.no_model_list = True
    fake.script = ["401"]
    with trio.fail_after(30):
        result = await provider.check()
    assert not result["ok"] and result["diagnosis"] == "bad key", result
    assert result["message"].startswith("no model list (GET /models: HTTP 404); a one-token "
                                        "chat request failed: ")
    assert "<" not in result["message"] and "\n" not in result["message"]
    assert len(format_providers([result]).splitlines()) == 2


def test_an_html_error_page_becomes_its_title() -> None:
    assert error_detail(NGINX_404) == ("an HTML page: 404 Not Found", None)
    page = b"<!DOCTYPE html><html><body><p>Bad &amp; gone</p></body></html>"
    assert error_detail(page) == ("an HTML page: Bad & gone", None)
    assert error_detail(b'{"error": {"message": "nope", "code": 7}}') == ("nope", 7)
    assert error_detail(b"<3 plain text") == ("<3 plain text", None)
