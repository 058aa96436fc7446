"""`scheduler whatif`: one change, planned and diffed; or many (`--scenarios`, `--sweep`) in parallel."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Annotated

import typer

from ...analysis.whatif import Scenario, whatif
from ...domain import Objective
from ...engine import EngineChoice, PlanOptions
from ...formats.loading import load_policy
from .. import render
from ..cluster import DaskOpt, dask_executor
from ..common import (
    EXIT_INFEASIBLE,
    EXIT_INTERRUPTED,
    check_output,
    emit_json,
    handle_errors,
    load_inputs,
    make_console,
    note,
    write_atomic,
)
from ..options import (
    DeadlineOpt,
    DeterministicOpt,
    EngineOpt,
    Format,
    FormatOpt,
    GanttOpt,
    NodesOpt,
    ObjectiveOpt,
    OutputOpt,
    PolicyOpt,
    SeedOpt,
    TargetOpt,
    TimeLimitOpt,
    WideOpt,
    WorkersOpt,
    WorkloadOpt,
    finite,
)
from .plan import _json_text, solve


def pairs(values: list[str] | None, flag: str, number: tuple[float, float] | None = None) -> dict:
    """``KEY=VALUE`` items; with `number` (low, high), the values are finite numbers in that range."""
    out: dict = {}
    for item in values or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise typer.BadParameter(f"expected KEY=VALUE, got {item[:80]!r}", param_hint=f"'{flag}'")
        if number is None:
            out[key] = value
            continue
        try:
            x = float(value)
        except ValueError:
            raise typer.BadParameter(f"{value[:40]!r} is not a number", param_hint=f"'{flag}'") from None
        if not (math.isfinite(x) and number[0] <= x <= number[1]):
            raise typer.BadParameter(f"{value[:40]} is not a finite number in [{number[0]:g}, {number[1]:g}]",
                                     param_hint=f"'{flag}'")
        out[key] = x
    return out


@handle_errors
def whatif_cmd(
    workload: WorkloadOpt,
    nodes: NodesOpt,
    policy: PolicyOpt = None,
    drop_node: Annotated[list[str] | None, typer.Option("--drop-node", help="A node leaves the pool (repeatable).")] = None,
    drop_network: Annotated[list[str] | None, typer.Option("--drop-network", help="A network leaves (repeatable).")] = None,
    drop_operator: Annotated[list[str] | None, typer.Option("--drop-operator",
                                                            help="An operator leaves (repeatable).")] = None,
    bandwidth_scale: Annotated[float, typer.Option("--bandwidth-scale", min=1e-3, max=1e3, callback=finite,
                                                   help="Every bandwidth x F.")] = 1.0,
    price_scale: Annotated[list[str] | None, typer.Option("--price-scale",
                                                          help="NETWORK=F: its prices x F (repeatable).")] = None,
    reputation: Annotated[list[str] | None, typer.Option("--reputation",
                                                         help="NODE=R: a new reputation (repeatable).")] = None,
    set_level: Annotated[list[str] | None, typer.Option("--set-level", help="TASK=LEVEL: a new level (repeatable).")] = None,
    lease_end: Annotated[list[str] | None, typer.Option("--lease-end", help="NODE=SECONDS: its lease ends then "
                                                        "(repeatable).")] = None,
    failure_scale: Annotated[float, typer.Option("--failure-scale", min=0, max=1e6, callback=finite,
                                                 help="Every node's failures_per_hour x F.")] = 1.0,
    move_site: Annotated[list[str] | None, typer.Option("--move-site", help="SITE=COUNTRY[:REGION]: the data "
                                                        "moves there (repeatable).")] = None,
    policy_b: Annotated[Path | None, typer.Option("--policy-b", exists=True, dir_okay=False,
                                                  help="Compare with this policy.")] = None,
    objective: ObjectiveOpt = Objective.MAKESPAN,
    deadline: DeadlineOpt = None,
    success_target: TargetOpt = None,
    time_limit: TimeLimitOpt = 10.0,
    seed: SeedOpt = 0,
    workers: WorkersOpt = 0,
    engine: EngineOpt = EngineChoice.AUTO,
    deterministic: DeterministicOpt = True,
    scenarios: Annotated[Path | None, typer.Option("--scenarios", exists=True, dir_okay=False,
                                                   help="A YAML file of named scenarios, run in parallel.")] = None,
    sweep: Annotated[str | None, typer.Option("--sweep", help="KNOB=V1,V2,...: bandwidth-scale, deadline, "
                                                              "failure-scale, price-scale[:NETWORK].")] = None,
    jobs: Annotated[int, typer.Option("--jobs", min=0, max=256,
                                      help="Processes for --scenarios/--sweep (0: one per core).")] = 0,
    dask: DaskOpt = None,
    gantt: GanttOpt = None,
    output: OutputOpt = None,
    format: FormatOpt = Format.table,
    wide: WideOpt = False,
) -> None:
    """The plan before and after a change, side by side, and what moved (+ added, - removed, ~ moved).
    Repeatable: the same inputs and seed give the same diff (--deterministic, the default here). Exit 4
    when the changed case is infeasible."""
    inputs = load_inputs(workload, nodes, policy)
    for path, flag in ((output, "--output"), (gantt, "--gantt")):
        check_output(path, flag, [*inputs.paths, *(p for p in (scenarios, policy_b) if p is not None)])
    options = PlanOptions(objective=objective, deadline_s=deadline, success_target=success_target,
                          time_limit_s=time_limit, seed=seed, workers=workers, engine=engine,
                          deterministic=deterministic)
    if scenarios is not None or sweep is not None:
        inputs.problem()  # its notes
        _many(inputs, scenarios, sweep, options, jobs, format, output, wide, dask)
        return
    scenario = Scenario(drop_nodes=drop_node or [], drop_networks=drop_network or [],
                        drop_operators=drop_operator or [], bandwidth_scale=bandwidth_scale,
                        price_scale=pairs(price_scale, "--price-scale", (0.0, 1e6)),
                        reputation=pairs(reputation, "--reputation", (0.0, 1.0)),
                        set_level=pairs(set_level, "--set-level"),
                        lease_end=pairs(lease_end, "--lease-end", (0.0, 1e9)), failure_scale=failure_scale,
                        move_site=pairs(move_site, "--move-site"),
                        policy=load_policy(policy_b) if policy_b is not None else None)
    inputs.problem()  # its notes
    # each of the two plans gets half the time
    half = dataclasses.replace(options, time_limit_s=time_limit / 2)
    result, interrupted = solve(None, half, "what-if", run=lambda o: whatif(
        inputs.workload, inputs.pool, inputs.policy, scenario, options=o))
    if interrupted:
        note("interrupted: nothing written")
        raise typer.Exit(EXIT_INTERRUPTED)
    written = []
    if output is not None:
        write_atomic(output, _json_text(result.to_dict()))
        written.append(f"what-if written to {output}")
    if gantt is not None:
        from ...pictures import whatif_gantt

        written.append(f"Gantt chart of both plans written to {whatif_gantt(result, gantt)}")
    if format == Format.json:
        emit_json(result.to_dict())
    else:
        console = make_console(wide)
        render.print_whatif(console, result)
        for line in written:
            console.print(line)
    raise typer.Exit(0 if result.changed.has_plan else EXIT_INFEASIBLE)


def _many(inputs, scenarios: Path | None, sweep: str | None, options: PlanOptions, jobs: int, format: Format,
          output: Path | None, wide: bool, dask: str | None = None) -> None:
    from rich.progress import Progress

    from ...analysis.sweep import load_scenarios, results_table, run_scenarios, sweep_scenarios
    from ..common import make_console as console_for

    todo = load_scenarios(scenarios) if scenarios is not None else []
    if sweep is not None:
        todo += sweep_scenarios(sweep, inputs.pool)
    with dask_executor(dask, jobs) as executor, Progress(console=console_for(err=True), transient=True) as bar:
        job = bar.add_task(f"{len(todo)} scenarios", total=len(todo))
        base, results, pids = run_scenarios(inputs.workload, inputs.pool, inputs.policy, todo, options,
                                            workers=jobs or None, on_done=lambda r: bar.advance(job),
                                            executor=executor)
    rows = results_table(results)
    doc = {"base": base.to_json_dict(), "processes": len(pids),
           "scenarios": [{**row, "changed": r.changed.to_json_dict(), "moved": [m.to_dict() for m in r.moved]}
                         for row, r in zip(rows, results)]}
    if output is not None:
        write_atomic(output, _json_text(doc))
    if format == Format.json:
        emit_json(doc)
        return
    console = make_console(wide)
    console.print(render.scenarios_table(base, rows, f"{len(results)} scenarios ({len(pids)} processes)"))
    if output is not None:
        console.print(f"results written to {output}")
