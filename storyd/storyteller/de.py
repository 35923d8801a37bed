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
_PRON = {"m": "er", "f": "sie", "n": "es", "pl": "sie"}


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
        return {"": name, "loc": f"in {name}", "to": f"nach {name}", "acc": name, "dat": name}
    noun_dat = _dat_pl(name) if g == "pl" else name
    loc = _LOC.get((prep, g)) or f"{prep} {ART[g][2]}"
    return {"": f"{ART[g][0]} {name}", "loc": f"{loc} {noun_dat}",
            "to": _TO[g].format(noun_dat), "acc": f"{ART[g][1]} {name}",
            "dat": f"{ART[g][2]} {noun_dat}"}


def thing_forms(t: Thing | Obstacle) -> dict[str, str]:
    return _noun(t.de, t.g)


def _noun(noun: str, g: str) -> dict[str, str]:
    dat = _dat_pl(noun) if g == "pl" else noun
    return {"": f"{ART[g][0]} {noun}", "acc": f"{ART[g][1]} {noun}", "dat": f"{ART[g][2]} {dat}",
            "a": f"{INDEF[g][0]} {noun}".strip(), "a_acc": f"{INDEF[g][1]} {noun}".strip(),
            "a_dat": f"{INDEF[g][2]} {dat}".strip(), "pron": _PRON[g]}


def memory_thing(name: str) -> dict[str, str]:
    g, noun = _split(name)
    if g:
        return _noun(noun, g)
    return {"": name, "acc": name, "dat": name, "a": name, "a_acc": name, "a_dat": name,
            "pron": "es"}


def pronouns(g: str, name: str) -> dict[str, str]:
    """Personal pronouns, and the possessive stem that templates decline ("{poss}er Seite")."""
    if g == "f":
        return {"pron": "sie", "obj": "sie", "dat": "ihr", "poss": "ihr"}
    if g == "m":
        return {"pron": "er", "obj": "ihn", "dat": "ihm", "poss": "sein"}
    return {"pron": name, "obj": name, "dat": name, "poss": f"von {name}"}


def friends_word(g1: str, g2: str) -> str:
    """Two women are Freundinnen; anyone else together are Freunde."""
    return "Freundinnen" if g1 == g2 == "f" else "Freunde"


_FEMININE = ("Schwester", "Mutter", "Tochter", "Tante", "Oma", "Cousine", "Frau", "Freundin")


def gender_of(desc: str) -> str:
    """A guess from a description ("eine Schmugglerin", "ihre Schwester" → "f"): "m" unless
    it starts like a woman's or its noun ends in -in."""
    words = desc.split()
    first = words[0].casefold() if words else ""
    noun = next((w.strip(",.") for w in words if w[:1].isupper()), "")
    female = first in ("eine", "die") or noun.endswith("in") and len(noun) > 5 or \
        noun in _FEMININE
    return "f" if female else "m"


def relation(rel: str, hero_g: str) -> str:
    """The outline's relation as an apposition: "Kollege" → "ihr Kollege"."""
    poss = pronouns(hero_g, "")["poss"]
    word = rel.split()[-1] if rel.split() else rel
    female = word in _FEMININE or word.endswith("in") and len(word) > 5
    return f"{poss}{'e' if female else ''} {word[:1].upper() + word[1:]}"


def place_slots(name: str, g: str) -> dict[str, str]:
    """Verbs that agree with the place: "Die Flüstergrüfte waren …", "Der Glasturm war …"."""
    plural = g == "pl"
    return {"war": "waren" if plural else "war", "lag": "lagen" if plural else "lag",
            "erwies": "erwiesen sich" if plural else "erwies sich"}


def dest_slots(name: str, g: str) -> dict[str, str]:
    return {"dest_war": "waren" if g == "pl" else "war"}


_SEPARABLE = ("heraus", "zurück", "herauf", "hinaus", "weiter", "auf", "aus", "ein", "mit",
              "vor", "weg", "ab", "an", "nach", "fest", "frei", "los", "rein", "zu", "dar", "her",
              "hin")


