"""German lines of the offline storyteller's first and closing chapters (see `en_ends` for how
they are chosen: five inciting incidents, endings that follow from the last choice).

Written as German: the goal goes in as a zu-infinitive where German needs one ({goal_zu}),
verbs stay second ({goal_done_v2}: "Endlich fand Ines ihren Bruder."), appositions only where
they stay in the nominative, and two women are Freundinnen ({friends}).
"""

from __future__ import annotations

# der Ort im ersten Kapitel, wo die Hauptfigur schon ist (nicht „Sie erreichten …“ nach „Es
# begann im …“); eigene Vorlagen, damit keine spätere Ankunft eine wiederholt
FIRST_PLACE = ("Jeder kannte {here_acc}: {note}.",
               "{Here_cap} {war} {note}, und freundlich hatte es dort nie gewirkt.",
               "Um sie herum {lag} {here}, {note}.")
FIRST_PLACE_PLAIN = ("Niemand kam ohne Grund {here_to}.",
                     "{Here_cap} {war} still, viel zu still für alle.")
OPEN_FIRST = (
    "{Hero_full}, {hero_desc}, war {here_to} gekommen, um {goal_zu}.",
    "{Hero_full}, {hero_desc}, erreichte {here_acc} mit nur einem Gedanken: {goal}.",
    "{Here_loc_cap} schwor {hero_full}, {hero_desc}, {goal_zu}.",
    "Es begann {here_loc}, wo {hero_full}, {hero_desc}, aufbrach, um {goal_zu}.",
    "Niemand {here_loc} glaubte, dass {hero_full}, {hero_desc}, es schaffen würde, {goal_zu}.",
)
FRIEND_INTRO = (
    "{Friend_full}, {friend_desc}, kam mit.",
    "Mit {dat} ging {friend_full}, {friend_desc}.",
    "{Friend_full}, {friend_desc}, ließ {obj} nicht allein gehen.",
    "Auch {friend_full} kam mit: {friend_desc}, und {rel}.",
)
FOE_RUMOUR = ("{Foe_full} war {foe_desc}, und niemand {here_loc} wollte {xdat} begegnen.",
              "Irgendwo vor ihnen wartete {foe_full}, {foe_desc}.")
INCITE = {
    "foe": ("{Friend} brachte schlechte Nachrichten: {foe_full}, {foe_desc}, war schon "
            "unterwegs.",
            "Dann hieß es, {foe_full}, {foe_desc}, sei auf dem Weg {to}."),
    "clue": ("{Friend} fand {here_loc} ein Zeichen, das {fpron} sofort erkannte: {foe_full} war "
             "hier gewesen, {foe_desc}.",
             "Jemand war vor ihnen {here_loc} gewesen, und die Spuren verrieten, wer: "
             "{foe_full}, {foe_desc}."),
    "threat": ("Sie waren keine zehn Schritte weit gekommen, da {threat_met_v1}.",
               "Kaum waren sie angekommen, da {threat_met_v1}."),
    "item": ("Einer alten Geschichte nach lag {here_loc} {a_item} versteckt.",
             "{Friend} hatte von {a_item_dat} gehört. Vielleicht war das die Rettung."),
    "friend": ("{Friend} wich {poss}em Blick aus. Etwas stimmte nicht.",
               "{Friend} war den ganzen Morgen still gewesen, und das war nie ein gutes Zeichen."),
}
INCITE_CHOICES = {"foe": ("go", "spy", "ask", "follow"),
                  "clue": ("search", "follow", "ask", "action"),
                  "threat": ("avoid", "face", "go", "ask"),
                  "item": ("search", "ask", "action", "go"),
                  "friend": ("ask", "action", "follow", "search")}
