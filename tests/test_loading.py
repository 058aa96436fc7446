"""Reading files: YAML 1.2 scalars, limits, one-line errors naming file and field."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from scheduler.errors import InputError
from scheduler.formats import load_nodes, load_policy, load_workload, parse_text

from .conftest import BAD, SHARED, write_yaml


def err(fn, path: Path) -> InputError:
    with pytest.raises(InputError) as e:
        fn(path)
    return e.value


@pytest.mark.parametrize("name, field, words", [
    ("cycle.yaml", "tasks", "a -> b -> c -> a"),
    ("duplicate-id.yaml", "tasks[1].id", "duplicate task id 'a'"),
    ("malformed.yaml", "", "malformed YAML at line 4"),
    ("missing-dep.yaml", "tasks[1].depends_on[0].task", "unknown task 'nope'"),
    ("negative-duration.yaml", "tasks[0].duration_s", "must be > 0"),
    ("string-duration.yaml", "tasks[0].duration_s", "must be a number"),
    ("typo-field.yaml", "tasks[0].gpu_memroy_gb", "did you mean 'gpu_memory_gb'"),
    ("not-a-mapping.yaml", "", "must be a mapping at the top level"),
])
def test_bad_workloads_name_file_and_field(name: str, field: str, words: str) -> None:
    e = err(load_workload, BAD / name)
    assert e.file.endswith(name) and e.field == field and words in e.message
    assert "\n" not in e.line()


@pytest.mark.parametrize("name, field, words", [
    ("nodes-bad-reputation.yaml", "nodes[0].reputation", "must be <= 1"),
    ("nodes-duplicate-id.yaml", "nodes[1].id", "duplicate node id 'n1'"),
    ("nodes-unknown-tee.yaml", "nodes[0].tee[0]", "trustzone-magic"),
])
def test_bad_node_pools(name: str, field: str, words: str) -> None:
    e = err(load_nodes, BAD / name)
    assert e.field == field and words in e.message


def test_bad_policies() -> None:
    assert "planet" in err(load_policy, BAD / "policy-bad-spread.yaml").message
    e = err(load_policy, BAD / "policy-unknown-default.yaml")
    assert e.field == "default_level" and "secret" in e.message


@pytest.mark.parametrize("text, words", [
    ("", "empty"),
    ("   \n# only a comment\n", "no document"),
    ("null\n", "no document"),
    ("42\n", "must be a mapping"),
    ("'text'\n", "must be a mapping"),
    ("[1, 2]\n", "must be a mapping"),
    ("tasks: 5\n", "must be a list"),
    ("tasks: []\n", "at least 1"),
    ("tasks:\n - {id: a, duration_s: 1e400}\n", "finite"),
    ("tasks:\n - {id: a, duration_s: 1e12}\n", "<= 1e+09"),
    ("tasks:\n - {id: a, duration_s: .nan}\n", "finite"),
    ("tasks:\n - {id: a, duration_s: true}\n", "must be a number, not a boolean"),
    ("tasks:\n - {id: a, duration_s: 5, gpus: 2.5}\n", "whole number"),
    ("tasks:\n - {id: a, duration_s: 5, gpus: -1}\n", ">= 0"),
    ("tasks:\n - {id: '', duration_s: 5}\n", "at least 1 character"),
    ("tasks:\n - {id: ' a', duration_s: 5}\n", "white space"),
    ("tasks:\n - {duration_s: 5}\n", "required field is missing"),
    ("tasks:\n - {id: a, duration_s: 5, depends_on: [a]}\n", "cycle a -> a"),
    ("tasks:\n - {id: a, duration_s: 5}\n - {id: b, duration_s: 5, depends_on: [a, a]}\n", "twice"),
    ("tasks:\n - {id: a, duration_s: 5, depends_on: [{task: a, data_gb: -1}]}\n", ">= 0"),
    ("tasks:\n - {id: a, duration_s: 5, labels: {k: {nested: 1}}}\n", "text"),
    ("tasks: &x\n - {id: a, duration_s: 5}\nextra: *x\n", "unknown field"),
    ("a: &a [1,1,1,1,1,1,1,1,1]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
     "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\n"
     "g: [*f,*f,*f,*f,*f,*f,*f,*f,*f]\n", "alias bomb"),
    ("x: " + "[" * 200 + "]" * 200 + "\n", "nesting deeper"),
    ("--- {tasks: []}\n--- {tasks: []}\n", "malformed YAML"),
    ("tasks: !!python/object:os.system {}\n", "malformed YAML"),
])
def test_bad_documents(tmp_path: Path, text: str, words: str) -> None:
    p = tmp_path / "w.yaml"
    p.write_text(text)
    e = err(load_workload, p)
    assert words in e.line(), e.line()
    assert e.file == str(p)


def test_unicode_ids_and_labels(tmp_path: Path) -> None:
    p = write_yaml(tmp_path / "w.yaml", {"tasks": [
        {"id": "données-Ω", "duration_s": 5, "labels": {"équipe": "nlp", "n": 3, "ok": True}},
        {"id": "训练", "duration_s": 5, "depends_on": ["données-Ω"]}]})
    wl = load_workload(p)
    assert wl.topological_order == ["données-Ω", "训练"]
    assert wl.tasks[0].labels == {"équipe": "nlp", "n": "3", "ok": "true"}


def test_control_characters_rejected(tmp_path: Path) -> None:
    p = tmp_path / "w.json"
    p.write_text(json.dumps({"tasks": [{"id": "a\nb", "duration_s": 5}]}))
    assert "control characters" in err(load_workload, p).message


def test_yaml12_scalars(tmp_path: Path) -> None:
    p = tmp_path / "n.yaml"
    p.write_text("nodes:\n - {id: n1, country: NO, gpus: 0x10, speed: 1e0, attested: true}\n")
    pool = load_nodes(p)
    assert pool.nodes[0].country == "NO" and pool.nodes[0].gpus == 16 and pool.nodes[0].speed == 1.0
    assert any("NO" in n for n in pool.notes)


def test_ambiguous_allow_list_entry_is_left_out(tmp_path: Path) -> None:
    p = tmp_path / "p.yaml"
    p.write_text("levels:\n - name: a\n   countries: [DE, NO, 'NO', SE]\n - name: b\n   countries: [NO]\n")
    pol = load_policy(p)
    assert pol.levels[0].countries == ["DE", "NO", "SE"]  # only the quoted one stays
    assert pol.levels[1].countries == []  # allows nothing under either reading
    notes = pol.notes
    assert sum("levels[0].countries[1]" in n for n in notes) == 1


def test_json_and_yaml_give_the_same_model(tmp_path: Path, tiny_pool_doc: dict) -> None:
    a = write_yaml(tmp_path / "n.yaml", tiny_pool_doc)
    b = tmp_path / "n.json"
    b.write_text(json.dumps(tiny_pool_doc))
    assert load_nodes(a).model_dump() == load_nodes(b).model_dump()


def test_ten_thousand_task_cycle_is_named_briefly(tmp_path: Path) -> None:
    n = 10_000
    tasks = [{"id": f"t{k}", "duration_s": 1, "depends_on": [f"t{(k - 1) % n}"]} for k in range(n)]
    p = tmp_path / "w.json"
    p.write_text(json.dumps({"tasks": tasks}))
    t0 = time.monotonic()
    e = err(load_workload, p)
    assert "not a DAG" in e.message and "more)" in e.message and len(e.line()) < 400
    assert time.monotonic() - t0 < 30


def test_integral_floats_are_whole_numbers(tmp_path: Path) -> None:
    p = tmp_path / "w.json"
    p.write_text(json.dumps({"tasks": [{"id": "a", "duration_s": 5, "gpus": 2.0, "replicas": 3.0}]}))
    t = load_workload(p).tasks[0]
    assert (t.gpus, t.replicas) == (2, 3)


def test_unreadable_and_binary(tmp_path: Path) -> None:
    p = tmp_path / "w.yaml"
    p.write_bytes(b"\xff\xfe\x00garbage")
    assert "UTF-8" in err(load_workload, p).message
    d = tmp_path / "dir.yaml"
    d.mkdir()
    assert "not a regular file (it is a directory)" in err(load_workload, d).message


def test_parse_text_reads_json_and_yaml() -> None:
    assert parse_text('{"a": 1}', json_first=True) == {"a": 1}
    assert parse_text("a: 1e3") == {"a": 1000.0}


# --- WfCommons traces -----------------------------------------------------------------

TRACES = sorted((SHARED / "data" / "wfinstances").glob("*.json"))


@pytest.mark.parametrize("path", TRACES, ids=[p.stem for p in TRACES])
def test_wfformat_traces_load(path: Path) -> None:
    wl = load_workload(path)
    g = wl.graph
    assert g.number_of_nodes() == len(wl.tasks) > 0
    assert all(t.duration_s > 0 for t in wl.tasks)


def test_wfformat_figures_match_the_data_readme() -> None:
    wl = load_workload(SHARED / "data" / "wfinstances" / "montage-chameleon-dss-15d-001.json")
    g = wl.graph
    assert (g.number_of_nodes(), g.number_of_edges()) == (2122, 6114)
    assert round(sum(d["data_gb"] for *_, d in g.edges(data=True))) == 414
    sra = load_workload(SHARED / "data" / "wfinstances" / "srasearch-chameleon-10a-001.json")
    assert round(sum(d["data_gb"] for *_, d in sra.graph.edges(data=True)), 1) == 10.8


def test_wfformat_errors_name_the_field(tmp_path: Path) -> None:
    p = tmp_path / "t.json"
    p.write_text(json.dumps({"workflow": {"specification": {"tasks": [{"id": "a", "parents": []}], "files": []},
                                          "execution": {"tasks": []}}}))
    e = err(load_workload, p)
    assert "runtimeInSeconds" in e.message and e.field.startswith("workflow.specification.tasks[0]")


def test_wfformat_flat_schema(tmp_path: Path) -> None:
    doc = {"name": "old", "workflow": {"tasks": [
        {"name": "a", "runtime": 10, "parents": [], "files": [{"name": "f", "size": 2e9, "link": "output"}]},
        {"name": "b", "runtime": 0, "parents": ["a"], "files": [{"name": "f", "size": 2e9, "link": "input"}]}]}}
    p = tmp_path / "t.json"
    p.write_text(json.dumps(doc))
    wl = load_workload(p)
    assert wl.by_id["b"].depends_on[0].data_gb == 2.0 and wl.by_id["b"].duration_s > 0


# --- hostile files (issue 16) ------------------------------------------------------


def test_duplicate_keys_are_refused_with_both_lines(tmp_path: Path) -> None:
    p = tmp_path / "p.yaml"
    p.write_text("levels:\n  - name: secret\n    tee: [tdx]\n    attested: true\n    tee: []\n    attested: false\n")
    e = err(load_policy, p)
    assert "duplicate key 'tee'" in e.message and "line 3" in e.message and "line 5" in e.message
    j = tmp_path / "p.json"
    j.write_text('{"levels": [{"name": "secret",\n "tee": ["tdx"],\n "tee": []}]}')
    e = err(load_policy, j)
    assert "duplicate key 'tee'" in e.message and "line 2" in e.message and "line 3" in e.message


def test_devices_fifos_and_directories_are_refused_before_reading(tmp_path: Path) -> None:
    import os

    zero = tmp_path / "zero.yaml"
    zero.symlink_to("/dev/zero")
    assert "not a regular file (it is a character device)" in err(load_workload, zero).message
    fifo = tmp_path / "fifo.yaml"
    os.mkfifo(fifo)
    assert "not a regular file (it is a FIFO)" in err(load_workload, fifo).message  # would block for ever if opened


def test_integers_beyond_4300_digits_name_the_file(tmp_path: Path) -> None:
    y = tmp_path / "n.yaml"
    y.write_text("nodes:\n  - {id: a, gpus: " + "9" * 5000 + "}\n")
    e = err(load_nodes, y)
    assert e.file == str(y) and "line 2" in e.message and "too long" in e.message
    j = tmp_path / "n.json"
    j.write_text('{"nodes": [{"id": "a", "gpus": ' + "9" * 5000 + "}]}")
    assert "too long" in err(load_nodes, j).message


def test_a_link_naming_one_node_twice(tmp_path: Path) -> None:
    p = tmp_path / "n.yaml"
    p.write_text("nodes:\n  - {id: a}\nlinks:\n  - {nodes: [a, a], bandwidth_gbps: 5}\n")
    e = err(load_nodes, p)
    assert e.field == "links[0].nodes" and "twice" in e.message
