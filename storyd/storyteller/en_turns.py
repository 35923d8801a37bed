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
              "Their fire had been seen from far off, and by dawn {foe_gen} people were closing "
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
