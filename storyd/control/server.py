"""The control socket server: newline-delimited JSON over a Unix socket.

Theory of operation: `serve_control` owns one listening Unix socket. Before binding it makes
sure the directory is private (created 0700; an existing one must be ours and not group- or
world-writable) and that no other storyd answers on the path (a stale socket file is removed,
a live one is refused). The socket is chmod 0600 before anyone is told it is serving, and it
is unlinked in `finally` — only if the file there is still the one we bound.

Each connection gets a reader and a writer task. The reader reads lines (at most MAX_LINE
bytes each; a longer line is answered with `line_too_long` and discarded up to its newline)
and runs their requests strictly in order; the writer sends one reply line per request line,
in the same order. Requests may be pipelined: `pipelined(request)` (the `chat` ingest) does
its work at once and hands the writer the reply with a wait that returns once it may be sent
(its ballots are committed), so the reader goes on with the next request meanwhile — up to
MAX_IN_FLIGHT replies wait per connection, then the reader waits (backpressure). Every other
request is answered in full before the next line is read. Every failure is turned into an
error reply — `bad_json`, `bad_request` (msgspec's message names the path), `bad_version`, the
StorydError's own code, or `internal` (logged as one line) — so neither the connection
nor the daemon dies of a bad request. `watch` replies ok and then streams event lines until
the client hangs up; lines sent while watching are discarded.

Bounds: at most `max_connections` connections are served at once. When all are taken, the
one that has waited longest for its client's next byte (idle, or stuck in half a line) is
closed with a `busy` error line to make room; when none is waiting (all are running a
request or watching) the newcomer gets the `busy` line instead. A client that does not
read its replies within SEND_TIMEOUT seconds is disconnected, so a stuck client cannot pin a
task forever. A client
that sends nothing for `idle_timeout` seconds, or leaves a line unfinished for
`line_timeout` seconds, is disconnected too (`[control] idle_timeout`, `line_timeout`), so
clients that connect and wait cannot hold every slot for long.

Isolation: decoding never raises (JSON nested too deeply is `bad_json`), and any exception
while serving one connection ends at most that connection; it is logged as one line,
rate-limited (storyd.system.faults), never as a traceback per request.
"""

from __future__ import annotations

import errno
import itertools
import logging
import os
from collections.abc import Awaitable, Callable
from pathlib import Path

import msgspec
import trio

from storyd.control import protocol, socket_file
from storyd.core.events import StorydEvent
from storyd.core.replies import ErrorBody
from storyd.errors import StorydError
from storyd.system.faults import LogLimiter

log = logging.getLogger(__name__)
_faults = LogLimiter(log)

Handler = Callable[[protocol.Request], Awaitable[protocol.Result | None]]
Ready = Callable[[], Awaitable[None]]
Pipelined = Callable[[protocol.Request], tuple[protocol.Result, Ready | None] | None]
_Out = bytes | tuple[int | None, protocol.Result, Ready | None] | trio.Event  # reply|staged|barrier
Send = Callable[[StorydEvent], Awaitable[None]]
WatchHandler = Callable[[Send], Awaitable[None]]

MAX_CONNECTIONS = 64
MAX_IN_FLIGHT = 32     # replies waiting for their commit, per connection
SEND_TIMEOUT = 10.0
IDLE_TIMEOUT = 600.0   # seconds without a request before an idle connection is closed
LINE_TIMEOUT = 10.0    # seconds a started line may stay unfinished
_RECV_CHUNK = 65536
_wait_order = itertools.count()
# accept() errors that mean "out of resources right now": wait a little and go on (as trio does)
_ACCEPT_RETRY = {errno.EMFILE, errno.ENFILE, errno.ENOMEM, errno.ENOBUFS}


def _reply_ok(req_id: int | None, result: protocol.Result | None) -> bytes:
    return protocol.encode(protocol.Answer(id=req_id, result=result))


def _reply_error(req_id: int | None, code: str, message: str) -> bytes:
    return protocol.encode(protocol.Refusal(id=req_id, error=ErrorBody(code=code,
                                                                       message=message)))


