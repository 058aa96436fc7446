"""Plans to Akash deployments: one SDL document per replica the plan puts on Akash nodes.

Akash rents a machine through a *deployment*: an SDL document (Stack Definition Language, version
2.0) whose services run a container image, whose compute profile asks for CPU, memory, storage and
GPUs of a model, and whose placement profile says which providers may bid (attributes they must
carry, auditors who must have signed them) and the highest price per block. This module writes, for
every replica the plan puts on a node of the ``akash`` network, the document that rents that node
for that replica:

- the service runs the task's container: ``labels.image`` (required; ``default_image`` otherwise),
  ``labels.command`` (optional, run by ``sh -c``; absent: the image's own entrypoint), with the
  environment ``SCHEDULER_TASK``, ``SCHEDULER_REPLICA`` and ``SCHEDULER_NODE``;
- the compute profile asks for the task's GPUs of the node's model (``vendor: nvidia``, model and
  memory as Akash spells them) and ``labels.cpu`` (default 4 per GPU, at least 2), ``labels.memory``
  (default 16Gi per GPU, at least 8Gi), ``labels.storage`` (default: the data the replica reads,
  receives and writes, plus a fifth, at least 10Gi);
- one placement profile per planned provider pins it: its attributes as the provider listing gave
  them (node labels ``akash.attr.<key>``, written by `scheduler import akash`), else the node's
  region alone (and the export says the provider is not pinned); ``signedBy.anyOf`` the auditors of
  the node (label ``akash.auditors``) when it has any;
- where the task's effective level needs a TEE, ``params.tee`` (AEP-83 confidential computing:
  ``cpu-gpu`` when the task holds GPUs on a node with NVIDIA CC, else ``cpu``), and the placement
  attribute ``tee/type`` with the same value, which Akash's own SDL parser adds to the group's
  requirements so that only confidential providers bid;
- the price per block: the node's USD per GPU-hour times the task's GPUs (one GPU's price for a task
  that holds none), over ``usd_per_token``, in micro-units of ``denom``, per ``block_s`` seconds.

A gang replica is one document: one service, deployed to each of its providers' placement profiles.

Examples:
    >>> from scheduler.domain import NodePool, Plan, Workload
    >>> from scheduler.domain.levels import permissive_policy
    >>> wl = Workload.model_validate({"tasks": [{"id": "train", "duration_s": 3600, "gpus": 2,
    ...     "labels": {"image": "ghcr.io/acme/train:1", "command": "python train.py"}}]})
    >>> pool = NodePool.model_validate({"nodes": [{"id": "a1", "network": "akash", "gpu": "A100-80GB",
    ...     "gpus": 8, "price_per_gpu_hour": 1.2, "region": "us-west"}]})
    >>> plan = Plan.model_validate({"assignments": [{"task": "train", "node": "a1", "start_s": 0,
    ...     "end_s": 3600}]})
    >>> out = export_akash(plan, wl, pool, permissive_policy())
    >>> [d.file for d in out.deployments], out.deployments[0].price_per_block
    (['train-r0.yaml'], 4000.0)
    >>> out.deployments[0].sdl["profiles"]["compute"]["train"]["resources"]["gpu"]
    {'units': 2, 'attributes': {'vendor': {'nvidia': [{'model': 'a100', 'ram': '80Gi'}]}}}
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from ..domain import Assignment, Node, NodePool, Plan, Policy, Task, Workload, effective_levels
from ..domain.gpus import find_gpu_model
from ..errors import InputError

AKASH_NETWORK = "akash"
SDL_VERSION = "2.0"
DEFAULT_BLOCK_S = 6.0  # Akash's average block time, as the Akash Console counts it
LABEL_IMAGE, LABEL_COMMAND, LABEL_CPU, LABEL_MEMORY, LABEL_STORAGE = "image", "command", "cpu", "memory", "storage"
LABEL_ATTRIBUTE = "akash.attr."  # node labels: the provider's attributes
LABEL_AUDITORS = "akash.auditors"  # node label: comma-separated auditor addresses
LABEL_PROVIDER = "akash.provider"  # node label: the provider's owner address
LABEL_HOST_URI = "akash.host_uri"  # node label: the provider's address
LABEL_GPU_MODEL = "akash.gpu_model"  # node label: the GPU model as Akash names it (h100)
LABEL_GPU_RAM = "akash.gpu_ram"  # node label: the GPU memory as Akash writes it (80Gi)
PINNED_ATTRIBUTE_SKIP = ("capabilities/", "tee/")  # matched through resources and params.tee, not pinned


@dataclass(frozen=True)
class ExportOptions:
    """How prices and defaults are written.

    Attributes:
        denom: the price's denomination: ``uact`` (Akash's compute credit, one per micro-USD), ``uakt``
            or an ``ibc/...`` token.
        usd_per_token: USD per whole token of `denom` (1 for uact).
        block_s: seconds per block (prices are per block).
        default_image: the image of a task without ``labels.image``; None: such a task is an error.
    """

    denom: str = "uact"
    usd_per_token: float = 1.0
    block_s: float = DEFAULT_BLOCK_S
    default_image: str | None = None


@dataclass
class Deployment:
    """One SDL document: one replica of one task on its Akash nodes."""

    file: str
    task: str
    replica: int
    nodes: list[str]
    start_s: float
    end_s: float
    tee: str | None
    price_per_block: float
    pinned: bool
    sdl: dict[str, Any]

    def summary(self) -> dict[str, Any]:
        """The deployment's line in the export's index (everything but the document)."""
        return {"file": self.file, "task": self.task, "replica": self.replica, "nodes": self.nodes,
                "start_s": self.start_s, "end_s": self.end_s, "tee": self.tee,
                "price_per_block": self.price_per_block, "pinned": self.pinned}


@dataclass
class AkashExport:
    """What `export_akash` made: the documents, and notes for people."""

    deployments: list[Deployment] = field(default_factory=list)
    elsewhere: dict[str, int] = field(default_factory=dict)  # replicas on other networks, by network
    notes: list[str] = field(default_factory=list)

    def index(self, options: ExportOptions) -> dict[str, Any]:
        """The export's index document (``deployments.json``)."""
        return {"sdl_version": SDL_VERSION, "denom": options.denom, "block_s": options.block_s,
                "deployments": [d.summary() for d in self.deployments],
                "not_exported": dict(sorted(self.elsewhere.items())), "notes": self.notes}


