"""The Akash Console's provider listing as a node pool.

The shape read is the answer of the Console API's ``GET /v1/providers``
(``ProviderListResponseSchema`` in akash-network/console, ``apps/api/src/provider/http-schemas/
provider.schema.ts``, plus the ``stats`` of ``ProviderList`` in ``apps/api/src/types/provider.ts``):
a JSON array of providers with ``owner``, ``hostUri``, ``isOnline``, ``uptime1d/7d/30d``,
``gpuModels`` (``vendor``, ``model``, ``ram``, ``interface``), ``stats.gpu`` (``total``,
``available``), ``attributes`` (``key``, ``value``, ``auditedBy``) and the attributes the Console
reads out of them (``locationRegion``, ``country``, ``hardwareCpu``, ``networkSpeedDown/Up``...).
Prices come from ``GET /v1/gpu-prices`` (``GpuPricesResponseSchema``: per model, USD per GPU-hour),
when given.

One node per provider and GPU model (several models: the GPUs split evenly, since the listing does
not count them per model):

- ``gpus``: ``stats.gpu.available`` (``capacity="total"``: ``stats.gpu.total``);
- ``gpu``, ``speed``, ``gpu_memory_gb``: the catalogue's model (`scheduler.domain.gpus`) matching
  the listing's model and memory; a model the catalogue lacks is skipped (its speed is unknown);
- ``region``: ``locationRegion`` (else ``ipRegionCode``); ``country``: ``ipCountryCode`` (else a
  two-letter ``country``);
- ``tee``: the provider attribute ``tee/type`` (``cpu`` or ``cpu-gpu``, AEP-83) with the CPU vendor
  (``capabilities/cpu``: ``amd`` gives ``sev-snp``, ``intel`` gives ``tdx``), plus ``nvidia-cc`` for
  ``cpu-gpu``; ``attested``: the ``tee/type`` attribute is signed by an auditor;
- ``reputation``: ``uptime30d`` (else 7d, else 1d); ``failures_per_hour``: ``-ln(uptime1d) / 24``,
  the rate at which a day's uptime would be the chance to run 24 hours through;
- ``price_per_gpu_hour``: the price list's median for the model, else the catalogue's;
- ``bandwidth_gbps``: the lesser of ``networkSpeedUp/Down`` (Mbit/s) over 1000, else 1;
- ``operator``: ``owner``; ``network``: ``akash``; labels ``akash.provider``, ``akash.host_uri``,
  ``akash.auditors``, ``akash.gpu_model``, ``akash.gpu_ram`` and ``akash.attr.<key>`` for every
  attribute, which `export_akash` uses to pin the provider.

Entries that are not providers, are offline, have no GPU free, or only unknown GPU models are
skipped, each with one line saying why; nothing in the listing stops the import.

Examples:
    >>> listing = [{"owner": "akash1abc", "hostUri": "https://provider.example.com:8443", "isOnline": True,
    ...     "uptime1d": 0.99, "uptime30d": 0.97, "gpuModels": [{"vendor": "nvidia", "model": "h100",
    ...     "ram": "80Gi", "interface": "SXM5"}], "stats": {"gpu": {"total": 8, "available": 6}},
    ...     "attributes": [{"key": "tee/type", "value": "cpu-gpu", "auditedBy": ["akash1aud"]},
    ...                    {"key": "capabilities/cpu", "value": "intel", "auditedBy": []}],
    ...     "ipCountryCode": "DE", "locationRegion": "eu-central"}]
    >>> out = import_akash_providers(listing)
    >>> n = out.pool.nodes[0]
    >>> n.id, n.gpu, n.gpus, n.tee, n.attested, n.reputation, n.country
    ('example-com-h100', 'H100-80GB', 6, ['tdx', 'nvidia-cc'], True, 0.97, 'DE')
    >>> import_akash_providers([*listing, {"owner": "akash1x", "isOnline": False}]).skipped
    ['providers[1] (akash1x): skipped: offline']
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlparse

from pydantic import ValidationError

from ..domain import Node, NodePool
from ..domain.gpus import GpuModel, find_gpu_model
from ..errors import InputError
from .akash_sdl import (
    AKASH_NETWORK,
    LABEL_ATTRIBUTE,
    LABEL_AUDITORS,
    LABEL_GPU_MODEL,
    LABEL_GPU_RAM,
    LABEL_HOST_URI,
    LABEL_PROVIDER,
)

CPU_TEE = {"amd": "sev-snp", "intel": "tdx"}
GIB_IN_GB = 2**30 / 1e9


@dataclass(frozen=True)
class ImportOptions:
    """How a listing becomes a pool.

    Attributes:
        capacity: ``available`` GPUs (free now) or ``total``.
        include_offline: keep providers the listing marks offline.
    """

    capacity: Literal["available", "total"] = "available"
    include_offline: bool = False


@dataclass
class _Log:
    skipped: list[str] = field(default_factory=list)  # entries (or models) left out, with why
    notes: list[str] = field(default_factory=list)  # what was guessed at


@dataclass
class ProviderImport(_Log):
    """The pool, and a line per entry left out or guessed at."""

    pool: NodePool = field(default_factory=lambda: NodePool.model_construct(nodes=[], links=[], labels={}))


def import_akash_providers(listing: Any, prices: Any = None, options: ImportOptions | None = None,
                           source: str = "", prices_source: str = "") -> ProviderImport:
    """A node pool from a provider listing (see the module docstring).

    Parameters
    ----------
    listing : list
        The Console's ``/v1/providers`` answer (a ``{"providers": [...]}`` wrapper is accepted too).
    prices : dict, optional
        The Console's ``/v1/gpu-prices`` answer.
    options : ImportOptions, optional
    source, prices_source : str
        The listing's and the price list's file names, for messages.

    Returns
    -------
    ProviderImport

    Raises
    ------
    InputError
        The listing is not a list of entries, or no entry gives a usable node.
    """
    opts = options or ImportOptions()
    entries = listing.get("providers") if isinstance(listing, dict) else listing
    if not isinstance(entries, list):
        raise InputError("expected the JSON array of providers that the Akash Console's /v1/providers returns",
                         file=source)
    price_of = _price_table(prices, prices_source)
    log = _Log()
    nodes: list[Node] = []
    used: set[str] = set()
    for i, entry in enumerate(entries):
        nodes += _provider_nodes(i, entry, opts, price_of, used, log)
    if not nodes:
        raise InputError(f"no usable provider among {len(entries)} entries ({len(log.skipped)} skipped)", file=source)
    return ProviderImport(skipped=log.skipped, notes=log.notes, pool=NodePool(nodes=nodes))


def _price_table(prices: Any, source: str) -> dict[tuple[str, str], float]:
    if prices is None:
        return {}
    models = prices.get("models") if isinstance(prices, dict) else None
    if not isinstance(models, list):
        raise InputError("expected the object the Akash Console's /v1/gpu-prices returns (with `models`)",
                         file=source, field="models")
    table: dict[tuple[str, str], float] = {}
    for m in models:
        price = m.get("price") if isinstance(m, dict) else None
        med = price.get("med") if isinstance(price, dict) else None
        if isinstance(med, (int, float)) and not isinstance(med, bool) and math.isfinite(med) and med >= 0:
            table[(str(m.get("model", "")).lower(), str(m.get("ram", "")))] = float(med)
    return table


def _provider_nodes(i: int, entry: Any, opts: ImportOptions, price_of: dict[tuple[str, str], float],
                    used: set[str], out: _Log) -> list[Node]:
    """The nodes of one listing entry, or none with a line in `out.skipped` saying why."""
    owner = entry.get("owner") if isinstance(entry, dict) else None
    where = f"providers[{i}]" + (f" ({owner})" if isinstance(owner, str) and owner else "")
    why = _unusable(entry, owner, opts)
    if why:
        out.skipped.append(f"{where}: skipped: {why}")
        return []
    gpu_count = _int(((entry.get("stats") or {}).get("gpu") or {}).get(opts.capacity))
    models: list[tuple[dict[str, Any], GpuModel]] = []
    for g in _gpu_models(entry):
        known = find_gpu_model(str(g.get("model", "")), _ram_gb(g.get("ram")))
        if known is None:
            out.skipped.append(f"{where}: GPU model {g.get('model')!r} skipped: not in the catalogue, so its speed "
                               f"is unknown")
        else:
            models.append((g, known))
    if not models:
        if not any(s.startswith(where) for s in out.skipped):
            out.skipped.append(f"{where}: skipped: no GPU model it lists is known")
        return []
    if gpu_count < len(models):
        models = models[:max(1, gpu_count)]
    common = _common_fields(entry, owner, out, where)
    base = _base_id(entry, owner)
    nodes = []
    for k, (g, known) in enumerate(models):
        share = gpu_count // len(models) + (1 if k < gpu_count % len(models) else 0)
        node_id = _unique(f"{base}-{_slug(str(g.get('model')))}", used)
        price = price_of.get((str(g.get("model", "")).lower(), str(g.get("ram", ""))))
        node = common | {"id": node_id, "gpu": known.name, "gpus": share, "speed": known.speed,
                         "gpu_memory_gb": round(_ram_gb(g.get("ram")) or known.memory_gb, 3),
                         "price_per_gpu_hour": known.price_per_gpu_hour if price is None else price}
        node["labels"] = common["labels"] | {LABEL_GPU_MODEL: str(g.get("model")), LABEL_GPU_RAM: str(g.get("ram", ""))}
        try:
            nodes.append(Node.model_validate(node))
        except ValidationError as e:
            err = e.errors()[0]
            out.skipped.append(f"{where}: GPU model {g.get('model')!r} skipped: its node would have "
                               f"{'.'.join(map(str, err['loc']))}: {err['msg']}")
    if len(models) > 1:
        out.notes.append(f"{where}: {gpu_count} GPUs split evenly over {len(models)} models (the listing does not "
                         f"count them per model)")
    return nodes


def _unusable(entry: Any, owner: Any, opts: ImportOptions) -> str | None:
    if not isinstance(entry, dict):
        return f"not a provider object (a {type(entry).__name__})"
    if not isinstance(owner, str) or not owner:
        return "no `owner` address"
    if entry.get("isOnline") is False and not opts.include_offline:
        return "offline"
    if not _gpu_models(entry):
        return "lists no GPU"
    stats = entry.get("stats")
    gpu = stats.get("gpu") if isinstance(stats, dict) else None
    if not isinstance(gpu, dict) or _int(gpu.get(opts.capacity), -1) < 0:
        return f"no GPU count (stats.gpu.{opts.capacity})"
    if _int(gpu.get(opts.capacity)) == 0:
        return f"no GPU {'free' if opts.capacity == 'available' else 'at all'} (stats.gpu.{opts.capacity} = 0)"
    return None


def _gpu_models(entry: dict[str, Any]) -> list[dict[str, Any]]:
    models = entry.get("gpuModels")
    if not isinstance(models, list):
        return []
    seen, out = set(), []
    for g in models:
        if isinstance(g, dict) and str(g.get("vendor", "nvidia")).lower() == "nvidia" and g.get("model"):
            key = (str(g.get("model")).lower(), str(g.get("ram", "")))
            if key not in seen:
                seen.add(key)
                out.append(g)
    return out


def _common_fields(entry: dict[str, Any], owner: str, out: _Log, where: str) -> dict[str, Any]:
    """What every node of the provider shares: place, trust, reliability, bandwidth, labels."""
    attributes = [a for a in _list(entry.get("attributes")) if isinstance(a, dict) and isinstance(a.get("key"), str)]
    attr = {a["key"]: str(a.get("value", "")) for a in attributes}
    auditors = sorted({x for a in attributes for x in _list(a.get("auditedBy")) if isinstance(x, str) and x})
    tee, attested = _tee(attr, attributes, out, where)
    up30, up7, up1 = (_fraction(entry.get(k)) for k in ("uptime30d", "uptime7d", "uptime1d"))
    reputation = next((u for u in (up30, up7, up1) if u is not None), 0.5)
    failures = 0.0 if up1 is None or up1 >= 1 else float(f"{-math.log(max(up1, 1e-3)) / 24:.4g}")
    labels = {LABEL_PROVIDER: owner, LABEL_HOST_URI: str(entry.get("hostUri") or ""),
              **({LABEL_AUDITORS: ",".join(auditors)} if auditors else {}),
              **{f"{LABEL_ATTRIBUTE}{k}": v for k, v in sorted(attr.items())}}
    return {"network": AKASH_NETWORK, "operator": owner, "region": _region(entry, attr), "country": _country(entry),
            "tee": tee, "attested": attested, "reputation": reputation, "failures_per_hour": failures,
            "bandwidth_gbps": _bandwidth(entry), "labels": labels}


def _tee(attr: dict[str, str], attributes: list[dict[str, Any]], out: _Log,
         where: str) -> tuple[list[str], bool]:
    kind = attr.get("tee/type")
    if kind not in ("cpu", "cpu-gpu"):
        return [], False
    cpu = (attr.get("capabilities/cpu") or "").lower()
    if cpu not in CPU_TEE:
        out.notes.append(f"{where}: tee/type {kind} but CPU vendor {cpu or 'not given'} (capabilities/cpu): "
                         f"the TEE's kind is unknown, so the node gets none")
        return [], False
    tee = [CPU_TEE[cpu]] + (["nvidia-cc"] if kind == "cpu-gpu" else [])
    attested = any(a["key"] == "tee/type" and any(isinstance(x, str) and x for x in _list(a.get("auditedBy")))
                   for a in attributes)
    return tee, attested


def _region(entry: dict[str, Any], attr: dict[str, str]) -> str:
    value = entry.get("locationRegion") or attr.get("location-region") or entry.get("ipRegionCode") or ""
    return str(value)[:256]


def _country(entry: dict[str, Any]) -> str:
    for value in (entry.get("ipCountryCode"), entry.get("country")):
        if isinstance(value, str) and re.fullmatch(r"[A-Za-z]{2}", value):
            return value.upper()
    return ""


def _bandwidth(entry: dict[str, Any]) -> float:
    speeds = [v for v in (entry.get("networkSpeedUp"), entry.get("networkSpeedDown"))
              if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and v > 0]
    return round(min(speeds) / 1000, 3) if speeds else 1.0


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _fraction(value: Any) -> float | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        return round(min(1.0, max(0.0, float(value))), 6)
    return None


def _int(value: Any, default: int = 0) -> int:
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and value >= 0:
        return int(value)
    return default


def _ram_gb(ram: Any) -> float | None:
    """``80Gi`` as GB (10^9 bytes)."""
    m = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]+)?)\s*(Gi|G|GB|Mi)?\s*", str(ram or ""))
    if not m:
        return None
    value = float(m.group(1))
    return value * {"Gi": GIB_IN_GB, "Mi": GIB_IN_GB / 1024}.get(m.group(2) or "G", 1.0)


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "x"


def _base_id(entry: dict[str, Any], owner: str) -> str:
    host = urlparse(str(entry.get("hostUri") or "")).hostname or ""
    host = re.sub(r"^provider\.", "", host)
    return _slug(host or str(entry.get("name") or "") or owner)


def _unique(node_id: str, used: set[str]) -> str:
    out, k = node_id, 2
    while out in used:
        out, k = f"{node_id}-{k}", k + 1
    used.add(out)
    return out
