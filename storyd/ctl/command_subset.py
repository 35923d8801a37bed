"""A parser for the one command a storyctl run names.

argparse builds a parser per command, and each costs gettext look-ups (a few file system
checks per translatable string, every time): storyctl's 40 commands took ~10 ms at every
start, more than the round trip to storyd. `storyd.ctl.main.parse_words` therefore first
builds a parser that knows only the command named, registering the commands through
`OneCommand`: the wanted one gets its real parser, every other one a stand-in that ignores
whatever is added to it. Help and errors still come from the full parser.
"""

from __future__ import annotations

from typing import Any


class OneCommand:
    """Stands in for the `add_subparsers()` action while the parser is built: `add_parser`
    builds the parser of `wanted` only."""

    def __init__(self, subparsers: Any, wanted: str) -> None:
        self._subparsers, self._wanted = subparsers, wanted

    def add_parser(self, name: str, **kwargs: Any) -> Any:
        if name == self._wanted:
            return self._subparsers.add_parser(name, **kwargs)
        return NOT_BUILT


class _NotBuilt:
    """A command's parser that is not built: every method call is ignored (returning the
    stand-in itself, so `add_subparsers(...).add_parser(...).add_argument(...)` works)."""

    def __getattr__(self, name: str) -> Any:
        return lambda *args, **kwargs: self


NOT_BUILT = _NotBuilt()
