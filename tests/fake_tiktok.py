"""Loopback fakes of the two TikTok endpoints the real TikTokLive client talks to.

- `FakeSignServer`: a minimal HTTP/1.1 server (trio) answering `GET /webcast/fetch` the way
  Euler Stream does: raw protobuf `ProtoMessageFetchResult` bytes naming the push server,
  plus the `X-Set-TT-Cookie` header TikTokLive insists on. A script of replies ("ok",
  ("429", headers), "hang", ("status", code)) is consumed one request at a time.
- `FakePushServer`: a websocket server (trio-websocket) standing in for TikTok's push
  server. Each accepted connection is handed to the test as a `PushConnection`, which sends
  `WebcastPushFrame`s built with the library's own protobuf classes and records what the
  client sends (im_enter_room, heartbeats, acks).
Frames are built with the same message classes TikTokLive parses, so the whole decode path
(push frame -> fetch result -> event -> handler) is the real one.
"""

from __future__ import annotations

import math
from collections import deque
from typing import Any
from urllib.parse import parse_qs, urlsplit

import trio
import trio_websocket
from TikTokLive.proto import (
    CommonMessageData,
    Gift,
    ProtoMessageFetchResult,
    User,
    WebcastChatMessage,
    WebcastControlMessage,
    WebcastGiftMessage,
    WebcastLikeMessage,
    WebcastMemberMessage,
    WebcastPushFrame,
    WebcastRoomPinMessage,
)
from TikTokLive.proto import ProtoMessageFetchResultBaseProtoMessage as BaseProtoMessage
from TikTokLive.proto.custom_proto import ControlAction

# -- protobuf message builders ------------------------------------------------------------


# Locals here avoid the names `common`, `user`, `gift`: pydantic builds a message's schema
# lazily on first construction and resolves forward references against the *caller's*
# locals, where such a name would shadow a module alias of the generated code.


def _wrap(method: str, msg: Any, msg_id: int) -> BaseProtoMessage:
    return BaseProtoMessage(method=method, payload=bytes(msg), msg_id=msg_id)


def chat(msg_id: int, user_id: int, text: str, handle: str = "", nickname: str = "",
         ) -> BaseProtoMessage:
    usr = User(id=user_id, display_id=handle, nickname=nickname or handle)
    cm = CommonMessageData(method="WebcastChatMessage", msg_id=msg_id)
    return _wrap("WebcastChatMessage", WebcastChatMessage(common=cm, user=usr, content=text),
                 msg_id)


def gift(msg_id: int, user_id: int, gift_id: int, diamonds: int, repeat: int, *,
         repeat_end: bool, streakable: bool = True, handle: str = "") -> BaseProtoMessage:
    usr = User(id=user_id, display_id=handle or f"u{user_id}")
    cm = CommonMessageData(method="WebcastGiftMessage", msg_id=msg_id)
    g = Gift(id=gift_id, diamond_count=diamonds, type=1 if streakable else 0, name=f"g{gift_id}")
    body = WebcastGiftMessage(common=cm, gift_id=gift_id, repeat_count=repeat,
                              repeat_end=1 if repeat_end else 0, user=usr, gift=g)
    return _wrap("WebcastGiftMessage", body, msg_id)


def like(msg_id: int, user_id: int, count: int, handle: str = "") -> BaseProtoMessage:
    usr = User(id=user_id, display_id=handle, nickname=handle)
    cm = CommonMessageData(method="WebcastLikeMessage", msg_id=msg_id)
    return _wrap("WebcastLikeMessage",
                 WebcastLikeMessage(common=cm, user=usr, count=count, total=count), msg_id)


def join(msg_id: int, user_id: int, handle: str = "", nickname: str = "") -> BaseProtoMessage:
    usr = User(id=user_id, display_id=handle, nickname=nickname or handle)
    cm = CommonMessageData(method="WebcastMemberMessage", msg_id=msg_id)
    return _wrap("WebcastMemberMessage", WebcastMemberMessage(common=cm, user=usr), msg_id)


def pinned_chat(msg_id: int, user_id: int, text: str, handle: str) -> BaseProtoMessage:
    inner = WebcastChatMessage(common=CommonMessageData(method="WebcastChatMessage", msg_id=1),
                               user=User(id=user_id, display_id=handle), content=text)
    cm = CommonMessageData(method="WebcastRoomPinMessage", msg_id=msg_id)
    pin = WebcastRoomPinMessage(common=cm, chat_message=inner, method="WebcastChatMessage")
    return _wrap("WebcastRoomPinMessage", pin, msg_id)


def stream_ended(msg_id: int) -> BaseProtoMessage:
    cm = CommonMessageData(method="WebcastControlMessage", msg_id=msg_id)
    return _wrap("WebcastControlMessage",
                 WebcastControlMessage(common=cm, action=ControlAction.STREAM_ENDED), msg_id)


