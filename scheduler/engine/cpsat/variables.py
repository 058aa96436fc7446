"""The CP-SAT variables: for each replica slot, a literal per candidate node, a
presence literal (optional slots), a start, an end expression and an optional
fixed-size interval per candidate node for the GPU capacity constraints."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from ortools.sat.python import cp_model

from ..schedule import Schedule
from .data import SolverData

LinearExprT = cp_model.LinearExprT


@dataclass
class SlotVars:
    x: dict[int, cp_model.IntVar]  # node -> literal (empty for a fixed slot)
    present: cp_model.IntVar | int  # literal, or 1 for mandatory and fixed slots
    start: cp_model.IntVar | int
    end: LinearExprT
    index: LinearExprT  # node index of the slot (sum n * x_n), for symmetry and same-node tests
    intervals: dict[int, cp_model.IntervalVar] = field(default_factory=dict)
    fixed_node: int | None = None


@dataclass
class GangVars:
    """One gang replica's choice: a literal per candidate node set, and the times its members share."""

    choice: list[cp_model.IntVar]
    start: cp_model.IntVar
    dur: cp_model.IntVar
    end: cp_model.IntVar

    @property
    def index(self) -> LinearExprT:
        """The position of the chosen set (for symmetry between replicas)."""
        return sum(j * lit for j, lit in enumerate(self.choice))


@dataclass
class Variables:
    slots: list[SlotVars]
    makespan: cp_model.IntVar
    gangs: dict[int, GangVars] = field(default_factory=dict)  # per gang replica (its first slot)

    def warmstart(self, model: cp_model.CpModel, data: SolverData, hint: Schedule) -> dict[int, tuple[int, int, int]]:
        """Hint every slot's node, presence and start from `hint` (on the clock).

        Returns the slots the hint places: slot -> (node, start, end), fixed slots included.
        """
        placed: dict[int, tuple[int, int, int]] = {}
        for i, slot_ids in enumerate(data.task_slots):
            fixed_nodes = {data.slots[k].fixed[0] for k in slot_ids if data.slots[k].is_fixed}
            for k in slot_ids:
                if data.slots[k].is_fixed:
                    placed[k] = data.slots[k].fixed
            if data.problem.gang_size(i) > 1:
                self._hint_gangs(model, data, i, hint, placed)
                continue
            free = [k for k in slot_ids if not data.slots[k].is_fixed]
            reps = sorted((r for r in hint.replicas[i] if r.node not in fixed_nodes), key=lambda r: r.node)
            for j, k in enumerate(free):
                sv = self.slots[k]
                r = reps[j] if j < len(reps) else None
                if r is not None and r.node not in sv.x:
                    r = None
                if not isinstance(sv.present, int):
                    model.AddHint(sv.present, r is not None)
                for n, lit in sv.x.items():
                    model.AddHint(lit, r is not None and n == r.node)
                if r is not None:
                    model.AddHint(sv.start, int(round(r.start)))
                    placed[k] = (r.node, int(round(r.start)), int(round(r.end)))
                else:
                    model.AddHint(sv.start, data.release)  # an absent slot: any value in its domain
        return placed

    def _hint_gangs(self, model: cp_model.CpModel, data: SolverData, i: int, hint: Schedule,
                    placed: dict[int, tuple[int, int, int]]) -> None:
        """Hint gang task i's replicas: the hint's replicas in the order of their sets' positions (the order
        `add_assignment` asks of replicas with the same sets), one per gang replica."""
        slot_ids = data.task_slots[i]
        groups = sorted({data.slots[k].group for k in slot_ids})
        if not groups:
            return
        sets = data.gangs[groups[0]].sets
        place = {g: j for j, g in enumerate(sets)}
        reps = sorted(hint.replicas[i], key=lambda r: place.get(tuple(sorted(r.gang)), len(sets)))
        for t, g in enumerate(groups):
            gv = self.gangs[g]
            r = reps[t] if t < len(reps) else None
            j = place.get(tuple(sorted(r.gang))) if r is not None else None
            for jj, lit in enumerate(gv.choice):
                model.AddHint(lit, jj == j)
            if r is None or j is None:
                model.AddHint(gv.start, data.release)
                continue
            start, end = int(round(r.start)), int(round(r.end))
            model.AddHint(gv.start, start)
            model.AddHint(gv.dur, int(data.gangs[g].dur[j]))
            model.AddHint(gv.end, start + int(data.gangs[g].dur[j]))
            for position, k in enumerate(k for k in slot_ids if data.slots[k].group == g):
                node = sets[j][position]
                for n, lit in self.slots[k].x.items():
                    model.AddHint(lit, n == node)
                placed[k] = (node, start, end)

    def warmstart_makespan(self, model: cp_model.CpModel, placed: dict[int, tuple[int, int, int]],
                           delivered: int = 0) -> None:
        """Hint the makespan: the last end of the placed slots, or the last write `delivered` when later."""
        model.AddHint(self.makespan, max(max((e for _, _, e in placed.values()), default=0), delivered))


