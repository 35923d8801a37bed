"""Model authors for the loopback FakeOpenAI (`fake.author = ...`): what a real model sends.

`PlanAuthor` answers storyd's plan request with a plan (its own names, as models do: an
overused one among them) and writes chapters that follow the prompt: the winning choice
first, the plan's protagonist and cast, a text of its own length (not the one asked for),
fresh choices. Every chapter text it wrote is kept in `texts`, so a test can compare what
aired with what the model wrote.

`MessyAuthor` is the same writer with the faults small models show (issue 17): it repeats
choices of earlier rounds, ignores the choice count (two, five), answers some chapters in
prose with a list, and writes some chapters far shorter or longer than asked.
"""

from __future__ import annotations

import json
import random
import re
from dataclasses import dataclass, field
from typing import Any

NAMES = ("Odile Marr", "Pell Hawthorne", "Captain Grist", "Elara")
PLACES = ("the Ember Sea", "Gull Rock", "the Salt Market")
VERBS = ("Bargain with", "Follow", "Question", "Hide from", "Warn", "Chase", "Trust", "Free")
THINGS = ("the ferryman", "the lantern crew", "the tide clerk", "the gull keeper",
          "the broken compass", "the harbour bell", "the smugglers", "the salt witch")


def _prompt(req: dict[str, Any]) -> str:
    return str((req.get("messages") or [{}])[-1].get("content", ""))


@dataclass
class PlanAuthor:
    words: int = 60                       # what this model writes, whatever it is asked
    texts: list[str] = field(default_factory=list)
    plans: int = 0
    chapters: int = 0
    prompts: list[str] = field(default_factory=list)

    def __call__(self, req: dict[str, Any]) -> dict[str, Any] | str:
        prompt = _prompt(req)
        if "Plan a new interactive story" in prompt:
            self.plans += 1
            n = int(m.group(1)) if (m := re.search(r"exactly (\d+) chapters", prompt)) else 8
            return self.plan(n)
        if "recap for the viewers" in prompt:
            return {"logline": "Odile Marr crossed the burning sea and brought her son home.",
                    "moments": ["She took the ferry.", "Grist seized the compass.",
                                "Pell jumped ship.", "The sea went dark."],
                    "ending": "bittersweet"}
        self.chapters += 1
        self.prompts.append(prompt)
        return self.chapter(prompt)

    def plan(self, n: int) -> dict[str, Any]:
        return {"title": "Ash and Tide", "premise": "A ferrywoman crosses a burning sea for "
                "her son. A harbour captain wants her ferry.",
                "protagonist": {"name": NAMES[0], "want": "bring her son home",
                                "flaw": "trusts nobody"},
                "cast": [{"name": NAMES[1], "role": "companion", "trait": "jokes in danger",
                          "want": "a ship of his own"},
                         {"name": NAMES[2], "role": "antagonist", "trait": "patient",
                          "want": "the ferry"},
                         {"name": NAMES[3], "role": "mentor", "trait": "old",
                          "want": "rest"}],
                "places": [{"name": p, "note": ""} for p in PLACES],
                "central_question": "Will Odile Marr bring her son home?",
                "beats": [f"Beat {i + 1}: Odile faces tide number {i + 1}." for i in range(n)],
                "endings": ["She brings him home.", "She loses the ferry but finds him."]}

    def choices(self, prompt: str, rng: random.Random, k: int) -> list[str]:
        return [f"{rng.choice(VERBS)} {t}" for t in rng.sample(THINGS, k)]

    def chapter(self, prompt: str) -> dict[str, Any] | str:
        n = int(m.group(1)) if (m := re.search(r"Write chapter (\d+)", prompt)) else 1
        won = re.search(r"The audience voted for: «(\".*?\")»", prompt)
        winner = json.loads(won.group(1)) if won else ""
        k = int(m.group(1)) if (m := re.search(r"offer exactly (\d+) short", prompt)) else 0
        rng = random.Random(n * 7 + self.chapters)
        words = self.words_for(n)
        sentences = ([f"{winner.rstrip('.!?')}: Odile Marr does it at once."] if winner
                     else []) + [f"Pell Hawthorne watches {PLACES[n % 3]} burn.",
                                 "Captain Grist waits on the pier with his patient smile."]
        i = 0
        while sum(len(s.split()) for s in sentences) < words:
            i += 1
            sentences.append(f"The tide turns a {i}th time and the salt hisses on the hull.")
        text = " ".join(sentences)
        self.texts.append(text)
        return {"title": f"Tide {n}", "text": text, "choices": self.choices(prompt, rng, k),
                "summary": f"Odile crossed tide {n}.",
                "memory": {"characters": [
                    {"name": NAMES[0], "note": "ferrywoman", "role": "heroine", "alive": True},
                    {"name": NAMES[1], "note": "companion", "role": "sidekick", "alive": True},
                    {"name": NAMES[2], "note": "wants the ferry", "role": "villain",
                     "alive": True}],
                    "places": [{"name": PLACES[n % 3], "note": "burning"}], "items": [],
                    "event": f"Odile crossed tide {n}."}}

    def words_for(self, n: int) -> int:
        return self.words


@dataclass
class MessyAuthor(PlanAuthor):
    """The faults of small models (see the module docstring), chapter by chapter."""

    taken: list[str] = field(default_factory=list)

    def choices(self, prompt: str, rng: random.Random, k: int) -> list[str]:
        old = re.findall(r"«(\"[^»]*?\")»", prompt.split("Do not repeat choices")[-1]) \
            if "Do not repeat choices" in prompt else []
        earlier = [json.loads(o) for o in old]
        fresh = super().choices(prompt, rng, 5)
        n = self.chapters
        if n % 3 == 1 and earlier:       # repeats two choices of the last rounds
            return earlier[:2] + fresh[:1]
        if n % 3 == 2:                   # ignores the count: two, or five
            return fresh[:2] if n % 2 else fresh
        return fresh[:k]

    def chapter(self, prompt: str) -> dict[str, Any] | str:
        data = super().chapter(prompt)
        if self.chapters % 4 == 3 and isinstance(data, dict):   # prose with a list
            return (f"## {data['title']}\n\n{data['text']}\n\nWhat will Odile do?\n"
                    + "\n".join(f"{'ABC'[i]}) {c}" for i, c in enumerate(data["choices"][:3])))
        return data

    def words_for(self, n: int) -> int:
        return (25, 140, 60)[self.chapters % 3]     # far shorter or longer than asked
