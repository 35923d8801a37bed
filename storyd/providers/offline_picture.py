"""The offline illustrator: an SVG picture of where the chapter is, in the theme's palette.

Theory of operation
-------------------
The picture request carries the chapter's title and summary (`ImageRequest.prompt`). The
illustrator reads it, English or German, for

* **the scene** — the first match in `SCENES` order, looked up first in the summary (which
  names the chapter's place) and then in the title: a café, a lab, a space station, a ship,
  a cave, a castle, a desert, the sea, a lake, snow, a forest, a city, a house, a garden or
  fair; nothing found means the theme's usual scene (`THEME_SCENE`);
* **elements** — moon or sun (night words), stars, rain, snow, fog, a tower, a ship;

and draws them with the theme's four palette colours only (shading by opacity). The title is
kept in the SVG's `<title>` for screen readers but never drawn: the overlay shows the title
itself. Every colour is checked and every text escaped; no external references, no scripts.
Deterministic per seed.
"""

from __future__ import annotations

import random
import re
from xml.sax.saxutils import escape

from storyd.core.model import ImageRequest

_COLOUR = re.compile(r"^(#[0-9a-fA-F]{3,8}|[a-zA-Z]{3,20})$")
_FALLBACK = ("#101020", "#303060", "#c08040", "#f0e0c0")

SCENES: tuple[tuple[str, str], ...] = (
    ("cafe", r"caf[eé]|bakery|tea ?room|bäckerei|konditorei|bistro"),
    ("lab", r"\b(?!slab)\w*lab\b|laborator|labor\b"),
    ("snow", r"(?<!-)\bice\b|snow|\beis\b|eisplanet|schnee|gletscher|glacier"),
    ("station", r"station|starship|spaceship|\bspace\b|orbit|asteroid|nebula|raumschiff|planet"),
    ("ship", r"\bship|galleon|\bboats?\b|wreck|schiff\b|galeone|\bboot|wrack"),
    ("cave", r"cave|cavern|catacomb|tunnel|cellar|crypt|\bmines?\b|sublevel|depot|bunker|höhle|"
             r"gruft|grüfte|keller|stollen"),
    ("castle", r"castle|tower|fortress|palace|\w*hold\b|chapel|(?<![sS])turm|\w*burg\b|festung|"
               r"schloss|palast|kapelle"),
    ("ruins", r"temple|\bruins?\b|tempel|ruine|einkaufsruine"),
    ("desert", r"desert|dune|wasteland|wüste|düne|dünenmeer|dry river|trockenfluss"),
    ("sea", r"\bsea\b|ocean|\bbay\b|harbou?r|\bpier|reef|beach|coast|lagoon|\bdocks?\b|\bmeer\b|"
            r"bucht|hafen|strand|küste|riff|lagune|steg\b|\bkai\b"),
    ("lake", r"\blake|river|\bpond|bridge|\w+see\b|\bsee\b|fluss|teich|brücke"),
    ("forest", r"forest|\bwoods?\b|\w+wood\b|jungle|grove|\boak|\w*wald\b|dschungel|eiche"),
    ("city", r"city|street|skyline|\bclub|alley|district|\bmill|office|opera|\bhall\b|\bmall\b|"
             r"stadt|straße|gasse|viertel|rathaus|klub|amt\b|mühle|oper|wolkenkratzer"),
    ("house", r"\bhouse|asylum|mansion|\w*haus\b|spital"),
    ("garden", r"garden|\bfair\b|village|market|bazaar|garten|jahrmarkt|\w*fest\b|markt|basar|"
               r"dorf|dome|kuppel"),
)
_SCENE_RE = [(name, re.compile(rx, re.IGNORECASE)) for name, rx in SCENES]
THEME_SCENE = {"fantasy": "castle", "cyberpunk": "city", "horror": "house", "scifi": "station",
               "mystery": "city", "adventure": "forest", "furry_fantasy": "forest",
               "furry_scifi": "station", "romance": "garden", "superhero": "city",
               "postapocalyptic": "desert", "comedy": "garden"}
NIGHT_THEMES = frozenset({"fantasy", "cyberpunk", "horror", "scifi", "mystery", "furry_scifi"})
_ELEMENTS = {
    "moon": r"\bmoon|night|midnight|\bmond|nacht|mitternacht",
    "sun": r"\bsun\b|sunset|sunrise|dawn|morning|daylight|\bsonne|morgen|sonnenuntergang",
    "stars": r"\bstars?\b|starlight|\bstern",
    "rain": r"\brain|storm|thunder|\bregen|gewitter|(?<!\w)sturm",
    "snow": r"snow|frost|schnee|(?<!-)\bice\b",
    "fog": r"\bfog|mist|haze|\bnebel|dunst",
    "tower": r"tower|spire|(?<![sS])turm",
    "ship": r"\bship|galleon|\bboat|schiff|galeone|\bboot",
}
_ELEMENT_RE = {k: re.compile(v, re.IGNORECASE) for k, v in _ELEMENTS.items()}


