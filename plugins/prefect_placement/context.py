"""Per-run options and the running replica's placement, through context variables (as prefect-ray's
`remote_options`).

- `placement_options(...)`: a ``with`` block whose options apply to the replicas submitted inside it,
  whichever backend runs them: extra ``tags``, ``job_variables`` and ``timeout_s`` for a
  `DeploymentBackend`'s flow runs, and ``task``, the workload task a Prefect task run stands for when
  its name is not the task's id (``with placement_options(task=f"tokenize-{k}"): tokenize.submit(k)``).
- `current_placement()`: inside a step, where this replica runs (a `StepContext`: node, network,
  level, window end, completion probability, quorum, reads and writes), or None outside a placed run.
  The backends set it for each replica they submit; a deployment's flow sets it from its
  ``placement`` parameter with `use_placement`.

Examples:
    >>> with placement_options(tags={"gpu"}, job_variables={"image": "x:1"}):
    ...     with placement_options(timeout_s=60):
    ...         opts = current_options()
    >>> sorted(opts.tags), dict(opts.job_variables), opts.timeout_s
    (['gpu'], {'image': 'x:1'}, 60)
    >>> current_options().tags, current_placement() is None
    (frozenset(), True)
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .runner import StepContext


@dataclass(frozen=True)
class PlacementOptions:
    """Options for the replicas submitted in a `placement_options` block (innermost wins, tags add up)."""

    tags: frozenset[str] = frozenset()
    job_variables: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    timeout_s: float | None = None
    task: str | None = None


_OPTIONS: ContextVar[PlacementOptions] = ContextVar("placement_options", default=PlacementOptions())  # noqa: B039 - frozen
_PLACEMENT: ContextVar[StepContext | None] = ContextVar("placement", default=None)


@contextmanager
def placement_options(*, tags: set[str] | frozenset[str] | None = None,
                      job_variables: Mapping[str, Any] | None = None, timeout_s: float | None = None,
                      task: str | None = None) -> Iterator[PlacementOptions]:
    """Options for every replica submitted inside the block (see the module docstring)."""
    outer = _OPTIONS.get()
    inner = replace(outer, tags=outer.tags | frozenset(tags or ()),
                    job_variables=MappingProxyType({**outer.job_variables, **(job_variables or {})}),
                    timeout_s=timeout_s if timeout_s is not None else outer.timeout_s,
                    task=task if task is not None else outer.task)
    token = _OPTIONS.set(inner)
    try:
        yield inner
    finally:
        _OPTIONS.reset(token)


def current_options() -> PlacementOptions:
    return _OPTIONS.get()


def current_placement() -> StepContext | None:
    """Where the running replica was placed (None outside a placed run)."""
    return _PLACEMENT.get()


@contextmanager
def use_placement(placement: StepContext | Mapping[str, Any] | None) -> Iterator[StepContext | None]:
    """Make `placement` the current one inside the block (a deployment's flow does this with the
    ``placement`` parameter it receives, so that its step reads it with `current_placement`)."""
    from .runner import StepContext

    ctx = StepContext.from_dict(placement) if isinstance(placement, Mapping) else placement
    token = _PLACEMENT.set(ctx)
    try:
        yield ctx
    finally:
        _PLACEMENT.reset(token)
