"""Seeded generators of realistic node pools and workloads (examples, tests, benchmarks).

Pools: GPU models with their memory, relative speed and market price; data-centre
operators (many nodes each, fast links, CPU and GPU TEEs, often attested) next to
consumer operators (one to three GPUs, slow links, no TEE); reputations per
operator; regions with their countries and slower links between continents.

Workloads: layered DAGs, fan-outs, and fine-tuning pipelines whose inputs are
restricted or confidential and pass through an anonymiser.

The same seed gives the same document, byte for byte.
"""

from __future__ import annotations

import random
from typing import Any

from ..domain.gpus import GPU_MODELS

DATACENTRE_MODELS = ["H200-141GB", "H100-80GB", "A100-80GB", "A100-40GB", "L40S-48GB"]
CONSUMER_MODELS = ["RTX-4090", "RTX-3090", "RTX-A6000", "A10-24GB"]

REGIONS: dict[str, tuple[str, list[str]]] = {  # region: (continent, countries)
    "eu-central": ("eu", ["DE", "AT", "CH", "PL"]),
    "eu-west": ("eu", ["FR", "NL", "BE", "IE", "GB"]),
    "eu-north": ("eu", ["SE", "FI", "NO", "DK"]),
    "us-east": ("na", ["US"]),
    "us-west": ("na", ["US"]),
    "ca-central": ("na", ["CA"]),
    "ap-northeast": ("ap", ["JP", "KR"]),
    "ap-southeast": ("ap", ["SG"]),
    "ap-south": ("ap", ["IN"]),
    "sa-east": ("sa", ["BR"]),
    "af-south": ("af", ["ZA"]),
}
REGION_WEIGHTS = [16, 12, 8, 18, 12, 4, 8, 5, 6, 5, 6]
NETWORKS = ["io.net", "akash", "render", "gensyn", "self-hosted"]


def generate_pool(n_nodes: int, seed: int = 0, *, links: bool = True, datacentre_share: float = 0.45,
                  identical_per_operator: bool = False, churn: bool = False) -> dict[str, Any]:
    """A node pool document of `n_nodes` nodes.

    Args:
        n_nodes: how many nodes.
        seed: the random seed.
        links: add slower links between continents (region-pair overrides).
        datacentre_share: the share of operators that are data centres.
        identical_per_operator: every node of an operator is the same machine (as
            providers rent out racks of one model); makes pools compress into few classes.
        churn: contract 1.1's churn and wear (`add_churn`): Akash leases that end, home GPUs lent
            only at night, failure rates per hour. Without it the pool is version 1's, unchanged.
    """
    rng = random.Random(seed)
    nodes: list[dict[str, Any]] = []
    op = 0
    regions = list(REGIONS)
    while len(nodes) < n_nodes:
        datacentre = rng.random() < datacentre_share
        region = rng.choices(regions, REGION_WEIGHTS)[0]
        country = rng.choice(REGIONS[region][1])
        network = rng.choice(NETWORKS)
        size = min(n_nodes - len(nodes), max(1, int(rng.paretovariate(1.3)) if datacentre else rng.randint(1, 2)))
        base_rep = rng.betavariate(40, 1.2) if datacentre else rng.betavariate(12, 1.3)
        model_choice = rng.choice(DATACENTRE_MODELS if datacentre else CONSUMER_MODELS)
        template = _machine(rng, model_choice, datacentre, base_rep)
        for _ in range(size):
            m = template if identical_per_operator else _machine(
                rng, rng.choice(DATACENTRE_MODELS if datacentre else CONSUMER_MODELS), datacentre, base_rep)
            nodes.append({"id": f"{network.replace('.', '')}-{region}-{len(nodes):05d}", "network": network,
                          "operator": f"op-{op:05d}", "region": region, "country": country, **m})
        op += 1
    doc: dict[str, Any] = {"nodes": nodes}
    if links:
        doc["links"] = _continent_links(sorted({n["region"] for n in nodes}))
    if churn:
        add_churn(doc, seed)
    return doc


