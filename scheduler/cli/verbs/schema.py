"""`scheduler schema`: the JSON Schema of a file format, generated from the models."""

from __future__ import annotations

from enum import Enum
from typing import Annotated

import typer

from ...formats.schema import json_schema
from ..common import emit_json, handle_errors


class Kind(str, Enum):
    policy = "policy"
    nodes = "nodes"
    workload = "workload"
    plan = "plan"


@handle_errors
def schema(kind: Annotated[Kind, typer.Argument(help="Which file format.")] = Kind.policy) -> None:
    """Print the JSON Schema of a file format (with each field's meaning and unit)."""
    emit_json(json_schema(kind.value))
