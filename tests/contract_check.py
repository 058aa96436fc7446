"""An independent reading of the contract's plan rules, for the tests only: written from
CONTRACT.md without the library's policy, network or verify code, so that a bug there cannot hide
itself in both. `violations(...)` returns the names of the rules a plan breaks (empty: valid)."""

from __future__ import annotations

import math

TEE_KINDS = {"sgx", "tdx", "sev-snp", "nvidia-cc"}
EPS = 1e-9


def _runtime(task: dict, node: dict) -> float:
    by_gpu = task.get("duration_by_gpu") or {}
    if node.get("gpu", "") in by_gpu:
        return by_gpu[node["gpu"]]
    return task["duration_s"] / node.get("speed", 1.0)


def _bandwidth(pool: dict, a: dict, b: dict) -> float:
    for link in pool.get("links") or []:
        if link.get("nodes") and set(link["nodes"]) == {a["id"], b["id"]}:
            return link["bandwidth_gbps"]
    for link in pool.get("links") or []:
        if link.get("regions") and sorted(link["regions"]) == sorted([a.get("region", ""), b.get("region", "")]):
            return link["bandwidth_gbps"]
    return min(a.get("bandwidth_gbps", 1.0), b.get("bandwidth_gbps", 1.0))


def _levels(workload: dict, policy: dict | None) -> dict[str, dict]:
    """Effective level of every task (as a level dict), by the contract's propagation rule."""
    if policy is None:
        policy = {"default_level": "public", "levels": [{"name": "public"}]}
    levels = policy["levels"]
    rank = {lv["name"]: k for k, lv in enumerate(levels)}
    default = policy.get("default_level") or levels[0]["name"]
    tasks = {t["id"]: t for t in workload["tasks"]}
    out_level: dict[str, str] = {}
    effective: dict[str, str] = {}

    def visit(tid: str) -> None:
        if tid in effective:
            return
        t = tasks[tid]
        own = t.get("sensitivity") or default
        level = own
        for d in t.get("depends_on") or []:
            parent = d if isinstance(d, str) else d["task"]
            visit(parent)
            if rank[out_level[parent]] > rank[level]:
                level = out_level[parent]
        effective[tid] = level
        out = level
        floor = levels[rank[level]].get("declassify_to")
        if t.get("declassifies") and floor is not None:
            out = own if rank[own] >= rank[floor] else floor
        out_level[tid] = out

    for tid in tasks:
        visit(tid)
    return {tid: levels[rank[lv]] for tid, lv in effective.items()}


def _eligible(task: dict, level: dict, node: dict) -> bool:
    gpus = task.get("gpus", 1)
    if gpus > node.get("gpus", 0):
        return False
    if gpus > 0 and task.get("gpu_memory_gb", 0) > node.get("gpu_memory_gb", 0):
        return False
    if level.get("tee") and not set(level["tee"]) & set(node.get("tee") or []):
        return False
    if level.get("attested") and not node.get("attested", False):
        return False
    if node.get("reputation", 0.5) < level.get("min_reputation", 0.0):
        return False
    for rule, key in (("countries", "country"), ("regions", "region"), ("networks", "network")):
        allowed = level.get(rule)
        if allowed is not None and node.get(key, "unknown" if key == "network" else "") not in allowed:
            return False
    return True


def violations(workload: dict, pool: dict, policy: dict | None, plan: dict) -> set[str]:
    """The rules a plan (JSON document) breaks; documents are plain data as in the files."""
    tasks = {t["id"]: t for t in workload["tasks"]}
    nodes = {n["id"]: n for n in pool["nodes"]}
    levels = _levels(workload, policy)
    broken: set[str] = set()
    rows: dict[str, list[dict]] = {}
    seen = set()
    for a in plan["assignments"]:
        if a["task"] not in tasks or a["node"] not in nodes or (a["task"], a["replica"]) in seen:
            broken.add("rows")
            continue
        seen.add((a["task"], a["replica"]))
        rows.setdefault(a["task"], []).append(a)
    for tid, t in tasks.items():
        lv, reps = levels[tid], rows.get(tid, [])
        if len(reps) < max(t.get("replicas", 1), lv.get("min_replicas", 1)):
            broken.add("replicas")
        key = lv.get("spread") or "node"
        values = [a["node"] if key == "node" else nodes[a["node"]].get(key, a["node"] if key == "operator" else "")
                  for a in reps]
        if len(set(a["node"] for a in reps)) < len(reps) or len(set(values)) < len(values):
            broken.add("spread")
        fail = math.prod(1 - nodes[a["node"]].get("reputation", 0.5) for a in reps)
        if lv.get("min_success") is not None and 1 - fail < lv["min_success"] - 1e-12:
            broken.add("min_success")
        for a in reps:
            node = nodes[a["node"]]
            if not _eligible(t, lv, node):
                broken.add("eligibility")
            if a["start_s"] < -EPS or a["end_s"] - a["start_s"] < _runtime(t, node) * (1 - EPS) - EPS:
                broken.add("times")
            for d in t.get("depends_on") or []:
                parent, gb = (d, 0.0) if isinstance(d, str) else (d["task"], d.get("data_gb", 0.0))
                arrivals = [b["end_s"] + (0.0 if b["node"] == a["node"] or gb <= 0 else
                                          gb * 8 / _bandwidth(pool, nodes[b["node"]], node)) for b in rows.get(parent, [])]
                if not arrivals or a["start_s"] < min(arrivals) - EPS * max(1.0, min(arrivals)):
                    broken.add("precedence")
    for nid, node in nodes.items():
        events = sorted((x, -tasks[a["task"]].get("gpus", 1) if x == a["end_s"] else tasks[a["task"]].get("gpus", 1))
                        for reps in rows.values() for a in reps if a["node"] == nid and a["end_s"] > a["start_s"]
                        for x in (a["start_s"], a["end_s"]))
        used = 0
        for _, delta in events:
            used += delta
            if used > node.get("gpus", 0):
                broken.add("capacity")
    return broken
