"""`scheduler pareto`: the cheapest plan for each of several deadlines (the cost/time front)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ...engine import EngineChoice, PlanOptions
from .. import render
from ..cluster import DaskOpt, dask_executor
from ..common import (EXIT_INFEASIBLE, check_output, emit_json, handle_errors, load_inputs, make_console,
                      write_atomic)
from ..options import (DeterministicOpt, EngineOpt, Format, FormatOpt, NodesOpt, OutputOpt, PolicyOpt, SeedOpt,
                       TargetOpt, TimeLimitOpt, WideOpt, WorkersOpt, WorkloadOpt)
from .plan import _json_text


@handle_errors
def pareto(
    workload: WorkloadOpt,
    nodes: NodesOpt,
    policy: PolicyOpt = None,
    points: Annotated[int, typer.Option("--points", min=2, max=64, help="Deadlines to try.")] = 8,
    success_target: TargetOpt = None,
    time_limit: TimeLimitOpt = 10.0,
    seed: SeedOpt = 0,
    workers: WorkersOpt = 0,
    engine: EngineOpt = EngineChoice.AUTO,
    deterministic: DeterministicOpt = True,
    jobs: Annotated[int, typer.Option("--jobs", min=0, max=256, help="Processes (0: one per core).")] = 0,
    dask: DaskOpt = None,
    plot: Annotated[Path | None, typer.Option("--plot", dir_okay=False, help="Draw the front (PNG).")] = None,
    output: OutputOpt = None,
    format: FormatOpt = Format.table,
    wide: WideOpt = False,
) -> None:
    """The cost-versus-makespan front: the cheapest plan for each of several deadlines, in parallel. Each
    point is optimal for both objectives at once (no plan is faster and cheaper), so there is no
    --objective here; each cost comes with its proven lower bound."""
    from rich.progress import Progress

    from ...analysis.sweep import pareto_front

    inputs = load_inputs(workload, nodes, policy)
    for path, flag in ((output, "--output"), (plot, "--plot")):
        check_output(path, flag, inputs.paths)
    inputs.problem()  # its notes
    options = PlanOptions(success_target=success_target, time_limit_s=time_limit, seed=seed, workers=workers,
                          engine=engine, deterministic=deterministic)
    with dask_executor(dask, jobs) as executor, Progress(console=make_console(err=True), transient=True) as bar:
        job = bar.add_task(f"{points} deadlines", total=points)
        front = pareto_front(inputs.workload, inputs.pool, inputs.policy, options, points=points,
                             workers=jobs or None, on_done=lambda: bar.advance(job), executor=executor)
    if not front:
        typer.echo("error: no plan: the workload cannot be placed", err=True)
        raise typer.Exit(EXIT_INFEASIBLE)
    doc = {"points": [p.__dict__ for p in front]}
    written = []
    if output is not None:
        write_atomic(output, _json_text(doc))
        written.append(f"front written to {output}")
    if plot is not None:
        from ...pictures import pareto_plot

        written.append(f"front drawn in {pareto_plot(front, plot)}")
    if format == Format.json:
        emit_json(doc)
        return
    console = make_console(wide)
    console.print(render.pareto_table(front))
    for line in written:
        console.print(line)
