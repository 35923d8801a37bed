"""The offline illustrator (SVG pictures) and narrator (espeak-ng), both network-free.

The illustrator draws the chapter's scene in the theme's palette (see offline_picture.py):
a café, a ship, a forest, a castle, a station … picked from the chapter's place, with a moon,
rain or a tower when the text has them, and no title drawn into the picture.

The narrator runs `espeak-ng --stdout` (text on stdin, so text can never become a flag) under
a 10 s deadline, with a voice variant, pitch and speed per role. espeak-ng streams its WAV
with placeholder sizes (0x7ffff000), so the RIFF and data sizes are patched before the
duration is read. An absent binary means no voice (None), a failing one a ProviderError.
"""

from __future__ import annotations

import io
import logging
import shutil
import struct
import wave

import trio

from storyd.core.model import ImageRequest, ImageResult, SpeechRequest, SpeechResult
from storyd.errors import ProviderError
from storyd.providers.offline_picture import render_scene

log = logging.getLogger(__name__)

class OfflineIllustrator:
    """The built-in ImageProvider "offline": SVG scene cards."""

    name = "offline"

    async def illustrate(self, request: ImageRequest) -> ImageResult:
        await trio.lowlevel.checkpoint()
        return ImageResult(data=render_scene(request).encode("utf-8"),
                           content_type="image/svg+xml", provider=self.name)


# role -> (espeak variant, pitch 0-99, words per minute)
VOICES: dict[str, tuple[str, int, int]] = {
    "narrator": ("m3", 45, 160), "hero": ("m1", 55, 170), "heroine": ("f2", 60, 165),
    "villain": ("m7", 25, 140), "sidekick": ("f4", 70, 185), "elder": ("m6", 35, 135),
}
LANGUAGES = {"english": "en", "german": "de", "deutsch": "de", "french": "fr", "spanish": "es",
             "italian": "it", "portuguese": "pt", "dutch": "nl", "polish": "pl", "turkish": "tr",
             "russian": "ru", "japanese": "ja", "chinese": "cmn", "korean": "ko"}
MAX_TEXT = 2000


def fix_wav(data: bytes) -> tuple[bytes, float]:
    """Patch the RIFF/data sizes of a streamed WAV and return (wav, duration in seconds)."""
    if len(data) < 44 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise ValueError("not a RIFF/WAVE file")
    pos, buf = 12, bytearray(data)
    while pos + 8 <= len(buf):
        chunk, size = bytes(buf[pos:pos + 4]), struct.unpack_from("<I", buf, pos + 4)[0]
        if chunk == b"data":
            struct.pack_into("<I", buf, pos + 4, len(buf) - pos - 8)
            break
        pos += 8 + size + (size & 1)
    else:
        raise ValueError("WAV without a data chunk")
    struct.pack_into("<I", buf, 4, len(buf) - 8)
    with wave.open(io.BytesIO(bytes(buf))) as wav:
        duration = wav.getnframes() / float(wav.getframerate())
    return bytes(buf), duration


class OfflineNarrator:
    """The built-in SpeechProvider "offline": espeak-ng, one voice variant per role."""

    name = "offline"

    def __init__(self, binary: str = "espeak-ng", timeout: float = 10.0) -> None:
        self.binary = binary
        self.timeout = timeout
        self._told_absent = False

    def command(self, request: SpeechRequest, path: str) -> list[str]:
        variant, pitch, speed = VOICES.get(request.role, VOICES["narrator"])
        lang = LANGUAGES.get(request.language.strip().casefold(), "en")
        return [path, "-v", f"{lang}+{variant}", "-p", str(pitch), "-s", str(speed),
                "--stdout", "--stdin"]

    async def speak(self, request: SpeechRequest) -> SpeechResult | None:
        """WAV audio of `request.text`, None when espeak-ng is not installed.
        Raises ProviderError (not retryable) when espeak-ng fails, times out or returns junk."""
        path = shutil.which(self.binary)
        if path is None:
            if not self._told_absent:
                log.info("no %s found: offline narration is silent (install espeak-ng)",
                         self.binary)
                self._told_absent = True
            return None
        text = " ".join(request.text.split())[:MAX_TEXT]
        if not text:
            return None
        try:
            with trio.fail_after(self.timeout):
                done = await trio.run_process(self.command(request, path), stdin=text.encode(),
                                              capture_stdout=True, capture_stderr=True, check=False)
        except trio.TooSlowError as exc:
            raise ProviderError(f"espeak-ng took longer than {self.timeout:g}s",
                                provider=self.name, retryable=False) from exc
        except OSError as exc:
            raise ProviderError(f"cannot run {path}: {exc}", provider=self.name,
                                retryable=False) from exc
        if done.returncode != 0:
            detail = done.stderr.decode(errors="replace").strip()[:200]
            raise ProviderError(f"espeak-ng exited with {done.returncode}: {detail}",
                                provider=self.name, retryable=False)
        try:
            data, duration = fix_wav(done.stdout)
        except (ValueError, EOFError, wave.Error) as exc:
            raise ProviderError(f"espeak-ng returned no usable WAV: {exc}", provider=self.name,
                                retryable=False) from exc
        return SpeechResult(data=data, content_type="audio/wav", provider=self.name,
                            duration=duration)
