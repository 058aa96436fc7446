"""The typed domain model: node pools, workloads, policies and plans (contract v1).

Every input model is strict: unknown fields are rejected (except under
``labels``), numbers must be numbers (never strings), ranges are checked, and
cross-references inside one file (duplicate ids, unknown dependencies, cycles,
unknown levels in a policy) are caught here. References *between* files (a
task's level in the policy, a plan's nodes in the pool) are checked by
`scheduler.problem.Problem` and `scheduler.verify`.

This module imports neither ortools nor prefect.
"""

from __future__ import annotations

from enum import Enum
from functools import cached_property
from typing import Annotated, Any, Literal

import networkx as nx
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

# --- field types -----------------------------------------------------------------

MAX_SECONDS = 1e9  # about 31 years: longer runtimes are typos, and they would overflow the solver's clock
MAX_QUANTITY = 1e9


def _integral(value: Any) -> Any:
    """Accept 8.0 where a whole number is expected (JSON writers emit it); reject 8.5."""
    if isinstance(value, float) and not isinstance(value, bool) and value.is_integer():
        return int(value)
    return value


def _identifier(value: Any) -> Any:
    if isinstance(value, str):
        if value != value.strip():
            raise PydanticCustomError("id_whitespace", "must not start or end with white space")
        if any(ord(c) < 32 or ord(c) == 127 for c in value):
            raise PydanticCustomError("id_control", "must not hold control characters")
    return value


def _labels(value: Any) -> Any:
    """Labels take any map of scalars; numbers and booleans are kept as their text."""
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if isinstance(v, bool):
                v = "true" if v else "false"
            elif isinstance(v, int | float):
                v = str(v)
            out[str(k) if isinstance(k, int | float | bool) else k] = v
        return out
    return value


Identifier = Annotated[str, BeforeValidator(_identifier), Field(min_length=1, max_length=256)]
Name = Annotated[str, Field(max_length=256)]
Seconds = Annotated[float, Field(gt=0, le=MAX_SECONDS)]
NonNegFloat = Annotated[float, Field(ge=0, le=MAX_QUANTITY)]
PositiveFloat = Annotated[float, Field(gt=0, le=MAX_QUANTITY)]
Speed = Annotated[float, Field(ge=1e-6, le=1e6)]
Bandwidth = Annotated[float, Field(ge=1e-6, le=1e6)]
Probability = Annotated[float, Field(ge=0, le=1)]
GpuCount = Annotated[int, BeforeValidator(_integral), Field(ge=0, le=1_000_000)]
ReplicaCount = Annotated[int, BeforeValidator(_integral), Field(ge=1, le=1000)]
CountryCode = Annotated[str, Field(pattern=r"^([A-Z]{2})?$")]
Labels = Annotated[dict[str, str], BeforeValidator(_labels)]

TeeKind = Literal["sgx", "tdx", "sev-snp", "nvidia-cc"]
TEE_KINDS: tuple[str, ...] = ("sgx", "tdx", "sev-snp", "nvidia-cc")
SpreadKey = Literal["node", "operator", "network", "region", "country"]


class StrictModel(BaseModel):
    """Base of the input models: strict types, no unknown fields, finite numbers."""

    model_config = ConfigDict(
        strict=True,
        extra="forbid",
        allow_inf_nan=False,
        frozen=False,
        validate_default=False,
        populate_by_name=False,
    )


# --- node pool -------------------------------------------------------------------


class Node(StrictModel):
    """A rented machine with `gpus` GPU slots (contract: Node pool)."""

    id: Identifier
    network: Name = "unknown"
    operator: Name | None = None
    region: Name = ""
    country: CountryCode = ""
    gpu: Name = ""
    gpus: GpuCount = 0
    gpu_memory_gb: NonNegFloat = 0.0
    speed: Speed = 1.0
    price_per_gpu_hour: NonNegFloat = 0.0
    tee: list[TeeKind] = Field(default_factory=list)
    attested: bool = False
    reputation: Probability = 0.5
    bandwidth_gbps: Bandwidth = 1.0
    labels: Labels = Field(default_factory=dict)

    @model_validator(mode="after")
    def _default_operator(self) -> Node:
        if self.operator is None:
            self.operator = self.id
        return self

    @property
    def operator_id(self) -> str:
        return self.operator if self.operator is not None else self.id


class Link(StrictModel):
    """An override of the bandwidth between two nodes, or between two regions."""

    nodes: Annotated[list[Identifier], Field(min_length=2, max_length=2)] | None = None
    regions: Annotated[list[Name], Field(min_length=2, max_length=2)] | None = None
    bandwidth_gbps: Bandwidth

    @model_validator(mode="after")
    def _one_kind(self) -> Link:
        if (self.nodes is None) == (self.regions is None):
            raise PydanticCustomError("link_kind", "a link names either two `nodes` or two `regions`")
        return self


