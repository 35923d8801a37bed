"""English grammar of the offline storyteller: noun phrases and sentence templates.

Templates are format strings over the slots `offline_plot` fills (see `slots`). Every pool
has several entries; a story walks each pool in its own shuffled order, one step per chapter,
so stock lines vary and do not come back within a story.
"""

from __future__ import annotations

from storyd.storyteller.bank import Obstacle, Place, Thing

LANG = "en"
STOP = ("the", "a", "an")


def a(noun: str) -> str:
    return ("an " if noun[:1].casefold() in "aeiou" else "a ") + noun


def the(noun: str) -> str:
    return noun if noun[:1].isupper() or noun.casefold().startswith("the ") else "the " + noun


def place_name(p: Place) -> str:
    return p.en


def place_forms(name: str, prep: str) -> dict[str, str]:
    name = the(name) if name[:1].islower() else name
    return {"": name, "loc": f"{prep} {name}", "to": f"to {name}", "acc": name}


def thing_forms(t: Thing | Obstacle) -> dict[str, str]:
    return {"": the(t.en), "acc": the(t.en), "dat": the(t.en), "a": a(t.en), "a_acc": a(t.en)}


def memory_thing(name: str) -> dict[str, str]:
    base = name[4:] if name.casefold().startswith("the ") else name
    return {"": the(base), "acc": the(base), "dat": the(base), "a": a(base) if base[:1].islower()
            else base, "a_acc": a(base) if base[:1].islower() else base}


def pronouns(g: str, name: str) -> dict[str, str]:
    if g == "f":
        return {"pron": "she", "poss": "her", "obj": "her"}
    if g == "m":
        return {"pron": "he", "poss": "his", "obj": "him"}
    return {"pron": name, "poss": name + "'s", "obj": name}


def say(line: str, who: str, verb: int) -> str:
    """A dialogue sentence: "Line," Who said. (no comma after ? or !)."""
    said = ("said", "whispered", "said quietly", "called", "muttered", "admitted")[verb % 6]
    line = line.rstrip(". ")
    if line.endswith(("?", "!")):
        return f"\u201c{line}\u201d {who} {said}."
    return f"\u201c{line},\u201d {who} {said}."


OPEN_FIRST = (
    "{Hero}, {hero_desc}, stood {here_loc} with a single purpose: to {goal}.",
    "Nobody {here_loc} expected much of {hero}, {hero_desc}, but {pron} had come to {goal}.",
    "{Hero}, {hero_desc}, arrived {here_loc} before dawn, determined to {goal}.",
)
ARRIVE = (
    "{Here_cap} {was} {note}.", "All around lay {here}, {note}.",
    "{Here_cap} turned out to be {note}.",
    "So this was {here}: {note}.", "{Here_cap} greeted them in silence, {note}.",
    "Ahead lay {here}, {note}.",
)
STAY = ("Still {here_loc}, {hero} looked around carefully.",
        "Nothing {here_loc} was quite as it had been.", "{Friend} kept watch {here_loc}.",
        "{Here_cap} felt different now.", "The shadows {here_loc} had grown longer.")
FRIEND_INTRO = (
    "{Friend}, {friend_desc} and {rel}, had insisted on coming along.",
    "At {poss} side walked {friend}, {friend_desc} and {rel}.",
    "{Friend}, {friend_desc}, was there too: {rel}, as always.",
)
AGAIN_END = ("once again", "just like before", "as before", "once more", "more than ever",
             "as so often")
