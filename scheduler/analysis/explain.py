"""Why a task runs where it may: its effective level, the parent that raised it,
and every node's verdict with the rules that turned it away.

Example:
    >>> from scheduler import load_nodes, load_policy, load_workload, Problem
    >>> problem = Problem(load_workload("examples/llm-finetune.yaml"), load_nodes("examples/pool-60.yaml"),
    ...                   load_policy("policies/default.yaml"))
    >>> explain_task(problem, "ingest").summary
    '3/60 nodes can run ingest: 44 lack a TEE, 2 are not attested, 1 below reputation 0.95, 10 outside allowed countries'
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..domain.policy import LevelOrigin, Rejection, rejections, required_replicas, spread_value
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

    def to_dict(self) -> dict[str, Any]:
        return {
            "node": self.node,
            "eligible": self.eligible,
            "rules": [r.rule.value for r in self.rejections],
            "details": [r.detail for r in self.rejections],
            "runtime_s": self.runtime_s,
            "cost_usd": self.cost_usd,
            "reputation": self.reputation,
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
    eligible: int
    total: int
    counts: dict[str, int]
    verdicts: list[NodeVerdict] = field(default_factory=list)
    summary: str = ""

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
            "eligible": self.eligible,
            "nodes": self.total,
            "rejected_by": self.counts,
            "summary": self.summary,
            "verdicts": [v.to_dict() for v in self.verdicts],
        }


def level_chain(origins: dict[str, LevelOrigin], task: str) -> list[str]:
    """Sentences tracing a task's effective level back to the task that declared it."""
    lines: list[str] = []
    current = task
    seen: set[str] = set()
    while current not in seen:
        seen.add(current)
        o = origins[current]
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
    verdicts = []
    for n, node in enumerate(problem.nodes.items):
        why = rejections(task, level, node)
        verdicts.append(NodeVerdict(node=node.id, eligible=not why, rejections=why,
                                    runtime_s=problem.runtime(i, n), cost_usd=problem.cost(i, n),
                                    reputation=node.reputation, spread_value=spread_value(level, node)))
    verdicts.sort(key=lambda v: (not v.eligible, v.runtime_s, v.node))
    n_ok = len(el.nodes)
    summary = f"{n_ok}/{problem.n_nodes} nodes can run {task_id}"
    if el.first_rule:
        summary += ": " + rejection_counts_text(el.first_rule, level)
    return Explanation(
        task=task_id, level=origin.level, own_level=origin.own, output_level=origin.output,
        why=level_chain(problem.origins, task_id),
        required_replicas=required_replicas(task, level), spread=level.spread_key,
        min_success=level.min_success, eligible=n_ok, total=problem.n_nodes, counts=dict(el.first_rule),
        verdicts=verdicts, summary=summary,
    )
