"""Akash both ways (issue 20): the Console's provider listing to a pool, and plans to SDL documents that
Akash's own parser (npm @akashnetwork/chain-sdk, run by Node.js) accepts.

The fixture tests/fixtures/akash/providers.json has the shape of the Akash Console API's
`GET /v1/providers` (akash-network/console, apps/api/src/provider/http-schemas/provider.schema.ts and the
`stats` of apps/api/src/types/provider.ts); its providers are made up, and it carries the entries an
importer meets: offline, CPU-only, no GPU free, an unknown GPU model, no owner, not an object.
gpu-prices.json has the shape of `GET /v1/gpu-prices` (apps/api/src/gpu/http-schemas/gpu.schema.ts)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import yaml

from scheduler.domain import NodePool, Plan, Workload
from scheduler.domain.levels import permissive_policy
from scheduler.formats.loading import load_nodes, load_plan, load_policy, load_workload
from scheduler.marketplace import ExportOptions, export_akash, import_akash_providers

from .conftest import EXAMPLES, POLICIES, ROOT, run_cli, write_yaml

FIXTURES = ROOT / "tests" / "fixtures" / "akash"
PROVIDERS, PRICES = FIXTURES / "providers.json", FIXTURES / "gpu-prices.json"


@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("akash") / "pool.yaml"
    r = run_cli("import", "akash", "--providers", PROVIDERS, "--prices", PRICES, "--output", out)
    assert r.returncode == 0, r.stderr
    return out


@pytest.fixture(scope="module")
def finetune_export(imported: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The README's round trip: import the listing, plan the fine-tuning example on it, export the plan."""
    d = tmp_path_factory.mktemp("finetune")
    plan = d / "plan.json"
    r = run_cli("plan", "--workload", EXAMPLES / "llm-finetune.yaml", "--nodes", imported, "--policy",
                POLICIES / "default.yaml", "--time-limit", "4", "--output", plan)
    assert r.returncode == 0, r.stderr
    r = run_cli("export", "akash", "--plan", plan, "--workload", EXAMPLES / "llm-finetune.yaml", "--nodes", imported,
                "--policy", POLICIES / "default.yaml", "--output", d / "sdl", "--format", "json")
    assert r.returncode == 0, r.stderr
    return plan, d / "sdl"


# --- import -----------------------------------------------------------------------------


def test_import_reads_every_usable_provider_and_says_why_of_the_rest(imported: Path) -> None:
    pool = load_nodes(imported)
    by_id = pool.by_id
    assert len(pool.nodes) == 10
    fra = by_id["fra1-kraftwerk-compute-de-h100"]
    assert (fra.gpu, fra.gpus, fra.tee, fra.attested, fra.country, fra.network) == \
        ("H100-80GB", 16, ["tdx", "nvidia-cc"], True, "DE", "akash")
    assert fra.price_per_gpu_hour == 1.62  # the price list's median, not the built-in table's 1.95
    assert fra.reputation == 0.995 and fra.failures_per_hour == pytest.approx(-math.log(0.999) / 24, rel=1e-3)
    assert fra.labels["akash.attr.organization"] == "Kraftwerk Compute"
    assert by_id["ams-polder-gpu-nl-h100"].tee == ["sev-snp", "nvidia-cc"]  # AMD CPU: SEV-SNP
    assert by_id["par-lumiere-cloud-fr-a100"].tee == ["sev-snp"]  # tee/type cpu: no GPU CC
    home = by_id["home-rig-example-net-rtx4090"]
    assert (home.tee, home.attested, home.bandwidth_gbps) == ([], False, 0.04)
    # two models on one provider: one node each, the 5 free GPUs split 3 + 2
    assert (by_id["sto-fjord-gpu-se-a100"].gpus, by_id["sto-fjord-gpu-se-rtx4090"].gpus) == (3, 2)
    assert by_id["sto-fjord-gpu-se-a100"].gpu == "A100-40GB"


def test_import_skips_bad_entries_one_line_each(imported: Path, tmp_path: Path) -> None:
    r = run_cli("import", "akash", "--providers", PROVIDERS, "--output", tmp_path / "p.yaml")
    assert r.returncode == 0
    lines = [x for x in r.stderr.splitlines() if "skipped" in x]
    assert any("providers[8]" in x and "offline" in x for x in lines)
    assert any("providers[9]" in x and "lists no GPU" in x for x in lines)
    assert any("providers[10]" in x and "not a provider object" in x for x in lines)
    assert any("providers[11]" in x and "'b200'" in x for x in lines)
    assert any("providers[12]" in x and "no GPU free" in x for x in lines)
    assert any("providers[14]" in x and "no `owner`" in x for x in lines)
    assert len(lines) == 6 and "Traceback" not in r.stderr
    # without a price list the built-in table prices the nodes
    assert load_nodes(tmp_path / "p.yaml").by_id["fra1-kraftwerk-compute-de-h100"].price_per_gpu_hour == 1.95


