"""Votes as real chat types them, with moderation, end to end through Twitch (issue 19).

Twitch IRC lines as the chat server sends them (tests/fixtures/twitch/chat_lines.txt: chatter,
replies, emotes, a cheer, resub/sub/raid USERNOTICEs, ROOMSTATE, NOTICE, HOSTTARGET,
USERSTATE, a CLEARMSG, a timeout) are mixed with generated chat: votes in every form of the
README table and the forms that must stay chat, replies to the bot, USERNOTICEs carrying a
vote, CLEARMSGs of votes, of repeats and of chat, bans, timeouts and whole-chat clears. The
lot goes in frames of random size through the loopback Twitch server (tests/fake_twitch.py)
to the real Twitch source feeding the real voting service, and the tally must equal an
independent count written here: its own parser (the rules as regular expressions, from
tests/test_core_voting.py) and its own ledger of the moderation rules.
"""

from __future__ import annotations

import random
from pathlib import Path

import trio

from storyd.bus import EventBus
from storyd.chat import twitch
from storyd.chat.base import ChatHealth
from storyd.config.structs import TwitchConfig, VotingConfig
from storyd.core.snapshot import ChoiceView
from storyd.services.clock import TrioClock
from storyd.services.voting import VotingService
from tests.fake_twitch import FakeTwitch, escape_tag
from tests.memory_store import MemoryStore
from tests.test_core_voting import _reference

CHAN = "storychan"
N_CHOICES = 4
FIXTURE = Path(__file__).parent / "fixtures" / "twitch" / "chat_lines.txt"
VOTE_FORMS = ["!{k}", "!{K}", "{k}", "{K}", "!{d}", "{d}", "+{k}", "{k}.", "{k}!", "!{k}!",
              "{k}...", "({k})", "({K})!", "{k}{k}", "{k} {k}", "{K}{K}{K}", "{k} {k} {k}",
              "@storybot !{k}", "@storybot {k}", "!{k} lets go", " !{K}\ttrue", "！{fk}",
              "{fK}", "!{k}!!!"]
CHAT_FORMS = ["{k}{k}{k}{k}", "{k}b", "{k} b", "{k} lot", "+{k} go", "+{d}", "{d}{d}", "{d}.",
              "({d})", "!{d}!", "!{k}!!!!", "@bot", "@a @b @c @d !{k}", "hello chat", "ok",
              "!gift", "KEKW", "{k}🔥"]


def fixture_lines() -> list[str]:
    lines = []
    for raw in FIXTURE.read_text(encoding="utf-8").splitlines():
        if raw.strip() and not raw.startswith("#"):
            lines.append(raw.replace("#CHANNEL", f"#{CHAN}"))
    return lines


def line(kind: str, uid: int, mid: str, text: str = "") -> str:
    login = f"viewer{uid}"
    tags = {"badge-info": "", "badges": "", "color": "#8A2BE2", "display-name": f"Viewer{uid}",
            "emotes": "", "first-msg": "0", "flags": "", "id": mid, "mod": "0",
            "returning-chatter": "0", "room-id": "40001", "subscriber": "0",
            "tmi-sent-ts": "1700000000000", "turbo": "0", "user-id": str(uid), "user-type": ""}
    if kind == "PRIVMSG":
        head = ";".join(f"{k}={escape_tag(v)}" for k, v in tags.items())
        return f"@{head} :{login}!{login}@{login}.tmi.twitch.tv PRIVMSG #{CHAN} :{text}"
    tags.update({"login": login, "msg-id": "resub", "msg-param-cumulative-months": "7",
                 "system-msg": f"{login} subscribed for 7 months!"})
    head = ";".join(f"{k}={escape_tag(v)}" for k, v in tags.items())
    return f"@{head} :tmi.twitch.tv USERNOTICE #{CHAN} :{text}"


def session(rng: random.Random, n: int) -> list[str]:
    """The chat of one vote: fixture lines, generated votes and chat, moderation."""
    out = list(fixture_lines())
    sent: list[tuple[int, str]] = []           # (viewer, message id) of generated messages
    serial = 0
    for _ in range(n):
        serial += 1
        mid = f"gen-{serial:06d}"
        uid = 70_000 + rng.randrange(120)
        r = rng.random()
        if r < 0.08 and sent:                  # a moderator deletes a recent message
            _, target = rng.choice(sent[-60:])
            out.append(f"@login=x;room-id=;target-msg-id={target};tmi-sent-ts=1 "
                       f":tmi.twitch.tv CLEARMSG #{CHAN} :whatever")
            continue
        if r < 0.10:                           # a ban (no duration) or a timeout
            victim = rng.choice(sent)[0] if sent else uid
            dur = "" if rng.random() < 0.5 else "ban-duration=60;"
            out.append(f"@{dur}room-id=40001;target-user-id={victim};tmi-sent-ts=1 "
                       f":tmi.twitch.tv CLEARCHAT #{CHAN} :viewer{victim}")
            continue
        if r < 0.105:                          # /clear: the whole chat (ballots stay)
            out.append(f"@room-id=40001;tmi-sent-ts=1 :tmi.twitch.tv CLEARCHAT #{CHAN}")
            continue
        c = rng.randrange(N_CHOICES + 1)       # N_CHOICES: a choice the round lacks
        k = "abcdef"[c]
        form = rng.choice(VOTE_FORMS if rng.random() < 0.75 else CHAT_FORMS)
        text = form.format(k=k, K=k.upper(), d=c + 1, fk=chr(ord(k) + 0xFEE0),
                           fK=chr(ord(k.upper()) + 0xFEE0))
        kind = "USERNOTICE" if rng.random() < 0.05 else "PRIVMSG"
        out.append(line(kind, uid, mid, text))
        sent.append((uid, mid))
    fixed = out[:len(fixture_lines())]
    rest = out[len(fixed):]
    for f in fixed:                            # the fixture's lines land anywhere in the vote
        rest.insert(rng.randrange(len(rest) + 1), f)
    return rest


