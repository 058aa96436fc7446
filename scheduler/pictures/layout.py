"""Where things go on a Gantt chart: one band per node used (its replicas stacked in lanes when
they overlap), a bar per replica coloured by effective level, a line per data transfer between
nodes. Shared by the PNG and the HTML drawings."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..analysis.metrics import data_sources
from ..domain import Plan
from ..problem import Problem
from .style import level_colour


@dataclass
class Bar:
    task: str
    replica: int
    node: str
    start: float
    end: float
    level: str
    colour: str
    row: int = 0  # lane, counted from the top of the chart
    mark: str = ""  # what a comparison says of it: "moved", "new", "kept"...


@dataclass
class Transfer:
    source: str
    target: str
    t0: float  # the source replica's end
    t1: float  # the data's arrival
    gb: float
    row0: float = 0.0
    row1: float = 0.0


@dataclass
class Band:
    """A node's rows: `top` is its first lane, `lanes` how many."""

    node: str
    label: str
    top: int
    lanes: int

    @property
    def centre(self) -> float:
        return self.top + (self.lanes - 1) / 2


@dataclass
class Layout:
    bands: list[Band] = field(default_factory=list)
    bars: list[Bar] = field(default_factory=list)
    transfers: list[Transfer] = field(default_factory=list)
    levels: list[str] = field(default_factory=list)
    rows: int = 0
    span_s: float = 1.0

    # what the legends list only when the chart draws it
    @property
    def extra_replicas(self) -> bool:
        return any(b.replica > 0 for b in self.bars)

    @property
    def moved(self) -> bool:
        return any(b.mark for b in self.bars)


def layout(plan: Plan, problem: Problem, marks: dict[tuple[str, int], str] | None = None,
           node_order: list[str] | None = None) -> Layout:
    """Bands (nodes by first use, or `node_order`), bars and transfers of a plan."""
    marks = marks or {}
    levels = [lv.name for lv in problem.policy.levels]
    bars = []
    for a in plan.assignments:
        level = problem.origins[a.task].level if a.task in problem.origins else ""
        bars.append(Bar(a.task, a.replica, a.node, a.start_s, a.end_s, level, level_colour(levels, level),
                        mark=marks.get((a.task, a.replica), getattr(a, "replan", "") or "")))
    used = _gangs_together(plan, list(dict.fromkeys(
        a.node for a in sorted(plan.assignments, key=lambda a: (a.start_s, a.node)))))
    order = [n for n in (node_order or []) if n in used] + [n for n in used if n not in (node_order or [])]
    lanes_of = _stack(bars)
    out = Layout(levels=levels, bars=bars, span_s=max(plan.makespan_s or 0.0, max((b.end for b in bars), default=0.0),
                                                      plan.deadline_s or 0.0, 1e-9))
    row = 0
    for n in order:
        node = problem.nodes[problem.nodes.index[n]] if n in problem.nodes.index else None
        label = f"{n} ({node.network})" if node is not None else n
        out.bands.append(Band(n, label, row, max(1, lanes_of.get(n, 1))))
        row += out.bands[-1].lanes
    out.rows = row
    top = {b.node: b.top for b in out.bands}
    for b in bars:
        b.row += top[b.node]
    centre = {b.node: b.centre for b in out.bands}
    for a, src, data in data_sources(problem, plan):
        if src.node != a.node and src.node in centre and a.node in centre:
            t = problem.links.transfer(problem.nodes.index[src.node], problem.nodes.index[a.node], data)
            out.transfers.append(Transfer(src.node, a.node, src.end_s, src.end_s + t, data, centre[src.node],
                                          centre[a.node]))
    return out


def gang_groups(bars: list[Bar]) -> list[list[Bar]]:
    """Bars of one replica on several nodes at once (a gang, contract 1.1): same task, replica and times."""
    groups: dict[tuple[str, int, float, float], list[Bar]] = {}
    for b in bars:
        groups.setdefault((b.task, b.replica, b.start, b.end), []).append(b)
    return [g for g in groups.values() if len(g) > 1]


def _gangs_together(plan: Plan, used: list[str]) -> list[str]:
    """`used` with the nodes of each gang replica next to its first node, so that it draws as one bar."""
    rows: dict[tuple[str, int], list[str]] = {}
    for a in plan.assignments:
        rows.setdefault((a.task, a.replica), []).append(a.node)
    order = list(used)
    for nodes in (n for n in rows.values() if len(n) > 1):
        first = min(order.index(n) for n in nodes)
        rest = [n for n in order if n not in nodes]
        members = sorted(nodes, key=order.index)
        order = rest[:first] + members + rest[first:]
    return order


def _stack(bars: list[Bar]) -> dict[str, int]:
    """Give overlapping bars on one node separate lanes (the first lane free at their start); the
    number of lanes per node."""
    ends: dict[str, list[float]] = {}
    for b in sorted(bars, key=lambda b: (b.start, b.end, b.task)):
        lane_ends = ends.setdefault(b.node, [])
        k = next((j for j, e in enumerate(lane_ends) if e <= b.start + 1e-9), len(lane_ends))
        if k == len(lane_ends):
            lane_ends.append(b.end)
        else:
            lane_ends[k] = b.end
        b.row = k
    return {n: len(e) for n, e in ends.items()}
