"""Deutsche Sätze eines Kapitels mitten in einer Offline-Geschichte: Ankunft, Folgen einer
Wahl, die Stationen des Bogens, das Hindernis nach seiner Art, die Züge des Gegenspielers,
wörtliche Rede, Stimmung und Kapiteltitel.

Geschrieben als Deutsch, nicht übersetzt: Präteritum für die Erzählung, Fälle über die Slots
({threat_acc}, {item_dat}, {here_loc} …), Possessivstämme zum Deklinieren ("{poss}er Seite").
Each pool is walked in a per-story shuffled order, each entry taken at most once.
"""

from __future__ import annotations

ARRIVE = (
    "{Here_cap} {war} {note}.", "Ringsum {lag} {here}, {note}.",
    "Das also {war} {here}: {note}.", "Vor ihnen {lag} {here}, {note}.",
    "{Here_cap} {erwies} als {note}.", "In der Dämmerung erreichten sie {here_acc}: {note}.",
    "Gegen Mittag standen sie {here_loc}: {note}.",
)
ARRIVE_PLAIN = (
    "{Here_cap} {war} stiller, als alle erwartet hatten.",
    "Niemand erwartete sie {here_loc}.", "Sie erreichten {here_acc}, als das Licht schwand.",
    "{Here_loc_cap} roch es nach Staub und alten Geheimnissen.",
    "Auf den ersten Blick wirkte alles {here_loc} harmlos.", "{Here_loc_cap} endete die Straße.",
)
REVISIT = ("{Here_loc_cap} hatte sich nichts verändert, nur war inzwischen jemand hier gewesen.",
           "Beim zweiten Mal fühlte sich alles {here_loc} anders an.",
           "Sie waren zurück {here_loc}, und diesmal wussten sie, wo sie suchen mussten.")