END = {
    "confront": ("{Foe} wartete schon, und diesmal lief {xpron} nicht davon. Es war ein langer, "
                 "harter Kampf, und als er vorbei war, kniete {foe} geschlagen im Staub.",
                 "{Hero} sagte {foe} vor allen ins Gesicht, was {pron} wusste, und einer nach "
                 "dem anderen verschwanden {foe_gen} Leute."),
    "bargain": ("{Hero} bot {foe} das Einzige an, was {xpron} nie gehabt hatte: einen Ausweg. "
                "Nach langem Schweigen nahm {foe} ihn an.",
                "Sie redeten, bis die Kerzen heruntergebrannt waren, und schließlich legte {foe} "
                "die Waffen nieder: Es gab nichts mehr, wofür sich der Kampf lohnte."),
    "talk": ("Es dauerte lange und kostete zwei Kannen Tee, aber am Ende hörte {foe} zu.",
             "{Hero} sagte, was schon vor Wochen hätte gesagt werden müssen, und {foe} wusste "
             "nichts darauf zu erwidern."),
    "spy": ("Was {hero} belauscht hatte, genügte: {foe} lief geradewegs in die Falle, die {hero} "
            "und {friend} gestellt hatten.",
            "{Hero} kannte {foe_gen} Plan inzwischen auswendig und drehte ihn gegen {xobj}."),
    "avoid": ("Während {threat} {foe} in Atem hielt, schlüpften {hero} und {friend} zum Ziel "
              "durch.",
              "{Hero} wartete, bis {threat} vorüber war. Dann ging {pron} los, schnell, und {foe} "
              "sah {obj} nicht kommen."),
    "face": ("Ohne {threat_acc} stand {foe} allein da und wusste es.",
             "Sobald {threat} erledigt war, stand nichts mehr zwischen {hero} und dem Ziel, und "
             "{foe} wusste es."),
    "use": ("Mit {item_dat} in der Hand wandte sich {hero} {foe} zu, und alles, was {foe} "
            "auf Angst gebaut hatte, zerfiel.",
            "{Item_cap} tat, wofür {item_pron} gemacht war, und {foe} konnte nur zusehen."),
    "follow": ("{Friend} kannte den Weg {here_to}, {foe} nicht. Sie waren als Erste da.",
               "{Friend} führte sie über einen Pfad, den sonst niemand kannte, und {foe} war "
               "noch auf der Hauptstraße, als sie ankamen."),
    "go": ("{Hero} erreichte {here_acc} zuerst, {foe} nur einen Atemzug später.",
           "{Here_cap} {war} das Ende des Weges, und {hero} war zuerst da."),
    "search": ("Ganz hinten {here_loc} fand {hero}, was {foe} übersehen hatte.",
               "Der letzte Ort, an dem jemand suchen würde, war genau der, an dem {hero} suchte, "
               "und dort lag, wonach {foe} die ganze Zeit gesucht hatte."),
    "ask": ("{Friend} hatte die ganze Zeit gewusst, wie es enden würde, und diesmal sagte {fpron} "
            "es rechtzeitig: {Foe} war zu schlagen, aber nur {here_loc}.",
            "Was {friend} {dat} in jener Nacht erzählte, war das letzte Stück des Rätsels: "
            "{foe_gen} einzige Schwäche."),
    "rest": ("Ihr Plan war einfach: {Friend} hielt {foe} hin, während {hero} auf das Ziel zuging. "
             "Es klappte.",
             "Ausgeruht und bereit machten sie es genau wie geplant, und {foe} begriff nie, was "
             "geschehen war."),
    "action": ("Und genau das gab am Ende den Ausschlag.",
               "Damit hatte niemand gerechnet, am wenigsten {foe}."),
    "generic": ("Damit hatte {foe} am allerwenigsten gerechnet.",
                "Es klappte, besser, als irgendwer zu hoffen gewagt hatte."),
    "free": ("Am Ende war es genau das, was den Ausschlag gab, und {foe} hatte es nicht kommen "
             "sehen.",
             "Es war die richtige Entscheidung, und sie genügte: {foe} hatte nichts mehr "
             "entgegenzusetzen."),
}
END_GENTLE = {
    "confront": ("{Hero} sagte es endlich laut, vor allen, und {foe} wurde knallrot.",),
    "talk": ("Es dauerte lange und kostete zwei Kannen Tee, aber am Ende hörte {foe} zu.",),
    "bargain": ("{Hero} und {foe} schlugen ein, was beide überraschte.",),
    "spy": ("Was {hero} belauscht hatte, war ein Missverständnis, und zwar ein lustiges.",),
    "use": ("{Hero} hielt {item_acc} hoch, und plötzlich verstanden es alle, sogar {foe}.",),
}
OBSTACLE_END = {
    "creature": ("{Hero} hob {item_acc}, und {threat} floh für immer in die Dunkelheit.",
                 "{Friend} lockte {threat_acc} fort, während {hero} rannte, und {threat_pron} "
                 "kam nie zurück."),
    "hazard": ("Mit {item_dat} kamen sie durch {threat_acc}, und hinter ihnen flaute {threat_pron} "
               "ab.",
               "Endlich zog {threat} vorüber, und dahinter war der Himmel klar."),
    "problem": ("Mit {item_dat} {faced_v2}.",
                "Am Ende {faced_v2}, und {threat} war kein Problem mehr."),
    "person": ("Ein Blick auf {item_acc}, und {threat} trat beiseite.",
               "Endlich trat {threat} beiseite, ohne ein Wort."),
}
OBSTACLE_END_GENTLE = {
    "creature": ("{Hero} hielt {item_acc} hin, und {threat} kam herangetrottet, plötzlich "
                 "lammfromm.",
                 "{Threat_cap} lief etwas Interessanterem hinterher, und alle jubelten."),
    "hazard": ("Mit {item_dat} wurde aus {threat_dat} der größte Spaß des Sommers.",
               "{Threat_cap} endete so plötzlich, wie {threat_pron} begonnen hatte, und alle "
               "lachten."),
    "problem": ("Mit {item_dat} {faced_v2}.",
                "Am Ende {faced_v2}, und alle fragten sich, worum es eigentlich gegangen war."),
    "person": ("Ein Blick auf {item_acc}, und {threat} brach in Gelächter aus.",
               "{Threat_cap} gab auf und ging zum Abendessen nach Hause."),
}
FATE = {
    "confront": ("{Foe} wurde abgeführt, und niemand weinte {xdat} eine Träne nach.",),
    "bargain": ("{Foe} ging noch in derselben Nacht und wurde {here_loc} nie wieder gesehen.",),
    "spy": ("{Foe} verstand nie, wie es geschehen war.",),
    "follow": ("Als {foe} ankam, war alles vorbei, und {xpron} wusste es.",),
    "go": ("{Foe} kam zu spät und wandte sich wortlos ab.",),
    "": ("{Foe} floh in die Nacht und wurde nie wieder gesehen.",
         "{Foe} war geschlagen, und jeder {here_loc} wusste es.",
         "Niemand fand je heraus, wohin {foe} gegangen war, und niemand suchte lange.",
         "{Foe} ging mit nichts als {xposs}em Namen, und selbst der war jetzt weniger wert."),
}
ITEM_END = ("{Hero} behielt {item_acc} als Andenken an diese Reise.",
            "{Item_cap} wanderte zurück in {poss}e Tasche, die Arbeit war getan.",
            "{Item_cap} bekam einen Ehrenplatz {here_loc}.")
