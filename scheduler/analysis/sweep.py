"""Many what-ifs at once: scenario files, sweeps of a numeric knob, and the
cost-versus-makespan (Pareto) front. Independent plans run in parallel processes.

A scenario file (YAML or JSON)::

    scenarios:
      - name: lose-io.net
        drop_networks: [io.net]
      - name: slow-wan
        bandwidth_scale: 0.5
      - name: eu-only
        policy: ../policies/eu-residency.yaml   # relative to the scenario file
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, ProcessPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field

from ..domain import NodePool, Objective, Plan, Policy, StrictModel, Workload
from ..domain.fields import Probability
from ..engine.planner import PlanOptions, plan_problem
from ..errors import ArgumentError, InputError
from ..formats.documents import read_document
from ..formats.loading import load_policy, validate
from ..problem import Problem
from .whatif import Scenario, WhatIfResult, whatif


class ScenarioSpec(StrictModel):
    """One named scenario of a scenario file (fields as `Scenario`)."""

    name: Annotated[str, Field(min_length=1, max_length=200)]
    drop_nodes: list[str] = Field(default_factory=list)
    drop_networks: list[str] = Field(default_factory=list)
    drop_operators: list[str] = Field(default_factory=list)
    bandwidth_scale: Annotated[float, Field(gt=0, le=1e6)] = 1.0
    bandwidth_scale_regions: list[tuple[str, str, float]] = Field(default_factory=list)
    price_scale: dict[str, Annotated[float, Field(ge=0, le=1e6)]] = Field(default_factory=dict)
    reputation: dict[str, Probability] = Field(default_factory=dict)
    set_level: dict[str, str] = Field(default_factory=dict)
    lease_end: dict[str, Annotated[float, Field(ge=0, le=1e9)]] = Field(default_factory=dict)
    failure_scale: Annotated[float, Field(ge=0, le=1e6)] = 1.0
    move_site: dict[str, str] = Field(default_factory=dict)
    policy: str | None = None
    deadline_s: Annotated[float, Field(gt=0)] | None = None
    objective: Objective | None = None


class ScenarioFile(StrictModel):
    scenarios: Annotated[list[ScenarioSpec], Field(min_length=1)]


def load_scenarios(path: str | Path) -> list[Scenario]:
    """Read a scenario file. Raises InputError (naming the file and field)."""
    path = Path(path)
    spec = validate(ScenarioFile, read_document(path, "scenario file"), str(path), "scenario file")
    names = [s.name for s in spec.scenarios]
    dup = next((n for n in names if names.count(n) > 1), None)
    if dup is not None:
        raise InputError(f"two scenarios are named {dup!r}", file=str(path), field="scenarios")
    out = []
    for k, s in enumerate(spec.scenarios):
        policy = None
        if s.policy is not None:
            ppath = (path.parent / s.policy) if not Path(s.policy).is_absolute() else Path(s.policy)
            if not ppath.exists():
                raise InputError(f"no policy file {ppath}", file=str(path), field=f"scenarios[{k}].policy")
            policy = load_policy(ppath)
        out.append(Scenario(name=s.name, drop_nodes=s.drop_nodes, drop_networks=s.drop_networks,
                            drop_operators=s.drop_operators, bandwidth_scale=s.bandwidth_scale,
                            bandwidth_scale_regions={(a, b): f for a, b, f in s.bandwidth_scale_regions},
                            price_scale=s.price_scale, reputation=s.reputation, set_level=s.set_level,
                            lease_end=s.lease_end, failure_scale=s.failure_scale,
                            move_site=s.move_site, policy=policy, deadline_s=s.deadline_s,
                            objective=s.objective.value if s.objective else None))
    return out


KNOBS = ("bandwidth-scale", "deadline", "failure-scale", "price-scale")


def sweep_scenarios(spec: str, pool: NodePool) -> list[Scenario]:
    """``knob=v1,v2,...`` to scenarios. Knobs: bandwidth-scale, deadline, failure-scale, price-scale
    (every network) and price-scale:NETWORK.

    Raises:
        ArgumentError: an unknown knob or a value that is not a positive number.
    """
    knob, sep, values = spec.partition("=")
    if not sep or not values:
        raise ArgumentError(f"a sweep is KNOB=V1,V2,...; got {spec!r}", argument="sweep")
    try:
        numbers = [float(v) for v in values.split(",") if v.strip()]
    except ValueError:
        raise ArgumentError(f"sweep values must be numbers: {values!r}", argument="sweep") from None
    if not numbers or any(not (x > 0 and math.isfinite(x)) for x in numbers):
        raise ArgumentError("sweep values must be positive numbers", argument="sweep")
    base, _, arg = knob.partition(":")
    networks = sorted({n.network for n in pool.nodes})
    out = []
    for x in numbers:
        name = f"{knob}={x:g}"
        if base == "bandwidth-scale" and not arg:
            out.append(Scenario(name=name, bandwidth_scale=x))
        elif base == "failure-scale" and not arg:
            out.append(Scenario(name=name, failure_scale=x))
        elif base == "deadline" and not arg:
            out.append(Scenario(name=name, deadline_s=x, objective="cost"))
        elif base == "price-scale":
            nets = [arg] if arg else networks
            if arg and arg not in networks:
                raise ArgumentError(f"no network {arg!r} in the pool", argument="sweep")
            out.append(Scenario(name=name, price_scale={n: x for n in nets}))
        else:
            raise ArgumentError(f"unknown sweep knob {knob!r}; knobs: {', '.join(KNOBS)}, price-scale:NETWORK", argument="sweep")
    return out


def _run_one(args: tuple[Workload, NodePool, Policy | None, Scenario, PlanOptions, Plan]) -> tuple[WhatIfResult, int]:
    workload, pool, policy, scenario, options, base = args
    return whatif(workload, pool, policy, scenario, options=options, base=base), os.getpid()


def run_scenarios(workload: Workload, pool: NodePool, policy: Policy | None, scenarios: list[Scenario],
                  options: PlanOptions, *, workers: int | None = None,
                  on_done: Callable[[WhatIfResult], None] | None = None,
                  executor: Executor | None = None) -> tuple[Plan, list[WhatIfResult], set[int]]:
    """Plan the base once, then every scenario against it in parallel processes.

    `executor` runs the scenarios instead of a pool of `workers` processes: any
    `concurrent.futures.Executor`, such as a dask.distributed client's ``get_executor()``
    (then `workers` only says that each solve is one-threaded).

    Returns the base plan, the results in scenario order, and the worker process ids.
    """
    options = dataclasses.replace(options, progress=None)
    base = plan_problem(Problem(workload, pool, policy), options)
    workers = workers or min(len(scenarios), os.cpu_count() or 1)
    # each worker runs a one-thread solver: the processes share the cores
    per = dataclasses.replace(options, workers=1 if workers > 1 else options.workers)
    jobs = [(workload, pool, policy, s, per, base) for s in scenarios]
    results: list[WhatIfResult | None] = [None] * len(jobs)
    pids: set[int] = set()
    if workers <= 1 and executor is None:
        for k, job in enumerate(jobs):
            results[k], pid = _run_one(job)
            pids.add(pid)
            if on_done:
                on_done(results[k])
    else:
        with _executor(executor, workers) as pool_exec:
            futures = {pool_exec.submit(_run_one, job): k for k, job in enumerate(jobs)}
            for fut in as_completed(futures):
                k = futures[fut]
                results[k], pid = fut.result()
                pids.add(pid)
                if on_done:
                    on_done(results[k])
    return base, [r for r in results if r is not None], pids


@contextmanager
def _executor(given: Executor | None, workers: int) -> Iterator[Executor]:
    """The given executor (left open: its owner closes it), or a pool of `workers` processes."""
    if given is not None:
        yield given
        return
    with ProcessPoolExecutor(max_workers=workers) as pool_exec:
        yield pool_exec


@dataclass
class ParetoPoint:
    deadline_s: float
    makespan_s: float
    cost_usd: float
    status: str
    cost_bound_usd: float | None = None  # no plan within the deadline costs less (proven)


def _cost_plan(args: tuple[Problem, PlanOptions, float]) -> Plan:
    problem, options, deadline = args
    return plan_problem(problem, dataclasses.replace(options, objective=Objective.COST, deadline_s=deadline))


def pareto_front(workload: Workload, pool: NodePool, policy: Policy | None, options: PlanOptions, *,
                 points: int = 8, workers: int | None = None,
                 on_done: Callable[[], None] | None = None, executor: Executor | None = None) -> list[ParetoPoint]:
    """The cost-versus-makespan trade-off: the cheapest plan for deadlines spread
    (geometrically) from the fastest plan's makespan to the cheapest plan's; the deadlines' solves
    run on `executor` when given (see `run_scenarios`), else on `workers` processes.

    Returns the non-dominated points, by increasing makespan (so cost never rises).
    """
    options = dataclasses.replace(options, progress=None)
    problem = Problem(workload, pool, policy)
    fast = plan_problem(problem, dataclasses.replace(options, objective=Objective.MAKESPAN))
    cheap = plan_problem(problem, dataclasses.replace(options, objective=Objective.COST))
    if not fast.has_plan or not cheap.has_plan:
        return []
    lo, hi = fast.makespan_s, max(cheap.makespan_s, fast.makespan_s * 1.01)
    deadlines = [lo * (hi / lo) ** (k / (points - 1)) for k in range(points)]
    workers = workers or min(points, os.cpu_count() or 1)
    per = dataclasses.replace(options, workers=1 if workers > 1 else options.workers)
    jobs = [(problem, per, d * (1 + 1e-9)) for d in deadlines]
    plans: list[Plan] = []
    if workers <= 1 and executor is None:
        for job in jobs:
            plans.append(_cost_plan(job))
            if on_done:
                on_done()
    else:
        with _executor(executor, workers) as ex:
            for p in ex.map(_cost_plan, jobs):
                plans.append(p)
                if on_done:
                    on_done()
    found = [ParetoPoint(d, p.makespan_s, p.cost_usd, p.status.value, p.cost_lower_bound_usd)
             for d, p in zip(deadlines, plans) if p.has_plan]
    found += [ParetoPoint(fast.makespan_s, fast.makespan_s, fast.cost_usd, fast.status.value),
              ParetoPoint(cheap.makespan_s, cheap.makespan_s, cheap.cost_usd, cheap.status.value,
                          cheap.cost_lower_bound_usd)]
    found.sort(key=lambda x: (x.makespan_s, x.cost_usd))
    front: list[ParetoPoint] = []
    for pt in found:
        if not front or pt.cost_usd < front[-1].cost_usd - 1e-9:
            front.append(pt)
    return front


def results_table(results: list[WhatIfResult]) -> list[dict[str, Any]]:
    rows = []
    for r in results:
        c = r.changed_metrics
        rows.append({"scenario": r.scenario.name, "status": r.changed.status.value, "makespan_s": c.makespan_s,
                     "cost_usd": c.cost_usd, "success_probability": c.success_probability, "moved": len(r.moved),
                     "gb_moved": c.gb_moved, "gb_cross_border": c.gb_cross_border, "tee_nodes": c.tee_nodes,
                     "unplaceable": [u["task"] for u in r.unplaceable], "unplaceable_rows": r.unplaceable})
    return rows
