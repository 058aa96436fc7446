"""Policy safety: no workload field, solver time limit, engine or fallback path yields a
plan that puts data on a node its effective level forbids; declassification never goes
below the policy's floor."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scheduler import plan
from scheduler.analysis.replan import replan
from scheduler.analysis.verify import verify_plan
from scheduler.domain import NodePool, Policy, Workload
from scheduler.domain.policy import effective_levels
from scheduler.engine.planner import PlanOptions

from .test_planner import instances

POLICY = Policy.model_validate({"default_level": "open", "levels": [
    {"name": "open"},
    {"name": "secret", "tee": ["tdx"], "attested": True, "countries": ["DE"], "declassify_to": "internal-ish"},
    {"name": "internal-ish", "min_reputation": 0.9},
]})


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(inst=instances(), limit=st.sampled_from([0.01, 0.05, 0.3]), engine=st.sampled_from(["auto", "cpsat",
                                                                                          "heuristic"]))
def test_no_path_breaks_a_rule(inst, limit: float, engine: str) -> None:
    wl, pool, pol, objective = inst
    p = plan(wl, pool, pol, objective=objective, time_limit_s=limit, engine=engine)
    if p.has_plan:
        report = verify_plan(wl, pool, pol, p)
        assert report.ok, (engine, limit, report.violations)
        # and after losing a node mid-way
        used = sorted({a.node for a in p.assignments})
        now = p.makespan_s / 2
        done = {t for t, rows in p.by_task().items() if all(a.end_s <= now for a in rows)}
        r = replan(wl, pool, pol, p, now_s=now, done=done, failed_nodes={used[0]},
                   options=PlanOptions(time_limit_s=limit, engine=engine))
        if r.has_plan:
            assert verify_plan(wl, pool, pol, r, failed_nodes=[used[0]], now_s=now).ok
    else:
        assert not p.assignments


@settings(max_examples=60, deadline=None)
@given(own=st.sampled_from(["open", "secret", "internal-ish", None]), declassifies=st.booleans(),
       parent=st.sampled_from(["open", "secret", "internal-ish"]))
def test_declassify_floor(own, declassifies: bool, parent: str) -> None:
    rank = POLICY.rank
    task = {"id": "x", "duration_s": 1, "declassifies": declassifies, "depends_on": ["p"]}
    if own is not None:
        task["sensitivity"] = own
    wl = Workload.model_validate({"tasks": [{"id": "p", "duration_s": 1, "sensitivity": parent}, task]})
    lv = effective_levels(wl, POLICY)["x"]
    effective = max(rank[own or "open"], rank[parent])
    assert rank[lv.level] == effective
    floor = POLICY.levels[effective].declassify_to
    if declassifies and floor is not None:
        assert rank[lv.output] >= rank[floor] and rank[lv.output] >= rank[own or "open"]
    else:
        assert lv.output == lv.level  # nothing lowers data but a declassifying task, within the floor


def test_ineligible_only_pool_gives_no_plan() -> None:
    wl = Workload.model_validate({"tasks": [{"id": "a", "duration_s": 5, "sensitivity": "secret"}]})
    pool = NodePool.model_validate({"nodes": [{"id": "us", "gpus": 1, "tee": ["tdx"], "attested": True,
                                               "country": "US"}]})
    for engine in ("auto", "cpsat", "heuristic"):
        p = plan(wl, pool, POLICY, time_limit_s=0.05, engine=engine)
        assert not p.has_plan and p.unplaceable[0].reasons == {"country": 1}
