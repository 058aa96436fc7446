"""An index-based schedule (what the heuristic and the solver produce) and its
conversion to the contract's `Plan`.

A `Schedule` holds, per task (in the problem's topological order), its replicas:
node index, start and end in seconds. Its totals follow the contract: makespan is
the last end, cost sums runtime x GPUs x price over replicas, success probability
multiplies the tasks' success probabilities (`scheduler.domain.rules`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..domain import Assignment, Objective, Plan, PlanStatus, Unplaceable
from ..domain.rules import QUALITY_DIGITS, ROUNDING_EPS, log_task_success, quorum_arrival, workflow_success
from ..problem import Problem


@dataclass
class Replica:
    """One replica: its node (a gang's first node), start and end; `gang` lists every node of a replica
    that spans several at once (contract 1.1), empty otherwise."""

    node: int
    start: float
    end: float
    gang: tuple[int, ...] = ()

    @property
    def nodes(self) -> tuple[int, ...]:
        return self.gang or (self.node,)


def replicas_of_rows(problem: Problem, i: int, rows: list[tuple[int, int, float, float]]) -> list[Replica]:
    """Task i's replicas from plan rows (replica number, node, start, end): a gang task's rows with one
    replica number are one replica on all their nodes; any other row is a replica of its own."""
    if problem.gang_size(i) == 1:
        return [Replica(n, start, end) for _, n, start, end in rows]
    groups: dict[int, list[tuple[int, int, float, float]]] = {}
    for row in rows:
        groups.setdefault(row[0], []).append(row)
    out = []
    for _, group in sorted(groups.items()):
        gang = tuple(sorted(n for _, n, _, _ in group))
        out.append(Replica(gang[0], min(r[2] for r in group), max(r[3] for r in group), gang))
    return out


@dataclass
class Schedule:
    """Replicas per task index."""

    replicas: list[list[Replica]]

    @classmethod
    def empty(cls, n_tasks: int) -> Schedule:
        return cls(replicas=[[] for _ in range(n_tasks)])

    def in_seconds(self, problem: Problem, quantum_s: float) -> Schedule:
        """This schedule on a clock of `quantum_s` seconds per unit, in exact seconds: same starts,
        each replica's exact runtime (never longer than its rounded-up runtime on the clock)."""
        out = Schedule.empty(len(self.replicas))
        for i, reps in enumerate(self.replicas):
            for r in reps:
                start = r.start * quantum_s
                out.replicas[i].append(Replica(r.node, start, start + problem.replica_runtime(i, r.nodes), r.gang))
        return out

    @property
    def complete(self) -> bool:
        return all(self.replicas)

    def makespan(self, problem: Problem | None = None, quantum_s: float | None = None) -> float:
        """The last end; given the problem, also every write's delivery (contract 1.1: the quorum-th earliest
        over the task's replicas of end + transfer to the site). `quantum_s`: the schedule is on a clock of
        that many seconds per unit, transfers rounded up to whole units."""
        end = max((r.end for reps in self.replicas for r in reps), default=0.0)
        if problem is None or not problem.dag.has_writes:
            return end
        return max(end, max(self.deliveries(problem, quantum_s).values(), default=0.0))

    def deliveries(self, problem: Problem, quantum_s: float | None = None) -> dict[tuple[int, int], float]:
        """(task, write) -> when the write is delivered (inf when too few replicas); `quantum_s` as in
        `makespan`."""
        out = {}
        for i, writes in enumerate(problem.dag.writes):
            reps = self.replicas[i]
            if not writes:
                continue
            if not reps:
                out.update({(i, w): math.inf for w in range(len(writes))})
                continue
            delays = problem.write_delays(i, np.array([r.node for r in reps], dtype=np.int64))
            for k, r in enumerate(reps):
                if r.gang:  # the result is on every node of the gang: the nearest one sends it
                    delays[:, k] = problem.write_delays(i, np.array(r.gang, dtype=np.int64)).min(axis=1)
            if quantum_s is not None:
                delays = np.ceil(delays / quantum_s - ROUNDING_EPS)
            ends = np.array([r.end for r in reps])
            k = problem.quorum[i]
            for w in range(len(writes)):
                out[(i, w)] = quorum_arrival((ends + delays[w]).tolist(), k)
        return out

    def cost(self, problem: Problem) -> float:
        return sum(problem.replica_cost(i, r.nodes) for i, reps in enumerate(self.replicas) for r in reps)

    def success(self, problem: Problem) -> float:
        """The workflow's success probability (`scheduler.domain.rules`)."""
        return workflow_success(self.log_success(problem, i) for i in range(len(self.replicas)))

    def log_success(self, problem: Problem, i: int) -> float:
        """The log of task i's success probability (a gang replica completes when all its nodes do)."""
        reps = self.replicas[i]
        if any(r.gang for r in reps):
            return log_task_success([problem.replica_completion(i, r.nodes) for r in reps], problem.quorum[i])
        return problem.log_success(i, [r.node for r in reps])

    def nodes_of(self, i: int) -> list[int]:
        """Every node task i's replicas use (all of a gang's)."""
        return [n for r in self.replicas[i] for n in r.nodes]

    def key(self, problem: Problem, objective: Objective) -> tuple[float, float]:
        """Sort key of quality for `objective` (lower is better), primary then tie-break."""
        if objective == Objective.COST:
            return (round(self.cost(problem), QUALITY_DIGITS), round(self.makespan(problem), QUALITY_DIGITS))
        return (round(self.makespan(problem), QUALITY_DIGITS), round(self.cost(problem), QUALITY_DIGITS))


def to_plan(
    problem: Problem,
    schedule: Schedule | None,
    *,
    status: PlanStatus,
    objective: Objective,
    lower_bound_s: float | None,
    solve_time_s: float,
    unplaceable: list[Unplaceable] | None = None,
    **extra: object,
) -> Plan:
    """Build the contract's plan from a schedule (None when there is no plan)."""
    if schedule is None:
        return Plan(status=status, objective=objective, makespan_s=None, cost_usd=None, success_probability=None,
                    lower_bound_s=lower_bound_s, solve_time_s=round(solve_time_s, 3), assignments=[],
                    unplaceable=unplaceable or [], **extra)
    keyed = []
    for i, reps in enumerate(schedule.replicas):
        for k, r in enumerate(sorted(reps, key=lambda r: (r.start, r.node))):
            keyed.append((float(r.start), i, k, r))
    keyed.sort(key=lambda x: x[:3])
    ids, node_ids = problem.dag.ids, problem.nodes.ids
    # the engine's own rows: built without validation (the fields are right by construction)
    rows = [Assignment.model_construct(task=ids[i], replica=k, node=node_ids[n], start_s=start, end_s=float(r.end))
            for start, i, k, r in keyed for n in r.nodes]  # a gang: one row per node, the same times
    makespan = schedule.makespan(problem)
    gap = None
    if lower_bound_s is not None and makespan > 0 and objective == Objective.MAKESPAN:
        gap = max(0.0, (makespan - lower_bound_s) / makespan)
    return Plan(status=status, objective=objective, makespan_s=makespan, cost_usd=schedule.cost(problem),
                success_probability=schedule.success(problem), lower_bound_s=lower_bound_s,
                solve_time_s=round(solve_time_s, 3), assignments=rows, gap=gap, **extra)
