"""`scheduler explain`: why a task may run where."""

from __future__ import annotations

import difflib
from typing import Annotated

import typer

from ...analysis.explain import explain_task
from .. import render
from ..common import handle_errors, load_inputs, make_console, emit_json
from ..options import Format, FormatOpt, NodesOpt, PolicyOpt, WideOpt, WorkloadOpt


@handle_errors
def explain(
    task: Annotated[str, typer.Option("--task", help="The task to explain.")],
    workload: WorkloadOpt,
    nodes: NodesOpt,
    policy: PolicyOpt = None,
    format: FormatOpt = Format.table,
    all_nodes: Annotated[bool, typer.Option("--all", help="List every node, not the first 200.")] = False,
    wide: WideOpt = False,
) -> None:
    """A task's effective level and why, and every node's verdict with the rules that turned it away."""
    problem = load_inputs(workload, nodes, policy).problem()
    if task not in problem.dag.index:
        close = difflib.get_close_matches(task, problem.dag.ids, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise typer.BadParameter(f"no task {task!r} in {workload}{hint}", param_hint="'--task'")
    e = explain_task(problem, task)
    if format == Format.json:
        emit_json(e.to_dict())
    else:
        render.print_explanation(make_console(wide), e, problem, show_all=all_nodes)
