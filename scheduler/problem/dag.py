"""The DAG index: tasks in topological order, their parents and children by index."""

from __future__ import annotations

from collections import Counter
from functools import cached_property

from ..domain import Task, Workload
from ..domain.workload import Site


class TaskGraph:
    """A workload's tasks by index, parents before children (ties in file order).

    Attributes
    ----------
    ids : list of str
        Task ids by index.
    tasks : list of Task
        The tasks by index.
    index : dict
        Task id -> index.
    parents, children : list of list of (int, float)
        Per task, (other task's index, data_gb of the edge).
    sites : list of Site
        The workload's sites by index.
    reads, writes : list of list of (int, float)
        Per task, (site index, data_gb).

    Examples
    --------
    >>> from scheduler.domain import Workload
    >>> g = TaskGraph(Workload(tasks=[{"id": "b", "duration_s": 1, "depends_on": ["a"]}, {"id": "a", "duration_s": 1}]))
    >>> g.ids, g.parents[1]
    (['a', 'b'], [(0, 0.0)])
    """

    def __init__(self, workload: Workload) -> None:
        by_id = workload.by_id
        self.ids: list[str] = list(workload.topological_order)
        self.tasks: list[Task] = [by_id[t] for t in self.ids]
        self.index: dict[str, int] = {t: i for i, t in enumerate(self.ids)}
        self.parents: list[list[tuple[int, float]]] = [
            [(self.index[d.task], d.data_gb) for d in t.depends_on] for t in self.tasks
        ]
        self.children: list[list[tuple[int, float]]] = [[] for _ in self.tasks]
        for c, ps in enumerate(self.parents):
            for p, data in ps:
                self.children[p].append((c, data))
        self.sites: list[Site] = list(workload.sites)
        site_index = {s.id: k for k, s in enumerate(self.sites)}
        self.reads: list[list[tuple[int, float]]] = [[(site_index[d.site], d.data_gb) for d in t.reads]
                                                     for t in self.tasks]
        self.writes: list[list[tuple[int, float]]] = [[(site_index[d.site], d.data_gb) for d in t.writes]
                                                      for t in self.tasks]

    def __len__(self) -> int:
        return len(self.tasks)

    @cached_property
    def n_edges(self) -> int:
        return sum(len(p) for p in self.parents)

    @cached_property
    def has_writes(self) -> bool:
        return any(self.writes)

    @cached_property
    def widest_level(self) -> int:
        """The most tasks at one depth (a task's depth: 1 + its deepest parent's): about how many tasks
        are ready at once in list scheduling."""
        depth = [0] * len(self.tasks)
        for i, ps in enumerate(self.parents):
            depth[i] = 1 + max((depth[p] for p, _ in ps), default=-1)
        return max(Counter(depth).values(), default=0)

    @cached_property
    def moves_data(self) -> bool:
        """Whether some edge carries data."""
        return any(data > 0 for kids in self.children for _, data in kids)
