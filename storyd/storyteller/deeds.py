"""A model's choice told as a deed: "Break into Kroll's office" → "broke into Kroll's office",
"Frag den Fährmann, was er weiß" → "fragte den Fährmann, was er wusste".

The offline storyteller recognises its own choices by their first words (choices.py); a
choice a model wrote is anything at all. When it reads as an order in the second person (the
way choices are written), its verb goes into the past tense, "your"/"dein" becomes the hero's,
and the present of a clause that follows is moved back ("knows" → "knew", "weiß" → "wusste"),
so the next chapter can say that the hero did it instead of quoting the vote. A choice that
does not start with a verb we know gives "" (the chapter quotes it then).
"""

from __future__ import annotations

import re

_EN_IRREGULAR = dict(w.split(":") for w in (
    "go:went run:ran break:broke find:found fight:fought flee:fled give:gave tell:told "
    "steal:stole swim:swam keep:kept leave:left make:made get:got bring:brought buy:bought "
    "sell:sold build:built hide:hid sing:sang take:took throw:threw speak:spoke ride:rode "
    "hold:held seek:sought catch:caught choose:chose lead:led read:read send:sent set:set "
    "let:let put:put sit:sat stand:stood wake:woke write:wrote dig:dug draw:drew drink:drank "
    "eat:ate feed:fed fly:flew forgive:forgave freeze:froze hang:hung hear:heard lose:lost "
    "meet:met pay:paid say:said see:saw shoot:shot shut:shut sleep:slept slide:slid "
    "spend:spent strike:struck sweep:swept swing:swung teach:taught tear:tore think:thought "
    "wear:wore win:won cast:cast cut:cut hit:hit quit:quit begin:began become:became "
    "blow:blew come:came do:did feel:felt forget:forgot grow:grew have:had be:was light:lit "
    "rise:rose shake:shook sink:sank spring:sprang swear:swore understand:understood "
    "overhear:overheard undo:undid withdraw:withdrew sneak:sneaked dive:dived bite:bit "
    "slay:slew bind:bound seize:seized creep:crept lend:lent bet:bet bend:bent fall:fell "
    "hurt:hurt ring:rang shine:shone weep:wept beat:beat spread:spread split:split leap:leapt "
    "kneel:knelt").split())
_EN_DOUBLE = frozenset(
    "stop plan drop grab trap slip skip hug rob nod tap chat spot admit step beg drag rub "
    "shrug stab tug scan jam pin wrap trip plot snap strip flip clap chop wag pat pet hop "
    "ship sip dip rip".split())
_EN_REGULAR = frozenset(
    "open enter climb talk help investigate explore return look call trust attack defend wait "
    "listen try jump cross check question follow examine accept refuse warn chase escape "
    "protect stay turn pick search lock save free rescue visit join push ask pull hunt track "
    "fix play dance kiss forgive confess use rest head spy confront study sharpen bargain "
    "hack compare sail sneak answer approach argue assemble avoid board bribe burn calm "
    "challenge charge collect comfort confide contact convince crawl dare decode demand destroy "
    "disguise distract dodge drive earn embrace evacuate fetch fire fold gather greet guard "
    "ignore inspect interrogate invite load lure mark offer order paint persuade phone "
    "pray prepare press promise pursue race raid reach record release remember repair report "
    "rescue retreat risk scout seal shout show signal slow smash sprint squeeze steer stash "
    "storm summon surrender swap test thank tie trace trade wander warm wish work clear prove "
    "uncover expose reunite restore defeat avenge solve unmask recover reclaim survive "
    "deliver finish end pretend infiltrate negotiate regroup rally observe watch threaten "
    "bluff plead rush hurry block barricade shelter descend ascend wade row paddle hike march "
    "walk borrow sabotage disarm defuse photograph film publish print post alert notify sign "
    "agree decline reject confirm deny knock close unlock download upload delete ping "
    "accuse apologise apologize ambush blackmail cheer comfort consult cook count cover "
    "dig drown echo fake flip guide hammer heal hold inform intercept jam kidnap listen "
    "mend nudge obey pack patrol plant poison pour question reason recruit rescue rewire "
    "scare search shelter shoot sketch smuggle spare stall stalk study swap sweep tame track "
    "train trick vanish volunteer wake whistle".split())
