"""The man pages and the README's storyctl table against the code they describe.

Each test reads the code's own source of truth (the argparse parsers, the config schema,
the OpenAPI route table, the event names in storyd/) and checks the documentation for it,
so a new command, option, key or route without its documentation fails here. The roff is
read with a tiny reader (`_entries`) that knows only the macros our pages use.
"""

from __future__ import annotations

import argparse
import io
import re
import shlex
import shutil
import subprocess
from pathlib import Path
from typing import Any

import msgspec
import pytest
import tomlkit

from storyd import cli
from storyd.config.check import RANGES
from storyd.config.masking import SECRET_KEYS
from storyd.config.structs import Config, ProviderConfig
from storyd.core import events
from storyd.ctl import main as ctl
from storyd.web.openapi import API, ROUTES

ROOT = Path(__file__).resolve().parent.parent
MAN = ROOT / "man"
PAGES = ("storyd.8", "storyctl.1", "storyd.toml.5")
# the contract lives beside the checkout (a worktree under wt/ finds it one level up)
DESIGN = next((d / "shared" / "DESIGN.md" for d in (ROOT.parent, ROOT.parent.parent)
               if (d / "shared" / "DESIGN.md").exists()), ROOT.parent / "shared" / "DESIGN.md")

# DESIGN.md "Websockets": server → client, then client → server (admin socket).
# The events the one schema defines (server → client), then the admin socket's commands.
DESIGN_EVENTS = (tuple(n for n in events.NAMES if n.startswith("story:"))
                 + events.ADMIN_COMMAND_NAMES)

_ESCAPES = {r"\-": "-", r"\(dq": '"', r"\(aq": "'", r"\(ga": "`", r"\(en": "–", r"\(em": "—",
            r"\(lq": "“", r"\(rq": "”", r"\(->": "→", r"\&": "", r"\e": "\\", r"\ ": " "}
_FONT = re.compile(r"\\f(\(..|\[[^]]*]|.)")
_JOINED = {".BR", ".RB", ".BI", ".IB", ".IR", ".RI"}   # alternating fonts, no spaces


def _plain(text: str) -> str:
    text = _FONT.sub("", text)
    for esc, char in _ESCAPES.items():
        text = text.replace(esc, char)
    return text


def _args(rest: str) -> list[str]:
    """Macro arguments: split on blanks outside double quotes; backslashes kept as they are."""
    lex = shlex.shlex(rest, posix=True)
    lex.whitespace_split, lex.escape, lex.commenters = True, "", ""
    return list(lex)


def _line_text(line: str) -> str | None:
    """The plain text of one source line, or None for a structural macro."""
    if not line.startswith("."):
        return _plain(line)
    macro, _, rest = line.partition(" ")
    if macro in _JOINED:
        return _plain("".join(_args(rest)))
    if macro in (".B", ".I", ".SH", ".SS"):
        return _plain(" ".join(_args(rest)))
    return None


def _entries(page: str) -> list[tuple[str, str, str]]:
    """(section path, tag, body) for every .TP entry; section path is 'SH' or 'SH/SS'."""
    sh = ss = ""
    out: list[tuple[str, str, str]] = []
    lines = (MAN / page).read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith((".SH ", ".SS ")):
            title = _plain(" ".join(_args(line[4:])))
            sh, ss = (title, "") if line.startswith(".SH") else (sh, title)
        elif line == ".TP" and i + 1 < len(lines):
            tag = _line_text(lines[i + 1]) or ""
            body: list[str] = []
            i += 2
            while i < len(lines) and not lines[i].startswith((".TP", ".SH", ".SS", ".PP")):
                text = _line_text(lines[i])
                if text:
                    body.append(text)
                i += 1
            out.append((f"{sh}/{ss}" if ss else sh, tag, " ".join(body)))
            continue
        i += 1
    return out


