"""The heavy stages on a Dask cluster (dask.distributed), for corpora that outgrow one machine.

``ClusterOptions(dask="tcp://scheduler:8786")`` uses a running cluster;
``dask="local:N"`` starts a LocalCluster of N single-threaded worker processes
for the run. Two stages run on the workers:

- **parsing**: ``read_batch`` of the source (:mod:`storygraph.sources`), one task per
  batch of ``_BATCH`` files: the same function as a local run. Workers must see the
  content at the same path (a shared filesystem) or at a URL every worker can open.
  A JSON Lines file is read by the client (one pass: its ids must be unique).
- **the similarity search**: the publication-window x row-chunk blocks of
  :func:`storygraph.similarity.plan_blocks`; the TF-IDF matrix is sent to every
  worker once.

The client gathers the results in submission order and runs the rest (graph,
communities, stories, export) itself, so outputs are byte-identical to a local
run. The parse cache is not used. Workers need storygraph installed (same version).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.sparse as sp

from .errors import DependencyError, InputError
from .folder import FolderSource
from .load import assemble, load
from .model import LoadResult
from .progress import Tick
from .similarity import Block, BlockMap, Found, block_top_k
from .sources import Result, Source, batches

if TYPE_CHECKING:
    from distributed import Client

__all__ = ["connect", "DaskEngine", "INSTALL_HINT"]

INSTALL_HINT = "--dask needs the dask extra: pip install 'storygraph[dask]'"
_BATCH = 256  # files a task: big enough that scheduling costs little, small enough to spread


@contextlib.contextmanager
def connect(address: str) -> Iterator["Client"]:
    """A client for ``address`` (``local:N`` starts and stops a LocalCluster of N workers)."""
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise DependencyError(INSTALL_HINT) from None
    if address.startswith("local:"):
        workers = int(address.split(":", 1)[1])
        with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                          dashboard_address=":0") as local, Client(local) as client:
            yield client
        return
    try:
        client = Client(address, timeout="20s")
    except (OSError, TimeoutError, ValueError) as exc:  # ValueError: an unknown address scheme
        raise InputError(f"cannot reach the Dask scheduler at {address}: {exc}") from None
    with client:
        yield client


class DaskEngine:
    """Runs parsing and the similarity blocks on the workers of ``client``."""

    def __init__(self, client: "Client") -> None:
        self.client = client

    def load(self, source: Source, tick: Tick) -> LoadResult:
        """The same :class:`LoadResult` as :func:`storygraph.load.load`, each batch of
        ``source.read_batch`` a task on the workers (a source that is not ``splittable``,
        a JSON Lines file, is read here: one pass, and the workers need not see it)."""
        if not source.splittable:
            return load(source, jobs=1, tick=tick)
        if isinstance(source, FolderSource):
            self._check_workers_see(str(source.root))
        chunks = batches(source, _BATCH)
        results: dict[str, Result] = {}
        for chunk, found in zip(chunks, self._run([(source.read_batch, chunk) for chunk in chunks])):
            results.update(zip(chunk, found))
            tick(len(chunk))
        return assemble(source.paths, results, ignored=source.ignored, kind=source.kind)

    def _check_workers_see(self, folder: str) -> None:
        """Fail with a clear message, rather than every file 'vanished', when a worker
        cannot read the content folder or runs another storygraph version."""
        from ._version import __version__

        seen = self.client.run(_worker_view, folder)
        blind = sorted(worker for worker, (is_dir, _) in seen.items() if not is_dir)
        if blind:
            raise InputError(f"{folder}: not a folder on Dask worker {blind[0]}"
                             f"{f' (and {len(blind) - 1} more)' if len(blind) > 1 else ''}: workers must see "
                             "the content at the same path (a shared filesystem) or use a URL such as s3://...")
        versions = sorted({version for _, version in seen.values()} - {__version__})
        if versions:
            raise InputError(f"Dask workers run storygraph {versions[0]}, this client {__version__}: "
                             "install the same version on the workers")

    def block_map(self, n: int) -> BlockMap:
        return self.map_blocks

    def map_blocks(self, matrix: sp.csr_matrix, days: np.ndarray, plan: list[Block], threshold: float, top_k: int,
                   window_days: float) -> Iterator[Found]:
        """A :data:`~storygraph.similarity.BlockMap`: each block a task, results in plan order.
        A task carries its rows and columns and three numbers; the matrix is sent once."""
        if not plan:
            return
        shared_matrix, shared_days = self.client.scatter([matrix, days], broadcast=True)
        yield from self._run([(block_top_k, shared_matrix, shared_days, rows, cols, threshold, top_k, window_days)
                              for rows, cols in plan])

    def _run(self, tasks: list[tuple[Any, ...]]) -> Iterator[Any]:
        """Submit every task, then yield the results in submission order (workers run them in any order)."""
        futures = [self.client.submit(fn, *args, pure=False) for fn, *args in tasks]
        try:
            for future in futures:
                yield future.result()
        finally:
            self.client.cancel(futures)


def _worker_view(folder: str) -> tuple[bool, str]:
    from ._version import __version__

    return os.path.isdir(folder), __version__
