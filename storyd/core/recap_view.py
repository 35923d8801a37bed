"""The recap as pages show it: the path as a branch map, the title, the logline, the cast and
the top voters of one story (the overlay's recap card, the admin page, the PNG, the public
story page).

`recap_view(session, voters)` builds it from what the store holds for a session (the dict of
`Store.get_session`, with the plan and recap of the story-craft issue when they were stored)
and the session's top voters. The logline, key moments and kind of ending come from the
stored recap; a story without one gets `offline_recap` (its first chapter's summary as the
logline). The kind of ending is left unknown ("") unless a model or an authored story's ending
passage said it (the chapters alone say "open" of every story). The cast is the plan's
protagonist and cast, else the memory's characters (an authored story has neither: its
recap card says how it ended and names its chapters instead); viewers written into the story
(cameos) are added with `cameo=True`. Viewer ids never appear: a top
voter is a display name and counts.

Pure: no I/O, no clocks.
"""

from __future__ import annotations

from typing import Any

import msgspec

from storyd.core.plan import plan_from_json
from storyd.core.recap import RecapChapter, StoryRecap, offline_recap, recap_from_json
from storyd.core.story_words import story_words
from storyd.core.themes import THEMES

MAX_CAST = 8
MAX_VOTERS = 5


class MapNode(msgspec.Struct, frozen=True, kw_only=True):
    """One chapter on the branch map."""

    number: int
    title: str
    choices: int                     # how many choices it offered (0: the closing chapter)
    chosen: int | None               # the choice taken (0-based), None for the last chapter
    share: float | None = None       # the chosen choice's share of the votes, 0–1
    counts: tuple[int, ...] = ()
    voters: int = 0
    written: tuple[int, ...] = ()    # other choices whose branch was written (not taken)
    closing: bool = False
    image: str | None = None         # file name in the media cache


