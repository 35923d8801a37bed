"""Chat vote parsing (pure): which choice a chat message votes for, as cheaply as possible.

Most votes are exactly "!a", "B", "1" ...: an exact-string dict lookup; then a 3-character
prefix lookup ("!a lets go"); the general parser only for the few messages whose first
character could start a vote.
"""

from __future__ import annotations

from storyd.core.model import CHOICE_KEYS

__all__ = ["EXACT", "MAY_START", "PREFIX3", "command_word", "parse_slow", "parse_vote"]

# Exact message texts that are votes: "!a" "!A" "a" "A" "!1" "1" for each choice.
EXACT: dict[str, int] = {}
for _i, _k in enumerate(CHOICE_KEYS):
    for _tok in (_k, _k.upper(), str(_i + 1)):
        EXACT[_tok] = _i
        EXACT["!" + _tok] = _i
# Fullwidth forms (Ｂ, ！ａ, ２) typed on CJK keyboards; only reached on the slow path.
KEYS: dict[str, int] = {t: i for t, i in EXACT.items() if not t.startswith("!")}
KEYS.update({chr(ord(t) + 0xFEE0): i for t, i in list(KEYS.items())})
# "!x" + whitespace as the first three characters: a vote with trailing words ("!a lets go").
PREFIX3: dict[str, int] = {
    bang + key + ws: i
    for key, i in KEYS.items() for bang in "!！" for ws in " \t\n\r\xa0\u3000"}
# First characters that can start a vote-shaped message; anything else is chatter at once.
MAY_START: frozenset[str] = frozenset(
    ["!", "！", *KEYS, *(chr(c) for c in range(0x3001) if chr(c).isspace())])


def parse_slow(text: str) -> int | None:
    """parse_vote for texts that are not exact votes and do start with a may-start character."""
    head = text[:1]
    if head.isspace():
        text = text.lstrip()
        c = EXACT.get(text)
        if c is not None:
            return c
        head = text[:1]
    if head == "!" or head == "！":       # "!x" then whitespace or the end
        c = KEYS.get(text[1:2])
        if c is None:
            return None
        after = text[2:3]
        return c if not after or after.isspace() else None
    c = KEYS.get(head)                    # a bare key, alone but for whitespace
    if c is None or len(text) == 1:
        return c
    # second character first, so "a lot of fun" costs no copy of the whole text
    return c if text[1:2].isspace() and text[1:].isspace() else None


def parse_vote(text: str) -> int | None:
    """The 0-based choice index a chat message votes for, or None when it is not vote-shaped.

    Accepts `!a`…`!f` and `!1`…`!6` (case-insensitive) at the start of the message followed by
    whitespace or the end ("!a let's go"), and a bare `a`/`1` when it is the whole message
    (surrounding whitespace allowed). Fullwidth forms (`！ａ`, `Ｂ`, `２`) count too. Never
    raises; chatter costs one dict lookup and a first-character test, nothing copies the text
    except a whitespace-led or bare-key-led message (linear at worst).
    """
    c = EXACT.get(text)
    if c is None and text[:1] in MAY_START:
        c = PREFIX3.get(text[:3])
        if c is None:
            return parse_slow(text)
    return c


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
