"""Serve the web app with hypercorn inside the daemon's nursery.

The hypercorn Config is built attribute by attribute from storyd's validated `[server]`
settings (its `from_mapping` would silently accept typos). Port 0 binds a free port; the
URL actually bound is what `task_status.started()` delivers, e.g. "http://127.0.0.1:43117".
Shutdown: the Operator's `shutdown` event is the trigger; hypercorn stops accepting and gives open
connections GRACEFUL_S to finish, while our websocket handlers close themselves with 1001.
"""

from __future__ import annotations

import logging
from functools import partial

import hypercorn.config
import hypercorn.trio
import trio
from quart_trio import QuartTrio

from storyd.config.structs import ServerConfig
from storyd.control.operator import Operator
from storyd.errors import StorydError
from storyd.web.app import create_app

log = logging.getLogger(__name__)

GRACEFUL_S = 3.0
ACCESS_FORMAT = '%(h)s "%(r)s" %(s)s %(b)s %(L)ss'   # %(r)s has no query string: no tokens


def bind_of(host: str, port: int) -> str:
    """hypercorn's bind string; IPv6 literals get brackets."""
    host = host.strip("[]")
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def hypercorn_config(server: ServerConfig) -> hypercorn.config.Config:
    cfg = hypercorn.config.Config()
    cfg.bind = [bind_of(server.host, server.port)]
    cfg.accesslog = logging.getLogger("storyd.web.access")
    cfg.errorlog = logging.getLogger("storyd.web.server")
    cfg.access_log_format = ACCESS_FORMAT
    cfg.graceful_timeout = GRACEFUL_S
    cfg.include_server_header = False
    cfg.websocket_max_message_size = 64 * 1024
    cfg.h11_max_incomplete_size = 16 * 1024
    cfg.keep_alive_timeout = 30
    return cfg


async def serve_web(op: Operator, *, app: QuartTrio | None = None,
                    task_status: trio.TaskStatus[str] = trio.TASK_STATUS_IGNORED) -> None:
    """Run the web front until `op.shutdown` is set.

    Delivers the bound base URL through task_status once the socket listens. Raises
    StorydError (e.g. address in use) before `started()` when the port cannot be bound.
    """
    web_app = app if app is not None else create_app(op)
    cfg = hypercorn_config(op.config.server)
    async with trio.open_nursery() as nursery:
        try:
            binds: list[str] = await nursery.start(partial(
                hypercorn.trio.serve, web_app, cfg, shutdown_trigger=op.shutdown.wait))
        except* OSError as group:  # hypercorn binds inside its own nurseries
            exc: BaseException = group
            while isinstance(exc, BaseExceptionGroup):
                exc = exc.exceptions[0]
            reason = getattr(exc, "strerror", None) or str(exc)
            raise StorydError(
                f"cannot listen on {cfg.bind[0]}: {reason} — another program (or another "
                "storyd) may be using it; choose another [server] port") from None
        url = binds[0] if binds else f"http://{cfg.bind[0]}"
        log.info("web front on %s (overlay %s/overlay/, admin %s/admin/)", url, url, url)
        task_status.started(url)
