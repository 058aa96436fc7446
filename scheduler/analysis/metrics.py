"""Figures of a plan beyond the contract's totals: data moved, borders crossed, TEE use."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass

from ..domain import Assignment, Plan
from ..problem import Problem


@dataclass
class PlanMetrics:
    makespan_s: float | None
    cost_usd: float | None
    success_probability: float | None
    gb_moved: float  # data that travels between two different nodes
    gb_cross_border: float  # of which between nodes in different countries
    tee_nodes: int  # distinct nodes with a TEE that the plan uses
    nodes_used: int
    replicas: int

    def to_dict(self) -> dict[str, float | int | None]:
        return asdict(self)


def data_sources(problem: Problem, plan: Plan) -> Iterator[tuple[Assignment, Assignment, float]]:
    """(child replica, parent replica it takes the data from, GB) for every edge with data: each
    child replica reads each parent's data from the replica whose data arrives first."""
    by_task = plan.by_task()
    for tid, rows in by_task.items():
        i = problem.dag.index.get(tid)
        if i is None:
            continue
        for a in rows:
            b = problem.nodes.index[a.node]
            for p, data in problem.dag.parents[i]:
                sources = by_task.get(problem.dag.ids[p], [])
                if data > 0 and sources:
                    yield a, min(sources, key=lambda s: s.end_s + problem.links.transfer(problem.nodes.index[s.node], b,
                                                                                    data)), data


def plan_metrics(problem: Problem, plan: Plan) -> PlanMetrics:
    moved = border = 0.0
    for a, src, data in data_sources(problem, plan):
        if src.node != a.node:
            moved += data
            if problem.nodes[problem.nodes.index[src.node]].country != problem.nodes[problem.nodes.index[a.node]].country:
                border += data
    used = {a.node for a in plan.assignments}
    tee = sum(1 for n in used if n in problem.nodes.index and problem.nodes[problem.nodes.index[n]].tee)
    return PlanMetrics(makespan_s=plan.makespan_s, cost_usd=plan.cost_usd,
                       success_probability=plan.success_probability, gb_moved=moved, gb_cross_border=border,
                       tee_nodes=tee, nodes_used=len(used), replicas=len(plan.assignments))
