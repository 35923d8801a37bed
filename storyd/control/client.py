"""The control socket client used by storyctl (and by tests).

One connection, requests answered in order: `call` sends one envelope and waits for the reply
with its id. `watch` turns the connection into an event stream, so use a client of its own
for it. Error replies raise RemoteError (code and message as the daemon sent them); an absent
socket or a refused connection raises DaemonNotRunning (both defined in
storyd.control.blocking_client, the trio-free one-shot client).
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import AsyncIterator, Iterable
from pathlib import Path
from types import TracebackType

import msgspec
import trio

from storyd.control import protocol
from storyd.control.blocking_client import (
    MAX_REPLY_LINE,
    RemoteError,
    answer_of,
    connect_error,
    decode_reply,
)
from storyd.core import events
from storyd.core.events import StorydEvent
from storyd.errors import ControlError


class ControlClient:
    """A connection to storyd's control socket.

    Use `async with await ControlClient.connect(path) as client:`; `aclose()` closes it.
    """

    def __init__(self, stream: trio.SocketStream, path: Path) -> None:
        self._stream = stream
        self.path = path
        self._ids = itertools.count(1)
        self._buf = bytearray()

    @classmethod
    async def connect(cls, path: Path | str) -> ControlClient:
        """Connect; raises DaemonNotRunning when nothing listens, ControlError otherwise."""
        path = Path(path)
        try:
            stream = await trio.open_unix_socket(str(path))
        except OSError as exc:
            raise connect_error(path, exc) from None
        return cls(stream, path)

    async def __aenter__(self) -> ControlClient:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._stream.aclose()

    async def call(self, request: protocol.Request) -> protocol.Result | None:
        """Send one request and return its answer, a Struct of the request's answer type
        (protocol.answer_type: a Snapshot for `status`, a list of SessionSummary for
        `sessions`, ...).

        Raises RemoteError for an error reply, ControlError when the daemon hangs up or
        answers something that is not a reply of that type.
        """
        req_id = await self._send(request)
        while True:
            reply = await self._read_reply()
            if reply.id not in (req_id, None):
                continue  # not ours (cannot happen with in-order replies; be lenient)
            return answer_of(reply, request)

    async def pipeline(self, requests: Iterable[protocol.Request], in_flight: int
                       ) -> list[protocol.Result | None | RemoteError]:
        """Send `requests` with up to `in_flight` unanswered at a time; the answers (or the
        RemoteError of an error reply) in request order. ControlError when the daemon hangs
        up. The replies are small, so reading them only when the window is full is safe."""
        results: list[protocol.Result | None | RemoteError] = []
        sent: deque[protocol.Request] = deque()
        for request in requests:
            if len(sent) >= max(in_flight, 1):
                results.append(self._answer_or_error(await self._read_reply(), sent.popleft()))
            await self._send(request)
            sent.append(request)
        while sent:
            results.append(self._answer_or_error(await self._read_reply(), sent.popleft()))
        return results

    @staticmethod
    def _answer_or_error(reply: protocol.Incoming, request: protocol.Request
                         ) -> protocol.Result | None | RemoteError:
        try:
            return answer_of(reply, request)
        except RemoteError as exc:
            return exc

    async def watch(self) -> AsyncIterator[StorydEvent]:
        """Start watching and yield each event as it arrives; ends when the daemon hangs up."""
        await self.call(protocol.Watch())
        while True:
            try:
                line = await self._read_line()
            except ControlError:
                return
            reply = decode_reply(line)
            if reply.error is not None:
                raise RemoteError(reply.error.code, reply.error.message)
            if reply.event == protocol.NULL:
                raise ControlError("storyd sent a line that is not an event while watching")
            try:
                yield events.decode(reply.event)
            except msgspec.ValidationError as exc:
                raise ControlError(f"storyd sent an event of another shape: {exc}") from None

    async def _send(self, request: protocol.Request) -> int:
        req_id = next(self._ids)
        data = protocol.encode(protocol.Envelope(id=req_id, request=request))
        try:
            await self._stream.send_all(data)
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            raise ControlError(f"storyd closed the control connection on {self.path}") from None
        return req_id

    async def _read_reply(self) -> protocol.Incoming:
        return decode_reply(await self._read_line())

    async def _read_line(self) -> bytes:
        while True:
            nl = self._buf.find(b"\n")
            if nl >= 0:
                line = bytes(self._buf[:nl])
                del self._buf[:nl + 1]
                return line
            if len(self._buf) > MAX_REPLY_LINE:
                raise ControlError(f"reply from storyd longer than {MAX_REPLY_LINE} bytes")
            try:
                chunk = await self._stream.receive_some(65536)
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                chunk = b""
            if not chunk:
                raise ControlError(f"storyd closed the control connection on {self.path}")
            self._buf.extend(chunk)
