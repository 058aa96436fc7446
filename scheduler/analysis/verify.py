"""The audit: check every rule of the contract on a plan, whoever made it.

`verify_plan` shares no code with the heuristic or the solver: it reads the plan's
assignments and re-derives everything from the model, the policy rules
(`scheduler.policy`) and the network model, so a bug in the engine cannot hide
itself here.

Example:
    >>> from scheduler.domain import NodePool, Plan, Workload
    >>> wl = Workload(tasks=[{"id": "a", "duration_s": 60}, {"id": "b", "duration_s": 60, "depends_on": ["a"]}])
    >>> pool = NodePool(nodes=[{"id": "n", "gpus": 1}])
    >>> p = Plan(assignments=[{"task": "a", "node": "n", "start_s": 0, "end_s": 60},
    ...                       {"task": "b", "node": "n", "start_s": 30, "end_s": 90}])
    >>> report = verify_plan(wl, pool, None, p)
    >>> report.ok, sorted({v.rule for v in report.violations})
    (False, ['capacity', 'precedence'])
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from typing import Any

from ..domain import (
    Assignment,
    Network,
    Node,
    NodePool,
    Plan,
    PlanStatus,
    Policy,
    Task,
    Workload,
    permissive_policy,
)
from ..domain.policy import effective_levels, rejections, required_replicas, spread_value
from ..domain.rules import task_success
from ..domain.units import count, plural

RELATIVE = 1e-9  # rounding allowed in a comparison, relative to the numbers compared


@dataclass
class Violation:
    """One broken rule: where (task, replica, node), which rule, and the numbers."""

    rule: str
    message: str
    task: str | None = None
    replica: int | None = None
    node: str | None = None
    numbers: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v not in (None, {})}


@dataclass
class VerifyReport:
    """The violations, and the plan's totals as recomputed from its assignments."""

    violations: list[Violation]
    makespan_s: float
    cost_usd: float
    success_probability: float
    assignments: int

    @property
    def ok(self) -> bool:
        return not self.violations

    def to_dict(self) -> dict[str, Any]:
        return {
            "valid": self.ok,
            "violations": [v.to_dict() for v in self.violations],
            "makespan_s": self.makespan_s,
            "cost_usd": self.cost_usd,
            "success_probability": self.success_probability,
            "assignments": self.assignments,
        }


def _runtime_s(task: Task, node: Node) -> float:
    if node.gpu in task.duration_by_gpu:
        return task.duration_by_gpu[node.gpu]
    return task.duration_s / node.speed


def _slack(x: float) -> float:
    """Rounding allowed when comparing with `x`: relative to it (a nanosecond per second), never a fixed
    amount that a short replica or a small overlap could hide in."""
    return RELATIVE * max(1.0, abs(x))


