"""The provider fallback chain: text, images and speech each try providers in order.

Theory of operation: a call walks the chain. Each provider does its own HTTP retries; when
it still fails, the chain moves to the next one. One storyteller per story: a provider's
chapter airs as it wrote it (never cut or padded; its choices repaired, see
core/chapter_repair.py) and is regenerated at most once, only when the answer is unusable
(ProviderOutputError), not a chapter or without two real choices (ChapterDefect), or hits the
safety blocklist; what was repaired is reported. Rule checks (`prompts.coherence_issues`) and
the model review run only with `[llm] coherence_check = true`, and are advice. A provider with
`failure_threshold` consecutive failures is skipped for `cooldown` seconds. The last provider
(the offline one, appended by `build_chains`) is always tried and writes only when no provider
before it gave anything usable; the reason goes to `on_error` and into its status
(`used_because`, with its call count). A blocklist hit never airs.

Every attempt is recorded in the returned `ChainOutcome`, with the calls and tokens spent
(`http_io.METER`: summed over every attempt, retries and repairs included); operator-facing
messages go to `on_error` (the director publishes them as `story:error`); `status()` feeds
the snapshot, with per-provider totals of calls and tokens.
"""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

import msgspec
import trio

from storyd.config.structs import Config
from storyd.core import chapter_repair as repair
from storyd.core import prompts
from storyd.core.model import (
    ChapterDraft,
    ChapterRequest,
    ImageRequest,
    ImageResult,
    SpeechRequest,
    SpeechResult,
)
from storyd.core.plan import StoryPlan
from storyd.core.plan_prompts import PlanRequest
from storyd.core.recap import RecapRequest, StoryRecap
from storyd.core.replies import ProviderCheck
from storyd.core.safety import Blocklist
from storyd.core.snapshot import ProviderHealth, ProvidersView
from storyd.errors import ConfigError, ProviderError, ProviderOutputError
from storyd.providers.base import ChapterDefect
from storyd.providers.chain_texts import StreamGate, airable, chapter_texts, masked, plan_texts
from storyd.providers.http_io import METER, Meter
from storyd.providers.openai_compat import OpenAICompatProvider
from storyd.providers.outcome import Attempt, ChainOutcome, Health
from storyd.system import metrics

