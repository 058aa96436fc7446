"""What every verb of the command line shares: errors and exit codes, the inputs, the consoles,
files written safely, the progress line, and Ctrl-C."""

from __future__ import annotations

import functools
import json
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import typer
from rich.console import Console
from rich.live import Live
from rich.text import Text

from ..domain import NodePool, Policy, Workload
from ..domain.units import format_duration
from ..errors import ArgumentError, InputError, SchedulerError
from ..formats.loading import load_nodes, load_policy, load_workload
from ..formats.writing import write_atomic
from ..problem import Problem

F = TypeVar("F", bound=Callable[..., Any])

# command-line errors keep Click's own reporting (exit 2); typer vendors Click from 0.20 on
_USAGE_ERRORS: tuple[type[BaseException], ...] = tuple(
    {c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException"})

STARTED_AT = time.monotonic()  # when the command began: --time-limit counts from here, loading included
EXIT_INPUT = 1
EXIT_USAGE = 2
EXIT_VIOLATIONS = 3
EXIT_INFEASIBLE = 4
EXIT_INTERRUPTED = 130

FLAGS = {  # the library's argument names -> the flags that give them
    "failed_nodes": "--failed-node", "done": "--done", "now_s": "--now", "drop_nodes": "--drop-node",
    "drop_networks": "--drop-network", "drop_operators": "--drop-operator", "reputation": "--reputation",
    "price_scale": "--price-scale", "set_level": "--set-level", "bandwidth_scale": "--bandwidth-scale",
    "bandwidth_scale_regions": "--scenarios", "outages": "--outage", "sweep": "--sweep", "task": "--task",
}


def handle_errors(fn: F) -> F:
    """Library errors as one line on standard error and the contract's exit codes; never a traceback."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except (typer.Exit, typer.Abort, SystemExit, KeyboardInterrupt, *_USAGE_ERRORS):
            raise
        except InputError as e:
            fail(e.line())
        except ArgumentError as e:
            # a name on the command line that the files lack: a command-line error, naming the flag
            raise typer.BadParameter(e.message, param_hint=f"'{FLAGS.get(e.argument, e.argument)}'") from None
        except SchedulerError as e:
            fail(str(e))
        except BrokenPipeError:
            _quiet_exit(141)  # the reader went away (`| head`): stop quietly, as Unix tools do
        except ValueError as e:
            fail(f"{e}", EXIT_USAGE)
        except RecursionError:
            fail("input nested too deep")
        except MemoryError:
            fail("out of memory reading the input")
        except OSError as e:
            fail(f"{e.strerror or e}{': ' + str(e.filename) if getattr(e, 'filename', None) else ''}")
        except Exception as e:  # noqa: BLE001 - never a traceback at the user
            fail(f"internal error ({type(e).__name__}: {e}); please report it with the input files")

    return wrapper  # type: ignore[return-value]


def fail(line: str, code: int = EXIT_INPUT) -> None:
    try:
        sys.stderr.write(f"error: {' '.join(line.split())}\n")
        sys.stderr.flush()
    except (OSError, ValueError):
        pass
    raise typer.Exit(code)


def _quiet_exit(code: int) -> None:
    try:  # further writes at exit must not fail again
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
    raise typer.Exit(code)


# --- consoles ---------------------------------------------------------------------


def make_console(wide: bool = False, *, err: bool = False) -> Console:
    """A console for tables: a terminal's own width; else `COLUMNS` when set, else 200 columns;
    with `wide`, as wide as the content needs (nothing shortened)."""
    stream = sys.stderr if err else sys.stdout
    width: int | None = None
    if wide:
        width = 100_000
    elif "COLUMNS" in os.environ and os.environ["COLUMNS"].isdigit():
        width = int(os.environ["COLUMNS"])
    elif not stream.isatty():
        width = 200
    return Console(file=stream, highlight=False, soft_wrap=False, width=width)


def note(line: str) -> None:
    """A note for the user on standard error (never on standard output, which may hold JSON)."""
    sys.stderr.write(f"note: {' '.join(line.split())}\n")


def time_left(limit_s: float, problem: Problem | None = None) -> float:
    """What is left of `limit_s` for planning: the time since the command began (reading the files)
    is spent already, and writing the plan out is set aside (about 20 us per replica)."""
    reserve = 0.05 + (2e-5 * sum(problem.required) if problem is not None else 0.0)
    return max(0.05, limit_s - (time.monotonic() - STARTED_AT) - reserve)


# --- inputs -------------------------------------------------------------------------


@dataclass
class Inputs:
    """The three files of a verb, loaded, with the paths given (to refuse overwriting one)."""

    workload: Workload
    pool: NodePool
    policy: Policy | None
    paths: list[Path] = field(default_factory=list)

    def problem(self) -> Problem:
        """The compiled problem; its notes (the files' and the inputs' together) go to standard error."""
        problem = Problem(self.workload, self.pool, self.policy)
        for line in problem.notes:
            note(line)
        return problem

    def print_file_notes(self) -> None:
        """The files' own notes, for verbs that build no problem."""
        for line in [*self.workload.notes, *self.pool.notes, *(self.policy.notes if self.policy else [])]:
            note(line)


def load_inputs(workload: Path, nodes: Path, policy: Path | None) -> Inputs:
    wl = load_workload(workload)
    pool = load_nodes(nodes)
    pol = load_policy(policy) if policy is not None else None
    return Inputs(wl, pool, pol, [p for p in (workload, nodes, policy) if p is not None])


# --- files written safely ---------------------------------------------------------


def check_output(path: Path | None, flag: str, inputs: list[Path]) -> None:
    """Refuse before any work a file that cannot or must not be written: an input, a device or
    directory, a missing or read-only directory, an over-long name."""
    if path is None:
        return
    name_max = os.pathconf(Path(path).parent if Path(path).parent.is_dir() else ".", "PC_NAME_MAX") \
        if hasattr(os, "pathconf") else 255
    if len(Path(path).name.encode()) > name_max - 16:  # the temporary file's name adds a few characters
        raise typer.BadParameter(f"the file name is longer than this file system allows ({name_max})",
                                 param_hint=f"'{flag}'")
    target = Path(os.path.realpath(path))
    for p in inputs:
        if os.path.realpath(p) == str(target):
            raise typer.BadParameter(f"{path} is also an input ({p}); refusing to overwrite it", param_hint=f"'{flag}'")
    if target.exists() and not target.is_file():
        raise typer.BadParameter(f"{path} exists and is not a regular file", param_hint=f"'{flag}'")
    parent = target.parent
    if not parent.is_dir():
        raise typer.BadParameter(f"directory {parent} does not exist", param_hint=f"'{flag}'")
    if not os.access(parent, os.W_OK | os.X_OK) or (target.exists() and not os.access(target, os.W_OK)):
        raise typer.BadParameter(f"{path} cannot be written (permission denied)", param_hint=f"'{flag}'")


def emit_json(doc: Any, output: Path | None = None) -> None:
    """The JSON document on standard output alone (and in `output`, when given)."""
    text = json.dumps(doc, indent=2, allow_nan=False) + "\n"
    if output is not None:
        write_atomic(output, text)
    sys.stdout.write(text)
    sys.stdout.flush()


# --- progress ------------------------------------------------------------------------


class SolveProgress:
    """While a solve runs: a live line on a terminal, and a line every `every_s` seconds on standard
    error when it is not a terminal (a log, CI), so a long run always says it is working."""

    def __init__(self, what: str, time_limit_s: float | None = None, unit: str = "s", every_s: float = 5.0) -> None:
        self.what, self.limit, self.unit, self.every_s = what, time_limit_s, unit, every_s
        self.t0 = time.monotonic()
        self.best: float | None = None
        self.bound: float | None = None
        self._live: Live | None = None
        self._stop = threading.Event()
        self._ticker: threading.Thread | None = None

    def line(self) -> str:
        elapsed = time.monotonic() - self.t0
        parts = [f"{self.what}: {format_duration(elapsed)}" + (f" of {format_duration(self.limit)}" if self.limit else "")]
        show = format_duration if self.unit == "s" else (lambda x: f"${x:,.2f}")
        if self.best is not None:
            parts.append(f"best {show(self.best)}")
        if self.bound is not None:
            parts.append(f"bound {show(self.bound)}")
        return "  ".join(parts)

    def __rich__(self) -> Text:
        return Text("" if time.monotonic() - self.t0 < 1.0 else self.line(), style="cyan")

    def __call__(self, event: Any) -> None:
        if event.phase == "objective":
            self.best, self.bound = event.objective, event.bound
        elif event.phase == "lns":  # windows of a large model: a better plan, no bound of the solver's
            self.best = event.objective

    def _tick(self) -> None:
        while not self._stop.wait(self.every_s):
            try:
                sys.stderr.write(self.line() + "\n")
                sys.stderr.flush()
            except (OSError, ValueError):
                return

    def __enter__(self) -> SolveProgress:
        if sys.stderr.isatty():
            self._live = Live(self, console=Console(stderr=True), refresh_per_second=4, transient=True)
            self._live.__enter__()
        else:
            self._ticker = threading.Thread(target=self._tick, name="progress", daemon=True)
            self._ticker.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        if self._live is not None:
            self._live.__exit__(*exc)
        if self._ticker is not None:
            self._ticker.join(timeout=1)


# --- Ctrl-C -----------------------------------------------------------------------------


@contextmanager
def interruptible() -> Iterator[threading.Event]:
    """The first Ctrl-C (or SIGTERM) sets the event: the planner stops searching at once and returns
    the best valid plan so far; a second one interrupts outright. The caller exits 130."""
    cancel = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield cancel
        return

    def first(signum: int, frame: Any) -> None:
        cancel.set()
        sys.stderr.write("\ninterrupted: stopping (press Ctrl-C again to quit at once)\n")
        signal.signal(signal.SIGINT, signal.default_int_handler)

    previous = {s: signal.signal(s, first) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield cancel
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
