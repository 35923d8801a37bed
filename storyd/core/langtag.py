"""A story language ("German", "de-AT", "Deutsch") as a BCP 47 tag for `<html lang>`.

The same table as the overlay's `htmlLang` (storyd/overlay/i18n.js), so an export, the public
story page and the overlay say the same language. Pure: no I/O.
"""

from __future__ import annotations

import re

_TAG = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")
_NAMES = {
    "english": "en", "englisch": "en", "german": "de", "deutsch": "de", "french": "fr",
    "français": "fr", "spanish": "es", "español": "es", "italian": "it", "dutch": "nl",
    "polish": "pl", "portuguese": "pt", "turkish": "tr", "japanese": "ja", "chinese": "zh",
    "arabic": "ar", "hebrew": "he", "russian": "ru",
}


def html_lang(language: str | None) -> str:
    """The tag as given when it is one ("de-AT"), the tag of a known language name, else "en"."""
    s = " ".join(str(language or "").split())
    if _TAG.match(s):
        return s
    low = s.casefold()
    return _NAMES.get(low) or _NAMES.get(low.split(" ")[0], "en")
