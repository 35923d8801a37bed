"""English lines of a middle chapter's event (see turns.py): slots as in en.py."""

from __future__ import annotations

COST: dict[str, tuple[str, ...]] = {
    "fight": ("It cost them their cover: by nightfall, {foe_gen} people were asking everywhere "
              "about {hero}.",
              "{Foe} did not forget a face, and from that hour someone followed {hero} wherever "
              "{pron} went."),
    "talk": ("The talk had a price: {foe} now knew where they were headed, and set off first.",
             "Only later did {hero} see what the talk had cost: {friend} had stopped speaking "
             "to {obj}."),
    "search": ("The search took the whole day, and {foe} used every hour of it.",
               "Someone had watched them search, and by evening {foe} knew what they were "
               "looking for.",
               "The search took the whole day, and the last of their food with it."),
    "road": ("The road took its toll: {friend} had hurt {fposs} ankle, and from then on they "
             "went slower.",
             "They had left the way open behind them, and {foe} was not far behind."),
    "still": ("Those quiet hours cost them their lead: {foe} had passed them in the night.",
              "Their lamp had burned half the night, and by dawn {foe_gen} people were closing "
              "in."),
    "spy": ("A loose stone gave {hero} away, and {foe} knew now that someone had been listening.",
            "What {hero} had heard changed the plan: {foe} would move at first light."),
    "hide": ("Hiding cost them the best part of the night, and {foe} was a night ahead now.",
             "When they came out of hiding, {friend} was missing; {fpron} turned up an hour "
             "later, pale and silent."),
    "deed": ("It worked, but it was loud, and before long {foe} had heard of it.",
             "It had not gone unseen: by evening, the whole story had reached {foe}.",
             "It worked, but it had cost them the whole day."),
    "through": ("Getting through had cost them: {friend} was hurt, though {fpron} said it was "
                "nothing.",
                "The way was clear, but the noise had carried, and {foe} knew now where they "
                "were."),
}
EVENTS: dict[str, tuple[str, ...]] = {
    "find": ("Then {hero} found the first real sign that {pron} could still {goal}, and it "
             "pointed {to}.",
             "What {hero} learned that day changed the plan: to {goal}, {pron} would have to "
             "go {to}, straight past {foe}.",
             "{Hero} worked out where it all led: whoever got {to} first would {goal}, or stop "
             "anyone else from doing it."),
    "friend": ("{Friend} slipped away before dawn and came back with news: {foe} had been seen "
               "on the road {to}.",
               "{Friend} would not wait any longer and went ahead alone; {hero} only caught up "
               "with {fobj} at nightfall.",
               "Behind {hero_gen} back, {friend} struck a deal of {fposs} own and came back "
               "with a way {to}."),
    "move": ("Then {foe} made {xposs} move: {xposs} people set off {to} ahead of them and left "
             "a watch on the road.",
             "{Foe} struck while they slept: when {hero} woke, {friend_gen} pack was gone, and "
             "half their supplies with it.",
             "By morning, {foe} had got {to} first and sent word back for {hero}: come alone."),
    "move_gentle": ("Then {foe} made {xposs} move, loudly and in front of everyone: {xpron} "
                    "would get {to} first.",
                    "{Foe} had been busy: half the town was already on {xposs} side."),
}
# long chapters (over 120 words) from chapter 4 on, when the other pools run dry
# (scenes.long_form): what the antagonist does meanwhile, and the companion's own life
LONG_FOE = (
    "Meanwhile, {foe} was not idle: {xposs} people were asking questions along the road {to}.",
    "A stranger passed them without a word, and {friend} swore it was one of {foe_gen} people.",
    "That evening they found a fresh sign that {foe} had been this way: a door left open, a "
    "fire still warm.",
    "{Foe} had put a price on news of {hero}, and people had begun to look at {obj} twice.",
    "A message from {foe} reached them, unsigned, but there was no mistaking who had sent it.",
    "Twice that day {hero} saw the same face in the crowd, and the second time it was closer.",
    "Word came that {foe} had found an ally {dest_loc}, and nobody liked the sound of it.",
    "{Foe} had been asking after {friend} by name, which was new, and not good.")
LONG_FRIEND = (
    "{Friend} talked, for once, about why {fpron} had come along, and it was not only for "
    "{hero}.",
    "{Friend} kept a little apart that evening, writing something {fpron} would not show "
    "anyone.",
    "{Friend} took the first watch without being asked, and was still awake when {hero} woke.",
    "{Friend} and {hero} argued about the next step, quietly, and neither of them quite won.",
    "{Friend} shared the last of {fposs} food and pretended not to be hungry.",
    "{Friend} knew someone along the road who owed {fobj} a favour, and said so at last.",
    "{Friend} admitted to being afraid, just once, and then never mentioned it again.",
    "{Friend} made {hero} laugh for the first time in days, with a story nobody believed.")
LONG_RIVAL = (   # a gentle theme's rival, meanwhile
    "Meanwhile, {foe} had been telling everyone {xpron} would win, and some believed it.",
    "{Foe} waved at them from across the street, far too cheerfully.",
    "Someone had seen {foe} practising, late at night, with the door closed.",
    "A note from {foe} turned up under the door: three words, and one of them was underlined.",
    "{Foe} had bought a new hat for the occasion, which worried {friend} more than anything.",
    "Half the town had taken sides by now, and {foe} was counting them.",
    "{Foe} was seen laughing with people {hero} had thought were on {poss} side.",
    "{Foe} sent a basket of pastries, with a card that said only: good luck.")