def goal_zu(goal: str) -> str:
    """The goal as a zu-infinitive: "die Krone finden" → "die Krone zu finden",
    "das Geheimnis aufdecken" → "aufzudecken", "herausfinden, wer …" → "herauszufinden, wer …"."""
    head, comma, tail = goal.partition(",")
    words = head.split()
    if not words or not words[-1][:1].islower():
        return goal
    verb = words[-1]
    prefix = next((p for p in _SEPARABLE if verb.startswith(p) and len(verb) > len(p) + 3), "")
    verb = f"{prefix}zu{verb[len(prefix):]}" if prefix else f"zu {verb}"
    return " ".join([*words[:-1], verb]) + (comma + tail if comma else "")


def verb_last(phrase: str) -> str:
    """A past phrase, verb first, turned round for a subordinate clause: "fand ihren Bruder"
    → "ihren Bruder fand", "deckte das Geheimnis auf" → "das Geheimnis aufdeckte", "fand
    heraus, wer …" → "herausfand, wer …"."""
    head, comma, tail = phrase.partition(",")
    words = head.split()
    if len(words) < 2:
        return phrase
    verb, rest = words[0], words[1:]
    if rest[-1] in _SEPARABLE:
        rest, verb = rest[:-1], rest[-1] + verb
    return " ".join([*rest, verb]) + (comma + tail if comma else "")


_FACED = {"creature": "lockte {threat_acc} weg", "hazard": "kam durch {threat_acc}",
          "problem": "fand heraus, was hinter {threat_dat} steckte",
          "person": "bot {threat_dat} die Stirn"}


def obstacle_slots(o: Obstacle, s: dict[str, str]) -> dict[str, str]:
    """{face}: the choice that deals with the obstacle, {faced}: the same, done (verb first,
    so "{faced_v2}" puts the hero after the verb: "bewies Lene, dass …")."""
    face = o.de_face or CHOICES[f"face:{o.kind}"].format(**s)
    faced = o.de_faced or _FACED[o.kind].format(**s)
    return {"face": face, "faced": faced, "threat_met_v1": _MET[o.kind].format(**s)}


# how the obstacle first meets them, by its kind, verb first ("da stießen sie auf …")
_MET = {"creature": "stießen sie auf {a_threat_acc}", "hazard": "brach {a_threat} über sie herein",
        "problem": "stieß {friend} auf {a_threat_acc}, und nichts ergab mehr einen Sinn",
        "person": "versperrte {a_threat} ihnen den Weg"}


_SAID = {"": (("sagte", ""), ("sagte", "knapp"), ("sagte", "leise"), ("murmelte", ""),
              ("flüsterte", ""), ("sagte", "ruhig")),
         "?": (("fragte", ""), ("wollte", "wissen"), ("fragte", "leise")),
         "!": (("rief", ""), ("rief", "laut"), ("stieß", "hervor")),
         "admit": (("gab", "zu"), ("gestand", "")), "warn": (("warnte", ""), ("flüsterte", ""))}


def say(line: str, who: str, k: int, how: str = "") -> str:
    """Eine Zeile wörtlicher Rede: „Satz“, sagte Wer. Eine Frage wird gefragt, ein Ausruf
    gerufen, nur ein Eingeständnis „zugegeben“ (`how`): das Verb passt zur Zeile."""
    line = line.rstrip(". ")
    mark = line[-1] if line.endswith(("?", "!")) else ""
    verbs = _SAID[how or mark]
    verb, part = verbs[k % len(verbs)]
    return f"\u201e{line}\u201c, {verb} {who}{' ' + part if part else ''}."


