"""The workload (contract: Workload): a DAG of tasks, checked for unknown parents and cycles."""

from __future__ import annotations

from functools import cached_property
from typing import Annotated, Any

import networkx as nx
from pydantic import BeforeValidator, Field, field_validator, model_validator

from .fields import (
    FileModel,
    GpuCount,
    Identifier,
    Labels,
    Name,
    NonNegFloat,
    ReplicaCount,
    Seconds,
    StrictModel,
    check_unique,
    located,
    suggest,
)


def _dependency(value: Any) -> Any:
    """A plain id in `depends_on` means a dependency with no data."""
    if isinstance(value, str):
        return {"task": value}
    return value


class Dependency(StrictModel):
    """An edge of the DAG: the child needs `data_gb` of the parent's output."""

    task: Identifier
    data_gb: NonNegFloat = 0.0


class Task(StrictModel):
    """A step of the workload (contract: Workload)."""

    id: Identifier
    duration_s: Seconds
    duration_by_gpu: dict[Name, Seconds] = Field(default_factory=dict)
    gpus: GpuCount = 1
    gpu_memory_gb: NonNegFloat = 0.0
    sensitivity: Name | None = None
    declassifies: bool = False
    replicas: ReplicaCount = 1
    depends_on: list[Annotated[Dependency, BeforeValidator(_dependency)]] = Field(default_factory=list)
    labels: Labels = Field(default_factory=dict)

    @field_validator("depends_on", "duration_by_gpu", mode="before")
    @classmethod
    def _none_is_empty(cls, value: Any, info: Any) -> Any:
        if value is None:
            return [] if info.field_name == "depends_on" else {}
        return value

    @field_validator("depends_on")
    @classmethod
    def _no_repeated_parent(cls, deps: list[Dependency]) -> list[Dependency]:
        seen: dict[str, int] = {}
        for j, d in enumerate(deps):
            if d.task in seen:
                raise located(f"depends on {d.task!r} twice (also at depends_on[{seen[d.task]}])", j)
            seen[d.task] = j
        return deps


class Workload(FileModel):
    """A DAG of tasks. The graph is checked for unknown parents and cycles."""

    name: Name = ""
    tasks: Annotated[list[Task], Field(min_length=1)]
    labels: Labels = Field(default_factory=dict)

    @model_validator(mode="after")
    def _dag(self) -> Workload:
        ids = [t.id for t in self.tasks]
        check_unique(ids, "task", ("tasks",), where="tasks")
        known = set(ids)
        for i, t in enumerate(self.tasks):
            for j, d in enumerate(t.depends_on):
                if d.task not in known:
                    raise located(
                        f"unknown task {d.task!r}{suggest(d.task, known)}", "tasks", i, "depends_on", j, "task"
                    )
        graph = self.graph
        if not nx.is_directed_acyclic_graph(graph):
            cycle = [u for u, _ in nx.find_cycle(graph)]
            shown = cycle if len(cycle) <= 8 else [*cycle[:6], f"... ({len(cycle) - 6} more)"]
            raise located(
                "the workload is not a DAG: cycle " + " -> ".join([*map(str, shown), str(cycle[0])]), "tasks"
            )
        return self

    @cached_property
    def graph(self) -> nx.DiGraph:
        """Edges parent -> child, with attribute ``data_gb``."""
        g = nx.DiGraph()
        g.add_nodes_from(t.id for t in self.tasks)
        g.add_edges_from((d.task, t.id, {"data_gb": d.data_gb}) for t in self.tasks for d in t.depends_on)
        return g

    @cached_property
    def by_id(self) -> dict[str, Task]:
        return {t.id: t for t in self.tasks}

    @cached_property
    def topological_order(self) -> list[str]:
        """Task ids, parents before children; ties in file order (stable)."""
        position = {t.id: i for i, t in enumerate(self.tasks)}
        return list(nx.lexicographical_topological_sort(self.graph, key=position.__getitem__))


