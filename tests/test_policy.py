"""Effective levels, declassification, eligibility and replica rules."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scheduler.domain import Level, Node, NodePool, Policy, Task, Workload
from scheduler.domain.policy import Rule, effective_levels, rejections, required_replicas, spread_value
from scheduler.domain.rules import task_success
from scheduler.errors import InputError
from scheduler.problem import Problem


def wl(*tasks: dict) -> Workload:
    return Workload.model_validate({"tasks": list(tasks)})


def test_levels_flow_down_and_declassify(tiny_policy_doc: dict, tiny_workload_doc: dict) -> None:
    pol = Policy.model_validate(tiny_policy_doc)
    lv = effective_levels(Workload.model_validate(tiny_workload_doc), pol)
    # ingest restricted; scrub (own confidential) is raised to restricted by ingest and declassifies to
    # max(own confidential, restricted.declassify_to confidential) = confidential
    assert lv["ingest"].level == "restricted"
    assert (lv["scrub"].level, lv["scrub"].raised_by, lv["scrub"].output) == ("restricted", "ingest", "confidential")
    assert lv["scrub"].declassified
    assert (lv["train"].level, lv["train"].raised_by) == ("confidential", "scrub")
    assert lv["eval"].level == "confidential"
    # report declares public and declassifies: confidential.declassify_to is internal -> its output is internal
    assert (lv["report"].level, lv["report"].output) == ("confidential", "internal")


def test_declassify_never_below_policy_floor() -> None:
    pol = Policy.model_validate({"levels": [{"name": "public"}, {"name": "secret"}]})  # no declassify_to
    lv = effective_levels(wl({"id": "a", "duration_s": 1, "sensitivity": "secret"},
                             {"id": "anon", "duration_s": 1, "declassifies": True, "sensitivity": "public",
                              "depends_on": ["a"]},
                             {"id": "b", "duration_s": 1, "depends_on": ["anon"]}), pol)
    assert lv["anon"].output == "secret" and not lv["anon"].declassified
    assert lv["b"].level == "secret"


def test_declassify_keeps_own_level_when_higher() -> None:
    pol = Policy.model_validate({"levels": [{"name": "l0"}, {"name": "l1"}, {"name": "l2", "declassify_to": "l0"}]})
    lv = effective_levels(wl({"id": "a", "duration_s": 1, "sensitivity": "l2"},
                             {"id": "x", "duration_s": 1, "declassifies": True, "sensitivity": "l1",
                              "depends_on": ["a"]}), pol)
    assert lv["x"].output == "l1"


def test_highest_parent_wins_and_is_named() -> None:
    pol = Policy.model_validate({"levels": [{"name": "a"}, {"name": "b"}, {"name": "c"}]})
    lv = effective_levels(wl({"id": "p1", "duration_s": 1, "sensitivity": "b"},
                             {"id": "p2", "duration_s": 1, "sensitivity": "c"},
                             {"id": "k", "duration_s": 1, "depends_on": ["p1", "p2"]}), pol)
    assert (lv["k"].level, lv["k"].raised_by) == ("c", "p2")


def test_unknown_level_names_workload_field() -> None:
    w = wl({"id": "a", "duration_s": 1}, {"id": "b", "duration_s": 1, "sensitivity": "top-secret"})
    w._source = "w.yaml"
    with pytest.raises(InputError) as e:
        effective_levels(w, Policy.model_validate({"levels": [{"name": "public"}]}))
    assert e.value.file == "w.yaml" and e.value.field == "tasks[1].sensitivity"


@pytest.mark.parametrize("level, node, rules", [
    ({"name": "x"}, {"gpus": 0}, [Rule.GPUS, Rule.GPU_MEMORY]),
    ({"name": "x"}, {"gpus": 1, "gpu_memory_gb": 10}, [Rule.GPU_MEMORY]),
    ({"name": "x", "tee": ["tdx"]}, {"gpus": 1, "gpu_memory_gb": 80, "tee": ["sgx"]}, [Rule.TEE]),
    ({"name": "x", "tee": []}, {"gpus": 1, "gpu_memory_gb": 80}, []),
    ({"name": "x", "attested": True}, {"gpus": 1, "gpu_memory_gb": 80}, [Rule.ATTESTED]),
    ({"name": "x", "min_reputation": 0.9}, {"gpus": 1, "gpu_memory_gb": 80, "reputation": 0.89}, [Rule.REPUTATION]),
    ({"name": "x", "min_reputation": 0.9}, {"gpus": 1, "gpu_memory_gb": 80, "reputation": 0.9}, []),
    ({"name": "x", "countries": ["DE"]}, {"gpus": 1, "gpu_memory_gb": 80, "country": "FR"}, [Rule.COUNTRY]),
    ({"name": "x", "regions": ["eu"]}, {"gpus": 1, "gpu_memory_gb": 80, "region": "us"}, [Rule.REGION]),
    ({"name": "x", "networks": ["akash"]}, {"gpus": 1, "gpu_memory_gb": 80}, [Rule.NETWORK]),
    ({"name": "x", "tee": ["tdx"], "attested": True, "countries": []}, {"gpus": 0},
     [Rule.GPUS, Rule.GPU_MEMORY, Rule.TEE, Rule.ATTESTED, Rule.COUNTRY]),
])
def test_each_eligibility_rule(level: dict, node: dict, rules: list[Rule]) -> None:
    task = Task(id="t", duration_s=1, gpus=1, gpu_memory_gb=40)
    got = [r.rule for r in rejections(task, Level.model_validate(level), Node.model_validate({"id": "n", **node}))]
    assert got == rules


def test_zero_gpu_task_ignores_memory() -> None:
    task = Task(id="t", duration_s=1, gpus=0, gpu_memory_gb=999)
    assert rejections(task, Level(name="x"), Node(id="n")) == []


def test_replica_rules() -> None:
    lv = Level(name="x", min_replicas=3, spread="country")
    assert required_replicas(Task(id="t", duration_s=1, replicas=2), lv) == 3
    assert required_replicas(Task(id="t", duration_s=1, replicas=5), lv) == 5
    assert spread_value(lv, Node(id="n", country="DE")) == "DE"
    assert spread_value(Level(name="y"), Node(id="n", operator="o")) == "n"
    assert spread_value(Level(name="y", spread="operator"), Node(id="n")) == "n"  # operator defaults to id
    assert task_success([0.9, 0.9]) == pytest.approx(0.99)


# the vectorised eligibility of Problem must agree with the reference rules, node by node
node_st = st.fixed_dictionaries({
    "gpus": st.integers(0, 8), "gpu_memory_gb": st.sampled_from([0, 16, 24, 40, 80]),
    "tee": st.lists(st.sampled_from(["sgx", "tdx", "sev-snp", "nvidia-cc"]), max_size=2, unique=True),
    "attested": st.booleans(), "reputation": st.floats(0, 1), "country": st.sampled_from(["DE", "FR", "US", ""]),
    "region": st.sampled_from(["eu", "us"]), "network": st.sampled_from(["akash", "io.net"]),
})
level_st = st.fixed_dictionaries({
    "name": st.just("lv"),
    "tee": st.one_of(st.none(), st.lists(st.sampled_from(["sgx", "tdx", "sev-snp", "nvidia-cc"]), max_size=3)),
    "attested": st.booleans(), "min_reputation": st.floats(0, 1),
    "countries": st.one_of(st.none(), st.lists(st.sampled_from(["DE", "FR", "US"]), max_size=2)),
    "regions": st.one_of(st.none(), st.lists(st.sampled_from(["eu", "us"]), max_size=1)),
    "networks": st.one_of(st.none(), st.lists(st.sampled_from(["akash", "io.net"]), max_size=1)),
})


@settings(max_examples=60, deadline=None)
@given(nodes=st.lists(node_st, min_size=1, max_size=12), level=level_st, gpus=st.integers(0, 4),
       mem=st.sampled_from([0, 24, 80]))
def test_vectorised_eligibility_agrees_with_reference(nodes: list[dict], level: dict, gpus: int, mem: int) -> None:
    pool = NodePool.model_validate({"nodes": [{"id": f"n{k}", **n} for k, n in enumerate(nodes)]})
    pol = Policy.model_validate({"levels": [level]})
    w = wl({"id": "t", "duration_s": 1, "gpus": gpus, "gpu_memory_gb": mem})
    p = Problem(w, pool, pol)
    want = [k for k, n in enumerate(pool.nodes) if not rejections(w.tasks[0], pol.levels[0], n)]
    assert p.eligible(0).tolist() == want
    firsts = [rejections(w.tasks[0], pol.levels[0], n)[0].rule.value for n in pool.nodes
              if rejections(w.tasks[0], pol.levels[0], n)]
    assert p.eligibility(0).first_rule == {r: firsts.count(r) for r in set(firsts)}


def test_declassification_that_lowers_nothing_is_noted() -> None:
    from scheduler.domain.policy import declassification_notes

    pol = Policy.model_validate({"levels": [{"name": "open"}, {"name": "secret", "declassify_to": "open"},
                                            {"name": "sealed"}]})
    wl = Workload.model_validate({"tasks": [
        {"id": "raw", "duration_s": 1, "sensitivity": "sealed"},
        {"id": "a", "duration_s": 1, "declassifies": True, "depends_on": ["raw"]},  # sealed has no declassify_to
        {"id": "s", "duration_s": 1, "sensitivity": "secret"},
        {"id": "b", "duration_s": 1, "declassifies": True, "sensitivity": "secret", "depends_on": ["s"]},
        {"id": "c", "duration_s": 1, "declassifies": True, "depends_on": ["s"]},  # lowers secret to open: no note
    ]})
    notes = declassification_notes(wl, pol, effective_levels(wl, pol))
    assert len(notes) == 2 and notes[0].startswith("a declassifies") and notes[1].startswith("b declassifies")
