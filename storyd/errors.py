"""The one exception tree of storyd.

    StorydError
    ├── ConfigError            bad configuration file, key or value
    │   └── ConfigMissing      no file at the config path (defaults at start; a reload refuses)
    ├── RefusedError           a command that does not fit the current state (operator-facing)
    │   ├── NotFoundError      an id, file or key that does not exist
    │   └── StoryFileError     an authored story (Twee) storyd cannot play, with file:line reasons
    ├── StorageError           SQLite trouble
    │   └── StoreUnavailable   the disk refuses writes (full, read-only, I/O errors)
    ├── ProviderError          a text/image/speech provider failed (foreign errors translated here)
    │   └── ProviderOutputError  the provider answered, but the answer is unusable
    ├── ChatSourceError        a chat source failed to connect or read
    └── ControlError           control-socket protocol trouble (bad request, daemon not running)

Foreign exceptions (httpx, sqlite3, TikTokLive, OSError) are translated into these at the
adapter boundary, so callers catch one family. Messages say what to do, not only what broke.
"""

from __future__ import annotations


class StorydError(Exception):
    """Base class of every error storyd raises on purpose."""

    code: str = "error"


class ConfigError(StorydError):
    """The configuration file or a config value is invalid."""

    code = "bad_config"


class ConfigMissing(ConfigError):
    """There is no file at the config path. At start that means the defaults; a reload
    keeps the running config instead (only an explicit empty file means "defaults")."""

    code = "bad_config"


class RefusedError(StorydError):
    """A command that does not fit the current state; nothing was changed."""

    code = "refused"


class NotFoundError(RefusedError):
    """An id, file or key that does not exist."""

    code = "not_found"


class StoryFileError(RefusedError):
    """An authored story (a Twee file) that storyd refuses to play; `problems` lists each
    reason with its line (0 when it concerns the whole file)."""

    code = "bad_story"

    def __init__(self, source: str, problems: list[tuple[int, str]]) -> None:
        self.source = source
        self.problems = problems
        shown = [f"{source}:{line}: {why}" if line else f"{source}: {why}"
                 for line, why in problems[:MAX_PROBLEMS_SHOWN]]
        if len(problems) > MAX_PROBLEMS_SHOWN:
            shown.append(f"… and {len(problems) - MAX_PROBLEMS_SHOWN} more")
        super().__init__("\n".join(shown))


MAX_PROBLEMS_SHOWN = 12


class StorageError(StorydError):
    """The SQLite store failed."""

    code = "storage"


class StoreUnavailable(StorageError):
    """The disk refuses writes (full, read-only, failing); writes are kept and retried."""

    code = "storage_unavailable"


class ProviderError(StorydError):
    """A provider failed. `retryable` tells the chain whether another attempt may help."""

    code = "provider"

    def __init__(self, message: str, *, provider: str = "", status: int | None = None,
                 retryable: bool = False, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.provider = provider
        self.status = status
        self.retryable = retryable
        self.retry_after = retry_after


class ProviderOutputError(ProviderError):
    """The provider answered, but the answer could not be used (bad JSON, wrong choices...)."""

    code = "provider_output"


class ChatSourceError(StorydError):
    """A chat source could not connect or read."""

    code = "chat_source"


class ControlError(StorydError):
    """Control-socket protocol trouble."""

    code = "control"


def describe(exc: BaseException) -> str:
    """The message of an error for an operator: a trio nursery's group of one is unwrapped to
    the error inside it ("Exceptions from Trio nursery (1 sub-exception)" says nothing)."""
    while isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
        exc = exc.exceptions[0]
    return str(exc) or type(exc).__name__
