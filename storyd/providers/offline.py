"""The embedded offline providers: storyteller, illustrator and narrator (no network needed).

They live in offline_story.py (story grammar in offline_plot.py, word banks in offline_banks*.py,
grammar and templates in offline_en.py / offline_de.py) and
offline_media.py; this module is the one place the provider chain imports them from.
"""

from __future__ import annotations

from storyd.providers.offline_media import OfflineIllustrator, OfflineNarrator
from storyd.providers.offline_story import OfflineStoryteller

__all__ = ["OfflineIllustrator", "OfflineNarrator", "OfflineStoryteller"]
