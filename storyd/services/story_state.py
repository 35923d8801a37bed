"""The director's in-memory picture of the running story (plain data, no I/O)."""

from __future__ import annotations

from dataclasses import dataclass, field

import msgspec

from storyd.config.structs import Config
from storyd.core.languages import offline_language_notice
from storyd.core.memory import StoryMemory
from storyd.core.model import CHOICE_KEYS, ChapterDraft, Theme
from storyd.core.narration import split_sentences
from storyd.core.plan import StoryPlan
from storyd.core.recap_view import RecapView
from storyd.core.snapshot import (
    AudienceView,
    ChapterCost,
    ChapterView,
    ChatSourceView,
    ChoiceView,
    GeneratingView,
    NarrationRef,
    OverlayView,
    ProvidersView,
    Snapshot,
    State,
    VotingView,
)
from storyd.services.media import media_url
from storyd.services.stories import AuthoredStory


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
    pending_choice: int | None = None     # the choice of a next chapter no vote decides
    plan: StoryPlan | None = None         # the story bible, written before chapter 1
    extended: bool = False                # `storyctl extend` set the length: it ends there
    extend_to: int = 0                    # `extend` while the plan was being written: its length
    authored: AuthoredStory | None = None  # a Twee story's passages air, not a model's chapters
    recap: RecapView | None = None        # set when the story has ended (services/aftershow.py)

    def planned_chapters(self, max_chapters: int) -> int:
        """Where the story ends on its own: the plan's length, else `[story] max_chapters`
        (0, and never extended: only when the operator finishes it). An authored story
        without loops ends at one of its own endings (0): cutting it at `max_chapters`
        would skip the passage the vote chose and the last vote with it."""
        if self.authored is not None and self.authored.longest is not None \
                and not self.extended:
            return 0
        if max_chapters <= 0 and not self.extended:
            return 0
        if self.plan is not None:
            return self.plan.chapters
        return self.extend_to or max_chapters

    @property
    def current(self) -> ChapterState | None:
        return self.chapters[-1] if self.chapters else None

    @property
    def next_number(self) -> int:
        return len(self.chapters) + 1

    def taken_path(self) -> tuple[str, ...]:
        return tuple(c.draft.choices[c.chosen] for c in self.chapters
                     if c.chosen is not None and c.chosen < len(c.draft.choices))


def build_snapshot(cfg: Config, story: StoryState | None, *, state: State, revision: int,
                   now_ms: int, voting: VotingView | None, notice: str | None,
                   generating: GeneratingView | None, narration: NarrationRef | None,
                   providers: ProvidersView, chat: tuple[ChatSourceView, ...],
                   costs: tuple[ChapterCost, ...], cameos: tuple[str, ...] = (),
                   audience: AudienceView | None = None) -> Snapshot:
    """The whole show as one Snapshot (`story:state`, `GET status`, `storyctl status`)."""
    s, ch = story, (story.current if story else None)
    overlay = msgspec.convert(
        {**msgspec.structs.asdict(cfg.overlay), "reveal": cfg.story.reveal,
         "reveal_words_per_second": cfg.story.reveal_words_per_second}, OverlayView)
    return Snapshot(
        state=state, revision=revision, server_time_ms=now_ms,
        session_id=s.session_id if s else None,
        theme=s.theme.id if s else None, theme_name=s.theme.name if s else None,
        language=s.language if s else None, outline=s.outline if s else "",
        authored=s.authored.view() if s and s.authored else None,
        chapter_number=ch.number if ch else 0, title=ch.draft.title if ch else None,
        choices=ch.choice_views() if ch else (), chapter=ch.view() if ch else None,
        voting=voting, notice=notice, generating=generating, narration=narration,
        providers=providers, chat=chat, costs=costs,
        max_chapters=(s.planned_chapters(cfg.story.max_chapters) if s
                      else cfg.story.max_chapters),
        test_mode=not {"tiktok", "twitch"} & set(cfg.chat.sources), overlay=overlay,
        language_notice=offline_language_notice(s.language) if s else None,
        recap=s.recap if s is not None and state == "ended" else None,
        cameos=cameos if s else (), audience=audience)
