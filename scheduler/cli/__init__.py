"""The `scheduler` command line: a thin face over the library (contract: Command line).

- `app`: the verbs assembled; `verbs/`: one module per verb;
- `options`: the flags the verbs share; `common`: errors and exit codes, inputs, consoles,
  files written safely, progress, Ctrl-C; `render`: tables for a terminal.
"""

from __future__ import annotations

import os
import sys

from .app import app


def main() -> None:
    """Entry point of the `scheduler` command."""
    try:
        app(prog_name="scheduler")
    except KeyboardInterrupt:
        _say("interrupted")
        sys.exit(130)
    except BrokenPipeError:  # the reader of standard output went away
        _silence_stdout()
        sys.exit(141)


def _say(line: str) -> None:
    try:
        sys.stderr.write(line + "\n")
    except (OSError, ValueError):
        pass


def _silence_stdout() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


__all__ = ["app", "main"]
