"""All word banks of the offline storyteller, by theme id, read once from the package data
(`storyd/storyteller/banks/*.json`, see `storyd.storyteller.bank`)."""

from __future__ import annotations

import msgspec

from storyd.storyteller.bank import Bank, Person, load_bank, shipped_themes

BANKS: dict[str, Bank] = {theme: load_bank(theme) for theme in shipped_themes()}


def bank_for(theme_id: str, lang: str) -> Bank:
    """The theme's bank (adventure for an unknown theme), names in the story's language:
    a German story says "Kapitänin Nell" where an English one says "Captain Nell"."""
    bank = BANKS.get(theme_id, BANKS["adventure"])
    if lang != "de":
        return bank

    def german(people: tuple[Person, ...]) -> tuple[Person, ...]:
        return tuple(msgspec.structs.replace(p, name=p.de_name or p.name) for p in people)
    return msgspec.structs.replace(bank, heroes=german(bank.heroes), friends=german(bank.friends),
                                   foes=german(bank.foes))
