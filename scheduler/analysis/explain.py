"""Why a task runs where it may: its effective level, the parent that raised it,
and every node's verdict with the rules that turned it away.

Example:
    >>> from scheduler import load_nodes, load_policy, load_workload, Problem
    >>> problem = Problem(load_workload("examples/llm-finetune.yaml"), load_nodes("examples/pool-60.yaml"),
    ...                   load_policy("policies/default.yaml"))
    >>> e = explain_task(problem, "ingest")
    >>> e.summary
    '3/60 nodes can run ingest: 44 lack a TEE, 2 are not attested, 1 below reputation 0.95, 10 outside allowed countries'
    >>> e.why[0]
    'ingest is restricted (its own level is internal) because it reads site customer-bucket, which holds restricted data'
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..domain.policy import LevelOrigin, Rejection, rejections, required_replicas, spread_value, window_rejection
from ..domain.units import format_duration
from ..problem import Problem, rejection_counts_text


@dataclass
class NodeVerdict:
    node: str
    eligible: bool
    rejections: list[Rejection]
    runtime_s: float
    cost_usd: float
    reputation: float
    spread_value: str
    completion_probability: float = 1.0  # reputation x exp(-failures_per_hour x runtime_h)
    failures_per_hour: float = 0.0
    windows: str = "always"  # the availability verdict: "always", or the windows and whether one holds the runtime

    def to_dict(self) -> dict[str, Any]:
        return {
            "node": self.node,
            "eligible": self.eligible,
            "rules": [r.rule.value for r in self.rejections],
            "details": [r.detail for r in self.rejections],
            "runtime_s": self.runtime_s,
            "cost_usd": self.cost_usd,
            "reputation": self.reputation,
            "failures_per_hour": self.failures_per_hour,
            "completion_probability": self.completion_probability,
            "windows": self.windows,
            "spread_value": self.spread_value,
        }


@dataclass
class Explanation:
    """Everything `scheduler explain` prints for one task."""

    task: str
    level: str
    own_level: str
    why: list[str]
    output_level: str
    required_replicas: int
    spread: str
    min_success: float | None
    quorum: int
    eligible: int
    total: int
    counts: dict[str, int]
    verdicts: list[NodeVerdict] = field(default_factory=list)
    summary: str = ""
    gangs: list[dict[str, Any]] = field(default_factory=list)  # a gang task: the fastest node sets that fit



    def to_dict(self) -> dict[str, Any]:
        return {
            "task": self.task,
            "level": self.level,
            "own_level": self.own_level,
            "output_level": self.output_level,
            "why": self.why,
            "required_replicas": self.required_replicas,
            "spread": self.spread,
            "min_success": self.min_success,
            "quorum": self.quorum,
            "eligible": self.eligible,
            "nodes": self.total,
            "rejected_by": self.counts,
            "summary": self.summary,
            "verdicts": [v.to_dict() for v in self.verdicts],
            "gangs": self.gangs,
        }


def level_chain(origins: dict[str, LevelOrigin], task: str) -> list[str]:
    """Sentences tracing a task's effective level back to the task that declared it."""
    lines: list[str] = []
    current = task
    seen: set[str] = set()
    while current not in seen:
        seen.add(current)
        o = origins[current]
        if o.raised_by_site is not None:
            lines.append(f"{current} is {o.level} (its own level is {o.own}) because it reads site "
                         f"{o.raised_by_site}, which holds {o.level} data")
            break
        if o.raised_by is None:
            lines.append(f"{current} declares {o.own}" if current == task or o.level == o.own
                         else f"{current} is {o.level}")
            break
        parent = origins[o.raised_by]
        how = (f"declassified from {parent.level} to {parent.output} by the policy's declassify_to"
               if parent.declassified else f"outputs {parent.output}")
        lines.append(f"{current} is {o.level} (its own level is {o.own}) because parent {o.raised_by} {how}")
        current = o.raised_by
    return lines


def _verdict(problem: Problem, i: int, n: int) -> NodeVerdict:
    """Node n's verdict for task i: the policy's rules, then whether a window holds the runtime."""
    node, task, level = problem.nodes.items[n], problem.dag.tasks[i], problem.levels[i]
    why = rejections(task, level, node)
    runtime = problem.runtime(i, n)
    windows = "always"
    if node.available is not None:
        spans = [f"{format_duration(w.from_s, precise=False)}-"
                 + ("open" if w.until_s is None else format_duration(w.until_s, precise=False))
                 for w in node.available]
        shown = ", ".join(spans[:3]) + (f" (+{len(spans) - 3})" if len(spans) > 3 else "")
        short = window_rejection(node, runtime)
        windows = f"{shown}; {'none holds' if short else 'holds'} {format_duration(runtime)}"
        if short and not why:  # counted under `window` once the policy's rules pass (as eligibility does)
            why = [short]
    completion = float(problem.completion(i, np.array([n]))[0])
    return NodeVerdict(node=node.id, eligible=not why, rejections=why, runtime_s=runtime, cost_usd=problem.cost(i, n),
                       reputation=node.reputation, spread_value=spread_value(level, node),
                       completion_probability=completion, failures_per_hour=node.failures_per_hour, windows=windows)


def _best_gangs(problem: Problem, i: int, shown: int = 5) -> list[dict[str, Any]]:
    """A gang task's fastest candidate node sets: which eligible nodes fit together, and at what price."""
    if problem.gang_size(i) == 1:
        return []
    sets = sorted(problem.candidate_gangs(i), key=lambda g: (problem.replica_runtime(i, g), g))[:shown]
    return [{"nodes": [problem.nodes.ids[n] for n in g], "runtime_s": problem.replica_runtime(i, g),
             "cost_usd": problem.replica_cost(i, g), "completion_probability": problem.replica_completion(i, g)}
            for g in sets]


def explain_task(problem: Problem, task_id: str) -> Explanation:
    """Explain task `task_id`: level, provenance, replica rules, and every node's verdict.

    Raises:
        KeyError: no such task in the workload.
    """
    i = problem.dag.index[task_id]
    task = problem.dag.tasks[i]
    origin = problem.origins[task_id]
    level = problem.levels[i]
    el = problem.eligibility(i)
    verdicts = [_verdict(problem, i, n) for n in range(problem.n_nodes)]
    verdicts.sort(key=lambda v: (not v.eligible, v.runtime_s, v.node))
    n_ok = len(el.nodes)
    summary = f"{n_ok}/{problem.n_nodes} nodes can run {task_id}"
    if el.first_rule:
        summary += ": " + rejection_counts_text(el.first_rule, level)
    if task.nodes > 1:
        sets = len(problem.candidate_gangs(i))
        summary += (f"; a replica spans {task.nodes} of them at once ({sets} candidate node "
                    f"set{'s' if sets != 1 else ''} tried)")
    return Explanation(
        task=task_id, level=origin.level, own_level=origin.own, output_level=origin.output,
        why=level_chain(problem.origins, task_id),
        required_replicas=required_replicas(task, level), spread=level.spread_key,
        min_success=level.min_success, quorum=level.quorum, eligible=n_ok, total=problem.n_nodes, counts=dict(el.first_rule),
        verdicts=verdicts, summary=summary, gangs=_best_gangs(problem, i),
    )
