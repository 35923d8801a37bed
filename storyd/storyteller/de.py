"""German grammar of the offline storyteller: declined noun phrases and sentence templates.

Articles follow gender and case (der/den/dem, die/die/der, das/das/dem, Plural die/die/den
with the dative -n), places take their own preposition ("im Glasturm", "am Hafen", "auf der
Rabenburg", direction "zum"/"zur"/"zu den"), verbs are in the past tense with the object
where German puts it. The templates are written for German, not translated from English.
"""

from __future__ import annotations

from storyd.storyteller.bank import Obstacle, Place, Thing

LANG = "de"
ART = {"m": ("der", "den", "dem"), "f": ("die", "die", "der"), "n": ("das", "das", "dem"),
       "pl": ("die", "die", "den")}
INDEF = {"m": ("ein", "einen", "einem"), "f": ("eine", "eine", "einer"),
         "n": ("ein", "ein", "einem"), "pl": ("", "", "")}
_LOC = {("in", "m"): "im", ("in", "n"): "im", ("an", "m"): "am", ("an", "n"): "am"}
_TO = {"m": "zum {}", "n": "zum {}", "f": "zur {}", "pl": "zu den {}"}


def _dat_pl(noun: str) -> str:
    return noun if noun.endswith(("n", "s")) else noun + "n"


def place_name(p: Place) -> str:
    return f"{ART[p.de_g][0]} {p.de}"


def _split(name: str) -> tuple[str, str]:
    """("m", "Glasturm") from "der Glasturm"; ("", name) for a name without article."""
    first, _, rest = name.partition(" ")
    g = {"der": "m", "die": "f", "das": "n"}.get(first.casefold(), "")
    if g == "f" and rest.endswith("en"):   # "die Salzhöhlen": a plural, most likely
        g = "pl"
    return (g, rest) if g and rest else ("", name)


def place_forms(name: str, prep: str = "in", g: str = "") -> dict[str, str]:
    if not g:
        g, name = _split(name)
    if not g:   # a proper name a model invented: "in Neu-Berlin", "nach Neu-Berlin"
        return {"": name, "loc": f"in {name}", "to": f"nach {name}", "acc": name}
    noun_dat = _dat_pl(name) if g == "pl" else name
    loc = _LOC.get((prep, g)) or f"{prep} {ART[g][2]}"
    return {"": f"{ART[g][0]} {name}", "loc": f"{loc} {noun_dat}",
            "to": _TO[g].format(noun_dat), "acc": f"{ART[g][1]} {name}"}


def thing_forms(t: Thing | Obstacle) -> dict[str, str]:
    return _noun(t.de, t.g)


def _noun(noun: str, g: str) -> dict[str, str]:
    dat = _dat_pl(noun) if g == "pl" else noun
    return {"": f"{ART[g][0]} {noun}", "acc": f"{ART[g][1]} {noun}", "dat": f"{ART[g][2]} {dat}",
            "a": f"{INDEF[g][0]} {noun}".strip(), "a_acc": f"{INDEF[g][1]} {noun}".strip()}


def memory_thing(name: str) -> dict[str, str]:
    g, noun = _split(name)
    if g:
        return _noun(noun, g)
    return {"": name, "acc": name, "dat": name, "a": name, "a_acc": name}


def pronouns(g: str, name: str) -> dict[str, str]:
    if g == "f":
        return {"pron": "sie", "poss_dat": "ihrer", "obj": "sie", "obj_dat": "ihr"}
    if g == "m":
        return {"pron": "er", "poss_dat": "seiner", "obj": "ihn", "obj_dat": "ihm"}
    return {"pron": name, "poss_dat": f"der von {name}", "obj": name, "obj_dat": name}


def say(line: str, who: str, verb: int) -> str:
    """Eine Zeile wörtlicher Rede: „Satz“, sagte Wer."""
    said, part = (("sagte", ""), ("flüsterte", ""), ("sagte", " leise"), ("rief", ""),
                  ("murmelte", ""), ("gab", " zu"))[verb % 6]   # "gab Bram zu": verb second
    line = line.rstrip(". ")
    return f"\u201e{line}\u201c, {said} {who}{part}."


OPEN_FIRST = (
    "{Hero}, {hero_desc}, stand {here_loc} und wollte nur eines: {goal}.",
    "{Hero}, {hero_desc}, kam {here_to}, und niemand ahnte, was {pron} vorhatte: {goal}.",
    "{Hero}, {hero_desc}, kam noch vor dem Morgengrauen an und wollte {here_loc} {goal}.",
)
ARRIVE = (
    "{Here_cap} {war} {note}.", "Ringsum {lag} {here}, {note}.",
    "{Here_cap} {erwies} als {note}.", "Das also {war} {here}: {note}.",
    "{Here_cap} {empfing} sie schweigend, {note}.", "Vor ihnen {lag} {here}, {note}.",
)
STAY = ("Noch immer {here_loc} sah sich {hero} vorsichtig um.",
        "Nichts {here_loc} war mehr wie zuvor.", "{Friend} hielt Wache {here_loc}.",
        "Alles {here_loc} fühlte sich jetzt anders an.", "Die Schatten {here_loc} waren länger "
        "geworden.")