def add_churn(pool: dict[str, Any], seed: int = 0, *, start_hour: int = 9, nights: int = 7) -> dict[str, Any]:
    """Give a pool document contract 1.1's churn, in place (and return it).

    - Akash nodes: a lease that ends between 6 and 72 hours in (Akash leases are bought for a
      time; a provider may also reclaim the machine).
    - Home GPUs (consumer machines with one or two GPUs and a slow link): lent only at night,
      19:00-07:00 local time, for `nights` nights, the plan starting at `start_hour`; they drop
      2-8% of their jobs per hour.
    - Data-centre machines: 0.1-1% of jobs per hour.
    """
    rng = random.Random(seed * 7919 + 17)
    first_night_s = ((19 - start_hour) % 24) * 3600
    for node in pool["nodes"]:
        home = node["gpus"] <= 2 and node["bandwidth_gbps"] <= 1.0 and node["gpu"] in CONSUMER_MODELS
        if home:
            node["available"] = [{"from_s": first_night_s + day * 86400, "until_s": first_night_s + day * 86400 + 43200}
                                 for day in range(nights)]
            node["failures_per_hour"] = round(rng.uniform(0.02, 0.08), 3)
        else:
            node["failures_per_hour"] = round(rng.uniform(0.001, 0.01), 4)
        if node["network"] == "akash" and not home:
            node["available"] = [{"from_s": 0, "until_s": 3600 * rng.randint(6, 72)}]
    return pool


def _machine(rng: random.Random, model: str, datacentre: bool, base_rep: float) -> dict[str, Any]:
    g = GPU_MODELS[model]
    memory, speed, price, gpu_cc = g.memory_gb, g.speed, g.price_per_gpu_hour, g.confidential
    tee: list[str] = []
    if datacentre:
        cpu = rng.random()
        if cpu < 0.35:
            tee.append("tdx")
        elif cpu < 0.6:
            tee.append("sev-snp")
        elif cpu < 0.7:
            tee.append("sgx")
        if gpu_cc and rng.random() < 0.6:
            tee.append("nvidia-cc")
    elif rng.random() < 0.05:
        tee.append("sgx")
    return {
        "gpu": model,
        "gpus": rng.choice([4, 8, 8]) if datacentre else rng.choice([1, 1, 2]),
        "gpu_memory_gb": memory,
        "speed": round(speed * rng.uniform(0.92, 1.05), 3),
        "price_per_gpu_hour": round(price * rng.uniform(0.7, 1.3), 3),
        "tee": tee,
        "attested": bool(tee) and rng.random() < (0.75 if datacentre else 0.3),
        "reputation": round(min(0.9999, max(0.5, base_rep + rng.uniform(-0.01, 0.01))), 4),
        "bandwidth_gbps": rng.choice([10, 25, 40, 100]) if datacentre else rng.choice([0.1, 0.3, 0.5, 1.0]),
    }


def _continent_links(regions: list[str]) -> list[dict[str, Any]]:
    out = []
    for k, a in enumerate(regions):
        for b in regions[k + 1:]:
            ca, cb = REGIONS[a][0], REGIONS[b][0]
            if ca == cb:
                continue
            near = {ca, cb} == {"eu", "na"}
            out.append({"regions": [a, b], "bandwidth_gbps": 5.0 if near else 1.0})
    return out


def generate_layered(n_tasks: int, seed: int = 0, *, width: int | None = None, levels: tuple[str, ...] = (
        "public", "internal", "confidential", "restricted"), sensitive_share: float = 0.1,
        max_gpus: int = 4) -> dict[str, Any]:
    """A layered DAG: each task depends on 1-3 tasks of the layer above."""
    rng = random.Random(seed)
    width = width or max(2, int(n_tasks ** 0.5))
    tasks: list[dict[str, Any]] = []
    prev: list[str] = []
    layer: list[str] = []
    for k in range(n_tasks):
        if len(layer) >= width:
            prev, layer = layer, []
        tid = f"t{k}"
        t: dict[str, Any] = {"id": tid, "duration_s": round(rng.uniform(300, 3600), 1),
                             "gpus": rng.choice([g for g in (1, 1, 1, 2, 4, 8) if g <= max_gpus]),
                             "gpu_memory_gb": rng.choice([8, 16, 24, 40])}
        if rng.random() < sensitive_share:
            t["sensitivity"] = rng.choice(levels[2:]) if len(levels) > 2 else levels[-1]
        elif rng.random() < 0.3:
            t["sensitivity"] = levels[0]
        if prev:
            parents = rng.sample(prev, min(len(prev), rng.randint(1, 3)))
            t["depends_on"] = [{"task": p, "data_gb": round(rng.uniform(0.1, 20), 2)} for p in parents]
        tasks.append(t)
        layer.append(tid)
    return {"name": f"layered-{n_tasks}-{seed}", "tasks": tasks}


