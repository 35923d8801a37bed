"""The small protocols every provider implements, and the provider status the chain reports.

A provider raises `storyd.errors.ProviderError` (retryable or not) or
`ProviderOutputError` (answered, but unusable); it never lets a foreign exception out.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from storyd.core.model import (
    ChapterDraft,
    ChapterRequest,
    ImageRequest,
    ImageResult,
    SpeechRequest,
    SpeechResult,
    Theme,
)
from storyd.errors import ProviderOutputError


@runtime_checkable
class TextProvider(Protocol):
    name: str

    async def write_outline(self, theme: Theme, language: str, seed: int) -> str:
        """A 3–4 sentence outline for a new story."""
        ...

    async def write_chapter(self, request: ChapterRequest) -> ChapterDraft:
        """The next chapter, validated against the request (exactly n_choices choices)."""
        ...


@runtime_checkable
class ImageProvider(Protocol):
    name: str

    async def illustrate(self, request: ImageRequest) -> ImageResult: ...


@runtime_checkable
class SpeechProvider(Protocol):
    name: str

    async def speak(self, request: SpeechRequest) -> SpeechResult | None:
        """Audio for one sentence, or None when this provider has no voice (e.g. espeak absent)."""
        ...


class ChapterDefect(ProviderOutputError):
    """A chapter with a real defect (no choices, far too short) that may still be the best
    answer there is: the chain regenerates once and airs `draft` if nothing better comes."""

    def __init__(self, message: str, draft: ChapterDraft, *, provider: str = "") -> None:
        super().__init__(message, provider=provider)
        self.draft = draft