AFTER = {
    "find": ("Halb versteckt {here_loc} fand {hero} {a_item_acc}.",
             "Unter einem umgestürzten Balken lag {a_item}, wie für {hero} bereitgelegt.",
             "{Friend} entdeckte etwas, das niemand sonst bemerkt hatte: {a_item_acc}.",
             "In Wachstuch gewickelt, ganz unten in einer Truhe, lag {a_item}."),
    "clue": ("Eine zerrissene Karte zeigte den Weg {to}.", "Jede Spur {here_loc} führte {to}.",
             "Unter dem Staub hatte jemand einen einzigen Namen eingeritzt: {dest}.",
             "{Friend} fand Fußspuren: {foe} war hier gewesen, und zwar vor Kurzem.",
             "Eine Seite in einem alten Buch nannte {dest_acc}, zweimal unterstrichen."),
    "ask": ("{Foe} will dasselbe wie wir, und {xpron} war zuerst hier",
            "Ich hätte es dir früher sagen sollen: Diesen Weg hat schon jemand versucht",
            "Ich hatte Angst, dass du ohne mich gehst", "Wir machen das zusammen oder gar nicht"),
    "ask_item": ("Das ist älter, als es aussieht. Pass gut darauf auf",
                 "{Foe} würde alles dafür geben. Lass es nicht aus den Augen",
                 "So etwas habe ich schon einmal gesehen. Damals hat es ein Leben gerettet"),
    "foe_says": ("Du kommst zu spät", "Geh nach Hause, solange du noch kannst",
                 "Alles hier gehört mir", "Du hast keine Ahnung, mit wem du es zu tun hast"),
    "foe_bargain": ("Alles hat seinen Preis. Meiner ist {item}",
                    "Geh jetzt, und niemandem passiert etwas",
                    "Du willst {goal}? Ich auch. Rate mal, wer es schafft"),
    "rival_says": ("Na gut, vielleicht habe ich mich in dir getäuscht",
                   "Du bist sturer, als ich dachte", "Lass uns kein Theater machen",
                   "Wir wollen wohl beide dasselbe"),
    "spy": ("Also wollte auch {foe} {to}.",
            "{Foe} war ebenfalls hinter {item_dat} her und wollte {to}.",
            "{Hero} hörte {foe} zweimal denselben Namen sagen: {dest}.",
            "{Foe} stritt mit jemandem über {dest_acc}."),
    "avoid:creature": ("{Threat_cap} kam so nah vorbei, dass die Luft kalt wurde.",
                       "{Threat_cap} schnupperte, drehte um und zog weiter.",
                       "Eine lange Minute wartete {threat}. Dann zog {threat_pron} ab, "
                       "fürs Erste."),
    "avoid:hazard": ("{Threat_cap} tobte eine Stunde lang und ließ dann nach, aber vorbei war "
                     "es noch lange nicht.",
                     "Als das Schlimmste überstanden war, sah der Weg nach vorn anders aus, "
                     "aber nicht leichter.",
                     "Sie warteten das Schlimmste mit dem Rücken zur Wand ab."),
    "avoid:person": ("Niemand hielt sie auf: {threat} sah gerade in die andere Richtung.",
                     "{Threat_cap} drehte sich nicht um.",
                     "Auf der anderen Seite atmete {friend} tief aus."),
    "face:creature": ("{Threat_cap} ging auf den Trick ein und polterte davon.",
                      "{Threat_cap} folgte dem Lärm, und der Weg war frei.",
                      "Es klappte: {threat} lief in die falsche Richtung."),
    "face:hazard": ("Sie kamen durchnässt und zitternd durch {threat_acc}, aber sie kamen durch.",
                    "Hinter {threat_dat} war die Luft plötzlich still.",
                    "Es war mühsam, und dann lag {threat} auf einmal hinter ihnen."),
    "face:problem": ("Alles fügte sich zusammen.", "Plötzlich ergab das Ganze einen Sinn.",
                     "Eine Frage war beantwortet, und sie öffnete den Weg {to}."),
    "face:person": ("{Threat_cap} zögerte und trat dann beiseite.",   # gewonnen oder gestellt
                    "{Threat_cap} sah {obj} lange an und ließ sie dann durch.",
                    "Damit hatte {threat} nicht gerechnet, und das war deutlich zu sehen."),
    "use:creature": ("{Threat_cap} wich zurück, und der Weg {to} lag offen.",
                     "{Threat_cap} heulte auf und floh, und der Weg {to} war frei.",
                     "{Threat_cap} schreckte vor {item_dat} zurück und kam nicht wieder."),
    "use:hazard": ("Auf der anderen Seite war der Weg {to} frei.",
                   "Hinter ihnen tobte {threat}, doch {threat_pron} konnte ihnen nichts mehr "
                   "anhaben.",
                   "Sie kamen ohne einen Kratzer aus {threat_dat} heraus."),
    "use:person": ("{Threat_cap} starrte auf {item_acc} und trat dann beiseite.",
                   "{Threat_cap} ließ sie ohne ein weiteres Wort durch.",
                   "Mehr brauchte es nicht: {threat} winkte sie durch."),
    "secret": ("{Friend} zögerte, dann sagte {fpron} {dat} die Wahrheit: {Fpron_cap} {secret}.",),
    "motive": ("Was {hero} hörte, änderte alles: {Foe} {motive}.",),
    "rest": ("Was auch passiert, ich bin bei dir", "Erst schlafen wir. Dann bringen wir es zu Ende",
             "Wir brechen im Morgengrauen auf und halten nicht an"),
    "action": ("Es veränderte mehr, als irgendwer erwartet hatte.",
               "Einen Augenblick lang stand alles still.",
               "Es war das Richtige, und es war nicht leicht."),
    "deed": ("Es hatte sich gelohnt: Danach wusste {hero}, dass der Weg {to} führte.",
             "Es lief nicht nach Plan, aber eines wusste {hero} danach: {foe} war vor ihnen "
             "da gewesen.",
             "Es klappte, mehr oder weniger, und zum ersten Mal seit Tagen wirkte {friend} "
             "zuversichtlich.",
             "Es kostete sie eine Stunde, aber es lohnte sich: Der nächste Schritt führte {to}.",
             "{Friend} hatte nicht geglaubt, dass es klappen würde. Es klappte."),
    "free": ("Niemand hätte sagen können, was daraus werden würde.", "Es war ein Anfang.",
             "{Friend} nickte langsam: Es könnte klappen."),
}
SECRET = ("war schon einmal {dest_loc} gewesen und von dort geflohen",
          "hatte vor langer Zeit für {foe} gearbeitet",
          "wusste mehr über {item_acc}, als {fpron} je zugegeben hatte",
          "hatte jemandem versprochen, {hero} von diesem Weg fernzuhalten")
MOTIVE = ("war gar nicht hinter dem Preis her, sondern hinter {hero}",
          "brauchte {item_acc} dringender, als irgendwer ahnte",
          "war vor langer Zeit betrogen worden und wollte, dass die Welt dafür bezahlt",
          "hatte Angst, und die Angst hatte {xobj} grausam gemacht")
MOTIVE_GENTLE = ("wollte nur einmal ernst genommen werden",
                 "war einsam und hatte verlernt, es zu sagen",
                 "hatte mit der halben Stadt gewettet")
