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
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from ortools.sat.python import cp_model

from ...domain.rules import MAX_FAILURE_WEIGHT, ROUNDING_EPS, replicas_needed, task_success, weight_needed
from .data import WEIGHT_SCALE, SolverData
from .variables import Variables


def _is_true(x: object) -> bool:
    """A constant-true literal (ints stand for constants; solver literals never compare)."""
    return isinstance(x, int) and x == 1


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
        if p.gang_size(i) > 1:  # members share their replica's start and set (`variables`); replicas differ
            _gang_replicas_apart(model, data, v, i, free)
            continue
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


def _gang_replicas_apart(model: cp_model.CpModel, data: SolverData, v: Variables, i: int, free: list[int]) -> None:
    """Gang task i's replicas take sets that share no spread value (so no node), in increasing set order."""
    groups = sorted({data.slots[k].group for k in free})
    if len(groups) < 2:
        return
    codes = data.problem.spread_of(i)
    by_code: dict[int, list] = defaultdict(list)
    for g in groups:
        for gang, lit in zip(data.gangs[g].sets, v.gangs[g].choice):
            for c in set(codes[list(gang)].tolist()):
                by_code[c].append(lit)
    for lits in by_code.values():
        if len(lits) > 1:
            model.AddAtMostOne(lits)
    for a, b in zip(groups, groups[1:]):  # replicas alike: the one with the earlier set first
        model.Add(v.gangs[b].index >= v.gangs[a].index + 1)


def add_min_success(model: cp_model.CpModel, data: SolverData, v: Variables) -> None:
    """1 - prod(1 - p) >= min_success, as a sum of failure weights (rounded down); with a quorum,
    `add_quorum_success`."""
    p = data.problem
    for i, slot_ids in enumerate(data.task_slots):
        level = p.levels[i]
        if level.min_success is None or not any(not data.slots[k].is_fixed for k in slot_ids):
            continue
        if p.gang_size(i) > 1:  # a weight per node set (every member completes), as below
            need = math.ceil(weight_needed(level.min_success) * WEIGHT_SCALE)
            model.Add(sum(int(w) * lit for g, gv in v.gangs.items() if data.gangs[g].task == i
                          for w, lit in zip(data.gangs[g].weight, gv.choice)) >= need)
            continue
        if p.quorum[i] > 1:
            add_quorum_success(model, data, v, i)
            continue
        need = math.ceil(weight_needed(level.min_success) * WEIGHT_SCALE)
        have, terms = _weight_terms(data, v, slot_ids)
        model.Add(sum(terms) + have >= need)


class QuorumCounts:
    """For a task with a quorum k: how many replicas it has (`count`) and, per distinct completion
    probability among its candidates, a literal 'some replica completes with only this' (`floor`).
    At least k of c replicas that each complete with probability >= v do so with probability
    >= `task_success([v] * c, k)`: rules written against the lowest value present are sound,
    and exact when all candidates are alike."""

    def __init__(self, model: cp_model.CpModel, data: SolverData, v: Variables, i: int) -> None:
        p, slot_ids = data.problem, data.task_slots[i]
        self.count = sum(v.slots[k].present for k in slot_ids)
        self.most = len(slot_ids)
        probs: dict[int, float] = {}
        for k in slot_ids:
            for n in data.slots[k].nodes.tolist():
                probs.setdefault(n, float(p.completion(i, np.array([n]))[0]))
        self.values = sorted(set(probs.values()))
        self.floor: dict[float, object] = {}
        for value in self.values:
            lit = model.NewBoolVar(f"qfloor{i}_{len(self.floor)}")
            self.floor[value] = lit
        for k in slot_ids:
            sv = v.slots[k]
            if sv.fixed_node is not None:
                model.Add(self.floor[probs[sv.fixed_node]] == 1)
                continue
            for n, x in sv.x.items():
                model.AddImplication(x, self.floor[probs[n]])
        data.conservative = data.conservative or len(self.values) > 1


