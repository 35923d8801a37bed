"""The offline illustrator (SVG scene cards) and narrator (espeak-ng), both network-free.

The illustrator draws a seeded scene in the theme's palette: a gradient sky, a sun or moon,
stars/rain/fog by theme, layered hills, mountains, skylines, trees, ruins or a planet, and a
title card. Every text is XML-escaped and colours are checked, so nothing a model or viewer
wrote can inject markup; the SVG has no external references and no scripts.

The narrator runs `espeak-ng --stdout` (text on stdin, so text can never become a flag) under
a 10 s deadline, with a voice variant, pitch and speed per role. espeak-ng streams its WAV
with placeholder sizes (0x7ffff000), so the RIFF and data sizes are patched before the
duration is read. An absent binary means no voice (None), a failing one a ProviderError.
"""

from __future__ import annotations

import io
import logging
import random
import re
import shutil
import struct
import wave
from xml.sax.saxutils import escape

import trio

from storyd.core.model import ImageRequest, ImageResult, SpeechRequest, SpeechResult
from storyd.errors import ProviderError

log = logging.getLogger(__name__)

_COLOUR = re.compile(r"^(#[0-9a-fA-F]{3,8}|[a-zA-Z]{3,20})$")
_FALLBACK = ("#101020", "#303060", "#c08040", "#f0e0c0")
# theme id -> (landscape layers, weather/sky extras, night?)
_SCENES: dict[str, tuple[tuple[str, ...], tuple[str, ...], bool]] = {
    "fantasy": (("mountains", "hills"), ("stars",), True),
    "cyberpunk": (("skyline", "skyline"), ("rain",), True),
    "horror": (("hills", "trees"), ("fog", "stars"), True),
    "scifi": (("planet", "hills"), ("stars",), True),
    "mystery": (("skyline", "skyline"), ("fog",), True),
    "adventure": (("mountains", "trees"), ("clouds",), False),
    "furry_fantasy": (("hills", "trees"), ("stars",), True),
    "furry_scifi": (("planet", "hills"), ("stars",), True),
    "romance": (("hills", "hills"), ("clouds",), False),
    "superhero": (("skyline", "skyline"), ("clouds",), False),
    "postapocalyptic": (("hills", "ruins"), ("fog",), False),
    "comedy": (("hills", "hills"), ("clouds",), False),
}


def _f(x: float) -> str:
    return f"{x:.1f}".rstrip("0").rstrip(".")


def _layer(kind: str, rng: random.Random, w: int, h: int, base: float, fill: str) -> list[str]:
    """One landscape layer whose top edge sits around y=base."""
    if kind in ("hills", "mountains"):
        steps = 6 if kind == "hills" else 9
        pts = [(w * i / steps, base - rng.uniform(0, h * (0.12 if kind == "hills" else 0.28)))
               for i in range(steps + 1)]
        if kind == "hills":
            d = f"M0 {_f(h)} L0 {_f(pts[0][1])} " + " ".join(
                f"Q{_f(x - w / steps / 2)} {_f(y - h * 0.05)} {_f(x)} {_f(y)}" for x, y in pts[1:])
        else:
            d = f"M0 {_f(h)} " + " ".join(f"L{_f(x)} {_f(y)}" for x, y in pts)
        return [f'<path d="{d} L{_f(w)} {_f(h)} Z" fill="{fill}"/>']
    if kind in ("skyline", "ruins"):
        out, x = [], 0.0
        while x < w:
            bw, bh = rng.uniform(w * 0.04, w * 0.1), rng.uniform(h * 0.1, h * 0.4)
            top = base - bh
            if kind == "ruins":   # broken tops: a slanted polygon
                cut = rng.uniform(0, bh * 0.4)
                out.append(f'<polygon points="{_f(x)},{_f(h)} {_f(x)},{_f(top + cut)} '
                           f'{_f(x + bw)},{_f(top)} {_f(x + bw)},{_f(h)}" fill="{fill}"/>')
            else:
                out.append(f'<rect x="{_f(x)}" y="{_f(top)}" width="{_f(bw)}" '
                           f'height="{_f(h - top)}" fill="{fill}"/>')
            x += bw + rng.uniform(0, w * 0.015)
        return out
    if kind == "trees":
        out = [f'<rect x="0" y="{_f(base)}" width="{w}" height="{_f(h - base)}" fill="{fill}"/>']
        for _ in range(rng.randint(5, 11)):
            x, th = rng.uniform(0, w), rng.uniform(h * 0.12, h * 0.3)
            tw = th * 0.35
            out.append(f'<polygon points="{_f(x - tw / 2)},{_f(base + 2)} {_f(x)},{_f(base - th)} '
                       f'{_f(x + tw / 2)},{_f(base + 2)}" fill="{fill}"/>')
        return out
    # planet: a big body rising over the horizon, with a ring
    cx, r = rng.uniform(w * 0.2, w * 0.8), h * rng.uniform(0.25, 0.4)
    return [f'<circle cx="{_f(cx)}" cy="{_f(base)}" r="{_f(r)}" fill="{fill}" opacity="0.9"/>',
            f'<ellipse cx="{_f(cx)}" cy="{_f(base)}" rx="{_f(r * 1.6)}" ry="{_f(r * 0.25)}" '
            f'fill="none" stroke="{fill}" stroke-width="{_f(h * 0.01)}" opacity="0.6"/>']