class Ledger:
    """The independent count: the rules of README "Votes as chat types them"."""

    def __init__(self, n_choices: int) -> None:
        self.n = n_choices
        # viewer -> (choice, message id, choice before, its message id); None: no ballot
        self.ballots: dict[str, tuple[int, str, int | None, str]] = {}

    def feed(self, raw: str) -> None:
        tags: dict[str, str] = {}
        rest = raw
        if raw.startswith("@"):
            head, rest = raw[1:].split(" ", 1)
            for item in head.split(";"):
                k, _, v = item.partition("=")
                tags[k] = (v.replace("\\s", " ").replace("\\:", ";").replace("\\\\", "\\"))
        words = rest.split(" :", 1)
        command = words[0].split()[1]
        text = words[1] if len(words) > 1 else ""
        if command in ("PRIVMSG", "USERNOTICE") and text and "user-id" in tags:
            self.vote(tags["user-id"], f"twitch:{tags['id']}", text.strip())
        elif command == "CLEARMSG":
            self.delete(f"twitch:{tags['target-msg-id']}")
        elif command == "CLEARCHAT" and text:
            self.ballots.pop(tags["target-user-id"], None)

    def vote(self, viewer: str, mid: str, text: str) -> None:
        c = _reference(text)
        if c is None or c >= self.n:
            return
        old = self.ballots.get(viewer)
        if old is not None and old[0] == c:
            return                          # a repeat sets nothing
        self.ballots[viewer] = (c, mid, old[0], old[1]) if old else (c, mid, None, "")

    def delete(self, mid: str) -> None:
        for viewer, (c, m, pc, pm) in list(self.ballots.items()):
            if m == mid:
                if pc is None:
                    del self.ballots[viewer]
                else:
                    self.ballots[viewer] = (pc, pm, None, "")
            elif pm == mid:
                self.ballots[viewer] = (c, m, None, "")

    def counts(self) -> tuple[int, ...]:
        out = [0] * self.n
        for c, *_ in self.ballots.values():
            out[c] += 1
        return tuple(out)


async def test_a_busy_twitch_vote_counts_exactly_as_the_rules_say(tmp_path: Path) -> None:
    rng = random.Random(19)
    chat = session(rng, 3000)
    ledger = Ledger(N_CHOICES)
    for raw in chat:
        ledger.feed(raw)
    expected = ledger.counts()
    assert sum(expected) > 50 and sum(1 for c in chat if "CLEARMSG" in c) > 100
    unmoderated = Ledger(N_CHOICES)         # the moderation lines do change the outcome
    for raw in chat:
        if " CLEARMSG " not in raw and " CLEARCHAT " not in raw:
            unmoderated.feed(raw)
    assert unmoderated.ballots != ledger.ballots

    store, bus = MemoryStore(), EventBus()
    voting = VotingService(store, bus, TrioClock(), lambda: VotingConfig(duration=300))
    health = ChatHealth(source="twitch")
    with trio.fail_after(60):
        async with trio.open_nursery() as nursery:
            server = FakeTwitch()
            await nursery.start(server.serve)
            await nursery.start(voting.run)
            choices = tuple(ChoiceView(key="abcd"[i], text=f"choice {i}")
                            for i in range(N_CHOICES))
            await voting.open(1, 1, choices, duration=300, seed=1)
            cfg = TwitchConfig(channel=CHAN, url=server.url, connect_timeout=5.0,
                               stall_seconds=30.0)
            await nursery.start(twitch.run, cfg, voting, health)
            conn = await server.next_connection()
            await conn.joined.wait()
            i = 0
            while i < len(chat):                # frames of 1 to 40 lines, as Twitch sends
                size = rng.randrange(1, 41)
                await conn.send(*chat[i:i + size])
                i += size
            await conn.send("PING :tmi.twitch.tv/done")
            await conn.wait_for("PONG")
            r = voting.round
            assert r is not None
            assert r.counts == expected
            assert r.moderated > 20 and r.invalid > 20
            got = {v.removeprefix("twitch:"): c for v, c, _w in r.ballot_rows()}
            assert got == {v: b[0] for v, b in ledger.ballots.items()}
            await voting.commit()               # and the store follows the tally
            stored = {v.removeprefix("twitch:"): row[2]
                      for v, row in store.ballots[(1, 1)].items()}
            assert stored == got
            assert health.moderation == sum(
                1 for c in chat if " CLEARMSG " in c or " CLEARCHAT " in c)
            nursery.cancel_scope.cancel()