_EN_BACK = {"is": "was", "are": "were", "has": "had", "knows": "knew", "wants": "wanted",
            "does": "did", "can": "could", "will": "would", "am": "was", "hides": "hid",
            "says": "said", "means": "meant", "thinks": "thought", "needs": "needed"}


def _en_past(verb: str) -> str:
    v = verb.casefold()
    if v in _EN_IRREGULAR:
        return _EN_IRREGULAR[v]
    if v in _EN_DOUBLE:
        return v + v[-1] + "ed"
    if v.endswith("e"):
        return v + "d"
    if v.endswith("y") and len(v) > 2 and v[-2] not in "aeiou":
        return v[:-1] + "ied"
    return v + "ed"


def is_en_verb(word: str) -> bool:
    """True for an English verb this module can put in the past."""
    return _en_known(word)


def _en_known(word: str) -> bool:
    w = word.casefold()
    return w in _EN_IRREGULAR or w in _EN_DOUBLE or w in _EN_REGULAR


def en_deed(choice: str, g: str) -> str:
    """The English past-tense deed of an imperative choice ("" when it is not one)."""
    words = choice.split()
    if not words:
        return ""
    neg = ""
    if words[0].casefold() in ("don't", "don’t") or [w.casefold() for w in words[:2]] == [
            "do", "not"]:
        words = words[1:] if words[0].casefold() != "do" else words[2:]
        neg = "did not "
    if not words or not _en_known(words[0]):
        return ""
    poss, refl, obj = {"f": ("her", "herself", "her"), "m": ("his", "himself", "him")}.get(
        g, ("their", "themselves", "them"))
    out = [neg + (words[0].casefold() if neg else _en_past(words[0]))]
    for i, w in enumerate(words[1:], 1):
        core = w.strip(".,;:!?").casefold()
        tail = w[len(w.rstrip(".,;:!?")):]
        prev = words[i - 1].casefold().rstrip(",")
        if core in ("your", "yours"):
            w = poss + tail
        elif core == "yourself":
            w = refl + tail
        elif core == "you":
            w = obj + tail
        elif core in _EN_BACK:
            w = _EN_BACK[core] + tail
        elif prev in ("and", "then") and _en_known(core) and not neg:
            w = _en_past(core) + tail   # "Run and hide" → "ran and hid"
        out.append(w)
    return " ".join(out).rstrip(" .!?;:")


# German: the imperative (with or without -e) → 3rd person singular Präteritum
_DE_STRONG = dict(w.split(":") for w in (
    "brich:brach nimm:nahm lies:las sieh:sah hilf:half sprich:sprach triff:traf wirf:warf "
    "gib:gab tritt:trat vergiss:vergaß iss:aß lauf:lief geh:ging ruf:rief schleich:schlich "
    "bleib:blieb flieh:floh fahr:fuhr schlaf:schlief lass:ließ komm:kam spring:sprang "
    "schwimm:schwamm find:fand trink:trank sing:sang zieh:zog schließ:schloss schieß:schoss "
    "heb:hob halt:hielt steig:stieg greif:griff bitt:bat bring:brachte denk:dachte "
    "renn:rannte tu:tat schreib:schrieb schweig:schwieg verschwind:verschwand "
    "versprich:versprach verbirg:verbarg betritt:betrat verlass:verließ schlag:schlug "
    "trag:trug grab:grub stiehl:stahl lad:lud fang:fing reit:ritt steh:stand versteh:verstand "
    "biet:bot beginn:begann gewinn:gewann verrat:verriet rat:riet wend:wandte kriech:kroch "
    "schreib:schrieb sitz:saß lüg:log betrüg:betrog brech:brach nehm:nahm les:las seh:sah "
    "helf:half sprech:sprach treff:traf werf:warf geb:gab tret:trat vergess:vergaß ess:aß "
    "versprech:versprach verberg:verbarg betret:betrat stehl:stahl").split())
