"""Similarity stage: TF-IDF over title + excerpt, sparse top-k cosine within a time window.

Texts are vectorised as scikit-learn's ``TfidfVectorizer`` does (sublinear tf,
English stop words, accents folded, float32, rows L2-normalised so a dot product
is the cosine), counted on several cores (:mod:`storygraph.tfidf`). Pairs are found by multiplying blocks of ``chunk_size`` rows
(in publication order) with only the columns published within ``window_days``
of the block, so memory is bounded by the block, never by N x N. Each article
keeps its ``top_k`` best neighbours at or above ``threshold``; a pair is kept
when either side keeps it. A block's pairs come from a compiled search that skips common words
(:mod:`storygraph.maxscore`, numba) from :data:`_COMPILED_ROWS` rows up where numba is
installed, else from sparse_dot_topn's product (only each row's best few are kept), else from
scipy's: the same pairs, bit for bit, on every path.

:func:`tfidf_edges` is the default edge source (:data:`storygraph.graph.EdgeSource`):
the similar pairs and the related links, weighted by :func:`storygraph.graph.edge_weights`.
Every knob is a keyword argument; the defaults are :class:`~storygraph.options.ClusterOptions`'.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp

from .copies import duplicate_of  # re-exported: the stage's copies
from .graph import build_edges, days
from .model import Edges, NodeTable, Notice, Pairs
from .progress import Tick
from .tfidf import tfidf_matrix  # re-exported: the stage's vectors
from . import maxscore
from .solvecache import reusing_blocks

if TYPE_CHECKING:
    from .solvecache import BlockStore

try:  # threshold-aware sparse product: 2-3x faster blocks, the same pairs (see block_top_k)
    from sparse_dot_topn import sp_matmul_topn as _sp_matmul_topn
except ImportError:  # pragma: no cover - the fallback is scipy's whole product
    _sp_matmul_topn = None

# the compiled search that skips common words (numba, the "fast" extra): the same pairs again
_maxscore = maxscore if maxscore.available else None

__all__ = ["document_text", "tfidf_matrix", "similar_pairs", "plan_blocks", "serial_blocks", "block_top_k",
           "duplicate_of", "pair_similarity", "forked_blocks", "tfidf_edges", "warm_up", "BlockMap"]


def document_text(title: str, excerpt: str, title_weight: int) -> str:
    """The text one article contributes: the title ``title_weight`` times, then the excerpt."""
    return " ".join([title] * title_weight + [excerpt])


Found = tuple[np.ndarray, np.ndarray, np.ndarray]  # (rows, cols, similarities)
Block = tuple[np.ndarray, np.ndarray]  # (rows, cols) of one block of the search
#: ``map_blocks(matrix, days, plan, threshold, top_k, window_days)`` yields
#: ``block_top_k(matrix, days, rows, cols, threshold, top_k, window_days)`` of each planned block, in order.
BlockMap = Callable[[sp.csr_matrix, np.ndarray, list[Block], float, int, float], Iterator[Found]]


def similar_pairs(
    matrix: sp.csr_matrix,
    days: np.ndarray,
    *,
    threshold: float = 0.15,
    top_k: int = 10,
    window_days: float = 7.0,
    chunk_size: int = 2048,
    merge_copies: bool = True,
    tick: Tick | None = None,
    map_blocks: BlockMap | None = None,
    store: "BlockStore | None" = None,
    words: np.ndarray | None = None,
) -> Pairs:
    """Top-k cosine neighbours above ``threshold`` within ``window_days``.

    ``days`` holds each row's publication time in days (NaN when undated:
    undated rows are compared with every row). Rows with identical vectors
    (the same words: syndicated copies, retweets) are linked to their earliest
    copy with similarity 1 and left out of the neighbour search, so copies do
    not fill each other's top-k lists and crowd out the rest of the story
    (``merge_copies=False`` searches them like any row).

    The search is a list of independent blocks of ``chunk_size`` rows
    (:func:`plan_blocks`); ``map_blocks`` runs them (default: here, one after the
    other; :func:`forked_blocks` and the Dask engine run them elsewhere). The
    result does not depend on who runs them. ``store``
    (:class:`storygraph.solvecache.BlockStore`) gives the pairs of blocks an earlier run
    computed from the same inputs (:func:`storygraph.solvecache.block_key`; ``words``, from
    :func:`storygraph.solvecache.word_ids`, names
    the matrix's columns) and keeps the ones computed now: the same result, less work.
    """
    n = matrix.shape[0]
    rep = duplicate_of(matrix, days, window_days) if merge_copies else np.arange(n)
    plan = plan_blocks(days, rep == np.arange(n), chunk_size, window_days)
    if plan and _compiled_path(matrix, threshold, top_k):
        warm_up()
    found: list[Found] = []
    run = map_blocks or serial_blocks
    if store is not None and words is not None and matrix.dtype == np.float32:
        run = reusing_blocks(run, store, words)
    for block, result in zip(plan, run(matrix, days, plan, threshold, top_k, window_days)):
        found.append(result)
        if tick:
            tick(len(block[0]))
    copies = np.flatnonzero(rep != np.arange(n))
    found.append((copies, rep[copies], np.ones(len(copies), dtype=np.float32)))
    if tick:
        tick(len(copies))
    return _symmetric(found)


def plan_blocks(days: np.ndarray, unique: np.ndarray, chunk_size: int, window_days: float) -> list[Block]:
    """``(rows, cols)`` blocks: ``chunk_size`` of the ``unique`` rows in publication order, against
    the unique columns published within ``window_days`` of them (undated rows: every column)."""
    dated = np.flatnonzero(~np.isnan(days) & unique)
    dated = dated[np.argsort(days[dated], kind="stable")]
    undated = np.flatnonzero(np.isnan(days) & unique)
    sorted_days = days[dated]
    plan: list[Block] = []
    for rows in _blocks(dated, undated, chunk_size):
        if np.isnan(days[rows[0]]):
            cols = np.flatnonzero(unique)
        else:
            lo = np.searchsorted(sorted_days, days[rows].min() - window_days, "left")
            hi = np.searchsorted(sorted_days, days[rows].max() + window_days, "right")
            cols = np.concatenate([dated[lo:hi], undated])
        plan.append((rows, cols))
    return plan


def serial_blocks(matrix: sp.csr_matrix, days: np.ndarray, plan: list[Block], threshold: float, top_k: int,
                  window_days: float) -> Iterator[Found]:
    """A :data:`BlockMap` running the blocks in this process, in order."""
    for rows, cols in plan:
        yield block_top_k(matrix, days, rows, cols, threshold, top_k, window_days)


def _blocks(dated: np.ndarray, undated: np.ndarray, size: int):
    for group in (dated, undated):
        for start in range(0, len(group), size):
            yield group[start : start + size]


def block_top_k(matrix: sp.csr_matrix, days: np.ndarray, rows: np.ndarray, cols: np.ndarray, threshold: float,
                top_k: int, window_days: float) -> Found:
    """Each row's best ``top_k`` columns at or above ``threshold`` within the window:
    ``(rows, cols, similarities)``, rows in index order, each row's best first (ties by column).

    With numba installed, a compiled MaxScore search finds them without walking the common
    words' columns (:mod:`storygraph.maxscore`). Otherwise, with sparse_dot_topn installed, the
    candidates come from its threshold-aware product, which never holds the whole product
    (:func:`_topn_candidates`); without either, from scipy's product. The result is the same
    on every path, bit for bit."""
    if _compiled_path(matrix, threshold, top_k):
        return _maxscore.maxscore_block(matrix, days, rows, cols, threshold, top_k, window_days)
    if (_sp_matmul_topn is not None and top_k > 0 and threshold > 0 and matrix.shape[1] > 0
            and matrix.dtype in (np.float32, np.float64)):  # threshold 0 would keep products of 0
        left, right, sims = _topn_candidates(matrix, days, rows, cols, threshold, top_k, window_days)
    else:
        left, right, sims = _product_candidates(matrix, rows, cols, threshold)
    keep = (left != right) & ~(np.abs(days[left] - days[right]) > window_days) & (sims >= threshold)
    return _best_per_row(left[keep], right[keep], sims[keep], top_k)


#: the compiled search from this many rows up. Below, importing numba and loading the compiled
#: code (0.5-0.8 s, and ~100-200 MB in the parent) costs about what it saves: a whole cold run
#: of synthetic 100k (186,398 rows) took its similarity stage from 7.25 to 7.8 s with it. On
#: short texts (the 30,322 tweets) the search itself is slower (docs/scale.md, ninth session)
_COMPILED_ROWS = 500_000


def _compiled_path(matrix: sp.csr_matrix, threshold: float, top_k: int) -> bool:
    return (_maxscore is not None and matrix.shape[0] >= _COMPILED_ROWS and top_k > 0 and threshold > 0
            and matrix.shape[1] > 0 and matrix.dtype == np.float32)


def warm_up() -> None:
    """Compile the compiled search now (or load it from numba's cache), if this run will use it:
    in the parent, so that forked block workers inherit it instead of each compiling it."""
    if _maxscore is not None:
        _maxscore.warm_up()


def _product_candidates(matrix: sp.csr_matrix, rows: np.ndarray, cols: np.ndarray, threshold: float) -> Found:
    """Every pair of ``rows`` and ``cols`` at or above ``threshold``, from the whole sparse product."""
    product = (matrix[rows] @ matrix[cols].T).tocsr()
    # The threshold first: a few per cent of the products pass it (pairs sharing only a
    # common word are most of them), so the rest of the work is on those alone, and their
    # rows are found from the row pointers rather than by expanding every product's row.
    strong = np.flatnonzero(product.data >= threshold)
    local = np.searchsorted(product.indptr, strong, side="right") - 1
    return rows[local], cols[product.indices[strong]], product.data[strong]


def _topn_candidates(matrix: sp.csr_matrix, days: np.ndarray, rows: np.ndarray, cols: np.ndarray,
                     threshold: float, top_k: int, window_days: float) -> Found:
    """A superset of each row's top-k from sparse_dot_topn, which sums each product in the
    order scipy's product does (the same bits: a test checks it) but keeps only a row's
    ``2 * top_k + 2`` best, its ties at the cut in no stated order.

    The row itself and the columns out of its window or under the threshold can be among
    those, and are dropped afterwards. So a row whose list came back full is settled only if
    at least ``top_k`` usable columns lie strictly above the list's lowest value: nothing left
    out can then reach its top-k. The rows not settled (rare) get the whole product. Rows go
    in spans of a quarter of the window against the columns within the window of the span
    (:func:`_spans`), so that few of a row's best lie out of its window."""
    keep_n = 2 * top_k + 2
    # one step below the threshold in the data's type, so that sparse_dot_topn's strict ">"
    # keeps the values equal to it; the exact test (numpy's >=, as the scipy path) comes after
    floor = float(np.nextafter(matrix.dtype.type(threshold), matrix.dtype.type(-np.inf)))
    found: list[Found] = []
    for span, span_cols in _spans(days, rows, cols, window_days):
        part = _sp_matmul_topn(matrix[span], matrix[span_cols].T.tocsr(), top_n=keep_n, threshold=floor)
        counts = np.diff(part.indptr)
        local = np.repeat(np.arange(len(span)), counts)
        left, right, sims = span[local], span_cols[part.indices], part.data
        usable = (left != right) & ~(np.abs(days[left] - days[right]) > window_days) & (sims >= threshold)
        lowest = np.full(len(span), np.inf, dtype=sims.dtype)
        np.minimum.at(lowest, local, sims)
        above = np.bincount(local[usable & (sims > lowest[local])], minlength=len(span))
        settled = (counts < keep_n) | (above >= top_k)
        take = settled[local]
        found.append((left[take], right[take], sims[take]))
        if not settled.all():
            found.append(_product_candidates(matrix, span[~settled], span_cols, threshold))
    if not found:
        return rows[:0], cols[:0], np.zeros(0, dtype=matrix.dtype)
    left, right, sims = (np.concatenate([f[i] for f in found]) for i in range(3))
    return left, right, sims


_SPAN_ROWS = 512


def _spans(days: np.ndarray, rows: np.ndarray, cols: np.ndarray, window_days: float
           ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """``rows`` by publication time in runs covering ``window_days / 4`` (or more, to reach
    :data:`_SPAN_ROWS` rows: each run costs a product's set-up, which sparse coverage would
    pay for a handful of rows), each with the ``cols`` within ``window_days`` of the run;
    undated rows (last) with every column, as undated columns are within every window."""
    rows = rows[np.argsort(days[rows], kind="stable")]  # NaN (undated) last
    row_days, col_days = days[rows], days[cols]
    dated = int(np.count_nonzero(~np.isnan(row_days)))
    undated_cols = np.isnan(col_days)
    start = 0
    while start < dated:
        stop = int(np.searchsorted(row_days[:dated], row_days[start] + window_days / 4, "right"))
        stop = min(max(stop, start + _SPAN_ROWS), dated)
        first, last = row_days[start], row_days[stop - 1]
        # the pairs' own test (|a - b| not above the window) against the run's ends, not
        # first - window and last + window: those round, and could leave out a column the
        # test keeps (a rounded difference is monotone, so the nearest end decides)
        near = ~(np.abs(col_days - first) > window_days) | ~(np.abs(col_days - last) > window_days)
        yield rows[start:stop], cols[undated_cols | near | ((col_days >= first) & (col_days <= last))]
        start = stop
    if dated < len(rows):
        yield rows[dated:], cols


def _best_per_row(left: np.ndarray, right: np.ndarray, sims: np.ndarray, top_k: int) -> Found:
    """The ``top_k`` best pairs of each ``left`` row: rows in index order, then similarity
    (highest first), then ``right`` index. One sort of a packed 64-bit key (row rank,
    inverted float32 bits, column rank) where it fits: a third of a three-key ``lexsort``."""
    row_ids, row_rank = np.unique(left, return_inverse=True)
    col_ids, col_rank = np.unique(right, return_inverse=True)
    row_bits = max(1, (len(row_ids) - 1).bit_length())
    col_bits = max(1, (len(col_ids) - 1).bit_length())
    if sims.dtype != np.float32 or row_bits + 32 + col_bits > 63:
        order = np.lexsort((right, -sims, left))
    else:
        # a non-negative float32's bits order as the number does; inverted, highest first
        inverted = np.uint32(0xFFFFFFFF) - np.ascontiguousarray(sims).view(np.uint32)
        key = ((row_rank.astype(np.int64) << (32 + col_bits)) | (inverted.astype(np.int64) << col_bits)
               | col_rank.astype(np.int64))
        order = np.argsort(key, kind="stable")
    left, right, sims = left[order], right[order], sims[order]
    starts = np.flatnonzero(np.r_[True, left[1:] != left[:-1]])
    rank = np.arange(len(left)) - np.repeat(starts, np.diff(np.r_[starts, len(left)]))
    keep = rank < top_k
    return left[keep], right[keep], sims[keep]


def _symmetric(found: list[tuple[np.ndarray, np.ndarray, np.ndarray]]) -> Pairs:
    if sum(len(f[0]) for f in found) == 0:
        empty = np.array([], dtype=np.int64)
        return Pairs(empty, empty, np.array([], dtype=np.float32))
    left = np.concatenate([f[0] for f in found]).astype(np.int64)
    right = np.concatenate([f[1] for f in found]).astype(np.int64)
    sims = np.concatenate([f[2] for f in found]).astype(np.float32)
    lo, hi = np.minimum(left, right), np.maximum(left, right)
    # by (lo, hi), ties in the order found (which of a pair's two cosines is kept): a stable sort
    # of one packed key (rows are int32 indices, so it fits) gives lexsort((hi, lo))'s order in
    # about 40% of its time (30M pairs)
    key = lo * (int(hi.max()) + 1) + hi
    order = np.argsort(key, kind="stable")
    key, lo, hi, sims = key[order], lo[order], hi[order], sims[order]
    first = np.r_[True, key[1:] != key[:-1]]
    return Pairs(lo[first], hi[first], sims[first])


def pair_similarity(matrix: sp.csr_matrix, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Cosine of each given pair of rows (rows are L2-normalised)."""
    if len(left) == 0 or matrix.shape[1] == 0:
        return np.zeros(len(left), dtype=np.float32)
    products = matrix[left].multiply(matrix[right]).sum(axis=1)
    return np.asarray(products, dtype=np.float32).ravel()


_SHARED: tuple | None = None  # (matrix, days, threshold, top_k, window_days) in a forked block worker


def forked_blocks(jobs: int) -> BlockMap:
    """A :data:`BlockMap` running blocks in ``jobs`` forked processes (POSIX only).

    The workers inherit the matrix from the parent by ``fork`` (copy-on-write, no
    pickling); only the row and column lists go out and the found pairs come back.
    """

    def run(matrix: sp.csr_matrix, days: np.ndarray, plan: list[Block], threshold: float, top_k: int,
            window_days: float) -> Iterator[Found]:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        # initargs reach forked workers by inheritance (no pickling), and belong to this pool
        # alone: two runs in two threads cannot swap each other's matrix.
        with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("fork"),
                                 initializer=_share, initargs=(matrix, days, threshold, top_k, window_days)) as pool:
            yield from pool.map(_shared_block, plan)

    return run


def _share(*shared: object) -> None:
    global _SHARED
    _SHARED = shared


def _shared_block(block: Block) -> Found:
    matrix, days, *numbers = _SHARED  # type: ignore[misc]
    return block_top_k(matrix, days, block[0], block[1], *numbers)


def tfidf_edges(
    table: NodeTable,
    matrix: sp.csr_matrix,
    seconds: np.ndarray,
    tick: Tick,
    *,
    threshold: float = 0.15,
    top_k: int = 10,
    window_days: float = 7.0,
    chunk_size: int = 2048,
    merge_copies: bool = True,
    related_weight: float | str = "auto",
    map_blocks: BlockMap | None = None,
    periods: np.ndarray | None = None,
    store: "BlockStore | None" = None,
    words: np.ndarray | None = None,
) -> tuple[Edges, list[Notice]]:
    """The default edge source: :func:`similar_pairs` over the TF-IDF ``matrix`` and the
    related links of ``table``, each with its cosine, weighted by
    :func:`storygraph.graph.edge_weights`. ``seconds`` are the nodes' publication times
    (POSIX seconds, NaN when undated); ``periods`` (each node's) calibrates ``related_weight``
    "auto" per period (:func:`storygraph.graph.build_edges`); ``store`` and ``words`` reuse
    blocks an earlier run searched (:func:`similar_pairs`). No notices."""
    pairs = similar_pairs(matrix, days(seconds), threshold=threshold, top_k=top_k, window_days=window_days,
                          chunk_size=chunk_size, merge_copies=merge_copies, tick=tick, map_blocks=map_blocks,
                          store=store, words=words)
    related = pair_similarity(matrix, table.related[:, 0], table.related[:, 1])
    return build_edges(table, pairs, related, seconds, related_weight=related_weight, window_days=window_days,
                       periods=periods), []