def verify_plan(
    workload: Workload,
    pool: NodePool,
    policy: Policy | None,
    plan: Plan,
    *,
    deadline_s: float | None = None,
    failed_nodes: list[str] | None = None,
    now_s: float | None = None,
) -> VerifyReport:
    """Check every rule of the contract on `plan`.

    Rules: known tasks and nodes, one row per (task, replica), start >= 0, each
    replica runs at least its runtime, eligibility (every policy rule), replica
    count, distinct nodes, spread, `min_success`, precedence with transfers
    (earliest parent replica), GPU capacity, the plan's reported totals and bound,
    and optionally a deadline and failed nodes (no replica may start on one after
    `now_s`, the time of the failure; with no `now_s`, no replica may use one at all).

    Raises:
        InputError: a task names a level the policy lacks.
    """
    policy = policy if policy is not None else permissive_policy()
    origins = effective_levels(workload, policy)
    net = Network(pool)
    tasks, nodes = workload.by_id, pool.by_id
    v: list[Violation] = []

    by_task: dict[str, list[Assignment]] = defaultdict(list)
    seen: dict[tuple[str, int], int] = {}
    for k, a in enumerate(plan.assignments):
        if a.task not in tasks:
            v.append(Violation("unknown_task", f"assignments[{k}] names no task of the workload", a.task, a.replica,
                               a.node))
            continue
        if a.node not in nodes:
            v.append(Violation("unknown_node", f"assignments[{k}] names no node of the pool", a.task, a.replica,
                               a.node))
            continue
        if (a.task, a.replica) in seen:
            v.append(Violation("duplicate_replica", f"replica {a.replica} of {a.task} appears twice "
                               f"(assignments[{seen[(a.task, a.replica)]}] and [{k}])", a.task, a.replica, a.node))
            continue
        seen[(a.task, a.replica)] = k
        by_task[a.task].append(a)

    banned = set(failed_nodes or [])
    for tid, t in tasks.items():
        level = policy.level(origins[tid].level)
        reps = by_task.get(tid, [])
        need = required_replicas(t, level)
        if len(reps) < need:
            v.append(Violation("replicas", f"{count(len(reps), 'replica')}, the rules require {need}", tid,
                               numbers={"placed": len(reps), "required": need}))
        placed_on = [a.node for a in reps]
        if len(set(placed_on)) != len(placed_on):
            dup = sorted({n for n in placed_on if placed_on.count(n) > 1})
            v.append(Violation("distinct_nodes", f"two replicas on one node ({', '.join(dup)})", tid, node=dup[0]))
        values = [spread_value(level, nodes[n]) for n in placed_on]
        if level.spread_key != "node" and len(set(values)) != len(values):
            dup = sorted({x for x in values if values.count(x) > 1})
            v.append(Violation("spread", f"replicas share {level.spread_key} {', '.join(dup)}; level {level.name} "
                               f"wants distinct {plural(level.spread_key)}", tid))
        if level.min_success is not None and reps:
            success = task_success(nodes[n].reputation for n in placed_on)
            if success < level.min_success - 1e-12:
                v.append(Violation("min_success", f"replicas succeed with {success:.6g} < {level.min_success:g} "
                                   f"(level {level.name})", tid,
                                   numbers={"success": success, "min_success": level.min_success}))
        for a in reps:
            node = nodes[a.node]
            for r in rejections(t, level, node):
                v.append(Violation(f"eligibility:{r.rule.value}", f"{r.detail} (level {level.name})", tid, a.replica,
                                   a.node))
            if a.node in banned and (now_s is None or a.start_s > now_s + _slack(now_s)):
                v.append(Violation("failed_node", "placed on a node that has failed", tid, a.replica, a.node))
            run = _runtime_s(t, node)
            if not (math.isfinite(a.start_s) and math.isfinite(a.end_s)):
                v.append(Violation("time", "start_s and end_s must be finite numbers", tid, a.replica, a.node))
                continue
            if a.start_s < -_slack(0.0):
                v.append(Violation("start", f"starts at {a.start_s:g} s, before 0", tid, a.replica, a.node,
                                   {"start_s": a.start_s}))
            if a.end_s - a.start_s < run - _slack(run):
                v.append(Violation("runtime", f"runs {a.end_s - a.start_s:.3f} s but needs {run:.3f} s on this node",
                                   tid, a.replica, a.node, {"planned_s": a.end_s - a.start_s, "runtime_s": run}))

    # precedence: each replica starts after, for each parent, the earliest arrival of its data
    for tid, t in tasks.items():
        for a in by_task.get(tid, []):
            for dep in t.depends_on:
                parent_reps = by_task.get(dep.task, [])
                if not parent_reps:
                    v.append(Violation("precedence", f"parent {dep.task} has no replica to take data from", tid,
                                       a.replica, a.node))
                    continue
                arrival, src = min((b.end_s + net.transfer_s(b.node, a.node, dep.data_gb), b.node)
                                   for b in parent_reps)
                if a.start_s < arrival - _slack(arrival):
                    v.append(Violation(
                        "precedence",
                        f"starts at {a.start_s:.3f} s, before {dep.task}'s {dep.data_gb:g} GB arrive from {src} "
                        f"at {arrival:.3f} s", tid, a.replica, a.node,
                        {"start_s": a.start_s, "arrival_s": arrival, "data_gb": dep.data_gb}))

    # capacity: GPUs held on each node never exceed its slots
    v.extend(_capacity(by_task, tasks, nodes))

    rows = [a for reps in by_task.values() for a in reps]
    makespan = max((a.end_s for a in rows), default=0.0)
    cost = sum(_runtime_s(tasks[a.task], nodes[a.node]) / 3600.0 * tasks[a.task].gpus
               * nodes[a.node].price_per_gpu_hour for a in rows)
    success = 1.0
    for tid in tasks:
        success *= task_success(nodes[a.node].reputation for a in by_task.get(tid, []))

    if plan.status in (PlanStatus.OPTIMAL, PlanStatus.FEASIBLE) or plan.assignments:
        _check_reported(plan, makespan, cost, success, v)
    if deadline_s is None:
        deadline_s = plan.deadline_s
    if deadline_s is not None and makespan > deadline_s + _slack(deadline_s):
        v.append(Violation("deadline", f"makespan {makespan:.3f} s exceeds the deadline {deadline_s:g} s",
                           numbers={"makespan_s": makespan, "deadline_s": deadline_s}))
    return VerifyReport(violations=v, makespan_s=makespan, cost_usd=cost, success_probability=success,
                        assignments=len(plan.assignments))


