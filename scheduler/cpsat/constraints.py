"""The CP-SAT constraints: one node per present slot, replica rules, GPU capacity,
precedence with the transfer time between the nodes chosen, makespan, deadline
and a workflow success target.

Precedence follows the contract's rule exactly: each replica of a child picks
one replica of each parent as its data source (a literal) and starts after that
replica's end plus the transfer between their nodes. The transfer of ``D`` GB
between different nodes a, b is ``D*8/min(bw_a, bw_b) = max(D*8/bw_a, D*8/bw_b)``,
so two linear constraints (one per side) encode it without a variable per node
pair; `links` overrides get a literal per matching region or node pair that
switches the default off and its own time on.
"""

from __future__ import annotations

import math
from collections import defaultdict

import numpy as np
from ortools.sat.python import cp_model

from .data import MAX_WEIGHT, WEIGHT_SCALE, SolverData
from .variables import SlotVars, Variables


def _lits(*items: object) -> list:
    """Enforcement literals without the constant-true ones."""
    return [x for x in items if x is not None and not isinstance(x, int)]


def add_assignment(model: cp_model.CpModel, data: SolverData, v: Variables) -> None:
    """Each present slot takes one node; optional slots are used in order; slots of a task
    use distinct nodes (and distinct spread values), in increasing node order."""
    p = data.problem
    for i, slot_ids in enumerate(data.task_slots):
        free = [k for k in slot_ids if not data.slots[k].is_fixed]
        if not free:
            continue
        for k in free:
            sv = v.slots[k]
            model.Add(sum(sv.x.values()) == sv.present)
        for a, b in zip(free, free[1:]):
            sa, sb = v.slots[a], v.slots[b]
            if not isinstance(sb.present, int):
                model.AddImplication(sb.present, sa.present) if not isinstance(sa.present, int) else None
            model.Add(sb.index >= sa.index + 1).OnlyEnforceIf(_lits(sb.present))
        codes = p.spread_of(i)
        by_code: dict[int, list] = defaultdict(list)
        for k in free:
            for n, lit in v.slots[k].x.items():
                by_code[int(codes[n])].append(lit)
        if len(free) > 1:
            for lits in by_code.values():
                if len(lits) > 1:
                    model.AddAtMostOne(lits)


def add_min_success(model: cp_model.CpModel, data: SolverData, v: Variables) -> None:
    """1 - prod(1 - reputation) >= min_success, as a sum of failure weights (rounded down)."""
    p = data.problem
    for i, slot_ids in enumerate(data.task_slots):
        level = p.levels[i]
        if level.min_success is None or not any(not data.slots[k].is_fixed for k in slot_ids):
            continue
        need = math.ceil(-math.log1p(-min(level.min_success, 1 - 1e-15)) * WEIGHT_SCALE)
        have = sum(int(data.weight[data.slots[k].fixed[0]]) for k in slot_ids if data.slots[k].is_fixed)
        terms = [int(data.weight[n]) * lit for k in slot_ids for n, lit in v.slots[k].x.items()]
        model.Add(sum(terms) + have >= need)


def add_capacity(model: cp_model.CpModel, data: SolverData, v: Variables) -> None:
    """GPUs held on a node never exceed its slots (skipped where they never could)."""
    p = data.problem
    per_node: dict[int, list[tuple[cp_model.IntervalVar, int]]] = defaultdict(list)
    for k, slot in enumerate(data.slots):
        g = p.tasks[slot.task].gpus
        for n, iv in v.slots[k].intervals.items():
            per_node[n].append((iv, g))
    for n, items in per_node.items():
        cap = int(p.gpus[n])
        if sum(g for _, g in items) <= cap:
            continue
        if all(2 * g > cap for _, g in items):
            model.AddNoOverlap([iv for iv, _ in items])
        else:
            model.AddCumulative([iv for iv, _ in items], [g for _, g in items], cap)


def add_makespan(model: cp_model.CpModel, data: SolverData, v: Variables, deadline: int | None) -> None:
    for sv in v.slots:
        model.Add(v.makespan >= sv.end).OnlyEnforceIf(_lits(sv.present))
    if deadline is not None:
        model.Add(v.makespan <= deadline)