def add_quorum_success(model: cp_model.CpModel, data: SolverData, v: Variables, i: int) -> None:
    """At least `quorum` of task i's replicas complete with probability >= min_success: with the lowest
    completion probability v present, the replicas number at least `replicas_needed(v, ...)`."""
    p = data.problem
    counts = QuorumCounts(model, data, v, i)
    for value, lit in counts.floor.items():
        c = replicas_needed(value, p.quorum[i], p.levels[i].min_success, counts.most)
        if c is None:
            model.Add(lit == 0)
        else:
            model.Add(counts.count >= c).OnlyEnforceIf(lit)


def add_reads_and_windows(model: cp_model.CpModel, data: SolverData, v: Variables) -> None:
    """A slot starts after its reads arrive and, on a node with availability windows, within one of them
    (start and end inside, `SolverData` rounding inwards)."""
    for k, slot in enumerate(data.slots):
        sv = v.slots[k]
        if slot.is_fixed:
            continue
        if slot.ready is not None and slot.ready.any():
            model.Add(sv.start >= sum(int(u) * sv.x[int(n)] for n, u in zip(slot.nodes, slot.ready) if u))
        if slot.group == k and data.gangs[k].windows is not None:  # a gang replica: every member's windows
            for starts, lit in zip(data.gangs[k].windows, v.gangs[k].choice):
                _start_in(model, sv.start, starts, lit)
        if slot.windows is None:
            continue
        for n, starts in zip(slot.nodes.tolist(), slot.windows):
            _start_in(model, sv.start, starts, sv.x[n])


def _start_in(model: cp_model.CpModel, start: cp_model.IntVar, starts: list[tuple[int, int]], lit) -> None:
    """When `lit` holds, `start` lies in one of the inclusive intervals `starts` (none: `lit` is false)."""
    if not starts:
        model.Add(lit == 0)
    elif len(starts) > 1 or starts[0][0] > 0 or starts[0][1] < 2**40:
        domain = cp_model.Domain.FromIntervals([list(iv) for iv in starts])
        model.AddLinearExpressionInDomain(start, domain).OnlyEnforceIf(lit)


def _weight_terms(data: SolverData, v: Variables, slot_ids: list[int]) -> tuple[int, list]:
    """A task's failure weight: the fixed slots' (a constant) and a term per candidate literal."""
    have = sum(int(data.slots[k].weight[0]) for k in slot_ids if data.slots[k].is_fixed)
    terms = [int(w) * v.slots[k].x[int(n)] for k in slot_ids if not data.slots[k].is_fixed
             for n, w in zip(data.slots[k].nodes, data.slots[k].weight)]
    return have, terms


def add_capacity(model: cp_model.CpModel, data: SolverData, v: Variables) -> None:
    """GPUs held on a node never exceed its slots (skipped where they never could)."""
    p = data.problem
    per_node: dict[int, list[tuple[cp_model.IntervalVar, int]]] = defaultdict(list)
    for k, slot in enumerate(data.slots):
        g = p.dag.tasks[slot.task].gpus
        for n, iv in v.slots[k].intervals.items():
            per_node[n].append((iv, g))
    for n, items in per_node.items():
        cap = int(p.nodes.gpus[n])
        if sum(g for _, g in items) <= cap:
            continue
        if all(2 * g > cap for _, g in items):
            model.AddNoOverlap([iv for iv, _ in items])
        else:
            model.AddCumulative([iv for iv, _ in items], [g for _, g in items], cap)


def add_makespan(model: cp_model.CpModel, data: SolverData, v: Variables, deadline: int | None) -> dict:
    """makespan >= every present slot's end (plus its task's `tail`) and every write's delivery;
    makespan <= deadline. Returns the delivery literals (`add_deliveries`)."""
    for k, sv in enumerate(v.slots):
        tail = int(data.tail[data.slots[k].task]) if data.tail is not None else 0
        model.Add(v.makespan >= sv.end + tail).OnlyEnforceIf(_lits(sv.present))
    if deadline is not None:
        model.Add(v.makespan <= deadline)
    return add_deliveries(model, data, v)


