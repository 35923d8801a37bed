"""The recap as a shareable picture: 1080×1920 (a phone post) or 1920×1080, drawn with Pillow.

Why Pillow and not the headless browser: Pillow is one wheel with no system dependencies that
`pip install storyd` brings along, and draws a recap in a fraction of a second in a worker
thread; a browser is hundreds of megabytes a streamer's machine rarely has, and seconds per
picture. What the browser does better — every script's shaping — is covered well enough by
the DejaVu/Noto fonts most Linux systems carry (Pillow's built-in font is the fallback).

What is drawn: the kicker (theme), the title, the logline, the branch map (each chapter a
node, the chosen branch bold with its vote share, the other choices as stubs — ringed where
their branch was written), the cast (cameos marked) and the top voters; a raster picture of
the story (the last chapter's), darkened, behind it all when there is one. Text that does not
fit steps its size down, and past the smallest size ends in "…" (a picture has no scroll).
"""

from __future__ import annotations

import io
import math
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

from PIL import Image, ImageDraw, ImageFont

from storyd.core.recap_view import MapNode, RecapView
from storyd.core.story_words import ending_words, story_words

SIZES = {"1080x1920": (1080, 1920), "1920x1080": (1920, 1080)}
BG, PANEL = (14, 16, 32), (24, 28, 52)
TEXT, DIM, ACCENT, STUB, WRITTEN = ((255, 255, 255), (190, 196, 220), (255, 183, 3),
                                    (110, 118, 150), (160, 140, 255))
KEYS = "ABCDEF"
FONT_DIRS = ("/usr/share/fonts/truetype/dejavu", "/usr/share/fonts/truetype/noto",
             "/usr/share/fonts/noto", "/usr/share/fonts/TTF", "/usr/share/fonts/dejavu")
Font = ImageFont.FreeTypeFont | ImageFont.ImageFont


@lru_cache(maxsize=64)
def font(size: int, bold: bool = False) -> Font:
    names = (("DejaVuSans-Bold.ttf", "NotoSans-Bold.ttf") if bold
             else ("DejaVuSans.ttf", "NotoSans-Regular.ttf"))
    for folder in FONT_DIRS:
        for name in names:
            path = Path(folder) / name
            if path.is_file():
                return ImageFont.truetype(str(path), size)
    return ImageFont.load_default(size)


def _wrap(draw: ImageDraw.ImageDraw, text: str, f: Font, width: int) -> list[str]:
    lines: list[str] = []
    for word in " ".join(text.split()).split(" "):
        while draw.textlength(word, font=f) > width and len(word) > 1:   # one endless word
            cut = max(1, int(len(word) * width / max(1, draw.textlength(word, font=f))) - 1)
            lines.append(word[:cut])
            word = word[cut:]
        if lines and draw.textlength(f"{lines[-1]} {word}", font=f) <= width:
            lines[-1] = f"{lines[-1]} {word}"
        else:
            lines.append(word)
    return [ln for ln in lines if ln]


def _block(draw: ImageDraw.ImageDraw, xy: tuple[int, int], text: str, *, width: int,
           size: int, min_size: int, max_lines: int, bold: bool = False,
           fill: tuple[int, int, int] = TEXT) -> int:
    """Draw wrapped text at xy, stepping the size down to fit `max_lines`; returns its
    bottom."""
    if not text.strip():
        return xy[1]
    for s in range(size, min_size - 1, -2):
        f = font(s, bold)
        lines = _wrap(draw, text, f, width)
        if len(lines) <= max_lines:
            break
    if len(lines) > max_lines:
        lines = lines[:max_lines]
        last = lines[-1]
        while last and draw.textlength(last + "…", font=f) > width:
            last = last[:-1]
        lines[-1] = last.rstrip() + "…"
    x, y = xy
    for ln in lines:
        draw.text((x, y), ln, font=f, fill=fill)
        y += int(s * 1.25)
    return y


def _backdrop(img: Image.Image, picture: Path | None) -> None:
    if picture is None:
        return
    try:
        with Image.open(picture) as pic:
            pic.load()
            src = pic.convert("RGB")
    except (OSError, ValueError, Image.DecompressionBombError):
        return
    w, h = img.size
    k = max(w / src.width, h / src.height)
    src = src.resize((max(1, int(src.width * k)), max(1, int(src.height * k))))
    left, top = (src.width - w) // 2, (src.height - h) // 2
    src = src.crop((left, top, left + w, top + h))
    img.paste(Image.blend(src, Image.new("RGB", (w, h), BG), 0.72))


