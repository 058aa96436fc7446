"""The `scheduler` command line: a thin face over the library (contract: Command line)."""

from __future__ import annotations

import sys

from .app import app


def main() -> None:
    """Entry point of the `scheduler` command."""
    try:
        app(prog_name="scheduler")
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        sys.exit(130)


__all__ = ["app", "main"]