class _Links:
    """Bandwidth overrides of the pool, by region pair and node pair, as transfer units per GB."""

    def __init__(self, data: SolverData) -> None:
        p = data.problem
        self.region_pairs: list[tuple[int, int, float]] = []
        n_regions = p.region_bw.shape[0]
        for a in range(n_regions):
            for b in range(n_regions):
                bw = p.region_bw[a, b]
                if not math.isnan(bw):
                    self.region_pairs.append((a, b, float(bw)))
        self.node_pairs: list[tuple[int, int, float]] = [
            (a, b, bw) for a, links in p.node_link_bw.items() for b, bw in links.items()
        ]

    @property
    def any(self) -> bool:
        return bool(self.region_pairs or self.node_pairs)


def add_precedence(model: cp_model.CpModel, data: SolverData, v: Variables) -> dict[tuple[int, int, int], object]:
    """Each child slot starts after the data of every parent arrives from one chosen parent slot.

    Returns the source literals keyed by (child slot, parent task, parent slot), for hints.
    """
    p = data.problem
    links = _Links(data)
    sources: dict[tuple[int, int, int], object] = {}
    for c, slot_ids in enumerate(data.task_slots):
        for b in slot_ids:
            if data.slots[b].is_fixed:
                continue
            sb = v.slots[b]
            for parent, data_gb in p.parents[c]:
                pslots = data.task_slots[parent]
                single = len(pslots) == 1 and (data.slots[pslots[0]].mandatory or data.slots[pslots[0]].is_fixed)
                lits = []
                for a in pslots:
                    sa = v.slots[a]
                    if single:
                        src = None
                    else:
                        src = model.NewBoolVar(f"src{b}_{a}")
                        if not isinstance(sa.present, int):
                            model.AddImplication(src, sa.present)
                        lits.append(src)
                    sources[(b, parent, a)] = src
                    model.Add(sb.start >= sa.end).OnlyEnforceIf(_lits(src))
                    if data_gb > 0:
                        _add_transfer(model, data, links, sa, data.slots[a].nodes, sb, data.slots[b].nodes, data_gb,
                                      src, f"{b}_{a}")
                if lits:
                    model.Add(sum(lits) >= 1).OnlyEnforceIf(_lits(sb.present))
    return sources


def _add_transfer(model: cp_model.CpModel, data: SolverData, links: _Links, sa: SlotVars, nodes_a: np.ndarray,
                  sb: SlotVars, nodes_b: np.ndarray, data_gb: float, src: object, tag: str) -> None:
    p = data.problem
    # same node: no transfer
    same = None
    if sa.fixed_node is not None:
        same = sb.x.get(sa.fixed_node)
    elif np.intersect1d(nodes_a, nodes_b, assume_unique=True).size:
        same = model.NewBoolVar(f"same{tag}")
        model.Add(sa.index == sb.index).OnlyEnforceIf(same)
    not_same = same.Not() if same is not None else None

    seconds = data_gb * 8.0
    out_u = data.transfer_units(seconds / p.bandwidth[nodes_a])
    in_u = data.transfer_units(seconds / p.bandwidth[nodes_b])
    if sa.fixed_node is not None:
        out_expr = int(out_u[0])
    else:
        out_expr = sum(int(u) * sa.x[int(n)] for n, u in zip(nodes_a, out_u) if u)
    in_expr = sum(int(u) * sb.x[int(n)] for n, u in zip(nodes_b, in_u) if u)

    overrides: list = []
    if links.any:
        overrides = _add_overrides(model, data, links, sa, nodes_a, sb, nodes_b, seconds, src, not_same, tag)
    off = [o.Not() for o in overrides]
    model.Add(sb.start >= sa.end + out_expr).OnlyEnforceIf(_lits(src, not_same, *off))
    model.Add(sb.start >= sa.end + in_expr).OnlyEnforceIf(_lits(src, not_same, *off))


def _slot_region_expr(p, sv: SlotVars, nodes: np.ndarray, region: int):
    """1 when the slot sits in `region`: a constant for fixed slots, else a sum of literals (or None)."""
    if sv.fixed_node is not None:
        return 1 if int(p.region_code[sv.fixed_node]) == region else None
    lits = [sv.x[int(n)] for n in nodes if int(p.region_code[n]) == region]
    return sum(lits) if lits else None


