"""Configuration: one frozen schema, loaded from one TOML file.

Theory of operation: the file is parsed with tomlkit (so edits keep comments), unwrapped to
plain Python, and converted with msgspec into frozen Structs that reject unknown keys. A
reload builds a whole new `Config` and the daemon swaps it in one assignment; nobody ever
sees half a config. Errors name the file, the key path, the line when it can be found, and
a did-you-mean hint for misspelt keys.

Secrets (`api_key`, `sign_api_key`, tokens) are masked by `masked()`; `*_env` keys name an
environment variable instead of holding the secret itself.
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

# The theme ids of storyd.core.themes (config depends on nothing in core; a test keeps the two
# lists equal).
THEME_IDS: tuple[str, ...] = ("fantasy", "cyberpunk", "horror", "scifi", "mystery", "adventure",
                              "furry_fantasy", "furry_scifi", "romance", "superhero",
                              "postapocalyptic", "comedy")
SECRET_KEYS = frozenset({"api_key", "sign_api_key", "admin_token", "password", "session_id"})
MASK = "********"


class _Section(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    pass


class ServerConfig(_Section, frozen=True):
    host: str = "127.0.0.1"
    port: int = 8080
    allowed_hosts: tuple[str, ...] = ()   # extra Host header values besides localhost names
    public_url: str = ""                  # URL shown by admin-url when behind a proxy


class ControlConfig(_Section, frozen=True):
    socket: str = ""                      # "" = $STORYD_SOCKET or the XDG runtime dir


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
    timeout: float = 60.0
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
    sign_api_key: str = ""
    sign_api_key_env: str = ""
    sign_api_url: str = ""
    proxy: str = ""
    connect_timeout: float = 30.0
    stall_seconds: float = 120.0
    backoff_initial: float = 2.0
    backoff_max: float = 300.0


class ChatConfig(_Section, frozen=True):
    sources: tuple[Literal["local", "demo", "tiktok"], ...] = ("local",)
    tiktok: TikTokConfig = TikTokConfig()


class DemoConfig(_Section, frozen=True):
    viewers: int = 40
    votes_per_second: float = 3.0
    noise: float = 0.2                    # share of messages that are not votes
    change: float = 0.1                   # share of votes that change an earlier ballot
    voting_duration: int = 20             # --demo uses shorter rounds


class OverlayConfig(_Section, frozen=True):
    layout: Literal["landscape", "portrait"] = "landscape"
    size: str = "1920x1080"
    font: str = "system-ui, sans-serif"
    font_size: int = 34
    text_color: str = "#ffffff"
    accent: str = "#ffb703"
    panel: str = "rgba(10, 12, 24, 0.78)"
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
    ("voting.max_gift_weight", 0, 1_000_000),
    ("demo.viewers", 1, 1_000_000),
    ("demo.votes_per_second", 0, 100_000),
    ("demo.voting_duration", 15, 300),
    ("overlay.font_size", 8, 200),
    ("llm.context_tokens", 100, 100_000),
    ("llm.chapter_deadline", 2, 600),
)
_SIZE_RE = re.compile(r"^\d{3,4}x\d{3,4}$")


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
        if prov.base_url and not prov.base_url.startswith(("http://", "https://")):
            raise ConfigError(f"{source}: providers.{name}.base_url = {prov.base_url!r} must "
                              "start with http:// or https://")
    builtin = {"offline"}
    for section, chain in (("llm", cfg.llm.chain), ("images", cfg.images.chain),
                           ("tts", cfg.tts.chain)):
        for name in chain:
            if name not in builtin and name not in cfg.providers:
                hint = difflib.get_close_matches(name, [*builtin, *cfg.providers], n=1)
                tip = f"; did you mean '{hint[0]}'?" if hint else (
                    f"; add a [providers.{name}] section")
                raise ConfigError(f"{source}: {section}.chain names unknown provider '{name}'{tip}")


def parse(text: str, source: str = "<config>") -> Config:
    """Parse and validate TOML text. Raises ConfigError naming source, line and key."""
    try:
        doc = tomlkit.parse(text)
    except tomlkit.exceptions.ParseError as exc:
        raise ConfigError(f"{source}:{exc.line}: TOML syntax error: {exc}") from None
    try:
        cfg = msgspec.convert(doc.unwrap(), Config, strict=True)
    except msgspec.ValidationError as exc:
        raise _explain(exc, source, text) from None
    _check(cfg, source, text)
    return cfg


def load(path: Path | None) -> Config:
    """Load the config file; a missing file means the defaults."""
    if path is None or not path.exists():
        return defaults()
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    return parse(text, str(path))


def resolve_secret(inline: str, env_name: str) -> str:
    """The secret from the inline value or the named environment variable ("" when neither)."""
    if inline:
        return inline
    return os.environ.get(env_name, "") if env_name else ""


def to_builtins(cfg: msgspec.Struct) -> dict[str, Any]:
    return msgspec.to_builtins(cfg)  # type: ignore[no-any-return]


def masked(data: Any) -> Any:
    """A deep copy of plain config data with every secret replaced by a mask."""
    if isinstance(data, dict):
        return {k: (MASK if k in SECRET_KEYS and v else masked(v)) for k, v in data.items()}
    if isinstance(data, list):
        return [masked(v) for v in data]
    return data


def dump_toml(cfg: Config, *, mask: bool = True) -> str:
    data = to_builtins(cfg)
    return tomlkit.dumps(masked(data) if mask else data)


def get_value(cfg: Config, key: str) -> Any:
    """The value at a dotted key ("voting.duration"), masked if secret. Raises ConfigError."""
    try:
        value = _get_path(to_builtins(cfg), key)
    except (KeyError, TypeError):
        raise ConfigError(f"unknown config key '{key}'{_key_hint(key)}") from None
    if key.rsplit(".", 1)[-1] in SECRET_KEYS and value:
        return MASK
    return masked(value)


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


def set_value(path: Path, key: str, raw: str) -> Config:
    """Set KEY to VALUE in the file at `path`, keeping its comments (see set_values)."""
    return set_values(path, {key: raw})


def set_values(path: Path, changes: Mapping[str, str]) -> Config:
    """Set several keys at once in the file at `path`, keeping its comments.

    The changes are validated as a whole (see apply_changes) before anything is written;
    the file is replaced atomically (temp file in the same folder, fsync, rename). Returns
    the new Config. Raises ConfigError, and leaves the file untouched, on any problem.
    """
    text = path.read_text(encoding="utf-8") if path.exists() else ""
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
    try:
        doc = tomlkit.parse(text)
    except tomlkit.exceptions.ParseError as exc:
        raise ConfigError(f"{source}:{exc.line}: TOML syntax error: {exc}") from None
    current_data = to_builtins(parse(text, source))
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
        value = _coerce(raw, current, key)
        table: Any = doc
        for part in parts[:-1]:
            if part not in table:
                table[part] = tomlkit.table()
            table = table[part]
        table[parts[-1]] = value
    new_text = tomlkit.dumps(doc)
    return new_text, parse(new_text, source)


def atomic_write(path: Path, text: str, mode: int = 0o644) -> None:
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