_DE_REGULAR = frozenset(
    "frag folg such stell leg schau hör mach sag kämpf vertrau schick zeig hol öffn wart "
    "rett red beobacht betracht verhandel sammel kletter erinner versuch belausch durchsuch "
    "untersuch erkund überred überzeug überquer verfolg versteck nutz benutz klopf lausch "
    "kehr befrag bewach verteidig warn lock schleus hack scann prüf vergleich knack kauf tausch "
    "spiel tanz küss umarm entschuldig verzeih gesteh ruh besuch reis segel ruder "
    "flücht stürm jag spür füll leit lenk schalt reparier markier "
    "antwort bau sperr setz lehn dreh wend horch späh flüster schrei "
    "beschütz begleit befrei erzähl erklär forder führ".split())
_DE_BACK = {"ist": "war", "sind": "waren", "hat": "hatte", "haben": "hatten", "weiß": "wusste",
            "will": "wollte", "kann": "konnte", "wird": "würde", "muss": "musste",
            "versteckt": "versteckte", "sagt": "sagte", "plant": "plante", "verbirgt": "verbarg",
            "weißt": "wusstest"}
# casefold() would spell weiß "weiss": German words are compared lower()
_DE_PREFIX = ("ver", "be", "er", "ent", "zer", "über", "unter", "hinter", "miss", "ge")
_DE_POSS = {"dein": ("ihr", "sein"), "deine": ("ihre", "seine"), "deinen": ("ihren", "seinen"),
            "deinem": ("ihrem", "seinem"), "deiner": ("ihrer", "seiner"),
            "deines": ("ihres", "seines")}


def _de_stem(word: str) -> str:
    w = word.lower()
    if w.endswith("le") and len(w) > 4:   # verhandle → verhandel
        return w[:-2] + "el"
    if w.endswith("re") and len(w) > 4 and w[-3] == "e":   # klettere → kletter
        return w[:-1]
    return w[:-1] if w.endswith("e") and len(w) > 3 else w


def _de_past(word: str) -> str:
    w = word.lower()
    for cand in (w, _de_stem(w)):
        if cand in _DE_STRONG:
            return _DE_STRONG[cand]
        for pre in _DE_PREFIX:
            if cand.startswith(pre) and cand[len(pre):] in _DE_STRONG:
                return pre + _DE_STRONG[cand[len(pre):]]
    stem = _de_stem(w)
    if stem not in _DE_REGULAR and w not in _DE_REGULAR:
        return ""
    if re.search(r"([td]|[^aeioulrh][mn])$", stem) and not stem.endswith(("el", "er")):
        return stem + "ete"   # wartete, öffnete, rettete
    return stem + "te"


def de_deed(choice: str, g: str) -> str:
    """The German Präteritum deed of a du-imperative choice, verb first ("" when it is not
    one): „Brich in Krolls Büro ein“ → "brach in Krolls Büro ein"."""
    words = choice.split()
    if not words:
        return ""
    verb = _de_past(words[0])
    if not verb:
        return _de_infinitive(words)
    out = [verb]
    for w in words[1:]:
        core = w.strip(".,;:!?")
        tail = w[len(w.rstrip(".,;:!?")):]
        low = core.lower()
        if low in ("dich", "dir"):
            w = "sich" + tail
        elif low in _DE_POSS and core[:1].islower():
            w = _DE_POSS[low][0 if g == "f" else 1] + tail
        elif low in _DE_BACK and core[:1].islower():
            w = _DE_BACK[low] + tail
        out.append(w)
    return " ".join(out).rstrip(" .!?;:")


