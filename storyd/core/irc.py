"""IRC lines as Twitch chat speaks them over a websocket (pure: no I/O, no clock).

Theory of operation
-------------------
A websocket frame from Twitch holds one or more IRC lines, each ended by CRLF. `LineSplitter`
cuts frames into lines and keeps at most `max_line` characters of an unfinished line between
frames; a longer line is thrown away up to its end and counted in `oversized` (so a flooding
or broken server costs bounded memory). `parse_line` turns one line into an `IrcMessage`,
or None when it is not IRC at all; it never raises. The grammar (RFC 1459 with IRCv3 tags)::

    [@tags SPACE] [:prefix SPACE] command *(SPACE param) [SPACE :trailing]

Tag values are unescaped (`\\s` space, `\\:` `;`, `\\\\` backslash, `\\r`, `\\n`; a backslash
before any other character is dropped, a trailing lone backslash too). A tag without `=` has
the value "". Commands are upper-cased; a command is letters or a 3-digit numeric.

`privmsg_text` unwraps the CTCP ACTION of `/me` lines. `format_line` builds an outgoing line
and refuses CR/LF/NUL inside it, so nothing a model or viewer writes can inject a second
command into an announcement.
"""

from __future__ import annotations

import msgspec

MAX_LINE = 16_384            # Twitch caps a line at 8 KiB of tags + 512 bytes of message
_ESCAPES = {"s": " ", ":": ";", "\\": "\\", "r": "\r", "n": "\n"}


class IrcMessage(msgspec.Struct, frozen=True, kw_only=True):
    tags: dict[str, str] = {}
    prefix: str = ""              # "nick!user@host", "tmi.twitch.tv" or ""
    command: str
    params: tuple[str, ...] = ()  # the trailing parameter (after " :") is the last one

    @property
    def nick(self) -> str:
        """The nick of the prefix ("alice" of "alice!alice@alice.tmi.twitch.tv"), or ""."""
        if "!" in self.prefix:
            return self.prefix.split("!", 1)[0]
        return self.prefix if "." not in self.prefix else ""

    def param(self, i: int) -> str:
        return self.params[i] if -len(self.params) <= i < len(self.params) else ""


def unescape_tag(value: str) -> str:
    """An IRCv3 tag value with its escapes resolved."""
    if "\\" not in value:
        return value
    out: list[str] = []
    i, n = 0, len(value)
    while i < n:
        ch = value[i]
        if ch == "\\":
            if i + 1 < n:
                nxt = value[i + 1]
                out.append(_ESCAPES.get(nxt, nxt))
            i += 2
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def escape_tag(value: str) -> str:
    """The inverse of `unescape_tag` (for tests and fakes)."""
    return (value.replace("\\", "\\\\").replace(";", "\\:").replace(" ", "\\s")
            .replace("\r", "\\r").replace("\n", "\\n"))


def _parse_tags(raw: str) -> dict[str, str]:
    tags: dict[str, str] = {}
    for item in raw.split(";"):
        if not item:
            continue
        key, _, value = item.partition("=")
        if key:
            tags[key] = unescape_tag(value)
    return tags


def _valid_command(cmd: str) -> bool:
    if not cmd or not cmd.isascii():
        return False
    return cmd.isalpha() or (len(cmd) == 3 and cmd.isdigit())


def parse_line(line: str) -> IrcMessage | None:
    """One IRC line (without its CRLF) as an IrcMessage; None for blank or malformed lines."""
    line = line.rstrip("\r\n")
    if not line or len(line) > MAX_LINE or "\0" in line:
        return None
    rest = line
    tags: dict[str, str] = {}
    if rest.startswith("@"):
        raw, sep, rest = rest[1:].partition(" ")
        if not sep:
            return None
        tags = _parse_tags(raw)
        rest = rest.lstrip(" ")
    prefix = ""
    if rest.startswith(":"):
        prefix, sep, rest = rest[1:].partition(" ")
        if not sep or not prefix:
            return None
        rest = rest.lstrip(" ")
    head, sep, trailing = rest.partition(" :")
    words = head.split()
    if not words:
        return None
    command = words[0].upper()
    if not _valid_command(command):
        return None
    params = words[1:]
    if sep:
        params.append(trailing)
    return IrcMessage(tags=tags, prefix=prefix, command=command, params=tuple(params))


def privmsg_text(msg: IrcMessage) -> str:
    """The chat text of a PRIVMSG, with a `/me` CTCP ACTION wrapper removed."""
    text = msg.param(1) if len(msg.params) >= 2 else ""
    if text.startswith("\x01ACTION ") and text.endswith("\x01"):
        return text[8:-1]
    return text


def format_line(command: str, *params: str, trailing: bool = True) -> str:
    """An outgoing line ending in CRLF. With `trailing` the last param is sent as `:text`
    (it may hold spaces); otherwise every param is a middle one.

    Raises ValueError for CR, LF or NUL anywhere, or a space in a middle parameter.
    """
    for p in (command, *params):
        if any(c in p for c in "\r\n\0"):
            raise ValueError("IRC lines cannot contain CR, LF or NUL")
    if not _valid_command(command.upper()):
        raise ValueError(f"not an IRC command: {command!r}")
    middle = list(params[:-1] if trailing and params else params)
    for p in middle:
        if not p or " " in p or p.startswith(":"):
            raise ValueError(f"bad IRC parameter: {p!r}")
    parts = [command, *middle]
    if trailing and params:
        parts.append(":" + params[-1])
    return " ".join(parts) + "\r\n"


class LineSplitter:
    """Cuts a stream of text frames into lines with bounded memory (see module docstring)."""

    def __init__(self, max_line: int = MAX_LINE) -> None:
        self.max_line = max_line
        self.oversized = 0
        self._buf = ""
        self._skipping = False          # inside an over-long line: drop up to its end

    def feed(self, text: str) -> list[str]:
        """The complete lines in `text` (plus what was buffered), without their line ends."""
        lines: list[str] = []
        chunks = text.split("\n")
        for i, chunk in enumerate(chunks):
            last = i == len(chunks) - 1
            if self._skipping:
                if not last:
                    self._skipping = False
                continue
            if last:
                if len(self._buf) + len(chunk) > self.max_line:
                    self._buf, self._skipping = "", True
                    self.oversized += 1
                else:
                    self._buf += chunk
                continue
            line = (self._buf + chunk) if self._buf else chunk
            self._buf = ""
            if len(line) > self.max_line:
                self.oversized += 1
                continue
            line = line.rstrip("\r")
            if line:
                lines.append(line)
        return lines

    @property
    def buffered(self) -> int:
        return len(self._buf)