def _page_text(page: str) -> str:
    lines = (MAN / page).read_text(encoding="utf-8").splitlines()
    return " ".join(t for t in map(_line_text, lines) if t)


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    action = parser._subparsers._group_actions[0]  # type: ignore[union-attr]
    assert isinstance(action, argparse._SubParsersAction)
    return dict(action.choices)


def _ctl_parser() -> argparse.ArgumentParser:
    return ctl.build_parser(io.StringIO(), io.StringIO())


def _option_strings(parser: argparse.ArgumentParser) -> set[str]:
    return {s for a in parser._actions for s in a.option_strings if s not in ("-h", "--help")}


# ------------------------------------------------------------------ storyctl


def _ctl_commands() -> list[tuple[str, argparse.ArgumentParser]]:
    """Every storyctl command as typed ('config show' for nested ones) with its parser."""
    out = []
    for name, sub in _subcommands(_ctl_parser()).items():
        if sub._subparsers is not None:
            out += [(f"{name} {n}", p) for n, p in _subcommands(sub).items()]
        else:
            out.append((name, sub))
    return out


def test_the_storyctl_parser_is_read() -> None:
    names = [name for name, _ in _ctl_commands()]
    assert {"status", "start", "config show", "config set", "export", "admin-url"} <= set(names)


@pytest.mark.parametrize("command", [name for name, _ in _ctl_commands()])
def test_every_storyctl_command_and_option_is_in_the_man_page(command: str) -> None:
    parser = dict(_ctl_commands())[command]
    entries = [(tag, body) for sec, tag, body in _entries("storyctl.1")
               if sec.startswith("COMMANDS/")]
    mine = [(tag, body) for tag, body in entries
            if tag == command or tag.startswith(command + " ")]
    assert mine, f"storyctl {command} has no entry under COMMANDS in man/storyctl.1"
    text = " ".join(f"{tag} {body}" for tag, body in mine)
    missing = [o for o in sorted(_option_strings(parser))
               if not re.search(rf"(?<![\w-]){re.escape(o)}(?![\w-])", text)]
    assert not missing, f"storyctl {command}: options {missing} not in man/storyctl.1"


def test_every_storyctl_global_option_is_in_the_man_page() -> None:
    tags = " ".join(tag for sec, tag, _ in _entries("storyctl.1") if sec == "OPTIONS")
    for option in _option_strings(_ctl_parser()) | {"--help"}:
        assert option in tags.split(", ") + tags.split(), f"{option} not under OPTIONS"


def _readme_commands() -> set[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("\n## storyctl", 1)[1].split("\n## ", 1)[0]
    names: set[str] = set()
    for row in section.splitlines():
        if row.startswith("| `"):
            for code in re.findall(r"`([^`]+)`", row.split(" | ")[0]):
                words = code.split()
                names.add(" ".join(words[:2]) if words[0] in ("config", "cameo") else words[0])
    return names


def test_every_storyctl_command_is_in_the_readme_table() -> None:
    documented = _readme_commands()
    assert "status" in documented  # the table was found at all
    missing = [name for name, _ in _ctl_commands() if name not in documented]
    assert not missing, f"README.md's storyctl table lacks {missing}"


def test_storyctl_exit_codes_match_the_man_page() -> None:
    codes = {tag for sec, tag, _ in _entries("storyctl.1") if sec == "EXIT STATUS"}
    wanted = {ctl.EXIT_OK, ctl.EXIT_REFUSED, ctl.EXIT_USAGE, ctl.EXIT_NOT_RUNNING,
              ctl.EXIT_INTERRUPTED}
    assert codes == {str(c) for c in wanted}


# ------------------------------------------------------------------ storyd


def test_every_storyd_option_is_in_the_man_page() -> None:
    parser = cli.build_parser()
    tags = [tag for sec, tag, _ in _entries("storyd.8") if sec == "OPTIONS"]
    documented = {word.strip(",") for tag in tags for word in tag.split()}
    options = {s for a in parser._actions for s in a.option_strings}
    assert options - documented == set(), "storyd options missing under OPTIONS in storyd.8"
    assert documented & {o for o in documented if o.startswith("-")} <= options, (
        "storyd.8 documents options the parser does not have")
    synopsis = _page_text("storyd.8").split("DESCRIPTION")[0]
    for action in parser._actions:
        if action.option_strings and action.dest not in ("help", "verbose", "quiet"):
            assert action.option_strings[-1] in synopsis


def _route_name(path: str) -> str:
    """'/api/interactive-story/session/{id}' -> 'session/'; '/healthz' -> '/healthz'."""
    name = path.removeprefix(API + "/") if path.startswith(API) else path
    return name.split("{", 1)[0]


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: f"{r.method} {r.path}")
def test_every_http_route_is_in_the_storyd_man_page(route: Any) -> None:
    text = _page_text("storyd.8").split("HTTP INTERFACE", 1)[1].split("WEBSOCKETS", 1)[0]
    name = _route_name(route.path)
    assert re.search(rf"{route.method} {re.escape(name)}", text), (
        f"{route.method} {route.path} is not described under HTTP INTERFACE in storyd.8")


