"""All word banks of the offline storyteller, by theme id, with each theme's way for the
antagonist to leave the story (the others use the storyteller's own closing lines)."""

from __future__ import annotations

from storyd.storyteller.bank import Bank, Person
from storyd.storyteller.banks_a import BANKS_A
from storyd.storyteller.banks_b import BANKS_B

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

# Names with an English title get a German one in German stories ("Mayor Bumble" would read
# like a translation error there); everything else keeps its name.
DE_NAMES = {
    "Mayor Bumble": "Bürgermeister Bumble", "Director Hale": "Direktor Hale",
    "Sister Cinder": "Schwester Cinder", "Captain Nell": "Kapitänin Nell",
    "Aunt Bertha": "Tante Bertha", "Grandma June": "Oma June", "Countess Fluff": "Gräfin Fluff",
    "Old Badger Moss": "Dachs Moss", "Queen Nettle": "Königin Nessel",
    "Lord Grimtooth": "Fürst Grimmzahn", "Father Ambrose": "Pater Ambrose",
    "Officer Diaz": "Wachtmeister Diaz", "Commander Ava Lin": "Kommandantin Ava Lin",
    "Captain Juniper": "Kapitänin Juniper", "Mr. Hollow": "Herr Hollow",
    "Doctor Entropy": "Doktor Entropie", "The Magpie": "Elster", "Unit Seven": "Einheit Sieben",
    "Admiral Voss": "Admiral Voss", "Baron Krell": "Baron Krell",
}


def bank_for(theme_id: str, lang: str) -> Bank:
    """The theme's bank (adventure for an unknown theme), names in the story's language."""
    bank = BANKS.get(theme_id, BANKS["adventure"])
    if lang != "de":
        return bank
    def german(people: tuple[Person, ...]) -> tuple[Person, ...]:
        return tuple(p._replace(name=DE_NAMES.get(p.name, p.name)) for p in people)
    return bank._replace(heroes=german(bank.heroes), friends=german(bank.friends),
                         foes=german(bank.foes))
