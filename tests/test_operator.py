"""Operator path: --install-user-unit, --port/--host, the demo apart, the config in effect."""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import socket
import stat
import subprocess
from pathlib import Path

import msgspec
import pytest
import trio

from storyd import cli
from storyd.config import effective
from storyd.config.loader import atomic_write, parse
from storyd.config.structs import Config
from storyd.system import paths, unit
from tests.test_e2e_process import STORYD, Storyd

ROOT = Path(__file__).resolve().parent.parent


def _verify(unit_file: Path, tmp: Path) -> subprocess.CompletedProcess[str]:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is missing (apt-get install systemd)")
    runtime = tmp / "verify-runtime"
    runtime.mkdir(mode=0o700, exist_ok=True)
    env = dict(os.environ, XDG_RUNTIME_DIR=str(runtime))   # the real manpath: pages must exist
    return subprocess.run([analyze, "--user", "verify", str(unit_file)], env=env,
                          capture_output=True, text=True, timeout=60, check=False)


def test_install_user_unit_writes_a_unit_systemd_accepts(tmp_path: Path, capsys,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))   # does not exist yet
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path / "no-manager"))
    assert cli.main(["--install-user-unit"]) == 0
    out = capsys.readouterr().out
    target = tmp_path / "cfg" / "systemd" / "user" / "storyd.service"
    assert out.startswith(f"wrote {target}\n")
    assert "systemctl --user enable --now storyd" in out
    text = target.read_text()
    exec_start = next(line for line in text.splitlines() if line.startswith("ExecStart="))
    program = exec_start.removeprefix("ExecStart=").split()[0]
    assert os.path.isabs(program) and os.access(program, os.X_OK)
    assert "Type=notify" in text and "ExecReload=/bin/kill -HUP $MAINPID" in text
    settings = [line for line in text.splitlines() if not line.startswith("#")]
    assert "Restart=on-failure" in settings
    assert not [line for line in settings if "network-online" in line]
    assert f"EnvironmentFile=-{tmp_path}/cfg/storyd/environment" in text
    done = _verify(target, tmp_path)
    assert done.returncode == 0, done.stderr
    # the check can fail: the old template's ExecStart (a pipx-only path) is refused
    broken = tmp_path / "broken" / "storyd.service"
    broken.parent.mkdir()
    broken.write_text(text.replace(exec_start, f"ExecStart={tmp_path}/nowhere/storyd"))
    assert _verify(broken, tmp_path).returncode != 0


def test_install_user_unit_names_the_config_given(tmp_path: Path, capsys,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "my config"))
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    conf = tmp_path / "show 100%.toml"
    assert cli.main(["--install-user-unit", "--config", str(conf)]) == 0
    text = (tmp_path / "my config" / "systemd" / "user" / "storyd.service").read_text()
    assert f'--config "{tmp_path}/show 100%%.toml"' in text
    assert "no systemd user manager is running here" in capsys.readouterr().out


def test_install_user_unit_without_a_writable_config_dir(tmp_path: Path, capsys,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(blocker))
    assert cli.main(["--install-user-unit"]) == 1
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1
    assert err.startswith(f"storyd: cannot write {blocker}/systemd/user/storyd.service: ")


def test_the_command_is_the_console_script_it_ran_as(tmp_path: Path) -> None:
    script = tmp_path / "venv" / "bin" / "storyd"
    script.parent.mkdir(parents=True)
    script.write_text("#!/bin/sh\n")
    script.chmod(0o755)
    assert unit.storyd_command(str(script), "/usr/bin/python3") == [str(script)]
    assert unit.storyd_command("-c", "/opt/py/bin/python3") == [
        "/opt/py/bin/python3", "-m", "storyd.cli"]
    script.chmod(0o644)   # not executable: fall back to the interpreter
    assert unit.storyd_command(str(script), "/usr/bin/python3")[1:] == ["-m", "storyd.cli"]