def fetch_result(messages: list[BaseProtoMessage], *, push_server: str = "",
                 first: bool = False) -> ProtoMessageFetchResult:
    return ProtoMessageFetchResult(messages=messages, cursor="cursor-1", internal_ext="ext",
                                   push_server=push_server, route_params={"imprp": "fake"},
                                   is_first=first, need_ack=not first)


# -- sign server --------------------------------------------------------------------------

Reply = str | tuple[str, Any]


class FakeSignServer:
    def __init__(self, push_url: str) -> None:
        self.push_url = push_url
        self.script: deque[Reply] = deque()
        self.hits: list[float] = []             # trio.current_time() of each request
        self.queries: list[dict[str, list[str]]] = []
        self.api_keys: list[str] = []
        self.changed = trio.Event()
        self.port = 0
        self.initial_messages: list[BaseProtoMessage] = []

    async def serve(self, *, task_status: trio.TaskStatus[int] = trio.TASK_STATUS_IGNORED,
                    ) -> None:
        listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")
        self.port = listeners[0].socket.getsockname()[1]
        task_status.started(self.port)
        await trio.serve_listeners(self._handle, listeners)

    async def wait_hits(self, n: int) -> None:
        while len(self.hits) < n:
            await self.changed.wait()

    async def _handle(self, stream: trio.SocketStream) -> None:
        data = b""
        async with stream:
            while b"\r\n\r\n" not in data:
                chunk = await stream.receive_some(65536)
                if not chunk:
                    return
                data += chunk
            head = data.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
            target = head[0].split(" ")[1]
            headers = {k.strip().lower(): v.strip() for k, v in
                       (line.split(":", 1) for line in head[1:] if ":" in line)}
            self.hits.append(trio.current_time())
            self.queries.append(parse_qs(urlsplit(target).query))
            self.api_keys.append(headers.get("x-api-key", ""))
            self.changed.set()
            self.changed = trio.Event()
            reply = self.script.popleft() if self.script else "ok"
            if reply == "hang":
                await trio.sleep(math.inf)
            if isinstance(reply, tuple) and reply[0] == "429":
                await self._send(stream, 429, b'{"message": "slow down"}', reply[1])
            elif isinstance(reply, tuple) and reply[0] == "status":
                await self._send(stream, reply[1], b'{"message": "nope"}', {})
            else:
                body = bytes(fetch_result(self.initial_messages, push_server=self.push_url,
                                          first=True))
                await self._send(stream, 200, body, {"X-Set-TT-Cookie": "ttwid=fake; Path=/"})

    @staticmethod
    async def _send(stream: trio.SocketStream, status: int, body: bytes,
                    headers: dict[str, str]) -> None:
        lines = [f"HTTP/1.1 {status} X", f"Content-Length: {len(body)}", "Connection: close",
                 *(f"{k}: {v}" for k, v in headers.items())]
        await stream.send_all(("\r\n".join(lines) + "\r\n\r\n").encode() + body)


# -- push websocket -----------------------------------------------------------------------

class PushConnection:
    def __init__(self, ws: trio_websocket.WebSocketConnection, path: str) -> None:
        self.ws = ws
        self.path = path
        self.received: list[WebcastPushFrame] = []
        self.closed = trio.Event()
        self._log_id = 0

    async def send(self, *messages: BaseProtoMessage) -> None:
        self._log_id += 1
        frame = WebcastPushFrame(payload_type="msg", payload_encoding="pb", log_id=self._log_id,
                                 payload=bytes(fetch_result(list(messages))))
        await self.ws.send_message(bytes(frame))

    async def close(self, code: int = 1000, reason: str = "") -> None:
        await self.ws.aclose(code, reason)

    def frames(self, payload_type: str) -> list[WebcastPushFrame]:
        return [f for f in self.received if f.payload_type == payload_type]


class FakePushServer:
    def __init__(self) -> None:
        self.port = 0
        self.send_conn, self.accepted = trio.open_memory_channel[PushConnection](16)
        self.count = 0

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/webcast/im/push/v2/"

    async def serve(self, *, task_status: trio.TaskStatus[int] = trio.TASK_STATUS_IGNORED,
                    ) -> None:
        async with trio.open_nursery() as nursery:
            server = await nursery.start(trio_websocket.serve_websocket, self._handle,
                                         "127.0.0.1", 0, None)
            self.port = server.port
            task_status.started(self.port)

    async def next_connection(self) -> PushConnection:
        return await self.accepted.receive()

    async def _handle(self, request: trio_websocket.WebSocketRequest) -> None:
        ws = await request.accept(subprotocol="echo-protocol")
        conn = PushConnection(ws, request.path)
        self.count += 1
        await self.send_conn.send(conn)
        try:
            while True:
                data = await ws.get_message()
                if isinstance(data, bytes):
                    conn.received.append(WebcastPushFrame().parse(data))
        except trio_websocket.ConnectionClosed:
            pass
        finally:
            conn.closed.set()
