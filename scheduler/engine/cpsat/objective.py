"""Objective expressions: makespan, cost (in 1/10,000 USD) and moved tasks."""

from __future__ import annotations

from ortools.sat.python import cp_model

from .data import SolverData
from .variables import Variables

COST_SCALE = 10_000  # objective cost unit: 0.0001 USD


def cost_expr(data: SolverData, v: Variables) -> cp_model.LinearExprT:
    """Cost of the replicas the solver places (fixed replicas are a constant and left out)."""
    p = data.problem
    terms = []
    for k, slot in enumerate(data.slots):
        if slot.is_fixed:
            continue
        costs = slot.costs if slot.costs is not None else p.costs(slot.task, slot.nodes)
        for n, c in zip(slot.nodes, costs):
            units = round(float(c) * COST_SCALE)
            if units:
                terms.append(units * v.slots[k].x[int(n)])
    for g, gv in v.gangs.items():  # a gang replica: its set's cost (its members' slots cost nothing)
        terms.extend(round(float(c) * COST_SCALE) * lit for c, lit in zip(data.gangs[g].costs, gv.choice))
    return sum(terms) if terms else 0


def kept_expr(data: SolverData, v: Variables, preferred: dict[int, set[int]]) -> cp_model.LinearExprT:
    """How many replicas stay on a node of the base plan (to maximise: fewer moves)."""
    terms = []
    for i, nodes in preferred.items():
        for k in data.task_slots[i]:
            sv = v.slots[k]
            terms.extend(sv.x[n] for n in nodes if n in sv.x)
    return sum(terms) if terms else 0


def cost_upper_bound(data: SolverData) -> int:
    """An upper bound of `cost_expr` (every slot on its dearest node)."""
    p = data.problem
    total = 0
    for slot in data.slots:
        if not slot.is_fixed and len(slot.nodes):
            costs = slot.costs if slot.costs is not None else p.costs(slot.task, slot.nodes)
            total += round(float(costs.max()) * COST_SCALE)
    for choice in data.gangs.values():
        total += max(round(float(c) * COST_SCALE) for c in choice.costs)
    return total


def cost_lower_bound(data: SolverData) -> int:
    """`cost_expr` of any solution is at least each task's mandatory slots on its cheapest
    distinct candidates (same rounding as `cost_expr`, so the bound is exact on its scale)."""
    p = data.problem
    total = 0
    for i, slot_ids in enumerate(data.task_slots):
        free = [data.slots[k] for k in slot_ids if not data.slots[k].is_fixed]
        need = sum(1 for sl in free if sl.mandatory)
        if need == 0:
            continue
        if free[0].group is not None:  # a gang: each replica on its cheapest set
            total += sum(min(round(float(c) * COST_SCALE) for c in choice.costs)
                         for g, choice in data.gangs.items() if choice.task == i)
            continue
        units = sorted(round(float(c) * COST_SCALE) for c in p.costs(i, free[0].nodes))
        total += sum(units[:need])
    return total