def test_run_overrides_and_where_values_come_from(tmp_path: Path) -> None:
    conf = tmp_path / "storyd.toml"
    conf.write_text("[voting]\nduration = 60\n[server]\nport = 8080\n")
    file_cfg = parse(conf.read_text())
    overrides = effective.for_run(file_cfg, demo=True, port=9001, host=None)
    cfg = effective.apply(file_cfg, overrides)
    assert (cfg.server.port, cfg.voting.duration) == (9001, 20)
    assert cfg.storage.data_dir == str(paths.data_dir(file_cfg) / "demo")
    assert "demo" in cfg.chat.sources and "demo" not in file_cfg.chat.sources
    info = msgspec.to_builtins(effective.describe(cfg, conf, overrides))
    assert info["voting.duration"] == {"value": 20, "source": "--demo", "file_value": 60}
    assert info["server.port"] == {"value": 9001, "source": "--port", "file_value": 8080}
    assert info["server.host"] == {"value": "127.0.0.1", "source": "default"}
    assert effective.describe(file_cfg, conf, [])["voting.duration"].source == "file"


def test_bad_port_is_a_usage_error(capsys) -> None:
    for bad in ("http", "70000", "-1"):
        with pytest.raises(SystemExit) as exc:
            cli.main(["--port", bad, "--check-config"])
        assert exc.value.code == 2
        assert "is not a port number" in capsys.readouterr().err


def test_config_file_keeps_its_mode_and_secrets_make_it_private(tmp_path: Path) -> None:
    plain = tmp_path / "a.toml"
    atomic_write(plain, "[voting]\nduration = 30\n")
    assert stat.S_IMODE(plain.stat().st_mode) == 0o644
    plain.chmod(0o640)
    atomic_write(plain, "[voting]\nduration = 31\n")
    assert stat.S_IMODE(plain.stat().st_mode) == 0o640
    atomic_write(plain, '[providers.sf]\npreset = "siliconflow"\napi_key = "sk-1"\n')
    assert stat.S_IMODE(plain.stat().st_mode) == 0o600
    fresh = tmp_path / "b.toml"
    atomic_write(fresh, '[chat.tiktok]\nsign_api_key = "e-1"\n')
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o600
    assert isinstance(parse(fresh.read_text()), Config)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class FlaggedStoryd(Storyd):
    async def start_with(self, *flags: str) -> list[str]:
        original = list(STORYD)
        STORYD[:] = [*original, *flags]
        try:
            return await self.start()
        finally:
            STORYD[:] = original


@pytest.mark.slow
async def test_demo_on_a_port_then_a_plain_storyd_starts_idle(tmp_path: Path) -> None:
    sd = FlaggedStoryd(tmp_path)
    port = _free_port()
    try:
        notes = await sd.start_with("--demo", "--port", str(port))
        assert f"STATUS=serving on http://127.0.0.1:{port}" in notes
        status = await sd.status()
        assert status["session_id"] is not None
        got = json.loads((await sd.ctl("--json", "config", "get", "voting.duration")).stdout)
        assert got == {"key": "voting.duration", "value": 20, "source": "--demo",
                       "file_value": 60}
        port_line = (await sd.ctl("config", "get", "server.port")).stdout.decode()
        assert port_line == f"server.port = {port}   (from --port; the file says 0)\n"
        refused = await sd.ctl("reset-demo", check=False)
        assert refused.returncode == 1 and b"a demo storyd is running" in refused.stderr
        running = await sd.ctl("sessions", "--delete", str(status["session_id"]), check=False)
        assert running.returncode == 1 and b"is running; end it first" in running.stderr
        assert await sd.stop() == 0
        demo_db = tmp_path / "data" / "storyd" / "demo" / "storyd.sqlite3"
        assert demo_db.exists() and not sd.db.exists()

        await sd.start()
        assert (await sd.status())["state"] == "idle"
        assert json.loads((await sd.ctl("--json", "sessions")).stdout) == []
        assert sd.rows("SELECT COUNT(*) FROM story_sessions") == [(0,)]
        assert await sd.stop() == 0
        done = await sd.ctl("reset-demo")
        assert done.stdout.decode().startswith("deleted ") and not demo_db.exists()
        again = await sd.ctl("reset-demo")
        assert again.stdout == b"no demo data to delete\n"
    finally:
        if sd.proc is not None and sd.proc.returncode is None:
            sd.proc.kill()
            await sd.proc.wait()


