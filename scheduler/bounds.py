"""Lower bounds that hold for every valid plan, computed without search.

- Critical path: each task on its fastest allowed node, transfers free.
- Energy: tasks whose allowed nodes lie inside one node set need their work on
  that set's GPUs. A task's work is its least runtime x speed over its nodes (in
  reference-GPU-seconds, times GPUs and required replicas); the set delivers
  sum(GPUs x speed) of it per second. This holds for `duration_by_gpu` too, since
  runtime_n x speed_n >= the least such product on every node n.
- Cost: each required replica on its cheapest distinct allowed node.

With replanning, finished tasks keep their times and nothing new starts before
the release time.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .problem import Problem


@dataclass
class Bounds:
    critical_path_s: float
    energy_s: float
    cost_usd: float
    critical_path: list[str]
    energy_tasks: list[str]

    @property
    def makespan_s(self) -> float:
        return max(self.critical_path_s, self.energy_s)


def compute_bounds(
    problem: Problem,
    allowed: list[np.ndarray] | None = None,
    *,
    release_s: float = 0.0,
    finished_end_s: dict[int, float] | None = None,
    fixed_replicas: dict[int, int] | None = None,
) -> Bounds:
    """All three bounds. `allowed[i]` restricts task i's nodes (default: eligible).

    `finished_end_s` maps finished tasks to the earliest end of their replicas;
    `fixed_replicas` counts replicas that already run and need no new GPU time.
    """
    allowed = allowed if allowed is not None else [problem.eligible(i) for i in range(problem.n_tasks)]
    finished = finished_end_s or {}
    kept = fixed_replicas or {}
    n = problem.n_tasks
    finish = np.zeros(n)
    via = [-1] * n
    fastest = np.zeros(n)
    for i in range(n):
        if i in finished:
            finish[i] = finished[i]
            continue
        nodes = allowed[i]
        fastest[i] = float(np.min(problem.runtimes(i, nodes))) if len(nodes) else np.inf
        start = release_s
        for p, _ in problem.parents[i]:
            if finish[p] > start:
                start, via[i] = float(finish[p]), p
        finish[i] = start + fastest[i]
    cp = float(finish.max()) if n else 0.0
    path: list[str] = []
    if n and np.isfinite(cp):
        k = int(np.argmax(finish))
        while k >= 0:
            path.append(problem.task_ids[k])
            k = via[k]
        path.reverse()

    # energy: group by allowed node set
    groups: dict[bytes, tuple[np.ndarray, float]] = {}
    members: dict[bytes, list[tuple[float, int]]] = {}
    cost = 0.0
    for i in range(n):
        if i in finished:
            continue
        nodes = allowed[i]
        need = max(0, problem.required[i] - kept.get(i, 0))
        if len(nodes) < need or need == 0:
            if need and len(nodes) < need:
                cost = np.inf
            continue
        runtimes = problem.runtimes(i, nodes)
        cost += float(np.sum(np.sort(problem.costs(i, nodes))[:need]))
        g = problem.tasks[i].gpus
        if g == 0:
            continue
        # work in reference-GPU-seconds: on any node n, runtime * speed_n >= this
        work = g * need * float(np.min(runtimes * problem.speed[nodes]))
        mask = np.zeros(problem.n_nodes, dtype=bool)
        mask[nodes] = True
        key = np.packbits(mask).tobytes()
        prev = groups.get(key)
        groups[key] = (mask, (prev[1] if prev else 0.0) + work)
        members.setdefault(key, []).append((work, i))
    energy, binding = 0.0, b""
    items = list(groups.items())
    for key, (mask, _) in items:
        work = sum(w for _, (m, w) in items if not np.any(m & ~mask))
        # sum over the set's GPUs of speed: reference-GPU-seconds the set delivers per second
        capacity = float(np.sum(problem.gpus[mask] * problem.speed[mask]))
        if capacity > 0 and release_s + work / capacity > energy:
            energy, binding = release_s + work / capacity, key
    top = sorted(members.get(binding, []), reverse=True)[:10]
    return Bounds(critical_path_s=cp, energy_s=energy, cost_usd=cost, critical_path=path,
                  energy_tasks=[problem.task_ids[i] for _, i in top])