def add_deliveries(model: cp_model.CpModel, data: SolverData, v: Variables) -> dict[tuple[int, int], object]:
    """A write is delivered at the quorum-th earliest of its replicas' end + transfer: per write, a literal
    per slot ('this copy counts'); at least the quorum of them are on, and each one on bounds the makespan."""
    p = data.problem
    out: dict[tuple[int, int], object] = {}  # (slot, write) -> literal
    for i, slot_ids in enumerate(data.task_slots):
        if not p.dag.writes[i] or not slot_ids:
            continue
        for w in range(len(p.dag.writes[i])):
            lits = []
            for k in slot_ids:
                slot, sv = data.slots[k], v.slots[k]
                d = model.NewBoolVar(f"dlv{k}_{w}")
                if not isinstance(sv.present, int):
                    model.AddImplication(d, sv.present)
                if sv.fixed_node is not None:
                    transfer = int(slot.writes[w][0])
                else:
                    transfer = sum(int(u) * sv.x[int(n)] for n, u in zip(slot.nodes, slot.writes[w]) if u)
                model.Add(v.makespan >= sv.end + transfer).OnlyEnforceIf(d)
                out[(k, w)] = d
                lits.append(d)
            model.Add(sum(lits) >= p.quorum[i])
    return out


def warmstart_deliveries(model: cp_model.CpModel, data: SolverData, deliveries: dict[tuple[int, int], object],
                         placed: dict[int, tuple[int, int, int]]) -> int:
    """Hint the delivery literals: per write, the quorum earliest copies of the placed slots. Returns the
    latest delivery (units)."""
    p = data.problem
    latest = 0
    for i, slot_ids in enumerate(data.task_slots):
        if not p.dag.writes[i]:
            continue
        for w in range(len(p.dag.writes[i])):
            arrivals = []
            for k in slot_ids:
                if k in placed and (k, w) in deliveries:
                    node, _, end = placed[k]
                    col = int(np.flatnonzero(data.slots[k].nodes == node)[0])
                    arrivals.append((end + int(data.slots[k].writes[w][col]), k))
            arrivals.sort()
            chosen = {k for _, k in arrivals[: p.quorum[i]]}
            for k in slot_ids:
                if (k, w) in deliveries:
                    model.AddHint(deliveries[(k, w)], k in chosen)
            if len(arrivals) >= p.quorum[i]:
                latest = max(latest, arrivals[p.quorum[i] - 1][0])
    return latest


class _Links:
    """Bandwidth overrides of the pool and the per-slot literals that encode them.

    Region overrides are handled per *parent region*: when the parent replica sits in
    a region with overrides, the child's arrival is `E_a + T(region_a, region_b)` on
    the child's side (its own link speed where no override applies), plus the
    parent's own link side when no override applies. The region literals of a slot
    are shared by every edge of that slot.
    """

    def __init__(self, model: cp_model.CpModel, data: SolverData, v: Variables) -> None:
        self.model, self.data, self.v = model, data, v
        p = data.problem
        n_regions = p.links.region_bw.shape[0]
        self.partners: dict[int, set[int]] = {}
        for a in range(n_regions):
            for b in range(n_regions):
                if not math.isnan(p.links.region_bw[a, b]):
                    self.partners.setdefault(a, set()).add(b)
        self.node_pairs: list[tuple[int, int, float]] = [
            (a, b, bw) for a, links in p.links.node_link_bw.items() for b, bw in links.items()
        ]
        self._region: dict[tuple[int, int], object] = {}
        self._in_override: dict[int, object] = {}
        self._partner: dict[tuple[int, int], object] = {}
        # small pools with overrides: every node pair's seconds per GB (`add_transfer_by_receiver`)
        self.per_gb = p.links.seconds_per_gb() if self.any and p.n_nodes <= PAIR_TABLE_NODES else None

    @property
    def any(self) -> bool:
        return bool(self.partners or self.node_pairs)

    def region(self, k: int, region: int):
        """Literal (or constant) 'slot k sits in `region`'; None when it never can."""
        key = (k, region)
        if key not in self._region:
            sv, slot, p = self.v.slots[k], self.data.slots[k], self.data.problem
            if sv.fixed_node is not None:
                self._region[key] = 1 if int(p.nodes.category.region.codes[sv.fixed_node]) == region else None
            else:
                lits = [sv.x[int(n)] for n in slot.nodes if int(p.nodes.category.region.codes[n]) == region]
                if not lits:
                    self._region[key] = None
                else:
                    r = self.model.NewBoolVar(f"reg{k}_{region}")
                    self.model.Add(sum(lits) == r)
                    self._region[key] = r
        return self._region[key]

    def in_override_region(self, k: int):
        """Literal 'slot k sits in a region that has overrides' (None: never; 1: always)."""
        if k not in self._in_override:
            self._in_override[k] = self._in_any(k, self.partners, f"ovr{k}")
        return self._in_override[k]

    def partnered(self, k: int, region: int):
        """Literal 'slot k sits in a region with an override towards `region`'."""
        key = (k, region)
        if key not in self._partner:
            self._partner[key] = self._in_any(k, self.partners.get(region, ()), f"prt{k}_{region}")
        return self._partner[key]

    def warmstart(self, model: cp_model.CpModel, region_of: dict[int, int]) -> None:
        """Hint the region literals made so far from each placed slot's region (`region_of`)."""
        for (k, region), lit in self._region.items():
            if lit is not None and not isinstance(lit, int):
                model.AddHint(lit, region_of.get(k) == region)
        for k, lit in self._in_override.items():
            if lit is not None and not isinstance(lit, int):
                model.AddHint(lit, region_of.get(k) in self.partners)
        for (k, region), lit in self._partner.items():
            if lit is not None and not isinstance(lit, int):
                model.AddHint(lit, region_of.get(k) in self.partners.get(region, ()))

    def _in_any(self, k: int, regions, name: str):
        """Literal 'slot k sits in one of `regions`' (None: never; 1: always)."""
        lits = [x for x in (self.region(k, r) for r in regions) if x is not None]
        if not lits:
            return None
        if any(isinstance(x, int) for x in lits):
            return 1
        o = self.model.NewBoolVar(name)
        self.model.Add(sum(lits) == o)
        return o