@pytest.mark.slow
async def test_port_in_use_is_a_one_line_error(tmp_path: Path) -> None:
    sd = Storyd(tmp_path)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with trio.fail_after(30):
            done = await trio.run_process([*STORYD, "--port", str(port)], env=sd.env,
                                          capture_stdout=True, capture_stderr=True, check=False)
    assert done.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}".encode() in done.stderr


def test_every_readme_provider_recipe_is_a_valid_config() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("\n## Plugging in a real model", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```toml\n(.*?)```", section, re.S)
    assert len(blocks) == 5      # Ollama, SiliconFlow, OpenAI, llama.cpp, llama-cpp-python
    for block in blocks:
        cfg = parse(block, "README recipe")
        named = [n for n in cfg.llm.chain if n != "offline"]
        assert named and all(n in cfg.providers for n in named) and cfg.llm.chain[-1] == "offline"
    for recipe in ("### Ollama", "### SiliconFlow", "### OpenAI", "### llama.cpp"):
        assert recipe in section
    assert "Environment=SILICONFLOW_API_KEY" in section and "EnvironmentFile=" in section
    assert "storyctl providers" in section


def test_readme_chat_import_examples_parse(tmp_path: Path) -> None:
    from storyd.chat import replay

    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("\n## Feeding chat from other tools", 1)[1].split("\n## ", 1)[0]
    lines = re.findall(r"```json\n(.*?)```", section, re.S)[0]
    entries, errors = replay.parse_lines(io.BytesIO(lines.encode()))
    assert errors == [] and len(entries) == 4


def test_config_schema_covers_every_key_with_help_and_types() -> None:
    from storyd.config import schema as config_schema
    from storyd.config.loader import defaults, to_builtins

    fields = {f["key"]: f for f in config_schema.schema()["fields"]}
    flat = effective._flat(to_builtins(defaults()))
    plain = {k for k in flat if not k.startswith("providers")}
    assert plain <= set(fields) and all(fields[k]["help"] for k in fields)
    assert fields["voting.tie_break"]["type"] == "enum"
    assert fields["voting.tie_break"]["options"] == ["random", "first", "extend"]
    assert fields["chat.sources"]["type"] == "multi"
    assert fields["safety.blocklist"]["type"] == "list"
    assert fields["providers.*.api_key"]["type"] == "secret"
    assert fields["voting.duration"]["help"].startswith("seconds per vote")


def test_documentation_names_pages_that_exist(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    prefix = tmp_path / "venv"
    page = prefix / "share" / "man" / "man8" / "storyd.8"
    page.parent.mkdir(parents=True)
    page.write_text(".TH STORYD 8\n")
    monkeypatch.setattr(unit, "_man_finds", lambda page: False)   # not on this user's manpath
    assert unit.documentation(prefix, tmp_path / "no-checkout") == page.as_uri()
    monkeypatch.setattr(unit, "_man_finds", lambda page: page == "storyctl.1")
    assert unit.documentation(prefix, ROOT).split() == [
        page.as_uri(), (ROOT / "man" / "storyd.toml.5").as_uri(), "man:storyctl(1)"]
    template = (ROOT / "contrib" / "systemd" / "storyd.service").read_text()
    assert "Documentation=" not in unit.render(template, ["/bin/storyd"], None, docs="")


def test_install_reloads_a_running_user_manager(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    (tmp_path / "run" / "systemd").mkdir(parents=True)
    (tmp_path / "run" / "systemd" / "private").touch()   # where a user manager listens
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path / "run"))
    calls: list[str] = []

    def reload() -> str:
        calls.append("daemon-reload")
        return "ran systemctl --user daemon-reload"

    if shutil.which("systemctl") is None:
        pytest.skip("systemctl is missing")
    lines = unit.install(None, reload=reload)
    assert calls == ["daemon-reload"] and lines[2] == "ran systemctl --user daemon-reload"
    assert lines[-1] == "start it now and at every login: systemctl --user enable --now storyd"