@pytest.mark.parametrize("content, expect", [
    ('{"providers": 3}', "JSON array of providers"),
    ("[]", "no usable provider"),
    ('[{"owner": "akash1x", "isOnline": false}]', "no usable provider"),
    ("{not json", "malformed JSON"),
])
def test_import_of_a_bad_listing_is_one_line_and_writes_nothing(tmp_path: Path, content: str, expect: str) -> None:
    src, out = tmp_path / "providers.json", tmp_path / "pool.yaml"
    src.write_text(content)
    r = run_cli("import", "akash", "--providers", src, "--output", out)
    errors = [x for x in r.stderr.splitlines() if x.startswith("error:")]
    assert r.returncode == 1 and len(errors) == 1 and expect in errors[0] and str(src) in errors[0], r.stderr
    assert not out.exists()


def test_import_survives_any_entry() -> None:
    """Entries of every wrong type and value: skipped or read, never a crash."""
    good = json.loads(PROVIDERS.read_text())[0]
    odd: list[object] = [None, 1, "x", [], {}, {"owner": 5}, {"owner": "a", "gpuModels": "h100"}]
    for key in ("stats", "gpuModels", "attributes", "uptime30d", "networkSpeedUp", "ipCountryCode", "hostUri"):
        for value in (None, "x", -1, [], {}, [None], float("nan"), 1e308):
            odd.append(good | {key: value, "owner": f"akash1{key}{len(odd)}"})
    out = import_akash_providers([good, *odd])
    assert len(out.pool.nodes) >= 1 and len(out.skipped) >= 7


# --- export -----------------------------------------------------------------------------


def test_exported_finetune_parses_with_akashs_own_parser(finetune_export: tuple[Path, Path], imported: Path,
                                                         sdl_parser) -> None:
    plan_path, out = finetune_export
    index = json.loads((out / "deployments.json").read_text())
    files = sorted(out.glob("*.yaml"))
    assert len(files) == len(index["deployments"]) == len(load_plan(plan_path).assignments)  # all on Akash
    parsed = sdl_parser(files)
    pool = load_nodes(imported)
    wl = load_workload(EXAMPLES / "llm-finetune.yaml")
    for entry in index["deployments"]:
        got = parsed[str(out / entry["file"])]
        assert got["ok"], (entry["file"], got.get("error"))
        (group,) = got["groups"]
        node = pool.by_id[entry["nodes"][0]]
        requirements = dict(group["requirements"])
        assert requirements["organization"] == node.labels["akash.attr.organization"]  # the provider is pinned
        assert group["signed_by"]["any_of"] == node.labels["akash.auditors"].split(",")
        (resource,) = group["resources"]
        task = wl.by_id[entry["task"]]
        assert resource["gpu_units"] == task.gpus
        if task.gpus:
            model, ram = node.labels["akash.gpu_model"], node.labels["akash.gpu_ram"]
            assert resource["gpu_attributes"] == [[f"vendor/nvidia/model/{model}/ram/{ram}", "true"]]
        usd_per_block = float(resource["price"]["amount"]) / 1e6
        assert usd_per_block * 3600 / 6 == pytest.approx(node.price_per_gpu_hour * max(task.gpus, 1), rel=1e-6)
        # a TEE where the level asks for one, as AEP-83's params.tee and the tee/type requirement
        assert requirements.get("tee/type") == entry["tee"]
        assert got["tee_unknown_to_parser"] == (entry["tee"] is not None)
    by_task = {e["task"]: e["tee"] for e in index["deployments"]}
    assert by_task["ingest"] == "cpu" and by_task["train"] == "cpu-gpu" and by_task["serve-bench-0"] is None


def test_tee_documents_keep_aep83_params(finetune_export: tuple[Path, Path]) -> None:
    _, out = finetune_export
    doc = yaml.safe_load((out / "train-r0.yaml").read_text())
    assert doc["services"]["train"]["params"] == {"tee": "cpu-gpu"}
    assert doc["profiles"]["compute"]["train"]["resources"]["gpu"]["units"] == 8
    assert "params" not in yaml.safe_load((out / "serve-bench-0-r0.yaml").read_text())["services"]["serve-bench-0"]


def test_export_on_a_pool_from_no_listing(tmp_path: Path, sdl_parser) -> None:
    """The example pool with every node on Akash, as if rented there without `import akash`: the documents
    ask for the node's region (and TEE) only, and the export says the providers are not pinned."""
    pool_doc = yaml.safe_load((EXAMPLES / "pool-60.yaml").read_text())
    for n in pool_doc["nodes"]:
        n["network"] = "akash"
    pool = write_yaml(tmp_path / "pool.yaml", pool_doc)
    plan = tmp_path / "plan.json"
    assert run_cli("plan", "--workload", EXAMPLES / "llm-finetune.yaml", "--nodes", pool, "--policy",
                   POLICIES / "default.yaml", "--engine", "heuristic", "--output", plan).returncode == 0
    r = run_cli("export", "akash", "--plan", plan, "--workload", EXAMPLES / "llm-finetune.yaml", "--nodes", pool,
                "--policy", POLICIES / "default.yaml", "--output", tmp_path / "sdl")
    assert r.returncode == 0, r.stderr
    assert "import the pool with `scheduler import akash`" in r.stderr and "not exported" not in r.stdout
    files = sorted((tmp_path / "sdl").glob("*.yaml"))
    assert len(files) == len({(a.task, a.replica) for a in load_plan(plan).assignments})
    for f, got in sdl_parser(files).items():
        assert got["ok"], (f, got.get("error"))
        assert [k for k, _ in got["groups"][0]["requirements"]] in (["region"], ["region", "tee/type"])