def _capacity(by_task: dict[str, list[Assignment]], tasks: dict[str, Task], nodes: dict[str, Node]) -> list[Violation]:
    """GPUs in use on each node at every instant, counting each replica over [start, end). A replica that
    ends at (or, by rounding, within a nanosecond per second of) another's start frees its GPUs first;
    nothing else is forgiven, so no overlap, however short, and no replica, however short, is missed."""
    out: list[Violation] = []
    events: dict[str, list[tuple[float, int, str]]] = defaultdict(list)
    for tid, reps in by_task.items():
        g = tasks[tid].gpus
        if g == 0:
            continue
        for a in reps:
            if a.end_s > a.start_s:
                events[a.node].append((a.start_s, g, tid))
                events[a.node].append((a.end_s, -g, tid))
    for nid, evs in events.items():
        evs.sort(key=lambda e: e[0])
        used, k = 0, 0
        while k < len(evs):
            # the events at one instant (within rounding): ends first, then starts
            j = k
            while j + 1 < len(evs) and evs[j + 1][0] - evs[k][0] <= _slack(evs[k][0]):
                j += 1
            group = sorted(evs[k:j + 1], key=lambda e: e[1])
            for time, delta, tid in group:
                used += delta
                if used > nodes[nid].gpus:
                    out.append(Violation("capacity", f"{used} GPUs in use at {time:.6f} s, the node has "
                                         f"{nodes[nid].gpus}", tid, node=nid,
                                         numbers={"time_s": time, "used": used, "gpus": nodes[nid].gpus}))
                    break
            else:
                k = j + 1
                continue
            break
    return out


def _check_reported(plan: Plan, makespan: float, cost: float, success: float, v: list[Violation]) -> None:
    checks = [("makespan_s", plan.makespan_s, makespan, 1e-6), ("cost_usd", plan.cost_usd, cost, 1e-6),
              ("success_probability", plan.success_probability, success, 1e-9)]
    for name, reported, actual, rel in checks:
        if reported is not None and abs(reported - actual) > max(1e-3 if name != "success_probability" else 1e-9,
                                                                 rel * abs(actual)):
            v.append(Violation("reported_totals", f"the plan reports {name} {reported:g}, its assignments give "
                               f"{actual:g}", numbers={"reported": reported, "actual": actual}))
    if plan.lower_bound_s is not None and plan.lower_bound_s > makespan + _slack(makespan):
        v.append(Violation("bound", f"the reported lower bound {plan.lower_bound_s:g} s is above the plan's own "
                           f"makespan {makespan:g} s", numbers={"lower_bound_s": plan.lower_bound_s,
                                                                 "makespan_s": makespan}))
