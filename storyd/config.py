"""Configuration: one frozen schema, loaded from one TOML file.

Theory of operation: the file is parsed with tomlkit (so edits keep comments), unwrapped to
plain Python, and converted with msgspec into frozen Structs that reject unknown keys. A
reload builds a whole new `Config` and the daemon swaps it in one assignment; nobody ever
sees half a config. Errors name the file, the key path, the line when it can be found, and
a did-you-mean hint for misspelt keys.

Secrets (`api_key`, `sign_api_key`, tokens, provider `headers`, URL passwords) are masked by
`masked()` (storyd.masking, re-exported here); `*_env` keys name an environment variable
instead of holding the secret itself.

Reading is bounded and never raises anything but ConfigError (`read_text`): a file over
MAX_CONFIG_BYTES, not UTF-8, binary (NUL bytes) or nested too deeply for the parser is
refused with the file name and the reason; a UTF-8 BOM is accepted.
"""

from __future__ import annotations

import difflib
import os
import re
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import msgspec
import tomlkit
import tomlkit.exceptions

from storyd.errors import ConfigError
from storyd.masking import MASK as MASK
from storyd.masking import SECRET_KEYS as SECRET_KEYS
from storyd.masking import SECRET_TABLES as SECRET_TABLES
from storyd.masking import mask_url as mask_url
from storyd.masking import masked as masked
from storyd.masking import resolve_secret as resolve_secret
from storyd.masking import scrub as scrub
from storyd.masking import secret_values as secret_values

# The theme ids of storyd.core.themes (config depends on nothing in core; a test keeps the two
# lists equal).
THEME_IDS: tuple[str, ...] = ("fantasy", "cyberpunk", "horror", "scifi", "mystery", "adventure",
                              "furry_fantasy", "furry_scifi", "romance", "superhero",
                              "postapocalyptic", "comedy")