CHECK_EVERY = 64  # slots between two calls of `make_variables`' time check


def make_variables(model: cp_model.CpModel, data: SolverData, makespan_lb: int,
                   check: Callable[[], None] = lambda: None) -> Variables:
    """Create every slot's variables; a fixed slot is all constants. `check` is called every
    `CHECK_EVERY` slots (it may raise to stop the construction)."""
    out: list[SlotVars] = []
    gangs: dict[int, GangVars] = {}
    gpus = [t.gpus for t in data.problem.dag.tasks]
    for k, slot in enumerate(data.slots):
        if k % CHECK_EVERY == 0:
            check()
        if slot.group is not None:
            if slot.group == k:
                gangs[k] = _gang_vars(model, data, k)
            out.append(_member_vars(model, data, k, gangs[slot.group], gpus[slot.task] > 0))
            continue
        if slot.fixed is not None:
            node, s, e = slot.fixed
            iv = {}
            if gpus[slot.task] > 0 and e > s:
                iv[node] = model.NewFixedSizeIntervalVar(s, e - s, f"fixed_{k}")
            out.append(SlotVars(x={}, present=1, start=s, end=e, index=node, intervals=iv, fixed_node=node))
            continue
        min_dur = int(slot.dur.min())
        start = model.NewIntVar(data.release, max(data.release, data.horizon - min_dur), f"s{k}")
        x = {int(n): model.NewBoolVar(f"x{k}_{int(n)}") for n in slot.nodes}
        present: cp_model.IntVar | int = 1 if slot.mandatory else model.NewBoolVar(f"p{k}")
        end = start + sum(int(d) * x[int(n)] for n, d in zip(slot.nodes, slot.dur))
        index = sum(int(n) * lit for n, lit in x.items())
        iv = {}
        if gpus[slot.task] > 0:
            for n, d in zip(slot.nodes, slot.dur):
                iv[int(n)] = model.NewOptionalFixedSizeIntervalVar(start, int(d), x[int(n)], f"i{k}_{int(n)}")
        out.append(SlotVars(x=x, present=present, start=start, end=end, index=index, intervals=iv))
    makespan = model.NewIntVar(min(makespan_lb, data.horizon), max(data.horizon, makespan_lb), "makespan")
    return Variables(slots=out, makespan=makespan, gangs=gangs)


def _gang_vars(model: cp_model.CpModel, data: SolverData, k: int) -> GangVars:
    """A gang replica: exactly one of its node sets, its duration that set's, one start for all members."""
    choice = data.gangs[k]
    lits = [model.NewBoolVar(f"g{k}_{j}") for j in range(len(choice.sets))]
    model.AddExactlyOne(lits)
    lo, hi = int(choice.dur.min()), int(choice.dur.max())
    dur = model.NewIntVar(lo, hi, f"gd{k}")
    model.Add(dur == sum(int(d) * lit for d, lit in zip(choice.dur, lits)))
    start = model.NewIntVar(data.release, max(data.release, data.horizon - lo), f"s{k}")
    end = model.NewIntVar(data.release + lo, max(data.release, data.horizon - lo) + hi, f"ge{k}")
    model.Add(end == start + dur)
    return GangVars(choice=lits, start=start, dur=dur, end=end)


def _member_vars(model: cp_model.CpModel, data: SolverData, k: int, gang: GangVars, holds_gpus: bool) -> SlotVars:
    """Member slot k of a gang replica: on node n exactly when the chosen set's member is n."""
    slot = data.slots[k]
    position = k - slot.group  # the members of a replica are consecutive slots
    sets = data.gangs[slot.group].sets
    x = {}
    for n in slot.nodes.tolist():
        x[n] = model.NewBoolVar(f"x{k}_{n}")
        model.Add(x[n] == sum(lit for g, lit in zip(sets, gang.choice) if g[position] == n))
    iv = {n: model.NewOptionalIntervalVar(gang.start, gang.dur, gang.end, lit, f"i{k}_{n}") for n, lit in x.items()} \
        if holds_gpus else {}
    return SlotVars(x=x, present=1, start=gang.start, end=gang.end, index=sum(n * lit for n, lit in x.items()),
                    intervals=iv)
