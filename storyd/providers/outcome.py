"""What the provider chain records: one attempt, the outcome of a chain call (with the calls
and tokens it spent), and the running health of one provider (storyd.providers.chain)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Generic, TypeVar

from storyd.core.snapshot import ProviderHealth
from storyd.providers.http_io import Usage

T = TypeVar("T")


@dataclass(frozen=True)
class Attempt:
    provider: str
    ok: bool
    error: str = ""
    latency: float = 0.0


@dataclass(frozen=True)
class ChainOutcome(Generic[T]):
    draft: T                 # the chapter, outline, image or speech result
    provider: str
    attempts: list[Attempt] = field(default_factory=list)
    calls: int = 0           # provider requests spent, retries and repairs included
    prompt_tokens: int = 0
    completion_tokens: int = 0
    tokens_estimated: bool = False   # some answers had no `usage`: ~4 characters per token


@dataclass
class Health:
    ok: bool | None = None
    failures: int = 0
    last_error: str = ""
    cooldown_until: float | None = None
    cooldown_reason: str = ""
    last_latency: float | None = None
    used_because: str = ""
    stepped_in: int = 0      # the last resort: calls it answered because others failed
    usage: Usage = field(default_factory=Usage)

    def view(self, now: float, wall_ms: float) -> ProviderHealth:
        """This provider's status (see ProviderChain.status); `now` on the trio clock."""
        cooling = self.cooldown_until is not None and self.cooldown_until > now
        return ProviderHealth(
            ok=self.ok, last_error=self.last_error, failures=self.failures,
            cooling_down=cooling,
            cooldown_until_ms=(int(wall_ms + (self.cooldown_until - now) * 1000)
                               if cooling and self.cooldown_until is not None else None),
            cooldown_reason=self.cooldown_reason if cooling else "",
            last_latency_ms=(None if self.last_latency is None
                             else int(self.last_latency * 1000)),
            used_because=self.used_because, stepped_in=self.stepped_in,
            calls=self.usage.calls, prompt_tokens=self.usage.prompt_tokens,
            completion_tokens=self.usage.completion_tokens,
            tokens_estimated=self.usage.estimated)