def map_points(n: int, box: tuple[int, int, int, int]) -> tuple[list[tuple[float, float]], int,
                                                                float]:
    """Where n map nodes go in box (left, top, right, bottom): rows that snake, centred
    in the box's height; with the node radius and the column width."""
    left, top, right, bottom = box
    width, height = right - left, bottom - top
    per_row = max(1, min(n, width // 110))
    rows = math.ceil(n / per_row)
    while rows > 1 and height / rows < 120 and per_row < n:
        per_row += 1
        rows = math.ceil(n / per_row)
    dx = width / per_row
    dy = min(height / rows, 220.0)
    r = int(max(10, min(30, dx * 0.22, dy * 0.18)))
    offset = (height - rows * dy) / 2    # centred: no band on top of an empty picture
    points = []
    for i in range(n):
        row, col = divmod(i, per_row)
        if row % 2:
            col = per_row - 1 - col
        points.append((left + dx * (col + 0.5), top + offset + dy * row + dy * 0.38))
    return points, r, dx


def draw_map(draw: ImageDraw.ImageDraw, nodes: tuple[MapNode, ...],
             box: tuple[int, int, int, int]) -> None:
    """The branch map inside box (left, top, right, bottom): nodes in rows, snaking."""
    if not nodes:
        return
    points, r, dx = map_points(len(nodes), box)
    small = font(max(16, min(26, int(r * 0.9))), True)
    label = font(max(16, min(26, int(dx * 0.2))), False)
    for i in range(len(nodes) - 1):    # the path taken: bold
        draw.line([points[i], points[i + 1]], fill=ACCENT, width=max(4, r // 3))
    for node, (x, y) in zip(nodes, points, strict=True):
        others = [j for j in range(node.choices) if j != node.chosen]
        for k, j in enumerate(others):   # the roads not taken: stubs fanning downwards
            angle = math.radians(200 + (140 * (k + 1) / (len(others) + 1)))
            length = r * 1.6
            end = (x + math.cos(angle) * length, y - math.sin(angle) * length)
            colour = WRITTEN if j in node.written else STUB
            draw.line([(x, y), end], fill=colour, width=3)
            if j in node.written:
                draw.ellipse([end[0] - 5, end[1] - 5, end[0] + 5, end[1] + 5], outline=colour,
                             width=2)
        fill = ACCENT if node.chosen is not None or node.closing else PANEL
        draw.ellipse([x - r, y - r, x + r, y + r], fill=fill, outline=TEXT, width=3)
        draw.text((x, y), str(node.number), font=small, fill=BG, anchor="mm")
        if node.chosen is not None:
            key = KEYS[node.chosen] if node.chosen < len(KEYS) else str(node.chosen + 1)
            text = key if node.share is None else f"{key} {round(node.share * 100)}%"
            draw.text((x, y + r + 8), text, font=label, fill=TEXT, anchor="ma")


class RecapLines(NamedTuple):
    """The picture's words besides the story's own, in the story's language."""

    kicker: str
    cast: str       # "" without a cast
    voters: str     # "" without voters
    foot: str


def recap_lines(view: RecapView) -> RecapLines:
    """The kicker, cast, top voters and foot line in the story's language
    (storyd/core/story_words.py)."""
    words = story_words(view.language)
    chapters = len(view.nodes)
    total = max((n.voters for n in view.nodes), default=0)
    cast = ", ".join(c.name + (f" ({words.cameo})" if c.cameo else "") for c in view.cast)
    voters = " · ".join(f"{v.name} {v.ballots}" for v in view.voters)
    return RecapLines(
        kicker=f"{words.recap_kicker} · {view.theme_name}".upper(),
        cast=words.starring(cast) if cast else "",
        voters=words.top_voters(voters) if voters else "",
        foot=" · ".join(([ending_words(words, view.ending)] if view.ending else [])
                        + [words.chapter_count(chapters)]
                        + ([words.up_to_voters(total)] if total else []) + ["storyd"]))


def render_png(view: RecapView, size: str = "1080x1920", picture: Path | None = None) -> bytes:
    """The recap as PNG bytes (`size` one of SIZES)."""
    w, h = SIZES[size]
    img = Image.new("RGB", (w, h), BG)
    _backdrop(img, picture)
    draw = ImageDraw.Draw(img)
    pad = 72
    portrait = h > w
    col = w - 2 * pad if portrait else 760
    words = recap_lines(view)
    y = _block(draw, (pad, pad), words.kicker, width=col,
               size=34, min_size=22, max_lines=1, bold=True, fill=ACCENT) + 12
    y = _block(draw, (pad, y), view.title, width=col, size=76 if portrait else 68,
               min_size=40, max_lines=3, bold=True) + 20
    y = _block(draw, (pad, y), view.logline, width=col, size=42, min_size=28,
               max_lines=6 if portrait else 7, fill=DIM) + 36
    if portrait:
        map_box = (pad, y, w - pad, h - pad - 260)
        y = map_box[3] + 30
    else:
        map_box = (pad + col + 80, pad + 40, w - pad, h - pad - 60)
        y += 10
    draw_map(draw, view.nodes, map_box)
    if words.cast:
        y = _block(draw, (pad, y), words.cast, width=col, size=34, min_size=24,
                   max_lines=2) + 14
    if words.voters:
        y = _block(draw, (pad, y), words.voters, width=col, size=34, min_size=24,
                   max_lines=2, fill=ACCENT) + 14
    _block(draw, (pad, h - pad - 30), words.foot, width=w - 2 * pad, size=26, min_size=18,
           max_lines=1, fill=DIM)
    out = io.BytesIO()
    img.save(out, format="PNG")
    return out.getvalue()