def generate_fanout(n_tasks: int, seed: int = 0) -> dict[str, Any]:
    """A confidential split, `n_tasks - 2` shards, and a merge."""
    rng = random.Random(seed)
    tasks: list[dict[str, Any]] = [{"id": "split", "duration_s": 120, "gpus": 0, "sensitivity": "confidential"}]
    shards = max(1, n_tasks - 2)
    for k in range(shards):
        tasks.append({"id": f"shard-{k}", "duration_s": round(rng.uniform(100, 900), 1), "gpus": rng.choice([1, 1, 2]),
                      "gpu_memory_gb": rng.choice([8, 24, 40]),
                      "depends_on": [{"task": "split", "data_gb": round(rng.uniform(0.5, 5), 2)}]})
    tasks.append({"id": "merge", "duration_s": 300, "gpus": 1, "gpu_memory_gb": 16, "declassifies": True,
                  "depends_on": [{"task": f"shard-{k}", "data_gb": 0.5} for k in range(shards)]})
    return {"name": f"fanout-{n_tasks}-{seed}", "tasks": tasks}


FINETUNE_IMAGE = "ghcr.io/example/llm-finetune:2026.11"


def generate_finetune(seed: int = 0, *, tokenizers: int = 6, benches: int = 6,
                      data_site: bool = False) -> dict[str, Any]:
    """A fine-tuning pipeline: restricted ingest, an anonymiser, tokenisation, training,
    evaluation, red-teaming, quantisation and serving benchmarks.

    With `data_site` (contract 1.1), the raw data rests in a restricted bucket in Germany
    (`customer-bucket`): ingest reads 200 GB from it, which alone makes ingest restricted, and a
    `model-card` task writes its report back there."""
    rng = random.Random(seed)
    ingest: dict[str, Any] = {"id": "ingest", "duration_s": 600, "gpus": 0, "sensitivity": "restricted"}
    if data_site:
        ingest = {"id": "ingest", "duration_s": 600, "gpus": 0,
                  "reads": [{"site": "customer-bucket", "data_gb": 200}]}
    tasks: list[dict[str, Any]] = [
        ingest,
        {"id": "pii-scrub", "duration_s": 1800, "gpus": 1, "gpu_memory_gb": 16, "sensitivity": "confidential",
         "declassifies": True, "depends_on": [{"task": "ingest", "data_gb": 200}]},
    ]
    for k in range(tokenizers):
        tasks.append({"id": f"tokenize-{k}", "duration_s": round(rng.uniform(400, 720), 1), "gpus": 1,
                      "gpu_memory_gb": 16, "depends_on": [{"task": "pii-scrub", "data_gb": 25.0}]})
    tasks.append({"id": "train", "duration_s": round(rng.uniform(20000, 36000), 1), "gpus": 8, "gpu_memory_gb": 80,
                  "duration_by_gpu": {"H100-80GB": 9000, "H200-141GB": 7600},
                  "depends_on": [{"task": f"tokenize-{k}", "data_gb": round(40 / tokenizers, 3)}
                                 for k in range(tokenizers)]})
    tasks += [
        {"id": "eval", "duration_s": 1200, "gpus": 1, "gpu_memory_gb": 40,
         "depends_on": [{"task": "train", "data_gb": 30}]},
        {"id": "redteam", "duration_s": 2400, "gpus": 1, "gpu_memory_gb": 40, "sensitivity": "confidential",
         "depends_on": [{"task": "train", "data_gb": 30}]},
        {"id": "quantize", "duration_s": 900, "gpus": 1, "gpu_memory_gb": 80, "declassifies": True,
         "depends_on": [{"task": "eval", "data_gb": 0.1}, {"task": "train", "data_gb": 30}]},
    ]
    for k in range(benches):
        tasks.append({"id": f"serve-bench-{k}", "duration_s": round(rng.uniform(600, 1700), 1), "gpus": 1,
                      "gpu_memory_gb": 24, "sensitivity": "public",
                      "depends_on": [{"task": "quantize", "data_gb": 8}]})
    if not data_site:
        return {"name": f"llm-finetune-{seed}", "tasks": tasks}
    tasks.append({"id": "model-card", "duration_s": 120, "gpus": 0,
                  "depends_on": [{"task": "eval", "data_gb": 0.01}, {"task": "redteam", "data_gb": 0.01}],
                  "writes": [{"site": "customer-bucket", "data_gb": 0.05}]})
    for t in tasks:  # what `scheduler export akash` runs: one image, a step per task
        step = t["id"].rsplit("-", 1)[0] if t["id"][-1].isdigit() else t["id"]
        shard = f" --shard {t['id'].rsplit('-', 1)[1]}" if t["id"][-1].isdigit() else ""
        t["labels"] = {"image": FINETUNE_IMAGE, "command": f"python -m pipeline.{step.replace('-', '_')}{shard}"}
    sites = [{"id": "customer-bucket", "network": "self-hosted", "region": "eu-central", "country": "DE",
              "bandwidth_gbps": 10, "level": "restricted"}]
    return {"name": f"llm-finetune-{seed}", "sites": sites, "tasks": tasks}