def is_akash(node: Node) -> bool:
    return node.network.lower() == AKASH_NETWORK


def export_akash(plan: Plan, workload: Workload, pool: NodePool, policy: Policy,
                 options: ExportOptions | None = None) -> AkashExport:
    """SDL documents for the replicas `plan` puts on Akash nodes (see the module docstring).

    Parameters
    ----------
    plan, workload, pool, policy
        A plan and the files it was made from (the plan is taken as valid: verify it first).
    options : ExportOptions, optional
        Prices and defaults.

    Returns
    -------
    AkashExport
        The documents in the plan's order of starts, and the replicas left on other networks.

    Raises
    ------
    InputError
        A task to export has no ``labels.image`` and no default image, or a label is malformed.
    """
    opts = options or ExportOptions()
    tasks = {t.id: (i, t) for i, t in enumerate(workload.tasks)}
    levels = {tid: policy.level(origin.level) for tid, origin in effective_levels(workload, policy).items()}
    out = AkashExport()
    replicas: dict[tuple[str, int], list[Assignment]] = {}
    for a in plan.assignments:
        node = pool.by_id[a.node]
        if is_akash(node):
            replicas.setdefault((a.task, a.replica), []).append(a)
        else:
            out.elsewhere[node.network] = out.elsewhere.get(node.network, 0) + 1
    for (tid, replica), rows in sorted(replicas.items(), key=lambda kv: (min(r.start_s for r in kv[1]), kv[0])):
        index, task = tasks[tid]
        nodes = [pool.by_id[r.node] for r in rows]
        tee = _tee_type(task, nodes) if levels[tid].tee_kinds else None
        try:
            out.deployments.append(_deployment(task, index, replica, rows, nodes, tee, opts))
        except InputError as e:  # a task's labels: the message names the workload's file
            raise InputError(e.message, file=workload.source, field=e.field) from None
    unpinned = sorted({n for d in out.deployments if not d.pinned for n in d.nodes})
    if unpinned:
        out.notes.append(f"{len(unpinned)} Akash node(s) carry no provider attributes ({', '.join(unpinned[:5])}"
                         f"{', ...' if len(unpinned) > 5 else ''}): their placement asks only for the region, so any "
                         f"provider there may bid; import the pool with `scheduler import akash` to pin providers")
    return out


def _tee_type(task: Task, nodes: list[Node]) -> str:
    """AEP-83's TEE type: cpu-gpu when the task's GPUs must be confidential too, cpu otherwise."""
    return "cpu-gpu" if task.gpus > 0 and all("nvidia-cc" in n.tee for n in nodes) else "cpu"


def _deployment(task: Task, index: int, replica: int, rows: list[Assignment], nodes: list[Node],
                tee: str | None, opts: ExportOptions) -> Deployment:
    name = service_name(task.id)
    per_provider = Counter(_placement_name(n) for n in nodes)
    placements = {_placement_name(n): _placement(n, name, task, tee, opts) for n in nodes}
    price = placements[next(iter(placements))]["pricing"][name]["amount"]
    sdl = {
        "version": SDL_VERSION,
        "services": {name: _service(task, index, replica, nodes, tee, opts)},
        "profiles": {"compute": {name: {"resources": _resources(task, index, nodes[0])}},
                     "placement": placements},
        "deployment": {name: {p: {"profile": name, "count": c} for p, c in per_provider.items()}},
    }
    return Deployment(file=f"{name}-r{replica}.yaml", task=task.id, replica=replica, nodes=[n.id for n in nodes],
                      start_s=min(r.start_s for r in rows), end_s=max(r.end_s for r in rows), tee=tee,
                      price_per_block=price, pinned=all(_pins(n) for n in nodes), sdl=sdl)