_DE_SEPARABLE = ("zurück", "heraus", "hinaus", "herein", "hinein", "hinauf", "herunter",
                 "weiter", "durch", "fort", "nach", "weg", "los", "auf", "aus", "ein", "mit",
                 "vor", "ab", "an", "bei", "zu", "um")
_DE_LOWER = frozenset("den die das dem der des ein eine einen einem einer mit zum zur zu in im "
                      "ins am an auf aus bei nach von vom über unter hinter vor durch für "
                      "gegen ohne um seinen seine sein ihren ihre ihr alle alles nicht noch "
                      "heimlich leise schnell allein sofort".split())


def _de_infinitive(words: list[str]) -> str:
    """A choice written as an infinitive, the way German menus are ("Den Fährmann befragen",
    "Die Tür aufbrechen", "Sich im Keller verstecken") → "befragte den Fährmann", "brach
    die Tür auf", "versteckte sich im Keller"; "" when the last word is no verb we know."""
    words = [w.rstrip(".!?") for w in words]
    last = words[-1]
    if len(words) < 2 or not last.islower() or not last.endswith("n"):
        return ""
    reflexive = words[0].lower() == "sich"
    rest = words[1:-1] if reflexive else words[:-1]
    stem = last[:-1] if last.endswith(("eln", "ern")) else last[:-2] if last.endswith(
        "en") else last[:-1]
    prefix = "" if _de_past(stem) else next(   # "durchsuchen" is one verb, "aufbrechen" two
        (x for x in _DE_SEPARABLE if stem.startswith(x) and len(stem) - len(x) >= 2
         and _de_past(stem[len(x):])), "")
    verb = _de_past(stem[len(prefix):]) if prefix else _de_past(stem)
    if not verb:
        return ""
    if rest and rest[0].lower() in _DE_LOWER:
        rest = [rest[0].lower(), *rest[1:]]
    return " ".join([verb, *(["sich"] if reflexive else []), *rest, *([prefix] if prefix else [])])


def deed(choice: str, lang: str, g: str) -> str:
    """The choice as a past-tense deed in `lang` ("en"/"de"), or ""; a choice that names a
    thing ("The red door", "Der alte Schlüssel") is what the hero chose, not a quoted vote."""
    done = de_deed(choice, g) if lang == "de" else en_deed(choice, g)
    return done or picked(choice, lang)


_EN_ART = ("the", "a", "an", "this", "that", "one")
# a German noun phrase's article in the accusative (after "für"): masculine der/ein change
_DE_ACC = {"der": "den", "ein": "einen", "die": "die", "das": "das", "eine": "eine",
           "dieser": "diesen", "diese": "diese", "dieses": "dieses"}


_FINITE = frozenset("is are was were has have had will can must should would does did "
                    "lies knows wants goes says hides lied "
                    "ist sind war waren hat haben hatte wird werden kann muss lügt".split())


def picked(choice: str, lang: str) -> str:
    """"The red door" → "chose the red door"; „Der alte Schlüssel“ → "entschied sich für den
    alten Schlüssel" ("" unless the choice starts with an article and is a short phrase)."""
    words = choice.rstrip(".!?").split()
    if not 2 <= len(words) <= 8 or any(w.endswith((",", ":", ";")) for w in words[:-1]):
        return ""
    first = words[0].casefold()
    if any(w.casefold() in _FINITE or lang == "en" and w.endswith("s") and _en_known(w[:-1])
           for w in words[1:]):   # a statement ("The stranger is lying"), not a thing
        return ""
    if lang == "de":
        if first not in _DE_ACC:
            return ""
        masc = first in ("der", "ein", "dieser")
        rest = [w[:-1] + "en" if masc and w.endswith("e") and not w[:1].isupper() else w
                for w in words[1:]]   # "der alte Schlüssel" → "den alten Schlüssel"
        return " ".join(["entschied", "sich", "für", _DE_ACC[first], *rest])
    if first not in _EN_ART:
        return ""
    return " ".join(["chose", first, *words[1:]])


