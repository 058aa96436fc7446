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
    Bandwidth,
    CountryCode,
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

    task: Identifier = Field(description="The parent task's id.")
    data_gb: NonNegFloat = Field(0.0, description="GB (10^9 bytes) of the parent's output this task reads.")


class Site(StrictModel):
    """A place that holds data and runs nothing (contract 1.1: Sites): a bucket, the user's storage."""

    id: Identifier = Field(description="Unique among the workload's sites.")
    network: Name = Field("unknown", description="Where the storage is rented.")
    region: Name = Field("", description="Region, for bandwidth overrides and residency.")
    country: CountryCode = Field("", description="ISO 3166-1 alpha-2 country code (residency).")
    bandwidth_gbps: Bandwidth = Field(1.0, description="The site's network link, Gbit/s.")
    level: Identifier | None = Field(None, description="A level of the policy: what is read from here is at least "
                                                       "this sensitive.")


class SiteData(StrictModel):
    """Data a task reads from or writes to a site."""

    site: Identifier = Field(description="The site's id.")
    data_gb: NonNegFloat = Field(0.0, description="GB read before the replica starts, or written after it ends.")


class Task(StrictModel):
    """A step of the workload (contract: Workload)."""

    id: Identifier = Field(description="Unique id of the task.")
    duration_s: Seconds = Field(description="Runtime on the reference GPU (speed 1.0), seconds (> 0).")
    duration_by_gpu: dict[Name, Seconds] = Field(
        default_factory=dict, description="Measured runtimes in seconds by node `gpu` model; they win over duration_s / speed.")
    gpus: GpuCount = Field(1, description="GPUs held on one node while it runs (0: holds none).")
    gpu_memory_gb: NonNegFloat = Field(0.0, description="Memory needed per GPU, GB.")
    sensitivity: Name | None = Field(None, description="A level of the policy (default: the policy's default_level).")
    declassifies: bool = Field(False, description="An anonymiser: its outputs may be released at the level's declassify_to.")
    replicas: ReplicaCount = Field(1, description="Copies to run on distinct nodes.")
    depends_on: list[Annotated[Dependency, BeforeValidator(_dependency)]] = Field(
        default_factory=list, description="Parents: an id (no data) or {task, data_gb}.")
    reads: list[SiteData] = Field(default_factory=list, description="Data fetched from sites before a replica "
                                                                     "starts (from time 0, in parallel).")
    writes: list[SiteData] = Field(default_factory=list, description="Data stored to sites after the task ends; "
                                                                      "the makespan includes its delivery.")
    nodes: ReplicaCount = Field(1, description="A gang: each replica spans this many distinct nodes at once.")
    sync_gb: NonNegFloat = Field(0.0, description="A gang's exchange: GB each node exchanges with the others over "
                                                   "the run, over the slowest link among them.")
    labels: Labels = Field(default_factory=dict, description="Any string map (e.g. image and command for exports).")

    @field_validator("depends_on", "duration_by_gpu", "reads", "writes", mode="before")
    @classmethod
    def _none_is_empty(cls, value: Any, info: Any) -> Any:
        if value is None:
            return {} if info.field_name == "duration_by_gpu" else []
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

    name: Name = Field("", description="Name of the workload.")
    sites: list[Site] = Field(default_factory=list, description="Places that hold data (buckets), for reads and "
                                                                  "writes.")
    tasks: Annotated[list[Task], Field(min_length=1)] = Field(description="The steps; `depends_on` makes the DAG.")
    labels: Labels = Field(default_factory=dict, description="Any string map.")

    @model_validator(mode="after")
    def _dag(self) -> Workload:
        check_unique([s.id for s in self.sites], "site", ("sites",), where="sites")
        site_ids = {s.id for s in self.sites}
        for i, t in enumerate(self.tasks):
            for kind in ("reads", "writes"):
                for j, d in enumerate(getattr(t, kind)):
                    if d.site not in site_ids:
                        raise located(f"unknown site {d.site!r}{suggest(d.site, site_ids)}", "tasks", i, kind, j,
                                      "site")
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
    def site_by_id(self) -> dict[str, Site]:
        return {s.id: s for s in self.sites}

    @cached_property
    def topological_order(self) -> list[str]:
        """Task ids, parents before children; ties in file order (stable)."""
        position = {t.id: i for i, t in enumerate(self.tasks)}
        return list(nx.lexicographical_topological_sort(self.graph, key=position.__getitem__))


