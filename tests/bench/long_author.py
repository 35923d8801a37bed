"""A model that writes long-form chapters for the overlay watcher (tests/bench/watch_overlay.py).

`long_author(req)` answers storyd's chapter prompt the way a real model does for
`words_per_chapter = 350`, `choices = 6`: sentences of 8–40 words with dialogue in quotes,
some unicode (accents, em dashes, „German" quotes, a CJK name, an emoji now and then), an
occasional very long word, a title of up to ~60 characters and six choices of ~110 characters.
Deterministic per chapter number.
"""

from __future__ import annotations

import random
import re
from typing import Any

NAMES = ("Mira", "Élodie", "Vorn", "Søren", "Zoë", "Björn", "Ayşe", "Kōji", "Renée", "Ödön",
         "Li Wei 李伟", "Ngozi")
PLACES = ("the drowned chapel", "Château d'Ombre", "the Glass Market of Üsküdar",
          "the salt-white lighthouse", "Straße der Laternen", "the orchard beyond the weir",
          "the clocktower's cracked belfry", "the flooded catacombs")
THINGS = ("a cracked silver key", "the lantern that never goes out", "a map drawn in soot",
          "Grandmother's music box", "the ledger of debts", "a jar of captured fog")
LONG = ("Donaudampfschifffahrtsgesellschaftskapitän", "antidisestablishmentarianism",
        "Rindfleischetikettierungsüberwachungsaufgabenübertragungsgesetz",
        "pneumonoultramicroscopicsilicovolcanoconiosis")
VERBS = ("walks", "hurries", "creeps", "stumbles", "wanders", "marches")
CLAUSES = ("while ravens argue above the broken bell tower",
           "although the rain has not stopped since the night the river changed its course",
           "and somewhere below, the water whispers old names nobody dares to answer",
           "because the bargain struck at midnight still has to be paid in full",
           "— and nobody, not even the oldest fisherman, remembers a night this dark",
           "as the lanterns flicker in a wind that smells of salt, smoke and something older",
           "with the distant sound of bells ringing for a wedding that never happened")
CHOICE_VERBS = ("Follow", "Confront", "Bargain with", "Hide from", "Trust", "Warn",
                "Rescue", "Spy on", "Lie to", "Sneak past")


def _sentence(rng: random.Random, chapter: int) -> str:
    who, where, what = rng.choice(NAMES), rng.choice(PLACES), rng.choice(THINGS)
    kind = rng.randrange(6)
    if kind == 0:
        return (f"„We cannot wait for {rng.choice(NAMES)} any longer,\" says {who}, turning "
                f"{what} over and over in trembling hands, \"not after what we saw in {where}.\"")
    if kind == 1:
        return f"{who} {rng.choice(VERBS)} towards {where} {rng.choice(CLAUSES)}."
    if kind == 2:
        return (f"Nobody speaks; {who} only points at {what}, and the silence stretches until "
                f"it is almost unbearable — then a door slams somewhere in {where}.")
    if kind == 3:
        return f"“{rng.choice(('Run!', 'Wait…', 'Listen.', 'Not yet.'))}” whispers {who}."
    if kind == 4:
        return (f"The old sign reads {rng.choice(LONG)}, which {who} cannot pronounce, and the "
                f"joke costs them a precious minute 🙂.")
    return (f"It is late when {who} finally finds {what}, wrapped in oilcloth and hidden under "
            f"the floorboards of {where}, exactly where the letter said it would be, "
            f"{rng.choice(CLAUSES)}.")


TAILS = ("before the tide comes back in", "even if it means losing the map forever",
         "and pray that the ravens keep quiet tonight", "whatever the old fisherman says",
         "no matter how loudly the bells ring", "and never look back at the lighthouse")


def _choices(rng: random.Random, k: int) -> list[str]:
    """k distinct choices of about 110 characters (the longest clause set that fits in 115)."""
    verbs, names = rng.sample(CHOICE_VERBS, k), rng.sample(NAMES, k)
    places, things = rng.sample(PLACES * 2, k), rng.sample(THINGS * 2, k)
    tails = rng.sample(TAILS * 2, k)
    out: list[str] = []
    for i in range(k):
        shape = (i + rng.randrange(3)) % 3
        if shape == 0:
            parts = [f"{verbs[i]} {names[i]} through {places[i]}",
                     f"risking everything for {things[i]}", tails[i]]
        elif shape == 1:
            parts = [f"Go back to {places[i]} with {names[i]}",
                     f"{verbs[i].lower()} whoever guards {things[i]}", tails[i]]
        else:
            parts = [f"Leave {things[i]} behind", f"{verbs[i].lower()} {names[i]}",
                     f"and head for {places[i]} {tails[i]}"]
        c = parts[0]
        for p in parts[1:]:
            if len(c) + len(p) + 2 <= 115:
                c = f"{c}, {p}"
        for extra in (" — alone and before the bells ring at midnight", " — tonight, alone",
                      " — alone", " tonight"):
            if len(c) < 104 and len(c) + len(extra) <= 115:
                c += extra
                break
        out.append(c + ("!" if i % 3 == 0 else ""))
    return out


def long_author(req: dict[str, Any]) -> dict[str, Any] | str:
    prompt = str(req["messages"][-1]["content"])
    if "outline for a new story" in prompt:
        return ("Mira, a lighthouse keeper's daughter, must return the lantern that never goes "
                "out before the flooded city drowns the last of its bells.")
    n = int(m.group(1)) if (m := re.search(r"Write chapter (\d+)", prompt)) else 1
    words = int(m.group(1)) if (m := re.search(r"about (\d+) words", prompt)) else 350
    k = int(m.group(1)) if (m := re.search(r"offer exactly (\d+) short", prompt)) else 0
    rng = random.Random(1000 + n)
    sentences: list[str] = []
    while sum(len(s.split()) for s in sentences) < words:
        sentences.append(_sentence(rng, n))
    title = ("Where the Drowned Bells Ring at Midnight, and Nobody Answers",
             "The Lantern That Never Goes Out", "Château d'Ombre",
             "„Wir warten nicht länger\"", "Kōji's Bargain")[(n - 1) % 5]
    choices = _choices(rng, k)
    return {"title": title, "text": " ".join(sentences), "choices": choices,
            "summary": f"Chapter {n}: Mira searched {rng.choice(PLACES)} for the lantern.",
            "memory": {"characters": [{"name": "Mira", "note": "keeper's daughter",
                                       "role": "heroine", "alive": True}],
                       "places": [{"name": "Château d'Ombre", "note": "drowned"}],
                       "items": [{"name": "lantern", "note": "never goes out"}],
                       "event": f"Chapter {n} happened."},
            "lines": []}