def service_name(task_id: str) -> str:
    """A task id as an SDL service name (lower-case letters, digits and dashes, starting with a letter).

    >>> service_name("Tokenize_0"), service_name("7b.eval")
    ('tokenize-0', 't-7b-eval')
    """
    name = re.sub(r"[^a-z0-9-]+", "-", task_id.lower()).strip("-") or "task"
    return name if name[0].isalpha() else f"t-{name}"


def _placement_name(node: Node) -> str:
    return service_name(node.id)


def _service(task: Task, index: int, replica: int, nodes: list[Node], tee: str | None,
             opts: ExportOptions) -> dict[str, Any]:
    image = task.labels.get(LABEL_IMAGE) or opts.default_image
    if not image:
        raise InputError("missing: `scheduler export akash` needs the container image of every task it exports "
                         "(or --default-image)", field=f"tasks[{index}].labels.{LABEL_IMAGE}")
    service: dict[str, Any] = {"image": image}
    command = task.labels.get(LABEL_COMMAND)
    if command:
        service |= {"command": ["sh", "-c"], "args": [command]}
    service["env"] = [f"SCHEDULER_TASK={task.id}", f"SCHEDULER_REPLICA={replica}",
                      f"SCHEDULER_NODE={','.join(n.id for n in nodes)}"]
    # the SDL parser wants a port; a batch task listens to nobody outside its deployment
    service["expose"] = [{"port": 8080}]
    if tee is not None:
        service["params"] = {"tee": tee}
    return service


def _resources(task: Task, index: int, node: Node) -> dict[str, Any]:
    gpus = task.gpus
    cpu = _label_number(task, index, LABEL_CPU, float(max(2, 4 * gpus)))
    memory = task.labels.get(LABEL_MEMORY) or f"{max(8, 16 * gpus)}Gi"
    moved_gb = sum(r.data_gb for r in task.reads) + sum(w.data_gb for w in task.writes) + sum(
        d.data_gb for d in task.depends_on)
    storage = task.labels.get(LABEL_STORAGE) or f"{max(10, math.ceil(1.2 * moved_gb))}Gi"
    for key, value in ((LABEL_MEMORY, memory), (LABEL_STORAGE, storage)):
        if not re.fullmatch(r"[0-9]+(\.[0-9]+)?(Ki|Mi|Gi|Ti|k|M|G|T)?", value):
            raise InputError(f"{value!r} is not a size such as 16Gi", field=f"tasks[{index}].labels.{key}")
    resources: dict[str, Any] = {"cpu": {"units": cpu}, "memory": {"size": memory}, "storage": [{"size": storage}]}
    if gpus > 0:
        resources["gpu"] = {"units": gpus, "attributes": {"vendor": {"nvidia": [_gpu_attributes(node)]}}}
    return resources


def _label_number(task: Task, index: int, key: str, default: float) -> float | int:
    text = task.labels.get(key)
    if text is None:
        return int(default) if default.is_integer() else default
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise InputError(f"{text!r} is not a positive number of CPU units", field=f"tasks[{index}].labels.{key}")
    return int(value) if value.is_integer() else value


def _gpu_attributes(node: Node) -> dict[str, str]:
    """The GPU model as Akash names it: the listing's own words when imported, else from the catalogue."""
    if LABEL_GPU_MODEL in node.labels:
        attrs = {"model": node.labels[LABEL_GPU_MODEL]}
        if node.labels.get(LABEL_GPU_RAM):
            attrs["ram"] = node.labels[LABEL_GPU_RAM]
        return attrs
    known = find_gpu_model(node.gpu)
    if known is None:
        return {"model": re.sub(r"[^a-z0-9]", "", node.gpu.lower()) or "any"}
    return {"model": known.family, "ram": f"{int(known.memory_gb)}Gi"}


def _pins(node: Node) -> bool:
    return any(k.startswith(LABEL_ATTRIBUTE) for k in node.labels)


def _placement(node: Node, service: str, task: Task, tee: str | None, opts: ExportOptions) -> dict[str, Any]:
    attributes = {k[len(LABEL_ATTRIBUTE):]: v for k, v in sorted(node.labels.items())
                  if k.startswith(LABEL_ATTRIBUTE) and not k[len(LABEL_ATTRIBUTE):].startswith(PINNED_ATTRIBUTE_SKIP)}
    if not attributes and node.region:
        attributes["region"] = node.region
    if tee is not None:
        attributes["tee/type"] = tee
    placement: dict[str, Any] = {}
    if attributes:
        placement["attributes"] = attributes
    auditors = [a.strip() for a in (node.labels.get(LABEL_AUDITORS) or "").split(",") if a.strip()]
    if auditors:
        placement["signedBy"] = {"anyOf": auditors}
    usd_per_hour = node.price_per_gpu_hour * max(task.gpus, 1)
    amount = usd_per_hour / 3600 * opts.block_s / opts.usd_per_token * 1e6
    placement["pricing"] = {service: {"denom": opts.denom, "amount": round(amount, 4)}}
    return placement

