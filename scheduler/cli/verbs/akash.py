"""`scheduler export akash` and `scheduler import akash`: plans to Akash SDL deployments, and the
Akash Console's provider listing to a node pool (the work is `scheduler.marketplace`'s)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Literal

import typer
import yaml

from ...analysis.verify import verify_plan
from ...domain.levels import permissive_policy
from ...domain.units import format_duration
from ...errors import InputError
from ...formats.documents import read_document
from ...formats.loading import load_plan
from ...formats.writing import write_directory_atomic
from ...marketplace import ExportOptions, ImportOptions, export_akash, import_akash_providers
from ...marketplace.akash_sdl import DEFAULT_BLOCK_S, AkashExport
from ..common import check_output, emit_json, handle_errors, load_inputs, make_console, note, write_atomic
from ..options import Format, FormatOpt, NodesOpt, PlanFileOpt, PolicyOpt, WideOpt, WorkloadOpt, finite

export_app = typer.Typer(help="Turn a plan into documents a marketplace deploys.", no_args_is_help=True,
                         rich_markup_mode=None)
import_app = typer.Typer(help="Turn a marketplace's listing into a node pool.", no_args_is_help=True,
                         rich_markup_mode=None)


@export_app.command("akash")
@handle_errors
def export_akash_cmd(
    plan: PlanFileOpt,
    workload: WorkloadOpt,
    nodes: NodesOpt,
    output: Annotated[Path, typer.Option("--output", help="Directory for the SDL documents and deployments.json "
                                                          "(written whole or not at all).")],
    policy: PolicyOpt = None,
    denom: Annotated[str, typer.Option("--denom", help="Price denomination: uact (USD credits), uakt or ibc/...")]
    = "uact",
    usd_per_token: Annotated[float | None, typer.Option(
        "--usd-per-token", min=1e-12, callback=finite,
        help="USD per whole token of --denom (needed unless it is uact).")] = None,
    block_s: Annotated[float, typer.Option("--block-s", min=0.1, max=600, callback=finite,
                                           help="Seconds per block (prices are per block).")] = DEFAULT_BLOCK_S,
    default_image: Annotated[str | None, typer.Option(
        "--default-image", help="Container image of tasks without labels.image (else such a task is an error).")]
    = None,
    force: Annotated[bool, typer.Option("--force", help="Replace --output when it exists and is not empty.")]
    = False,
    format: FormatOpt = Format.table,
    wide: WideOpt = False,
) -> None:
    """SDL documents (Akash, version 2.0) for the replicas a valid plan puts on Akash nodes: one per replica,
    pinned to the planned provider, with TEE parameters where the task's level needs one."""
    if denom not in ("uact", "uakt") and not denom.startswith("ibc/"):
        raise typer.BadParameter(f"{denom!r}: Akash prices in uact, uakt or an ibc/... token", param_hint="'--denom'")
    if usd_per_token is None and denom != "uact":
        raise typer.BadParameter(f"the USD price of a whole {denom[1:] if denom[0] == 'u' else denom} is needed to "
                                 f"turn the nodes' USD prices into {denom}", param_hint="'--usd-per-token'")
    inputs = load_inputs(workload, nodes, policy)
    pol = inputs.policy or permissive_policy()
    the_plan = load_plan(plan)
    report = verify_plan(inputs.workload, inputs.pool, pol, the_plan)
    if not report.ok:
        first = report.violations[0]
        raise InputError(f"the plan breaks {len(report.violations)} rule(s) on these files (first: {first.rule}: "
                         f"{first.message}); `scheduler verify` lists them; only a valid plan is exported", file=plan)
    options = ExportOptions(denom=denom, usd_per_token=usd_per_token or 1.0, block_s=block_s,
                            default_image=default_image)
    made = export_akash(the_plan, inputs.workload, inputs.pool, pol, options)
    files = {d.file: _document_text(d.sdl, d.summary()) for d in made.deployments}
    files["deployments.json"] = json.dumps(made.index(options), indent=2) + "\n"
    write_directory_atomic(output, files, replace=force)
    for line in made.notes:
        note(line)
    if format == Format.json:
        emit_json(made.index(options))
    else:
        _print_export(made, output, options, wide)