async def serve_control(path: Path, handle: Handler, watch: WatchHandler, *,
                        pipelined: Pipelined | None = None,
                        max_connections: int = MAX_CONNECTIONS,
                        idle_timeout: float = IDLE_TIMEOUT, line_timeout: float = LINE_TIMEOUT,
                        task_status: trio.TaskStatus[Path] = trio.TASK_STATUS_IGNORED) -> None:
    """Serve the control protocol on the Unix socket `path` until cancelled.

    `handle` answers one request (its result is encoded with msgspec; StorydError subclasses
    become error replies with their code); `pipelined` (see above) stages the requests a
    connection may pipeline. `watch(send)` streams events by awaiting
    `send(event)` until it is cancelled when the client leaves. Raises StorydError before
    `task_status.started(path)` when the directory is unsafe, another storyd is serving on
    the path, or binding fails. The socket file is removed on exit. `idle_timeout` and
    `line_timeout` (seconds) bound how long a connection may wait between requests and
    inside one request line.
    """
    path = Path(path)
    socket_file.check_private_dir(path.parent)
    await socket_file.clear_stale_socket(path)
    listener, inode = await socket_file.bind(path)
    conns: set[_Connection] = set()
    try:
        async with trio.open_nursery() as nursery:
            log.info("control socket listening on %s", path)
            task_status.started(path)
            while True:
                try:
                    stream = await listener.accept()
                except OSError as exc:
                    if exc.errno not in _ACCEPT_RETRY:
                        raise
                    log.error("control socket accept failed (%s); retrying", exc)
                    await trio.sleep(0.1)
                    continue
                live = [c for c in conns if not c.evicted]
                if len(live) >= max_connections:
                    # full: the connection waiting longest for its client's next byte makes
                    # room (requests in progress and watchers are never evicted)
                    waiting = [c for c in live if c.waiting_since is not None]
                    if not waiting:
                        nursery.start_soon(_refuse_busy, stream, max_connections)
                        continue
                    min(waiting, key=lambda c: (c.waiting_since or 0.0, c.wait_seq)).evict()
                conn = _Connection(stream, handle, watch, idle_timeout, line_timeout,
                                   pipelined)
                conns.add(conn)

                async def _serve_one(conn: _Connection = conn) -> None:
                    try:
                        await conn.run()
                    except Exception as exc:  # noqa: BLE001 — one client never ends the server
                        _faults.fault("connection", "control connection failed", exc,
                                      logging.ERROR)
                    finally:
                        conns.discard(conn)

                nursery.start_soon(_serve_one)
    finally:
        # Unlink first: under cancellation the awaits below raise Cancelled at once.
        if socket_file.inode(path) == inode:
            os.unlink(path)
        await listener.aclose()


async def _refuse_busy(stream: trio.SocketStream, limit: int) -> None:
    with trio.move_on_after(1.0):
        try:
            await stream.send_all(_reply_error(
                None, "busy", f"too many control connections (limit {limit}); try again"))
        except trio.BrokenResourceError:
            pass
    await trio.aclose_forcefully(stream)


class _Timeout(Exception):
    """The client waited too long: idle, in the middle of a line, or evicted."""

    def __init__(self, message: str, code: str = "timeout") -> None:
        super().__init__(message)
        self.code = code