@dataclass
class PrecedenceVars:
    """The auxiliary literals of the precedence constraints, kept for hints."""

    sources: dict[tuple[int, int, int], object] = field(default_factory=dict)  # (child slot, parent, slot)
    same: dict[tuple[int, int], object] = field(default_factory=dict)  # (child slot, parent slot)
    node_pairs: dict[tuple[int, int, int, int], object] = field(default_factory=dict)  # (b, a, n1, n2)
    links: _Links | None = None

    def warmstart(self, model: cp_model.CpModel, data: SolverData, placed: dict[int, tuple[int, int, int]]) -> None:
        """Hint the data sources (the parent slot whose data arrives first), same-node, node-pair and
        region literals from the placed slots (`Variables.warmstart`)."""
        p = data.problem
        data_of = {(c, pp): d for c in range(p.n_tasks) for pp, d in p.dag.parents[c]}
        for (b, parent, a), src in self.sources.items():
            if src is None:
                continue
            if b not in placed:
                model.AddHint(src, False)
                continue
            nb = placed[b][0]
            best_a, best_t = None, math.inf
            for a2 in data.task_slots[parent]:
                if a2 in placed:
                    na, _, ea = placed[a2]
                    t = ea + data.units(p.links.transfer(na, nb, data_of[(data.slots[b].task, parent)]))
                    if t < best_t:
                        best_a, best_t = a2, t
            model.AddHint(src, a == best_a)
        for (b, a), lit in self.same.items():
            model.AddHint(lit, b in placed and a in placed and placed[a][0] == placed[b][0])
        for (b, a, n1, n2), lit in self.node_pairs.items():
            model.AddHint(lit, b in placed and a in placed and placed[a][0] == n1 and placed[b][0] == n2)
        if self.links is not None:
            self.links.warmstart(model, {k: int(p.nodes.category.region.codes[node])
                                         for k, (node, _, _) in placed.items()})


