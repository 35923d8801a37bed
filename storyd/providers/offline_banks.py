"""All word banks of the offline storyteller, by theme id, with each theme's way for the
antagonist to leave the story (the others use the storyteller's own closing lines)."""

from __future__ import annotations

from storyd.providers.offline_bank import Bank
from storyd.providers.offline_banks_a import BANKS_A
from storyd.providers.offline_banks_b import BANKS_B

_FATES = {
    "fantasy": ("The power of {foe} crumbled to ash, and {foe} fled beyond the mountains.",
                "Die Macht von {foe} zerfiel zu Asche, und {foe} floh hinter die Berge."),
    "cyberpunk": ("{Foe} was cut off from every network in the city, one line at a time.",
                  "{Foe} wurde von jedem Netz der Stadt getrennt, eine Leitung nach der anderen."),
    "horror": ("{Foe} faded from every mirror, and this time the glass stayed empty.",
               "{Foe} verblasste in jedem Spiegel, und diesmal blieb das Glas leer."),
    "scifi": ("{Foe} withdrew into the dark between the stars, and the channel fell silent.",
              "{Foe} zog sich ins Dunkel zwischen den Sternen zurück, und der Kanal verstummte."),
    "furry_fantasy": ("{Foe} slunk off into the hills, and no burrow feared that name again.",
                      "{Foe} schlich davon in die Hügel, und kein Bau fürchtete sich "
                      "mehr."),
    "furry_scifi": ("The ship of {foe} limped off toward the far side of the galaxy.",
                    "Das Schiff von {foe} humpelte davon, zur anderen Seite der Galaxis."),
    "postapocalyptic": ("{Foe} lost the road, the water and every last follower.",
                        "{Foe} verlor die Straße, das Wasser und den letzten Gefolgsmann."),
}

BANKS: dict[str, Bank] = {
    theme: bank._replace(fate_en=_FATES.get(theme, ("", ""))[0],
                         fate_de=_FATES.get(theme, ("", ""))[1])
    for theme, bank in {**BANKS_A, **BANKS_B}.items()}