class _Connection:
    """One client: read lines, answer each in order."""

    def __init__(self, stream: trio.SocketStream, handle: Handler, watch: WatchHandler,
                 idle_timeout: float = IDLE_TIMEOUT, line_timeout: float = LINE_TIMEOUT,
                 pipelined: Pipelined | None = None) -> None:
        self._stream = stream
        self._handle = handle
        self._watch = watch
        self._pipelined = pipelined
        self._out: trio.MemorySendChannel[_Out] | None = None
        self._idle_timeout = idle_timeout
        self._line_timeout = line_timeout
        self._buf = bytearray()
        self._eof = False
        self._line_started: float | None = None
        self.waiting_since: float | None = None   # set while waiting for the client's bytes
        self.wait_seq = 0                         # ties in waiting_since: first come first
        self.evicted = False
        self._wait_scope: trio.CancelScope | None = None

    def evict(self) -> None:
        """Make room for a new client: this connection ends with a `busy` error line."""
        self.evicted = True
        if self._wait_scope is not None:
            self._wait_scope.cancel()

    async def run(self) -> None:
        try:
            out, replies = trio.open_memory_channel[_Out](MAX_IN_FLIGHT)
            async with trio.open_nursery() as nursery:
                nursery.start_soon(self._write, replies)
                async with out:
                    self._out = out
                    while (line := await self._next_line()) is not None:
                        await self._answer(line)
        except* _Timeout as group:
            exc = group.exceptions[0]
            assert isinstance(exc, _Timeout)
            log.info("control client disconnected: %s", exc)
            with trio.move_on_after(1.0):
                await self._stream.send_all(_reply_error(None, exc.code, str(exc)))
        except* (trio.BrokenResourceError, trio.ClosedResourceError, trio.TooSlowError):
            log.debug("control client went away or stopped reading")
        finally:
            await trio.aclose_forcefully(self._stream)

    async def _write(self, replies: trio.MemoryReceiveChannel[_Out]) -> None:
        """Send the replies in request order; a staged one once its wait returns."""
        async with replies:
            async for item in replies:
                if isinstance(item, trio.Event):    # a watch takes the connection over
                    item.set()
                    continue
                if isinstance(item, tuple):
                    req_id, result, ready = item
                    try:
                        if ready is not None:
                            await ready()
                        item = _reply_ok(req_id, result)
                    except StorydError as exc:      # not committed: never acknowledged
                        item = _reply_error(req_id, exc.code, str(exc))
                await self._send(item)

    async def _reply(self, item: _Out) -> None:
        assert self._out is not None
        await self._out.send(item)

    async def _receive(self) -> bytes:
        """The next chunk, within the idle timeout (no line started) or the line timeout."""
        partial = bool(self._buf)
        if partial:   # the whole line must arrive within line_timeout, not each chunk
            if self._line_started is None:
                self._line_started = trio.current_time()
            deadline, limit = self._line_started + self._line_timeout, self._line_timeout
        else:
            self._line_started = None
            deadline, limit = trio.current_time() + self._idle_timeout, self._idle_timeout
        self.waiting_since, self.wait_seq = trio.current_time(), next(_wait_order)
        try:
            with trio.move_on_at(deadline) as scope:
                self._wait_scope = scope
                if self.evicted:
                    scope.cancel()
                return await self._stream.receive_some(_RECV_CHUNK)
        finally:
            self.waiting_since, self._wait_scope = None, None
        if self.evicted:
            raise _Timeout("all control connections are in use and this one was waiting "
                           "longest; closed to make room", "busy")
        raise _Timeout(f"request line unfinished for {limit:g} s" if partial
                       else f"idle for {limit:g} s")

    async def _send(self, data: bytes) -> None:
        with trio.fail_after(SEND_TIMEOUT):
            await self._stream.send_all(data)

    async def _next_line(self) -> bytes | None:
        """The next complete line (without newline); None at EOF. Overlong lines are answered
        with `line_too_long` here and skipped."""
        discarding = False
        while True:
            nl = self._buf.find(b"\n")
            if nl >= 0:
                line = bytes(self._buf[:nl])
                del self._buf[:nl + 1]
                self._line_started = None
                if discarding or len(line) > protocol.MAX_LINE:
                    if not discarding:
                        await self._reply(self._too_long())
                    discarding = False
                    continue
                return line
            if len(self._buf) > protocol.MAX_LINE:
                if not discarding:
                    await self._reply(self._too_long())
                    discarding = True
                self._buf.clear()
            if self._eof:
                return None
            chunk = await self._receive()
            if not chunk:
                self._eof = True
                if self._buf and not discarding:  # a last line without newline still counts
                    self._buf.extend(b"\n")
                continue
            self._buf.extend(chunk)

    @staticmethod
    def _too_long() -> bytes:
        return _reply_error(None, "line_too_long",
                            f"request line longer than {protocol.MAX_LINE} bytes; discarded")

    async def _answer(self, line: bytes) -> None:
        if not line.strip():
            return
        env_or_error = _decode(line)
        if isinstance(env_or_error, bytes):
            await self._reply(env_or_error)
            return
        env = env_or_error
        if isinstance(env.request, protocol.Watch):
            sent = trio.Event()                     # every earlier reply is out first
            await self._reply(sent)
            await sent.wait()
            await self._run_watch(env.id)
            return
        try:
            staged = self._pipelined(env.request) if self._pipelined is not None else None
            if staged is not None:
                await self._reply((env.id, *staged))
                return
            reply = _reply_ok(env.id, await self._handle(env.request))
        except StorydError as exc:
            reply = _reply_error(env.id, exc.code, str(exc))
        except Exception as exc:  # noqa: BLE001 — a bad handler must not kill the connection
            single = _single_storyd_error(exc)
            if single is not None:
                reply = _reply_error(env.id, single.code, str(single))
            else:
                cmd = type(env.request).__struct_config__.tag
                _faults.fault(f"request:{cmd}", f"control request {cmd!r} failed", exc,
                              logging.ERROR)
                reply = _reply_error(env.id, "internal",
                                     f"internal error while handling '{cmd}'; see the storyd log")
        await self._reply(reply)

    async def _run_watch(self, req_id: int | None) -> None:
        await self._send(_reply_ok(req_id, None))

        async def send(event: StorydEvent) -> None:
            await self._send(protocol.encode(protocol.EventLine(id=req_id, event=event)))

        try:
            async with trio.open_nursery() as nursery:
                async def until_hangup() -> None:
                    # A watching connection only streams; what the client sends is discarded.
                    while await self._stream.receive_some(_RECV_CHUNK):
                        pass
                    nursery.cancel_scope.cancel()

                nursery.start_soon(until_hangup)
                await self._watch(send)
                nursery.cancel_scope.cancel()  # the watch ended by itself: close the connection
        except* (trio.BrokenResourceError, trio.ClosedResourceError, trio.TooSlowError):
            log.debug("watching control client went away or stopped reading")
        except* Exception as group:
            _faults.fault("watch", "control watch failed", group, logging.ERROR)
        self._eof = True
        self._buf.clear()