def add_precedence(model: cp_model.CpModel, data: SolverData, v: Variables,
                   check: Callable[[], None] = lambda: None) -> PrecedenceVars:
    """Each child slot starts after the data of every parent arrives from one chosen parent slot; `check` is
    called before each task's (it may raise to stop the construction)."""
    p = data.problem
    links = _Links(model, data, v)
    out = PrecedenceVars(links=links)
    sources = out.sources
    for c, slot_ids in enumerate(data.task_slots):
        check()
        for b in slot_ids:
            if data.slots[b].is_fixed:
                continue
            sb = v.slots[b]
            for parent, data_gb in p.dag.parents[c]:
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
                    if data_gb > 0 and links.per_gb is not None:
                        _add_transfer_by_receiver(model, data, links, a, b, data_gb, src)
                    elif data_gb > 0:
                        _add_transfer(model, data, links, a, b, data_gb, src, out)
                if lits:  # the quorum-th arrival: that many distinct parent slots each bound the start
                    model.Add(sum(lits) >= p.quorum[parent]).OnlyEnforceIf(_lits(sb.present))
    return out


PAIR_TABLE_NODES = 64  # pools with link overrides up to this size: one constraint per edge and child node


def _add_transfer(model: cp_model.CpModel, data: SolverData, links: _Links, a: int, b: int, data_gb: float,
                  src: object, out: PrecedenceVars) -> None:
    """child slot b starts after parent slot a's end plus the transfer between their nodes."""
    p = data.problem
    sa, sb = links.v.slots[a], links.v.slots[b]
    nodes_a, nodes_b = data.slots[a].nodes, data.slots[b].nodes
    same = None
    if sa.fixed_node is not None:
        same = sb.x.get(sa.fixed_node)
    elif np.intersect1d(nodes_a, nodes_b, assume_unique=True).size:
        same = model.NewBoolVar(f"same{b}_{a}")
        model.Add(sa.index == sb.index).OnlyEnforceIf(same)
        out.same[(b, a)] = same
    not_same = same.Not() if same is not None else None

    seconds = data_gb * 8.0
    out_u = data.transfer_units(seconds / p.nodes.bandwidth[nodes_a])
    in_u = data.transfer_units(seconds / p.nodes.bandwidth[nodes_b])

    def out_expr(mask: np.ndarray | None = None):
        if sa.fixed_node is not None:
            return int(out_u[0]) if mask is None or mask[0] else 0
        return sum(int(u) * sa.x[int(n)] for k, (n, u) in enumerate(zip(nodes_a, out_u))
                   if u and (mask is None or mask[k]))

    in_default = sum(int(u) * sb.x[int(n)] for n, u in zip(nodes_b, in_u) if u)

    node_lits = _node_pair_overrides(model, data, links, a, b, seconds, src, out) if links.node_pairs else []
    off = [w.Not() for w in node_lits]
    base = _lits(src, not_same, *off)
    if not links.partners:
        model.Add(sb.start >= sa.end + out_expr()).OnlyEnforceIf(base)
        model.Add(sb.start >= sa.end + in_default).OnlyEnforceIf(base)
        return
    region_a = p.nodes.category.region.codes[nodes_a]
    region_b = p.nodes.category.region.codes[nodes_b]
    in_ovr = links.in_override_region(a)
    if not _is_true(in_ovr):
        # the parent sits in a region without overrides: the default, both sides
        not_ovr = in_ovr.Not() if in_ovr is not None else None
        mask = ~np.isin(region_a, list(links.partners))
        model.Add(sb.start >= sa.end + out_expr(mask)).OnlyEnforceIf(_lits(*base, not_ovr))
        model.Add(sb.start >= sa.end + in_default).OnlyEnforceIf(_lits(*base, not_ovr))
    for ra in sorted(set(region_a.tolist()) & set(links.partners)):
        lit = links.region(a, ra)
        if lit is None:
            continue
        when = _lits(*base, lit)
        in_vec = []
        for n, u, rb in zip(nodes_b, in_u, region_b.tolist()):
            bw = p.links.region_bw[ra, rb]
            units = math.ceil(seconds / bw / data.quantum_s - ROUNDING_EPS) if not math.isnan(bw) else int(u)
            if units:
                in_vec.append(units * sb.x[int(n)])
        model.Add(sb.start >= sa.end + sum(in_vec)).OnlyEnforceIf(when)
        partnered = links.partnered(b, ra)
        if _is_true(partnered):
            continue
        out_when = _lits(*when, partnered.Not() if partnered is not None else None)
        model.Add(sb.start >= sa.end + out_expr(region_a == ra)).OnlyEnforceIf(out_when)