AGAIN = ("Once again,", "And once more,", "One more time,", "Yet again,")
KIND_OPEN = {
    "follow": ("{Hero} followed {friend} {here_to}, step by careful step.",
               "{Hero} followed {friend} {here_to} without another word."),
    "go": ("{Hero} headed for {here} as fast as {pron} could.",
           "{Hero} headed for {here} before anyone could object."),
    "search": ("{Hero} searched {here} for clues, corner by corner.",
               "{Hero} searched {here} for clues until {poss} hands were grey with dust."),
    "ask": ("{Hero} asked {friend} what {friend_pron} knew, and this time {friend} answered.",
            "{Hero} asked {friend} what {friend_pron} knew, and waited."),
    "ask_item": ("{Hero} asked {friend} about {item}, and {friend} finally explained.",
                 "{Hero} asked {friend} about {item}, and {friend} did not look away."),
    "confront": ("{Hero} confronted {foe} face to face.",
                 "{Hero} confronted {foe} in the open, where everyone could see."),
    "talk": ("{Hero} talked it out with {foe}, and the first words were hard.",
             "{Hero} talked it out with {foe} over two cold cups of tea."),
    "spy": ("{Hero} spied on {foe} from the shadows.",
            "{Hero} spied on {foe} and held {poss} breath."),
    "hide": ("{Hero} hid from {threat} and did not move.",
             "{Hero} hid from {threat} behind the nearest cover."),
    "use": ("{Hero} used {item} against {threat}.", "{Hero} used {item} against {threat} without a "
            "second thought."),
    "rest": ("{Hero} rested with {friend} and made a plan.",
             "{Hero} rested with {friend}, and together they made a plan."),
    "action": ("{Hero} {past}.", "Without hesitating, {hero} {past}."),
    "generic": ("{Hero} chose to {act}.", "{Hero} decided to {act}."),
    "free": ("The choice was made: {act}.", "It came down to this: {act}."),
}
AFTER = {
    "find": ("Half hidden {here_loc}, {hero} found {a_item}.",
             "In the dust lay {a_item}, as if it had been waiting for {obj}.",
             "{Friend} pointed out {a_item} that nobody else had noticed."),
    "clue": ("The clue pointed {to}.", "Every trace led {to}.", "A scrap of paper named {dest}."),
    "truth": ("I should have told you sooner", "I was afraid you would go without me",
              "We do this together, or not at all"),
    "foe_says": ("You are too late", "Everything here belongs to me",
                 "Go home while you still can"),
    "rival_says": ("Fine, maybe I was wrong about you", "You are more stubborn than I thought",
                   "Let's not make a scene"),
    "spy": ("So {foe} was heading {to} as well.", "{Foe} wanted {item} too, and was heading {to}."),
    "hide": ("{Threat_cap} passed so close that the air went cold.",
             "{Threat_cap} passed by and did not look back."),
    "use": ("{Threat_cap} fell back, and the way {to} lay open.",
            "{Threat_cap} gave way, and the road {to} was clear."),
    "rest": ("Whatever happens, I'm with you", "Tomorrow we finish this"),
    "action": ("It changed more than anyone expected.", "For a moment, everything held still.",
               "It was the right thing to do, and it was not easy."),
}
STAGE = {
    "complication": ("But {foe}, {foe_desc}, had been here first.",
                     "Then {hero} learned that {threat} stood between {obj} and the goal.",
                     "Worse, {foe} wanted the very same thing.",
                     "The way forward was blocked, and only one road led {to}."),
    "turn": ("Then {friend} admitted a secret that changed everything.",
             "Suddenly {hero} understood what {foe} had wanted all along.",
             "Nothing was as it had seemed at the start.",
             "For the first time, {foe} looked worried."),
    "climax": ("Everything now led {to}, where {foe} was waiting.",
               "This was the moment the whole journey had been heading for.",
               "{Foe} stepped out of the shadows, and there was nowhere left to hide.",
               "Now there was no way back for {hero}."),
    "endgame": ("The end of the road was near, and {hero} could feel it.",
                "Only one last step stood between {hero} and the goal.",
                "The goal was close enough to touch.", "Almost there, {friend} thought."),
}
FOE = ("Far away, {foe} was watching.", "Everyone knew {foe} would not wait forever.",
       "A message arrived from {foe}, and it was not friendly.",
       "Somewhere, {foe} was laughing.")
RIVAL = ("Across the square, {foe} smiled a little too sweetly.",
         "{Foe} had already told half the town a different story.",
         "A note from {foe} arrived, full of polite little barbs.")
THREAT = ("Somewhere out of sight, {threat} stirred.", "Then came a sound that could only mean "
          "{threat}.", "{Threat_cap} was closer than anyone wanted to admit.")
ITEM = ("{Hero} held {item} a little tighter.", "{Item_cap} felt heavier than before.",
        "{Hero} checked that {item} was still there.")
MOURN = ("{Hero} thought of {dead} and pressed on.",)
HOOK = ("Which way now?", "What would {hero} do next?", "There was no time to waste.",
        "{Friend} looked at {hero}, waiting for a decision.", "Every path ahead looked risky.",
        "One choice would change everything.", "The next step would decide a great deal.",
        "Somewhere a clock was ticking.", "The answer was out there somewhere.",
        "{Hero} took a deep breath and thought it over.", "It was time to choose.",
        "The night was not over yet.")
