"""Independent solves on a dask.distributed cluster (`--dask`): a scheduler's address, or ``local`` for
a LocalCluster of one-threaded worker processes on this machine. The library's sweeps take any
`concurrent.futures.Executor`; this is the only place that knows dask."""

from __future__ import annotations

import os
from collections.abc import Iterator
from concurrent.futures import Executor
from contextlib import contextmanager
from typing import Annotated

import typer

DaskOpt = Annotated[str | None, typer.Option(
    "--dask", metavar="ADDRESS",
    help="Run the independent solves on a dask.distributed cluster: its scheduler's address "
         "(tcp://host:8786), or 'local' for a LocalCluster of --jobs worker processes. Default: a process pool.")]


@contextmanager
def dask_executor(address: str | None, workers: int) -> Iterator[Executor | None]:
    """An executor over the cluster at `address` (None: none, the caller's process pool), closed after."""
    if address is None:
        yield None
        return
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise typer.BadParameter("needs dask.distributed: pip install 'gpu-placement-scheduler[dask]'",
                                 param_hint="'--dask'") from None
    cluster = None
    if address == "local":
        cluster = LocalCluster(n_workers=workers or os.cpu_count() or 1, threads_per_worker=1, processes=True,
                               dashboard_address=None)
        client = Client(cluster)
    else:
        try:
            client = Client(address, timeout=20)
        except (OSError, TimeoutError, ValueError) as e:
            raise typer.BadParameter(f"cannot reach a dask scheduler at {address}: {e}", param_hint="'--dask'") \
                from None
    try:
        yield client.get_executor()
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