class CastEntry(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    role: str = ""
    cameo: bool = False              # a viewer written into the story


class RecapVoter(msgspec.Struct, frozen=True, kw_only=True):
    name: str                        # display name only, never a viewer id
    ballots: int                     # rounds voted in this story
    wins: int                        # ballots that picked the winner


class RecapView(msgspec.Struct, frozen=True, kw_only=True):
    session_id: int
    title: str
    theme_name: str
    language: str
    status: str
    logline: str
    moments: tuple[str, ...] = ()
    ending: str = ""                 # triumph, bittersweet, tragedy, open ("" unknown)
    cast: tuple[CastEntry, ...] = ()
    voters: tuple[RecapVoter, ...] = ()
    nodes: tuple[MapNode, ...] = ()
    ended_at_ms: int | None = None


def story_title(session: dict[str, Any]) -> str:
    """The story's title, for the recap and the exports: an authored story's own title, else
    its plan's, else "<first chapter's title> — <Theme> story" (for a story not told in
    English the first chapter's title alone: no English words on a German card)."""
    settings = session.get("settings")
    authored = settings.get("story") if isinstance(settings, dict) else None
    if isinstance(authored, dict) and str(authored.get("title") or "").strip():
        return str(authored["title"]).strip()
    plan = plan_from_json(session.get("plan"))
    if plan is not None and plan.title.strip():
        return plan.title.strip()
    chapters = session.get("chapters") or []
    language = str(session.get("language") or "").strip().casefold()
    first = str(chapters[0]["title"]) if chapters else story_words(language).untitled
    if language.split("-")[0] not in ("", "en", "english"):
        return first
    theme_id = str(session.get("theme") or "")
    theme = THEMES[theme_id].name if theme_id in THEMES else theme_id
    return f"{first} — {theme} story" if theme else first


def _node(ch: dict[str, Any], written: tuple[int, ...]) -> MapNode:
    choices = list(ch.get("choices") or [])
    vote = ch.get("vote") or {}
    counts = tuple(int(c) for c in vote.get("counts") or ())
    chosen = ch.get("chosen")
    chosen = chosen if isinstance(chosen, int) and 0 <= chosen < len(choices) else None
    total = sum(counts)
    share = (counts[chosen] / total if chosen is not None and total and chosen < len(counts)
             else None)
    return MapNode(number=int(ch["number"]), title=str(ch.get("title") or ""),
                   choices=len(choices), chosen=chosen, share=share, counts=counts,
                   voters=int(vote.get("voters") or 0), written=written,
                   closing=bool(ch.get("closing")), image=ch.get("image"))


def _cast(session: dict[str, Any], cameos: tuple[str, ...]) -> tuple[CastEntry, ...]:
    if not cameos:   # a stored story: the viewers it wrote in who stayed (never one who left)
        cameos = tuple(str(c.get("name") or "") for c in session.get("cameos") or ()
                       if isinstance(c, dict) and c.get("status") == "joined"
                       and c.get("chapters"))
    guests = {n.casefold() for n in cameos}
    out: list[CastEntry] = []
    plan = plan_from_json(session.get("plan"))
    if plan is not None:
        out.append(CastEntry(name=plan.protagonist.name, role="protagonist"))
        out += [CastEntry(name=m.name, role=m.role) for m in plan.cast]
    else:
        memory = session.get("memory") or {}
        out += [CastEntry(name=str(c.get("name") or ""), role=str(c.get("role") or ""))
                for c in memory.get("characters") or () if isinstance(c, dict)]
    seen: set[str] = set()
    unique = []
    for c in out:
        key = c.name.casefold()
        if c.name and key not in seen and key not in guests and c.role != "cameo":
            seen.add(key)
            unique.append(c)
    main = unique[:MAX_CAST - min(len(cameos), MAX_CAST // 2)]
    return tuple(main + [CastEntry(name=n, role="cameo", cameo=True)
                         for n in cameos[:MAX_CAST - len(main)] if n])


def known_ending(session: dict[str, Any], recap: StoryRecap) -> str:
    """The kind of ending where it is known: from a model's recap, or an authored story's
    ending passage (its tag); "" where the chapters alone guessed it ("open" for every story)."""
    settings = session.get("settings")
    authored = isinstance(settings, dict) and isinstance(settings.get("story"), dict)
    return recap.ending if authored or recap.source not in ("", "offline") else ""


def recap_view(session: dict[str, Any], voters: list[dict[str, Any]], *,
               cameos: tuple[str, ...] = ()) -> RecapView:
    """The recap of a stored session (see the module doc). `voters`: rows with `name`,
    `ballots` and `wins`, best first."""
    chapters = list(session.get("chapters") or [])
    title = story_title(session)
    written: dict[int, list[int]] = {}
    for b in session.get("branches") or ():
        written.setdefault(int(b["after_chapter"]), []).append(int(b["choice"]))
    nodes = tuple(_node(ch, tuple(sorted(written.get(int(ch["number"]), ()))))
                  for ch in chapters)
    recap = recap_from_json(session.get("recap"))
    if recap is None:
        told = tuple(RecapChapter(number=int(ch["number"]), title=str(ch.get("title") or ""),
                                  summary=str(ch.get("summary") or ""),
                                  text=str(ch.get("text") or "")) for ch in chapters)
        recap = offline_recap(title, told)
    theme_id = str(session.get("theme") or "")
    ended = session.get("ended_at")
    return RecapView(
        session_id=int(session["id"]), title=title,
        theme_name=THEMES[theme_id].name if theme_id in THEMES else theme_id,
        language=str(session.get("language") or ""), status=str(session.get("status") or ""),
        logline=recap.logline, moments=recap.moments, ending=known_ending(session, recap),
        cast=_cast(session, cameos),
        voters=tuple(RecapVoter(name=str(v.get("name") or "someone")[:64],
                                ballots=int(v.get("ballots") or 0), wins=int(v.get("wins") or 0))
                     for v in voters[:MAX_VOTERS]),
        nodes=nodes, ended_at_ms=int(float(ended) * 1000) if ended else None)