def render_scene(request: ImageRequest) -> str:
    """The SVG text of a scene card for this request (deterministic per seed)."""
    w, h = max(request.width, 16), max(request.height, 16)
    theme = request.theme
    palette = [c for c in theme.palette if _COLOUR.match(c)]
    p = (palette + list(_FALLBACK[len(palette):]))[:4] if len(palette) < 4 else palette[:4]
    rng = random.Random(f"offline-image:{request.seed}:{theme.id}")
    layers, extras, night = _SCENES.get(theme.id, (("hills", "hills"), ("clouds",), False))
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" '
           f'viewBox="0 0 {w} {h}" role="img">',
           f"<title>{escape(request.title)}</title>",
           '<defs><linearGradient id="sky" x1="0" y1="0" x2="0" y2="1">'
           f'<stop offset="0" stop-color="{p[0]}"/><stop offset="0.7" stop-color="{p[1]}"/>'
           f'<stop offset="1" stop-color="{p[2]}"/></linearGradient></defs>',
           f'<rect width="{w}" height="{h}" fill="url(#sky)"/>']
    if "stars" in extras:
        out += [f'<circle cx="{_f(rng.uniform(0, w))}" cy="{_f(rng.uniform(0, h * 0.55))}" '
                f'r="{_f(rng.uniform(0.5, 2.0) * h / 576)}" fill="{p[3]}" '
                f'opacity="{_f(rng.uniform(0.4, 1.0))}"/>' for _ in range(rng.randint(30, 70))]
    orb_r = h * rng.uniform(0.06, 0.11)
    out.append(f'<circle cx="{_f(rng.uniform(w * 0.15, w * 0.85))}" '
               f'cy="{_f(rng.uniform(h * 0.12, h * 0.35))}" r="{_f(orb_r)}" '
               f'fill="{p[3] if night else p[2]}" opacity="0.9"/>')
    if "clouds" in extras:
        for _ in range(rng.randint(2, 5)):
            cx, cy = rng.uniform(0, w), rng.uniform(h * 0.08, h * 0.4)
            rx = w * rng.uniform(0.06, 0.14)
            out.append(f'<ellipse cx="{_f(cx)}" cy="{_f(cy)}" rx="{_f(rx)}" '
                       f'ry="{_f(h * rng.uniform(0.02, 0.05))}" fill="{p[3]}" opacity="0.5"/>')
    for depth, kind in enumerate(layers):   # far layer first, lighter; near layer darker
        base = h * (0.62 + 0.1 * depth) + rng.uniform(-h * 0.03, h * 0.03)
        fill = p[1] if depth == 0 else p[0]
        out += _layer(kind, rng, w, h, base, fill)
        if kind == "skyline":   # lit windows
            out += [f'<rect x="{_f(rng.uniform(0, w))}" y="{_f(rng.uniform(base - h * 0.3, h))}" '
                    f'width="{_f(w * 0.006)}" height="{_f(h * 0.012)}" fill="{p[2]}"/>'
                    for _ in range(rng.randint(20, 50))]
    if "rain" in extras:
        out += [f'<line x1="{_f(x)}" y1="{_f(y)}" x2="{_f(x - w * 0.01)}" y2="{_f(y + h * 0.05)}" '
                f'stroke="{p[3]}" stroke-width="1" opacity="0.35"/>'
                for x, y in ((rng.uniform(0, w), rng.uniform(0, h)) for _ in range(80))]
    if "fog" in extras:
        out.append(f'<rect y="{_f(h * 0.55)}" width="{w}" height="{_f(h * 0.45)}" '
                   f'fill="{p[3]}" opacity="0.12"/>')
    title = request.title if len(request.title) <= 70 else request.title[:69] + "…"
    size = max(h * 0.06, 10)
    out += [f'<rect y="{_f(h - size * 2.2)}" width="{w}" height="{_f(size * 2.2)}" '
            f'fill="{p[0]}" opacity="0.7"/>',
            f'<text x="{_f(w / 2)}" y="{_f(h - size * 0.75)}" text-anchor="middle" '
            f'font-family="Georgia, serif" font-size="{_f(size)}" fill="{p[3]}">'
            f"{escape(title)}</text>", "</svg>"]
    return "\n".join(out)


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
