"""The placement engine end to end: optimality on known instances, infeasibility reasons,
and properties on random instances (every plan valid, never below its bound, never worse
than its warm start)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from benchmarks.datasets import heft_example, stg_files, stg_optima, stg_pool, stg_workload
from scheduler import PlanOptions, plan
from scheduler.analysis.verify import verify_plan
from scheduler.domain import NodePool, Objective, PlanStatus, Policy, Workload
from scheduler.engine.bounds import compute_bounds
from scheduler.problem import Problem

from .conftest import instances


def test_heft_example_proven_optimum() -> None:
    wl, pool = heft_example()
    p = plan(wl, pool, time_limit_s=10)
    assert p.status == PlanStatus.OPTIMAL
    assert p.makespan_s == pytest.approx(73.0) and p.lower_bound_s == pytest.approx(73.0)
    assert p.heuristic_makespan_s == pytest.approx(80.0)
    assert verify_plan(wl, pool, None, p).ok


@pytest.mark.parametrize("index, processors", [(0, 2), (1, 4), (5, 8)])
def test_stg_published_optimum(index: int, processors: int) -> None:
    f = stg_files(50)[index]
    opt = stg_optima(50)[(f.stem, processors)]
    wl = stg_workload(f)
    p = plan(wl, stg_pool(processors), time_limit_s=10)
    assert p.makespan_s == pytest.approx(opt)
    assert p.lower_bound_s <= p.makespan_s + 1e-9


def docs(tiny_workload_doc, tiny_pool_doc, tiny_policy_doc):
    return (Workload.model_validate(tiny_workload_doc), NodePool.model_validate(tiny_pool_doc),
            Policy.model_validate(tiny_policy_doc))


def test_plan_is_valid_and_reports_truthfully(tiny_workload_doc, tiny_pool_doc, tiny_policy_doc) -> None:
    wl, pool, pol = docs(tiny_workload_doc, tiny_pool_doc, tiny_policy_doc)
    for objective in Objective:
        p = plan(wl, pool, pol, objective=objective, time_limit_s=3)
        report = verify_plan(wl, pool, pol, p)
        assert report.ok, report.violations
        assert p.lower_bound_s <= p.makespan_s + 1e-6
        assert p.cost_lower_bound_usd <= p.cost_usd + 1e-9


def test_no_eligible_node_counts_rules(tiny_workload_doc, tiny_pool_doc, tiny_policy_doc) -> None:
    wl, pool, pol = docs(tiny_workload_doc, tiny_pool_doc, tiny_policy_doc)
    wl.tasks[2].gpus = 16
    p = plan(Workload.model_validate(wl.model_dump()), pool, pol, time_limit_s=2)
    assert p.status == PlanStatus.INFEASIBLE and not p.assignments
    row = next(u for u in p.unplaceable if u.task == "train")
    assert row.reasons == {"gpus": 6} and row.rule == "eligibility"


def test_spread_and_min_success_infeasible(tiny_workload_doc, tiny_pool_doc, tiny_policy_doc) -> None:
    wl, pool, pol = docs(tiny_workload_doc, tiny_pool_doc, tiny_policy_doc)
    strict = Policy.model_validate({**tiny_policy_doc, "levels": [
        *tiny_policy_doc["levels"][:3], {**tiny_policy_doc["levels"][3], "min_replicas": 3}]})
    p = plan(wl, pool, strict, time_limit_s=2)
    assert p.status == PlanStatus.INFEASIBLE and {u.rule for u in p.unplaceable} == {"spread"}
    greedy = Policy.model_validate({**tiny_policy_doc, "levels": [
        *tiny_policy_doc["levels"][:3], {**tiny_policy_doc["levels"][3], "min_success": 0.99999}]})
    p = plan(wl, pool, greedy, time_limit_s=2)
    assert p.status == PlanStatus.INFEASIBLE and {u.rule for u in p.unplaceable} == {"min_success"}
    assert {u.task for u in p.unplaceable} == {"ingest", "scrub"}


def test_deadline_below_critical_path(tiny_workload_doc, tiny_pool_doc, tiny_policy_doc) -> None:
    wl, pool, pol = docs(tiny_workload_doc, tiny_pool_doc, tiny_policy_doc)
    p = plan(wl, pool, pol, objective="cost", deadline_s=500, time_limit_s=2)
    assert p.status == PlanStatus.INFEASIBLE
    assert {u.rule for u in p.unplaceable} == {"deadline"}
    assert "train" in {u.task for u in p.unplaceable}


def test_cost_with_deadline(tiny_workload_doc, tiny_pool_doc, tiny_policy_doc) -> None:
    wl, pool, pol = docs(tiny_workload_doc, tiny_pool_doc, tiny_policy_doc)
    fast = plan(wl, pool, pol, time_limit_s=3)
    cheap = plan(wl, pool, pol, objective="cost", deadline_s=fast.makespan_s * 1.5, time_limit_s=3)
    assert cheap.has_plan and cheap.makespan_s <= fast.makespan_s * 1.5 + 1e-6
    assert cheap.cost_usd <= fast.cost_usd + 1e-9
    assert verify_plan(wl, pool, pol, cheap).ok


def test_success_target(tiny_workload_doc, tiny_pool_doc, tiny_policy_doc) -> None:
    wl, pool, pol = docs(tiny_workload_doc, tiny_pool_doc, tiny_policy_doc)
    base = plan(wl, pool, pol, time_limit_s=3)
    assert base.success_probability < 0.9995  # the best replicas everywhere reach 0.999582
    target = (base.success_probability + 0.9995) / 2
    p = plan(wl, pool, pol, success_target=target, time_limit_s=5)
    assert p.has_plan and p.success_probability >= target
    assert verify_plan(wl, pool, pol, p).ok
    p = plan(wl, pool, pol, success_target=0.999999, time_limit_s=2)
    assert p.status == PlanStatus.INFEASIBLE and p.unplaceable[0].rule == "success_target"


def test_tiny_time_limit_still_gives_a_valid_plan(tiny_workload_doc, tiny_pool_doc, tiny_policy_doc) -> None:
    wl, pool, pol = docs(tiny_workload_doc, tiny_pool_doc, tiny_policy_doc)
    p = plan(wl, pool, pol, time_limit_s=0.05)
    assert p.has_plan and verify_plan(wl, pool, pol, p).ok


def test_faster_region_link_is_used() -> None:
    # nodes have slow 1 Gb/s uplinks but sit in one data centre with a 100 Gb/s fabric
    pool = NodePool.model_validate({"nodes": [
        {"id": f"n{k}", "gpus": 1, "region": "dc", "bandwidth_gbps": 1} for k in range(2)],
        "links": [{"regions": ["dc", "dc"], "bandwidth_gbps": 100}]})
    wl = Workload.model_validate({"tasks": [
        {"id": "a", "duration_s": 10}, {"id": "b", "duration_s": 10},
        {"id": "c", "duration_s": 10, "depends_on": [{"task": "a", "data_gb": 100}, {"task": "b", "data_gb": 100}]}]})
    p = plan(wl, pool, time_limit_s=5)
    # a and b run in parallel; c waits for one transfer of 100 GB at 100 Gb/s = 8 s
    assert p.makespan_s == pytest.approx(28.0) and p.status == PlanStatus.OPTIMAL
    assert verify_plan(wl, pool, None, p).ok


def test_slower_node_link_is_respected() -> None:
    pool = NodePool.model_validate({"nodes": [
        {"id": "n0", "gpus": 1, "bandwidth_gbps": 100}, {"id": "n1", "gpus": 1, "bandwidth_gbps": 100}],
        "links": [{"nodes": ["n0", "n1"], "bandwidth_gbps": 0.8}]})
    wl = Workload.model_validate({"tasks": [
        {"id": "a", "duration_s": 10}, {"id": "b", "duration_s": 10},
        {"id": "c", "duration_s": 10, "depends_on": [{"task": "a", "data_gb": 1}, {"task": "b", "data_gb": 1}]}]})
    p = plan(wl, pool, time_limit_s=5)
    assert p.makespan_s == pytest.approx(30.0)  # moving 1 GB takes 10 s: as fast to run a, b in a row
    assert verify_plan(wl, pool, None, p).ok


# --- properties on random instances -------------------------------------------------

@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(instances(), st.booleans())
def test_random_instances(inst, windows: bool) -> None:
    wl, pool, pol, objective = inst
    # windows: the large-model path (rolling CP-SAT windows around the heuristic's plan), forced
    p = plan(wl, pool, pol, options=PlanOptions(objective=objective, time_limit_s=1.0,
                                                lns_above_literals=0 if windows else 10**9))
    if not p.has_plan:
        assert p.status == PlanStatus.INFEASIBLE and p.unplaceable
        return
    report = verify_plan(wl, pool, pol, p)
    assert report.ok, report.violations
    assert p.makespan_s >= p.lower_bound_s - 1e-6
    raw = compute_bounds(Problem(wl, pool, pol))  # before the planner caps the bound at the plan
    assert raw.makespan_s <= p.makespan_s * (1 + 1e-9) + 1e-6 and raw.cost_usd <= p.cost_usd * (1 + 1e-9) + 1e-9
    key = (p.cost_usd, p.makespan_s) if objective == Objective.COST else (p.makespan_s, p.cost_usd)
    warm = ((p.heuristic_cost_usd, p.heuristic_makespan_s) if objective == Objective.COST
            else (p.heuristic_makespan_s, p.heuristic_cost_usd))
    assert key[0] <= warm[0] + 1e-6


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(instances(), st.sampled_from([0.6, 0.9, 1.0, 1.5]), st.sampled_from([None, 0.9]),
       st.sampled_from(["auto", "heuristic"]))
def test_cost_mode_with_a_deadline(inst, stretch: float, target: float | None, engine: str) -> None:
    """Deadline = stretch x the makespan-first heuristic's makespan: a plan meets it and every rule,
    costs no less than its bound, and no more than the heuristic's plan when that meets it too."""
    wl, pool, pol, _ = inst
    fast = plan(wl, pool, pol, time_limit_s=1.0, engine="heuristic")
    if not fast.has_plan:
        return
    deadline = fast.makespan_s * stretch
    p = plan(wl, pool, pol, objective="cost", deadline_s=deadline, success_target=target, time_limit_s=1.0,
             engine=engine)
    if not p.has_plan:
        assert p.status in (PlanStatus.INFEASIBLE, PlanStatus.UNKNOWN) and p.unplaceable
        assert stretch < 1 or target is not None  # the makespan-first plan itself meets the deadline
        return
    report = verify_plan(wl, pool, pol, p, deadline_s=deadline)
    assert report.ok, report.violations
    assert p.makespan_s <= deadline + 1e-6
    assert p.cost_lower_bound_usd is not None and p.cost_usd >= p.cost_lower_bound_usd - 1e-9
    if target is not None:
        assert p.success_probability >= target - 1e-9
    if p.heuristic_makespan_s <= deadline + 1e-6:
        assert p.cost_usd <= p.heuristic_cost_usd + 1e-9
    else:
        assert any("misses the deadline" in m for m in p.messages or [])
    if stretch >= 1 and target is None:
        assert p.cost_usd <= fast.cost_usd + 1e-9


