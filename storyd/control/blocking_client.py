"""One request and its reply over a blocking Unix socket, and the control client's errors.

storyctl's one-shot commands (`status`, `vote`, `close`, …) need no event loop: starting one
(importing trio) would cost more than the whole round trip, and `storyctl status` is meant to
feel instant. `call_once` connects, sends one envelope, reads the one reply line and closes.
The streaming and batching commands (`watch`, `chat-import`) use the trio client
(storyd.control.client), which raises the same errors, defined here so this module stays
free of trio.
"""

from __future__ import annotations

import socket
from pathlib import Path

import msgspec

from storyd.control import protocol
from storyd.core.replies import ErrorBody
from storyd.errors import ControlError, StorydError

# Replies can be large (an HTML export, a long session); a guard, not a protocol limit.
MAX_REPLY_LINE = 64 * 1024 * 1024


class DaemonNotRunning(ControlError):
    """No storyd listens on the control socket."""

    code = "not_running"

    def __init__(self, path: Path) -> None:
        super().__init__(f"storyd is not running (no socket at {path})")
        self.path = path


class RemoteError(StorydError):
    """The daemon answered a request with an error reply."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def connect_error(path: Path, exc: OSError) -> ControlError:
    """The error for a failed connect to `path` (DaemonNotRunning when nothing listens)."""
    if isinstance(exc, FileNotFoundError | ConnectionRefusedError | NotADirectoryError):
        return DaemonNotRunning(path)
    if isinstance(exc, PermissionError):
        return ControlError(f"permission denied on the control socket {path} "
                            "(is storyd running as another user?)")
    return ControlError(f"cannot connect to {path}: {exc.strerror or exc}")


def decode_reply(line: bytes) -> protocol.Incoming:
    """The reply (or watched event) a line holds; ControlError when it holds none."""
    try:
        return protocol.decode_incoming(line)
    except msgspec.DecodeError as exc:
        raise ControlError(f"storyd sent a line that is not a reply: {exc}") from None


def answer_of(reply: protocol.Incoming, request: protocol.Request
              ) -> protocol.Result | None:
    """The result of `reply`, decoded strictly into `request`'s answer type. RemoteError for
    an error reply, ControlError for a result of another shape."""
    if not reply.ok:
        err = reply.error or ErrorBody(code="error", message="unknown error")
        raise RemoteError(err.code, err.message)
    try:
        result: protocol.Result | None = msgspec.json.decode(
            reply.result, type=protocol.answer_type(request))
    except msgspec.ValidationError as exc:
        raise ControlError(f"storyd answered '{type(request).__struct_config__.tag}' with "
                           f"something else: {exc}") from None
    return result


def call_once(path: Path | str, request: protocol.Request) -> protocol.Result | None:
    """Send `request`, return its answer (a Struct of protocol.answer_type(request)).
    RemoteError for an error reply, DaemonNotRunning when nothing listens, ControlError
    when the daemon hangs up or answers in another shape."""
    path = Path(path)
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        try:
            sock.connect(str(path))
        except OSError as exc:
            raise connect_error(path, exc) from None
        try:
            sock.sendall(protocol.encode(protocol.Envelope(id=1, request=request)))
            buf = bytearray()
            while (nl := buf.find(b"\n")) < 0:
                if len(buf) > MAX_REPLY_LINE:
                    raise ControlError(f"reply from storyd longer than {MAX_REPLY_LINE} bytes")
                chunk = sock.recv(1 << 20)
                if not chunk:
                    raise ControlError(f"storyd closed the control connection on {path}")
                buf += chunk
        except (BrokenPipeError, ConnectionResetError):
            raise ControlError(f"storyd closed the control connection on {path}") from None
    return answer_of(decode_reply(bytes(buf[:nl])), request)
