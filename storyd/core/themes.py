"""The theme catalogue: the older plugin's 12 themes, with prompt and picture style lines."""

from __future__ import annotations

import random

from storyd.core.model import Theme

_T = Theme

THEMES: dict[str, Theme] = {t.id: t for t in (
    _T(id="fantasy", name="Fantasy",
       style="high fantasy with ancient magic, old kingdoms and mythical creatures",
       tone="wondrous, heroic, with moments of danger",
       image_style="epic fantasy painting, golden light, misty mountains, detailed",
       palette=("#1b1033", "#4b2a7b", "#c9a227", "#f4e3b2")),
    _T(id="cyberpunk", name="Cyberpunk",
       style="neon-soaked megacity, corporations, hackers and augmented bodies",
       tone="gritty, fast, rebellious",
       image_style="cyberpunk, neon lights, futuristic city at night, rain, cinematic",
       palette=("#0a0418", "#2b0b5e", "#ff2a6d", "#05d9e8")),
    _T(id="horror", name="Horror",
       style="creeping dread in an isolated place, something wrong in the dark",
       tone="tense, eerie, unsettling but not gory",
       image_style="dark horror atmosphere, eerie lighting, fog, muted colours",
       palette=("#050505", "#2a1a1a", "#6b0f1a", "#c8c2b4")),
    _T(id="scifi", name="Science Fiction",
       style="starships, distant planets, strange science and first contact",
       tone="curious, awe-struck, thoughtful",
       image_style="science fiction concept art, spaceship, nebula, volumetric light",
       palette=("#020b1c", "#0b3c5d", "#328cc1", "#d9e7f2")),
    _T(id="mystery", name="Mystery",
       style="a detective story of clues, suspects and hidden motives",
       tone="clever, suspenseful, atmospheric",
       image_style="noir mystery illustration, lamplight, long shadows, 1920s",
       palette=("#0f0f14", "#2d2a32", "#8c7a5b", "#e6d5a8")),
    _T(id="adventure", name="Adventure",
       style="a journey through jungles, ruins and seas in search of treasure",
       tone="bold, energetic, optimistic",
       image_style="adventure illustration, lush jungle, ancient ruins, bright daylight",
       palette=("#0d2818", "#04471c", "#f2a541", "#f8f1e5")),
    _T(id="furry_fantasy", name="Furry Fantasy",
       style="a fantasy realm of anthropomorphic animal folk, clans and enchanted forests",
       tone="warm, playful, adventurous",
       image_style="anthropomorphic animal characters, storybook fantasy art, soft colours",
       palette=("#1d2b1f", "#3f6b3a", "#e8a33d", "#fbe8c8")),
    _T(id="furry_scifi", name="Furry Sci-Fi",
       style="anthropomorphic animal crews on starships and space stations",
       tone="upbeat, witty, adventurous",
       image_style="anthropomorphic animal astronauts, colourful sci-fi art, space station",
       palette=("#0b1026", "#29366f", "#ff9f1c", "#cbf3f0")),
    _T(id="romance", name="Romance",
       style="two hearts, a charming town, misunderstandings and a slow-burning bond",
       tone="tender, witty, hopeful",
       image_style="romantic illustration, warm sunset light, soft focus, pastel colours",
       palette=("#2b0f1e", "#7a2e4f", "#f28ab2", "#fde2e4")),
    _T(id="superhero", name="Superhero",
       style="masked heroes, secret identities and a city that needs saving",
       tone="dramatic, action-packed, with humour",
       image_style="comic book art, dynamic pose, bold colours, city skyline",
       palette=("#0d1b2a", "#1b4079", "#e63946", "#ffd166")),
    _T(id="postapocalyptic", name="Post-Apocalyptic",
       style="survivors in a ruined world, scarce resources and fragile hope",
       tone="harsh, resilient, quietly hopeful",
       image_style="post-apocalyptic wasteland, dust, rusted ruins, dramatic sky",
       palette=("#1a1410", "#4a3b2a", "#b5651d", "#e0c9a6")),
    _T(id="comedy", name="Comedy",
       style="absurd situations, lovable fools and plans that go hilariously wrong",
       tone="light, silly, good-natured",
       image_style="cartoon illustration, bright colours, exaggerated expressions",
       palette=("#1f1235", "#ff6e6c", "#ffd803", "#fffffe")),
)}


def get_theme(theme_id: str, rng: random.Random | None = None) -> Theme:
    """The theme with this id; "random" picks one. Raises KeyError for an unknown id."""
    if theme_id == "random":
        return (rng or random.Random()).choice(list(THEMES.values()))
    return THEMES[theme_id]


def shuffle_pick(rng: random.Random, k: int = 5) -> list[Theme]:
    """k distinct themes at random (the older picker offered 5)."""
    return rng.sample(list(THEMES.values()), k)
