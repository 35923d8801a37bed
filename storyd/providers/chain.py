"""The provider fallback chain: text, images and speech each try providers in order.

Theory of operation: a call walks the chain. Each provider does its own HTTP retries; when
it still fails, the chain moves to the next one. An unusable answer (ProviderOutputError), a
safety-blocklist hit or a coherence issue regenerates once on the same provider, then falls
down the chain. A provider with `failure_threshold` consecutive failures is skipped for
`cooldown` seconds (trio clock); after the cool-down one more failure sends it back. The last
provider (the offline one by default, appended by `build_chains`) is always tried, even when
cooling down; its coherence issues are accepted after one regeneration, but a blocklist hit
never airs — then the call raises ProviderError and the director shows its error card.

Every attempt is recorded in the returned `ChainOutcome`; operator-facing messages go to
`on_error` (the director publishes them as `story:error`); `status()` feeds the snapshot.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, TypeVar

import msgspec
import trio

from storyd import metrics
from storyd.config import Config
from storyd.core import prompts
from storyd.core.model import (
    ChapterDraft,
    ChapterRequest,
    ImageRequest,
    ImageResult,
    SpeechRequest,
    SpeechResult,
    Theme,
)
from storyd.core.safety import Blocklist
from storyd.errors import ConfigError, ProviderError, ProviderOutputError
from storyd.providers.openai_compat import OpenAICompatProvider

log = logging.getLogger(__name__)
T = TypeVar("T")
Kind = Literal["text", "images", "speech"]
Check = Callable[[Any, T], Awaitable[tuple[list[str], list[str]]]]   # → (hard, soft) issues


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


@dataclass
class _Health:
    ok: bool | None = None
    failures: int = 0
    last_error: str = ""
    cooldown_until: float | None = None
    last_latency: float | None = None


def _masked(words: list[str]) -> str:
    return ", ".join(w[0] + "*" * (len(w) - 1) for w in words)


class ProviderChain:
    def __init__(self, kind: Kind, providers: Sequence[Any], *,
                 blocklist: Blocklist | None = None,
                 on_error: Callable[[str], None] | None = None, coherence_check: bool = False,
                 failure_threshold: int = 3, cooldown: float = 60.0) -> None:
        if not providers:
            raise ConfigError(f"{kind} chain is empty")
        self.kind = kind
        self.providers = list(providers)
        self.blocklist = blocklist or Blocklist()
        self.on_error = on_error or (lambda message: None)
        self.coherence_check = coherence_check
        self.failure_threshold, self.cooldown = failure_threshold, cooldown
        self._health = {p.name: _Health() for p in self.providers}
        self.last_prompt: list[dict[str, str]] = []
        self.last_prompt_provider = ""

    def status(self) -> dict[str, dict[str, Any]]:
        """Per provider: ok (None = unused), last_error, failures, cooldown_until (trio
        clock, None when not cooling down), last_latency (seconds)."""
        now = trio.current_time()
        return {name: {"ok": h.ok, "last_error": h.last_error, "failures": h.failures,
                       "cooldown_until": h.cooldown_until if (h.cooldown_until or 0) > now
                       else None, "last_latency": h.last_latency}
                for name, h in self._health.items()}

    def _report(self, message: str) -> None:
        log.warning("%s", message)
        try:
            self.on_error(message)
        except Exception:   # a broken callback must not break generation
            log.exception("on_error callback failed")

    def _failed(self, name: str, error: str) -> None:
        h = self._health[name]
        h.ok, h.last_error, h.failures = False, error, h.failures + 1
        if h.failures >= self.failure_threshold:
            h.cooldown_until = trio.current_time() + self.cooldown
            self._report(f"{self.kind} provider '{name}' failed {h.failures} times in a row; "
                         f"skipping it for {self.cooldown:g} s")

    async def _run(self, what: str, call: Callable[[Any], Awaitable[T]],
                   check: Check[T] | None = None) -> ChainOutcome[T]:
        now = trio.current_time()
        order = [p for p in self.providers
                 if (self._health[p.name].cooldown_until or 0) <= now]
        if self.providers[-1] not in order:
            order.append(self.providers[-1])      # the last resort is always tried
        attempts: list[Attempt] = []
        for index, provider in enumerate(order):
            final = index == len(order) - 1
            following = "giving up" if final else f"trying '{order[index + 1].name}'"
            for round_ in (1, 2):
                started = trio.current_time()
                hard: list[str] = []
                soft: list[str] = []
                try:
                    value = await call(provider)
                    if check is not None:
                        hard, soft = await check(provider, value)
                except ProviderError as exc:
                    error = str(exc)
                    again = isinstance(exc, ProviderOutputError) and round_ == 1
                except Exception as exc:   # a provider bug must not stop the story
                    log.exception("%s provider %r crashed", self.kind, provider.name)
                    error, again = f"provider '{provider.name}' crashed: {exc!r}", False
                else:
                    latency = trio.current_time() - started
                    accept = not hard and (not soft or (final and round_ == 2))
                    if accept:
                        h = self._health[provider.name]
                        h.ok, h.failures, h.last_latency = True, 0, latency
                        metrics.observe_provider_latency(provider.name, self.kind, latency)
                        h.cooldown_until = None
                        if soft:
                            self._report(f"{what} from '{provider.name}' kept despite: "
                                         f"{'; '.join(soft)}")
                        attempts.append(Attempt(provider.name, True, "", latency))
                        return ChainOutcome(value, provider.name, attempts)
                    reasons = ([f"blocked words ({_masked(hard)})"] if hard else []) + soft
                    error = f"rejected {what} from '{provider.name}': {'; '.join(reasons)}"
                    attempts.append(Attempt(provider.name, False, error, latency))
                    self._report(f"{error} — " + ("regenerating" if round_ == 1 else following))
                    if round_ == 1:
                        continue
                    break
                latency = trio.current_time() - started
                attempts.append(Attempt(provider.name, False, error, latency))
                self._failed(provider.name, error)
                metrics.count_provider_error(provider.name, self.kind)
                self._report(f"{self.kind}: {error} — "
                             + ("regenerating" if again else following))
                if not again:
                    break
        raise ProviderError(f"every {self.kind} provider failed for this {what}; "
                            f"last: {attempts[-1].error if attempts else 'none tried'}",
                            provider=order[-1].name, retryable=True)

    # ------------------------------------------------------------ the calls
    async def write_chapter(self, request: ChapterRequest) -> ChainOutcome[ChapterDraft]:
        attempt_no = 0

        async def call(provider: Any) -> ChapterDraft:
            nonlocal attempt_no
            attempt_no += 1
            try:
                draft: ChapterDraft = await provider.write_chapter(request)
            finally:
                if getattr(provider, "last_prompt", None):
                    self.last_prompt = list(provider.last_prompt)
                    self.last_prompt_provider = provider.name
            return msgspec.structs.replace(draft, provider=provider.name, attempt=attempt_no)

        async def check(provider: Any, draft: ChapterDraft) -> tuple[list[str], list[str]]:
            texts = [draft.title, draft.text, draft.summary, *draft.choices,
                     *(ln.text for ln in draft.lines), draft.memory.event,
                     *(e.name for e in (*draft.memory.characters, *draft.memory.locations,
                                        *draft.memory.items))]
            soft = prompts.coherence_issues(draft, request)
            if not soft and self.coherence_check and hasattr(provider, "review_chapter"):
                try:
                    soft = await provider.review_chapter(draft, request)
                except ProviderError as exc:
                    log.warning("coherence review skipped: %s", exc)
            return self.blocklist.check(texts), soft

        return await self._run("chapter", call, check)

    async def write_outline(self, theme: Theme, language: str, seed: int) -> ChainOutcome[str]:
        async def check(provider: Any, outline: str) -> tuple[list[str], list[str]]:
            return self.blocklist.check([outline]), []

        return await self._run("outline",
                               lambda p: p.write_outline(theme, language, seed), check)

    async def illustrate(self, request: ImageRequest) -> ChainOutcome[ImageResult]:
        return await self._run("picture", lambda p: p.illustrate(request))

    async def speak(self, request: SpeechRequest) -> ChainOutcome[SpeechResult | None]:
        return await self._run("narration", lambda p: p.speak(request))


@dataclass
class Chains:
    text: ProviderChain
    images: ProviderChain
    speech: ProviderChain
    clients: dict[str, OpenAICompatProvider] = field(default_factory=dict)

    def status(self) -> dict[str, dict[str, Any]]:
        return {"text": self.text.status(), "images": self.images.status(),
                "speech": self.speech.status()}

    async def aclose(self) -> None:
        for client in self.clients.values():
            await client.aclose()


def _offline(kind: Kind) -> Any:
    from storyd.providers import offline  # lazy: written alongside, heavy-ish vocab

    cls = {"text": offline.OfflineStoryteller, "images": offline.OfflineIllustrator,
           "speech": offline.OfflineNarrator}[kind]
    return cls()


def build_chains(cfg: Config, *, on_error: Callable[[str], None] | None = None,
                 offline_factory: Callable[[Kind], Any] = _offline,
                 **provider_options: Any) -> Chains:
    """Chains for text, images and speech from the config; each ends in the offline provider.

    One OpenAICompatProvider (one HTTP client) per `[providers.NAME]`, shared by the chains.
    `provider_options` go to every OpenAICompatProvider (tests pass a short backoff_base).
    """
    clients: dict[str, OpenAICompatProvider] = {}
    blocklist = Blocklist(cfg.safety.blocklist, cfg.safety.use_builtin)

    def provider(name: str, kind: Kind) -> Any:
        if name == "offline":
            return offline_factory(kind)
        if name not in cfg.providers:
            raise ConfigError(f"{kind} chain names unknown provider '{name}'; add a "
                              f"[providers.{name}] section")
        if name not in clients:
            clients[name] = OpenAICompatProvider(name, cfg.providers[name],
                                                 temperature=cfg.llm.temperature,
                                                 **provider_options)
        return clients[name]

    def chain(kind: Kind, names: Sequence[str], coherence: bool = False) -> ProviderChain:
        names = list(names)
        if not names or names[-1] != "offline":
            names.append("offline")
        return ProviderChain(kind, [provider(n, kind) for n in names], blocklist=blocklist,
                             on_error=on_error, coherence_check=coherence)

    return Chains(text=chain("text", cfg.llm.chain, cfg.llm.coherence_check),
                  images=chain("images", cfg.images.chain), speech=chain("speech", cfg.tts.chain),
                  clients=clients)