def _add_transfer_by_receiver(model: cp_model.CpModel, data: SolverData, links: _Links, a: int, b: int,
                              data_gb: float, src: object) -> None:
    """The same with every node pair's own speed, for small pools with link overrides: on each node n of
    the child, start >= the parent's end + sum over the parent's nodes m of transfer(m, n) x [parent on m]
    (one of them is on, and transfer(n, n) = 0), enforced by [child on n]. Edges x child nodes constraints,
    where a literal per node pair would need edges x nodes^2 literals and three times the constraints."""
    sa, sb = links.v.slots[a], links.v.slots[b]
    nodes_a = np.array([sa.fixed_node]) if sa.fixed_node is not None else data.slots[a].nodes
    nodes_b = data.slots[b].nodes
    assert links.per_gb is not None
    units = data.transfer_units(data_gb * links.per_gb[np.ix_(nodes_a, nodes_b)])  # (parent nodes, child nodes)
    for col, n in enumerate(nodes_b.tolist()):
        if sa.fixed_node is not None:
            transfer = int(units[0, col])
        else:
            transfer = sum(int(u) * sa.x[int(m)] for m, u in zip(nodes_a, units[:, col]) if u)
        model.Add(sb.start >= sa.end + transfer).OnlyEnforceIf(_lits(src, sb.x[int(n)]))


def _node_pair_overrides(model, data: SolverData, links: _Links, a: int, b: int, seconds: float, src,
                         out: PrecedenceVars) -> list:
    sa, sb = links.v.slots[a], links.v.slots[b]
    made = []
    for n1, n2, bw in links.node_pairs:
        la = (1 if sa.fixed_node == n1 else None) if sa.fixed_node is not None else sa.x.get(n1)
        lb = sb.x.get(n2)
        if la is None or lb is None:
            continue
        if isinstance(la, int):
            w = lb
        else:
            w = model.NewBoolVar(f"nl{b}_{a}_{n1}_{n2}")
            model.AddBoolAnd([la, lb]).OnlyEnforceIf(w)
            model.AddBoolOr([la.Not(), lb.Not(), w])
            out.node_pairs[(b, a, n1, n2)] = w
        made.append(w)
        units = math.ceil(seconds / bw / data.quantum_s - ROUNDING_EPS)
        model.Add(sb.start >= sa.end + units).OnlyEnforceIf(_lits(src, w))
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
    p = data.problem
    log_target = math.log(target)
    u0 = weight_needed(target)
    u_max = MAX_FAILURE_WEIGHT * 4
    points = [u0 * (u_max / u0) ** (k / (BREAKPOINTS - 1)) for k in range(BREAKPOINTS)]
    U = [round(u * WEIGHT_SCALE) for u in points]
    Phi = [math.floor(math.log(-math.expm1(-u / WEIGHT_SCALE)) * Y_SCALE) for u in U]
    shares = []
    for i, slot_ids in enumerate(data.task_slots):
        if not slot_ids:
            continue
        if p.quorum[i] > 1:
            shares.append(_quorum_share(model, data, v, i, log_target))
            continue
        have, terms = _weight_terms(data, v, slot_ids)
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


def _quorum_share(model: cp_model.CpModel, data: SolverData, v: Variables, i: int, log_target: float):
    """Task i's share of log(success) with a quorum k: at most log(task_success([v] * c, k)) for the
    lowest completion probability v present and the replica count c (`QuorumCounts`), rounded down."""
    p = data.problem
    counts = QuorumCounts(model, data, v, i)
    k = p.quorum[i]
    sizes = range(k, counts.most + 1)
    size = {c: model.NewBoolVar(f"qcount{i}_{c}") for c in sizes}
    model.AddExactlyOne(size.values())
    model.Add(counts.count == sum(c * lit for c, lit in size.items()))
    y = model.NewIntVar(math.floor(log_target * Y_SCALE) - 1, 0, f"logsucc{i}")
    for value, floor in counts.floor.items():
        for c, lit in size.items():
            success = task_success([value] * c, k)
            if success <= 0.0 or math.log(success) < log_target:
                model.AddBoolOr([floor.Not(), lit.Not()])
            else:
                model.Add(y <= math.floor(math.log(success) * Y_SCALE)).OnlyEnforceIf([floor, lit])
    return y
