"""A loopback fake of Twitch's IRC-over-websocket chat server (irc-ws.chat.twitch.tv).

Written from Twitch's chat documentation (see /work/shared/REFERENCE.md §5) and as messy as
the real thing: several CRLF-terminated lines per frame, the welcome numerics 001…376 in one
frame, `CAP * ACK`, the JOIN echo with 353/366 and ROOMSTATE, `USERSTATE` for logged-in
accounts, `PING :tmi.twitch.tv`, `RECONNECT`, and `NOTICE * :Login authentication failed`
for a bad token. Anonymous logins (`NICK justinfan<digits>`) are welcome, any PASS ignored.

Each accepted connection is handed to the test as a `TwitchConn`; the test scripts what the
server says (`send` puts all its lines into one frame) and reads what the client said
(`lines`). The fake parses and escapes with its own few lines of code, not storyd's parser.
"""

from __future__ import annotations

import itertools
from typing import Any

import trio
import trio_websocket

HOST = "tmi.twitch.tv"
_ids = itertools.count(1)


def escape_tag(value: str) -> str:
    """IRCv3 tag escaping: backslash first, then ; space CR LF."""
    out = value.replace("\\", "\\\\")
    for raw, esc in ((";", "\\:"), (" ", "\\s"), ("\r", "\\r"), ("\n", "\\n")):
        out = out.replace(raw, esc)
    return out


class Line:
    """A line the client sent: `CMD a b :trailing` (clients send no tags or prefix)."""

    def __init__(self, raw: str) -> None:
        head, sep, trailing = raw.partition(" :")
        words = head.split(" ")
        self.command = words[0].upper()
        self.params = [w for w in words[1:] if w] + ([trailing] if sep else [])

    def param(self, i: int) -> str:
        try:
            return self.params[i]
        except IndexError:
            return ""


def privmsg(channel: str, login: str, text: str, *, user_id: str | None = None,
            display: str | None = None, msg_id: str | None = None, bits: int = 0,
            tags: bool = True, extra: dict[str, str] | None = None) -> str:
    """A PRIVMSG line as Twitch sends it (tag values escaped), without its CRLF."""
    prefix = f":{login}!{login}@{login}.{HOST}"
    body = f"{prefix} PRIVMSG #{channel} :{text}"
    if not tags:
        return body
    values: dict[str, str] = {
        "badge-info": "", "badges": "subscriber/12,premium/1", "client-nonce": "x",
        "color": "#1E90FF", "display-name": login.capitalize() if display is None else display,
        "emotes": "", "first-msg": "0", "flags": "",
        "id": msg_id if msg_id is not None else f"uuid-{next(_ids)}",
        "mod": "0", "room-id": "12345", "subscriber": "1", "tmi-sent-ts": "1700000000000",
        "turbo": "0", "user-id": user_id if user_id is not None else "",
        "user-type": ""}
    if user_id is None:
        del values["user-id"]
    if bits:
        values["bits"] = str(bits)
    values.update(extra or {})
    raw = ";".join(f"{k}={escape_tag(v)}" for k, v in values.items())
    return f"@{raw} {body}"


class TwitchConn:
    def __init__(self, ws: trio_websocket.WebSocketConnection, server: FakeTwitch) -> None:
        self.ws = ws
        self.server = server
        self.raw: list[str] = []            # every line the client sent, as received
        self.nick = ""
        self.password = ""
        self.joined = trio.Event()
        self.closed = trio.Event()
        self._changed = trio.Event()

    @property
    def lines(self) -> list[Line]:
        return [Line(raw) for raw in self.raw]

    def said(self, command: str) -> list[Line]:
        return [m for m in self.lines if m.command == command]

    async def send(self, *lines: str) -> None:
        """All `lines` in one websocket frame, each ended by CRLF."""
        await self.ws.send_message("".join(line + "\r\n" for line in lines))

    async def send_raw(self, text: str) -> None:
        await self.ws.send_message(text)

    async def wait_for(self, command: str, n: int = 1) -> list[Line]:
        while len(self.said(command)) < n:
            await self._changed.wait()
        return self.said(command)

    async def close(self, code: int = 1000) -> None:
        await self.ws.aclose(code)

    async def _receive(self) -> None:
        try:
            while True:
                data = await self.ws.get_message()
                text = data if isinstance(data, str) else data.decode()
                for line in text.split("\r\n"):
                    if line:
                        self.raw.append(line)
                        await self._react(line)
                        self._changed.set()
                        self._changed = trio.Event()
        except trio_websocket.ConnectionClosed:
            pass
        finally:
            self.closed.set()
            self._changed.set()

    async def _react(self, line: str) -> None:
        msg = Line(line)
        if self.server.silent:
            return
        if msg.command == "CAP" and msg.param(0) == "REQ":
            await self.send(f":{HOST} CAP * ACK :{msg.param(-1)}")
        elif msg.command == "PASS":
            self.password = msg.param(0)
        elif msg.command == "NICK":
            self.nick = msg.param(0)
            anonymous = self.nick.startswith("justinfan")
            if not anonymous and self.password != f"oauth:{self.server.good_token}":
                await self.send(f":{HOST} NOTICE * :Login authentication failed")
                await self.ws.aclose()
                return
            n = self.nick
            await self.send(f":{HOST} 001 {n} :Welcome, GLHF!", f":{HOST} 002 {n} :Your host is {HOST}",
                            f":{HOST} 003 {n} :This server is rather new",
                            f":{HOST} 004 {n} :-", f":{HOST} 375 {n} :-",
                            f":{HOST} 372 {n} :You are in a maze of twisty passages.",
                            f":{HOST} 376 {n} :>")
            if not anonymous:
                await self.send(f"@badge-info=;color=;display-name={n};user-id=999 "
                                f":{HOST} GLOBALUSERSTATE")
        elif msg.command == "JOIN":
            chan = msg.param(0)
            n = self.nick
            await self.send(f":{n}!{n}@{n}.{HOST} JOIN {chan}",
                            f":{n}.{HOST} 353 {n} = {chan} :{n}",
                            f":{n}.{HOST} 366 {n} {chan} :End of /NAMES list",
                            f"@emote-only=0;followers-only=-1;r9k=0;room-id=12345;slow=0;"
                            f"subs-only=0 :{HOST} ROOMSTATE {chan}")
            self.joined.set()


class FakeTwitch:
    def __init__(self, *, good_token: str = "s3cret-token") -> None:
        self.port = 0
        self.good_token = good_token
        self.silent = False                 # True: accept the websocket, never answer
        self.send_conn, self.accepted = trio.open_memory_channel[TwitchConn](16)
        self.count = 0

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    async def serve(self, *, task_status: trio.TaskStatus[int] = trio.TASK_STATUS_IGNORED,
                    ) -> None:
        async with trio.open_nursery() as nursery:
            server: Any = await nursery.start(trio_websocket.serve_websocket, self._handle,
                                              "127.0.0.1", 0, None)
            self.port = server.port
            task_status.started(self.port)

    async def next_connection(self) -> TwitchConn:
        return await self.accepted.receive()

    async def _handle(self, request: trio_websocket.WebSocketRequest) -> None:
        ws = await request.accept()
        conn = TwitchConn(ws, self)
        self.count += 1
        await self.send_conn.send(conn)
        await conn._receive()