FRIEND_INTRO = (
    "{Friend}, {rel}, hatte darauf bestanden mitzukommen: {friend_desc}.",
    "An {poss_dat} Seite ging {friend}, {rel} – {friend_desc}.",
    "Auch {friend} war dabei, {rel} – {friend_desc}.",
)
AGAIN_END = ("schon wieder", "wie schon zuvor", "einmal mehr", "wie so oft", "mehr denn je",
             "noch einmal")
AGAIN = ("Noch einmal:", "Und wieder:", "Ein weiteres Mal:", "Schon wieder:")
KIND_OPEN = {
    "follow": ("{Hero} folgte {friend} {here_to}, Schritt für Schritt.",
               "{Hero} folgte {friend} {here_to}, ohne ein weiteres Wort."),
    "go": ("{Hero} ging {here_to}, so schnell es eben ging.",
           "{Hero} machte sich {here_to} auf, bevor jemand widersprechen konnte."),
    "search": ("{Hero} durchsuchte {here_acc} nach Spuren, Winkel für Winkel.",
               "{Hero} durchsuchte {here_acc} nach Spuren, bis die Hände grau vor Staub waren."),
    "ask": ("{Hero} fragte {friend}, was {friend_pron} wusste, und diesmal kam eine Antwort.",
            "{Hero} fragte {friend}, was {friend_pron} wusste, und wartete geduldig."),
    "ask_item": ("{Hero} fragte {friend} nach {item_dat}, und {friend} erklärte endlich alles.",
                 "{Hero} fragte {friend} nach {item_dat}, und {friend} wich dem Blick nicht aus."),
    "confront": ("{Hero} stellte sich {foe}, Auge in Auge.",
                 "{Hero} stellte sich {foe} offen, wo alle es sehen konnten."),
    "talk": ("{Hero} redete mit {foe} Klartext, und die ersten Worte fielen schwer.",
             "{Hero} redete mit {foe} Klartext, bei zwei Tassen kaltem Tee."),
    "spy": ("{Hero} belauschte {foe} aus dem Schatten.",
            "{Hero} belauschte {foe} und hielt den Atem an."),
    "hide": ("{Hero} versteckte sich vor {threat_dat} und rührte sich nicht.",
             "{Hero} versteckte sich vor {threat_dat} hinter der nächsten Deckung."),
    "use": ("{Hero} setzte {item_acc} gegen {threat_acc} ein.",
            "{Hero} setzte {item_acc} ohne Zögern gegen {threat_acc} ein."),
    "rest": ("{Hero} ruhte sich mit {friend} aus und schmiedete einen Plan.",
             "{Hero} ruhte sich mit {friend} aus, und gemeinsam schmiedeten sie einen Plan."),
    "action": ("{Hero} {past}.", "Ohne zu zögern {past_v2}."),
    "generic": ("\u201e{act}\u201c, so lautete die Entscheidung, und {hero} zögerte nicht.",
                "{Hero} tat, was entschieden war: \u201e{act}\u201c."),
    "free": ("Die Entscheidung war gefallen: \u201e{act}\u201c.",
             "Am Ende zählte nur eines: \u201e{act}\u201c."),
}
AFTER = {
    "find": ("Halb versteckt {here_loc} fand {hero} {a_item_acc}.",
             "Mitten im Staub lag {a_item}, unberührt seit Jahren.",
             "Plötzlich entdeckte {friend} {a_item_acc}."),
    "clue": ("Die Spur führte {to}.", "Jeder Hinweis wies den Weg {to}.",
             "Auf einem Zettel stand nur ein Name: {dest}."),
    "truth": ("Ich hätte es dir früher sagen sollen", "Ich hatte Angst, dass du ohne mich gehst",
              "Wir machen das zusammen oder gar nicht"),
    "foe_says": ("Du kommst zu spät", "Alles hier gehört mir", "Geh nach Hause, solange du noch "
                 "kannst"),
    "rival_says": ("Na gut, vielleicht habe ich mich in dir getäuscht",
                   "Du bist sturer, als ich dachte", "Lass uns kein Theater machen"),
    "spy": ("Also wollte auch {foe} {to}.",
            "{Foe} war ebenfalls hinter {item_dat} her und wollte {to}."),
    "hide": ("{Threat_cap} kam so nah vorbei, dass die Luft kalt wurde.",
             "{Threat_cap} zog vorüber und sah sich nicht um."),
    "use": ("{Threat_cap} wich zurück, und der Weg {to} lag offen.",
            "{Threat_cap} gab nach, und der Weg {to} war frei."),
    "rest": ("Was auch passiert, ich bin bei dir", "Morgen bringen wir das zu Ende"),
    "action": ("Es veränderte mehr, als irgendwer erwartet hatte.",
               "Einen Augenblick lang stand alles still.",
               "Es war das Richtige, und es war nicht leicht."),
}
STAGE = {
    "complication": ("Doch {foe}, {foe_desc}, war schon vor ihnen hier gewesen.",
                     "Dann erfuhr {hero}, dass {threat} zwischen {obj_dat} und dem Ziel stand.",
                     "Schlimmer noch: {foe} wollte genau dasselbe.",
                     "Der Weg war versperrt, und nur eine Straße führte {to}."),
    "turn": ("Dann verriet {friend} ein Geheimnis, das alles veränderte.",
             "Plötzlich begriff {hero}, was {foe} die ganze Zeit gewollt hatte.",
             "Nichts war mehr so, wie es am Anfang ausgesehen hatte.",
             "Zum ersten Mal wirkte {foe} besorgt."),
    "climax": ("Alles führte jetzt {to}, wo {foe} schon wartete.",
               "Auf diesen Augenblick war die ganze Reise zugelaufen.",
               "{Foe} trat aus dem Schatten, und es gab kein Versteck mehr.",
               "Für {hero} gab es jetzt kein Zurück mehr."),
    "endgame": ("Das Ende des Weges war nah, und {hero} spürte es.",
                "Nur noch ein letzter Schritt trennte {hero} vom Ziel.",
                "Das Ziel war zum Greifen nah.", "Fast geschafft, dachte {friend}."),
}
FOE = ("In der Ferne beobachtete {foe} alles.", "Alle wussten, dass {foe} nicht ewig warten würde.",
       "Eine Nachricht von {foe} traf ein, und sie war nicht freundlich.",
       "Irgendwo lachte {foe}.")
