"""English lines of the offline storyteller's first and closing chapters.

The first chapter introduces the hero (full name, once), the friend and one of five
inciting incidents; the incident decides which choices the chapter offers, so first
chapters do not all end on the same three. The closing chapter follows from the last
choice: its kind picks how the decisive moment goes (END), the obstacle's kind and whether
the key item was found pick how the obstacle is overcome, and the path (was the friend
trusted? was the antagonist talked to?) picks the friend's line and the last image.
"""

from __future__ import annotations

# the place in the first chapter, where the hero already is (not "They reached …", "Ahead
# lay …" after "It began in the Catacombs"); templates of their own, so no later arrival repeats
# one
FIRST_PLACE = ("Everyone knew {here}: {note}.",
               "{Here_cap} {was} {note}, and nobody had ever called the place friendly.",
               "Around them lay {here}, {note}.")
FIRST_PLACE_PLAIN = ("Nobody came {here_to} without a reason.",
                     "{Here_cap} {was} quiet, too quiet for anyone's liking.")
OPEN_FIRST = (
    "{Hero_full}, {hero_desc}, had come {here_to} to {goal}.",
    "{Hero_full}, {hero_desc}, reached {here} with one thought: to {goal}.",
    "{Here_loc_cap}, {hero_full}, {hero_desc}, swore to {goal}.",
    "It began {here_loc}, where {hero_full}, {hero_desc}, set out to {goal}.",
    "Nobody {here_loc} believed that {hero_full}, {hero_desc}, could {goal}.",
)
FRIEND_INTRO = (
    "{Friend_full}, {friend_desc}, came along.",
    "With {obj} went {friend_full}, {friend_desc}.",
    "{Friend_full}, {friend_desc}, would not let {obj} go alone.",
    "{Friend_full} came too: {friend_desc}, and {rel}.",
)
FOE_RUMOUR = ("Everyone {here_loc} had heard of {foe_full}, {foe_desc}, and nobody wanted to "
              "meet {xobj}.",
              "Somewhere ahead waited {foe_full}, {foe_desc}.")
# the inciting incident and the choices it leads to
INCITE = {
    "foe": ("{Friend} brought bad news: {foe_full}, {foe_desc}, was already on the way.",
            "Then word came that {foe_full}, {foe_desc}, was heading {to}."),
    "clue": ("On a wall {here_loc}, {friend} found the mark of {foe_full}, {foe_desc}.",
             "Someone had been {here_loc} before them, and the tracks said who: {foe_full}, "
             "{foe_desc}."),
    "threat": ("Before they had gone ten steps, {threat_met}.",
               "They had barely arrived when {threat_met}."),
    "item": ("An old story told of {a_item} hidden {here_loc}.",
             "{Friend} had heard of {a_item} that might help."),
    "friend": ("{Friend} would not meet {poss} eyes. Something was wrong.",
               "{Friend} had been quiet all morning, and that was never a good sign."),
}
INCITE_CHOICES = {"foe": ("go", "spy", "ask", "follow"),
                  "clue": ("search", "follow", "ask", "action"),
                  "threat": ("avoid", "face", "go", "ask"),
                  "item": ("search", "ask", "action", "go"),
                  "friend": ("ask", "action", "follow", "search")}
