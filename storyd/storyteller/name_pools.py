"""Fresh names to offer a model for a new story: per language, per theme (data only).

Models reuse a handful of names (Elara, Lyra, Kael, Thorne, Voss …; see core/craft.py); a
plan request offers a few names drawn from these pools instead, seeded per story so the same
story is offered the same names. None of these is on the overused list.
"""

from __future__ import annotations

import random

from storyd.core.craft import is_overused_name, lang_code

_POOLS: dict[str, dict[str, tuple[str, ...]]] = {
    "en": {
        "legend": ("Wenna Hollis", "Oskar Brand", "Tamsin Rook", "Idris Vale", "Maud Fenner",
                   "Caspar Wynn", "Nessa Quill", "Bertil Ashdown", "Ottilie March",
                   "Rufus Pryce", "Agnes Thimble", "Hollis Crane", "Sabine Holt", "Emrys Dunn"),
        "modern": ("Dora Whitcombe", "Felix Okafor", "June Abernethy", "Ravi Castellan",
                   "Peggy Lund", "Tobias Marsh", "Winnie Achebe", "Leon Papadakis",
                   "Harriet Cole", "Mateo Ferrer", "Beatrix Lowe", "Sol Adeyemi",
                   "Gus Halloran", "Imogen Tate"),
        "future": ("Juno Okonkwo", "Tycho Brandt", "Suri Valdez", "Anselm Greer",
                   "Pixie Marlowe", "Dax Ironwood", "Ilse Navarro", "Quill Obasi",
                   "Remy Castor", "Hana Volkov", "Otto Zeller", "Nell Kestrel",
                   "Bodhi Lark", "Yara Mendes"),
    },
    "de": {
        "legend": ("Hedda Ruhl", "Tjark Ober", "Wiebke Sand", "Arvid Kranich",
                   "Gesa Wintermoor", "Lorenz Eichhorn", "Frieda Holm", "Jorin Falkner",
                   "Imke Brandt", "Ansgar Lindqvist", "Greta Steinmetz", "Wendelin Rapp",
                   "Ottilie Moos", "Bent Harder"),
        "modern": ("Paula Brenner", "Kemal Aydın", "Lotte Hansen", "Mirko Petersen",
                   "Svenja Rademacher", "Theo Lindemann", "Ida Wolters", "Cem Yıldız",
                   "Rieke Albers", "Henning Voigt", "Marlene Krüger", "Jannik Ott",
                   "Birte Lorenzen", "Anton Schäfer"),
        "future": ("Nova Kessler", "Ilja Brandes", "Merit Sander", "Kaspar Oyelaran",
                   "Tilda Renz", "Oskar Nakamura", "Lene Fährmann", "Jaro Wendt",
                   "Smilla Dorn", "Bosse Kaiser", "Yuna Fuchs", "Ruben Eckhart",
                   "Ella Sommerfeld", "Mats Grünberg"),
    },
}
_FAMILY = {"fantasy": "legend", "furry_fantasy": "legend", "adventure": "legend",
           "mystery": "modern", "romance": "modern", "comedy": "modern", "superhero": "modern",
           "horror": "modern", "scifi": "future", "cyberpunk": "future",
           "furry_scifi": "future", "postapocalyptic": "future"}


def offer_names(theme_id: str, language: str, seed: int, k: int = 6) -> tuple[str, ...]:
    """`k` names for a new story of this theme and language, the same for the same seed."""
    lang = lang_code(language)
    pool = [n for n in _POOLS[lang][_FAMILY.get(theme_id, "modern")]
            if not is_overused_name(n, language)]
    random.Random(f"names:{seed}:{theme_id}:{lang}").shuffle(pool)
    return tuple(pool[:k])
