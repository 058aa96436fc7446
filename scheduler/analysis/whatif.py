"""What-if: change the pool, the network, a task's level or the policy, plan again,
and say what moved.

A `Scenario` is applied to copies of the inputs (`apply_scenario`); the changed
case is planned warm-started from the base plan and prefers the base plan's nodes
at equal quality, so the diff shows what really must move.

Example:
    >>> from scheduler import NodePool, PlanOptions, Workload
    >>> wl = Workload(tasks=[{"id": "a", "duration_s": 60}])
    >>> pool = NodePool(nodes=[{"id": "fast", "gpus": 1, "speed": 2}, {"id": "slow", "gpus": 1}])
    >>> result = whatif(wl, pool, None, Scenario(drop_nodes=["fast"]), options=PlanOptions(time_limit_s=1))
    >>> [(m.task, m.from_node, m.to_node) for m in result.moved], result.changed.makespan_s
    ([('a', 'fast', 'slow')], 60.0)
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from ..domain import Link, Node, NodePool, Objective, Plan, Policy, Window, Workload, permissive_policy
from ..domain.fields import suggest
from ..engine.planner import PlanOptions, plan_problem
from ..errors import ArgumentError
from ..problem import Problem
from .metrics import PlanMetrics, plan_metrics


@dataclass
class Scenario:
    """A change to apply; every field is optional and they combine.

    Attributes:
        name: shown in reports.
        drop_nodes, drop_networks, drop_operators: nodes leaving the pool.
        bandwidth_scale: every bandwidth (node links and overrides) times this.
        bandwidth_scale_regions: per region pair ``(a, b)``, a factor on top (a link override is made).
        price_scale: per network, a factor on ``price_per_gpu_hour``.
        reputation: per node, a new reputation.
        set_level: per task, a new declared sensitivity level.
        lease_end: per node, the time (s) its lease ends: its windows are cut there (a node with no
            time left leaves the pool).
        failure_scale: every node's ``failures_per_hour`` times this.
        move_site: per site, ``COUNTRY`` or ``COUNTRY:REGION`` (the data moves there).
        policy: a different policy (compare two policies).
        deadline_s, objective: override the planning options.
    """

    name: str = "changed"
    drop_nodes: list[str] = field(default_factory=list)
    drop_networks: list[str] = field(default_factory=list)
    drop_operators: list[str] = field(default_factory=list)
    bandwidth_scale: float = 1.0
    bandwidth_scale_regions: dict[tuple[str, str], float] = field(default_factory=dict)
    price_scale: dict[str, float] = field(default_factory=dict)
    reputation: dict[str, float] = field(default_factory=dict)
    set_level: dict[str, str] = field(default_factory=dict)
    lease_end: dict[str, float] = field(default_factory=dict)
    failure_scale: float = 1.0
    move_site: dict[str, str] = field(default_factory=dict)
    policy: Policy | None = None
    deadline_s: float | None = None
    objective: str | None = None

    @property
    def changes_nothing(self) -> bool:
        return self.describe() == "no change"

    def describe(self) -> str:
        parts = []
        parts += [f"drop node {n}" for n in self.drop_nodes]
        parts += [f"drop network {n}" for n in self.drop_networks]
        parts += [f"drop operator {n}" for n in self.drop_operators]
        if self.bandwidth_scale != 1.0:
            parts.append(f"bandwidth x{self.bandwidth_scale:g}")
        parts += [f"bandwidth {a}<->{b} x{f:g}" for (a, b), f in self.bandwidth_scale_regions.items()]
        parts += [f"price {n} x{f:g}" for n, f in self.price_scale.items()]
        parts += [f"reputation {n}={r:g}" for n, r in self.reputation.items()]
        parts += [f"{t} -> {lv}" for t, lv in self.set_level.items()]
        parts += [f"lease of {n} ends at {t:g} s" for n, t in self.lease_end.items()]
        if self.failure_scale != 1.0:
            parts.append(f"failure rates x{self.failure_scale:g}")
        parts += [f"site {s} -> {where}" for s, where in self.move_site.items()]
        if self.policy is not None:
            parts.append(f"policy {self.policy.source or 'B'}")
        if self.deadline_s is not None:
            parts.append(f"deadline {self.deadline_s:g} s")
        if self.objective is not None:
            parts.append(f"objective {self.objective}")
        return ", ".join(parts) or "no change"


@dataclass
class Move:
    task: str
    replica: int
    from_node: str | None
    to_node: str | None

    def to_dict(self) -> dict[str, Any]:
        return {"task": self.task, "replica": self.replica, "from": self.from_node, "to": self.to_node}


@dataclass
class WhatIfResult:
    scenario: Scenario
    base: Plan
    changed: Plan
    base_metrics: PlanMetrics
    changed_metrics: PlanMetrics
    moved: list[Move]
    appeared: list[str]  # tasks placed in the changed plan but not in the base
    unplaceable: list[dict[str, Any]]  # tasks the changed case cannot place, with the reason
    base_problem: Problem | None = field(default=None, repr=False, compare=False)
    changed_problem: Problem | None = field(default=None, repr=False, compare=False)  # the inputs after the change

    def to_dict(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario.describe(),
            "base": self.base.to_json_dict(),
            "changed": self.changed.to_json_dict(),
            "moved": [m.to_dict() for m in self.moved],
            "appeared": self.appeared,
            "unplaceable": self.unplaceable,
            "metrics": {"base": self.base_metrics.to_dict(), "changed": self.changed_metrics.to_dict()},
        }


def apply_scenario(workload: Workload, pool: NodePool, policy: Policy | None,
                   scenario: Scenario) -> tuple[Workload, NodePool, Policy | None]:
    """Copies of the inputs with the scenario applied (the originals are left as they are).

    Raises
    ------
    ArgumentError
        A named node, network, operator, region, task or level does not exist, or the change
        leaves the pool empty (the error names the scenario's field).
    """
    _check_names(workload, pool, scenario)
    nodes = _changed_nodes(pool, scenario)
    if not nodes:
        raise ArgumentError("the scenario removes every node", argument="drop_nodes")
    links = _changed_links(pool, nodes, scenario)
    new_pool = NodePool.model_validate({"nodes": [n.model_dump() for n in nodes],
                                        "links": [link.model_dump(exclude_none=True) for link in links]})
    new_pool._source = pool.source
    new_policy = scenario.policy if scenario.policy is not None else policy
    return _changed_workload(workload, new_policy, scenario), new_pool, new_policy


def _check_names(workload: Workload, pool: NodePool, scenario: Scenario) -> None:
    ids = {n.id for n in pool.nodes}
    for argument, names in (("drop_nodes", scenario.drop_nodes), ("reputation", scenario.reputation),
                            ("lease_end", scenario.lease_end)):
        for nid in names:
            if nid not in ids:
                raise ArgumentError(f"unknown node {nid!r}{suggest(nid, ids)}", argument=argument)
    networks = {n.network for n in pool.nodes}
    for argument, names in (("drop_networks", scenario.drop_networks), ("price_scale", scenario.price_scale)):
        for net in names:
            if net not in networks:
                raise ArgumentError(f"unknown network {net!r}; the pool has {', '.join(sorted(networks))}",
                                    argument=argument)
    operators = {n.operator_id for n in pool.nodes}
    for op in scenario.drop_operators:
        if op not in operators:
            raise ArgumentError(f"unknown operator {op!r}{suggest(op, operators)}", argument="drop_operators")
    for tid in scenario.set_level:
        if tid not in workload.by_id:
            raise ArgumentError(f"unknown task {tid!r}{suggest(tid, set(workload.by_id))}", argument="set_level")
    sites = {s.id for s in workload.sites}
    for sid, where in scenario.move_site.items():
        if sid not in sites:
            raise ArgumentError(f"unknown site {sid!r}{suggest(sid, sites) if sites else '; the workload has none'}",
                                argument="move_site")
        country = where.partition(":")[0]
        if not (len(country) == 2 and country.isalpha() and country.isupper()):
            raise ArgumentError(f"site {sid}: {where!r} is not COUNTRY or COUNTRY:REGION (e.g. DE:eu-central)",
                                argument="move_site")


def _changed_nodes(pool: NodePool, scenario: Scenario) -> list[Node]:
    drop = set(scenario.drop_nodes)
    nodes: list[Node] = []
    for n in pool.nodes:
        if n.id in drop or n.network in scenario.drop_networks or n.operator_id in scenario.drop_operators:
            continue
        changes: dict[str, Any] = {}
        if scenario.bandwidth_scale != 1.0:
            changes["bandwidth_gbps"] = n.bandwidth_gbps * scenario.bandwidth_scale
        if n.network in scenario.price_scale:
            changes["price_per_gpu_hour"] = n.price_per_gpu_hour * scenario.price_scale[n.network]
        if n.id in scenario.reputation:
            changes["reputation"] = scenario.reputation[n.id]
        if scenario.failure_scale != 1.0 and n.failures_per_hour:
            changes["failures_per_hour"] = n.failures_per_hour * scenario.failure_scale
        if n.id in scenario.lease_end:
            windows = _cut_windows(n.available or [Window()], scenario.lease_end[n.id])
            if not windows:
                continue  # nothing left of its lease: the node leaves
            changes["available"] = windows
        nodes.append(n.model_copy(update=changes) if changes else n)
    return nodes


def _cut_windows(windows: list[Window], end_s: float) -> list[Window]:
    """The parts of `windows` before `end_s`."""
    return [Window(from_s=w.from_s, until_s=min(w.end_s, end_s)) for w in windows if w.from_s < end_s]


def _changed_links(pool: NodePool, nodes: list[Node], scenario: Scenario) -> list[Link]:
    kept_ids = {n.id for n in nodes}
    links = []
    for link in pool.links:
        if link.nodes is not None and not set(link.nodes) <= kept_ids:
            continue
        links.append(link.model_copy(update={"bandwidth_gbps": link.bandwidth_gbps * scenario.bandwidth_scale}))
    for (ra, rb), factor in scenario.bandwidth_scale_regions.items():
        existing = next((k for k, link in enumerate(links) if link.regions and set(link.regions) == {ra, rb}), None)
        if existing is not None:
            links[existing] = links[existing].model_copy(
                update={"bandwidth_gbps": links[existing].bandwidth_gbps * factor})
            continue
        bws = [n.bandwidth_gbps for n in nodes if n.region in (ra, rb)]
        if not bws:
            raise ArgumentError(f"no node in region {ra} or {rb}", argument="bandwidth_scale_regions")
        # the default between the regions is the smaller node link; the override scales a typical one
        links.append(Link(regions=[ra, rb], bandwidth_gbps=sorted(bws)[len(bws) // 2] * scenario.bandwidth_scale
                          * factor))
    return links


def _changed_workload(workload: Workload, policy: Policy | None, scenario: Scenario) -> Workload:
    if not scenario.set_level and not scenario.move_site:
        return workload
    known = (policy or permissive_policy()).rank
    for tid, lv in scenario.set_level.items():
        if lv not in known:
            raise ArgumentError(f"unknown level {lv!r} for task {tid}; levels: {', '.join(known)}",
                                argument="set_level")
    data = workload.model_dump(exclude_none=True)
    for t in data["tasks"]:
        if t["id"] in scenario.set_level:
            t["sensitivity"] = scenario.set_level[t["id"]]
    for site in data.get("sites", []):
        if site["id"] in scenario.move_site:
            country, _, region = scenario.move_site[site["id"]].partition(":")
            site["country"] = country
            if region:
                site["region"] = region
    new_workload = Workload.model_validate(data)
    new_workload._source = workload.source
    return new_workload


def diff_plans(base: Plan, changed: Plan) -> tuple[list[Move], list[str], list[dict[str, Any]]]:
    """Replicas whose node changed, tasks that appeared, and tasks now unplaceable."""
    before = {t: sorted(a.node for a in rows) for t, rows in base.by_task().items()}
    after = {t: sorted(a.node for a in rows) for t, rows in changed.by_task().items()}
    moved: list[Move] = []
    for tid, old in before.items():
        new = after.get(tid)
        if new is None:
            continue
        gone = [n for n in old if n not in new]
        came = [n for n in new if n not in old]
        for k in range(max(len(gone), len(came))):
            moved.append(Move(task=tid, replica=k, from_node=gone[k] if k < len(gone) else None,
                              to_node=came[k] if k < len(came) else None))
    appeared = [t for t in after if t not in before]
    unplaceable = [{"task": u.task, "rule": u.rule, "reasons": u.reasons, "message": u.message}
                   for u in changed.unplaceable or []]
    return moved, appeared, unplaceable


def whatif(workload: Workload, pool: NodePool, policy: Policy | None, scenario: Scenario, *,
           options: PlanOptions | None = None, base: Plan | None = None) -> WhatIfResult:
    """Plan the base case (unless given) and the changed case, and diff them.

    The result carries both problems (`base_problem`, `changed_problem`), so that a caller
    draws or audits the changed case without applying the scenario again.

    Raises
    ------
    ArgumentError
        The scenario names something the inputs lack (see `apply_scenario`).
    """
    options = options or PlanOptions()
    base_problem = Problem(workload, pool, policy)
    if base is None:
        base = plan_problem(base_problem, options)
    if scenario.changes_nothing:  # nothing to plan again: the changed case is the base, and nothing moves
        return _result(scenario, base, base, base_problem, base_problem)
    w2, p2, pol2 = apply_scenario(workload, pool, policy, scenario)
    changed_problem = Problem(w2, p2, pol2)
    changes: dict[str, Any] = {}
    if scenario.deadline_s is not None:
        changes["deadline_s"] = scenario.deadline_s
    if scenario.objective is not None:
        changes["objective"] = Objective(scenario.objective)
    if base.has_plan:
        changes["preferred"] = base
    opts2 = dataclasses.replace(options, **changes)
    return _result(scenario, base, plan_problem(changed_problem, opts2), base_problem, changed_problem)


def _result(scenario: Scenario, base: Plan, changed: Plan, base_problem: Problem,
            changed_problem: Problem) -> WhatIfResult:
    moved, appeared, unplaceable = diff_plans(base, changed)
    return WhatIfResult(scenario=scenario, base=base, changed=changed,
                        base_metrics=plan_metrics(base_problem, base),
                        changed_metrics=plan_metrics(changed_problem, changed), moved=moved, appeared=appeared,
                        unplaceable=unplaceable, base_problem=base_problem, changed_problem=changed_problem)