def test_cost_mode_meets_the_deadline_of_the_makespan_first_plan() -> None:
    """The makespan-first heuristic behind cost mode's sub-deadlines tries the lookahead run too,
    as makespan mode does: t1 beside its TEE-only child t2 avoids an 8 s transfer (20 s, not
    28 s). Without it the heuristic engine found no plan for a deadline its own plan meets."""
    nodes = [{"id": f"n{k}", "gpus": 1, "speed": 0.5, "bandwidth_gbps": 1.0, "tee": ["tdx"] if k == 3 else []}
             for k in range(4)]
    pool = NodePool.model_validate({"nodes": nodes})
    wl = Workload.model_validate({"tasks": [
        {"id": "t0", "duration_s": 5, "gpus": 0}, {"id": "t1", "duration_s": 5, "gpus": 0},
        {"id": "t2", "duration_s": 5, "gpus": 0, "sensitivity": "secure",
         "depends_on": [{"task": "t0", "data_gb": 0.0}, {"task": "t1", "data_gb": 1.0}]},
        {"id": "t3", "duration_s": 5, "gpus": 0}]})
    pol = Policy.model_validate({"default_level": "public", "levels": [{"name": "public"},
                                                                       {"name": "secure", "tee": ["tdx"]}]})
    fast = plan(wl, pool, pol, time_limit_s=1, engine="heuristic")
    assert fast.makespan_s == pytest.approx(20)
    p = plan(wl, pool, pol, objective="cost", deadline_s=fast.makespan_s, time_limit_s=1, engine="heuristic")
    assert p.has_plan and p.makespan_s <= 20 + 1e-6
    assert verify_plan(wl, pool, pol, p, deadline_s=20).ok


