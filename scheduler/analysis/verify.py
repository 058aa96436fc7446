"""The audit: check every rule of the contract (version 1.1) on a plan, whoever made it.

`verify_plan` shares no code with the heuristic or the solver: it reads the plan's
assignments and re-derives everything from the models, the policy rules
(`scheduler.domain.policy`), the network (`scheduler.domain.network`) and the
probability arithmetic (`scheduler.domain.rules`), so a bug in the engine cannot hide
itself here.

A replica is the rows of one (task, replica): one row, or, for a gang (``nodes: m``),
m rows with the same start and end, one per node.

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
from itertools import combinations
from typing import Any

from ..domain import Assignment, Level, Network, Node, NodePool, Plan, PlanStatus, Policy, Task, Workload, \
    permissive_policy
from ..domain.policy import effective_levels, rejections, required_replicas, residency_rejections, spread_value
from ..domain.rules import completion_probability, log_task_success, task_success, workflow_success
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


@dataclass
class _Replica:
    """The rows of one (task, replica): its nodes (one, or a gang's), start and end."""

    task: str
    number: int
    rows: list[Assignment]

    @property
    def nodes(self) -> list[str]:
        return [a.node for a in self.rows]

    @property
    def start(self) -> float:
        return self.rows[0].start_s

    @property
    def end(self) -> float:
        return self.rows[0].end_s


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

    Rules: known tasks and nodes, rows of one replica (a gang: as many as its `nodes`, one start
    and end), start >= 0, each replica runs at least its runtime, eligibility (every policy rule),
    availability windows, replica count (quorum included), distinct nodes, spread, `min_success`
    (at least `quorum` replicas completing, with failures over time), reads before the start,
    precedence with transfers (the quorum-th parent copy), GPU capacity, residency of writes,
    the plan's reported totals and bound (writes' deliveries in the makespan), and optionally a
    deadline and failed nodes (no replica may start on one after `now_s`, the time of the
    failure; with no `now_s`, no replica may use one at all).

    Raises
    ------
    InputError
        A task names a level the policy lacks.
    """
    audit = _Audit(workload, pool, policy if policy is not None else permissive_policy(), plan)
    audit.check_rows()
    audit.check_replicas(set(failed_nodes or []), now_s)
    audit.check_precedence()
    audit.check_capacity()
    audit.check_writes()
    return audit.report(deadline_s if deadline_s is not None else plan.deadline_s)


class _Audit:
    """The checks of `verify_plan`, each a method, over the plan's replicas."""

    def __init__(self, workload: Workload, pool: NodePool, policy: Policy, plan: Plan) -> None:
        self.workload, self.pool, self.policy, self.plan = workload, pool, policy, plan
        self.origins = effective_levels(workload, policy)
        self.net = Network(pool)
        self.tasks, self.nodes = workload.by_id, pool.by_id
        self.v: list[Violation] = []
        self.replicas: dict[str, list[_Replica]] = defaultdict(list)

    def level(self, tid: str) -> Level:
        return self.policy.level(self.origins[tid].level)

    def quorum(self, tid: str) -> int:
        return self.level(tid).quorum

    # --- rows and replicas -------------------------------------------------------------

    def check_rows(self) -> None:
        """Known tasks and nodes; a (task, replica, node) once; a replica's rows agree on start and end."""
        seen: dict[tuple[str, int, str], int] = {}
        groups: dict[tuple[str, int], list[Assignment]] = defaultdict(list)
        for k, a in enumerate(self.plan.assignments):
            if a.task not in self.tasks:
                self.v.append(Violation("unknown_task", f"assignments[{k}] names no task of the workload", a.task,
                                        a.replica, a.node))
                continue
            if a.node not in self.nodes:
                self.v.append(Violation("unknown_node", f"assignments[{k}] names no node of the pool", a.task,
                                        a.replica, a.node))
                continue
            key = (a.task, a.replica, a.node)
            if key in seen or (self.tasks[a.task].nodes == 1 and (a.task, a.replica) in groups):
                first = seen.get(key, next((seen[s] for s in seen if s[:2] == key[:2]), k))
                self.v.append(Violation("duplicate_replica", f"replica {a.replica} of {a.task} appears twice "
                                        f"(assignments[{first}] and [{k}])", a.task, a.replica, a.node))
                continue
            seen[key] = k
            groups[(a.task, a.replica)].append(a)
        for (tid, r), rows in groups.items():
            self._check_gang(tid, r, rows)
            self.replicas[tid].append(_Replica(tid, r, rows))

    def _check_gang(self, tid: str, r: int, rows: list[Assignment]) -> None:
        m = self.tasks[tid].nodes
        if len(rows) != m:
            self.v.append(Violation("gang", f"replica {r} has {count(len(rows), 'node')}, the task spans {m}", tid, r,
                                    rows[0].node, {"nodes": len(rows), "required": m}))
        if any(abs(a.start_s - rows[0].start_s) > _slack(a.start_s) or abs(a.end_s - rows[0].end_s) > _slack(a.end_s)
               for a in rows):
            self.v.append(Violation("gang", f"the {len(rows)} nodes of replica {r} do not share one start and end",
                                    tid, r, rows[0].node))

    # --- each task's replicas ------------------------------------------------------------

    def runtime(self, t: Task, nodes: list[str]) -> float:
        """A replica's runtime: the slowest node's share, plus the gang's exchange over its slowest link."""
        share = max(_node_runtime(t, self.nodes[n]) for n in nodes) / max(1, len(nodes))
        if len(nodes) < 2 or t.sync_gb <= 0:
            return share
        slowest = min(self.net.bandwidth_gbps(a, b) for a, b in combinations(nodes, 2))
        return share + t.sync_gb * 8.0 / slowest

    def completion(self, t: Task, nodes: list[str]) -> float:
        run = self.runtime(t, nodes)
        return math.prod(completion_probability(self.nodes[n].reputation, self.nodes[n].failures_per_hour, run)
                         for n in nodes)

    def check_replicas(self, banned: set[str], now_s: float | None) -> None:
        for tid, t in self.tasks.items():
            level, reps = self.level(tid), self.replicas.get(tid, [])
            need = required_replicas(t, level)
            if len(reps) < need:
                self.v.append(Violation("replicas", f"{count(len(reps), 'replica')}, the rules require {need}", tid,
                                        numbers={"placed": len(reps), "required": need}))
            self._check_spread(tid, level, reps)
            if level.min_success is not None and reps:
                success = task_success([self.completion(t, r.nodes) for r in reps], level.quorum)
                if success < level.min_success - 1e-12:
                    self.v.append(Violation(
                        "min_success", f"at least {level.quorum} of the replicas complete with {success:.6g} < "
                                       f"{level.min_success:g} (level {level.name})", tid,
                        numbers={"success": success, "min_success": level.min_success}))
            for r in reps:
                self._check_replica(t, level, r, banned, now_s)

    def _check_spread(self, tid: str, level: Level, reps: list[_Replica]) -> None:
        placed_on = [n for r in reps for n in r.nodes]
        if len(set(placed_on)) != len(placed_on):
            dup = sorted({n for n in placed_on if placed_on.count(n) > 1})
            self.v.append(Violation("distinct_nodes", f"two replicas on one node ({', '.join(dup)})", tid,
                                    node=dup[0]))
        if level.spread_key == "node":
            return
        values = [{spread_value(level, self.nodes[n]) for n in r.nodes} for r in reps]  # within one: may repeat
        flat = [x for vals in values for x in vals]
        if len(set(flat)) != len(flat):
            dup = sorted({x for x in flat if flat.count(x) > 1})
            self.v.append(Violation("spread", f"replicas share {level.spread_key} {', '.join(dup)}; level "
                                    f"{level.name} wants distinct {plural(level.spread_key)}", tid))

    def _check_replica(self, t: Task, level: Level, r: _Replica, banned: set[str], now_s: float | None) -> None:
        for a in r.rows:
            node = self.nodes[a.node]
            for why in rejections(t, level, node):
                self.v.append(Violation(f"eligibility:{why.rule.value}", f"{why.detail} (level {level.name})", t.id,
                                        r.number, a.node))
            if a.node in banned and (now_s is None or a.start_s > now_s + _slack(now_s)):
                self.v.append(Violation("failed_node", "placed on a node that has failed", t.id, r.number, a.node))
            if node.available is not None and not any(
                    w.from_s <= a.start_s + _slack(a.start_s) and a.end_s <= w.end_s + _slack(a.end_s)
                    for w in node.available):
                self.v.append(Violation("window", f"runs {a.start_s:.3f}-{a.end_s:.3f} s, outside every availability "
                                        f"window of the node", t.id, r.number, a.node))
        if not (math.isfinite(r.start) and math.isfinite(r.end)):
            self.v.append(Violation("time", "start_s and end_s must be finite numbers", t.id, r.number, r.nodes[0]))
            return
        if r.start < -_slack(0.0):
            self.v.append(Violation("start", f"starts at {r.start:g} s, before 0", t.id, r.number, r.nodes[0],
                                    {"start_s": r.start}))
        run = self.runtime(t, r.nodes)
        if r.end - r.start < run - _slack(run):
            self.v.append(Violation("runtime", f"runs {r.end - r.start:.3f} s but needs {run:.3f} s on "
                                    f"{'these nodes' if len(r.rows) > 1 else 'this node'}", t.id, r.number,
                                    r.nodes[0], {"planned_s": r.end - r.start, "runtime_s": run}))
        self._check_reads(t, r)

    def _check_reads(self, t: Task, r: _Replica) -> None:
        for read in t.reads:
            site = self.workload.site_by_id[read.site]
            arrival = max(self.net.site_transfer_s(site, n, read.data_gb) for n in r.nodes)
            if r.start < arrival - _slack(arrival):
                self.v.append(Violation("reads", f"starts at {r.start:.3f} s, before its {read.data_gb:g} GB from "
                                        f"site {site.id} arrive at {arrival:.3f} s", t.id, r.number, r.nodes[0],
                                        {"start_s": r.start, "arrival_s": arrival}))

    # --- between replicas -------------------------------------------------------------------

    def arrival(self, parent: _Replica, node: str, data_gb: float) -> float:
        """When a parent replica's data is on `node`: from the nearest of its nodes."""
        return parent.end + min(self.net.transfer_s(p, node, data_gb) for p in parent.nodes)

    def check_precedence(self) -> None:
        """Each replica starts after, for each parent, the quorum-th arrival of the parent's data on each of
        its nodes."""
        for tid, t in self.tasks.items():
            for r in self.replicas.get(tid, []):
                for dep in t.depends_on:
                    self._check_parent(t, r, dep.task, dep.data_gb)

    def _check_parent(self, t: Task, r: _Replica, parent: str, data_gb: float) -> None:
        reps, k = self.replicas.get(parent, []), self.quorum(parent)
        if len(reps) < k:
            self.v.append(Violation("precedence", f"parent {parent} has {count(len(reps), 'replica')} to take data "
                                    f"from, its quorum is {k}", t.id, r.number, r.nodes[0]))
            return
        for node in r.nodes:
            arrival = sorted(self.arrival(p, node, data_gb) for p in reps)[k - 1]
            if r.start < arrival - _slack(arrival):
                which = "the data" if k == 1 else f"the {k}th copy of the data"
                self.v.append(Violation("precedence", f"starts at {r.start:.3f} s, before {which} of {parent} "
                                        f"({data_gb:g} GB) arrives at {node} at {arrival:.3f} s", t.id, r.number,
                                        node, {"start_s": r.start, "arrival_s": arrival, "data_gb": data_gb}))

    def check_capacity(self) -> None:
        """GPUs in use on each node at every instant, counting each row over [start, end). A row that ends at
        (or, by rounding, within a nanosecond per second of) another's start frees its GPUs first; nothing else
        is forgiven, so no overlap, however short, and no replica, however short, is missed."""
        events: dict[str, list[tuple[float, int, str]]] = defaultdict(list)
        for tid, reps in self.replicas.items():
            g = self.tasks[tid].gpus
            for a in (a for r in reps for a in r.rows if g > 0 and a.end_s > a.start_s):
                events[a.node].append((a.start_s, g, tid))
                events[a.node].append((a.end_s, -g, tid))
        for nid, evs in events.items():
            evs.sort(key=lambda e: e[0])
            used, k = 0, 0
            while k < len(evs):
                j = k  # the events at one instant (within rounding): ends first, then starts
                while j + 1 < len(evs) and evs[j + 1][0] - evs[k][0] <= _slack(evs[k][0]):
                    j += 1
                for time, delta, tid in sorted(evs[k:j + 1], key=lambda e: e[1]):
                    used += delta
                    if used > self.nodes[nid].gpus:
                        self.v.append(Violation("capacity", f"{used} GPUs in use at {time:.6f} s, the node has "
                                                f"{self.nodes[nid].gpus}", tid, node=nid,
                                                numbers={"time_s": time, "used": used, "gpus": self.nodes[nid].gpus}))
                        return
                k = j + 1

    def deliveries(self) -> list[tuple[str, str, float]]:
        """(task, site, when the write is delivered): the quorum-th earliest over the task's replicas of end +
        transfer from the nearest of its nodes."""
        out = []
        for tid, t in self.tasks.items():
            reps, k = self.replicas.get(tid, []), self.quorum(tid)
            for w in t.writes:
                site = self.workload.site_by_id[w.site]
                times = sorted(r.end + min(self.net.site_transfer_s(site, n, w.data_gb) for n in r.nodes) for r in reps)
                out.append((tid, w.site, times[k - 1] if len(times) >= k else math.inf))
        return out

    def check_writes(self) -> None:
        """Residency: a site written to meets the countries, regions and networks of the writer's output level."""
        for tid, t in self.tasks.items():
            level = self.policy.level(self.origins[tid].output)
            for w in t.writes:
                for why in residency_rejections(level, self.workload.site_by_id[w.site]):
                    self.v.append(Violation("residency", f"{why.detail}: level {level.name}'s data may not rest "
                                            f"there", tid))

    # --- totals ------------------------------------------------------------------------------

    def report(self, deadline_s: float | None) -> VerifyReport:
        reps = [r for rs in self.replicas.values() for r in rs]
        makespan = max([r.end for r in reps] + [d for _, _, d in self.deliveries() if math.isfinite(d)], default=0.0)
        cost = sum(self.runtime(self.tasks[r.task], r.nodes) / 3600.0 * self.tasks[r.task].gpus
                   * sum(self.nodes[n].price_per_gpu_hour for n in r.nodes) for r in reps)
        success = workflow_success(log_task_success([self.completion(t, r.nodes) for r in self.replicas.get(tid, [])],
                                                    self.quorum(tid)) for tid, t in self.tasks.items())
        if self.plan.status in (PlanStatus.OPTIMAL, PlanStatus.FEASIBLE) or self.plan.assignments:
            _check_reported(self.plan, makespan, cost, success, self.v)
        if deadline_s is not None and makespan > deadline_s + _slack(deadline_s):
            self.v.append(Violation("deadline", f"makespan {makespan:.3f} s exceeds the deadline {deadline_s:g} s",
                                    numbers={"makespan_s": makespan, "deadline_s": deadline_s}))
        return VerifyReport(violations=self.v, makespan_s=makespan, cost_usd=cost, success_probability=success,
                            assignments=len(self.plan.assignments))


def _node_runtime(task: Task, node: Node) -> float:
    if node.gpu in task.duration_by_gpu:
        return task.duration_by_gpu[node.gpu]
    return task.duration_s / node.speed


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
