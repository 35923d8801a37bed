"""`storyd --install-user-unit`: the systemd user unit for the storyd that is running.

The template is storyd/data/storyd.service (package data; contrib/systemd/ links to it).
`render` swaps in the absolute command line of this storyd — the console script it was started
as (a venv's `bin/storyd`, pipx's `~/.local/bin/storyd`, `/usr/local/bin/storyd`), or
`<python> -m storyd.cli` when it was not started through one — the EnvironmentFile beside the
config, and Documentation= pages that exist here (`man:` where man finds them, else file://
URLs: systemd-analyze verify fails on a man page it cannot find). `install` writes
$XDG_CONFIG_HOME/systemd/user/storyd.service (creating the folder) and runs
`systemctl --user daemon-reload` when a user manager is running.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from storyd.system import paths

UNIT_NAME = "storyd.service"


class UnitError(Exception):
    """The unit cannot be written (one line for the operator)."""


def _quote(word: str) -> str:
    """One ExecStart word: `%` escaped for systemd's specifiers, quoted when it has spaces."""
    word = word.replace("%", "%%")
    if re.search(r"[\s\"'\\;$]", word):
        return '"' + word.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return word


def storyd_command(argv0: str | None = None, executable: str | None = None) -> list[str]:
    """The absolute command that starts this storyd again."""
    argv0 = sys.argv[0] if argv0 is None else argv0
    executable = sys.executable if executable is None else executable
    found = shutil.which(argv0) if argv0 and os.sep not in argv0 else argv0
    if found and Path(found).name == "storyd":
        script = Path(found).absolute()
        if script.is_file() and os.access(script, os.X_OK):
            return [str(script)]
    return [str(Path(executable).absolute()), "-m", "storyd.cli"]


def unit_dir() -> Path:
    value = os.environ.get("XDG_CONFIG_HOME", "")
    base = Path(value) if value and os.path.isabs(value) else Path.home() / ".config"
    return base / "systemd" / "user"


PAGES = (("storyd", "8"), ("storyd.toml", "5"), ("storyctl", "1"))


def _man_finds(page: str) -> bool:
    try:
        return subprocess.run(["man", "-w", page], capture_output=True, timeout=10,
                              check=False).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def documentation(prefix: Path | None = None, checkout: Path | None = None) -> str:
    """Documentation= for this install: `man:` where `man` finds the page (systemd-analyze
    verify runs it), else a file:// URL of the page in the venv or checkout, else nothing."""
    prefix = Path(sys.prefix) if prefix is None else prefix
    checkout = Path(__file__).resolve().parent.parent if checkout is None else checkout
    refs = []
    for name, section in PAGES:
        if _man_finds(f"{name}.{section}"):
            refs.append(f"man:{name}({section})")
            continue
        for path in (prefix / "share" / "man" / f"man{section}" / f"{name}.{section}",
                     checkout / "man" / f"{name}.{section}"):
            if path.is_file():
                refs.append(path.absolute().as_uri())
                break
    return " ".join(_quote(r) for r in refs)


def render(template: str, command: Sequence[str], config: Path | None,
           workdir: Path | None = None, docs: str | None = None) -> str:
    """The template with ExecStart= this storyd (and --config when one was given), and
    Documentation= `docs` when given ("" drops the line)."""
    words = list(command) + (["--config", str(config.absolute())] if config else [])
    exec_start = "ExecStart=" + " ".join(_quote(w) for w in words)
    text, n = re.subn(r"(?m)^ExecStart=.*$", lambda _: exec_start, template)
    if n != 1:
        raise UnitError("the unit template has no single ExecStart= line")
    if docs is not None:
        text = re.sub(r"(?m)^Documentation=.*\n", (f"Documentation={docs}\n" if docs else ""),
                      text)
    env_file = (config.absolute().parent if config else paths.config_path().parent) / "environment"
    text = re.sub(r"(?m)^EnvironmentFile=.*$",
                  lambda _: f"EnvironmentFile=-{_quote(str(env_file))}", text)
    if workdir is not None:   # `python -m storyd.cli` from a source checkout finds storyd here
        text = text.replace("\nExecStart=", f"\nWorkingDirectory={_quote(str(workdir))}\n"
                            "ExecStart=", 1)
    return text


def user_manager_running() -> bool:
    runtime = os.environ.get("XDG_RUNTIME_DIR", "")
    return bool(runtime) and (Path(runtime) / "systemd" / "private").exists() \
        and shutil.which("systemctl") is not None


def _daemon_reload() -> str:
    try:
        done = subprocess.run(["systemctl", "--user", "daemon-reload"], capture_output=True,
                              text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"systemctl --user daemon-reload failed: {exc}"
    if done.returncode != 0:
        return f"systemctl --user daemon-reload failed: {done.stderr.strip()}"
    return "ran systemctl --user daemon-reload"


def install(config: Path | None, *, reload: Callable[[], str] | None = None) -> list[str]:
    """Write the unit; the lines to print. UnitError when the folder or file is not writable."""
    command = storyd_command()
    workdir = None
    if command[1:] == ["-m", "storyd.cli"]:
        workdir = Path(__file__).resolve().parent.parent
    template = paths.asset("data", UNIT_NAME).read_text(encoding="utf-8")
    text = render(template, command, config, workdir, documentation())
    folder = unit_dir()
    target = folder / UNIT_NAME
    try:
        folder.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{UNIT_NAME}.tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, target)
    except OSError as exc:
        raise UnitError(f"cannot write {target}: {exc.strerror or exc}") from None
    lines = [f"wrote {target}", f"ExecStart={' '.join(command)}"]
    if user_manager_running():
        lines.append((reload or _daemon_reload)())
    else:
        lines.append("no systemd user manager is running here; run "
                     "`systemctl --user daemon-reload` once you are logged in to it")
    lines.append("start it now and at every login: systemctl --user enable --now storyd")
    return lines