class _Section(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    pass


class ServerConfig(_Section, frozen=True):
    host: str = "127.0.0.1"
    port: int = 8080
    allowed_hosts: tuple[str, ...] = ()   # extra Host header values besides localhost names
    public_url: str = ""                  # URL shown by admin-url when behind a proxy


class ControlConfig(_Section, frozen=True):
    socket: str = ""                      # "" = $STORYD_SOCKET or the XDG runtime dir
    idle_timeout: float = 600.0           # close a connection silent this long (s)
    line_timeout: float = 10.0            # close a connection whose line stays unfinished (s)


class StorageConfig(_Section, frozen=True):
    data_dir: str = ""                    # "" = $XDG_DATA_HOME/storyd
    cache_dir: str = ""                   # "" = $XDG_CACHE_HOME/storyd
    cache_max_mb: int = 512


class StoryConfig(_Section, frozen=True):
    theme: str = "fantasy"
    language: str = "English"
    choices: int = 3
    words_per_chapter: int = 40
    closing_words: int = 70
    max_chapters: int = 0                 # 0 = no limit
    reveal: Literal["sentences", "full"] = "sentences"
    reveal_words_per_second: float = 2.5  # 0 shows the chapter at once
    result_seconds: float = 5.0           # how long the winner is shown before the next chapter
    autostart: bool = False               # start a story when the daemon starts
    next_story_seconds: float = 15.0      # --demo: pause between stories


class VotingConfig(_Section, frozen=True):
    duration: int = 60
    allow_change: bool = True
    early_close: bool = False
    min_votes: int = 10
    swing: int = 5
    tie_break: Literal["random", "first", "extend"] = "random"
    no_votes: Literal["random", "first", "extend"] = "random"
    extend_seconds: int = 20
    gift_votes: bool = False
    diamonds_per_vote: int = 1
    bits_per_vote: int = 100              # Twitch cheers: bits per extra vote (gift_votes on)
    max_gift_weight: int = 10


class ProviderConfig(_Section, frozen=True):
    preset: Literal["siliconflow", "siliconflow-cn", "openai", "ollama", "llamacpp", "vllm",
                    "custom"] = "custom"
    base_url: str = ""
    api_key: str = ""
    api_key_env: str = ""
    text_model: str = ""
    image_model: str = ""
    speech_model: str = ""
    json_mode: Literal["auto", "json_schema", "json_object", "none"] = "auto"
    timeout: float = 60.0                 # total deadline of one HTTP request, seconds
    connect_timeout: float = 10.0
    first_byte_timeout: float = 30.0      # until the first byte of the answer's body
    read_timeout: float = 15.0            # between two pieces of a whole (non-streamed) body
    stall_timeout: float = 8.0            # between two pieces of a streamed answer
    max_text_mb: float = 2.0              # caps on what one answer may hold
    max_image_mb: float = 25.0
    max_audio_mb: float = 20.0
    max_retries: int = 2
    headers: dict[str, str] = {}
    voices: dict[str, str] = {}           # role -> provider voice


class LLMConfig(_Section, frozen=True):
    chain: tuple[str, ...] = ("offline",)
    temperature: float = 0.9
    coherence_check: bool = False
    context_tokens: int = 300             # budget of the memory block in every prompt
    prefetch: Literal["all", "leaders", "off"] = "all"   # branches written during the vote
    chapter_deadline: float = 20.0        # seconds one chapter may take before offline writes it


class ImagesConfig(_Section, frozen=True):
    enabled: bool = True
    chain: tuple[str, ...] = ("offline",)


class TTSConfig(_Section, frozen=True):
    enabled: bool = True
    chain: tuple[str, ...] = ("offline",)
    read_choices: bool = True


class TikTokConfig(_Section, frozen=True):
    unique_id: str = ""
    room_id: str = ""                     # digits: connect to this room, no page scrape
    sign_api_key: str = ""
    sign_api_key_env: str = ""
    sign_api_url: str = ""
    proxy: str = ""
    connect_timeout: float = 30.0
    stall_seconds: float = 120.0
    backoff_initial: float = 2.0
    backoff_max: float = 300.0
    live_poll_seconds: float = 60.0       # stream ended / account offline: check this often


class TwitchConfig(_Section, frozen=True):
    channel: str = ""                     # the channel's login, without '#'
    url: str = "wss://irc-ws.chat.twitch.tv:443"
    login: str = ""                       # account for announcements (with oauth_token_env)
    oauth_token_env: str = ""             # env var holding that account's chat token
    announce: bool = True                 # post "Vote now" / "B wins" lines when logged in
    connect_timeout: float = 15.0
    stall_seconds: float = 420.0          # Twitch PINGs about every 5 minutes
    backoff_initial: float = 1.0
    backoff_max: float = 120.0


class ChatConfig(_Section, frozen=True):
    sources: tuple[Literal["local", "demo", "tiktok", "twitch"], ...] = ("local",)
    tiktok: TikTokConfig = TikTokConfig()
    twitch: TwitchConfig = TwitchConfig()


class DemoConfig(_Section, frozen=True):
    viewers: int = 40
    votes_per_second: float = 3.0
    noise: float = 0.2                    # share of messages that are not votes
    change: float = 0.1                   # share of votes that change an earlier ballot
    voting_duration: int = 20             # --demo uses shorter rounds
    seed: int = 0                         # > 0: every demo story is this story (rehearsal)


class OverlayConfig(_Section, frozen=True):
    layout: Literal["landscape", "portrait"] = "landscape"
    style: Literal["panels", "storybook", "lowerthird"] = "panels"
    size: str = "1920x1080"
    font: str = "system-ui, sans-serif"
    font_size: int = 34
    text_color: str = "#ffffff"
    accent: str = "#ffb703"
    panel: str = "rgba(12, 14, 28, 0.9)"
    show_voters: bool = True


class SafetyConfig(_Section, frozen=True):
    blocklist: tuple[str, ...] = ()       # added to the built-in list
    use_builtin: bool = True


class Config(_Section, frozen=True):
    server: ServerConfig = ServerConfig()
    control: ControlConfig = ControlConfig()
    storage: StorageConfig = StorageConfig()
    story: StoryConfig = StoryConfig()
    voting: VotingConfig = VotingConfig()
    llm: LLMConfig = LLMConfig()
    images: ImagesConfig = ImagesConfig()
    tts: TTSConfig = TTSConfig()
    providers: dict[str, ProviderConfig] = {}
    chat: ChatConfig = ChatConfig()
    demo: DemoConfig = DemoConfig()
    overlay: OverlayConfig = OverlayConfig()
    safety: SafetyConfig = SafetyConfig()


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
    ("voting.duration", 15, 300),
    ("voting.min_votes", 1, 1_000_000),
    ("voting.swing", 1, 1_000_000),
    ("voting.extend_seconds", 5, 300),
    ("voting.diamonds_per_vote", 1, 1_000_000),
    ("voting.bits_per_vote", 1, 1_000_000),
    ("chat.tiktok.live_poll_seconds", 5, 3600),
    ("chat.twitch.connect_timeout", 1, 300),
    ("voting.max_gift_weight", 0, 1_000_000),
    ("demo.viewers", 1, 1_000_000),
    ("demo.votes_per_second", 0, 100_000),
    ("demo.voting_duration", 15, 300),
    ("demo.seed", 0, 2**31 - 1),
    ("overlay.font_size", 8, 200),
    ("llm.context_tokens", 100, 100_000),
    ("llm.chapter_deadline", 2, 600),
)
_SIZE_RE = re.compile(r"^\d{3,4}x\d{3,4}$")
_TWITCH_LOGIN_RE = re.compile(r"^[a-z0-9_]{1,25}$")