RIVAL_END = ("{Foe} lachte schließlich und reichte {dat} die Hand.",
             "{Foe} gab sich mit einer Verbeugung geschlagen und brachte sogar ein Lächeln "
             "zustande.",
             "Sogar {foe} musste klatschen, wenn auch etwas steif.")
GOAL = ("Endlich {goal_done_v2}.", "Am Ende {goal_done_v2}.",
        "Es war fast Morgen, als {hero} {goal_done_sub}.",
        "{Hero} {goal_done}, und {friend} stieß einen Jubelschrei aus, der weithin widerhallte.",
        "Und so {goal_done_v2}, genau wie {pron} es versprochen hatte.",
        "{Hero} {goal_done}, und einen langen Augenblick sprach niemand.")
GOAL_INF = ("Endlich war es geschafft: {Hero} konnte {goal}.",
            "Es war vollbracht: {Hero} hatte es geschafft, {goal_zu}.")
FRIEND_TRUSTED = ("{Friend} war vom ersten bis zum letzten Schritt an {poss}er Seite gewesen.",
                  "{Hero} und {friend} grinsten sich an, {friends} fürs Leben.",
                  "{Friend} sagte nichts, aber {fposs} Lächeln sagte alles.",
                  "\u201eNächstes Mal\u201c, sagte {friend}, \u201enehmen wir den einfachen "
                  "Weg.\u201c {Hero} lachte nur.",
                  "{Friend} umarmte {obj} als Erste{friend_e} und ließ als Letzte{friend_e} los.",
                  "Ohne {friend} hätte {hero} es nie geschafft, und beide wussten es.")
FRIEND_DOUBTED = ("{Friend} hatte mehr gewusst, als {fpron} sagte, und {hero} verzieh {fdat}.",
                  "Später fragte {hero} {friend}, was {fpron} verschwiegen hatte. Die Antwort "
                  "brachte beide zum Lachen.",
                  "Auf dem Heimweg verriet {friend} endlich das Geheimnis, das {fpron} die ganze "
                  "Zeit mit sich getragen hatte: {Fpron_cap} {secret}.",
                  "{Friend} entschuldigte sich für jedes Geheimnis, und {hero} sagte, das sei "
                  "jetzt nicht mehr wichtig.",
                  "{Hero} und {friend} redeten lange in dieser Nacht, zum ersten Mal seit Wochen "
                  "ganz ehrlich.")
FINAL = ("Noch Jahre später erzählte man sich {here_loc} die Geschichte von {hero_full}.",
         "Zum ersten Mal seit Langem war es {here_loc} still.",
         "Dann machten sich {hero} und {friend} auf den Heimweg, und diesmal ließen sie sich "
         "Zeit.",
         "Morgen würde es für {hero} neuen Ärger geben. Heute Nacht nicht.",
         "Irgendwo {here_loc} fing jemand an zu singen, und {hero} hatte nichts dagegen.",
         "In dieser Nacht schlief {hero} zum ersten Mal seit Tagen.")
TITLES_END = ("Das letzte Licht", "Der Weg zurück", "Schluss mit {threat_dat}",
              "{Hero} triumphiert", "Wo alles endet", "Nach dem Sturm")
# the ending happens where the goal is (Plot.goal_place): reached for the first time, or again
GOAL_PLACE = ("Schließlich erreichten sie {here_acc}, wohin alles geführt hatte.",
              "Das letzte Stück des Weges führte {here_to}.",
              "Es war schon dunkel, als sie {here_to} kamen.",
              "Eine Stunde später waren sie {here_loc}.",
              "{Friend} ging voran, und bei Einbruch der Nacht waren sie {here_loc}.",
              "Auf dem Weg {here_to} sprach kaum jemand.")
GOAL_BACK = ("Am Ende führte der Weg zurück {here_to}.",
             "Bei Einbruch der Nacht waren sie wieder {here_loc}.",
             "Ein letztes Mal gingen sie zurück {here_to}.",
             "{Friend} sprach es als Erste{friend_e} aus: Sie mussten zurück {here_to}.",
             "Der Rückweg {here_to} kam ihnen kürzer vor als der Hinweg.")