FOE_INTRO = ("Doch {foe_full}, {foe_desc}, war schon vor ihnen hier gewesen.",
             "Schlimmer noch: Es hieß, {foe_full}, {foe_desc}, sei hinter genau derselben "
             "Sache her.",
             "Da hörten sie zum ersten Mal den Namen {foe_full}: {foe_desc}.")
STAGE = {
    "complication": ("Der Weg {to} war versperrt, und nur {friend} kannte einen anderen.",
                     "Schlimmer noch: {Foe} wollte genau dasselbe.",
                     "{Hero} ahnte, dass nichts daran leicht werden würde.",
                     "Am Abend wussten {hero} und {friend}, dass es länger als einen Tag dauern "
                     "würde."),
    "turn": ("Für {hero} war nichts mehr so, wie es am Anfang ausgesehen hatte.",
             "Zum ersten Mal wirkte {foe} besorgt.",
             "Allmählich erkannte {hero}, wie alles zusammenhing.",
             "Irgendwann unterwegs hatte {foe} begonnen, sich ständig umzusehen."),
    "climax": ("Alles führte jetzt {to}, wo {foe} schon wartete.",
               "{Foe} ließ ausrichten: Heute Nacht würde es enden, so oder so.",
               "Jetzt gab es kein Zurück mehr, und {hero} wusste es.",
               "Auf diesen Augenblick war alles hinausgelaufen, seit {hero} aufgebrochen war."),
    "endgame": ("{Hero} spürte, dass das Ende des Weges nah war.",
                "Für {hero} fehlte nur noch ein letzter Schritt.",
                "Das Ziel war für {hero} zum Greifen nah.", "Fast geschafft, dachte {friend}."),
}
THREAT_INTRO = {
    "creature": ("Dann kam ein Geräusch, das nur eines bedeuten konnte: {threat}.",
                 "Irgendwo in der Dunkelheit regte sich {a_threat}."),
    "hazard": ("Dann kam {threat}, schneller als befürchtet.",
               "Niemand hatte sie vor {threat_dat} gewarnt, und jetzt war {threat_pron} da."),
    "problem": ("Dann stießen sie auf {threat_acc}, und nichts ergab mehr einen Sinn.",
                "Und dann war da noch {threat}, und niemand hatte eine Erklärung dafür."),
    "person": ("Dann sahen sie {threat_acc}, mitten auf ihrem Weg.",
               "Und zwischen ihnen und dem Ziel stand {threat}."),
}
THREAT = {
    "creature": ("Irgendwo in der Dunkelheit regte sich {threat}.",
                 "Die Spuren am Boden waren frisch: {threat} war hier vorbeigekommen.",
                 "Zweimal hörten sie {threat_acc}, und beim zweiten Mal war {threat_pron} näher.",
                 "{Threat_cap} war auf der Jagd und hatte es nicht eilig."),
    "hazard": ("{Threat_cap} wurde von Stunde zu Stunde schlimmer.",
               "Hinter ihnen hatte {threat} die Straße schon verschluckt.",
               "Niemand konnte {threat_acc} ewig aussitzen.",
               "{Friend} behielt {threat_acc} im Auge, und was {fpron} sah, gefiel {fdat} nicht."),
    "problem": ("{Threat_cap} ergab noch immer keinen Sinn, und das ließ {hero} keine Ruhe.",
                "Niemand konnte {threat_acc} erklären, und jeder hatte eine Theorie.",
                "Solange {threat} ungeklärt war, ging nichts voran.",
                "Zum hundertsten Mal ging {hero} {threat_acc} im Kopf durch."),
    "person": ("{Threat_cap} behielt die Straße noch immer im Blick.",
               "{Threat_cap} hatte sich nicht gerührt und hatte es offensichtlich auch nicht vor.",
               "Früher oder später mussten sie an {threat_dat} vorbei.",
               "{Friend} hatte {threat_acc} an diesem Tag schon zweimal gesehen."),
}
FOE = ("Eine Nachricht von {foe} traf ein, und sie war nicht freundlich.",
       "{Foe_gen} Leute hatten {here_loc} Fragen gestellt.",
       "Jemand hatte {foe} auf dem Weg {to} gesehen.",
       "{Foe} war ihnen immer einen Schritt voraus, und {hero} hatte es satt.",
       "Alle wussten, dass {foe} nicht ewig warten würde.",
       "{Foe} hatte eine Warnung hinterlassen, wo sie niemand übersehen konnte.")
RIVAL = ("{Foe} hatte der halben Stadt schon eine andere Geschichte erzählt.",
         "Ein Brief von {foe} kam an, voller höflicher kleiner Spitzen.",
         "Auf der anderen Seite des Platzes lächelte {foe} etwas zu süß.",
         "{Foe} erzählte jedem, dass {hero} es nie schaffen würde.",
         "{Foe} winkte von Weitem, und irgendwie war das schlimmer.")