def _f(x: float) -> str:
    return f"{x:.1f}".rstrip("0").rstrip(".")


def read_prompt(prompt: str, theme_id: str) -> tuple[str, set[str]]:
    """(scene, elements) of a picture prompt "Title. Summary (Place)" (see the module doc)."""
    title, _, summary = prompt.partition(". ")
    place = summary[summary.rfind("(") + 1:].rstrip(")") if summary.endswith(")") else ""
    scene = ""
    for part in (place, summary, title):   # the earliest scene word of the first part with one
        hits = [(m.start(), i, name) for i, (name, rx) in enumerate(_SCENE_RE)
                if (m := rx.search(part))]
        if hits:
            scene = min(hits)[2]
            break
    elements = {k for k, rx in _ELEMENT_RE.items() if rx.search(prompt)}
    return scene or THEME_SCENE.get(theme_id, "forest"), elements


class _Pen:
    """Collects SVG elements in palette colours p0 (darkest) … p3 (lightest)."""

    def __init__(self, w: int, h: int, p: list[str], rng: random.Random) -> None:
        self.w, self.h, self.p, self.rng, self.out = w, h, p, rng, list[str]()

    def rect(self, x: float, y: float, w: float, h: float, c: int, op: float = 1.0) -> None:
        self.out.append(f'<rect x="{_f(x)}" y="{_f(y)}" width="{_f(w)}" height="{_f(h)}" '
                        f'fill="{self.p[c]}"{_op(op)}/>')

    def circle(self, x: float, y: float, r: float, c: int, op: float = 1.0) -> None:
        self.out.append(f'<circle cx="{_f(x)}" cy="{_f(y)}" r="{_f(r)}" fill="{self.p[c]}"'
                        f'{_op(op)}/>')

    def ellipse(self, x: float, y: float, rx: float, ry: float, c: int, op: float = 1.0) -> None:
        self.out.append(f'<ellipse cx="{_f(x)}" cy="{_f(y)}" rx="{_f(rx)}" ry="{_f(ry)}" '
                        f'fill="{self.p[c]}"{_op(op)}/>')

    def poly(self, pts: list[tuple[float, float]], c: int, op: float = 1.0) -> None:
        joined = " ".join(f"{_f(x)},{_f(y)}" for x, y in pts)
        self.out.append(f'<polygon points="{joined}" fill="{self.p[c]}"{_op(op)}/>')

    def path(self, d: str, c: int, op: float = 1.0) -> None:
        self.out.append(f'<path d="{d}" fill="{self.p[c]}"{_op(op)}/>')


def _op(op: float) -> str:
    return "" if op >= 1 else f' opacity="{_f(op)}"'


def _hills(pen: _Pen, base: float, c: int, rough: float = 0.08, steps: int = 6) -> None:
    """A range of hills; colour 1 means the far range: the darkest colour, half transparent,
    so it stands out against a sky that fades through colour 1."""
    w, h, rng = pen.w, pen.h, pen.rng
    pts = [(w * i / steps, base - rng.uniform(0, h * rough)) for i in range(steps + 1)]
    d = f"M0 {_f(h)} L0 {_f(pts[0][1])} " + " ".join(
        f"Q{_f(x - w / steps / 2)} {_f(y - h * 0.04)} {_f(x)} {_f(y)}" for x, y in pts[1:])
    pen.path(d + f" L{_f(w)} {_f(h)} Z", 0 if c == 1 else c, 0.55 if c == 1 else 1.0)


def _tree(pen: _Pen, x: float, ground: float, size: float, c: int) -> None:
    pen.poly([(x - size * 0.3, ground), (x, ground - size), (x + size * 0.3, ground)], c)
    pen.poly([(x - size * 0.22, ground - size * 0.35), (x, ground - size * 1.25),
              (x + size * 0.22, ground - size * 0.35)], c)


def _tower(pen: _Pen, x: float, ground: float, tw: float, th: float, c: int) -> None:
    pen.rect(x - tw / 2, ground - th, tw, th, c)
    for i in range(3):   # battlements
        pen.rect(x - tw / 2 + i * tw * 0.4, ground - th - tw * 0.25, tw * 0.2, tw * 0.25, c)
    pen.rect(x - tw * 0.08, ground - th * 0.7, tw * 0.16, th * 0.12, 2, 0.9)   # a lit window