def defaults() -> Config:
    return Config()


def _field_names(struct_type: type) -> list[str]:
    return list(getattr(struct_type, "__struct_fields__", ()))


def _locate(text: str, key: str) -> int | None:
    """1-based line of the first `key =` assignment in the text, if any."""
    pattern = re.compile(rf"^\s*{re.escape(key)}\s*=", re.MULTILINE)
    m = pattern.search(text)
    return text.count("\n", 0, m.start()) + 1 if m else None


def _explain(err: msgspec.ValidationError, source: str, text: str) -> ConfigError:
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
        line = _locate(text, key)
        loc = f"{source}:{line}" if line else source
        tip = f"; did you mean '{hint[0]}'?" if hint else f"; known keys: {', '.join(known)}"
        return ConfigError(f"{loc}: unknown key '{key}' in {where}{tip}")
    m = re.match(r"(?P<what>.*?)(?: - at `\$(?P<at>[^`]*)`)?$", msg)
    at = (m.group("at") if m else "") or ""
    key = at.replace("[...]", ".NAME").lstrip(".")
    leaf = key.rsplit(".", 1)[-1] if key else ""
    line = _locate(text, leaf) if leaf else None
    loc = f"{source}:{line}" if line else source
    what = m.group("what") if m else msg
    allowed = _literal_values(key.split(".")) if "enum" in what else ()
    if allowed:
        what += f"; one of {', '.join(map(str, allowed))}"
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


def _get_path(cfg: Any, dotted: str) -> Any:
    obj = cfg
    for part in dotted.split("."):
        obj = obj[part] if isinstance(obj, Mapping) else getattr(obj, part)
    return obj


def _check(cfg: Config, source: str, text: str) -> None:
    for path, low, high in RANGES:
        value = _get_path(cfg, path)
        if not low <= value <= high:
            line = _locate(text, path.rsplit(".", 1)[-1])
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


MAX_CONFIG_BYTES = 1024 * 1024   # a real storyd.toml is a few KiB; more is the wrong file


def _toml(text: str, source: str) -> tomlkit.TOMLDocument:
    """tomlkit's document of `text` (a leading BOM ignored). Any parser failure — syntax,
    nesting too deep, a parser bug on garbage — is a ConfigError naming the file."""
    try:
        return tomlkit.parse(text.removeprefix("\ufeff"))
    except tomlkit.exceptions.ParseError as exc:
        raise ConfigError(f"{source}:{exc.line}: TOML syntax error: {exc}") from None
    except RecursionError:
        raise ConfigError(f"{source}: not a usable TOML file: nested too deeply") from None
    except Exception as exc:  # noqa: BLE001 — tomlkit on binary garbage: still a bad file
        raise ConfigError(f"{source}: not a usable TOML file "
                          f"({type(exc).__name__}: {str(exc)[:120]})") from None


