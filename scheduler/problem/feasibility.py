"""Feasibility that needs no search, and its wording: a task with no eligible node, too
few distinct spread values for its replicas, or `min_success` out of reach.

These are the reasons a plan says `infeasible` before any search, in the words a
cluster scheduler uses ("0/60 nodes can run ingest: 41 lack a TEE, ...").
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..domain import Level, Rule
from ..domain.policy import RULE_PHRASES, residency_rejections
from ..domain.rules import meets
from ..domain.units import count, plural
from ..errors import InfeasibleReason

if TYPE_CHECKING:
    from . import Problem


def rejection_counts_text(first_rule: dict[str, int], level: Level) -> str:
    """'41 lack a TEE, 12 outside allowed countries' from rule counts.

    >>> from scheduler.domain import Level
    >>> rejection_counts_text({"tee": 41, "attested": 1, "reputation": 2}, Level(name="x", min_reputation=0.95))
    '41 lack a TEE, 1 is not attested, 2 below reputation 0.95'
    """
    return ", ".join(f"{c} {RULE_PHRASES[Rule(r)][c != 1].format(min_reputation=level.min_reputation)}"
                     for r, c in first_rule.items())


def static_reasons(problem: Problem, allowed: list[np.ndarray] | None = None,
                   skip: set[int] | frozenset[int] = frozenset(),
                   kept: dict[int, list[int]] | None = None) -> list[InfeasibleReason]:
    """Per-task reasons no plan can exist.

    Parameters
    ----------
    problem : Problem
    allowed : list of arrays, optional
        Narrows each task's nodes (e.g. without failed nodes).
    skip : set of int
        Tasks already finished.
    kept : dict, optional
        Per task, the nodes of replicas that stay (replanning).
    """
    reasons: list[InfeasibleReason] = []
    kept = kept or {}
    usual = [i for i in range(problem.n_tasks) if i not in skip and not kept.get(i)
             and (allowed is None or allowed[i] is problem.eligible(i))]
    placeable = placeable_by_dominance(problem, usual)
    for i in range(problem.n_tasks):
        if i in skip:
            continue
        nodes = problem.eligible(i) if allowed is None else allowed[i]
        stay = kept.get(i, [])
        if i in placeable:
            reason = _residency_reason(problem, i)
        elif nodes is problem.eligible(i) and not stay:  # the usual case: computed once per problem
            reason = problem.task_reason(i)
        else:
            reason = task_reason(problem, i, nodes, stay)
        if reason is not None:
            reasons.append(reason)
    return reasons


def placeable_by_dominance(problem: Problem, tasks: list[int]) -> set[int]:
    """The tasks among `tasks` (each on all its eligible nodes, no replica kept) whose placement rules
    hold (`_placement_reason`: eligibility, spread or quorum, min_success), proven for most of them by a
    task that dominates them instead of one check per task (residency, which depends on each task's own
    writes, is checked apart).

    Among tasks of one level, quorum and ``duration_by_gpu``, task a dominates task b when a is at least
    as long (``duration_s``), needs at least as many replicas, and b may use every node the policy lets a
    use (the same nodes, or no more GPUs and GPU memory than a): b's runtime on every node is at most a's,
    so b fits every window a fits and its eligible nodes are a superset of a's, and each replica
    completes with at least the same probability (``reputation * exp(-failures_per_hour * runtime_h)``),
    so a replica set that serves a serves b. Tasks are visited longest first; one whose shape a placeable
    task has shown, or that a placeable task dominates, needs no check. So a class of any size costs one
    check per distinct shape, and those that cannot be placed one each (their reasons are needed anyway).
    Gangs are checked one by one (a gang's reach depends on whole node sets).
    """
    classes: dict[tuple, list[int]] = {}
    for i in tasks:
        t = problem.dag.tasks[i]
        if t.nodes == 1:
            key = (problem.levels[i].name, problem.quorum[i], tuple(sorted(t.duration_by_gpu.items())))
            classes.setdefault(key, []).append(i)
    node_sets: dict[int, int] = {}  # id of a policy eligibility -> its node set's number (equal sets, one number)
    numbers: dict[bytes, int] = {}
    out: set[int] = set()
    for members in classes.values():
        members.sort(key=lambda i: -problem.dag.tasks[i].duration_s)
        shown: set[tuple[int, int, float, int]] = set()  # shapes of a placeable task at least as long as the rest
        frontier: list[tuple[int, int, float, int]] = []  # the shapes that were checked and hold
        for i in members:
            t, base = problem.dag.tasks[i], problem.policy_eligibility(i)
            if id(base) not in node_sets:
                node_sets[id(base)] = numbers.setdefault(base.nodes.tobytes(), len(numbers))
            shape = (node_sets[id(base)], t.gpus, t.gpu_memory_gb if t.gpus > 0 else 0.0, problem.required[i])
            if shape not in shown:
                if not any(r >= shape[3] and (s == shape[0] or (g >= shape[1] and m >= shape[2]))
                           for s, g, m, r in frontier):
                    if _placement_reason(problem, i, problem.eligible(i), []) is not None:
                        continue  # it cannot be placed: a shorter or smaller one may
                    frontier.append(shape)
                shown.add(shape)
            out.add(i)
    return out


def _residency_reason(problem: Problem, i: int) -> InfeasibleReason | None:
    """A write to a site where the task's output level may not rest (no placement changes that)."""
    t = problem.dag.tasks[i]
    level = problem.policy.level(problem.origins[t.id].output)
    for site, _ in problem.dag.writes[i]:
        why = residency_rejections(level, problem.dag.sites[site])
        if why:
            return InfeasibleReason(rule="residency", tasks=[t.id], counts={"residency": len(why)},
                                    message=f"{t.id} writes to site {problem.dag.sites[site].id}, but its output is "
                                            f"{level.name}: {why[0].detail}")
    return None


def task_reason(problem: Problem, i: int, nodes: np.ndarray, stay: list[int]) -> InfeasibleReason | None:
    """Why task `i` can have no plan on `nodes` with replicas on `stay` kept (None when it can): eligibility,
    spread or quorum, min_success, gang size, residency of its writes."""
    return _placement_reason(problem, i, nodes, stay) or _residency_reason(problem, i)


def _placement_reason(problem: Problem, i: int, nodes: np.ndarray, stay: list[int]) -> InfeasibleReason | None:
    t, lv = problem.dag.tasks[i], problem.levels[i]
    el = problem.eligibility(i)
    if t.nodes > 1 and len(nodes):
        return _gang_reason(problem, i, nodes, stay)
    if stay:
        codes = problem.spread_of(i)
        nodes = nodes[~np.isin(codes[nodes], codes[np.array(stay)])]
    if len(nodes) == 0 and len(stay) < problem.required[i]:
        if len(el.nodes):
            return InfeasibleReason(
                rule="eligibility", tasks=[t.id], counts={"failed_node": len(el.nodes)},
                message=f"{t.id}: {'all ' if len(el.nodes) > 1 else ''}{count(len(el.nodes), 'eligible node')} "
                        f"{'are' if len(el.nodes) > 1 else 'is'} excluded (failed or dropped)")
        return InfeasibleReason(
            rule="eligibility", tasks=[t.id], counts=dict(el.first_rule),
            message=f"0/{problem.n_nodes} nodes can run {t.id} (level {lv.name}): "
                    f"{rejection_counts_text(el.first_rule, lv)}")
    need = problem.required[i] - len(stay)
    if lv.min_success is None and need <= 1:
        return None  # one node is enough, and there is one
    best = problem.best_replica_set(i, nodes) if len(nodes) else []
    if len(best) < need:
        rule = "quorum" if lv.quorum > max(t.replicas, lv.min_replicas) else "spread"
        return InfeasibleReason(
            rule=rule, tasks=[t.id], counts={rule: len(best)},
            message=f"{t.id} needs {count(need, 'replica')}"
                    f"{f' (level {lv.name} has quorum {lv.quorum})' if rule == 'quorum' else ''} on distinct "
                    f"{plural(lv.spread_key)} but its "
                    f"{count(len(el.nodes), 'eligible node')} {'has' if len(el.nodes) == 1 else 'have'} only "
                    f"{count(len(best), 'distinct ' + lv.spread_key)}")
    if lv.min_success is not None:
        reach = problem.success(i, [*stay, *best])
        if not meets(reach, lv.min_success):
            return InfeasibleReason(
                rule="min_success", tasks=[t.id], counts={"min_success": len(best)},
                message=f"{t.id} needs success >= {lv.min_success:g} (level {lv.name}) but replicas on "
                        f"every distinct {lv.spread_key} of its eligible nodes reach only {reach:.6g}")
    return None


def _gang_reason(problem: Problem, i: int, nodes: np.ndarray, stay: list[int]) -> InfeasibleReason | None:
    """A gang task: its replicas need disjoint sets of m eligible nodes, no spread value shared between two
    replicas."""
    t, lv = problem.dag.tasks[i], problem.levels[i]
    m = t.nodes
    free = nodes[~np.isin(nodes, np.array(stay, dtype=np.int64))] if stay else nodes
    need = problem.required[i] - len(stay) // m
    if need <= 0:
        return None
    if len(free) < m * need:
        return InfeasibleReason(
            rule="gang", tasks=[t.id], counts={"gang": len(free)},
            message=f"{t.id} needs {count(need, 'replica')} of {m} nodes at once, on disjoint nodes, but only "
                    f"{count(len(free), 'eligible node')} {'is' if len(free) == 1 else 'are'} left")
    codes = problem.spread_of(i)
    distinct = len(np.unique(codes[free]))
    if distinct < need:
        return InfeasibleReason(
            rule="spread", tasks=[t.id], counts={"spread": distinct},
            message=f"{t.id} needs {count(need, 'replica')} on distinct {plural(lv.spread_key)} but its eligible "
                    f"nodes have only {count(distinct, 'distinct ' + lv.spread_key)}")
    return None
