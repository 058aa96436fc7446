"""Policy evaluation: effective levels down the DAG, a node's eligibility, replica rules.

These functions are the reference reading of the contract's policy rules:
`verify` and `explain` call them node by node; the compiled problem
(`scheduler.problem`) vectorises the same rules and the tests check that both agree.

Example:
    >>> from scheduler.domain import Policy, Level, Task, Node
    >>> pol = Policy(default_level="public", levels=[Level(name="public"),
    ...              Level(name="secret", tee=["tdx"], attested=True)])
    >>> [r.rule for r in rejections(Task(id="t", duration_s=1), pol.level("secret"), Node(id="n", gpus=1))]
    [<Rule.TEE: 'tee'>, <Rule.ATTESTED: 'attested'>]
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from ..errors import InputError
from .levels import Level, Policy
from .pool import Node
from .rules import within
from .units import format_duration
from .workload import Site, Task, Workload


class Rule(str, Enum):
    """The rules that can turn a node away from a task, in the order they are reported."""

    GPUS = "gpus"
    GPU_MEMORY = "gpu_memory"
    TEE = "tee"
    ATTESTED = "attested"
    REPUTATION = "reputation"
    COUNTRY = "country"
    REGION = "region"
    NETWORK = "network"
    WINDOW = "window"  # no availability window of the node holds the task's runtime there


RULE_PHRASES: dict[Rule, tuple[str, str]] = {  # (said of one node, said of several)
    Rule.GPUS: ("has too few GPUs", "have too few GPUs"),
    Rule.GPU_MEMORY: ("has too little GPU memory", "have too little GPU memory"),
    Rule.TEE: ("lacks a TEE", "lack a TEE"),
    Rule.ATTESTED: ("is not attested", "are not attested"),
    Rule.REPUTATION: ("below reputation {min_reputation:g}",) * 2,
    Rule.COUNTRY: ("outside allowed countries",) * 2,
    Rule.REGION: ("outside allowed regions",) * 2,
    Rule.NETWORK: ("outside allowed networks",) * 2,
    Rule.WINDOW: ("has no availability window long enough", "have no availability window long enough"),
}


@dataclass(frozen=True)
class Rejection:
    """One rule that turns a node away from a task, with the numbers."""

    rule: Rule
    detail: str


@dataclass(frozen=True)
class LevelOrigin:
    """A task's effective level and why.

    Attributes:
        level: the effective level's name.
        own: the task's declared level (or the policy default).
        raised_by: the parent whose output level set the effective level, or None
            when the task's own level (or a site it reads) decides.
        output: the level its outputs carry to children.
        declassified: True when `output` is below `level` because the task declassifies.
        raised_by_site: the site read whose level set the effective level, or None.
    """

    level: str
    own: str
    raised_by: str | None
    output: str
    declassified: bool
    raised_by_site: str | None = None


def check_levels(workload: Workload, policy: Policy) -> None:
    """Every task's `sensitivity` names a level of the policy.

    Raises:
        InputError: naming the workload file and the task's field.
    """
    known = policy.rank
    where = f"the policy{' ' + policy.source if policy.source else ''} has {', '.join(known)}"
    for i, t in enumerate(workload.tasks):
        if t.sensitivity is not None and t.sensitivity not in known:
            raise InputError(f"unknown level {t.sensitivity!r}; {where}", file=workload.source,
                             field=f"tasks[{i}].sensitivity")
    for k, site in enumerate(workload.sites):
        if site.level is not None and site.level not in known:
            raise InputError(f"unknown level {site.level!r} of site {site.id!r}; {where}", file=workload.source,
                             field=f"sites[{k}].level")


def effective_levels(workload: Workload, policy: Policy) -> dict[str, LevelOrigin]:
    """The effective level of every task (contract: Meaning, "Effective level").

    A task's effective level is the highest of its own level, its parents'
    output levels and the levels of the sites it reads. Its output level is its
    effective level, except when it declassifies: then it is the higher of its own
    declared level and the effective level's `declassify_to` (unchanged when that
    level has none).

    Raises:
        InputError: a task names a level the policy does not have.
    """
    check_levels(workload, policy)
    rank = policy.rank
    out: dict[str, LevelOrigin] = {}
    tasks = workload.by_id
    for tid in workload.topological_order:
        t = tasks[tid]
        own = t.sensitivity if t.sensitivity is not None else policy.default
        level, raised_by, by_site = own, None, None
        for dep in t.depends_on:
            parent_out = out[dep.task].output
            if rank[parent_out] > rank[level]:
                level, raised_by = parent_out, dep.task
        for read in t.reads:
            site_level = workload.site_by_id[read.site].level
            if site_level is not None and rank[site_level] > rank[level]:
                level, raised_by, by_site = site_level, None, read.site
        output, declassified = level, False
        if t.declassifies:
            floor = policy.level(level).declassify_to
            if floor is not None:
                output = own if rank[own] >= rank[floor] else floor
                declassified = rank[output] < rank[level]
        out[tid] = LevelOrigin(level=level, own=own, raised_by=raised_by, output=output, declassified=declassified,
                               raised_by_site=by_site)
    return out


def declassification_notes(workload: Workload, policy: Policy, origins: dict[str, LevelOrigin]) -> list[str]:
    """Notes for tasks marked ``declassifies: true`` that lower nothing (a user expects them to).

    >>> from scheduler.domain import Policy, Workload
    >>> pol = Policy(levels=[{"name": "open"}, {"name": "secret"}])
    >>> wl = Workload(tasks=[{"id": "raw", "duration_s": 1, "sensitivity": "secret"},
    ...                      {"id": "scrub", "duration_s": 1, "declassifies": True, "depends_on": ["raw"]}])
    >>> declassification_notes(wl, pol, effective_levels(wl, pol))[0][:60]
    'scrub declassifies, but level secret has no declassify_to: i'
    """
    notes = []
    for t in workload.tasks:
        o = origins[t.id]
        if not t.declassifies or o.declassified:
            continue
        floor = policy.level(o.level).declassify_to
        if floor is None:
            notes.append(f"{t.id} declassifies, but level {o.level} has no declassify_to: its outputs stay {o.level} "
                         f"(the policy decides what may be released)")
        elif policy.rank[o.own] >= policy.rank[o.level]:
            notes.append(f"{t.id} declassifies, but it declares level {o.own} itself, at or above its data's "
                         f"{o.level}: its outputs stay {o.level}")
    return notes


def residency_rejections(level: Level, site: Site) -> list[Rejection]:
    """The rules of `level` (the writing task's output level) that forbid storing data at `site`: its
    `countries`, `regions` and `networks` (storage has no TEE, attestation or reputation rules).

    >>> from scheduler.domain import Level
    >>> from scheduler.domain.workload import Site
    >>> [r.detail for r in residency_rejections(Level(name="c", countries=["DE"]), Site(id="s3", country="US"))]
    ['site s3 is in country US, not in DE']
    """
    why = []
    for rule, allowed, value, what in ((Rule.COUNTRY, level.countries, site.country, "country"),
                                       (Rule.REGION, level.regions, site.region, "region"),
                                       (Rule.NETWORK, level.networks, site.network, "network")):
        if allowed is not None and value not in allowed:
            why.append(Rejection(rule, f"site {site.id} is in {what} {value or '(none)'}, not in {', '.join(allowed)}"))
    return why


def window_rejection(node: Node, runtime_s: float) -> Rejection | None:
    """Why `node` cannot hold a replica of `runtime_s` seconds: none of its windows is that long."""
    if node.available is None:
        return None
    longest = max(w.end_s - w.from_s for w in node.available)
    if within(runtime_s, longest):
        return None
    return Rejection(Rule.WINDOW, f"runs {format_duration(runtime_s)} here, the node's longest availability window "
                                  f"is {format_duration(longest)}")


def rejections(task: Task, level: Level, node: Node) -> list[Rejection]:
    """Every rule that forbids `task` (at effective `level`) on `node`; [] when eligible."""
    why: list[Rejection] = []
    if task.gpus > node.gpus:
        why.append(Rejection(Rule.GPUS, f"needs {task.gpus} GPUs, node has {node.gpus}"))
    if task.gpus > 0 and task.gpu_memory_gb > node.gpu_memory_gb:
        why.append(Rejection(Rule.GPU_MEMORY,
                             f"needs {task.gpu_memory_gb:g} GB per GPU, node has {node.gpu_memory_gb:g}"))
    if level.tee and not set(level.tee) & set(node.tee):
        has = ", ".join(node.tee) or "none"
        why.append(Rejection(Rule.TEE, f"needs a TEE of {', '.join(level.tee)}; node has {has}"))
    if level.attested and not node.attested:
        why.append(Rejection(Rule.ATTESTED, "needs remote attestation; node is not attested"))
    if node.reputation < level.min_reputation:
        why.append(Rejection(Rule.REPUTATION,
                             f"needs reputation >= {level.min_reputation:g}, node has {node.reputation:g}"))
    if level.countries is not None and node.country not in level.countries:
        why.append(Rejection(Rule.COUNTRY, f"country {node.country or '(none)'} not in {', '.join(level.countries)}"))
    if level.regions is not None and node.region not in level.regions:
        why.append(Rejection(Rule.REGION, f"region {node.region or '(none)'} not in {', '.join(level.regions)}"))
    if level.networks is not None and node.network not in level.networks:
        why.append(Rejection(Rule.NETWORK, f"network {node.network} not in {', '.join(level.networks)}"))
    return why


def required_replicas(task: Task, level: Level) -> int:
    """The least number of replicas: max(task.replicas, level.min_replicas, level.quorum)."""
    return max(task.replicas, level.min_replicas, level.quorum)


def spread_value(level: Level, node: Node) -> str:
    """The value of the level's spread key on `node`; replicas need distinct values."""
    key = level.spread_key
    if key == "node":
        return node.id
    if key == "operator":
        return node.operator_id
    return str(getattr(node, key))
