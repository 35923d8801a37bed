"""Presenting a chapter: sentence-by-sentence reveal in step with the narration audio.

Speech for every sentence is synthesised in the background as soon as the chapter is ready
(at most two requests at a time); each sentence is revealed when its audio starts — or, with
no audio, after `words / reveal_words_per_second` — by a `story:narration` event. A sentence
whose audio is late by more than AUDIO_WAIT is shown without it, so a slow voice provider
never stalls the show. The choices are read out before the vote opens. An operator `next`
or `finish` cuts the presentation short: `still_presenting()` turns false and the director's
`pause()` (the wait between sentences) returns early.
Each sentence carries a voice role: the role of the character the draft's `lines` say is
speaking it (see `_roles`), otherwise "narrator"; providers map roles to voices.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable, Sequence

import trio

from storyd.bus import EventBus
from storyd.config.structs import Config
from storyd.core import events as ev
from storyd.core.memory import name_key
from storyd.core.model import ChapterDraft, Entity, SpeechRequest
from storyd.core.narration import choices_announcement, reveal_seconds, split_sentences
from storyd.core.ports import ProviderChains, StoryStore
from storyd.core.snapshot import NarrationRef
from storyd.errors import StorydError
from storyd.services.media import MediaCache, PreparedNarration, Spoken, media_url
from storyd.services.story_state import ChapterState, StoryState

log = logging.getLogger(__name__)

AUDIO_WAIT = 8.0       # seconds a sentence waits for its audio before airing without it
SYNTH_PARALLEL = 2     # concurrent speech requests per chapter


async def speak(chains: ProviderChains, media: MediaCache, text: str, role: str,
                language: str) -> Spoken | None:
    """One sentence's speech through the speech chain, stored in the media cache; None
    when no audio came (the sentence then airs without it)."""
    try:
        result = (await chains.speech.speak(
            SpeechRequest(text=text, role=role, language=language))).draft
        if result is not None:
            return Spoken(await media.put(result.data, result.content_type), result.duration)
    except (StorydError, ValueError, OSError) as exc:
        log.info("no narration for a sentence: %s", exc)
    return None


async def _synthesise(chains: ProviderChains, media: MediaCache, texts: list[tuple[str, str]],
                      names: list[str | None], durations: list[float | None],
                      ready: list[trio.Event], language: str,
                      prepared: PreparedNarration | None) -> None:
    limiter = trio.CapacityLimiter(SYNTH_PARALLEL)

    async def one(i: int, text: str, role: str) -> None:
        try:
            slot = prepared.slots.get((text, role)) if prepared is not None else None
            if slot is not None:          # made during the vote (or still being made)
                await slot.ready.wait()
                spoken = slot.spoken
            else:
                spoken = None
            if spoken is None:
                async with limiter:
                    spoken = await speak(chains, media, text, role, language)
            if spoken is not None:
                names[i], durations[i] = spoken.name, spoken.duration
        finally:
            ready[i].set()

    async with trio.open_nursery() as nursery:
        for i, (text, role) in enumerate(texts):
            nursery.start_soon(one, i, text, role)


_QUOTES = re.compile(r"[\"“”„«»‹›「」]")


def _norm(text: str) -> str:
    """Words only, case- and accent-folded: quotes and punctuation differ between a line
    and the text (the same folding as remembered names)."""
    return name_key(text)


def _roles(ch: ChapterState, sentences: list[str], story: StoryState) -> list[str]:
    return _speaker_roles(ch.draft, sentences, story.memory.view().characters)


def _speaker_roles(draft: ChapterDraft, sentences: list[str],
                   known: Sequence[Entity]) -> list[str]:
    """Speaker role per sentence: a character's role when the draft attributes the line.

    A line matches a sentence when their words are equal, when the line holds the whole
    sentence (two sentences joined in one line), or when the sentence holds the line and
    has quotation marks (models often give only the spoken words); the longest match wins.
    Unknown speakers and characters without a role stay with the narrator.
    """
    roles = {name_key(c.name): c.role for c in known if c.role}
    roles.update((name_key(c.name), c.role) for c in draft.memory.characters if c.role)
    spoken = [(_norm(ln.text), roles.get(name_key(ln.speaker), "narrator"))
              for ln in draft.lines if ln.speaker.strip() and _norm(ln.text)]
    out = []
    for sentence in sentences:
        s = _norm(sentence)
        exact = [role for text, role in spoken if text == s]
        if exact:
            out.append(exact[0])
            continue
        padded, quoted = f" {s} ", bool(_QUOTES.search(sentence))
        near = [(len(text), role) for text, role in spoken
                if s and (padded in f" {text} " or (quoted and f" {text} " in padded))]
        out.append(max(near)[1] if near else "narrator")
    return out


def narration_texts(draft: ChapterDraft, known: Sequence[Entity],
                    read_choices: bool) -> list[tuple[str, str]]:
    """What the narrator says for a chapter, with a voice role each: its sentences, then the
    choices when they are read out. `known`: the story's characters before this chapter."""
    sentences = split_sentences(draft.text)
    texts = list(zip(sentences, _speaker_roles(draft, sentences, known), strict=True))
    if draft.choices and read_choices:
        texts.append((choices_announcement(draft.choices), "narrator"))
    return texts