KIND_OPEN = {
    "follow": ("{Hero} folgte {friend} {here_to}, Schritt für Schritt.",
               "{Friend} ging {here_to} voran, und {hero} folgte {fdat} wortlos.",
               "{Hero} ließ {friend} vorangehen und folgte {fdat} {here_to}."),
    "go": ("{Hero} machte sich {here_to} auf, so schnell es ging.",
           "{Hero} brach {here_to} auf, bevor jemand widersprechen konnte.",
           "Ohne auf die anderen zu warten, ging {hero} {here_to}."),
    "search": ("{Hero} durchsuchte {here_acc} von oben bis unten.",
               "{Hero} und {friend} durchsuchten {here_acc} Winkel für Winkel.",
               "{Hero} suchte {here_loc} jeden Winkel nach Spuren ab."),
    "ask": ("{Hero} fragte {friend} geradeheraus, was {fpron} wusste.",
            "{Hero} nahm {friend} beiseite und fragte, was {fpron} wusste.",
            "{Hero} setzte sich zu {friend}, fragte, was {fpron} wusste, und wartete auf eine "
            "Antwort."),
    "ask_item": ("{Hero} fragte {friend} nach {item_dat}.",
                 "{Hero} hielt {item_acc} hoch und fragte {friend} danach.",
                 "Am Feuer fragte {hero} {friend} nach {item_dat}."),
    "confront": ("{Hero} stellte sich {foe}, Auge in Auge.",
                 "{Hero} ging geradewegs zu {foe} und stellte {xobj} zur Rede.",
                 "{Hero} trat aus der Deckung und stellte sich {foe}."),
    "talk": ("{Hero} setzte sich mit {foe} zusammen, um sich auszusprechen.",
             "{Hero} sprach sich mit {foe} aus, und die ersten Worte waren die schwersten.",
             "{Hero} ging zu {foe}, um sich auszusprechen, nur sie beide."),
    "bargain": ("{Hero} ging unter weißer Flagge zu {foe}, um zu verhandeln.",
                "{Hero} ließ {foe} ausrichten, {pron} wolle verhandeln.",
                "{Hero} traf {foe} auf halbem Weg, um zu verhandeln."),
    "spy": ("{Hero} schlich sich heran und belauschte {foe}.",
            "Aus dem Schatten belauschte {hero} {foe}.",
            "{Hero} belauschte {foe} und wagte kaum zu atmen."),
    "avoid:creature": ("{Hero} versteckte sich vor {threat_dat} und rührte sich nicht.",
                       "{Hero} zog {friend} in Deckung, und sie versteckten sich vor "
                       "{threat_dat}.",
                       "{Hero} versteckte sich im erstbesten Schatten vor {threat_dat}."),
    "avoid:hazard": ("{Hero} und {friend} suchten Schutz vor {threat_dat}.",
                     "{Hero} fand gerade noch rechtzeitig Schutz vor {threat_dat}.",
                     "{Hero} zerrte {friend} in Deckung, und sie suchten Schutz vor "
                     "{threat_dat}."),
    "avoid:person": ("{Hero} wartete auf den richtigen Augenblick und schlich sich an "
                     "{threat_dat} vorbei.",
                     "Leise wie ein Schatten schlich sich {hero} an {threat_dat} vorbei.",
                     "{Hero} zog den Kopf ein und schlich sich an {threat_dat} vorbei."),
    "face:creature": ("{Hero} machte absichtlich Lärm und lockte {threat_acc} weg.",
                      "{Hero} lockte {threat_acc} weg, ganz vorsichtig, Schritt für Schritt.",
                      "{Hero} warf einen Stein weit ins Dunkel und lockte {threat_acc} weg."),
    "face:hazard": ("{Hero} kämpfte sich mit gesenktem Kopf durch {threat_acc}.",
                    "{Hero} wollte nicht warten und kämpfte sich durch {threat_acc}.",
                    "{Hero} nahm {friend} am Arm und kämpfte sich durch {threat_acc}."),
    "face:person": ("{Hero} bot {threat_dat} die Stirn.",
                    "{Hero} ging geradewegs auf {threat_acc} zu und bot {threat_dat} die Stirn.",
                    "{Hero} bot {threat_dat} die Stirn, auch wenn {poss}e Knie zitterten."),
    "face:problem": ("{Hero} fand heraus, was hinter {threat_dat} steckte.",
                     "Es dauerte die ganze Nacht, aber dann fand {hero} heraus, was hinter "
                     "{threat_dat} steckte.",
                     "Zusammen mit {friend} fand {hero} heraus, was hinter {threat_dat} steckte."),
    "face:custom": ("{Hero} {faced}.", "Es dauerte die ganze Nacht, aber dann {faced_v2}.",
                    "Mit {friend_gen} Hilfe {faced_v2}."),
    "use:creature": ("{Hero} vertrieb {threat_acc} mit {item_dat}.",
                     "{Hero} hob {item_acc} und vertrieb {threat_acc}.",
                     "{Hero} vertrieb {threat_acc} mit {item_dat} und sah sich nicht mehr um."),
    "use:hazard": ("{Hero} nutzte {item_acc}, um durch {threat_acc} zu kommen.",
                   "Mit {item_dat} fand {hero} einen Weg durch {threat_acc}.",
                   "{Hero} nutzte {item_acc}, um durch {threat_acc} zu kommen, und {friend} "
                   "blieb dicht hinter {dat}."),
    "use:person": ("{Hero} zeigte {threat_dat} {item_acc}.",
                   "{Hero} hielt {threat_dat} {item_acc} unter die Nase.",
                   "{Hero} zeigte {threat_dat} {item_acc} und wartete."),
    "rest": ("{Hero} und {friend} ruhten sich aus und schmiedeten einen Plan.",
             "{Hero} ruhte sich mit {friend} aus, und gemeinsam schmiedeten sie einen Plan.",
             "{Hero} ruhte sich mit {friend} aus und schmiedete einen Plan, den ersten "
             "richtigen seit Tagen."),
    "action": ("{Hero} {past}.", "Ohne zu zögern {past_v2}.",
               "{Friend} war dagegen, aber {hero} {past}."),
    "generic": ("\u201e{act}\u201c – so lautete die Entscheidung, und {hero} zögerte nicht.",
                "{Hero} tat, was entschieden war: \u201e{act}\u201c.",
                "Es gab keine bessere Idee, also hieß es: \u201e{act}\u201c."),
    "deed": ("{Hero} {past}.", "Ohne lange zu überlegen {past_v2}.",
             "{Friend} hatte Zweifel, aber {hero} {past}."),   # a model's choice (deeds.py)
    "free": ("Die Entscheidung war gefallen: \u201e{act}\u201c.",
             "Am Ende zählte nur eines: \u201e{act}\u201c.",
             "Alle waren sich einig: \u201e{act}\u201c."),
}
PULL = {
    "follow": ("{friend} wollte weiter {to}", "{friend} zeigte schon den Weg {to}",
               "{friend} schwor, es gebe eine Abkürzung {to}",
               "{friend} redete von nichts anderem als {dest_dat}",
               "{friend} hatte Freunde {dest_loc}",
               "{friend} hatte schon für den Weg {to} gepackt"),
    "go": ("der Weg {to} war frei", "{dest} {dest_war} keinen Tag mehr entfernt",
           "jemand hatte {dest_loc} ein Licht gesehen", "jedes Zeichen wies {to}",
           "vielleicht wartete die Antwort {dest_loc}",
           "seit Jahren war niemand {dest_loc} gewesen"),
    "search": ("{here_loc} lag noch etwas verborgen",
    "irgendetwas {here_loc} passte nicht zusammen",
               "hinter die letzte Tür {here_loc} hatte noch niemand geschaut",
               "{here_loc} gab es frische Spuren am Boden",
               "{here_loc} gab es mehr Winkel, als irgendwer gezählt hatte",
               "{here_loc} zog es von irgendwoher, wo es nicht ziehen sollte"),
    "ask": ("{friend} verschwieg etwas", "{friend} war sehr still geworden",
            "{friend} wusste offensichtlich mehr, als {fpron} sagte",
            "{friend} wich {poss}em Blick aus"),
    "ask_item": ("{friend} blickte immer wieder auf {item_acc}",
                 "{friend} schien {item_acc} wiederzuerkennen",
                 "{friend} war blass geworden, als {fpron} {item_acc} sah"),
    "confront": ("{foe} war nah genug, um {xdat} entgegenzutreten",
                 "{foe} würde nicht ewig warten", "{foe} war zum ersten Mal allein",
                 "das ewige Weglaufen vor {foe} hatte ein Ende"),
    "talk": ("{foe} wirkte zum ersten Mal bereit zu reden",
             "sogar {foe} schien den Streit leid zu sein",
             "{foe} hatte eine höfliche Nachricht geschickt",
             "{foe} sah immer wieder zu ihnen herüber"),
    "bargain": ("{foe} würde sich ein Angebot vielleicht anhören",
                "{foe} wirkte zum ersten Mal unsicher", "{foe} hatte etwas, das {hero} brauchte",
                "auch {foe} hatte einen Preis"),
    "spy": ("{foe} ahnte nicht, wie nah sie waren",
            "{foe} war in der Nähe und rechnete mit niemandem",
            "{foe_gen} Leute redeten viel zu laut", "{foe} hatte gerade Rast gemacht"),
    "avoid:creature": ("{threat} kam näher", "{threat} hatte ihre Witterung aufgenommen",
                       "{threat} zog Kreise um sie", "ganz in der Nähe bewegte sich etwas Großes"),
    "avoid:hazard": ("{threat} wurde schlimmer", "{threat} würde in einer Stunde über ihnen sein",
                     "{threat} kündigte sich schon an", "{threat} kam näher"),
    "avoid:person": ("{threat} versperrte noch immer den Weg", "{threat} suchte nach ihnen",
                     "{threat} hatte scharfe Augen", "{threat} stellte Fragen"),
    "face:creature": ("{threat} ließ sich vielleicht überlisten", "{threat} war leicht abzulenken",
                      "{threat} hasste laute Geräusche",
                      "{threat} folgte allem, was sich bewegte"),
    "face:hazard": ("vielleicht war {threat} schwächer, als es aussah",
                    "das Warten kostete sie Zeit", "irgendwo musste {threat} eine Lücke haben",
                    "die andere Seite war nah"),
    "face:problem": ("die Lösung war nah", "{threat} ergab allmählich einen Sinn",
                     "eine Kleinigkeit an {threat_dat} passte nicht",
                     "{friend} hatte eine Idee, was {threat_acc} anging"),
    "face:person": ("{threat} würde vielleicht einlenken",
                    "{threat} wirkte weniger sicher als vorhin", "{threat} war müde",
                    "{threat} hatte bestimmt einen wunden Punkt"),
    "use:creature": ("{item} könnte reichen, um {threat_acc} zu vertreiben",
                     "{threat} war noch nie auf so etwas wie {item_acc} getroffen",
                     "{threat} schien {item_acc} zu fürchten"),
    "use:hazard": ("mit {item_dat} kämen sie vielleicht durch {threat_acc}",
                   "{item} war wie gemacht für {threat_acc}",
                   "{item} hatte schon andere durch Schlimmeres gebracht"),
    "use:person": ("{item} könnte {threat_acc} umstimmen", "{item} war Beweis genug",
                   "{threat} würde {item_acc} wiedererkennen"),
    "rest": ("alle waren erschöpft", "{friend} konnte sich kaum noch auf den Beinen halten",
             "seit zwei Tagen hatte niemand geschlafen", "ein Plan konnte nicht schaden"),
}
CAMEO = ("{cameo}, ein Gesicht aus der Menge, nickte {hero} im Vorbeigehen zu.",   # ein Gast
         "Am Rand sah {cameo} von einem Karren voller Krimskrams auf und wünschte {hero} Glück.",
         "{cameo} trat kurz aus der Menge, zeigte den Weg und war wieder verschwunden.",
         "Jemand namens {cameo} wechselte ein paar freundliche Worte mit {hero}.")