def test_windows_improve_a_trace_and_stay_valid() -> None:
    from benchmarks import ROOT
    from benchmarks.datasets import wf_traces, wf_workload
    from scheduler.formats.loading import load_policy
    from scheduler.generate import generate_pool

    wl = wf_workload(next(f for f in wf_traces() if "hep-1seq" in f.stem))  # epigenomics, 41 tasks
    pool = NodePool.model_validate(generate_pool(12, seed=11, links=False))
    pol = load_policy(ROOT / "policies" / "default.yaml")
    for objective in Objective:
        p = plan(wl, pool, pol, options=PlanOptions(objective=objective, time_limit_s=5, lns_above_literals=0))
        assert any("windows" in m for m in p.messages or [])
        report = verify_plan(wl, pool, pol, p)
        assert report.ok, report.violations
        if objective == Objective.MAKESPAN:
            assert p.makespan_s < p.heuristic_makespan_s - 0.1  # 48.4 s -> 47.9 s when measured
        else:
            assert p.cost_usd <= p.heuristic_cost_usd + 1e-9


def test_a_narrowed_model_proves_nothing_about_the_nodes_it_left_out() -> None:
    """With candidate lists the solver sees only some nodes per task: its optimum and bound hold for
    those alone. Here the best plan co-locates `a` with `b` on the one TEE node, which is slow,
    dear and less reputable: a list of `a`'s fastest, cheapest and most reputable nodes leaves it
    out (optimum 950 s on those, 200 s in truth). The bound must hold for the whole problem, and
    the lists must keep the node of `a`'s child."""
    fast = [{"id": f"f{k:02d}", "gpus": 1, "speed": 2.0, "price_per_gpu_hour": 1.0, "reputation": 0.99,
             "bandwidth_gbps": 0.1} for k in range(19)]
    tee = {"id": "z", "gpus": 1, "speed": 1.0, "price_per_gpu_hour": 5.0, "reputation": 0.9, "bandwidth_gbps": 0.1,
           "tee": ["tdx"], "attested": True}
    pool = NodePool.model_validate({"nodes": [*fast, tee]})
    wl = Workload.model_validate({"tasks": [
        {"id": "a", "duration_s": 100},
        {"id": "b", "duration_s": 100, "sensitivity": "secure", "depends_on": [{"task": "a", "data_gb": 10}]}]})
    pol = Policy.model_validate({"default_level": "public", "levels": [{"name": "public"},
                                                                       {"name": "secure", "tee": ["tdx"]}]})
    full = plan(wl, pool, pol, time_limit_s=2)
    assert full.makespan_s == pytest.approx(200) and full.status == PlanStatus.OPTIMAL
    narrowed = plan(wl, pool, pol, options=PlanOptions(time_limit_s=2, max_model_literals=0))
    assert any("narrowed" in m for m in narrowed.messages or [])
    assert narrowed.lower_bound_s <= 200 + 1e-6
    # the lists keep the nodes where a task's parents and children run: `a` may join `b` on z
    assert narrowed.makespan_s == pytest.approx(200)