def parse(text: str, source: str = "<config>") -> Config:
    """Parse and validate TOML text. Raises ConfigError naming source, line and key."""
    text = text.removeprefix("\ufeff")
    if "\x00" in text:
        raise ConfigError(f"{source}: contains NUL bytes: a binary file, not TOML text")
    doc = _toml(text, source)
    try:
        cfg = msgspec.convert(doc.unwrap(), Config, strict=True)
    except msgspec.ValidationError as exc:
        raise _explain(exc, source, text) from None
    except RecursionError:
        raise ConfigError(f"{source}: not a usable TOML file: nested too deeply") from None
    _check(cfg, source, text)
    return cfg


def read_text(path: Path) -> str:
    """The text of a config file, or ConfigError naming the file and what is wrong with it:
    unreadable, larger than MAX_CONFIG_BYTES (read bounded: /dev/zero is refused too), not
    UTF-8 (with the line and column of the first bad byte). A UTF-8 BOM is accepted."""
    try:
        with path.open("rb") as f:
            data = f.read(MAX_CONFIG_BYTES + 1)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None
    if len(data) > MAX_CONFIG_BYTES:
        raise ConfigError(f"{path}: larger than {MAX_CONFIG_BYTES // 1024} KiB: not a storyd "
                          "config file (wrong --config path?)")
    data = data.removeprefix(b"\xef\xbb\xbf")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise ConfigError(f"{path}:{line}: not UTF-8 text (byte 0x{data[exc.start]:02x} at "
                          f"column {column}): save the file as UTF-8") from None


def load(path: Path | None) -> Config:
    """Load the config file; a missing file means the defaults. Any fault of the file is a
    ConfigError naming it and saying why."""
    if path is None or not path.exists():
        return defaults()
    return parse(read_text(path), str(path))


def to_builtins(cfg: msgspec.Struct) -> dict[str, Any]:
    return msgspec.to_builtins(cfg)  # type: ignore[no-any-return]


def dump_toml(cfg: Config, *, mask: bool = True) -> str:
    data = to_builtins(cfg)
    return tomlkit.dumps(masked(data) if mask else data)


def get_value(cfg: Config, key: str) -> Any:
    """The value at a dotted key ("voting.duration"), masked if secret. Raises ConfigError."""
    try:
        value = _get_path(to_builtins(cfg), key)
    except (KeyError, TypeError):
        raise ConfigError(f"unknown config key '{key}'{_key_hint(key)}") from None
    leaf = key.rsplit(".", 1)[-1]
    if leaf in SECRET_KEYS and value:
        return MASK
    return masked(value, _table=leaf)


def _all_keys(data: Any, prefix: str = "") -> list[str]:
    out = []
    if isinstance(data, dict):
        for k, v in data.items():
            p = f"{prefix}.{k}" if prefix else k
            out.append(p)
            out.extend(_all_keys(v, p))
    return out


def _key_hint(key: str) -> str:
    hint = difflib.get_close_matches(key, _all_keys(to_builtins(defaults())), n=1)
    return f"; did you mean '{hint[0]}'?" if hint else ""


def _coerce(raw: str, current: Any, key: str) -> Any:
    """Turn the operator's VALUE string into the type the key holds now."""
    if isinstance(current, bool):
        low = raw.strip().lower()
        if low in ("true", "yes", "on", "1"):
            return True
        if low in ("false", "no", "off", "0"):
            return False
        raise ConfigError(f"{key}: expected true or false, got {raw!r}")
    if isinstance(current, int):
        try:
            return int(raw)
        except ValueError:
            raise ConfigError(f"{key}: expected a whole number, got {raw!r}") from None
    if isinstance(current, float):
        try:
            return float(raw)
        except ValueError:
            raise ConfigError(f"{key}: expected a number, got {raw!r}") from None
    if isinstance(current, dict):
        try:
            table = tomlkit.parse(f"v = {raw}")["v"]
        except tomlkit.exceptions.ParseError:
            raise ConfigError(f"{key}: expected an inline table like {{ name = \"value\" }}, "
                              f"got {raw!r}") from None
        value = table.unwrap() if hasattr(table, "unwrap") else table
        if not isinstance(value, dict):
            raise ConfigError(f"{key}: expected an inline table, got {raw!r}")
        return value
    if isinstance(current, (list, tuple)):
        try:
            value = tomlkit.parse(f"v = {raw}")["v"].unwrap()
        except tomlkit.exceptions.ParseError:
            value = [p.strip() for p in raw.split(",") if p.strip()]
        if not isinstance(value, list):
            value = [value]
        return value
    return raw