MOOD = ("{Hero} counted the ways out, just in case.",
        "{Friend} hummed a tune to keep the nerves away.",
        "For a while, nobody said a word {here_loc}.", "{Hero} rubbed tired eyes and kept going.",
        "Somewhere {here_loc}, something settled with a soft sound.",
        "{Friend} checked the way behind them twice.",
        "It was the kind of quiet that made people whisper.",
        "{Hero} thought about home, just for a moment.",
        "Every step {here_loc} sounded louder than it should.",
        "{Friend} managed a small, brave smile.")
FRIEND_SAYS = ("Did you hear that?", "I don't like this one bit",
               "I'm staying with you, no matter what", "We should hurry",
               "I have seen this before, a long time ago", "Stay close", "Are we sure about this?",
               "Trust me on this one", "That was almost too easy")
FILL = ("Nobody spoke.", "The moment stretched.", "The silence felt heavy.",
        "{Friend} frowned.", "{Hero} listened.", "The air smelled of rain.",
        "Far off, something creaked.", "For a heartbeat, nothing moved.")
CLOSE_ITEM = ("{Hero} raised {item}, and {threat} broke apart like morning mist.",
              "With {item} in hand, {hero} turned {threat} back at last.")
CLOSE_ITEM_GENTLE = ("{Hero} showed everyone {item}, and {threat} fizzled out at once.",
                     "Thanks to {item}, {threat} turned into laughter.")
CLOSE_FOE = ("{Foe} fled into the night and was never seen {here_loc} again.",
             "{Foe} was defeated, stripped of every stolen power, and led away.")
CLOSE_RIVAL = ("{Foe} laughed at last and offered a hand in friendship.",
               "{Foe} admitted defeat with a bow, and even managed a smile.")
CLOSE_GOAL = ("At last, {hero} {goal_done}.", "In the end, {hero} {goal_done}.")
CLOSE_GOAL_INF = ("At last, {hero} had done what {pron} came to do: {goal}.",)
CLOSE_FRIEND = ("{Friend} stayed at {poss} side, exactly as promised.",
                "{Hero} and {friend} grinned at each other, friends for life.")
CLOSE_FINAL = ("And so the story of {hero} came to a good end {here_loc}.",
               "For years afterwards, people {here_loc} still told the story of {hero}.")
TITLES = ("{Here_cap}", "The Secret of {here}", "{Hero} and {item}", "Shadows over {here}",
          "A Warning from {foe}", "What {Friend} Knew", "The Road {to}", "{Threat_cap}",
          "A Promise {here_loc}", "The Price of {item}", "Whispers {here_loc}",
          "{Foe}'s Move", "Before the Storm", "Between Two Roads")
TITLES_END = ("The Last Light", "Home Again", "The End of {threat}", "{Hero}'s Triumph",
              "Where It Ends")
CHOICES = {
    "follow": "Follow {friend} {to}", "go": "Head for {dest}", "search": "Search {here} for clues",
    "ask": "Ask {friend} what {friend_pron} knows", "ask_item": "Ask {friend} about {item}",
    "confront": "Confront {foe}", "talk": "Talk it out with {foe}", "spy": "Spy on {foe}",
    "hide": "Hide from {threat}", "use": "Use {item} against {threat}",
    "rest": "Rest with {friend} and make a plan",
}
# the first words of a choice, per kind: how the next chapter recognises what was chosen
KIND_WORDS = (("follow", "follow"), ("go", "head for"), ("search", "search"),
              ("ask_item", "ask"), ("confront", "confront"), ("talk", "talk it out"),
              ("spy", "spy on"), ("hide", "hide from"), ("use", "use"), ("rest", "rest with"))
REL = ("{poss} oldest friend", "{poss} only ally", "{poss} loyal companion")
EVENT = {"arrive": "{hero} came {here_to}", "chose": "{hero} chose to {act}",
         "action": "{hero} {past}", "hide": "{hero} hid from {threat}",
         "search": "{hero} searched {here}", "free": "the choice: {act}", "find": "found {a_item}",
         "truth": "{friend} told the truth",
         "confront": "{hero} confronted {foe}",
         "talk": "{hero} talked it out with {foe}", "talked": "talked it out with {hero}",
         "use": "{hero} used {item}",
         "spy": "{hero} learned where {foe} was heading", "start": "{hero} set out to {goal}",
         "end": "{hero} {goal_done}", "endinf": "{hero} did what {pron} came to do",
         "defeated": "defeated", "reconciled": "made peace",
         "found": "found {here_loc}", "used": "used against {threat}",
         "ally": "stood by {hero}", "confronted": "confronted by {hero}"}