log = logging.getLogger(__name__)
T = TypeVar("T")
Kind = Literal["text", "images", "speech"]
Check = Callable[[Any, T], Awaitable[tuple[list[str], list[str]]]]   # → (hard, soft) issues
Salvage = Callable[[Any, Any], Awaitable[T]]     # (provider, defective value) → airable value


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
        self._health = {p.name: Health() for p in self.providers}
        self.last_prompt: list[dict[str, str]] = []
        self.last_prompt_provider = ""

    def status(self) -> dict[str, ProviderHealth]:
        """Per provider: ok (None = unused), last_error, failures, cooling_down,
        cooldown_until_ms (epoch ms, None when not cooling down), cooldown_reason,
        last_latency_ms, used_because (the last resort: why it wrote) and stepped_in (how
        often it wrote), and the calls / prompt_tokens / completion_tokens /
        tokens_estimated spent so far."""
        now, wall_ms = trio.current_time(), time.time() * 1000
        return {name: h.view(now, wall_ms) for name, h in self._health.items()}

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
            h.cooldown_reason = f"failed {h.failures} times in a row; last: {error}"
            self._report(f"{self.kind} provider '{name}' failed {h.failures} times in a row; "
                         f"skipping it for {self.cooldown:g} s")

    def _succeeded(self, name: str, latency: float) -> None:
        h = self._health[name]
        h.ok, h.failures, h.last_latency = True, 0, latency
        h.cooldown_until, h.cooldown_reason = None, ""

    async def _run(self, what: str, call: Callable[[Any], Awaitable[T]],
                   check: Check[T] | None = None,
                   salvage: Salvage[T] | None = None) -> ChainOutcome[T]:
        meter = Meter()
        token = METER.set(meter)
        try:
            value, provider, attempts = await self._walk(what, call, check, salvage)
        finally:
            METER.reset(token)
            for name, usage in meter.by_provider.items():
                if name in self._health:
                    self._health[name].usage.add(usage)
        total = meter.total()
        return ChainOutcome(value, provider, attempts, calls=total.calls,
                            prompt_tokens=total.prompt_tokens,
                            completion_tokens=total.completion_tokens,
                            tokens_estimated=total.estimated)

    async def _walk(self, what: str, call: Callable[[Any], Awaitable[T]],
                    check: Check[T] | None, salvage: Salvage[T] | None
                    ) -> tuple[T, str, list[Attempt]]:
        now = trio.current_time()
        order = [p for p in self.providers
                 if (self._health[p.name].cooldown_until or 0) <= now]
        if self.providers[-1] not in order:
            order.append(self.providers[-1])      # the last resort is always tried
        attempts: list[Attempt] = []
        why_not = [f"'{p.name}' is cooling down ({self._health[p.name].cooldown_reason})"
                   for p in self.providers if p not in order]
        for index, provider in enumerate(order):
            final = index == len(order) - 1
            following = "giving up" if final else f"trying '{order[index + 1].name}'"
            # the best answer so far from this provider: (rank, value, issues); rank 0 is a
            # value with soft issues only, rank 1 a defective one that needs salvage
            best: tuple[int, Any, list[str]] | None = None
            for round_ in (1, 2):
                started = trio.current_time()
                hard: list[str] = []
                soft: list[str] = []
                defective: Any = None
                try:
                    value = await call(provider)
                    if check is not None:
                        hard, soft = await check(provider, value)
                except ChapterDefect as exc:
                    # only a real chapter with two or more choices may air as the best
                    # answer; a one-word text or a chapter without real choices never does
                    error, again = str(exc), True
                    defective = exc.draft if airable(exc.draft) else None
                    hard = self.blocklist.check(chapter_texts(exc.draft))
                    if hard:
                        error = (f"rejected {what} from '{provider.name}': blocked words "
                                 f"({masked(hard)}); {error}")
                except ProviderError as exc:
                    error = str(exc)
                    again = isinstance(exc, ProviderOutputError) and round_ == 1
                except Exception as exc:   # a provider bug must not stop the story
                    log.exception("%s provider %r crashed", self.kind, provider.name)
                    error, again = f"provider '{provider.name}' crashed: {exc!r}", False
                else:
                    latency = trio.current_time() - started
                    if not hard and (not soft or round_ == 2):
                        if soft and best is not None and best[0] == 0 and len(best[2]) < len(soft):
                            value, soft = best[1], best[2]
                        self._succeeded(provider.name, latency)
                        metrics.observe_provider_latency(provider.name, self.kind, latency)
                        if soft:
                            self._report(f"{what} from '{provider.name}' kept despite: "
                                         f"{'; '.join(soft)}")
                        attempts.append(Attempt(provider.name, True, "", latency))
                        return self._aired(provider, value, attempts, final, why_not)
                    if not hard:
                        best = (0, value, soft)
                    reasons = ([f"blocked words ({masked(hard)})"] if hard else []) + soft
                    error = f"rejected {what} from '{provider.name}': {'; '.join(reasons)}"
                    attempts.append(Attempt(provider.name, False, error, latency))
                    if round_ == 1:
                        self._report(f"{error} — regenerating")
                        continue
                    if best is not None:
                        return await self._keep_best(what, provider, best, salvage, attempts,
                                                     final, why_not, error)
                    self._report(f"{error} — {following}")
                    why_not.append(error)
                    break
                latency = trio.current_time() - started
                attempts.append(Attempt(provider.name, False, error, latency))
                if defective is not None and not hard and (best is None or best[0] > 0):
                    best = (1, defective, [error])
                if round_ == 2 and best is not None:
                    return await self._keep_best(what, provider, best, salvage, attempts,
                                                 final, why_not, error)
                if defective is None:
                    self._failed(provider.name, error)
                    metrics.count_provider_error(provider.name, self.kind)
                self._report(f"{self.kind}: {error} — "
                             + ("regenerating" if again and round_ == 1 else following))
                if not (again and round_ == 1):
                    why_not.append(error)
                    break
        raise ProviderError(f"every {self.kind} provider failed for this {what}; "
                            f"last: {attempts[-1].error if attempts else 'none tried'}",
                            provider=order[-1].name, retryable=True)

    async def _keep_best(self, what: str, provider: Any, best: tuple[int, Any, list[str]],
                         salvage: Salvage[T] | None, attempts: list[Attempt], final: bool,
                         why_not: list[str], error: str) -> tuple[T, str, list[Attempt]]:
        """Air the provider's best answer after its one regeneration."""
        rank, value, issues = best
        if rank == 1 and salvage is not None:
            value = await salvage(provider, value)
        last = attempts[-1]
        self._succeeded(provider.name, last.latency)
        note = f"kept as the best answer despite: {'; '.join(issues)}"
        self._report(f"{what} from '{provider.name}' {note}")
        attempts[-1] = Attempt(provider.name, True, note, last.latency)
        return self._aired(provider, value, attempts, final, why_not)

    def _aired(self, provider: Any, value: T, attempts: list[Attempt], final: bool,
               why_not: list[str]) -> tuple[T, str, list[Attempt]]:
        if final and why_not:
            because = "; ".join(why_not)[-600:]
            self._health[provider.name].used_because = because
            self._health[provider.name].stepped_in += 1
            if any(not a.ok for a in attempts):   # cooling down alone: status says it
                self._report(f"{self.kind}: '{provider.name}' stepped in because: {because}")
        elif final:
            self._health[provider.name].used_because = ""
        return value, provider.name, attempts

    # ------------------------------------------------------------ the calls
    async def write_chapter(self, request: ChapterRequest, *,
                            on_text: Callable[[str], None] | None = None
                            ) -> ChainOutcome[ChapterDraft]:
        """The next chapter. `on_text` gets the text so far while a provider that streams
        (`streams_text`) writes it; it may start again from "" on a retry or the next
        provider. Providers without streaming ignore it."""
        attempt_no = 0
        preview = StreamGate(on_text, self.blocklist) if on_text is not None else None

        async def call(provider: Any) -> ChapterDraft:
            nonlocal attempt_no
            attempt_no += 1
            if preview is not None:
                preview.attempt()
            try:
                if preview is not None and getattr(provider, "streams_text", False):
                    draft: ChapterDraft = await provider.write_chapter(request,
                                                                       on_text=preview.feed)
                else:
                    draft = await provider.write_chapter(request)
            except ChapterDefect as exc:
                exc.draft = msgspec.structs.replace(exc.draft, provider=provider.name,
                                                   attempt=attempt_no)
                raise
            finally:
                if getattr(provider, "last_prompt", None):
                    self.last_prompt = list(provider.last_prompt)
                    self.last_prompt_provider = provider.name
            if draft.notes:   # what was actually wrong, and what was done about it
                self._report(f"chapter {request.chapter_number} from '{provider.name}': "
                             + "; ".join(draft.notes))
            return msgspec.structs.replace(draft, provider=provider.name, attempt=attempt_no)

        async def check(provider: Any, draft: ChapterDraft) -> tuple[list[str], list[str]]:
            soft: list[str] = []
            if self.coherence_check:
                soft = prompts.coherence_issues(draft, request)
                if not soft and hasattr(provider, "review_chapter"):
                    try:
                        soft = await provider.review_chapter(draft, request)
                    except ProviderError as exc:
                        log.warning("coherence review skipped: %s", exc)
            return self.blocklist.check(chapter_texts(draft)), soft

        async def salvage(provider: Any, draft: ChapterDraft) -> ChapterDraft:
            return msgspec.structs.replace(repair.story_choices(draft, request),
                                           provider=provider.name)

        return await self._run("chapter", call, check, salvage)

    async def write_plan(self, request: PlanRequest) -> ChainOutcome[StoryPlan]:
        """The story plan: a provider's answer is completed, never refused (core/plan_parse);
        one without `write_plan` is passed over."""
        async def call(provider: Any) -> StoryPlan:
            if not hasattr(provider, "write_plan"):
                raise ProviderError(f"provider '{provider.name}' does not write plans",
                                    provider=provider.name)
            plan: StoryPlan = await provider.write_plan(request)
            if plan.repairs and provider is not self.providers[-1]:
                self._report(f"plan from '{provider.name}' completed: "
                             + "; ".join(plan.repairs)[:500])
            return plan

        async def check(provider: Any, plan: StoryPlan) -> tuple[list[str], list[str]]:
            return self.blocklist.check(plan_texts(plan)), []

        return await self._run("plan", call, check)

    async def write_recap(self, request: RecapRequest) -> ChainOutcome[StoryRecap]:
        async def call(provider: Any) -> StoryRecap:
            if not hasattr(provider, "write_recap"):
                raise ProviderError(f"provider '{provider.name}' does not write recaps",
                                    provider=provider.name)
            recap: StoryRecap = await provider.write_recap(request)
            return recap

        async def check(provider: Any, recap: StoryRecap) -> tuple[list[str], list[str]]:
            return self.blocklist.check([recap.logline, *recap.moments]), []

        return await self._run("recap", call, check)

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

    def status(self) -> ProvidersView:
        return ProvidersView(text=self.text.status(), images=self.images.status(),
                             speech=self.speech.status())

    async def check(self) -> list[ProviderCheck]:
        """One tiny request per configured provider; the offline ones report what they need."""
        out = [msgspec.convert(await client.check(), ProviderCheck)
               for client in self.clients.values()]
        espeak = shutil.which("espeak-ng")
        voice = f"via {espeak}" if espeak else "silent (install espeak-ng)"
        return [*out, ProviderCheck(provider="offline", ok=True, diagnosis="ok", latency=0.0,
                                    message=f"built-in storyteller and illustrator; voice {voice}")]

    async def aclose(self) -> None:
        for client in self.clients.values():
            await client.aclose()


def _offline(kind: Kind) -> Any:
    from storyd.providers.offline_media import OfflineIllustrator, OfflineNarrator
    from storyd.storyteller.story import OfflineStoryteller  # lazy: its word banks are big

    cls = {"text": OfflineStoryteller, "images": OfflineIllustrator,
           "speech": OfflineNarrator}[kind]
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
            options = {"own_port": cfg.server.port,
                       "probe_speech": cfg.tts.enabled and name in cfg.tts.chain,
                       **provider_options}
            clients[name] = OpenAICompatProvider(name, cfg.providers[name],
                                                 temperature=cfg.llm.temperature, **options)
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
