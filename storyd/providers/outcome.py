"""What the provider chain records: one attempt, the outcome of a chain call (with the calls
and tokens it spent), and the running health of one provider (storyd.providers.chain)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Generic, TypeVar

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
    usage: Usage = field(default_factory=Usage)