# a description's relative clause in the narration's past: "eine Reporterin, die eine Frage
# zu viel stellt" reads "… stellte" in a story told in the Präteritum (the outline, written
# in the present, keeps it)
_DE_PRESENT = dict(w.split(":") for w in (
    "lügt:log vorsingt:vorsang spielt:spielte hält:hielt löst:löste liebt:liebte "
    "kennt:kannte spricht:sprach handelt:handelte verbrennt:verbrannte kann:konnte "
    "erinnert:erinnerte kommt:kam will:wollte hört:hörte schläft:schlief lächelt:lächelte "
    "zeichnet:zeichnete träumt:träumte sieht:sah findet:fand stellt:stellte entgeht:entging "
    "bezahlt:bezahlte pflanzt:pflanzte hortet:hortete schreibt:schrieb ist:war "
    "anbrennt:anbrannte redet:redete vertraut:vertraute läuft:lief baut:baute glaubt:glaubte "
    "stiehlt:stahl weiß:wusste hat:hatte sucht:suchte fürchtet:fürchtete jagt:jagte "
    "trägt:trug wohnt:wohnte lebt:lebte arbeitet:arbeitete").split())
# a place's note, told in the narration ("ein Turm, der im Wind sang"); read only in a note
_DE_NOTE = _DE_PRESENT | dict(w.split(":") for w in (   # (some of these verbs are nouns too)
    "zurückkommt:zurückkam steht:stand riecht:roch werden:wurden singt:sang murmeln:murmelten "
    "schlafen:schliefen führt:führte summen:summten spiegelt:spiegelte mahlt:mahlte "
    "tauscht:tauschte summt:summte duftet:duftete schaukeln:schaukelten klingen:klangen "
    "bewegen:bewegten glüht:glühte").split())
_RELATIVE = re.compile(r",\s+(?:(?:in|an|auf|unter|über|mit|von)\s+)?"
                       r"(?:der|die|das|dem|den|denen|deren|dessen|wo|was)\b[^,]*")


_EN_PRESENT = dict(w.split(":") for w in (
    "lies:lied sings:sang plays:played thinks:thought is:was solves:solved loves:loved "
    "knows:knew wears:wore speaks:spoke trades:traded burns:burned can:could cannot:could_not "
    "remembers:remembered wants:wanted hears:heard sleeps:slept has:had draws:drew "
    "dreams:dreamed asks:asked notices:noticed pays:paid plants:planted finds:found "
    "hoards:hoarded writes:wrote talks:talked trusts:trusted runs:ran builds:built "
    "believes:believed steals:stole lives:lived works:worked hunts:hunted keeps:kept "
    "fears:feared hides:hid tells:told sees:saw").split())
# a place's note, told in the narration ("tunnels where old voices murmured")
_EN_NOTE = _EN_PRESENT | dict(w.split(":") for w in (
    "comes:came stands:stood smells:smelled are:were murmur:murmured sleep:slept goes:went "
    "lean:leaned hum:hummed reflects:reflected grinds:ground hums:hummed sway:swayed "
    "ring:rang move:moved glows:glowed").split())
_EN_RELATIVE = re.compile(r"\b(?:who|that|which|where)\b[^,]*")


def past_clause(desc: str, lang: str, *, note: bool = False) -> str:
    """A description with its relative clauses in the narration's past tense: "a reporter
    who asks one question too many" → "… who asked …", "eine Reporterin, die eine Frage
    zu viel stellt" → "… stellte"; the outline, written in the present, keeps the present."""
    table, clause = (_DE_PRESENT, _RELATIVE) if lang == "de" else (_EN_PRESENT, _EN_RELATIVE)
    if note:   # a place's note: "tunnels where old voices murmured"
        table = _DE_NOTE if lang == "de" else _EN_NOTE

    def back(m: re.Match[str]) -> str:
        return " ".join(table.get(w, w).replace("_", " ") for w in m.group(0).split(" "))
    return clause.sub(back, desc)
