"""What every verb of the command line shares: options, input loading, errors and output."""

from __future__ import annotations

import functools
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.live import Live
from rich.text import Text

from ..domain import NodePool, Policy, Workload
from ..errors import ArgumentError, InputError, SchedulerError
from ..formats.loading import load_nodes, load_policy, load_workload
from ..problem import Problem

F = TypeVar("F", bound=Callable[..., Any])

# command-line errors keep Click's own reporting (exit 2); typer vendors Click from 0.20 on
_USAGE_ERRORS: tuple[type[BaseException], ...] = tuple(
    {typer.BadParameter.__mro__[k] for k in range(len(typer.BadParameter.__mro__))
     if typer.BadParameter.__mro__[k].__name__ == "ClickException"})

EXIT_INPUT = 1
EXIT_VIOLATIONS = 3
EXIT_INFEASIBLE = 4

stdout = Console(highlight=False, soft_wrap=False, width=None if sys.stdout.isatty() else 200)
stderr = Console(stderr=True, highlight=False, soft_wrap=True)


class Format(str, Enum):
    table = "table"
    json = "json"


WorkloadOpt = Annotated[Path, typer.Option("--workload", help="Workload file (YAML/JSON, or a WfCommons .json trace).",
                                           exists=True, dir_okay=False, readable=True)]
NodesOpt = Annotated[Path, typer.Option("--nodes", help="Node pool file (YAML/JSON).", exists=True, dir_okay=False,
                                        readable=True)]
PolicyOpt = Annotated[Path | None, typer.Option("--policy", help="Policy file; default: one level 'public', no rules.",
                                                exists=True, dir_okay=False, readable=True)]
FormatOpt = Annotated[Format, typer.Option("--format", help="table for people, json for scripts.")]
TimeLimitOpt = Annotated[float, typer.Option("--time-limit", min=0.05, help="Seconds the solver may use.")]
SeedOpt = Annotated[int, typer.Option("--seed", help="Random seed of the solver (fixed: repeatable runs).")]


FLAGS = {  # the library's argument names -> the flags that give them
    "failed_nodes": "--failed-node", "done": "--done", "now_s": "--now", "drop_nodes": "--drop-node",
    "drop_networks": "--drop-network", "drop_operators": "--drop-operator", "reputation": "--reputation",
    "price_scale": "--price-scale", "set_level": "--set-level", "bandwidth_scale_regions": "--scenarios",
    "outages": "--outage", "sweep": "--sweep", "task": "--task",
}


def handle_errors(fn: F) -> F:
    """Turn library errors into one line on standard error and the contract's exit codes."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except (typer.Exit, typer.Abort, SystemExit, *_USAGE_ERRORS):
            raise
        except InputError as e:
            fail(e.line())
        except ArgumentError as e:
            # a name on the command line that the files lack: a command-line error, naming the flag
            raise typer.BadParameter(e.message, param_hint=f"'{FLAGS.get(e.argument, e.argument)}'") from None
        except SchedulerError as e:
            fail(str(e))
        except ValueError as e:
            stderr.print(f"error: {e}", markup=False)
            raise typer.Exit(2) from None
        except RecursionError:
            fail("input nested too deep")
        except MemoryError:
            fail("out of memory reading the input")
        except Exception as e:  # noqa: BLE001 - never a traceback at the user
            fail(f"internal error ({type(e).__name__}: {e}); please report it with the input files")

    return wrapper  # type: ignore[return-value]


def fail(line: str, code: int = EXIT_INPUT) -> None:
    stderr.print(f"error: {' '.join(line.split())}", markup=False)
    raise typer.Exit(code)


def note(line: str) -> None:
    stderr.print(f"note: {line}", markup=False, style="dim")


def load_inputs(workload: Path, nodes: Path, policy: Path | None) -> tuple[Workload, NodePool, Policy | None]:
    wl = load_workload(workload)
    pool = load_nodes(nodes)
    pol = load_policy(policy) if policy is not None else None
    for line in [*wl.notes, *pool.notes, *(pol.notes if pol is not None else [])]:
        note(line)
    return wl, pool, pol


def load_problem(workload: Path, nodes: Path, policy: Path | None) -> Problem:
    wl, pool, pol = load_inputs(workload, nodes, policy)
    return Problem(wl, pool, pol)


def emit_json(doc: Any, output: Path | None = None) -> None:
    text = json.dumps(doc, indent=2, allow_nan=False) + "\n"
    if output is not None:
        write_atomic(output, text)
    else:
        sys.stdout.write(text)
        sys.stdout.flush()


def write_atomic(path: Path, text: str) -> None:
    """Write the whole file or nothing (no partial output)."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=str(path.parent.resolve()))
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


class SolveProgress:
    """A live line on standard error while the solver runs longer than a second."""

    def __init__(self, what: str, unit: str = "s") -> None:
        self.what, self.unit = what, unit
        self.t0 = time.monotonic()
        self.best: float | None = None
        self.bound: float | None = None
        self.live: Live | None = None

    def __rich__(self) -> Text:
        elapsed = time.monotonic() - self.t0
        if elapsed < 1.0:
            return Text("")
        parts = [f"{self.what}: {elapsed:5.1f} s"]
        if self.best is not None:
            parts.append(f"best {self.best:,.2f} {self.unit}")
        if self.bound is not None:
            parts.append(f"bound {self.bound:,.2f} {self.unit}")
        return Text("  ".join(parts), style="cyan")

    def __call__(self, event: Any) -> None:
        if event.phase == "objective":
            self.best, self.bound = event.objective, event.bound
        elif event.phase == "lns":  # windows of a large model: a better plan, no bound of the solver's
            self.best = event.objective

    def __enter__(self) -> SolveProgress:
        if stderr.is_terminal:
            self.live = Live(self, console=stderr, refresh_per_second=4, transient=True)
            self.live.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.live is not None:
            self.live.__exit__(*exc)