CAMEO_NOTE = "ein Gastauftritt aus dem Publikum"
HOOK = ("{A}, aber {B}.", "{A}, doch {B}.", "{A} – und {B}.", "{A}, und {B}.",
        "{A}. Doch da war noch etwas: {B}.")
HOOK_ONE = ("{A}, und {hero} musste sich entscheiden.", "{A}. {Hero} wog es ab.",
            "{A}. Jetzt musste {hero} entscheiden.",
            "{A}, und {friend} wartete darauf, dass {hero} sich entschied.",
            "{A}. {Hero} sah den Weg entlang und dachte nach.")
HOOK_NONE = ("{Friend} sah {hero} an und wartete.",
             "{Hero} musste sich entscheiden, und zwar schnell.",
             "Jeder Weg, der vor {hero} lag, sah gefährlich aus.",
             "{Hero} wusste, dass es auf den nächsten Schritt ankam.",
             "Niemand konnte {hero} diese Entscheidung abnehmen.")
CHOICES = {
    "follow": "Folge {friend} {to}", "go": "Geh {to}",
    "search": "Durchsuche {here_acc} nach Spuren",
    "ask": "Frag {friend}, was {fpron} weiß", "ask_item": "Frag {friend} nach {item_dat}",
    "confront": "Stell dich {foe}", "talk": "Sprich dich mit {foe} aus",
    "bargain": "Verhandle mit {foe}", "spy": "Belausche {foe}",
    "rest": "Ruh dich mit {friend} aus und schmiede einen Plan",
    "avoid:creature": "Versteck dich vor {threat_dat}",
    "avoid:hazard": "Such Schutz vor {threat_dat}",
    "avoid:person": "Schleich dich an {threat_dat} vorbei",
    "face:creature": "Lock {threat_acc} weg",
    "face:hazard": "Kämpf dich durch {threat_acc}", "face:person": "Biete {threat_dat} die Stirn",
    "face:problem": "Finde heraus, was hinter {threat_dat} steckt",
    "use:creature": "Vertreib {threat_acc} mit {item_dat}",
    "use:hazard": "Nutze {item_acc}, um durch {threat_acc} zu kommen",
    "use:person": "Zeig {threat_dat} {item_acc}",
}
KIND_WORDS = (("follow", "folge "), ("go", "geh "), ("search", "durchsuche "),
              ("ask_item", "frag "), ("confront", "stell dich "), ("talk", "sprich dich mit"),
              ("bargain", "verhandle mit "), ("spy", "belausche "), ("avoid", "versteck dich"),
              ("avoid", "such schutz"), ("avoid", "schleich dich"), ("face", "lock "),
              ("face", "kämpf dich"), ("face", "biete "), ("face", "finde heraus, was hinter"),
              ("use", "vertreib "), ("use", "nutze "), ("use", "zeig "), ("rest", "ruh dich"))
