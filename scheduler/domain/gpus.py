"""GPU models the tool knows: memory, throughput relative to the reference GPU (A100-40GB, speed
1.0), a typical price per GPU-hour on decentralised markets, and whether the model runs NVIDIA
confidential computing. Generators draw pools from it; importers use it for what a marketplace
listing does not say (speed, and price when no price list is given).

Examples:
    >>> GPU_MODELS["H100-80GB"].speed
    2.2
    >>> find_gpu_model("h100").name, find_gpu_model("A100", 80).name, find_gpu_model("a100", 40).name
    ('H100-80GB', 'A100-80GB', 'A100-40GB')
    >>> find_gpu_model("rtxa6000").name, find_gpu_model("rtx4090").name
    ('RTX-A6000', 'RTX-4090')
    >>> find_gpu_model("tpu-v5") is None
    True
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType


@dataclass(frozen=True)
class GpuModel:
    """One GPU model of the catalogue."""

    name: str
    memory_gb: float
    speed: float
    price_per_gpu_hour: float
    confidential: bool  # NVIDIA confidential computing (H100 and newer)

    @property
    def family(self) -> str:
        """The model without its memory suffix, lower case, letters and digits only: ``a100``, ``rtxa6000``."""
        return _squash(re.sub(r"-\d+GB$", "", self.name))


GPU_MODELS: Mapping[str, GpuModel] = MappingProxyType({m.name: m for m in (
    GpuModel("H200-141GB", 141, 2.6, 2.90, True),
    GpuModel("H100-80GB", 80, 2.2, 1.95, True),
    GpuModel("A100-80GB", 80, 1.15, 1.10, False),
    GpuModel("A100-40GB", 40, 1.0, 0.85, False),
    GpuModel("L40S-48GB", 48, 0.85, 0.70, False),
    GpuModel("RTX-A6000", 48, 0.55, 0.42, False),
    GpuModel("RTX-4090", 24, 0.70, 0.32, False),
    GpuModel("RTX-3090", 24, 0.45, 0.19, False),
    GpuModel("A10-24GB", 24, 0.38, 0.24, False),
)})

_ALIASES: Mapping[str, str] = MappingProxyType({"a6000": "rtxa6000", "4090": "rtx4090", "3090": "rtx3090"})


def _squash(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


def find_gpu_model(model: str, memory_gb: float | None = None) -> GpuModel | None:
    """The catalogue's model for a marketplace's name (``h100``, ``A100``, ``rtxa6000``), or None.

    Parameters
    ----------
    model : str
        The name as a listing spells it; case, dashes and spaces do not matter.
    memory_gb : float, optional
        Memory per GPU, when the listing gives it: among models of the same family, the one whose
        memory is nearest.

    Returns
    -------
    GpuModel or None
        None when no model of that family is known.
    """
    family = _squash(model)
    family = _ALIASES.get(family, family)
    found = [m for m in GPU_MODELS.values() if m.family == family or _squash(m.name) == family]
    if not found:
        return None
    if memory_gb is None:
        return found[0]
    return min(found, key=lambda m: abs(m.memory_gb - memory_gb))
