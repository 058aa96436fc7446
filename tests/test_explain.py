"""explain: effective level with its provenance, verdict per node, summary line."""

from __future__ import annotations

import math

from scheduler.analysis.explain import explain_task
from scheduler.formats.loading import load_nodes, load_policy, load_workload
from scheduler.problem import Problem

from .conftest import CASES, EXAMPLES, POLICIES, POLICY, POOL60


def test_explain_on_shared_case() -> None:
    p = Problem(load_workload(CASES / "llm-finetune.yaml"), load_nodes(POOL60), load_policy(POLICY))
    e = explain_task(p, "tokenize-0")
    assert e.level == "confidential" and e.own_level == "internal"
    assert "pii-scrub" in e.why[0] and "declassified from restricted" in e.why[0]
    assert any("ingest declares restricted" in line for line in e.why)
    assert e.eligible == sum(v.eligible for v in e.verdicts)
    assert e.summary.startswith(f"{e.eligible}/60 nodes can run tokenize-0")
    # every rejected node names at least one rule; counts add up to the rejected nodes
    assert all(v.rejections for v in e.verdicts if not v.eligible)
    assert sum(e.counts.values()) == 60 - e.eligible


def test_explain_zero_eligible(tiny, tiny_pool_doc) -> None:
    p = Problem(load_workload(tiny["workload"]), load_nodes(tiny["nodes"]), load_policy(tiny["policy"]))
    e = explain_task(p, "ingest")
    assert e.required_replicas == 2 and e.spread == "operator" and e.min_success == 0.999
    assert e.eligible == 2  # n0 (DE) and n1 (FR) have tdx and attestation
    d = e.to_dict()
    assert d["rejected_by"] == e.counts and len(d["verdicts"]) == 6


def test_explain_names_the_site_and_the_window_verdicts() -> None:
    """Contract 1.1: the site whose level raised the task, each node's completion probability for this
    task's runtime, and a node whose windows are all too short turned away by `window`."""
    from scheduler.domain import NodePool, Workload

    p = Problem(load_workload(EXAMPLES / "llm-finetune.yaml"), load_nodes(EXAMPLES / "pool-churn.yaml"),
                load_policy(POLICIES / "default.yaml"))
    e = explain_task(p, "ingest")
    assert e.level == "restricted" and e.own_level == "internal"
    assert "reads site customer-bucket" in e.why[0]
    v = next(v for v in e.verdicts if v.eligible)
    assert 0 < v.completion_probability < v.reputation  # failures per hour over the runtime
    wl = Workload.model_validate({"tasks": [{"id": "long", "duration_s": 7200}]})
    pool = NodePool.model_validate({"nodes": [{"id": "night", "gpus": 1, "available": [{"from_s": 0, "until_s": 3600}]},
                                              {"id": "always", "gpus": 1, "failures_per_hour": 0.5}]})
    e = explain_task(Problem(wl, pool), "long")
    night = next(v for v in e.verdicts if v.node == "night")
    assert not night.eligible and [r.rule.value for r in night.rejections] == ["window"]
    assert "none holds" in night.windows
    always = next(v for v in e.verdicts if v.node == "always")
    assert always.eligible and always.windows == "always"
    assert abs(always.completion_probability - 0.5 * math.exp(-1.0)) < 1e-12
    assert e.counts == {"window": 1} and e.to_dict()["verdicts"][0]["completion_probability"] > 0


def test_explain_a_gang_lists_the_sets_that_fit() -> None:
    """Contract 1.1 gangs: the fastest candidate node sets, their runtime and price (the shared gang case:
    eu-central's four nodes on 100 Gbit/s beat the faster us-east nodes on 2 Gbit/s)."""
    cases = CASES.parent / "cases-1.1"
    p = Problem(load_workload(cases / "gang.yaml"), load_nodes(cases / "gang.nodes.yaml"),
                load_policy(cases / "gang.policy.yaml"))
    e = explain_task(p, "pretrain")
    assert "a replica spans 4 of them at once" in e.summary
    assert e.gangs[0]["nodes"] == ["eu-0", "eu-1", "eu-2", "eu-3"] and e.gangs[0]["runtime_s"] == 10160.0
    assert [g["runtime_s"] for g in e.gangs] == sorted(g["runtime_s"] for g in e.gangs)