RIVAL = ("Auf der anderen Seite des Platzes lächelte {foe} etwas zu süß.",
         "{Foe} hatte der halben Stadt schon eine andere Geschichte erzählt.",
         "Ein Brief von {foe} kam an, voller höflicher kleiner Spitzen.")
THREAT = ("Irgendwo außer Sicht regte sich {threat}.",
          "Dann kam ein Geräusch, das nur eines bedeuten konnte: {threat}.",
          "{Threat_cap} war näher, als irgendwer zugeben wollte.")
ITEM = ("{Hero} hielt {item_acc} etwas fester.", "{Item_cap} fühlte sich schwerer an als zuvor.",
        "{Hero} prüfte, ob {item} noch da war.")
MOURN = ("{Hero} dachte an {dead} und ging weiter.",)
HOOK = ("Wohin jetzt?", "Was würde {hero} als Nächstes tun?", "Es war keine Zeit zu verlieren.",
        "{Friend} sah {hero} an und wartete auf eine Entscheidung.",
        "Jeder Weg nach vorn sah gefährlich aus.", "Eine Entscheidung würde alles verändern.",
        "Der nächste Schritt würde viel entscheiden.", "Irgendwo tickte eine Uhr.",
        "Die Antwort war irgendwo da draußen.", "{Hero} atmete tief durch und überlegte.",
        "Es war Zeit, sich zu entscheiden.", "Die Nacht war noch nicht vorbei.")
MOOD = ("{Hero} zählte die Auswege, nur für alle Fälle.",
        "{Friend} summte eine Melodie gegen die Nervosität.",
        "Eine Weile sprach {here_loc} niemand ein Wort.",
        "{Hero} rieb sich die müden Augen und ging weiter.",
        "Irgendwo {here_loc} setzte sich etwas mit einem leisen Geräusch.",
        "{Friend} prüfte zweimal den Weg hinter ihnen.",
        "Es war die Art von Stille, in der man unwillkürlich flüstert.",
        "{Hero} dachte an zu Hause, nur einen Augenblick lang.",
        "Jeder Schritt {here_loc} klang lauter, als er sollte.",
        "{Friend} brachte ein kleines, tapferes Lächeln zustande.")
FRIEND_SAYS = ("Hast du das gehört?", "Das gefällt mir überhaupt nicht",
               "Ich bleibe bei dir, egal was kommt", "Wir sollten uns beeilen",
               "Das habe ich schon einmal gesehen, vor langer Zeit", "Bleib dicht bei mir",
               "Sind wir uns da sicher?", "Vertrau mir dieses eine Mal", "Das war fast zu einfach")
