"""Chat vote parsing (pure): which choice a chat message votes for, as real chat types it.

The rules (README "Votes as chat types them" has them as a table):

- `!a` … `!f` and `!1` … `!6`, case-insensitive, alone or followed by whitespace and any
  words (`!a lets go`); a letter may carry a tail of up to three `!` or `.` (`!a!`, `!b.`).
- A letter alone (`a`, `A`), with `+` before it (`+a`), with a tail of up to three `!` or
  `.` (`a.`, `a!`, `+a!`), in parentheses (`(a)`, `(a)!`), or repeated — the same letter
  two or three times, with or without one space between (`aa`, `a a`, `aaa`) — because Twitch
  refuses a message identical to the sender's previous one and viewers vary their vote.
  Four or more (`aaaa`) is a scream, not a vote; different letters (`ab`, `a b`) are chat.
- A digit alone (`1`) or after `!` as above. Digits take no other decoration: `+1` means
  "I agree", `11` is eleven, `1.` starts a list.
- Leading `@mentions` are skipped (a Twitch reply puts `@name ` in front: `@storybot !a`).
- Fullwidth forms (`！ａ`, `Ｂ`, `２`) count like their ASCII letters; surrounding whitespace
  is ignored. Anything else, and anything longer, is chat.

`parse_vote` costs one dict lookup for the exact texts chat uses most (`EXACT`); everything
else goes through `parse_slow`, which looks only at the head of the text (at most a few
mentions and a dozen characters), so a huge message costs no more than a short one beyond
one `strip`. The vote core (core/voting.py) remembers what `parse_slow` decided per text,
so a repeated text is parsed once per round.

`command_word` is the cheap place where non-vote chat commands (`!join`, `!leave`) are
recognised: the first word of a `!`-text, lower-cased, when it is one of the words given.
"""

from __future__ import annotations

from storyd.core.model import CHOICE_KEYS

__all__ = ["BARE_START", "EXACT", "MAX_BARE", "MAY_START", "command_word", "parse_slow",
           "parse_vote"]

LETTERS = {k: i for i, k in enumerate(CHOICE_KEYS)}
DIGITS = {str(i + 1): i for i in range(len(CHOICE_KEYS))}
_TAIL = frozenset("!.")
_MAX_TAIL = 3
_MAX_MENTIONS = 3
_MAX_MENTION = 64          # characters of one @mention (Twitch logins are at most 25)
_HEAD = 16                 # characters of the body the rules ever look at
MAX_BARE = 9               # the longest bare vote: "+a a a!!!"
# fullwidth ASCII (U+FF01..U+FF5E) and the ideographic space, as ASCII
_FULLWIDTH = {c: c - 0xFEE0 for c in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}
# The first characters a vote (or a chat command) can start with: a text starting with any
# other character is chat, told with one set lookup.
MAY_START = frozenset(
    "!+(@" + "".join(LETTERS) + "".join(LETTERS).upper() + "".join(DIGITS)
    + "".join(chr(ord(c) + 0xFEE0) for c in "!+(@" + "".join(LETTERS)
              + "".join(LETTERS).upper() + "".join(DIGITS))
    + "".join(chr(c) for c in range(0x3001) if chr(c).isspace()))
# The first characters of a bare vote (letter, digit, "+", "("; fullwidth too): such a text
# is a vote only if everything after its first MAX_BARE characters is whitespace.
BARE_START = frozenset(
    "+(" + "".join(LETTERS) + "".join(LETTERS).upper() + "".join(DIGITS)
    + "".join(chr(ord(c) + 0xFEE0) for c in "+(" + "".join(LETTERS)
              + "".join(LETTERS).upper() + "".join(DIGITS)))


def _exact_table() -> dict[str, int]:
    table: dict[str, int] = {}
    for key, i in LETTERS.items():
        for k in (key, key.upper()):
            for text in (k, f"!{k}", f"+{k}", f"{k}.", f"{k}!", f"!{k}!", f"({k})", k * 2,
                         f"{k} {k}"):
                table[text] = i
    for digit, i in DIGITS.items():
        table[digit] = table[f"!{digit}"] = i
    return table


# The texts chat uses most, each with its choice: one dict lookup decides them.
EXACT: dict[str, int] = _exact_table()


def _letter_body(body: str) -> int | None:
    """A bare-letter vote (`a`, `+a`, `a.`, `(a)`, `aa`, `a a`) as the whole body, or None."""
    if body[:1] == "(":                       # "(a)", then at most a tail
        after = body[3:]
        if body[2:3] != ")" or len(after) > _MAX_TAIL or after.strip("!."):
            return None
        return LETTERS.get(body[1].lower())
    if body[:1] == "+":
        body = body[1:]
    tail = len(body) - len(body.rstrip("!."))
    if tail > _MAX_TAIL:
        return None
    core = body[:len(body) - tail].lower()
    c = LETTERS.get(core[:1])
    if c is None:
        return None
    k = core[0]
    return c if core in (k, k * 2, k * 3, f"{k} {k}", f"{k} {k} {k}") else None


def parse_slow(text: str) -> int | None:
    """parse_vote for texts that are not in EXACT (see the module docstring for the rules)."""
    first = text[:1]
    if first not in MAY_START:
        return None                           # most chat: one set lookup
    if first in BARE_START and len(text) > MAX_BARE and not text[MAX_BARE:].isspace():
        return None                           # "cave the dragon": longer than a bare vote
    head = text[:_HEAD * 4]
    if head[:1].isspace() or head[:1] in "@＠":
        text = text.strip()
        head = text[:_HEAD * 4]
    for _ in range(_MAX_MENTIONS):            # skip leading @mentions
        if head[:1] not in ("@", "＠"):
            break
        cut = next((i for i, ch in enumerate(head[:_MAX_MENTION + 1]) if ch.isspace()), -1)
        if cut <= 1:
            return None
        text = text[cut:].lstrip()
        head = text[:_HEAD * 4]
    else:
        if head[:1] in ("@", "＠"):
            return None
    if not head:
        return None
    head = head[:_HEAD]
    if not head.isascii():
        head = head.translate(_FULLWIDTH)
    if head[0] == "!":                        # "!x", "!x!", "!x lets go"
        key = head[1:2].lower()
        c = LETTERS.get(key)
        i = 2
        if c is not None:
            while i < len(head) and head[i] in _TAIL and i < 2 + _MAX_TAIL:
                i += 1
        else:
            c = DIGITS.get(key)
            if c is None:
                return None
        after = head[i:i + 1]
        if after and not after.isspace():
            return None
        return c
    if len(text) > _HEAD:                     # a bare vote is short; the rest is chat
        rest = text[_HEAD:]
        if not rest.isspace():
            return None
    body = head.rstrip()
    c = DIGITS.get(body)
    if c is not None:
        return c
    return _letter_body(body)


def parse_vote(text: str) -> int | None:
    """The 0-based choice index a chat message votes for, or None when it is chat.

    Never raises; a text of any length costs at most one `strip` of it plus a look at its
    first few dozen characters."""
    c = EXACT.get(text)
    return parse_slow(text) if c is None else c


def command_word(text: str, words: frozenset[str]) -> str | None:
    """The command a chat text starts with (`!join Alice` -> "join") when it is one of
    `words` (lower-case, without "!"), else None. Cheap for everything else."""
    if not words or text[:1] not in ("!", "！"):
        return None
    word = text[1:33].split(None, 1)
    if not word:
        return None
    w = word[0].lower()
    return w if w in words else None
