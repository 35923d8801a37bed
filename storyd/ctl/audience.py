"""storyctl's audience commands: `cameo list` and `cameo remove NAME` (parser and requests)."""

from __future__ import annotations

import argparse
from typing import Any

from storyd.control import protocol


def add_parsers(sub: Any, make: Any) -> None:
    """`cameo list|remove` under storyctl's subcommands."""
    s = sub.add_parser("cameo", help="viewers written into the story: list, or remove one")
    csub = s.add_subparsers(dest="cameo_command", required=True, metavar="list|remove",
                            parser_class=make)
    csub.add_parser("list", help="the cameos of the story on air (joined, left, removed)")
    c = csub.add_parser("remove", help="take a viewer out of every later chapter")
    c.add_argument("name", metavar="NAME", help="the cameo's name (or viewer id)")


def to_request(args: argparse.Namespace) -> protocol.Request | None:
    """The request of a `cameo` command line, None for every other command."""
    if args.command != "cameo":
        return None
    if args.cameo_command == "remove":
        return protocol.CameoRemove(name=args.name)
    return protocol.Cameos()