def _single_storyd_error(exc: BaseException) -> StorydError | None:
    """A StorydError wrapped alone in (nested) exception groups, as nurseries raise it."""
    while isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
        exc = exc.exceptions[0]
    return exc if isinstance(exc, StorydError) else None


def _decode(line: bytes) -> protocol.Envelope | bytes:
    """The envelope of a line, or the error reply line explaining why there is none."""
    try:
        env = protocol.decode_envelope(line)
    except msgspec.ValidationError as exc:
        try:
            raw = msgspec.json.decode(line)
        except (msgspec.DecodeError, RecursionError):
            raw = None     # valid for the typed decoder's first steps, too deep for this one
        req_id, version = None, protocol.PROTOCOL_VERSION
        if isinstance(raw, dict):
            rid = raw.get("id")
            req_id = rid if isinstance(rid, int) and not isinstance(rid, bool) else None
            version = raw.get("v", protocol.PROTOCOL_VERSION)
        if isinstance(version, int) and version != protocol.PROTOCOL_VERSION:
            return _bad_version(req_id, version)
        return _reply_error(req_id, "bad_request", str(exc))
    except msgspec.DecodeError as exc:
        return _reply_error(None, "bad_json", f"request is not valid JSON: {exc}")
    except RecursionError:
        return _reply_error(None, "bad_json", "request is nested too deeply")
    if env.v != protocol.PROTOCOL_VERSION:
        return _bad_version(env.id, env.v)
    return env


def _bad_version(req_id: int | None, version: int) -> bytes:
    return _reply_error(req_id, "bad_version",
                        f"protocol version {version} is not supported; this storyd speaks "
                        f"version {protocol.PROTOCOL_VERSION}")
