"""The public, read-only page of a finished story (`GET /stories/<id>`): its title, logline,
branch map, and every chapter with its picture, its choices (the chosen one marked, with its
share of the votes) and the roads not taken, folded.

Text only: every story string goes through `html.escape`, pictures are the media cache's own
URLs, there is no script. No admin data (no settings, memory, providers, prompts) and no
viewer: neither ids nor names. Its own words are in the story's language
(storyd/core/story_words.py).
"""

from __future__ import annotations

import html
import math
import re

from storyd.core.langtag import html_lang
from storyd.core.recap_view import MapNode, RecapView
from storyd.core.replies import SessionDetail
from storyd.core.story_words import ENGLISH, StoryWords, story_words

MEDIA_RE = re.compile(r"^[A-Za-z0-9_-]{1,128}\.(png|jpg|jpeg|webp|svg)$")
KEYS = "ABCDEF"
CSS = """
body{margin:0;background:#0e1020;color:#f2f2f7;font:18px/1.6 Georgia,"DejaVu Serif",serif}
main{max-width:46em;margin:0 auto;padding:2em 1em}
h1{font-size:2em;line-height:1.2;margin:.2em 0}.kicker{color:#ffb703;font:700 .8em system-ui,
sans-serif;letter-spacing:.12em;text-transform:uppercase}.logline{color:#c8cbe0;font-size:1.15em}
svg{width:100%;height:auto;margin:1em 0}section{margin:2.5em 0}img{width:100%;border-radius:12px}
li.chosen{font-weight:bold}li.chosen::marker{color:#ffb703}details{margin:.8em 0;padding:.3em 1em;
border-left:3px solid #6c5ce7;color:#c8cbe0}summary{cursor:pointer;font-style:italic}
.share{color:#ffb703;font-size:.9em}footer{color:#8a8fb0;font-size:.85em;margin-top:3em}
"""


def _key(i: int) -> str:
    return KEYS[i] if 0 <= i < len(KEYS) else str(i + 1)


def map_svg(nodes: tuple[MapNode, ...], width: int = 900, words: StoryWords = ENGLISH) -> str:
    """The branch map as inline SVG: nodes in snaking rows, the taken path bold, the other
    choices as stubs (ringed when their branch was written)."""
    if not nodes:
        return ""
    n = len(nodes)
    per_row = max(1, min(n, width // 100))
    rows = math.ceil(n / per_row)
    dx, dy = width / per_row, 130.0
    r = max(12.0, min(26.0, dx * 0.22))
    pts = []
    for i in range(n):
        row, col = divmod(i, per_row)
        pts.append((dx * ((per_row - 1 - col) if row % 2 else col) + dx / 2, dy * row + 50))
    out = [f'<svg viewBox="0 0 {width} {int(dy * rows)}" role="img" '
           f'aria-label="{html.escape(words.map_label)}">']
    out += [f'<line x1="{a[0]:.0f}" y1="{a[1]:.0f}" x2="{b[0]:.0f}" y2="{b[1]:.0f}" '
            'stroke="#ffb703" stroke-width="7"/>' for a, b in zip(pts, pts[1:], strict=False)]
    for node, (x, y) in zip(nodes, pts, strict=True):
        others = [j for j in range(node.choices) if j != node.chosen]
        for k, j in enumerate(others):
            a = math.radians(200 + 140 * (k + 1) / (len(others) + 1))
            ex, ey = x + math.cos(a) * r * 1.7, y - math.sin(a) * r * 1.7
            colour = "#a08cff" if j in node.written else "#6e7696"
            out.append(f'<line x1="{x:.0f}" y1="{y:.0f}" x2="{ex:.0f}" y2="{ey:.0f}" '
                       f'stroke="{colour}" stroke-width="3"/>')
            if j in node.written:
                out.append(f'<circle cx="{ex:.0f}" cy="{ey:.0f}" r="5" fill="none" '
                           f'stroke="{colour}" stroke-width="2"/>')
        out.append(f'<circle cx="{x:.0f}" cy="{y:.0f}" r="{r:.0f}" fill="#ffb703" '
                   'stroke="#fff" stroke-width="3"/>')
        out.append(f'<text x="{x:.0f}" y="{y + 6:.0f}" text-anchor="middle" font-size="18" '
                   f'font-weight="700" fill="#0e1020">{node.number}</text>')
        if node.chosen is not None:
            share = "" if node.share is None else f" {round(node.share * 100)}%"
            out.append(f'<text x="{x:.0f}" y="{y + r + 22:.0f}" text-anchor="middle" '
                       f'font-size="17" fill="#f2f2f7">{_key(node.chosen)}{share}</text>')
    out.append("</svg>")
    return "".join(out)


def render_story_page(s: SessionDetail, view: RecapView) -> str:
    e = html.escape
    words = story_words(s.language)
    shares = {n.number: n for n in view.nodes}
    branches: dict[int, list[str]] = {}
    for b in s.branches:
        body = "".join(f"<p>{e(p)}</p>" for p in b.text.split("\n") if p.strip())
        branches.setdefault(b.after_chapter, []).append(
            f"<details><summary>{e(words.road_not_taken)} ({_key(b.choice)}): {e(b.title)}"
            "</summary>"
            f"{body}</details>")
    parts = []
    for ch in s.chapters:
        pic = (f'<img src="/api/interactive-story/image/{e(ch.image)}" alt="">'
               if ch.image and MEDIA_RE.match(ch.image) else "")
        text = "".join(f"<p>{e(p)}</p>" for p in ch.text.split("\n") if p.strip())
        node = shares.get(ch.number)
        items = []
        for i, c in enumerate(ch.choices):
            chosen = ch.chosen == i
            share = (f' <span class="share">{round(node.share * 100)}%</span>'
                     if chosen and node is not None and node.share is not None else "")
            items.append(f'<li{" class=chosen" if chosen else ""}>{e(c)}{share}</li>')
        choices = f"<ol type=A>{''.join(items)}</ol>" if items else ""
        kicker = words.final_chapter if ch.closing else words.chapter(ch.number)
        parts.append(f"<section><div class=kicker>{e(kicker)}</div>"
                     f"<h2>{e(ch.title)}</h2>{pic}{text}{choices}"
                     f"{''.join(branches.get(ch.number, []))}</section>")
    return (f"<!doctype html><html lang={e(html_lang(s.language))}><head><meta charset=utf-8>"
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{e(view.title)}</title><style>{CSS}</style></head><body><main>"
            f"<div class=kicker>{e(view.theme_name)}</div><h1>{e(view.title)}</h1>"
            f"<p class=logline>{e(view.logline)}</p>{map_svg(view.nodes, words=words)}"
            f"{''.join(parts)}<footer>{e(words.told_live)}</footer></main></body></html>\n")