WORLD_SITES: list[dict[str, Any]] = [  # where data rests (contract 1.1)
    {"id": "patients-de", "network": "self-hosted", "region": "eu-central", "country": "DE", "bandwidth_gbps": 10,
     "level": "restricted"},
    {"id": "corpus-us", "network": "aws", "region": "us-east", "country": "US", "bandwidth_gbps": 25},
    {"id": "open-data", "network": "hf", "region": "eu-west", "country": "FR", "bandwidth_gbps": 5, "level": "public"},
]


def generate_world(n_tasks: int, seed: int = 0, *, read_share: float = 0.5, write_share: float = 0.3,
                   verified_share: float = 0.05) -> dict[str, Any]:
    """A layered workload in contract 1.1's world: its first layer reads from buckets (one of them a
    restricted one in Germany), a share of its last layer writes results back, and a share of its
    tasks is at level ``verified`` (the `policies/verified.yaml` level whose results two operators
    must agree on). Pair it with ``generate_pool(..., churn=True)``.

    Args:
        n_tasks: how many tasks.
        seed: the random seed.
        read_share: the share of first-layer tasks that read from a site.
        write_share: the share of the tasks nothing depends on that write to a site.
        verified_share: the share of tasks declared ``verified``.
    """
    rng = random.Random(seed * 104729 + 3)
    # sensitive tasks are verified or confidential; restricted data comes only from the German bucket
    doc = generate_layered(n_tasks, seed, levels=("public", "internal", "verified", "confidential"))
    children = {d["task"] for t in doc["tasks"] for d in t.get("depends_on", [])}
    for t in doc["tasks"]:
        if not t.get("depends_on") and rng.random() < read_share:
            site = rng.choices(WORLD_SITES, [1, 4, 3])[0]
            t["reads"] = [{"site": site["id"], "data_gb": round(rng.uniform(1, 60), 1)}]
        if t["id"] not in children and rng.random() < write_share:
            # results go back to the German bucket, which every level's residency allows
            t["writes"] = [{"site": WORLD_SITES[0]["id"], "data_gb": round(rng.uniform(0.05, 5), 2)}]
        if t.get("sensitivity") is None and rng.random() < verified_share:
            t["sensitivity"] = "verified"
    doc["name"] = f"world-{n_tasks}-{seed}"
    doc["sites"] = [dict(s) for s in WORLD_SITES]
    return doc


