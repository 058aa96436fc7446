"""`scheduler verify`: every rule of the contract on a plan, whoever made it."""

from __future__ import annotations

from typing import Annotated

import typer

from ...analysis.verify import verify_plan
from ...formats.loading import load_plan
from .. import render
from ..common import EXIT_VIOLATIONS, check_output, emit_json, handle_errors, load_inputs, make_console, write_atomic
from ..options import (DeadlineOpt, Format, FormatOpt, NodesOpt, OutputOpt, PlanFileOpt, PolicyOpt, WideOpt,
                       WorkloadOpt)


@handle_errors
def verify(
    plan: PlanFileOpt,
    workload: WorkloadOpt,
    nodes: NodesOpt,
    policy: PolicyOpt = None,
    deadline: DeadlineOpt = None,
    failed_node: Annotated[list[str] | None, typer.Option(
        "--failed-node", help="A node no replica may use (repeatable).")] = None,
    format: FormatOpt = Format.table,
    output: OutputOpt = None,
    wide: WideOpt = False,
) -> None:
    """Check every rule of the contract on a plan (made by any tool). Exit 0 when all hold, 3 on violations."""
    inputs = load_inputs(workload, nodes, policy)
    check_output(output, "--output", [*inputs.paths, plan])
    inputs.print_file_notes()
    for n in failed_node or []:
        if n not in inputs.pool.by_id:
            raise typer.BadParameter(f"no node {n!r} in {nodes}", param_hint="'--failed-node'")
    report = verify_plan(inputs.workload, inputs.pool, inputs.policy, load_plan(plan), deadline_s=deadline,
                         failed_nodes=failed_node or [])
    if output is not None:
        import json

        write_atomic(output, json.dumps(report.to_dict(), indent=2) + "\n")
    if format == Format.json:
        emit_json(report.to_dict())
    else:
        render.print_verify(make_console(wide), report)
    raise typer.Exit(0 if report.ok else EXIT_VIOLATIONS)