def _add_overrides(model, data: SolverData, links: _Links, sa: SlotVars, nodes_a, sb: SlotVars, nodes_b,
                   seconds: float, src, not_same, tag: str) -> list:
    p = data.problem
    made: list = []
    node_lits: dict[tuple[int, int], object] = {}
    for n1, n2, bw in links.node_pairs:
        la = (1 if sa.fixed_node == n1 else None) if sa.fixed_node is not None else sa.x.get(n1)
        lb = sb.x.get(n2)
        if la is None or lb is None:
            continue
        w = lb if isinstance(la, int) else model.NewBoolVar(f"nl{tag}_{n1}_{n2}")
        if not isinstance(la, int):
            model.AddBoolAnd([la, lb]).OnlyEnforceIf(w)
            model.AddBoolOr([la.Not(), lb.Not(), w])
        node_lits[(n1, n2)] = w
        made.append(w)
        units = math.ceil(seconds / bw / data.quantum_s - 1e-9)
        model.Add(sb.start >= sa.end + units).OnlyEnforceIf(_lits(src, w))
    for ra, rb, bw in links.region_pairs:
        ea = _slot_region_expr(p, sa, nodes_a, ra)
        eb = _slot_region_expr(p, sb, nodes_b, rb)
        if ea is None or eb is None:
            continue
        z = model.NewBoolVar(f"rl{tag}_{ra}_{rb}")
        model.Add(z <= ea)
        model.Add(z <= eb)
        model.Add(z >= ea + eb - 1)
        made.append(z)
        inside = [w.Not() for (n1, n2), w in node_lits.items()
                  if int(p.region_code[n1]) == ra and int(p.region_code[n2]) == rb]
        units = math.ceil(seconds / bw / data.quantum_s - 1e-9)
        model.Add(sb.start >= sa.end + units).OnlyEnforceIf(_lits(src, z, not_same, *inside))
    return made


# --- workflow success target ------------------------------------------------------

Y_SCALE = 1_000_000_000
SLOPE_DEN = 1024
BREAKPOINTS = 24


def add_success_target(model: cp_model.CpModel, data: SolverData, v: Variables, target: float) -> None:
    """prod over tasks of (1 - prod(1 - reputation)) >= target.

    With u = sum of a task's failure weights, log(task success) = log(1 - e^-u), a
    concave function; each task's share y is held under chords of it through points
    rounded down (so y never overstates), and the shares must add up to log(target).
    Each task alone must also reach `target` (u >= -log(1 - target)).
    """
    log_target = math.log(target)
    u0 = -math.log1p(-min(target, 1 - 1e-15))
    u_max = MAX_WEIGHT * 4
    points = [u0 * (u_max / u0) ** (k / (BREAKPOINTS - 1)) for k in range(BREAKPOINTS)]
    U = [round(u * WEIGHT_SCALE) for u in points]
    Phi = [math.floor(math.log(-math.expm1(-u / WEIGHT_SCALE)) * Y_SCALE) for u in U]
    shares = []
    for i, slot_ids in enumerate(data.task_slots):
        if not slot_ids:
            continue
        have = sum(int(data.weight[data.slots[k].fixed[0]]) for k in slot_ids if data.slots[k].is_fixed)
        terms = [int(data.weight[n]) * lit for k in slot_ids for n, lit in v.slots[k].x.items()]
        u = sum(terms) + have
        if not terms:
            # fully fixed or finished: a constant share
            val = have / WEIGHT_SCALE
            shares.append(math.floor(math.log(-math.expm1(-max(val, 1e-300))) * Y_SCALE) if val > 0 else -10**15)
            continue
        model.Add(u >= math.ceil(u0 * WEIGHT_SCALE))
        y = model.NewIntVar(math.floor(log_target * Y_SCALE) - 1, 0, f"logsucc{i}")
        for k in range(BREAKPOINTS - 1):
            slope = (Phi[k + 1] - Phi[k]) / (U[k + 1] - U[k])
            num = math.floor(slope * SLOPE_DEN)
            model.Add(SLOPE_DEN * y <= SLOPE_DEN * Phi[k] + num * (u - U[k]))
        model.Add(y <= Phi[-1])
        shares.append(y)
    model.Add(sum(shares) >= math.ceil(log_target * Y_SCALE))