def _ship(pen: _Pen, x: float, water: float, size: float, c: int) -> None:
    pen.poly([(x - size, water - size * 0.25), (x + size, water - size * 0.25),
              (x + size * 0.7, water + size * 0.1), (x - size * 0.7, water + size * 0.1)], c)
    pen.rect(x - size * 0.03, water - size * 1.4, size * 0.06, size * 1.15, c)
    pen.poly([(x + size * 0.05, water - size * 1.3), (x + size * 0.7, water - size * 0.4),
              (x + size * 0.05, water - size * 0.4)], 3, 0.85)
    pen.poly([(x - size * 0.05, water - size * 1.1), (x - size * 0.6, water - size * 0.4),
              (x - size * 0.05, water - size * 0.4)], 3, 0.7)


def _water(pen: _Pen, top: float) -> None:
    pen.rect(0, top, pen.w, pen.h - top, 0, 0.75)
    pen.rect(0, top, pen.w, pen.h * 0.006, 3, 0.5)                          # the horizon
    pen.rect(pen.w * 0.45, top, pen.w * 0.1, pen.h - top, 2, 0.18)          # a path of light
    for _ in range(24):
        y = pen.rng.uniform(top + pen.h * 0.02, pen.h)
        x = pen.rng.uniform(0, pen.w)
        pen.rect(x, y, pen.w * pen.rng.uniform(0.03, 0.09), pen.h * 0.004, 3, 0.35)


