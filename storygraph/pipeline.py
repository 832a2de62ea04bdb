"""The Python API: :func:`cluster` runs every stage and returns a :class:`ClusterResult`.

>>> result = storygraph.cluster("fixtures/content", threshold=0.3)   # doctest: +SKIP
>>> story = result.stories[0]; story.size, result.nodes[story.headline].title  # doctest: +SKIP
>>> result.write("stories.graphml")                                   # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager

import numpy as np

from . import communities, graph as graph_stage, similarity
from .errors import StrictModeError
from .load import load
from .model import LoadResult, Notice
from .options import ClusterOptions
from .result import ArticleGraph, ClusterResult
from .stories import build_stories

__all__ = ["cluster", "build_graph", "peak_rss", "Progress"]

#: ``progress(label, total)`` returns a context manager yielding ``tick(n)``.
Progress = Callable[[str, int], AbstractContextManager[Callable[[int], None]]]


@contextlib.contextmanager
def _no_progress(label: str, total: int) -> Iterator[Callable[[int], None]]:
    yield lambda n: None


def cluster(
    content: str | os.PathLike,
    options: ClusterOptions | None = None,
    *,
    progress: Progress | None = None,
    edges: str | os.PathLike | None = None,
    **overrides: object,
) -> ClusterResult:
    """Cluster the news items under ``content`` (a folder, a ``.jsonl`` file or an
    fsspec URL of a folder) into stories.

    ``options`` defaults to :class:`ClusterOptions()`; keyword ``overrides`` (for
    example ``threshold=0.4``) are applied on top and validated. ``edges`` (a
    ``.csv`` or ``.parquet`` edge file, see :mod:`storygraph.edgefile`) replaces
    the similarity search and the related links with edges computed elsewhere.
    Raises :class:`~storygraph.errors.InputError` for an unusable ``content`` path,
    :class:`~storygraph.errors.OptionsError` for a bad option and, with
    ``strict=True``, :class:`~storygraph.errors.StrictModeError` if any file was skipped.
    """
    opts = _options(options, overrides)
    clock = _Clock()
    built = _build(content, opts, progress or _no_progress, clock, edges)
    used = communities.effective_algorithm(opts)
    if used != opts.algorithm:  # a different result than asked for must not pass silently
        built.loaded.notices.append(Notice("", "algorithm", f"{opts.algorithm} is not available (pip install "
                                           f"igraph); used networkx's {used} at the same resolution, with the whole-graph null model"))
    parts = communities.detect(built.edges, opts, built.days)
    clock.lap("communities")
    stories = build_stories(built.table.nodes, built.edges, parts, built.matrix, built.terms, opts.keywords)
    story_of = [0] * len(built.table.nodes)
    for s_index, story in enumerate(stories):
        for member in story.members:
            story_of[member] = s_index
    clock.lap("stories")
    result = ClusterResult(opts, built.loaded, built.table, built.edges, stories, story_of,
                           timings=clock.timings, peak_rss=clock.peak)
    if edges is not None:
        from .edgefile import file_sha256

        result.edges_sha256 = file_sha256(edges)
    return result


def build_graph(
    content: str | os.PathLike,
    options: ClusterOptions | None = None,
    *,
    progress: Progress | None = None,
    **overrides: object,
) -> ArticleGraph:
    """Load ``content`` and compute its graph (nodes and edges) without clustering it:
    what ``storygraph edges`` writes (see :mod:`storygraph.edgefile`)."""
    return _build(content, _options(options, overrides), progress or _no_progress, _Clock(), None)


class _Clock:
    """Per-stage wall time and peak RSS."""

    def __init__(self) -> None:
        self.timings: dict[str, float] = {}
        self.peak: dict[str, int] = {}
        self.last = time.perf_counter()

    def lap(self, stage: str) -> None:
        now = time.perf_counter()
        self.timings[stage] = now - self.last
        self.peak[stage] = peak_rss()
        self.last = now


def _options(options: ClusterOptions | None, overrides: dict) -> ClusterOptions:
    base = options or ClusterOptions()
    return base.replace(**overrides) if overrides else base


def _build(content, opts: ClusterOptions, bar: Progress, clock: _Clock, edge_file) -> ArticleGraph:
    with _engine(opts) as engine:
        loaded = engine.load(content, opts, bar)
        if opts.strict and loaded.skipped:
            raise StrictModeError(loaded.skipped)
        clock.lap("load")
        table = graph_stage.build_nodes(loaded.articles, opts.use_related)
        clock.lap("graph")
        texts = [similarity.document_text(n.title, n.excerpt, opts.title_weight) for n in table.nodes]
        matrix, terms = similarity.tfidf_matrix(texts, opts)
        del texts
        seconds = np.array([n.published.timestamp() if n.published else np.nan for n in table.nodes], dtype=np.float64)
        if edge_file is not None:
            from . import edgefile

            edges, notices = edgefile.read_edges(edge_file, table, seconds, opts)
            loaded.notices.extend(notices)
        else:
            with bar("similarity", len(table.nodes)) as tick:
                pairs = similarity.similar_pairs(matrix, seconds / 86400.0, opts, tick, engine.block_map(len(table.nodes)))
            related_sims = similarity.pair_similarity(matrix, table.related[:, 0], table.related[:, 1])
            edges = graph_stage.build_edges(table, pairs, related_sims, seconds, opts)
        clock.lap("similarity")
    if opts.dask is not None:
        clock.lap("dask-close")  # a LocalCluster's shutdown, not community detection's time
    return ArticleGraph(loaded, table, matrix, terms, edges, seconds / 86400.0)


@contextlib.contextmanager
def _engine(opts: ClusterOptions) -> Iterator["_LocalEngine"]:
    if opts.dask is None:
        yield _LocalEngine(opts)
        return
    from . import dask_engine

    with dask_engine.connect(opts.dask) as client:
        yield dask_engine.DaskEngine(client)


class _LocalEngine:
    """Parsing in forked processes (with the parse cache), similarity blocks likewise."""

    def __init__(self, opts: ClusterOptions) -> None:
        self.opts = opts

    def load(self, content, opts: ClusterOptions, bar: Progress) -> LoadResult:
        return load(content, opts, bar)

    def block_map(self, n: int) -> similarity.BlockMap | None:
        return _block_runner(self.opts, n)


def _block_runner(opts: ClusterOptions, n: int) -> similarity.BlockMap | None:
    """Forked workers for the similarity blocks when there are cores and blocks enough to pay."""
    import multiprocessing

    jobs = opts.jobs or os.cpu_count() or 1
    if jobs < 2 or n < 4 * opts.chunk_size or "fork" not in multiprocessing.get_all_start_methods():
        return None
    return similarity.forked_blocks(jobs)


def peak_rss() -> int:
    """This process's peak resident memory so far, in bytes (0 where the OS does not say)."""
    try:
        import resource
    except ImportError:  # Windows
        return 0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024  # bytes on macOS, kilobytes elsewhere