REL = ("{poss} ältester Freund", "{poss} einziger Verbündeter", "{poss} treuer Gefährte")
REL_F = ("{poss}e älteste Freundin", "{poss}e einzige Verbündete", "{poss}e treue Gefährtin")
EVENT = {"arrive": "{hero} kam {here_to}", "met": "{threat} stand im Weg",
         "chose": "{hero} entschied: „{act}“",
         "action": "{hero} {past}", "avoid": "{hero} wich {threat_dat} aus",
         "face": "{hero} wurde mit {threat_dat} fertig",
         "search": "{hero} durchsuchte {here_acc}", "free": "{hero} entschied: „{act}“",
         "deed": "{hero} {past}",
         "find": "fand {a_item_acc}", "truth": "{friend} sagte die Wahrheit",
         "confront": "{hero} stellte sich {foe}", "talk": "{hero} sprach sich mit {foe} aus",
         "talked": "hat sich mit {hero} ausgesprochen", "use": "{hero} setzte {item_acc} ein",
         "spy": "{hero} erfuhr, wohin {foe} wollte", "start": "{hero} wollte {goal}",
         "end": "{hero} {goal_done}", "endinf": "{hero} schaffte, weswegen {pron} gekommen war",
         "defeated": "besiegt", "reconciled": "versöhnt", "found": "gefunden {here_loc}",
         "used": "eingesetzt gegen {threat_acc}", "ally": "hält zu {hero}",
         "confronted": "von {hero} gestellt"}
