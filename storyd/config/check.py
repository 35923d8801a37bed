"""Validating a converted Config and explaining what is wrong (storyd.config.loader has the theory).

`explain` turns msgspec's ValidationError into a ConfigError naming the file, the line when
it can be found, the key path, a did-you-mean hint for misspelt keys and the allowed values
of an enum; `check` applies the rules the types cannot express (RANGES, sizes, themes,
provider URLs, chains naming known providers, chat channel names).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from typing import Any

import msgspec

from storyd.config.masking import mask_url
from storyd.config.structs import THEME_IDS, ChatConfig, Config, ProviderConfig
from storyd.errors import ConfigError

# Range rules: (path, low, high). Checked after conversion; data, not nested ifs.
RANGES: tuple[tuple[str, float, float], ...] = (
    ("server.port", 0, 65535),
    ("control.idle_timeout", 1, 86_400),
    ("control.line_timeout", 1, 3600),
    ("story.choices", 3, 6),
    ("story.words_per_chapter", 10, 1000),
    ("story.closing_words", 10, 1500),
    ("story.max_chapters", 0, 1000),
    ("story.reveal_words_per_second", 0, 50),
    ("story.result_seconds", 0, 60),
    ("story.next_story_seconds", 0, 3600),
    ("voting.duration", 15, 300),
    ("voting.min_votes", 1, 1_000_000),
    ("voting.swing", 1, 1_000_000),
    ("voting.extend_seconds", 5, 300),
    ("voting.diamonds_per_vote", 1, 1_000_000),
    ("voting.bits_per_vote", 1, 1_000_000),
    ("chat.tiktok.live_poll_seconds", 5, 3600),
    ("chat.twitch.connect_timeout", 1, 300),
    ("voting.max_gift_weight", 0, 1_000_000),
    ("voting.stream_delay", 0, 60),
    ("demo.viewers", 1, 1_000_000),
    ("demo.votes_per_second", 0, 100_000),
    ("demo.voting_duration", 15, 300),
    ("demo.seed", 0, 2**31 - 1),
    ("overlay.font_size", 8, 200),
    ("overlay.recap_seconds", 0, 600),
    ("llm.context_tokens", 100, 100_000),
    ("llm.chapter_deadline", 2, 600),
    ("voting.points_weight", 1, 1000),
    ("chat.twitch.keepalive_seconds", 10, 600),
    ("audience.cameo_slots", 0, 10),
    ("audience.max_joined", 1, 100_000),
)
_SIZE_RE = re.compile(r"^\d{3,4}x\d{3,4}$")
_TWITCH_LOGIN_RE = re.compile(r"^[a-z0-9_]{1,25}$")


def _field_names(struct_type: type) -> list[str]:
    return list(getattr(struct_type, "__struct_fields__", ()))


def locate(text: str, key: str) -> int | None:
    """1-based line of the first `key =` assignment in the text, if any."""
    pattern = re.compile(rf"^\s*{re.escape(key)}\s*=", re.MULTILINE)
    m = pattern.search(text)
    return text.count("\n", 0, m.start()) + 1 if m else None


_HEADER = re.compile(r"^\s*\[\s*([^\[\]]+?)\s*\]\s*(?:#.*)?$")
_DUPLICATE = re.compile(r'Key "(?P<key>[^"]+)" already exists')
_BARE_BOOL = re.compile(r"^\s*[\w.\"'-]+\s*=\s*(yes|no|on|off|y|n|True|False|TRUE|FALSE|Yes|No)"
                        r"\s*(?:#.*)?$")
_BARE_WORD = re.compile(r"^\s*([\w.\"'-]+)\s*=\s*([A-Za-z_][\w-]*)\s*(?:#.*)?$")


def syntax_hint(text: str, message: str, line: int) -> str:
    """A hint for a TOML syntax error at 1-based `line`: where a duplicated key or table was
    first defined, "use true or false" for yes/no/on/off, quotes for a bare word ("" if
    none fits)."""
    lines = text.splitlines()
    dup = _DUPLICATE.search(message)
    if dup:
        return _first_definition(lines, dup["key"], line)
    here = lines[line - 1] if 0 < line <= len(lines) else ""
    if _BARE_BOOL.match(here):
        return "; use true or false (lower case, no quotes)"
    word = _BARE_WORD.match(here)
    if word and word[2] not in ("true", "false", "inf", "nan"):
        return f'; text needs quotes: {word[1]} = "{word[2]}"'
    return ""


def _first_definition(lines: list[str], key: str, line: int) -> str:
    headers = [(n, [p.strip().strip("\"'") for p in m[1].split(".")])
               for n, text in enumerate(lines, 1) if (m := _HEADER.match(text))]
    tables = [(n, ".".join(path)) for n, path in headers if path[-1] == key]
    if len(tables) >= 2:
        n, name = tables[0]
        return f"; the first [{name}] is at line {n}: merge the two sections (keep one header)"
    start = max((n for n, _ in headers if n <= line), default=0)
    assign = re.compile(rf"^\s*[\"']?{re.escape(key)}[\"']?\s*=")
    for n in range(start + 1, line):
        if assign.match(lines[n - 1]):
            return f"; '{key}' is already set at line {n}: keep one of the two"
    return ""


_TYPE_HINTS = {("int", "str"): "; remove the quotes around the number",
               ("float", "str"): "; remove the quotes around the number",
               ("bool", "str"): "; use true or false without quotes",
               ("bool", "int"): "; use true or false"}


def explain(err: msgspec.ValidationError, source: str, text: str) -> ConfigError:
    msg = str(err)
    m = re.match(r"Object contains unknown field `(?P<key>[^`]+)`(?: - at `\$(?P<at>[^`]*)`)?", msg)
    if m:
        key = m.group("key")
        at = (m.group("at") or "").lstrip(".")
        at = at.replace("[...]", ".NAME").lstrip(".")
        parts = [p for p in at.split(".") if p]
        owner: Any = Config
        for p in parts:
            fields = {f.name: f.type for f in msgspec.structs.fields(owner)} if owner else {}
            nxt = fields.get(p)
            if nxt is None and owner is not None and "providers" in parts:
                nxt = ProviderConfig
            if getattr(nxt, "__origin__", None) is dict:
                nxt = ProviderConfig
            owner = nxt
        known = _field_names(owner) if owner is not None else []
        hint = difflib.get_close_matches(key, known, n=1)
        where = f"[{at}]" if at else "top level"
        line = locate(text, key)
        loc = f"{source}:{line}" if line else source
        tip = f"; did you mean '{hint[0]}'?" if hint else f"; known keys: {', '.join(known)}"
        return ConfigError(f"{loc}: unknown key '{key}' in {where}{tip}")
    m = re.match(r"(?P<what>.*?)(?: - at `\$(?P<at>[^`]*)`)?$", msg)
    at = (m.group("at") if m else "") or ""
    key = at.replace("[...]", ".NAME").lstrip(".")
    leaf = key.rsplit(".", 1)[-1] if key else ""
    line = locate(text, leaf) if leaf else None
    loc = f"{source}:{line}" if line else source
    what = m.group("what") if m else msg
    allowed = _literal_values(key.split(".")) if "enum" in what else ()
    if allowed:
        what += f"; one of {', '.join(map(str, allowed))}"
    types = re.match(r"Expected `(\w+)`, got `(\w+)`", what)
    if types:
        what += _TYPE_HINTS.get((types[1], types[2]), "")
    return ConfigError(f"{loc}: {key or 'config'}: {what}")


def _literal_values(parts: list[str]) -> tuple[Any, ...]:
    """The allowed values of a Literal-typed key (e.g. voting.tie_break), or ()."""
    owner: Any = Config
    ftype: Any = None
    skip = False
    for part in parts:
        if skip:  # the provider's name inside providers.NAME.key
            skip = False
            continue
        if owner is None:
            return ()
        ftype = {f.name: f.type for f in msgspec.structs.fields(owner)}.get(part)
        if getattr(ftype, "__origin__", None) is dict:
            owner, skip = ProviderConfig, True
            continue
        owner = ftype if isinstance(ftype, type) and issubclass(ftype, msgspec.Struct) else None
    args = getattr(ftype, "__args__", ())
    return tuple(a for a in args if isinstance(a, str))


def get_path(cfg: Any, dotted: str) -> Any:
    obj = cfg
    for part in dotted.split("."):
        obj = obj[part] if isinstance(obj, Mapping) else getattr(obj, part)
    return obj


def check(cfg: Config, source: str, text: str) -> None:
    for path, low, high in RANGES:
        value = get_path(cfg, path)
        if not low <= value <= high:
            line = locate(text, path.rsplit(".", 1)[-1])
            loc = f"{source}:{line}" if line else source
            raise ConfigError(f"{loc}: {path} = {value!r} is out of range ({low:g}–{high:g})")
    for size in (cfg.overlay.size,):
        if not _SIZE_RE.match(size):
            raise ConfigError(f"{source}: overlay.size = {size!r} must look like 1920x1080")
    if cfg.story.theme not in THEME_IDS and cfg.story.theme != "random":
        hint = difflib.get_close_matches(cfg.story.theme, list(THEME_IDS), n=1)
        tip = f"; did you mean '{hint[0]}'?" if hint else f"; one of {', '.join(THEME_IDS)}"
        raise ConfigError(f"{source}: story.theme = {cfg.story.theme!r} is not a theme{tip}")
    for name, prov in cfg.providers.items():
        if prov.preset == "custom" and not prov.base_url:
            raise ConfigError(f"{source}: providers.{name}: preset \"custom\" needs a base_url "
                              "(or choose a preset: siliconflow, openai, ollama, llamacpp, vllm)")
        for key in ("timeout", "connect_timeout", "first_byte_timeout", "read_timeout",
                    "stall_timeout", "max_text_mb", "max_image_mb", "max_audio_mb"):
            if not 0 < getattr(prov, key) <= 100_000:
                raise ConfigError(f"{source}: providers.{name}.{key} = {getattr(prov, key)!r} "
                                  "must be a number above 0")
        if prov.base_url and not prov.base_url.startswith(("http://", "https://")):
            url = mask_url(prov.base_url)
            raise ConfigError(f"{source}: providers.{name}.base_url = {url!r} must start "
                              "with http:// or https://")
    builtin = {"offline"}
    for section, chain in (("llm", cfg.llm.chain), ("images", cfg.images.chain),
                           ("tts", cfg.tts.chain)):
        for name in chain:
            if name not in builtin and name not in cfg.providers:
                hint = difflib.get_close_matches(name, [*builtin, *cfg.providers], n=1)
                tip = f"; did you mean '{hint[0]}'?" if hint else (
                    f"; add a [providers.{name}] section")
                raise ConfigError(f"{source}: {section}.chain names unknown provider '{name}'{tip}")
    _check_chat(cfg.chat, source)
    _check_audience(cfg, source)


def _check_chat(chat: ChatConfig, source: str) -> None:
    """The [chat.tiktok] and [chat.twitch] values msgspec's types cannot express."""
    if chat.tiktok.room_id and not (chat.tiktok.room_id.isascii()
                                    and chat.tiktok.room_id.isdigit()):
        raise ConfigError(f"{source}: chat.tiktok.room_id = {chat.tiktok.room_id!r} must be "
                          "digits only (the number in the stream's room URL), or \"\"")
    tw = chat.twitch
    for key, value in (("channel", tw.channel), ("login", tw.login)):
        if value and not _TWITCH_LOGIN_RE.match(value):
            raise ConfigError(f"{source}: chat.twitch.{key} = {value!r} must be a Twitch login "
                              "(lower-case letters, digits, _; no '#')")
    if not tw.url.startswith(("ws://", "wss://")):
        raise ConfigError(f"{source}: chat.twitch.url = {tw.url!r} must start with wss:// "
                          "(or ws:// for a local test server)")
    if tw.oauth_token_env and not tw.login:
        raise ConfigError(f"{source}: chat.twitch.oauth_token_env needs chat.twitch.login "
                          "(the account the token belongs to)")
    for key in ("eventsub_url",):
        if not getattr(tw, key).startswith(("ws://", "wss://")):
            raise ConfigError(f"{source}: chat.twitch.{key} = {getattr(tw, key)!r} must start "
                              "with wss:// (or ws:// for a local test server)")
    for key in ("helix_url", "auth_url"):
        if not getattr(tw, key).startswith(("http://", "https://")):
            raise ConfigError(f"{source}: chat.twitch.{key} = {getattr(tw, key)!r} must start "
                              "with https:// (or http:// for a local test server)")


_COMMAND_RE = re.compile(r"^!\S{2,31}$")


def _check_audience(cfg: Config, source: str) -> None:
    """Cameo commands: "!" and one word, 3–32 characters (never a vote like "!a"), distinct."""
    a = cfg.audience
    for key, value in (("join_command", a.join_command), ("leave_command", a.leave_command)):
        if not _COMMAND_RE.match(value):
            raise ConfigError(f"{source}: audience.{key} = {value!r} must be \"!\" and one word, "
                              '3–32 characters in all, like "!join"')
    if a.join_command.casefold() == a.leave_command.casefold():
        raise ConfigError(f"{source}: audience.join_command and audience.leave_command must "
                          "differ")
    if len(cfg.voting.points_reward) > 45:   # Twitch's own limit on a reward's title
        raise ConfigError(f"{source}: voting.points_reward is {len(cfg.voting.points_reward)} "
                          "characters; a Twitch reward title has at most 45")
    if cfg.voting.points_reward and "twitch" in cfg.chat.sources and not (
            cfg.chat.twitch.oauth_token_env):
        raise ConfigError(f"{source}: voting.points_reward needs chat.twitch.oauth_token_env: "
                          "the broadcaster's token with the channel:read:redemptions scope")
