"""The director's in-memory picture of the running story (plain data, no I/O)."""

from __future__ import annotations

from dataclasses import dataclass, field

from storyd.core.memory import StoryMemory
from storyd.core.model import CHOICE_KEYS, ChapterDraft, Theme
from storyd.core.narration import split_sentences
from storyd.core.snapshot import ChapterView, ChoiceView
from storyd.services.media import media_url


@dataclass
class ChapterState:
    number: int
    draft: ChapterDraft
    closing: bool
    image: str | None = None
    audio: list[str | None] = field(default_factory=list)
    choices_audio: str | None = None
    chosen: int | None = None

    @property
    def sentences(self) -> list[str]:
        return split_sentences(self.draft.text)

    def choice_views(self) -> tuple[ChoiceView, ...]:
        return tuple(ChoiceView(key=CHOICE_KEYS[i], text=t)
                     for i, t in enumerate(self.draft.choices))

    def view(self) -> ChapterView:
        return ChapterView(
            number=self.number, title=self.draft.title, text=self.draft.text,
            sentences=tuple(self.sentences), choices=self.choice_views(), closing=self.closing,
            image_url=media_url(self.image), audio_urls=tuple(media_url(a) for a in self.audio),
            choices_audio_url=media_url(self.choices_audio), provider=self.draft.provider,
        )


@dataclass
class StoryState:
    session_id: int
    theme: Theme
    language: str
    outline: str
    seed: int
    memory: StoryMemory
    chapters: list[ChapterState] = field(default_factory=list)
    pending_choice: int | None = None     # winner (or forced choice) that drives the next chapter

    @property
    def current(self) -> ChapterState | None:
        return self.chapters[-1] if self.chapters else None

    @property
    def next_number(self) -> int:
        return len(self.chapters) + 1

    def taken_path(self) -> tuple[str, ...]:
        return tuple(c.draft.choices[c.chosen] for c in self.chapters
                     if c.chosen is not None and c.chosen < len(c.draft.choices))
