"""One-line, rate-limited reports of faults caused by one client (issue 11's isolation rule).

Theory of operation: a fault while decoding or handling one control connection, HTTP request
or websocket frame ends at most that connection and is logged as ONE line — the exception's
type, its message (cut short) and the innermost storyd frame — never a traceback per frame,
so an anonymous client cannot flood the log. `LogLimiter` lets `burst` lines per `interval`
seconds through per kind of fault and counts the rest; the next line that gets through says
how many were suppressed.
"""

from __future__ import annotations

import logging
import time
import traceback
from collections.abc import Callable

_MAX_MESSAGE = 200


def one_line(exc: BaseException) -> str:
    """`Type: message (at storyd/x.py:12)`: an exception summarised on one short line.
    An exception group (a nursery's) is described by its first leaf and a count."""
    more = 0
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        more += len(exc.exceptions) - 1
        exc = exc.exceptions[0]
    text = " ".join(str(exc).split())
    if len(text) > _MAX_MESSAGE:
        text = text[:_MAX_MESSAGE] + "…"
    where = ""
    frames = traceback.extract_tb(exc.__traceback__) if exc.__traceback__ else []
    ours = [f for f in frames if "/storyd/" in f.filename.replace("\\", "/")]
    if ours or frames:
        frame = (ours or frames)[-1]
        path = frame.filename.replace("\\", "/")
        path = "storyd/" + path.split("/storyd/", 1)[1] if "/storyd/" in path else path
        where = f" (at {path}:{frame.lineno})"
    extra = f" (+{more} more)" if more else ""
    head = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    return f"{head}{where}{extra}"


class LogLimiter:
    """At most `burst` lines per `interval` seconds per key; the rest are counted."""

    def __init__(self, logger: logging.Logger, *, burst: int = 5, interval: float = 60.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._log = logger
        self._burst = burst
        self._interval = interval
        self._clock = clock
        self._windows: dict[str, tuple[float, int, int]] = {}  # key -> (start, sent, dropped)

    def fault(self, key: str, what: str, exc: BaseException,
              level: int = logging.WARNING) -> bool:
        """Log `what: <one_line(exc)>` unless over the limit; True when it was logged."""
        now = self._clock()
        start, sent, dropped = self._windows.get(key, (now, 0, 0))
        if now - start >= self._interval:
            start, sent = now, 0
        if sent >= self._burst:
            self._windows[key] = (start, sent, dropped + 1)
            return False
        note = f" ({dropped} similar suppressed)" if dropped else ""
        self._windows[key] = (start, sent + 1, 0)
        if len(self._windows) > 1024:   # keys are a few fixed kinds; never let them pile up
            self._windows = {key: self._windows[key]}
        self._log.log(level, "%s: %s%s", what, one_line(exc), note)
        return True