def test_a_gang_replica_is_one_deployment_over_its_providers(tmp_path: Path, sdl_parser) -> None:
    wl = Workload.model_validate({"tasks": [{"id": "pretrain", "duration_s": 3600, "gpus": 8, "nodes": 3,
                                             "labels": {"image": "ghcr.io/x/pretrain:1"}}]})
    nodes = [{"id": f"a{i}", "network": "akash", "gpu": "H100-80GB", "gpus": 8, "price_per_gpu_hour": 2.0,
              "labels": {"akash.attr.organization": "one" if i < 2 else "two"}} for i in range(3)]
    pool = NodePool.model_validate({"nodes": nodes})
    plan = Plan.model_validate({"assignments": [{"task": "pretrain", "node": f"a{i}", "start_s": 0, "end_s": 3600}
                                                for i in range(3)]})
    (dep,) = export_akash(plan, wl, pool, permissive_policy()).deployments
    assert dep.nodes == ["a0", "a1", "a2"]
    path = write_yaml(tmp_path / dep.file, dep.sdl)
    got = sdl_parser([path])[str(path)]
    assert got["ok"], got.get("error")
    assert sorted(g["name"] for g in got["groups"]) == ["a0", "a1", "a2"] and got["services"] == ["pretrain"] * 3


def test_export_refuses_what_it_cannot_deploy(tmp_path: Path, finetune_export: tuple[Path, Path],
                                             imported: Path) -> None:
    plan, _ = finetune_export
    wl_doc = yaml.safe_load((EXAMPLES / "llm-finetune.yaml").read_text())
    del wl_doc["tasks"][3]["labels"]["image"]
    wl = write_yaml(tmp_path / "w.yaml", wl_doc)
    out = tmp_path / "sdl"
    args = ["export", "akash", "--plan", plan, "--nodes", imported, "--policy", POLICIES / "default.yaml",
            "--output", out]
    r = run_cli(*args, "--workload", wl)
    assert r.returncode == 1 and "w.yaml: tasks[3].labels.image: missing" in r.stderr and not out.exists()
    assert run_cli(*args, "--workload", wl, "--default-image", "ghcr.io/x/y:1").returncode == 0
    # an existing directory is replaced only with --force, whole
    (out / "keep.txt").write_text("mine")
    r = run_cli(*args, "--workload", wl, "--default-image", "ghcr.io/x/y:1")
    assert r.returncode == 1 and "--force" in r.stderr and (out / "keep.txt").exists()
    assert run_cli(*args, "--workload", wl, "--default-image", "ghcr.io/x/y:1", "--force").returncode == 0
    assert not (out / "keep.txt").exists() and (out / "deployments.json").exists()
    # a plan that breaks a rule is not exported
    broken = json.loads(plan.read_text())
    broken["assignments"][0]["end_s"] = broken["assignments"][0]["start_s"] + 1
    (tmp_path / "broken.json").write_text(json.dumps(broken))
    r = run_cli("export", "akash", "--plan", tmp_path / "broken.json", "--workload", EXAMPLES / "llm-finetune.yaml",
                "--nodes", imported, "--policy", POLICIES / "default.yaml", "--output", tmp_path / "b")
    assert r.returncode == 1 and "breaks" in r.stderr and not (tmp_path / "b").exists()
    # prices in AKT need AKT's price
    r = run_cli(*args[:-1], tmp_path / "c", "--workload", EXAMPLES / "llm-finetune.yaml", "--denom", "uakt")
    assert r.returncode == 2 and "--usd-per-token" in r.stderr


def test_prices_per_block_in_another_denomination() -> None:
    wl = Workload.model_validate({"tasks": [{"id": "t", "duration_s": 60, "gpus": 2, "labels": {"image": "i"}}]})
    pool = NodePool.model_validate({"nodes": [{"id": "n", "network": "Akash", "gpus": 2, "price_per_gpu_hour": 1.5}]})
    plan = Plan.model_validate({"assignments": [{"task": "t", "node": "n", "start_s": 0, "end_s": 60}]})
    (dep,) = export_akash(plan, wl, pool, load_policy(POLICIES / "permissive.yaml"),
                          ExportOptions(denom="uakt", usd_per_token=0.5, block_s=6.0)).deployments
    # 3 USD/h = 0.005 USD per 6 s block = 0.01 AKT = 10,000 uakt
    assert dep.sdl["profiles"]["placement"]["n"]["pricing"]["t"] == {"denom": "uakt", "amount": 10000.0}