def _draw_scene(pen: _Pen, scene: str, elements: set[str]) -> None:  # noqa: C901 — one table
    w, h, rng = pen.w, pen.h, pen.rng
    if scene in ("sea", "ship"):
        _water(pen, h * 0.62)
        if scene == "ship" or "ship" in elements:
            _ship(pen, w * rng.uniform(0.35, 0.65), h * 0.66, h * 0.16, 0)
        if scene == "sea":
            pen.path(f"M0 {_f(h)} L0 {_f(h * 0.8)} Q{_f(w * 0.15)} {_f(h * 0.7)} "
                     f"{_f(w * 0.3)} {_f(h * 0.82)} L{_f(w * 0.3)} {_f(h)} Z", 0)   # a rocky shore
    elif scene == "lake":
        _hills(pen, h * 0.6, 1)
        _water(pen, h * 0.68)
        for x in (w * 0.1, w * 0.85):
            _tree(pen, x, h * 0.69, h * 0.18, 0)
    elif scene == "forest":
        _hills(pen, h * 0.62, 1)
        for i in range(14):
            x = w * (i + rng.uniform(0, 0.8)) / 13
            _tree(pen, x, h * rng.uniform(0.78, 0.95), h * rng.uniform(0.2, 0.36), 0)
    elif scene == "castle":
        _hills(pen, h * 0.66, 1)
        cx, ground = w * rng.uniform(0.4, 0.6), h * 0.7
        pen.rect(cx - w * 0.12, ground - h * 0.18, w * 0.24, h * 0.18, 0)
        for dx in (-0.13, 0.13):
            _tower(pen, cx + w * dx, ground, w * 0.06, h * 0.3, 0)
        _tower(pen, cx, ground, w * 0.07, h * 0.42, 0)
        pen.path(f"M{_f(cx - w * 0.03)} {_f(ground)} a{_f(w * 0.03)} {_f(w * 0.03)} 0 0 1 "
                 f"{_f(w * 0.06)} 0 Z", 2, 0.8)   # the gate
        _hills(pen, h * 0.86, 0, 0.04)
    elif scene == "city":
        for depth in (0, 1):
            x = 0.0
            while x < w:
                bw = rng.uniform(w * 0.04, w * 0.1)
                bh = rng.uniform(h * 0.15, h * (0.5 - 0.15 * depth))
                top = h * (0.8 + 0.08 * depth) - bh
                pen.rect(x, top, bw, h - top, 0, 0.6 if depth == 0 else 1.0)
                for _ in range(int(bh / (h * 0.05))):
                    pen.rect(x + rng.uniform(0.1, 0.7) * bw, rng.uniform(top + h * 0.02, h * 0.95),
                             bw * 0.15, h * 0.015, 2, 0.9)
                x += bw + rng.uniform(0, w * 0.01)
    elif scene == "station":
        pen.circle(w * rng.uniform(0.15, 0.3), h * 1.05, h * 0.5, 1)        # a planet below
        cx, cy, r = w * rng.uniform(0.55, 0.75), h * 0.42, h * 0.2
        pen.ellipse(cx, cy, r * 1.6, r * 0.45, 3, 0.35)                      # the ring
        pen.ellipse(cx, cy, r * 1.3, r * 0.3, 0)
        pen.rect(cx - r * 0.15, cy - r * 1.1, r * 0.3, r * 2.2, 1)           # the spine
        pen.circle(cx, cy, r * 0.45, 1)
        for i in range(7):                                                  # docking lights
            pen.circle(cx + r * 1.3 * (i / 3 - 1), cy, h * 0.008, 2)
    elif scene == "ruins":
        _hills(pen, h * 0.7, 1, 0.05)
        pen.rect(w * 0.2, h * 0.72, w * 0.6, h * 0.04, 0)                    # a broken temple
        for i in range(6):
            x = w * (0.24 + i * 0.1)
            pen.rect(x, h * rng.uniform(0.38, 0.55), w * 0.035, h * 0.4, 0)
        pen.poly([(w * 0.2, h * 0.4), (w * 0.5, h * 0.28), (w * 0.62, h * 0.36)], 0)
        for _ in range(10):                                                 # vines
            pen.circle(w * rng.uniform(0.2, 0.8), h * rng.uniform(0.4, 0.7), h * 0.02, 1, 0.9)
        _hills(pen, h * 0.88, 0, 0.03)
    elif scene == "desert":
        for depth, op in enumerate((0.55, 1.0)):
            base = h * (0.68 + 0.14 * depth)
            pen.path(f"M0 {_f(h)} L0 {_f(base)} Q{_f(w * 0.25)} {_f(base - h * 0.12)} "
                     f"{_f(w * 0.5)} {_f(base)} T{_f(w)} {_f(base)} L{_f(w)} {_f(h)} Z", 0, op)
        x = w * rng.uniform(0.6, 0.85)
        pen.rect(x, h * 0.6, w * 0.015, h * 0.22, 0)                          # a broken column
        pen.rect(x + w * 0.03, h * 0.66, w * 0.015, h * 0.16, 0)
    elif scene == "cave":
        pen.rect(0, 0, w, h, 0)
        pen.path(f"M{_f(w * 0.15)} {_f(h)} Q{_f(w * 0.15)} {_f(h * 0.08)} {_f(w * 0.5)} "
                 f"{_f(h * 0.08)} Q{_f(w * 0.85)} {_f(h * 0.08)} {_f(w * 0.85)} {_f(h)} Z", 1, 0.9)
        for i in range(12):                                                  # stalactites
            x = w * (0.18 + 0.64 * (i + rng.uniform(0, 1)) / 12)
            pen.poly([(x - w * 0.02, 0), (x, h * rng.uniform(0.15, 0.35)), (x + w * 0.02, 0)], 0)
        for i in range(8):                                                   # stalagmites
            x = w * (0.18 + 0.64 * (i + rng.uniform(0, 1)) / 8)
            pen.poly([(x - w * 0.025, h), (x, h * rng.uniform(0.75, 0.9)), (x + w * 0.025, h)], 0)
        pen.circle(w * 0.5, h * 0.72, h * 0.07, 2, 0.3)                       # a glow inside
    elif scene in ("cafe", "lab", "house"):
        if scene == "house":
            _hills(pen, h * 0.75, 1, 0.05)
            hx, hy = w * rng.uniform(0.35, 0.6), h * 0.76
            pen.rect(hx - w * 0.14, hy - h * 0.28, w * 0.28, h * 0.28, 0)
            pen.poly([(hx - w * 0.17, hy - h * 0.28), (hx, hy - h * 0.48),
                      (hx + w * 0.17, hy - h * 0.28)], 0)
            for dx in (-0.08, 0.05):
                pen.rect(hx + w * dx, hy - h * 0.2, w * 0.04, h * 0.07, 2, 0.8)
            for x in (w * 0.12, w * 0.85):   # bare trees
                pen.rect(x, h * 0.45, w * 0.01, h * 0.35, 0)
                pen.poly([(x, h * 0.55), (x - w * 0.05, h * 0.42), (x + w * 0.005, h * 0.52)], 0)
        else:   # an interior: a window on the sky, a table or a bench
            pen.rect(0, 0, w, h, 0)
            pen.rect(w * 0.25, h * 0.1, w * 0.5, h * 0.45, 1, 0.9)
            pen.rect(w * 0.495, h * 0.1, w * 0.01, h * 0.45, 0)
            pen.rect(0, h * 0.72, w, h * 0.05, 1)
            if scene == "cafe":
                pen.rect(w * 0.38, h * 0.64, w * 0.06, h * 0.08, 3)           # two cups
                pen.rect(w * 0.56, h * 0.64, w * 0.06, h * 0.08, 3)
                pen.circle(w * 0.5, h * 0.06, h * 0.04, 2)                    # a lamp
            else:
                for i in range(5):                                            # flasks
                    x = w * (0.15 + i * 0.17)
                    pen.circle(x, h * 0.66, h * 0.05, 2 + i % 2, 0.9)
                    pen.rect(x - w * 0.008, h * 0.56, w * 0.016, h * 0.07, 3, 0.9)
    elif scene == "snow":
        _hills(pen, h * 0.55, 1, 0.25, 9)
        _hills(pen, h * 0.75, 3, 0.05)
        for _ in range(5):
            _tree(pen, w * rng.uniform(0.05, 0.95), h * rng.uniform(0.8, 0.95), h * 0.15, 0)
    else:   # garden / fair / village
        _hills(pen, h * 0.65, 1)
        for i in range(5):
            x = w * (0.1 + i * 0.2)
            pen.rect(x, h * 0.55, w * 0.004, h * 0.3, 0)
            pen.circle(x, h * 0.55, h * 0.025, 2, 0.9)                       # lanterns
        for _ in range(40):
            pen.circle(w * rng.uniform(0, 1), h * rng.uniform(0.8, 1), h * 0.01,
                       rng.choice((2, 3)), 0.9)
    if "tower" in elements and scene in ("forest", "lake", "desert", "garden", "snow", "sea",
                                         "ruins"):
        _tower(pen, w * rng.uniform(0.7, 0.9), h * 0.72, w * 0.05, h * 0.3, 0)