def generate_gang_pool(n_nodes: int = 24, seed: int = 0, *, campus_nodes: int = 4) -> dict[str, Any]:
    """A pool for gangs (contract 1.1): one data centre with `campus_nodes` fast-linked 8-GPU H100
    nodes (400 Gbit/s between them, confidential computing, attested), and the rest scattered: 4- and
    8-GPU data-centre nodes of several operators across regions, their links between regions slow
    (`generate_pool`'s continent links)."""
    rng = random.Random(seed * 31 + 7)
    nodes: list[dict[str, Any]] = []
    for k in range(campus_nodes):
        nodes.append({"id": f"fra-dc-{k:02d}", "network": "self-hosted", "operator": "op-fra-dc",
                      "region": "eu-central", "country": "DE", "gpu": "H100-80GB", "gpus": 8, "gpu_memory_gb": 80,
                      "speed": 2.2, "price_per_gpu_hour": 2.4, "tee": ["tdx", "nvidia-cc"], "attested": True,
                      "reputation": 0.999, "bandwidth_gbps": 100, "failures_per_hour": 0.002})
    regions = list(REGIONS)
    while len(nodes) < n_nodes:
        model = rng.choice(["H100-80GB", "H100-80GB", "H200-141GB", "A100-80GB"])
        g = GPU_MODELS[model]
        memory, speed, price, gpu_cc = g.memory_gb, g.speed, g.price_per_gpu_hour, g.confidential
        region = rng.choices(regions, REGION_WEIGHTS)[0]
        tee = ["tdx", "nvidia-cc"] if gpu_cc and rng.random() < 0.6 else (["sev-snp"] if rng.random() < 0.3 else [])
        network = rng.choice(NETWORKS)
        nodes.append({"id": f"{network.replace('.', '')}-{region}-{len(nodes):05d}",
                      "network": network, "operator": f"op-{rng.randint(0, n_nodes // 2):05d}",
                      "region": region, "country": rng.choice(REGIONS[region][1]), "gpu": model,
                      "gpus": rng.choice([4, 8, 8]), "gpu_memory_gb": memory,
                      "speed": round(speed * rng.uniform(0.92, 1.05), 3),
                      "price_per_gpu_hour": round(price * rng.uniform(0.6, 1.1), 3), "tee": tee,
                      "attested": bool(tee) and rng.random() < 0.8,
                      "reputation": round(rng.uniform(0.95, 0.999), 4), "bandwidth_gbps": rng.choice([10, 25, 40]),
                      "failures_per_hour": round(rng.uniform(0.002, 0.01), 4)})
    links = [{"nodes": [a["id"], b["id"]], "bandwidth_gbps": 400}
             for k, a in enumerate(nodes[:campus_nodes]) for b in nodes[k + 1:campus_nodes]]
    links += _continent_links(sorted({n["region"] for n in nodes}))
    return {"nodes": nodes, "links": links}


def generate_pretraining(seed: int = 0, *, gang_nodes: int = 8, pretrain_gpu_hours: float = 512.0) -> dict[str, Any]:
    """A pretraining pipeline (contract 1.1): a confidential corpus in a German bucket is tokenised,
    a model is pretrained on `gang_nodes` 8-GPU nodes at once (64 GPUs by default: no node has more
    than 8), evaluated, and the checkpoint written back to the bucket. `pretrain_gpu_hours` is the
    work on reference GPUs (A100-40GB); the gang exchanges 400 GB per node over the run."""
    rng = random.Random(seed)
    return {"name": f"pretraining-{seed}",
            "sites": [{"id": "corpus-de", "network": "self-hosted", "region": "eu-central", "country": "DE",
                       "bandwidth_gbps": 40, "level": "confidential"}],
            "tasks": [
                {"id": "tokenize", "duration_s": 3600, "gpus": 0, "reads": [{"site": "corpus-de", "data_gb": 2000}]},
                {"id": "pretrain", "duration_s": round(pretrain_gpu_hours * 3600 / 8, 1), "gpus": 8,
                 "gpu_memory_gb": 80, "nodes": gang_nodes, "sync_gb": 400,
                 "depends_on": [{"task": "tokenize", "data_gb": 500}]},
                {"id": "evaluate", "duration_s": round(rng.uniform(1800, 3600), 1), "gpus": 8, "gpu_memory_gb": 80,
                 "depends_on": [{"task": "pretrain", "data_gb": 140}]},
                {"id": "publish", "duration_s": 300, "gpus": 0, "sensitivity": "confidential",
                 "depends_on": [{"task": "evaluate", "data_gb": 1}, {"task": "pretrain", "data_gb": 140}],
                 "writes": [{"site": "corpus-de", "data_gb": 140}]}]}


def generate_gang_workload(n_tasks: int, seed: int = 0, *, gang_share: float = 0.1, max_gang: int = 8,
                           sensitive_share: float = 0.0) -> dict[str, Any]:
    """A layered DAG where a share of the tasks are gangs of 2 to `max_gang` nodes, each holding 4 or 8 GPUs
    per node and exchanging data over the run."""
    rng = random.Random(seed * 7 + 1)
    doc = generate_layered(n_tasks, seed, sensitive_share=sensitive_share,
                           levels=("public", "internal", "confidential"))
    for t in doc["tasks"]:
        if rng.random() < gang_share or t is doc["tasks"][0]:
            t["nodes"] = rng.randint(2, max_gang)
            t["gpus"] = rng.choice([4, 8])
            t["duration_s"] = round(t["duration_s"] * t["nodes"] * rng.uniform(2, 6), 1)
            t["sync_gb"] = round(rng.uniform(10, 400), 1)
    doc["name"] = f"gangs-{n_tasks}-{seed}"
    return doc
