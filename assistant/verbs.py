"""The registry of extra CLI verbs (``chat``, ``eval``, ``bench``): a stage registers a verb here
with :func:`command`, and :mod:`assistant.cli` adds every registered verb to its parser.

It imports nothing of the package, so any layer above it may register a verb without importing
the CLI (imports only run downwards)::

    from assistant.verbs import command

    def run(args) -> int: ...
    command("hello", "say hello")(run)
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

# name -> (help, add_arguments(parser), run(args) -> exit code)
Registry = dict[str, tuple[str, Callable[[argparse.ArgumentParser], None], Callable[[argparse.Namespace], int]]]
COMMANDS: Registry = {}


def registrar(table: Registry):
    """A decorator factory that records ``run(args)`` under a name in ``table``; the function's
    ``arguments`` attribute, if any, adds its flags."""

    def register(name: str, help: str):
        def wrap(run):
            table[name] = (help, getattr(run, "arguments", lambda p: None), run)
            return run

        return wrap

    return register


#: Decorator: register ``run(args)`` as a verb of the ``assistant`` command.
command = registrar(COMMANDS)
