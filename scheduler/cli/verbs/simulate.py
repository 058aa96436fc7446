"""`scheduler simulate`: Monte Carlo execution of a plan with failures and replanning."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated

import typer

from ...analysis.simulate import simulate as run_simulation
from ...domain.units import count
from ...formats.loading import load_plan
from .. import render
from ..common import check_output, emit_json, handle_errors, load_inputs, make_console, write_atomic
from ..options import Format, FormatOpt, NodesOpt, OutputOpt, PlanFileOpt, PolicyOpt, WideOpt, WorkloadOpt
from .plan import _json_text


@handle_errors
def simulate(
    plan: PlanFileOpt,
    workload: WorkloadOpt,
    nodes: NodesOpt,
    policy: PolicyOpt = None,
    runs: Annotated[int, typer.Option("--runs", min=1, max=1_000_000, help="Monte Carlo runs.")] = 1000,
    seed: Annotated[int, typer.Option("--seed", min=0, max=2**31 - 1,
                                      help="Seed of the simulation's random draws (same seed, same runs).")] = 0,
    outage: Annotated[list[str] | None, typer.Option(
        "--outage", help="NODE@SECONDS: the node goes down then (repeatable).")] = None,
    max_retries: Annotated[int, typer.Option("--max-retries", min=0, max=100,
                                             help="Replanning attempts per failed task.")] = 1,
    compare: Annotated[list[Path] | None, typer.Option("--compare", exists=True, dir_okay=False,
                                                       help="Another plan to simulate side by side (repeatable).")] = None,
    plot: Annotated[Path | None, typer.Option("--plot", dir_okay=False, help="Histogram of makespans (PNG).")] = None,
    output: OutputOpt = None,
    format: FormatOpt = Format.table,
    wide: WideOpt = False,
) -> None:
    """Monte Carlo execution of a plan: replicas fail with their completion probability, nodes go down at
    given times, failed tasks are replanned. "retry overhead" is what replanned replicas cost on top of the
    plan, as a share of the plan's cost."""
    inputs = load_inputs(workload, nodes, policy)
    for path, flag in ((output, "--output"), (plot, "--plot")):
        check_output(path, flag, [*inputs.paths, plan, *(compare or [])])
    problem = inputs.problem()
    downs = _outages(outage, problem.nodes.index)
    plans = [(str(plan), load_plan(plan))] + [(str(p), load_plan(p)) for p in compare or []]
    results = [(name, run_simulation(problem, the_plan, runs=runs, seed=seed, outages=downs,
                                     max_retries=max_retries)) for name, the_plan in plans]
    doc = results[0][1].to_dict()
    if len(results) > 1:
        doc["compared"] = {n: r.to_dict() for n, r in results[1:]}
    written = []
    if output is not None:
        write_atomic(output, _json_text(doc))
        written.append(f"results written to {output}")
    if plot is not None:
        from ...pictures import simulation_histogram

        written.append(f"histogram written to {simulation_histogram(results, plot)}")
    if format == Format.json:
        emit_json(doc)
        return
    title = (f"{count(runs, 'run')}, seed {seed}, at most {count(max_retries, 'retry')} per task"
             + (f", outages: {', '.join(outage or [])}" if outage else ""))
    console = make_console(wide)
    console.print(render.simulation_table([(n, r.to_dict()) for n, r in results], title))
    for line in written:
        console.print(line)


def _outages(items: list[str] | None, known: dict[str, int]) -> dict[str, float]:
    downs: dict[str, float] = {}
    for item in items or []:
        nid, sep, when = item.rpartition("@")
        try:
            t = float(when)
        except ValueError:
            t = -1.0
        if not sep or nid not in known or not (t >= 0 and math.isfinite(t)):
            raise typer.BadParameter(f"expected NODE@SECONDS with a node of the pool, got {item[:80]!r}",
                                     param_hint="'--outage'")
        downs[nid] = t
    return downs