def _design_events() -> tuple[str, ...]:
    if not DESIGN.exists():
        return DESIGN_EVENTS
    text = DESIGN.read_text(encoding="utf-8")
    section = text.split("### Websockets", 1)[1].split("\n###", 1)[0]
    return tuple(dict.fromkeys(re.findall(r"`(story:[a-z-]+)`", section)))


def test_the_design_event_list_is_the_one_this_test_knows() -> None:
    if not DESIGN.exists():
        pytest.skip(f"{DESIGN} is not beside this checkout")
    assert _design_events() == DESIGN_EVENTS


def _source_events() -> set[str]:
    found: set[str] = set()
    for path in (ROOT / "storyd").rglob("*.py"):
        found |= set(re.findall(r"[\"'](story:[a-z-]+)[\"']", path.read_text(encoding="utf-8")))
    return found


def test_every_design_event_is_in_the_code_and_the_man_page() -> None:
    in_code = _source_events()
    in_man = set(re.findall(r"story:[a-z-]+", _page_text("storyd.8")))
    for event in _design_events():
        assert event in in_code, f"DESIGN's {event} is never used in storyd/"
        assert event in in_man, f"{event} is not described in storyd.8"
    assert in_code <= in_man, f"events sent by the code but not in storyd.8: {in_code - in_man}"


# ------------------------------------------------------------------ storyd.toml


def _default(field: msgspec.structs.FieldInfo) -> Any:
    return field.default_factory() if field.default is msgspec.NODEFAULT else field.default


def _toml(value: Any) -> str:
    value = msgspec.to_builtins(value)
    return "{}" if value == {} else tomlkit.item(value).as_string()


def _sections() -> dict[str, type[msgspec.Struct]]:
    """'[server]' -> ServerConfig ... '[chat.tiktok]', '[providers.NAME]' -> their Structs."""
    out: dict[str, type[msgspec.Struct]] = {}

    def walk(struct: type[msgspec.Struct], prefix: str) -> None:
        for f in msgspec.structs.fields(struct):
            if isinstance(f.type, type) and issubclass(f.type, msgspec.Struct):
                out[f"[{prefix}{f.name}]"] = f.type
                walk(f.type, f"{prefix}{f.name}.")
            elif getattr(f.type, "__origin__", None) is dict and f.name == "providers":
                out[f"[{prefix}{f.name}.NAME]"] = ProviderConfig

    walk(Config, "")
    return out


def _documented_keys() -> dict[str, dict[str, tuple[str, str]]]:
    """section -> key -> (documented default, body text), from storyd.toml.5."""
    out: dict[str, dict[str, tuple[str, str]]] = {}
    for sec, tag, body in _entries("storyd.toml.5"):
        if sec.startswith("SECTIONS AND KEYS/"):
            key, _, default = tag.partition(" = ")
            out.setdefault(sec.split("/", 1)[1], {})[key] = (default, body)
    return out


