"""The simulated audience (`storyd --demo`, or `[chat] sources = ["demo"]`).

A seeded crowd of `[demo] viewers` viewers chats at `[demo] votes_per_second`: most messages
are votes in every accepted spelling (`!a`, `B`, `!2`, `!c let's go`), some change an earlier
ballot, some are plain chatter (`[demo] noise`). Each viewer leans towards one choice so the
bars look like a real crowd rather than an even split. Messages are sent in small batches
through the same ChatSink as every other source.
"""

from __future__ import annotations

import random
from collections.abc import Callable

import trio

from storyd.chat.base import ChatHealth
from storyd.config.structs import DemoConfig
from storyd.core.model import CHOICE_KEYS, ChatMessage
from storyd.core.ports import ChatSink

BATCH_PERIOD = 0.25
CHATTER = ("this is so good", "lol", "who is the villain??", "hi from Berlin", "🔥🔥🔥",
           "wait what", "go go go", "I called it", "<b>hi</b>", "first time here")
NAMES = ("Mika", "Jo", "Alex", "Sam", "Noor", "Lea", "Kai", "Rin", "Tom", "Ada", "Yuki", "Ben")


def _spell(rng: random.Random, choice: int) -> str:
    key = CHOICE_KEYS[choice]
    form = rng.random()
    if form < 0.45:
        return f"!{key}"
    if form < 0.6:
        return f"!{key.upper()}"
    if form < 0.75:
        return key
    if form < 0.85:
        return f"!{choice + 1}"
    return f"!{key} {rng.choice(('lets go', 'pls', 'obviously', 'yes!!'))}"


async def run(cfg: DemoConfig, sink: ChatSink, health: ChatHealth,
              n_choices: Callable[[], int | None], *, seed: int | None = None,
              task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
    rng = random.Random(seed)
    viewers = [(f"demo-{i}", f"{rng.choice(NAMES)}{rng.randrange(100)}")
               for i in range(cfg.viewers)]
    leaning = [rng.random() for _ in viewers]
    voted: set[int] = set()
    health.state = "connected"
    health.detail = f"simulated audience of {cfg.viewers}"
    task_status.started()
    carry = 0.0
    while True:
        await trio.sleep(BATCH_PERIOD)
        n = n_choices()
        if not n:
            voted.clear()
            continue
        carry += cfg.votes_per_second * BATCH_PERIOD
        count, carry = int(carry), carry - int(carry)
        batch = []
        for _ in range(count):
            i = rng.randrange(len(viewers))
            vid, name = viewers[i]
            if rng.random() < cfg.noise:
                text = rng.choice(CHATTER)
            elif i in voted and rng.random() >= cfg.change:
                continue  # most viewers vote once and stay
            else:
                choice = min(int(leaning[i] * n * rng.uniform(0.6, 1.4)), n - 1)
                text = _spell(rng, choice)
                voted.add(i)
            batch.append(ChatMessage(platform="demo", user_id=vid, name=name, text=text))
        if batch:
            health.count(sink.submit(batch), len(batch))
