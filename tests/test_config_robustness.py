"""Issue 11: a config file's faults are messages, never tracebacks; credentials never shown.

Real files in tmp_path; `storyd --check-config` / `--print-config` through cli.main, the
reload path through the real daemon (SIGHUP's handler, Daemon.reload)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
import trio
from conftest import make_config_text
from web_harness import running_daemon

from storyd import cli
from storyd.config import loader as config_mod
from storyd.config.masking import masked, scrub, secret_values
from storyd.control import protocol
from storyd.core import events as ev
from storyd.errors import ConfigError

GOOD = b'[voting]\nduration = 45\n'
BAD_FILES = {
    "invalid-utf8": (b'[story]\ntheme = "fantasy"\nlanguage = "Fran\xe7ais"\n',
                     ":3: not UTF-8 text (byte 0xe7 at column 17)"),
    "binary": (bytes(range(128)) * 4, "NUL bytes"),
    "binary-garbage": (bytes(range(256)) * 4, "not UTF-8"),
    "control-chars": (bytes(range(1, 128)) * 4, ""),
    "png-header": (b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, ""),
    "huge": (b"# padding\n" * 120_000, "larger than 1024 KiB"),
    "deep-array": (b"a = " + b"[" * 5000 + b"]" * 5000 + b"\n", ""),
    "deep-inline-table": (b"a = " + b"{b = " * 3000 + b"1" + b"}" * 3000 + b"\n", ""),
    "utf16": ("[voting]\nduration = 45\n".encode("utf-16"), "not UTF-8"),
}


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_check_config_on_a_broken_file_exits_2_with_file_and_reason(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str) -> None:
    data, reason = BAD_FILES[name]
    path = tmp_path / f"{name}.toml"
    path.write_bytes(data)
    code, out, err = run(capsys, "--config", str(path), "--check-config")
    assert code == 2, err
    assert err.startswith(f"storyd: {path}") and reason in err
    assert "Traceback" not in err and len(err.splitlines()) <= 3


def test_a_utf8_bom_is_accepted(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bom.toml"
    path.write_bytes(b"\xef\xbb\xbf" + GOOD)
    code, out, err = run(capsys, "--config", str(path), "--check-config")
    assert code == 0, err
    assert config_mod.load(path).voting.duration == 45
    config_mod.set_value(path, "voting.duration", "50")     # editing it works too
    assert config_mod.load(path).voting.duration == 50


def test_a_directory_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        config_mod.load(tmp_path)


def test_editing_a_broken_file_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "storyd.toml"
    path.write_bytes(BAD_FILES["invalid-utf8"][0])
    with pytest.raises(ConfigError, match="not UTF-8"):
        config_mod.set_value(path, "voting.duration", "50")
    assert path.read_bytes() == BAD_FILES["invalid-utf8"][0]


@pytest.mark.parametrize("name", ["invalid-utf8", "binary", "huge", "deep-array"])
async def test_reload_with_a_broken_file_keeps_the_old_config_and_says_why(
        tmp_path: Path, name: str) -> None:
    from storyd.app import Daemon, run_daemon

    path = tmp_path / "storyd.toml"
    path.write_text(make_config_text(tmp_path, {"voting": {"duration": 45}}))
    async with trio.open_nursery() as nursery:
        daemon: Daemon = await nursery.start(run_daemon, config_mod.load(path), path)
        with trio.fail_after(20), daemon.bus.subscribe() as sub:
            path.write_bytes(BAD_FILES[name][0])
            await daemon.reload()
            assert daemon.config.voting.duration == 45
            event = await sub.get()
            while not isinstance(event, ev.Error):
                event = await sub.get()
            assert event.data.message.startswith(f"config reload failed: {path}")
            async with httpx.AsyncClient(base_url=daemon.web_url) as client:
                assert (await client.get("/api/interactive-story/status")).status_code == 200
        daemon.stop()


# ---- credentials ----------------------------------------------------------------------------
SECRET_CONFIG = """
[providers.corp]
base_url = "https://alice:hunter2-pass@llm.example.com/v1"
text_model = "m"
headers = { "X-Api-Key" = "hdr-secret-123", Authorization = "Bearer tok-secret-456" }
[llm]
chain = ["corp", "offline"]
[chat.tiktok]
proxy = "http://bob:proxy-pw-789@proxy.local:3128"
"""
SECRETS = ("hunter2-pass", "alice:", "hdr-secret-123", "tok-secret-456", "proxy-pw-789")


def test_masked_hides_header_values_and_url_passwords() -> None:
    cfg = config_mod.parse(SECRET_CONFIG)
    shown = str(masked(config_mod.to_builtins(cfg)))
    dumped = config_mod.dump_toml(cfg)
    for secret in SECRETS:
        assert secret not in shown and secret not in dumped
    assert "llm.example.com" in shown and "X-Api-Key" in shown
    for key in ("providers.corp.headers", "providers.corp.base_url", "chat.tiktok.proxy",
                "providers", "providers.corp"):
        assert not any(s in str(config_mod.get_value(cfg, key)) for s in SECRETS)


def test_echoing_masked_values_back_keeps_the_secrets(tmp_path: Path) -> None:
    path = tmp_path / "storyd.toml"
    path.write_text(SECRET_CONFIG)
    cfg = config_mod.parse(SECRET_CONFIG)
    shown = masked(config_mod.to_builtins(cfg))["providers"]["corp"]
    headers = ", ".join(f'"{k}" = "{v}"' for k, v in shown["headers"].items())
    new = config_mod.set_values(path, {"providers.corp.base_url": shown["base_url"],
                                       "providers.corp.headers": "{ " + headers + " }"})
    assert new.providers["corp"] == cfg.providers["corp"]


def test_print_config_masks_headers_and_url_passwords(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "storyd.toml"
    path.write_text(SECRET_CONFIG)
    code, out, _ = run(capsys, "--config", str(path), "--print-config")
    assert code == 0 and "llm.example.com" in out
    assert not any(s in out for s in SECRETS)


def test_scrub_removes_secrets_from_free_text() -> None:
    cfg = config_mod.parse(SECRET_CONFIG)
    report = {"base_url": "https://alice:hunter2-pass@llm.example.com/v1",
              "message": "401 from llm.example.com: key tok-secret-456 refused"}
    cleaned = str(scrub(report, secret_values(cfg)))
    assert not any(s in cleaned for s in SECRETS) and "llm.example.com" in cleaned


async def test_admin_api_and_socket_never_show_credentials(tmp_path: Path) -> None:
    from storyd.control.client import ControlClient

    extra = SECRET_CONFIG.replace("llm.example.com", "127.0.0.1:9")   # refused at once
    async with running_daemon(tmp_path, extra) as daemon:
        headers = {"Authorization": f"Bearer {daemon.admin_token}"}
        with trio.fail_after(30):
            async with httpx.AsyncClient(base_url=daemon.web_url, headers=headers,
                                         timeout=20) as c:
                texts = [(await c.get(f"/api/interactive-story/{route}")).text
                         for route in ("config", "providers", "status")]
            async with await ControlClient.connect(daemon.socket_path) as client:
                texts.append(str(await client.call(protocol.ConfigShow())))
                texts.append(str(await client.call(protocol.Providers())))
                texts.append(str(await client.call(
                    protocol.ConfigGet(key="providers.corp.headers"))))
    assert "127.0.0.1:9" in texts[1]
    for text in texts:
        assert not any(s in text for s in SECRETS), text
