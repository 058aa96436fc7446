"""The CP-SAT variables: for each replica slot, a literal per candidate node, a
presence literal (optional slots), a start, an end expression and an optional
fixed-size interval per candidate node for the GPU capacity constraints."""

from __future__ import annotations

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
class Variables:
    slots: list[SlotVars]
    makespan: cp_model.IntVar

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
            free = [k for k in slot_ids if not data.slots[k].is_fixed]
            reps = sorted((r for r in hint.replicas[i] if r.node not in fixed_nodes), key=lambda r: r.node)
            on_node = {n: r for r in hint.replicas[i] for n in r.gang}  # a gang: each slot has its node
            for j, k in enumerate(free):
                sv = self.slots[k]
                if data.slots[k].group is not None:
                    r = on_node.get(int(data.slots[k].nodes[0]))
                    r = None if r is None else type(r)(int(data.slots[k].nodes[0]), r.start, r.end)
                else:
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

    def warmstart_makespan(self, model: cp_model.CpModel, placed: dict[int, tuple[int, int, int]],
                           delivered: int = 0) -> None:
        """Hint the makespan: the last end of the placed slots, or the last write `delivered` when later."""
        model.AddHint(self.makespan, max(max((e for _, _, e in placed.values()), default=0), delivered))


def make_variables(model: cp_model.CpModel, data: SolverData, makespan_lb: int) -> Variables:
    """Create every slot's variables; a fixed slot is all constants."""
    out: list[SlotVars] = []
    gpus = [t.gpus for t in data.problem.dag.tasks]
    for k, slot in enumerate(data.slots):
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
    return Variables(slots=out, makespan=makespan)
