"""The Python API: :func:`cluster` runs every stage and returns a :class:`ClusterResult`;
:func:`build_graph` stops before community detection.

The pipeline is the one place that unpacks :class:`ClusterOptions`: each stage receives
the few values it reads as keyword arguments, and the engines ship plain numbers.

>>> result = storygraph.cluster("fixtures/content", threshold=0.3)   # doctest: +SKIP
>>> story = result.stories[0]; story.size, result.nodes[story.headline].title  # doctest: +SKIP
>>> storygraph.write(result, "stories.graphml")                       # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import functools
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from . import cache, communities, edgefile, graph as graph_stage, periods, similarity, snapshot
from .errors import StrictModeError
from .load import load
from .corrections import apply_corrections, described
from .model import LoadResult, NodeTable, Notice, Skipped
from .overrides import Overrides, OverridesError, Resolved, ignored_keys, read_overrides, resolve
from .options import ClusterOptions
from .progress import Progress, Tick, no_progress
from .result import ArticleGraph, ClusterResult
from .runtime import without_gc
from .solvecache import BlockStore, PeriodStore, SolvedStore, word_ids
from .sources import Source, open_source
from .identity import Previous, carry_ids, check_previous, read_previous
from .stories import build_stories, colored, member_similarity, membership_of

__all__ = ["cluster", "build_graph", "peak_rss"]


@without_gc
def cluster(
    content: str | os.PathLike,
    options: ClusterOptions | None = None,
    *,
    progress: Progress | None = None,
    edge_file: str | os.PathLike | None = None,
    overrides: str | os.PathLike | Overrides | None = None,
    previous: str | os.PathLike | Previous | None = None,
    **knobs: object,
) -> ClusterResult:
    """Cluster the news items under ``content`` (a folder, a ``.jsonl`` file, an
    fsspec URL of a folder, or a source already opened by
    :func:`storygraph.sources.open_source`) into stories.

    ``options`` defaults to :class:`ClusterOptions()`; keyword ``knobs`` (for
    example ``threshold=0.4``) are applied on top and validated. ``edge_file`` (a
    ``.csv`` or ``.parquet`` edge file, see :mod:`storygraph.edgefile`) replaces
    the similarity search and the related links with edges computed elsewhere.
    ``overrides`` (an editor's file, see :mod:`storygraph.overrides`) puts articles
    together, keeps them apart, names stories and leaves articles out. ``previous`` (an
    earlier JSON output, see :mod:`storygraph.identity`) carries its story ids over to the
    stories that continue them and records what changed (``result.changes``).
    ``progress`` (:data:`storygraph.progress.Progress`) is told each stage's work.
    Raises :class:`~storygraph.errors.InputError` for an unusable ``content`` path
    or overrides file, :class:`~storygraph.errors.OptionsError` for a bad option and,
    with ``strict=True``, :class:`~storygraph.errors.StrictModeError` if any file was skipped.
    """
    opts = _options(options, knobs)
    fixes = read_overrides(overrides) if isinstance(overrides, (str, os.PathLike)) else overrides
    if isinstance(previous, (str, os.PathLike)):
        check_previous(previous)  # a bad file fails now, not after minutes of work; read only after the peak
    clock = _Clock()
    with _solved_store(opts) as solved:
        graph = _build(content, opts, progress or no_progress, clock, edge_file, fixes, solved)
        parts, resolved = _communities(graph, opts, fixes, solved)
    clock.lap("communities")
    # Read after the community stage, where memory peaks: a million members' ids held through it
    # cost the re-run more memory than a cold run.
    before = read_previous(previous) if isinstance(previous, (str, os.PathLike)) else previous
    # once, before the stories: each node's cosine to its story depends only on the partition
    similarity = member_similarity(graph.matrix, membership_of(parts, len(graph.table.nodes)), len(parts))
    stories = build_stories(graph.table.nodes, graph.edges, parts, graph.matrix, graph.terms, opts.keywords,
                            similarity=similarity)
    story_of = [0] * len(graph.table.nodes)
    for s_index, story in enumerate(stories):
        for member in story.members:
            story_of[member] = s_index
    section = changes = None
    if before is not None:
        stories, found = carry_ids(stories, graph.table.nodes, before)
        stories, changes = colored(stories), found.as_dict(before.sha256)
    if resolved is not None:
        stories, section, notices = described(stories, story_of, graph.table.nodes, resolved, fixes)
        graph.loaded.notices.extend(notices)
    clock.lap("stories")
    sha256 = None if edge_file is None else edgefile.file_sha256(edge_file)
    return ClusterResult(opts, graph.loaded, graph.table, graph.edges, stories, story_of, edges_sha256=sha256,
                         story_similarity=similarity, overrides=section, changes=changes, timings=clock.timings,
                         peak_rss=clock.peak)


def _communities(graph: ArticleGraph, opts: ClusterOptions, fixes: Overrides | None,
                 solved: SolvedStore | None) -> tuple[list, Resolved | None]:
    """The stories' members (node lists), with an editor's corrections applied; the corrections resolved."""
    parts, used = communities.detect(graph.edges, graph.days, graph.matrix, algorithm=opts.algorithm,
                                     cohesion=opts.cohesion, window_days=opts.window_days,
                                     period_windows=opts.period_windows, resolution=opts.resolution,
                                     reference_weight=opts.reference_weight, seed=opts.seed,
                                     map_periods=_period_runner(opts.jobs, graph.edges.n),
                                     store=PeriodStore(solved) if solved is not None else None)
    _note_solved(graph.loaded, solved)
    graph.loaded.notices.extend(communities.fallback_notices(opts.algorithm, used))
    resolved = _resolved(fixes, graph, opts.strict)
    if resolved is not None:
        parts = apply_corrections(parts, resolved, graph.matrix, graph.edges, graph.days, cohesion=opts.cohesion,
                                  window_days=opts.window_days, seed=opts.seed)
    return parts, resolved


def _note_solved(loaded: LoadResult, solved: SolvedStore | None) -> None:
    """Say (once) that the cache of solved work was damaged and rebuilt, or could not be used."""
    if solved is not None and solved.notice:
        notice = Notice("", "cache", solved.notice)
        if notice not in loaded.notices:
            loaded.notices.append(notice)


@contextlib.contextmanager
def _solved_store(opts: ClusterOptions) -> Iterator[SolvedStore | None]:
    """The run's store of solved blocks and periods, in the cache folder (None with ``use_cache`` off)."""
    if not opts.use_cache:
        yield None
        return
    store = SolvedStore(Path(opts.cache_dir) if opts.cache_dir else cache.default_cache_dir())
    try:
        yield store
    finally:
        store.close()


def _resolved(fixes: Overrides | None, graph: ArticleGraph, strict: bool) -> Resolved | None:
    """The overrides resolved against this run's nodes (None without an overrides file)."""
    if fixes is None:
        return None
    resolved = resolve(fixes, graph.table, graph.loaded.articles + graph.ignored_articles, graph.ignored)
    if strict and resolved.unknown:
        first = resolved.unknown[0]
        raise OverridesError(f"{fixes.path}: {first['kind']} entry {first['entry']}: {first['name']}: no such "
                             "article in the input (strict mode)")
    graph.loaded.notices.extend(resolved.notices)
    return resolved


@without_gc
def build_graph(
    content: str | os.PathLike,
    options: ClusterOptions | None = None,
    *,
    progress: Progress | None = None,
    **overrides: object,
) -> ArticleGraph:
    """Load ``content`` and compute its graph (nodes and edges) without clustering it:
    what ``storygraph edges`` writes (see :mod:`storygraph.edgefile`)."""
    opts = _options(options, overrides)
    with _solved_store(opts) as solved:
        return _build(content, opts, progress or no_progress, _Clock(), None, solved=solved)


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


def _build(content, opts: ClusterOptions, progress: Progress, clock: _Clock, edge_file,
           fixes: Overrides | None = None, solved: SolvedStore | None = None) -> ArticleGraph:
    source = open_source(content, opts.max_file_bytes)
    with _engine(opts) as engine:
        with progress("load", len(source.paths)) as tick:
            loaded = engine.load(source, tick)
        if opts.strict and loaded.skipped:
            raise StrictModeError(loaded.skipped)
        clock.lap("load")
        ignored = ignored_keys(fixes, loaded.articles)
        left_out = _leave_out(loaded, ignored, fixes)
        table = graph_stage.build_nodes(loaded.articles, opts.use_related, exclude=frozenset(ignored))
        clock.lap("graph")
        seconds = np.array([n.published.timestamp() if n.published else np.nan for n in table.nodes], dtype=np.float64)
        days = graph_stage.days(seconds)
        # running scope: the periods are the community stage's (the same days, the same length)
        scopes = periods.period_of(days, opts.period_windows * opts.window_days) if opts.idf_scope == "running" else None
        matrix, terms = _tfidf(table, opts, scopes)
        edge_source = _edge_source(opts, edge_file, engine, len(table.nodes), scopes, solved, terms)
        with progress("similarity", len(table.nodes)) as tick:
            edges, notices = edge_source(table, matrix, seconds, tick)
        loaded.notices.extend(notices)
        _note_solved(loaded, solved)
        clock.lap("similarity")
        snapshot.wait()  # the load's snapshot, written by a forked process meanwhile: no run leaves one behind
    if opts.dask is not None:
        clock.lap("dask-close")  # a LocalCluster's shutdown, not community detection's time
    return ArticleGraph(loaded, table, matrix, terms, edges, days, ignored, left_out)


def _leave_out(loaded: LoadResult, ignored: dict[str, int], fixes: Overrides | None) -> list:
    """Move the articles an editor's ``ignore`` names to ``skipped`` (code ``ignored``); return them."""
    if not ignored:
        return []
    out = [a for a in loaded.articles if a.key in ignored]
    loaded.articles = [a for a in loaded.articles if a.key not in ignored]
    loaded.skipped.extend(Skipped(a.file, "ignored", f"listed under ignore in {fixes.path} (entry {ignored[a.key]})")
                          for a in out)
    return out


def _tfidf(table: NodeTable, opts: ClusterOptions, scopes: np.ndarray | None):
    texts = [similarity.document_text(n.title, n.excerpt, opts.title_weight) for n in table.nodes]
    return similarity.tfidf_matrix(texts, opts.max_df, workers=_fork_workers(opts.jobs, len(texts) >= _PARALLEL_NODES),
                                   periods=scopes)


def _edge_source(opts: ClusterOptions, edge_file, engine, n: int, scopes: np.ndarray | None,
                 solved: SolvedStore | None = None, terms=()) -> graph_stage.EdgeSource:
    """The one place the edges' source is chosen, its knobs bound. Another source
    (embeddings, MinHash) is a function with the :data:`~storygraph.graph.EdgeSource`
    signature and one more branch here."""
    if edge_file is not None:
        return functools.partial(edgefile.file_edges, path=edge_file, related_weight=opts.related_weight,
                                 window_days=opts.window_days, periods=scopes)
    return functools.partial(similarity.tfidf_edges, threshold=opts.threshold, top_k=opts.top_k,
                             window_days=opts.window_days, chunk_size=opts.chunk_size, merge_copies=opts.merge_copies,
                             related_weight=opts.related_weight, map_blocks=engine.block_map(n), periods=scopes,
                             store=BlockStore(solved) if solved is not None else None,
                             words=word_ids(terms) if solved is not None else None)


@contextlib.contextmanager
def _engine(opts: ClusterOptions) -> Iterator:
    """The engine of the run: ``load(source, tick)`` and ``block_map(n)`` (the similarity
    blocks' :data:`~storygraph.similarity.BlockMap`, None for in-process), here or on Dask."""
    if opts.dask is None:
        yield _LocalEngine(opts)
        return
    from . import dask_engine

    with dask_engine.connect(opts.dask) as client:
        yield dask_engine.DaskEngine(client)


class _LocalEngine:
    """Parsing in forked processes (with the parse cache), similarity blocks likewise."""

    def __init__(self, opts: ClusterOptions) -> None:
        self.jobs = opts.jobs
        self.chunk_size = opts.chunk_size
        self.cache_dir = None
        if opts.use_cache:
            self.cache_dir = Path(opts.cache_dir) if opts.cache_dir else cache.default_cache_dir()

    def load(self, source: Source, tick: Tick) -> LoadResult:
        return load(source, jobs=self.jobs, cache_dir=self.cache_dir, tick=tick)

    def block_map(self, n: int) -> similarity.BlockMap | None:
        return _block_runner(self.jobs, self.chunk_size, n)


def _block_runner(jobs: int, chunk_size: int, n: int) -> similarity.BlockMap | None:
    """Forked workers for the similarity blocks when there are cores and blocks enough to pay."""
    workers = _fork_workers(jobs, n >= 4 * chunk_size)
    return similarity.forked_blocks(workers) if workers else None


def _period_runner(jobs: int, n: int) -> periods.PeriodMap | None:
    """Forked workers for the community stage's periods when there are cores and nodes enough to pay."""
    workers = _fork_workers(jobs, n >= _PARALLEL_NODES)
    return periods.forked_periods(workers) if workers else None


_PARALLEL_NODES = 20_000  # below this a period, or counting the words, takes well under a second: forking costs more


def _fork_workers(jobs: int, worth_it: bool) -> int | None:
    """How many forked workers to use (``jobs``, 0 = one per core), or None for this process alone."""
    import multiprocessing

    jobs = jobs or os.cpu_count() or 1
    if jobs < 2 or not worth_it or "fork" not in multiprocessing.get_all_start_methods():
        return None
    return jobs


def peak_rss() -> int:
    """This process's peak resident memory so far, in bytes (0 where the OS does not say)."""
    try:
        import resource
    except ImportError:  # Windows
        return 0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024  # bytes on macOS, kilobytes elsewhere