FRIEND_SAYS = ("Hast du das gehört, {hero}?", "{Here_loc_cap} gefällt es mir überhaupt nicht",
               "Wir sollten uns beeilen, bevor {foe} es tut",
               "Bleib dicht bei mir. {Here_loc_cap} verirrt man sich leicht",
               "Sind wir uns da sicher? {Foe} ist nicht dumm",
               "Das war fast zu einfach. {Foe} weiß bestimmt, dass wir hier sind",
               "Das habe ich schon einmal gesehen, {hero}, vor langer Zeit", "Vertrau mir, {hero}",
               "Nächstes Mal, {hero}, machen wir vorher einen Plan",
               "Na ja, {hero}, es hätte schlimmer kommen können",
               "{Here_loc_cap} ist es mir unheimlich",
               "Wenn {foe} uns hier findet, sind wir erledigt")
HERO_SAYS = ("Wir kehren nicht um, {friend}", "Ein Schritt, {friend}, dann noch einer",
             "{Foe} gibt nicht auf, also wir auch nicht",
             "Ich habe es versprochen, {friend}, und ich halte es",
             "Wenn du nach Hause willst, {friend}, dann jetzt",
             "Was auch passiert, {friend}, bleib hinter mir",
             "Niemand hat gesagt, dass es {here_loc} leicht wird",
             "Wir sind nah dran, {friend}. Ich spüre es")
MOOD = ("{Hero} zählte die Auswege, nur für alle Fälle.",
        "{Friend} summte eine Melodie gegen die Nervosität.",
        "Eine Weile sagten weder {hero} noch {friend} ein Wort.",
        "{Hero} rieb sich die müden Augen und ging weiter.",
        "{Friend} sah sich zweimal nach dem Weg hinter ihnen um.",
        "{Here_loc_cap} herrschte die Art von Stille, in der man unwillkürlich flüstert.",
        "{Hero} dachte an zu Hause, nur einen Augenblick lang.",
        "Jeder Schritt {here_loc} klang lauter, als er sollte.",
        "{Friend} brachte ein kleines, tapferes Lächeln zustande.",
        "{Friend} hatte keinen Hunger, obwohl den ganzen Tag niemand gegessen hatte.",
        "{Hero} war längst durchnässt und merkte es kaum.",
        "Irgendwo {here_loc} bellte ein Hund und überlegte es sich dann anders.")
ITEM = ("{Hero} hielt {item_acc} etwas fester.", "{Item_cap} fühlte sich schwerer an als zuvor.",
        "{Hero} prüfte, ob {item} noch da war.")
CALLBACK = {
    "confront": "{Foe_gen} letzte Worte klangen {dat} noch in den Ohren.",
    "spy": "Was {hero} bei {foe} belauscht hatte, ließ {dat} keine Ruhe.",
    "ask": "{Friend_gen} Antwort hing noch zwischen ihnen.",
    "search": "{Hero} dachte an alles, was sie bisher gefunden hatten, und was es bedeutete.",
    "rest": "Der Plan, den {hero} und {friend} geschmiedet hatten, hielt noch.",
    "use": "{Item_cap} war noch warm vom letzten Mal.",
}
MOURN = ("{Hero} dachte an {dead} und ging weiter.",)
TITLES = ("{Here_cap}", "Das Geheimnis {here_loc}", "{Hero} und {item}", "Schatten {here_loc}",
          "Eine Warnung von {foe}", "Was {Friend} wusste", "Der Weg {to}", "{Threat_cap}",
          "Ein Versprechen {here_loc}", "Der Preis für {item_acc}", "Flüstern {here_loc}",
          "{Foe_gen} nächster Zug", "Vor dem Sturm", "Zwischen zwei Wegen", "Nacht {here_loc}",
          "Der lange Umweg")
BACKSTORY = ("{Hero} war mit kaum mehr als einem Versprechen von zu Hause aufgebrochen.",
             "Es war nicht das erste Mal, dass jemand {hero} geraten hatte aufzugeben.",
             "Andere hatten schon versucht, {goal_zu}, und die meisten waren mit leeren "
             "Händen zurückgekommen.",
             "{Friend} und {hero} kannten sich seit Jahren, seit einem Tag, über den beide nicht "
             "gern sprachen.",
             "{Hero} trug einen Brief von zu Hause bei sich und hatte ihn noch nicht geöffnet.",
             "Zu Hause redeten die Leute, die nicht an {hero} geglaubt hatten, noch immer.")
