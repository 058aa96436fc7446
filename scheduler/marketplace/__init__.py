"""Marketplaces: a plan turned into documents a marketplace deploys, and a marketplace's listing
turned into a node pool.

- `akash_sdl`: the replicas a plan puts on Akash nodes as SDL deployments.
- `akash_providers`: the Akash Console's provider listing as a node pool.

Like the domain, nothing here imports a solver, a command-line library or Prefect.
"""

from .akash_providers import ImportOptions, ProviderImport, import_akash_providers
from .akash_sdl import AkashExport, Deployment, ExportOptions, export_akash

__all__ = ["AkashExport", "Deployment", "ExportOptions", "ImportOptions", "ProviderImport", "export_akash",
           "import_akash_providers"]
