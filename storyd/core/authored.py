"""The authored storyteller: a Twee story answers each ChapterRequest with its next passage.

Theory of operation: the request carries the link texts chosen so far (`path`, the winner
last); walking them from the start passage (core/twee_graph.walk) finds the passage that airs
next, at once and without a model. A passage without links airs as the story's last chapter.
A closing chapter (`finish`, or `[story] max_chapters`) is the ending nearest to where the
vote led — or to the passage on air when no choice was made — so an authored story ends at
one of its own endings, never with text storyd made up. Pure: the story is read and checked
before it plays (core/twee.py), so a request can only fail when the path taken does not fit
the story (a file changed under a resumed session) — a RefusedError, never a made-up chapter.
"""

from __future__ import annotations

from storyd.core.model import ChapterDraft, ChapterRequest, MemoryUpdate
from storyd.core.twee_graph import nearest_ending, walk
from storyd.core.twee_model import Passage, TweeStory

PROVIDER = "authored"   # the chapters' provider, as stored and shown


class AuthoredStoryteller:
    """A TextWriter for one authored story: `write_chapter(request) -> ChapterDraft`."""

    def __init__(self, story: TweeStory) -> None:
        self.story = story

    def passage_for(self, request: ChapterRequest) -> Passage:
        """The passage that airs as chapter `request.chapter_number`."""
        here = walk(self.story, request.path)
        no_choice = len(request.path) < request.chapter_number - 1   # finish with no vote
        if request.closing or (no_choice and request.chapter_number > 1):
            return nearest_ending(self.story, here.name)
        return here

    async def write_chapter(self, request: ChapterRequest) -> ChapterDraft:
        return draft_of(self.passage_for(request))


# an ending passage's tag → the recap's kind of ending (core/recap.py ENDING_KINDS)
RECAP_ENDINGS = {"good": "triumph", "bittersweet": "bittersweet", "bad": "tragedy"}


def recap_ending(last: ChapterDraft) -> str:
    """The recap's kind of ending for the passage an authored story ended with (its tag,
    which `draft_of` keeps as the memory event); "open" for an untagged ending."""
    event = last.memory.event
    tag = event.removeprefix("ending: ") if event.startswith("ending: ") else ""
    return RECAP_ENDINGS.get(tag, "open")


def draft_of(p: Passage) -> ChapterDraft:
    """A passage as a chapter: its title without the variant suffix, its prose, its links."""
    ending = p.ending
    return ChapterDraft(
        title=p.title, text=p.prose, choices=tuple(link.text for link in p.links),
        memory=MemoryUpdate(event=f"ending: {ending}" if ending else ""),
        provider=PROVIDER)
