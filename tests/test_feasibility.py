"""Static feasibility (`scheduler.problem.feasibility`): the reasons found by dominance over tasks of one
class (`placeable_by_dominance`) are those of checking every task on its own."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scheduler.domain import NodePool, Policy, Workload
from scheduler.problem import Problem
from scheduler.problem.feasibility import placeable_by_dominance, task_reason

from .conftest import world_instances


def _one_by_one(problem: Problem) -> list[tuple[str, str]]:
    out = []
    for i in range(problem.n_tasks):
        reason = task_reason(problem, i, problem.eligible(i), [])
        if reason is not None:
            out.append((reason.rule, reason.message))
    return out


def _found(problem: Problem) -> list[tuple[str, str]]:
    return [(r.rule, r.message) for r in problem.static_reasons()]


@st.composite
def near_threshold(draw):
    """Many tasks of one level whose durations straddle what the nodes' windows and failure rates allow,
    of several shapes (GPUs, memory, replicas): some can be placed, the longest or largest cannot
    (min_success out of reach, no window long enough, too few nodes with the GPUs)."""
    nodes = [{"id": f"n{k}", "gpu": "A100", "gpus": draw(st.integers(1, 2)),
              "gpu_memory_gb": draw(st.sampled_from([24.0, 80.0])), "operator": f"op{k % draw(st.integers(1, 4))}",
              "reputation": draw(st.sampled_from([0.9, 0.99, 0.999])),
              "failures_per_hour": draw(st.sampled_from([0.0, 0.5, 5.0])),
              **({"available": [{"until_s": draw(st.sampled_from([300.0, 3000.0]))}]} if draw(st.booleans()) else {})}
             for k in range(draw(st.integers(1, 6)))]
    level = {"name": "agreed", "quorum": draw(st.integers(1, 2)), "spread": draw(st.sampled_from(["node", "operator"])),
             "min_success": draw(st.sampled_from([None, 0.9, 0.99]))}
    durations = draw(st.lists(st.sampled_from([10.0, 100.0, 250.0, 400.0, 1000.0, 2500.0, 4000.0, 20000.0]),
                              min_size=1, max_size=12))
    tasks = [{"id": f"t{j}", "duration_s": d, "sensitivity": "agreed", "replicas": draw(st.integers(1, 2)),
              "gpus": draw(st.integers(0, 2)), "gpu_memory_gb": draw(st.sampled_from([0.0, 40.0]))}
             for j, d in enumerate(durations)]
    return (Workload.model_validate({"tasks": tasks}), NodePool.model_validate({"nodes": nodes}),
            Policy.model_validate({"levels": [{"name": "public"}, level], "default_level": "public"}))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(near_threshold())
def test_dominance_finds_every_reason_near_the_threshold(inst) -> None:
    problem = Problem(*inst)
    assert _found(problem) == _one_by_one(problem)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(world_instances())
def test_dominance_finds_every_reason_in_random_worlds(inst) -> None:
    problem = Problem(*inst[:3])
    assert _found(problem) == _one_by_one(problem)


def test_only_a_few_tasks_of_a_class_are_checked() -> None:
    """One class of 200 tasks: the longest one's check proves them all placeable."""
    wl = Workload.model_validate({"tasks": [{"id": f"t{j}", "duration_s": 10.0 + j} for j in range(200)]})
    pool = NodePool.model_validate({"nodes": [{"id": f"n{k}", "gpu": "A100", "gpus": 1, "failures_per_hour": 0.1,
                                               "available": [{"until_s": 100_000.0}]} for k in range(3)]})
    problem = Problem(wl, pool, Policy.model_validate({"levels": [{"name": "public", "min_success": 0.5}],
                                                       "default_level": "public"}))
    assert placeable_by_dominance(problem, list(range(200))) == set(range(200))
    assert len(problem._caches["best_set"]) == 1  # one check (its replica set is cached per duration), not 200


def test_the_threshold_strategy_has_both_sides() -> None:
    """`near_threshold` draws instances where some tasks can be placed and some cannot (else the dominance
    test above would test little)."""
    both = 0

    @settings(max_examples=150, deadline=None, database=None)
    @given(near_threshold())
    def count(inst) -> None:
        nonlocal both
        problem = Problem(*inst)
        found = len(_one_by_one(problem))
        both += 0 < found < problem.n_tasks

    count()
    assert both >= 10