def render_scene(request: ImageRequest) -> str:
    """The SVG text of the picture for this request (deterministic per seed)."""
    w, h = max(request.width, 16), max(request.height, 16)
    theme = request.theme
    palette = [c for c in theme.palette if _COLOUR.match(c)]
    p = (palette + list(_FALLBACK[len(palette):]))[:4] if len(palette) < 4 else palette[:4]
    rng = random.Random(f"offline-image:{request.seed}:{theme.id}")
    scene, elements = read_prompt(f"{request.title}. {request.prompt}", theme.id)
    indoor = scene in ("cafe", "lab", "cave")
    night = ("moon" in elements or theme.id in NIGHT_THEMES) and "sun" not in elements
    pen = _Pen(w, h, p, rng)
    pen.out += [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" '
                f'viewBox="0 0 {w} {h}" role="img" data-scene="{scene}">',
                f"<title>{escape(request.title)}</title>",
                '<defs><linearGradient id="sky" x1="0" y1="0" x2="0" y2="1">'
                f'<stop offset="0" stop-color="{p[0]}"/><stop offset="0.7" stop-color="{p[1]}"/>'
                f'<stop offset="1" stop-color="{p[2]}"/></linearGradient></defs>',
                f'<rect width="{w}" height="{h}" fill="url(#sky)"/>']
    if night or "stars" in elements or scene == "station":
        for _ in range(rng.randint(30, 70)):
            pen.circle(rng.uniform(0, w), rng.uniform(0, h * 0.6), rng.uniform(0.5, 2.0) * h / 576,
                       3, rng.uniform(0.4, 1.0))
    if scene != "station":
        pen.circle(rng.uniform(w * 0.15, w * 0.85), rng.uniform(h * 0.12, h * 0.3),
                   h * rng.uniform(0.06, 0.1), 3 if night else 2, 0.9)   # moon or sun
    _draw_scene(pen, scene, elements)
    if "rain" in elements and not indoor:
        for _ in range(90):
            x, y = rng.uniform(0, w), rng.uniform(0, h)
            pen.out.append(f'<line x1="{_f(x)}" y1="{_f(y)}" x2="{_f(x - w * 0.01)}" '
                           f'y2="{_f(y + h * 0.05)}" stroke="{p[3]}" stroke-width="1" '
                           'opacity="0.35"/>')
    if ("snow" in elements or scene == "snow") and not indoor:
        for _ in range(70):
            pen.circle(rng.uniform(0, w), rng.uniform(0, h), h * 0.005, 3, 0.8)
    if "fog" in elements or theme.id == "horror":
        pen.rect(0, h * 0.55, w, h * 0.45, 3, 0.14)
    pen.out.append("</svg>")
    return "\n".join(pen.out)
