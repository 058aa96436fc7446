"""JSON Schemas of the input files and the plan, generated from the models."""

from __future__ import annotations

from typing import Any

from ..domain import NodePool, Plan, Policy, Workload

KINDS = {"policy": Policy, "nodes": NodePool, "workload": Workload, "plan": Plan}


def json_schema(kind: str = "policy") -> dict[str, Any]:
    """The JSON Schema of `kind` (policy, nodes, workload or plan).

    Raises:
        ValueError: an unknown kind.
    """
    model = KINDS.get(kind)
    if model is None:
        raise ValueError(f"unknown schema {kind!r}; choose one of {', '.join(KINDS)}")
    doc = model.model_json_schema(mode="validation")
    doc["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    doc.setdefault("title", kind)
    return doc
