"""After the show: each chapter's on-air time, a Twitch stream marker per chapter, and the
recap card when a story ends.

Theory of operation: one service reads the bus. On `story:chapter-ready` (the moment a
chapter goes on air) it stores the chapter's on-air time (the first time counts; a resumed
chapter keeps it) and asks for a stream marker in a task of its own, so a slow or refusing
Twitch never delays anything (storyd/chat/twitch_markers.py logs its refusals once). On
`story:ended` it builds the story's recap (core/recap_view.py: branch map, logline, cast,
top voters) from the store, hangs it on the story that just ended and publishes a fresh
`story:state`: the snapshot carries it while the state is "ended", and the overlay shows it
for `[overlay] recap_seconds` from `ended_at_ms`. A model's recap stored after that
(`recap_written`, the planner's `on_recap`) builds the card again. A store fault costs the
air time or the recap, never the show.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Protocol

import msgspec
import trio

from storyd.bus import EventBus
from storyd.core import events as ev
from storyd.core.ports import Clock
from storyd.core.recap_view import recap_view
from storyd.errors import StorydError
from storyd.services.story_state import StoryState

log = logging.getLogger(__name__)

QUEUE = 64   # bus events buffered (only chapter-ready and ended matter; both are rare)


class AfterShowStore(Protocol):
    async def set_chapter_aired(self, session_id: int, number: int, aired_at: float) -> None: ...
    async def get_session(self, session_id: int) -> dict[str, Any]: ...
    async def session_voters(self, session_id: int, *, limit: int = 5) -> list[dict[str, Any]]: ...


class MarkerSink(Protocol):
    async def mark(self, title: str) -> Any: ...


class AfterShow:
    def __init__(self, store: AfterShowStore, bus: EventBus, clock: Clock, *,
                 story: Callable[[], StoryState | None], publish: Callable[[], None],
                 markers: MarkerSink | None = None,
                 cameos: Callable[[int], tuple[str, ...]] = lambda _sid: ()) -> None:
        self._store, self._bus, self._clock = store, bus, clock
        self._story, self._publish, self._markers, self._cameos = story, publish, markers, cameos
        self._nursery: trio.Nursery | None = None

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
                  ) -> None:
        async with trio.open_nursery() as nursery:
            self._nursery = nursery
            with self._bus.subscribe(QUEUE) as sub:
                task_status.started()
                async for event in sub:
                    if isinstance(event, ev.ChapterReady):
                        await self._aired(nursery, event.data.number, event.data.title)
                    elif isinstance(event, ev.Ended) and event.data.session_id is not None:
                        nursery.start_soon(self._recap, event.data.session_id, self._clock.ms())

    def recap_written(self, session_id: int, _recap: object) -> None:
        """The model's recap was stored (services/planning.py). When it came after the story
        ended — a slow model, a closing chapter that aired at once — the card on air was
        built without it: it is built again, on air for the same time."""
        story, nursery = self._story(), self._nursery
        if (nursery is not None and story is not None and story.session_id == session_id
                and story.recap is not None):
            nursery.start_soon(self._recap, session_id,
                               story.recap.ended_at_ms or self._clock.ms())

    async def _aired(self, nursery: trio.Nursery, number: int, title: str) -> None:
        story = self._story()
        if story is None:
            return
        try:
            await self._store.set_chapter_aired(story.session_id, number, self._clock.now())
        except StorydError as exc:
            log.warning("on-air time of chapter %d not saved: %s", number, exc)
        if self._markers is not None:
            nursery.start_soon(self._mark, title or f"Chapter {number}")

    async def _mark(self, title: str) -> None:
        assert self._markers is not None
        try:
            await self._markers.mark(title)
        except Exception:  # noqa: BLE001 - a marker is never worth a fault in the show
            log.exception("a stream marker failed")

    async def _recap(self, session_id: int, ended_ms: int) -> None:
        story = self._story()
        if story is None or story.session_id != session_id:
            return
        try:
            session = await self._store.get_session(session_id)
            voters = await self._store.session_voters(session_id, limit=5)
        except StorydError as exc:
            log.warning("no recap for story %d: %s", session_id, exc)
            return
        if not session.get("chapters"):
            return
        view = recap_view(session, voters, cameos=self._cameos(session_id))
        if self._story() is story:
            story.recap = msgspec.structs.replace(view, ended_at_ms=ended_ms)
            self._publish()
