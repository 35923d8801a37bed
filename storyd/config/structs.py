"""The configuration's schema: one frozen msgspec Struct per TOML section, every key with
its default. Unknown keys are rejected (`forbid_unknown_fields`). storyd.config.loader loads,
validates and edits them, and re-exports every name here.

Depends on nothing in storyd (a test keeps THEME_IDS equal to storyd.core.themes).
"""

from __future__ import annotations

from typing import Literal

import msgspec

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
    public_stories: bool = False          # serve finished stories read-only at /stories/ID


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
    words_per_chapter: int = 80           # ~25-30 s narrated (bench_narration_time.py)
    closing_words: int = 120
    max_chapters: int = 8                 # the planned arc; 0 = only when told (finish)
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
    tie_break: Literal["random", "first", "extend"] = "random"   # core.ports.Policy
    no_votes: Literal["random", "first", "extend"] = "random"
    extend_seconds: int = 20
    gift_votes: bool = False
    diamonds_per_vote: int = 1
    bits_per_vote: int = 100              # Twitch cheers: bits per extra vote (gift_votes on)
    max_gift_weight: int = 10
    stream_delay: float = 0.0             # seconds video lags chat: ballots close this much later
    points_reward: str = ""               # Twitch channel points reward title that votes ("" = off)
    points_weight: int = 5                # weight of one channel points vote


class ProviderConfig(_Section, frozen=True):
    preset: Literal["siliconflow", "siliconflow-cn", "openai", "ollama", "llamacpp", "vllm",
                    "custom"] = "custom"
    base_url: str = ""
    api_key: str = ""
    api_key_env: str = ""
    text_model: str = ""
    image_model: str = ""
    speech_model: str = ""
    json_mode: Literal["auto", "json_schema", "json_object_schema", "json_object",
                       "none"] = "auto"
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
    markers: bool = True                  # a stream marker per chapter (token with the scope)
    helix_url: str = "https://api.twitch.tv/helix"
    auth_url: str = "https://id.twitch.tv/oauth2"
    eventsub_url: str = "wss://eventsub.wss.twitch.tv/ws"   # channel points votes
    keepalive_seconds: int = 30           # EventSub keepalive window asked for (10–600)


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
    layout: Literal["auto", "landscape", "portrait"] = "auto"   # auto: the page's aspect ratio
    style: Literal["panels", "storybook", "lowerthird"] = "panels"
    size: str = "1920x1080"
    font: str = "system-ui, sans-serif"
    font_size: int = 34
    text_color: str = "#ffffff"
    accent: str = "#ffb703"
    panel: str = "rgba(12, 14, 28, 0.9)"
    show_voters: bool = True
    recap_seconds: float = 12.0           # the recap card after a story ends; 0 = off


class AudienceConfig(_Section, frozen=True):
    cameos: bool = False                  # viewers may !join the story as minor characters
    cameo_slots: int = 3                  # joined viewers offered to the plan and each chapter
    join_command: str = "!join"
    leave_command: str = "!leave"
    max_joined: int = 1000                # joined viewers kept per story; more joins are dropped


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
    audience: AudienceConfig = AudienceConfig()