def _document_text(sdl: dict[str, Any], summary: dict[str, Any]) -> str:
    nodes = ", ".join(summary["nodes"])
    header = (f"# Akash SDL for task {summary['task']}, replica {summary['replica']}, on {nodes}: planned from "
              f"{summary['start_s']:.0f} s to {summary['end_s']:.0f} s after the plan's start.\n"
              f"# Made by `scheduler export akash`; deploy it when the plan says, e.g. with the Akash Console or\n"
              f"# `provider-services tx deployment create {summary['file']}`.\n")
    return header + "---\n" + yaml.safe_dump(sdl, sort_keys=False, allow_unicode=True, width=1000)


def _print_export(made: AkashExport, output: Path, options: ExportOptions, wide: bool) -> None:
    from rich.table import Table

    console = make_console(wide)
    table = Table(title=f"{len(made.deployments)} Akash deployment(s) in {output}", title_justify="left")
    for col in ("file", "task", "replica", "nodes", "start", "end", "tee", f"max {options.denom}/block"):
        table.add_column(col, overflow="fold")
    for d in made.deployments:
        table.add_row(d.file, d.task, str(d.replica), ", ".join(d.nodes), format_duration(d.start_s),
                      format_duration(d.end_s), d.tee or "-", f"{d.price_per_block:g}")
    console.print(table)
    if made.elsewhere:
        rest = ", ".join(f"{n} on {net}" for net, n in sorted(made.elsewhere.items()))
        console.print(f"not exported (other networks): {rest}")


@import_app.command("akash")
@handle_errors
def import_akash_cmd(
    providers: Annotated[Path, typer.Option("--providers", exists=True, dir_okay=False, readable=True,
                                            help="The Akash Console's provider listing (GET /v1/providers), JSON.")],
    output: Annotated[Path, typer.Option("--output", help="The node pool to write (YAML; whole or not at all).")],
    prices: Annotated[Path | None, typer.Option(
        "--prices", exists=True, dir_okay=False, readable=True,
        help="The Console's GPU prices (GET /v1/gpu-prices), JSON; default: the built-in table's prices.")] = None,
    capacity: Annotated[str, typer.Option("--capacity", help="available (free GPUs now) or total.")] = "available",
    include_offline: Annotated[bool, typer.Option("--include-offline", help="Keep providers marked offline.")]
    = False,
) -> None:
    """A node pool from the Akash Console's provider listing: one node per provider and GPU model, TEE and
    audits from the attributes, uptime as reputation and failure rate. Entries it cannot use are skipped,
    one line each."""
    if capacity not in ("available", "total"):
        raise typer.BadParameter(f"{capacity!r}: available or total", param_hint="'--capacity'")
    check_output(output, "--output", [p for p in (providers, prices) if p is not None])
    listing = read_document(providers, "provider listing")
    price_list = read_document(prices, "price list") if prices is not None else None
    cap: Literal["available", "total"] = "available" if capacity == "available" else "total"
    made = import_akash_providers(listing, price_list, ImportOptions(capacity=cap, include_offline=include_offline),
                                  source=str(providers), prices_source=str(prices or ""))
    for line in made.skipped + made.notes:
        note(line)
    doc = {"nodes": [n.model_dump(mode="json", exclude_defaults=True) | {"id": n.id} for n in made.pool.nodes]}
    header = (f"# A node pool from the Akash provider listing {providers.name} (scheduler import akash): "
              f"{len(made.pool.nodes)} node(s); {len(made.skipped)} line(s) of the listing skipped.\n")
    write_atomic(output, header + yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=1000))
    typer.echo(f"wrote {output}: {len(made.pool.nodes)} node(s) from {providers.name}, {len(made.skipped)} skipped")

