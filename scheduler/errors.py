"""The exception tree: every error a user can act on derives from `SchedulerError`.

- `InputError`: a file's content is wrong (exit code 1). Carries the file and the
  path to the field, so the message reads ``workload.yaml: tasks[2].gpus: ...``.
- `PolicyError`: a policy is self-contradictory (an `InputError` about the policy).
- `ArgumentError`: an argument names something the inputs lack (a node to drop, a task
  marked done), or is out of range: a mistake on the command line (exit code 2), which
  names the argument.
- `Infeasible`: no plan can satisfy the rules (exit code 4); carries the reasons.
"""

from __future__ import annotations

from dataclasses import dataclass, field


class SchedulerError(Exception):
    """Base of every error the library raises on purpose."""


class InputError(SchedulerError):
    """A file's content is wrong.

    Attributes:
        file: the file (as the user named it), or "" when the input came from code.
        field: the path to the offending field, e.g. ``tasks[2].depends_on[0].task``.
        message: what is wrong, one line.
    """

    def __init__(self, message: str, *, file: str = "", field: str = "") -> None:
        self.file = str(file)
        self.field = field
        self.message = " ".join(str(message).split())
        super().__init__(self.line())

    def line(self) -> str:
        parts = [p for p in (self.file, self.field) if p]
        return ": ".join([*parts, self.message])


class ArgumentError(SchedulerError, ValueError):
    """An argument (not a file) is wrong: it names an unknown node, task or level, or is out of range.

    Attributes:
        argument: the argument's name in the library (``failed_nodes``, ``drop_nodes``...).
        message: what is wrong, one line.
    """

    def __init__(self, message: str, *, argument: str = "") -> None:
        self.argument = argument
        self.message = " ".join(str(message).split())
        super().__init__(self.message)


class PolicyError(InputError):
    """A policy file is valid YAML with the right types but contradicts itself."""


@dataclass
class InfeasibleReason:
    """Why no plan exists: the rule, the tasks it concerns, and a sentence."""

    rule: str
    tasks: list[str]
    message: str
    counts: dict[str, int] = field(default_factory=dict)


class Infeasible(SchedulerError):
    """No plan can satisfy every rule; `reasons` says which rules and tasks."""

    def __init__(self, reasons: list[InfeasibleReason]) -> None:
        self.reasons = reasons
        super().__init__("; ".join(r.message for r in reasons) or "no plan satisfies every rule")
