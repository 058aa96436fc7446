"""The `scheduler` command (contract: Command line): the verbs of `scheduler.cli.verbs`, assembled."""

from __future__ import annotations

from typing import Annotated

import typer

from .verbs.akash import export_app, import_app
from .verbs.explain import explain
from .verbs.pareto import pareto
from .verbs.plan import plan_app
from .verbs.replan import replan
from .verbs.schema import schema
from .verbs.simulate import simulate
from .verbs.verify import verify
from .verbs.whatif import whatif_cmd

app = typer.Typer(
    name="scheduler",
    help="Privacy-aware placement of task DAGs onto decentralised GPU pools.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def _version(value: bool) -> None:
    if value:
        from .. import __version__

        typer.echo(f"scheduler {__version__} (contract 1.1)")
        raise typer.Exit(0)


@app.callback()
def main_options(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Print the version and exit.")] = False,
) -> None:
    """Privacy-aware placement of task DAGs onto decentralised GPU pools."""


app.add_typer(plan_app, name="plan")
app.command()(verify)
app.command()(explain)
app.command(name="whatif")(whatif_cmd)
app.command()(pareto)
app.command()(replan)
app.command()(simulate)
app.command()(schema)
app.add_typer(export_app, name="export")
app.add_typer(import_app, name="import")