def test_every_config_section_and_key_is_in_the_man_page() -> None:
    sections, documented = _sections(), _documented_keys()
    assert len(sections) == 16 and "[providers.NAME]" in sections and "[chat.tiktok]" in sections
    assert "[chat.twitch]" in sections
    assert set(documented) <= set(sections), "storyd.toml.5 documents unknown sections"
    for name, struct in sections.items():
        keys = {f.name for f in msgspec.structs.fields(struct)
                if not (isinstance(f.type, type) and issubclass(f.type, msgspec.Struct))}
        assert set(documented.get(name, {})) == keys, f"{name}: keys differ from config.py"


def test_the_documented_defaults_are_the_real_ones() -> None:
    documented = _documented_keys()
    for name, struct in _sections().items():
        for f in msgspec.structs.fields(struct):
            if f.name in documented.get(name, {}):
                assert documented[name][f.name][0] == _toml(_default(f)), f"{name} {f.name}"


def test_the_documented_ranges_and_allowed_values_are_the_real_ones() -> None:
    documented = _documented_keys()
    for path, low, high in RANGES:
        section, key = path.rsplit(".", 1)
        body = documented[f"[{section}]"][key][1]
        assert f"{low:.0f}–{high:.0f}" in body, f"{path}: range {low:g}–{high:g} not documented"
    for name, struct in _sections().items():
        for f in msgspec.structs.fields(struct):
            inner = getattr(f.type, "__args__", ())
            values = [a for t in (f.type, *inner) for a in getattr(t, "__args__", ())
                      if isinstance(a, str)] if "Literal" in repr(f.type) else []
            for value in values:
                body = documented[name][f.name][1]
                assert f'"{value}"' in body, f"{name} {f.name}: value {value!r} not documented"


def test_the_secret_key_names_are_documented() -> None:
    text = _page_text("storyd.toml.5").split("SECTIONS AND KEYS", 1)[0]
    for key in SECRET_KEYS:
        assert key in text


def test_every_provider_preset_is_documented() -> None:
    from storyd.providers.presets import PRESETS

    tags = {tag for sec, tag, _ in _entries("storyd.toml.5") if sec == "PRESETS"}
    assert tags == set(PRESETS)
    text = _page_text("storyd.toml.5")
    for preset in PRESETS.values():
        assert preset.base_url in text and preset.text_model in text, preset.name


# ------------------------------------------------------------------ the pages as roff


@pytest.mark.parametrize("page", PAGES)
def test_the_title_line_names_the_page(page: str) -> None:
    name, section = page.rsplit(".", 1)
    first = (MAN / page).read_text(encoding="utf-8").splitlines()[0]
    assert _args(first[4:])[:2] == [name.upper(), section]


def test_the_systemd_unit_points_at_existing_pages() -> None:
    unit = (ROOT / "contrib" / "systemd" / "storyd.service").read_text(encoding="utf-8")
    refs = re.findall(r"man:([\w.]+)\((\d)\)", unit)
    assert refs and all((MAN / f"{n}.{s}").is_file() for n, s in refs)


@pytest.mark.parametrize("page", PAGES)
def test_the_page_parses_without_warnings(page: str) -> None:
    groff = shutil.which("groff")
    if groff is None:
        pytest.skip("groff is not installed (apt-get install groff-base)")
    done = subprocess.run([groff, "-man", "-ww", "-z", str(MAN / page)], capture_output=True,
                          text=True, timeout=30, check=False)
    assert done.returncode == 0 and done.stderr == "", done.stderr


def test_the_roff_reader_finds_entries() -> None:
    # guards the helpers above: if they found nothing, the checks would pass vacuously
    assert len(_entries("storyd.toml.5")) > 80
    assert _plain(r"\fBa\-b\fR \(dqc\(dq") == 'a-b "c"'
    assert _line_text('.BR "x y" z') == "x yz"
