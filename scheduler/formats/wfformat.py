"""WfCommons WfFormat traces as workloads.

A trace (``.json`` with a top-level ``workflow`` object) becomes a workload:
each task's measured runtime becomes `duration_s`, and the files a parent writes
and a child reads become the edge's `data_gb`. Schema 1.5 (``specification`` +
``execution``) and the older flat form (``workflow.tasks`` with ``runtime``,
``files`` with ``link``) are both read.
"""

from __future__ import annotations

from typing import Any

from ..errors import InputError

MIN_DURATION_S = 0.001  # traces record 0 s for instant steps; the contract wants > 0


def to_workload_data(doc: dict[str, Any], name: str = "") -> dict[str, Any]:
    """Convert a WfFormat document to the plain data of a workload.

    Raises:
        InputError: the trace lacks tasks, runtimes or ids.
    """
    wf = doc.get("workflow")
    if not isinstance(wf, dict):
        raise InputError("`workflow` must be a mapping", file=name, field="workflow")
    if "specification" in wf:
        tasks = _from_v15(wf, name)
    elif "tasks" in wf:
        tasks = _from_flat(wf, name)
    else:
        raise InputError("a WfFormat trace needs workflow.specification or workflow.tasks", file=name,
                         field="workflow")
    return {"name": str(doc.get("name") or ""), "tasks": tasks}


def _require(cond: bool, message: str, name: str, field: str) -> None:
    if not cond:
        raise InputError(message, file=name, field=field)


def _from_v15(wf: dict[str, Any], name: str) -> list[dict[str, Any]]:
    spec = wf["specification"]
    _require(isinstance(spec, dict) and isinstance(spec.get("tasks"), list), "must hold a list `tasks`", name,
             "workflow.specification")
    sizes: dict[str, float] = {}
    for i, f in enumerate(spec.get("files") or []):
        _require(isinstance(f, dict) and isinstance(f.get("id"), str), "a file needs an `id`", name,
                 f"workflow.specification.files[{i}]")
        size = f.get("sizeInBytes", 0)
        _require(isinstance(size, int | float) and not isinstance(size, bool) and size >= 0,
                 "sizeInBytes must be a number >= 0", name, f"workflow.specification.files[{i}].sizeInBytes")
        sizes[f["id"]] = float(size)
    runtimes: dict[str, float] = {}
    execution = wf.get("execution") or {}
    for i, t in enumerate(execution.get("tasks") or []):
        if isinstance(t, dict) and isinstance(t.get("id"), str):
            rt = t.get("runtimeInSeconds")
            _require(isinstance(rt, int | float) and not isinstance(rt, bool) and rt >= 0,
                     "runtimeInSeconds must be a number >= 0", name,
                     f"workflow.execution.tasks[{i}].runtimeInSeconds")
            runtimes[t["id"]] = float(rt)
    outputs: dict[str, set[str]] = {}
    specs = spec["tasks"]
    for i, t in enumerate(specs):
        _require(isinstance(t, dict) and isinstance(t.get("id"), str), "a task needs an `id`", name,
                 f"workflow.specification.tasks[{i}]")
        outputs[t["id"]] = set(t.get("outputFiles") or [])
    tasks = []
    for i, t in enumerate(specs):
        tid = t["id"]
        _require(tid in runtimes, f"task {tid!r} has no runtimeInSeconds in workflow.execution.tasks", name,
                 f"workflow.specification.tasks[{i}]")
        inputs = set(t.get("inputFiles") or [])
        deps = []
        for p in t.get("parents") or []:
            shared = outputs.get(p, set()) & inputs
            deps.append({"task": p, "data_gb": sum(sizes.get(f, 0.0) for f in shared) / 1e9})
        tasks.append({"id": tid, "duration_s": max(runtimes[tid], MIN_DURATION_S), "depends_on": deps})
    return tasks


def _from_flat(wf: dict[str, Any], name: str) -> list[dict[str, Any]]:
    raw = wf["tasks"]
    _require(isinstance(raw, list), "must be a list", name, "workflow.tasks")
    outputs: dict[str, dict[str, float]] = {}
    for t in raw:
        if isinstance(t, dict):
            tid = t.get("id") or t.get("name")
            outputs[str(tid)] = {
                f.get("name") or f.get("id"): float(f.get("size", f.get("sizeInBytes", 0)) or 0)
                for f in t.get("files") or [] if isinstance(f, dict) and f.get("link") == "output"
            }
    tasks = []
    for i, t in enumerate(raw):
        _require(isinstance(t, dict) and (t.get("id") or t.get("name")), "a task needs an `id` or `name`", name,
                 f"workflow.tasks[{i}]")
        tid = str(t.get("id") or t.get("name"))
        rt = t.get("runtimeInSeconds", t.get("runtime"))
        _require(isinstance(rt, int | float) and not isinstance(rt, bool) and rt >= 0,
                 "runtime must be a number >= 0", name, f"workflow.tasks[{i}].runtime")
        inputs = {f.get("name") or f.get("id") for f in t.get("files") or []
                  if isinstance(f, dict) and f.get("link") == "input"}
        deps = []
        for p in t.get("parents") or []:
            produced = outputs.get(str(p), {})
            deps.append({"task": str(p), "data_gb": sum(s for f, s in produced.items() if f in inputs) / 1e9})
        tasks.append({"id": tid, "duration_s": max(float(rt), MIN_DURATION_S), "depends_on": deps})
    return tasks
