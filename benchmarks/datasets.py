"""The outside data in ../shared/data as placement instances (see its README).

- The HEFT paper's 10-task example: three nodes P1..P3 with one GPU each, every
  task `duration_by_gpu`, every edge sized so its transfer takes its cost.
- STG graphs: one node with P GPUs, speed 1, no data on edges; the best makespan
  is the published optimum.
- WfCommons traces: read through the normal workload loader.
"""

from __future__ import annotations

import csv
import os
import re
from pathlib import Path

from scheduler.domain import NodePool, Workload
from scheduler.formats.loading import load_workload

SHARED = Path(os.environ.get("SCHEDULER_SHARED", Path(__file__).resolve().parents[1].parent / "shared"))
DATA = SHARED / "data"


def heft_example() -> tuple[Workload, NodePool]:
    """The HEFT paper's example, parsed from the table in ../shared/data/README.md."""
    text = (DATA / "README.md").read_text()
    section = text[text.index("task  P1"):]
    costs: dict[str, list[float]] = {}
    edges: list[tuple[str, str, float]] = []
    for line in section.splitlines()[1:12]:
        parts = line.split()
        if len(parts) >= 4 and parts[0].isdigit():
            costs[parts[0]] = [float(x) for x in parts[1:4]]
            rest = parts[4:]
            for k in range(0, len(rest) - 1, 2):
                a, b = rest[k].split("->")
                edges.append((a, b, float(rest[k + 1])))
    tasks = []
    for tid, c in costs.items():
        tasks.append({"id": tid, "duration_s": sum(c) / 3,
                      "duration_by_gpu": {"P1": c[0], "P2": c[1], "P3": c[2]},
                      "depends_on": [{"task": a, "data_gb": cost} for a, b, cost in edges if b == tid]})
    pool = {"nodes": [{"id": f"P{k}", "gpu": f"P{k}", "gpus": 1, "bandwidth_gbps": 8.0} for k in (1, 2, 3)]}
    return Workload.model_validate({"name": "heft-example", "tasks": tasks}), NodePool.model_validate(pool)


def stg_graph(size: int, index: int) -> Workload:
    """STG graph `index` (0-based) of the set of `size` (50 or 100) tasks."""
    files = sorted((DATA / "stg" / str(size)).iterdir())
    return stg_workload(files[index])


def stg_workload(path: Path) -> Workload:
    """An STG graph without its zero-cost dummy entry and exit (they change no makespan)."""
    lines = [ln.split() for ln in path.read_text().splitlines() if ln.strip() and not ln.startswith("#")]
    n = int(lines[0][0])
    dummies = {0, n + 1}
    tasks = []
    for row in lines[1:n + 3]:
        tid, cost, n_pred = int(row[0]), float(row[1]), int(row[2])
        if tid in dummies:
            continue
        preds = [f"t{int(p)}" for p in row[3:3 + n_pred] if int(p) not in dummies]
        tasks.append({"id": f"t{tid}", "duration_s": cost, "gpus": 1, "depends_on": preds})
    return Workload.model_validate({"name": path.stem, "tasks": tasks})


def stg_pool(processors: int) -> NodePool:
    return NodePool.model_validate({"nodes": [{"id": "machine", "gpus": processors}]})


def stg_files(size: int) -> list[Path]:
    return sorted((DATA / "stg" / str(size)).iterdir())


def stg_optima(size: int) -> dict[tuple[str, int], float]:
    """Published optimal makespans by (graph file stem, processors); open cases left out."""
    out: dict[tuple[str, int], float] = {}
    folder = DATA / "stg" / "Optimal_values"
    for f in folder.iterdir():
        m = re.match(r"Case(\d+)_(\d+)_OPT", f.stem)
        if not m or int(m.group(1)) != size:
            continue
        with f.open() as fh:
            for row in csv.reader(fh):
                if len(row) == 3 and row[2].replace(".", "").isdigit():
                    out[(Path(row[0]).stem, int(row[1]))] = float(row[2])
    return out


def wf_traces() -> list[Path]:
    return sorted((DATA / "wfinstances").glob("*.json"))


def wf_workload(path: Path) -> Workload:
    return load_workload(path)