class NodePool(StrictModel):
    """The nodes a plan may use, and optional bandwidth overrides between them."""

    nodes: Annotated[list[Node], Field(min_length=1)]
    links: list[Link] = Field(default_factory=list)
    labels: Labels = Field(default_factory=dict)
    _source: str = PrivateAttr(default="")

    @field_validator("nodes")
    @classmethod
    def _unique_ids(cls, nodes: list[Node]) -> list[Node]:
        _check_unique([n.id for n in nodes], "node")
        return nodes

    @field_validator("links", mode="before")
    @classmethod
    def _links_none(cls, value: Any) -> Any:
        return [] if value is None else value

    @model_validator(mode="after")
    def _links_known(self) -> NodePool:
        ids = {n.id for n in self.nodes}
        seen: dict[tuple[str, frozenset[str]], int] = {}
        for i, link in enumerate(self.links):
            if link.nodes is not None:
                for j, nid in enumerate(link.nodes):
                    if nid not in ids:
                        raise _located(
                            f"unknown node {nid!r}{_suggest(nid, ids)}", "links", i, "nodes", j
                        )
                key = ("nodes", frozenset(link.nodes))
            else:
                key = ("regions", frozenset(link.regions or ()))
            if key in seen:
                raise _located(f"a second link for the same pair (first at links[{seen[key]}])", "links", i)
            seen[key] = i
        return self

    @cached_property
    def by_id(self) -> dict[str, Node]:
        return {n.id: n for n in self.nodes}

    @property
    def source(self) -> str:
        return self._source


# --- workload --------------------------------------------------------------------


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
                raise _located(f"depends on {d.task!r} twice (also at depends_on[{seen[d.task]}])", j)
            seen[d.task] = j
        return deps


