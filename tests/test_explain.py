"""explain: effective level with its provenance, verdict per node, summary line."""

from __future__ import annotations

from scheduler.analysis.explain import explain_task
from scheduler.formats.loading import load_nodes, load_policy, load_workload
from scheduler.problem import Problem

from .conftest import CASES, POLICY, POOL60


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