def _unmask(value: Any, current: Any, leaf: str) -> Any:
    """A value echoed back masked (a form showing `masked()` data) keeps the secret."""
    if leaf in SECRET_KEYS and value == MASK:
        return current
    if leaf in SECRET_TABLES and isinstance(value, dict) and isinstance(current, dict):
        return {k: (current.get(k, v) if v == MASK else v) for k, v in value.items()}
    if isinstance(value, str) and isinstance(current, str) and f"://{MASK}@" in value and (
            mask_url(current) == value):
        return current
    return value


def set_value(path: Path, key: str, raw: str) -> Config:
    """Set KEY to VALUE in the file at `path`, keeping its comments (see set_values)."""
    return set_values(path, {key: raw})


def set_values(path: Path, changes: Mapping[str, str]) -> Config:
    """Set several keys at once in the file at `path`, keeping its comments.

    The changes are validated as a whole (see apply_changes) before anything is written;
    the file is replaced atomically (temp file in the same folder, fsync, rename). Returns
    the new Config. Raises ConfigError, and leaves the file untouched, on any problem.
    """
    text = read_text(path) if path.exists() else ""
    new_text, cfg = apply_changes(text, changes, str(path))
    atomic_write(path, new_text)
    return cfg


def apply_changes(text: str, changes: Mapping[str, str], source: str = "<config>"
                  ) -> tuple[str, Config]:
    """The config file text with several keys set, and the Config it gives (pure).

    Values are the operator's strings, coerced to each key's type. All changes are applied
    to the parsed document (comments kept) and the result is validated as a whole, so a
    provider's preset and base_url can change together. Raises ConfigError naming the key.
    """
    current_data = to_builtins(parse(text, source))
    doc = _toml(text, source)
    for key, raw in changes.items():
        parts = key.split(".")
        if not all(parts):
            raise ConfigError(f"bad config key '{key}'")
        try:
            current = _get_path(current_data, key)
        except (KeyError, TypeError):
            if len(parts) == 3 and parts[0] == "providers":
                try:
                    current = _get_path(to_builtins(ProviderConfig()), parts[2])
                except (KeyError, TypeError):
                    raise ConfigError(f"unknown config key '{key}'{_key_hint(key)}") from None
            else:
                raise ConfigError(f"unknown config key '{key}'{_key_hint(key)}") from None
        if isinstance(current, dict) and not (parts[0] == "providers" and len(parts) == 3
                                              and parts[2] in ("headers", "voices")):
            raise ConfigError(f"{key} is a section; set one of its keys")
        value = _unmask(_coerce(raw, current, key), current, parts[-1])
        table: Any = doc
        for part in parts[:-1]:
            if part not in table:
                table[part] = tomlkit.table()
            table = table[part]
        table[parts[-1]] = value
    new_text = tomlkit.dumps(doc)
    return new_text, parse(new_text, source)


_SECRET_LINE = re.compile(rf"(?m)^\s*(?:{'|'.join(SECRET_KEYS)})\s*=\s*[\"'][^\"']")


def atomic_write(path: Path, text: str, mode: int | None = None) -> None:
    """Replace the file in one step. It keeps its mode; a new file is 0600 when it holds a
    secret (an inline api_key/sign_api_key), else 0644. An existing file that gains a secret
    loses group/other access."""
    if mode is None:
        try:
            mode = os.stat(path).st_mode & 0o7777
        except FileNotFoundError:
            mode = 0o644
        if _SECRET_LINE.search(text):
            mode &= 0o700
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