class Workload(StrictModel):
    """A DAG of tasks. The graph is checked for unknown parents and cycles."""

    name: Name = ""
    tasks: Annotated[list[Task], Field(min_length=1)]
    labels: Labels = Field(default_factory=dict)
    _source: str = PrivateAttr(default="")

    @model_validator(mode="after")
    def _dag(self) -> Workload:
        ids = [t.id for t in self.tasks]
        _check_unique(ids, "task", ("tasks",), where="tasks")
        known = set(ids)
        for i, t in enumerate(self.tasks):
            for j, d in enumerate(t.depends_on):
                if d.task not in known:
                    raise _located(
                        f"unknown task {d.task!r}{_suggest(d.task, known)}", "tasks", i, "depends_on", j, "task"
                    )
        graph = self.graph
        if not nx.is_directed_acyclic_graph(graph):
            cycle = [u for u, _ in nx.find_cycle(graph)]
            shown = cycle if len(cycle) <= 8 else [*cycle[:6], f"... ({len(cycle) - 6} more)"]
            raise _located(
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

    @property
    def source(self) -> str:
        return self._source


# --- policy ----------------------------------------------------------------------


class Level(StrictModel):
    """A sensitivity level and every rule that applies to tasks at that level."""

    name: Identifier = Field(description="Unique name of the level.")
    description: str = Field("", description="Free text for people.")
    tee: list[TeeKind] | None = Field(
        None, description="The node must have at least one of these TEEs; absent or [] = none needed.")
    attested: bool = Field(False, description="The node's remote attestation must be verified.")
    min_reputation: Probability = Field(0.0, description="Least node reputation (observed completion rate).")
    countries: list[CountryCode] | None = Field(
        None, description="Allowed ISO 3166-1 alpha-2 countries; absent = any. Quote NO: YAML 1.1 reads it as false.")
    regions: list[Name] | None = Field(None, description="Allowed regions; absent = any.")
    networks: list[Name] | None = Field(None, description="Allowed networks (marketplaces); absent = any.")
    min_replicas: ReplicaCount = Field(1, description="Least number of replicas, on distinct nodes.")
    spread: SpreadKey | None = Field(
        None, description="Replicas need distinct values of this node attribute (default: node).")
    min_success: Probability | None = Field(
        None, description="1 - prod over replicas of (1 - reputation) must reach this.")
    declassify_to: Identifier | None = Field(
        None, description="Lowest level a declassifying task may release this data at; absent = never lowered.")
    labels: Labels = Field(default_factory=dict, description="Any string map, for people and tools.")

    @property
    def spread_key(self) -> str:
        return self.spread or "node"

    @property
    def tee_kinds(self) -> list[str]:
        return list(self.tee or [])


class Policy(StrictModel):
    """Ordered sensitivity levels, least sensitive first."""

    default_level: Identifier | None = Field(
        None, description="Level of tasks that declare no sensitivity (default: the first level).")
    description: str = Field("", description="Free text for people.")
    levels: Annotated[list[Level], Field(min_length=1)] = Field(
        description="Levels from least to most sensitive; each states all its rules.")
    labels: Labels = Field(default_factory=dict, description="Any string map, for people and tools.")
    _source: str = PrivateAttr(default="")

    @model_validator(mode="after")
    def _references(self) -> Policy:
        names = [lv.name for lv in self.levels]
        _check_unique(names, "level", ("levels",), key="name", where="levels")
        known = set(names)
        if self.default_level is not None and self.default_level not in known:
            raise _located(
                f"unknown level {self.default_level!r}; the levels are {', '.join(names)}", "default_level"
            )
        for i, lv in enumerate(self.levels):
            if lv.declassify_to is not None and lv.declassify_to not in known:
                raise _located(
                    f"unknown level {lv.declassify_to!r}; the levels are {', '.join(names)}",
                    "levels",
                    i,
                    "declassify_to",
                )
        return self

    @property
    def default(self) -> str:
        return self.default_level if self.default_level is not None else self.levels[0].name

    @cached_property
    def rank(self) -> dict[str, int]:
        """Level name -> position, 0 = least sensitive."""
        return {lv.name: i for i, lv in enumerate(self.levels)}

    def level(self, name: str) -> Level:
        return self.levels[self.rank[name]]

    @property
    def source(self) -> str:
        return self._source


def permissive_policy() -> Policy:
    """The policy used when none is given: one level, ``public``, with no rules."""
    return Policy(default_level="public", levels=[Level(name="public")])


# --- plan ------------------------------------------------------------------------


class PlanStatus(str, Enum):
    """`optimal`: proven best for the objective; `feasible`: valid, not proven best;
    `infeasible`: proven that no plan exists; `unknown`: no plan found within the
    time limit and none proven impossible (an extension of the contract)."""

    OPTIMAL = "optimal"
    FEASIBLE = "feasible"
    INFEASIBLE = "infeasible"
    UNKNOWN = "unknown"


class Objective(str, Enum):
    MAKESPAN = "makespan"
    COST = "cost"


class PlanModel(BaseModel):
    """Base of the plan models: lenient on input (plans come from other tools too)."""

    model_config = ConfigDict(extra="allow", allow_inf_nan=False)


class Assignment(PlanModel):
    """One replica of one task on one node, in time."""

    task: str
    replica: Annotated[int, BeforeValidator(_integral), Field(ge=0)] = 0
    node: str
    start_s: float
    end_s: float


class Unplaceable(PlanModel):
    """A task no plan can place, with how many nodes each rule turned away."""

    task: str
    reasons: dict[str, int] = Field(default_factory=dict)
    rule: str | None = None
    message: str | None = None


class Plan(PlanModel):
    """The plan (contract: Plan). Fields after `unplaceable` are extensions."""

    status: PlanStatus = PlanStatus.FEASIBLE
    objective: Objective = Objective.MAKESPAN
    makespan_s: float | None = None
    cost_usd: float | None = None
    success_probability: float | None = None
    lower_bound_s: float | None = None
    solve_time_s: float | None = None
    assignments: list[Assignment] = Field(default_factory=list)
    unplaceable: list[Unplaceable] | None = None
    # extensions
    gap: float | None = None
    cost_lower_bound_usd: float | None = None
    deadline_s: float | None = None
    success_target: float | None = None
    engine: str | None = None
    heuristic_makespan_s: float | None = None
    heuristic_cost_usd: float | None = None
    messages: list[str] | None = None
    _source: str = PrivateAttr(default="")

    @property
    def source(self) -> str:
        return self._source

    @property
    def has_plan(self) -> bool:
        return self.status in (PlanStatus.OPTIMAL, PlanStatus.FEASIBLE)

    def by_task(self) -> dict[str, list[Assignment]]:
        out: dict[str, list[Assignment]] = {}
        for a in self.assignments:
            out.setdefault(a.task, []).append(a)
        return out

    def to_json_dict(self) -> dict[str, Any]:
        """The JSON document of the contract: extension fields left out when unset."""
        data = self.model_dump(mode="json", exclude_none=True)
        for key in ("makespan_s", "cost_usd", "success_probability", "lower_bound_s", "solve_time_s"):
            data.setdefault(key, None)
        if self.status in (PlanStatus.INFEASIBLE, PlanStatus.UNKNOWN):
            data.setdefault("unplaceable", [])
        order = ["status", "objective", "makespan_s", "cost_usd", "success_probability", "lower_bound_s",
                 "solve_time_s", "assignments", "unplaceable"]
        return {k: data[k] for k in order if k in data} | {k: v for k, v in data.items() if k not in order}


# --- helpers ---------------------------------------------------------------------


def _located(message: str, *loc: str | int) -> PydanticCustomError:
    # pydantic re-wraps ValueErrors; a custom error keeps our text and we carry the path in ctx
    return PydanticCustomError("located", "{message}", {"message": message, "loc": list(loc)})


def _check_unique(ids: list[str], what: str, prefix: tuple[str | int, ...] = (), key: str = "id",
                  where: str = "nodes") -> None:
    """Raise on the second occurrence of an id; `prefix` is the path the validator's own loc lacks."""
    first: dict[str, int] = {}
    for i, x in enumerate(ids):
        if x in first:
            raise _located(f"duplicate {what} id {x!r} (first at {where}[{first[x]}])", *prefix, i, key)
        first[x] = i


def _suggest(name: str, known: set[str] | list[str]) -> str:
    import difflib

    close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.75) if len(known) < 50_000 else []
    return f"; did you mean {close[0]!r}?" if close else ""
