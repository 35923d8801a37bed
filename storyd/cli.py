"""`storyd` — the daemon's command line.

    storyd [--config PATH] [--demo] [--port N] [--host H] [--check-config] [--print-config]
           [--install-user-unit] [-v|-q] [--version]

--demo, --port and --host override the file for this run only (storyd.config.effective): the demo
keeps its database and media in demo/ under the data and cache dirs.

Exit codes: 0 ok (also after SIGTERM/SIGINT), 2 bad config or usage, 1 any other failure
(the web port in use, --install-user-unit cannot write the unit).
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from storyd import __version__, logs
from storyd.errors import ConfigError, StorydError
from storyd.system import heap, paths

log = logging.getLogger("storyd")


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="storyd", description="Run an AI-written, audience-voted story live on stream.")
    ap.add_argument("--config", type=Path, metavar="PATH",
                    help="config file (default: $STORYD_CONFIG or "
                         "$XDG_CONFIG_HOME/storyd/storyd.toml; missing means defaults)")
    ap.add_argument("--demo", action="store_true",
                    help="play stories back to back with a simulated audience")
    ap.add_argument("--port", type=_port, metavar="N",
                    help="serve the overlay, admin page and API on port N (this run only)")
    ap.add_argument("--host", metavar="H",
                    help="listen on address H instead of [server] host (this run only)")
    ap.add_argument("--check-config", action="store_true", help="validate the config and exit")
    ap.add_argument("--print-config", action="store_true",
                    help="print the effective config (secrets masked) and exit")
    ap.add_argument("--install-user-unit", action="store_true",
                    help="write the systemd user unit for this storyd and exit")
    ap.add_argument("-v", "--verbose", action="count", default=0, help="more logging")
    ap.add_argument("-q", "--quiet", action="store_true", help="warnings and errors only")
    ap.add_argument("--version", action="version", version=f"storyd {__version__}")
    return ap


def _port(raw: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        value = -1
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"'{raw}' is not a port number (0-65535)")
    return value


def main(argv: list[str] | None = None) -> int:
    with heap.starting():   # no GC passes over the start's heap until heap.settle()
        return _main(argv)


def _main(argv: list[str] | None) -> int:
    args = build_parser().parse_args(argv)
    logs.setup(-1 if args.quiet else args.verbose)
    # imported here, not above: `storyd --help` / `--version` need none of them
    from storyd.config import effective
    from storyd.config import loader as config_mod
    from storyd.system import unit

    if args.install_user_unit:
        try:
            lines = unit.install(args.config)
        except unit.UnitError as exc:
            print(f"storyd: {exc}", file=sys.stderr)
            return 1
        print("\n".join(lines))
        return 0
    path = args.config or paths.config_path()
    if args.config is not None and not path.exists() and not args.print_config:
        print(f"storyd: config file {path} does not exist", file=sys.stderr)
        return 2
    try:
        cfg = config_mod.load(path)
    except ConfigError as exc:
        print(f"storyd: {exc}", file=sys.stderr)
        return 2
    overrides = effective.for_run(cfg, demo=args.demo, port=args.port, host=args.host)
    cfg = effective.apply(cfg, overrides)
    if args.check_config:
        where = str(path) if path.exists() else f"{path} (absent: defaults)"
        print(f"storyd: config ok: {where}")
        return 0
    if args.print_config:
        sys.stdout.write(config_mod.dump_toml(cfg, mask=True))
        return 0
    import trio

    from storyd.app import run_daemon

    effective.ACTIVE[:] = overrides
    try:
        trio.run(lambda: run_daemon(cfg, path, demo=args.demo, handle_signals=True))
    except KeyboardInterrupt:
        return 0
    except (StorydError, BaseExceptionGroup) as exc:
        errors = _storyd_errors(exc)
        if not errors:
            raise
        for error in errors:
            log.error("%s", error)
        return 1
    finally:
        effective.ACTIVE.clear()
    return 0


def _storyd_errors(exc: BaseException) -> list[StorydError]:
    """The StorydErrors in an exception (group), or [] when anything else is inside."""
    if isinstance(exc, StorydError):
        return [exc]
    if isinstance(exc, BaseExceptionGroup):
        found = [_storyd_errors(e) for e in exc.exceptions]
        return [] if any(not f for f in found) else [e for f in found for e in f]
    return []


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