FILL = ("Niemand sprach.", "Der Augenblick zog sich.", "Die Stille lag schwer im Raum.",
        "{Friend} runzelte die Stirn.", "{Hero} lauschte.", "Die Luft roch nach Regen.",
        "Irgendwo knarrte etwas.", "Einen Herzschlag lang bewegte sich nichts.")
CLOSE_ITEM = ("{Hero} hob {item_acc}, und {threat} zerfiel wie Morgennebel.",
              "Mit {item_dat} in der Hand trieb {hero} {threat_acc} endlich zurück.")
CLOSE_ITEM_GENTLE = ("{Hero} zeigte allen {item_acc}, und {threat} verpuffte sofort.",
                     "Mit {item_dat} verwandelte {hero} {threat_acc} in großes Gelächter.")
CLOSE_FOE = ("{Foe} floh in die Nacht und wurde nie wieder gesehen.",
             "{Foe} war besiegt, aller gestohlenen Macht beraubt, und wurde abgeführt.")
CLOSE_RIVAL = ("{Foe} lachte schließlich und reichte die Hand zur Versöhnung.",
               "{Foe} gab sich mit einer Verbeugung geschlagen und brachte sogar ein Lächeln "
               "zustande.")
CLOSE_GOAL = ("Endlich {goal_done_v2}.", "Am Ende {goal_done_v2}.")  # verb second: fand Ines …
CLOSE_GOAL_INF = ("Endlich hatte {hero} geschafft, weswegen {pron} gekommen war: {goal}.",)
CLOSE_FRIEND = ("{Friend} blieb an {poss_dat} Seite, genau wie versprochen.",
                "{Hero} und {friend} grinsten sich an, Freunde fürs Leben.")
CLOSE_FINAL = ("So fand die Geschichte von {hero} {here_loc} ein gutes Ende.",
               "Noch lange erzählte man sich {here_loc} die Geschichte von {hero}.")
TITLES = ("{Here_cap}", "Das Geheimnis {here_loc}", "{Hero} und {item}", "Schatten {here_loc}",
          "Eine Warnung von {foe}", "Was {Friend} wusste", "Der Weg {to}", "{Threat_cap}",
          "Ein Versprechen {here_loc}", "Der Preis für {item_acc}", "Flüstern {here_loc}",
          "{Foe} macht einen Zug", "Vor dem Sturm", "Zwischen zwei Wegen")
TITLES_END = ("Das letzte Licht", "Wieder zu Hause", "Schluss mit {threat_dat}",
              "{Hero} triumphiert",
              "Wo alles endet")
CHOICES = {
    "follow": "Folge {friend} {to}", "go": "Geh {to}",
           "search": "Durchsuche {here_acc} nach Spuren",
    "ask": "Frag {friend}, was {friend_pron} weiß", "ask_item": "Frag {friend} nach {item_dat}",
    "confront": "Stell dich {foe}", "talk": "Rede mit {foe} Klartext", "spy": "Belausche {foe}",
    "hide": "Versteck dich vor {threat_dat}", "use": "Setz {item_acc} gegen {threat_acc} ein",
    "rest": "Ruh dich mit {friend} aus und schmiede einen Plan",
}
KIND_WORDS = (("follow", "folge"), ("go", "geh "), ("search", "durchsuche"), ("ask_item", "frag"),
              ("confront", "stell dich"), ("talk", "rede mit"), ("spy", "belausche"),
              ("hide", "versteck dich"), ("use", "setz"), ("rest", "ruh dich"))
REL = ("ein alter Freund", "ein treuer Gefährte", "der einzige Verbündete")
REL_F = ("eine alte Freundin", "eine treue Gefährtin", "die einzige Verbündete")
EVENT = {"arrive": "{hero} kam {here_to}", "chose": "{hero} entschied: „{act}“",
         "action": "{hero} {past}",
         "hide": "{hero} versteckte sich vor {threat_dat}",
         "search": "{hero} durchsuchte {here_acc}", "free": "{hero} entschied: „{act}“",
         "find": "fand {a_item_acc}",
         "truth": "{friend} sagte die Wahrheit", "confront": "{hero} stellte sich {foe}",
         "talk": "{hero} redete mit {foe} Klartext", "talked": "hat sich mit {hero} ausgesprochen",
         "use": "{hero} setzte {item_acc} ein", "spy": "{hero} erfuhr, wohin {foe} wollte",
         "start": "{hero} wollte {goal}", "end": "{hero} {goal_done}",
         "endinf": "{hero} schaffte, weswegen {pron} gekommen war",
         "defeated": "besiegt", "reconciled": "versöhnt", "found": "gefunden {here_loc}",
         "used": "eingesetzt gegen {threat_acc}", "ally": "hält zu {hero}",
         "confronted": "von {hero} gestellt"}