class Presenter:
    """Airs chapters: reveal and narration. `narration` is the sentence airing now."""

    def __init__(self, store: StoryStore, bus: EventBus, settings: Callable[[], Config],
                 chains: Callable[[], ProviderChains], media: MediaCache) -> None:
        self._store = store
        self._bus = bus
        self._settings = settings
        self._chains = chains
        self._media = media
        self.narration: NarrationRef | None = None

    async def present(self, story: StoryState, ch: ChapterState, *,
                      still_presenting: Callable[[], bool],
                      pause: Callable[[float], Awaitable[None]]) -> None:
        cfg = self._settings()
        sentences = ch.sentences
        wps = cfg.story.reveal_words_per_second
        read_choices = bool(ch.draft.choices) and cfg.tts.read_choices
        texts = narration_texts(ch.draft, story.memory.view().characters, read_choices)
        n = len(texts)
        names: list[str | None] = [None] * n
        durations: list[float | None] = [None] * n
        ready = [trio.Event() for _ in range(n)]
        speak = cfg.tts.enabled
        # speech made during the vote for this very draft (the winning branch), if any
        prepared = self._media.prepared.take(ch.number, ch.draft.text)
        try:
            async with trio.open_nursery() as nursery:
                if speak:
                    nursery.start_soon(_synthesise, self._chains(), self._media, texts, names,
                                       durations, ready, story.language, prepared)
                for i, (text, _role) in enumerate(texts):
                    if not still_presenting():
                        break
                    if speak:
                        with trio.move_on_after(AUDIO_WAIT):
                            await ready[i].wait()
                    is_choices = i >= len(sentences)
                    duration = durations[i] or reveal_seconds(text, wps)
                    if is_choices and not names[i]:
                        duration = 0.0  # the vote panel shows the choices; no silent wait
                    self.narration = NarrationRef(chapter=ch.number, index=i)
                    self._bus.publish(ev.Narration(ev.NarrationData(
                        chapter=ch.number, index=i, kind="choices" if is_choices else "sentence",
                        text=text, audio_url=media_url(names[i]),
                        duration_ms=int(duration * 1000))))
                    if duration:
                        await pause(duration)
                nursery.cancel_scope.cancel()
        finally:
            if prepared is not None:
                prepared.scope.cancel()   # what was not aired yet is not needed any more
        ch.audio = names[: len(sentences)]
        ch.choices_audio = names[len(sentences)] if read_choices else None
        if any(ch.audio):
            await self._store.set_chapter_media(story.session_id, ch.number, audio=ch.audio)
