"""German lines of a middle chapter's event (see turns.py): slots as in de.py."""

from __future__ import annotations

COST: dict[str, tuple[str, ...]] = {
    "fight": ("Das kostete sie ihre Deckung: Am Abend fragten {foe_gen} Leute überall nach "
              "{hero}.",
              "{Foe} vergaß kein Gesicht, und von da an folgte jemand {hero} auf Schritt und "
              "Tritt."),
    "talk": ("Das Gespräch hatte seinen Preis: {Foe} wusste jetzt, wohin sie wollten, und war "
             "schon vor ihnen unterwegs.",
             "Erst später merkte {hero}, was das Gespräch gekostet hatte: {Friend} sprach kein "
             "Wort mehr mit {dat}."),
    "search": ("Die Suche kostete den ganzen Tag, und {foe} nutzte jede Stunde davon.",
               "Jemand hatte sie beim Suchen beobachtet, und am Abend wusste {foe}, wonach sie "
               "suchten.",
               "Die Suche kostete den ganzen Tag und ihre letzten Vorräte."),
    "road": ("Der Weg forderte seinen Preis: {Friend} hatte sich den Knöchel verstaucht, und von "
             "da an kamen sie langsamer voran.",
             "Sie hatten den Weg hinter sich offen gelassen, und {foe} war nicht weit hinter "
             "ihnen."),
    "still": ("Die ruhigen Stunden kosteten sie ihren Vorsprung: {Foe} hatte sie in der Nacht "
              "überholt.",
              "Ihr Licht hatte die halbe Nacht gebrannt, und im Morgengrauen rückten {foe_gen} "
              "Leute näher."),
    "spy": ("Ein loser Stein verriet {hero}, und {foe} wusste jetzt, dass jemand gelauscht hatte.",
            "Was {hero} gehört hatte, änderte den Plan: {Foe} wollte im Morgengrauen "
            "aufbrechen."),
    "hide": ("Das Verstecken kostete sie fast die ganze Nacht, und {foe} hatte jetzt eine Nacht "
             "Vorsprung.",
             "Als sie aus dem Versteck kamen, fehlte {friend}; eine Stunde später tauchte {fpron} "
             "wieder auf, blass und stumm."),
    "deed": ("Es klappte, aber es war laut, und bald hatte auch {foe} davon gehört.",
             "Es war nicht unbemerkt geblieben: Am Abend wusste {foe} von der ganzen Sache.",
             "Es klappte, aber es hatte sie den ganzen Tag gekostet."),
    "through": ("Das Durchkommen hatte seinen Preis: {Friend} war verletzt, auch wenn {fpron} "
                "sagte, es sei nichts.",
                "Der Weg war frei, aber der Lärm war weit zu hören gewesen, und {foe} wusste "
                "jetzt, wo sie waren."),
}
EVENTS: dict[str, tuple[str, ...]] = {
    "find": ("Dann fand {hero} das erste echte Zeichen, dass {pron} es noch schaffen konnte, "
             "{goal_zu} – und es wies {to}.",
             "Was {hero} an diesem Tag erfuhr, änderte den Plan: Um {goal_zu}, musste {pron} "
             "{to}, mitten an {foe} vorbei.",
             "{Hero} begriff, worauf alles hinauslief: Wer zuerst {to} kam, würde es schaffen, "
             "{goal_zu}, oder alle anderen daran hindern."),
    "friend": ("{Friend} schlich sich vor Tagesanbruch davon und kam mit Neuigkeiten zurück: "
               "{Foe} war auf dem Weg {to} gesehen worden.",
               "{Friend} wollte nicht länger warten und ging allein voraus; erst bei Einbruch "
               "der Nacht holte {hero} {fobj} ein.",
               "Hinter {hero_gen} Rücken handelte {friend} auf eigene Faust und kam mit einem "
               "Weg {to} zurück."),
    "move": ("Dann machte {foe} ernst: {Xposs}e Leute brachen vor ihnen {to} auf und ließen "
             "eine Wache am Weg zurück.",
             "{Foe} schlug zu, während sie schliefen: Als {hero} aufwachte, war {friend_gen} "
             "Rucksack weg und mit ihm die Hälfte der Vorräte.",
             "Am Morgen war {foe} schon vor ihnen {dest_loc} und ließ {hero} ausrichten: Komm "
             "allein."),
    "move_gentle": ("Dann verkündete {foe} vor allen Leuten, das Rennen {to} sei so gut wie "
                    "gewonnen.",
                    "{Foe} war fleißig gewesen: Die halbe Stadt stand schon auf {xposs}er "
                    "Seite."),
}
# lange Kapitel (über 120 Wörter) ab Kapitel 4, wenn die anderen Vorräte leer sind
# (scenes.long_form): was der Gegenspieler unterdessen tut, und das eigene Leben der Begleitung
LONG_FOE = (
    "Unterdessen war {foe} nicht untätig: {Foe_gen} Leute stellten entlang des Weges {to} "
    "Fragen.",
    "Ein Fremder ging wortlos an ihnen vorbei, und {friend} schwor, es sei einer von {foe_gen} "
    "Leuten.",
    "Am Abend fanden sie ein frisches Zeichen, dass {foe} hier gewesen war: eine offene Tür, "
    "ein noch warmes Feuer.",
    "{Foe} hatte einen Preis auf Nachrichten über {hero} ausgesetzt, und die Leute sahen {obj} "
    "jetzt zweimal an.",
    "Eine Nachricht von {foe} erreichte sie, ohne Unterschrift, aber es war klar, wer sie "
    "geschickt hatte.",
    "Zweimal an diesem Tag sah {hero} dasselbe Gesicht in der Menge, und beim zweiten Mal war "
    "es näher.",
    "Es hieß, {foe} habe {dest_loc} einen Verbündeten gefunden, und das klang gar nicht gut.",
    "{Foe} hatte nach {friend} gefragt, mit Namen, und das war neu und kein gutes Zeichen.")