# the decisive moment of the closing chapter, by the kind of the last choice
END = {
    "confront": ("{Foe} was waiting, and this time {xpron} did not run. It was a long, hard "
                 "fight, and when it was over, {foe} knelt in the dust, beaten.",
                 "{Hero} told {foe} exactly what {pron} knew, in front of everyone, and one by "
                 "one {foe}'s people slipped away."),
    "bargain": ("{Hero} offered {foe} the one thing {xpron} had never had: a way out. After a "
                "long silence, {foe} took it.",
                "They talked until the candles burned down, and at last {foe} put down "
                "{xposs} weapons: there was nothing left worth fighting for."),
    "talk": ("It took a long time and two pots of tea, but in the end {foe} listened.",
             "{Hero} said what should have been said weeks ago, and {foe} had no answer to it."),
    "spy": ("What {hero} had overheard was enough: {foe} walked straight into the trap "
            "{hero} and {friend} had set.",
            "{Hero} knew {foe}'s plan by heart now, and turned it against {xobj}."),
    "avoid": ("While {threat} kept {foe} busy, {hero} and {friend} slipped through to the goal.",
              "{Hero} waited until {threat} had passed. Then {pron} moved, fast, and {foe} "
              "never saw {obj} coming."),
    "face": ("With {threat} out of the way, {foe} stood alone, and knew it.",
             "Once {threat} was dealt with, nothing stood between {hero} and the goal, and "
             "{foe} knew it."),
    "use": ("{Hero} turned to {foe} with {item} still in {poss} hand, and everything {foe} "
            "had built on fear came apart.",
            "{Item_cap} did what it had been made for, and {foe} could only watch."),
    "follow": ("{Friend} knew the way {here_to}, and {foe} did not. They got there first.",
               "{Friend} led them by a path nobody else knew, and {foe} was still on the main "
               "road when they arrived."),
    "go": ("{Hero} reached {here} first, with {foe} a breath behind.",
           "{Here_cap} {was} the end of the road, and {hero} got there first."),
    "search": ("At the very back of {here}, {hero} found what {foe} had missed.",
               "The last place anyone would look was exactly where {hero} looked, and there lay "
               "what {foe} had been after all along."),
    "ask": ("{Friend} had known all along how it would end, and this time {fpron} said so in "
            "time: {foe} could be beaten, but only {here_loc}.",
            "What {friend} told {obj} that night was the last piece of the puzzle: {foe}'s "
            "one weak spot."),
    "rest": ("Their plan was simple: {friend} kept {foe} busy while {hero} went for the goal. "
             "It worked.",
             "Rested and ready, they did it exactly as planned, and {foe} never understood "
             "what had happened."),
    "action": ("And that, in the end, was what decided it.",
               "Nobody had expected that, least of all {foe}."),
    "generic": ("That was the last thing {foe} had expected.",
                "It worked, better than anyone had dared to hope."),
    "free": ("In the end, that was what decided it, and {foe} had not seen it coming.",
             "It was the right choice, and it was enough: {foe} had nothing left to answer "
             "with."),
}
END_GENTLE = {
    "confront": ("{Hero} finally said it out loud, in front of everyone, and {foe} went very "
                 "red.",),
    "talk": ("It took a long time and two pots of tea, but in the end {foe} listened.",),
    "bargain": ("{Hero} and {foe} shook on it, which surprised them both.",),
    "spy": ("What {hero} had overheard turned out to be a misunderstanding, and a funny one.",),
    "use": ("{Hero} held up {item}, and suddenly everybody understood, even {foe}.",),
}
# how the obstacle goes, by its kind, with the item (found) or without
OBSTACLE_END = {
    "creature": ("{Hero} raised {item}, and {threat} fled into the dark for good.",
                 "{Friend} drew {threat} off while {hero} ran, and it never came back."),
    "hazard": ("With {item}, they came through {threat}, and it blew itself out behind them.",
               "{Threat_cap} passed at last, and the sky behind it was clear."),
    "problem": ("{Item_cap} held the last piece of the answer: {hero} {faced}.",
                "In the end {hero} {faced}, and {threat} was no longer a problem."),
    "person": ("One look at {item}, and {threat} stepped aside.",
               "{Threat_cap} stepped aside at last, without a word."),
}
OBSTACLE_END_GENTLE = {
    "creature": ("{Hero} held out {item}, and {threat} trotted over, suddenly as meek as a lamb.",
                 "{Threat_cap} ran off after something more interesting, and everyone cheered."),
    "hazard": ("Thanks to {item}, {threat} turned into the best laugh of the summer.",
               "{Threat_cap} ended as suddenly as it had begun, and everyone laughed."),
    "problem": ("{Item_cap} held the answer: {hero} {faced}.",
                "In the end {hero} {faced}, and everyone wondered what the fuss had been."),
    "person": ("One look at {item}, and {threat} burst out laughing.",
               "{Threat_cap} gave up and went home for supper."),
}
FATE = {
    "confront": ("{Foe} was led away, and nobody was sorry to see {xobj} go.",),
    "bargain": ("{Foe} left that night and was never seen {here_loc} again.",),
    "spy": ("{Foe} never understood how it had happened.",),
    "follow": ("By the time {foe} arrived, it was over, and {xpron} knew it.",),
    "go": ("{Foe} arrived too late, and turned away without a word.",),
    "": ("{Foe} fled into the night and was never seen again.",
         "{Foe} was beaten, and everyone {here_loc} knew it.",
         "Nobody ever found out where {foe} went, and nobody looked very hard.",
         "{Foe} left with nothing but {xposs} name, and even that was worth less now."),
}
ITEM_END = ("{Hero} kept {item} as a reminder of the whole long road.",
            "{Item_cap} went back into {poss} pack, its work done.",
            "{Item_cap} found a place of honour {here_loc}.")