LONG_FRIEND = (
    "{Friend} erzählte zum ersten Mal, warum {fpron} wirklich mitgekommen war, und es war "
    "nicht nur wegen {hero}.",
    "{Friend} hielt sich an diesem Abend etwas abseits und schrieb etwas auf, das {fpron} "
    "niemandem zeigen wollte.",
    "{Friend} übernahm ungefragt die erste Wache und war noch wach, als {hero} aufwachte.",
    "{Friend} und {hero} stritten leise über den nächsten Schritt, und keiner gewann so richtig.",
    "{Friend} teilte {fposs}en letzten Proviant und tat so, als hätte {fpron} keinen Hunger.",
    "{Friend} kannte jemanden am Weg, der {fdat} noch einen Gefallen schuldete, und sagte es "
    "endlich.",
    "{Friend} gab zu, Angst zu haben, ein einziges Mal, und sprach dann nie wieder davon.",
    "{Friend} brachte {hero} zum ersten Mal seit Tagen zum Lachen, mit einer Geschichte, die "
    "niemand glaubte.")
LONG_RIVAL = (   # die Rivalin oder der Rivale eines heiteren Themas, unterdessen
    "Unterdessen erzählte {foe} allen, wer gewinnen würde, und manche glaubten es.",
    "{Foe} winkte ihnen von der anderen Straßenseite zu, viel zu fröhlich.",
    "Spätabends hatte jemand {foe} üben sehen, bei geschlossener Tür.",
    "Unter der Tür lag ein Zettel von {foe}: drei Wörter, und eines davon war unterstrichen.",
    "{Foe} hatte sich für den Anlass einen neuen Hut gekauft, und das beunruhigte {friend} mehr "
    "als alles andere.",
    "Die halbe Stadt hatte sich inzwischen entschieden, und {foe} zählte mit.",
    "{Foe} lachte mit Leuten, von denen {hero} geglaubt hatte, sie stünden auf {poss}er Seite.",
    "{Foe} schickte einen Korb Gebäck, mit einer Karte, auf der nur stand: Viel Glück.")