RIVAL_END = ("{Foe} laughed at last and offered a hand.",
             "{Foe} admitted defeat with a bow, and even managed a smile.",
             "Even {foe} had to clap, if a little stiffly.")
GOAL = ("At last, {hero} {goal_done}.", "In the end, {hero} {goal_done}.",
        "It was almost morning when {hero} {goal_done}.",
        "{Hero} {goal_done}, and {friend} let out a whoop that echoed far and wide.",
        "And so {hero} {goal_done}, just as {pron} had promised.",
        "{Hero} {goal_done}, and for a long moment nobody spoke.")
GOAL_INF = ("At last, {hero} had done what {pron} came to do: {goal}.",
            "It was done: {hero} had come to {goal}, and {pron} had.")
FRIEND_TRUSTED = ("{Friend} had stood by {obj} from the first step to the last.",
                  "{Hero} and {friend} grinned at each other, {friends} for life.",
                  "{Friend} said nothing, but {fposs} smile said everything.",
                  "“Next time,” {friend} said, “we take the easy road.” {Hero} only laughed.",
                  "{Friend} was the first to hug {obj}, and the last to let go.",
                  "Without {friend}, {hero} would never have made it, and they both knew it.")
FRIEND_DOUBTED = ("{Friend} had known more than {fpron} said, and {hero} forgave {fobj} for it.",
                  "Later, {hero} asked {friend} what {fpron} had been keeping back. The answer "
                  "made them both laugh.",
                  "On the way home, {friend} finally told {obj} the secret {fpron} had carried "
                  "all along: {fpron} {secret}.",
                  "{Friend} apologised for every secret, and {hero} said it did not matter now.",
                  "{Hero} and {friend} had a long talk that night, the first honest one in weeks.")
FINAL = ("For years afterwards, people {here_loc} told the story of {hero_full}.",
         "For the first time in a long while, {here} was quiet.",
         "Then {hero} and {friend} went home, the long way round.",
         "Tomorrow there would be new trouble for {hero}. Tonight, there was none.",
         "Somewhere {here_loc}, someone started to sing, and {hero} did not mind at all.",
         "{Hero} slept that night for the first time in days.")
TITLES_END = ("The Last Light", "The Way Back", "The End of {threat}", "{Hero}'s Triumph",
              "Where It Ends", "After the Storm")
# the ending happens where the goal is (Plot.goal_place): reached for the first time, or again
GOAL_PLACE = ("Then they reached {here}, where it had all been heading.",
              "The last stretch of the road led {here_to}.",
              "It was dark when they finally came {here_to}.",
              "One more hour brought them {here_to}.",
              "{Friend} led the way on, and by nightfall they were {here_loc}.",
              "Nobody said much on the way {here_to}.")
GOAL_BACK = ("In the end, the road led back {here_to}.",
             "By nightfall they were back {here_loc}.",
             "They went back {here_to} one last time.",
             "{Friend} was the one who said it: they had to go back {here_to}.",
             "The way back {here_to} felt shorter than the way out.")
