"""Similarity stage: TF-IDF over title + excerpt, sparse top-k cosine within a time window.

Texts are vectorised as scikit-learn's ``TfidfVectorizer`` does (sublinear tf,
English stop words, accents folded, float32, rows L2-normalised so a dot product
is the cosine), counted on several cores (:mod:`storygraph.tfidf`). Pairs are found by multiplying blocks of ``chunk_size`` rows
(in publication order) with only the columns published within ``window_days``
of the block, so memory is bounded by the block, never by N x N. Each article
keeps its ``top_k`` best neighbours at or above ``threshold``; a pair is kept
when either side keeps it.

:func:`tfidf_edges` is the default edge source (:data:`storygraph.graph.EdgeSource`):
the similar pairs and the related links, weighted by :func:`storygraph.graph.edge_weights`.
Every knob is a keyword argument; the defaults are :class:`~storygraph.options.ClusterOptions`'.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

import numpy as np
import scipy.sparse as sp
from .graph import build_edges, days
from .model import Edges, NodeTable, Notice, Pairs
from .progress import Tick
from .tfidf import tfidf_matrix  # re-exported: the stage's vectors

__all__ = ["document_text", "tfidf_matrix", "similar_pairs", "plan_blocks", "serial_blocks", "block_top_k",
           "duplicate_of", "pair_similarity", "forked_blocks", "tfidf_edges", "BlockMap"]


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
    result does not depend on who runs them.
    """
    n = matrix.shape[0]
    rep = duplicate_of(matrix, days, window_days) if merge_copies else np.arange(n)
    plan = plan_blocks(days, rep == np.arange(n), chunk_size, window_days)
    found: list[Found] = []
    for block, result in zip(plan, (map_blocks or serial_blocks)(matrix, days, plan, threshold, top_k, window_days)):
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


def duplicate_of(matrix: sp.csr_matrix, days: np.ndarray, window_days: float) -> np.ndarray:
    """``rep[i]``: the earliest row with exactly the same vector as row ``i`` (``i`` itself if none).

    A copy published more than ``window_days`` after its group's first row
    starts a new group: the same words months later are a new event. Empty rows
    (no usable word) are never grouped.
    """
    n = matrix.shape[0]
    rep = np.arange(n)
    order = np.lexsort((np.arange(n), np.nan_to_num(days, nan=-np.inf)))  # undated first, then by time
    first: dict[bytes, int] = {}
    indptr, indices, data = matrix.indptr, matrix.indices, matrix.data
    for i in order.tolist():
        a, b = indptr[i], indptr[i + 1]
        if a == b:
            continue
        key = indices[a:b].tobytes() + data[a:b].tobytes()
        j = first.get(key)
        if j is not None and not (days[i] - days[j] > window_days):
            rep[i] = j
        else:
            first[key] = i
    return rep


def _blocks(dated: np.ndarray, undated: np.ndarray, size: int):
    for group in (dated, undated):
        for start in range(0, len(group), size):
            yield group[start : start + size]


def block_top_k(matrix: sp.csr_matrix, days: np.ndarray, rows: np.ndarray, cols: np.ndarray, threshold: float,
                top_k: int, window_days: float) -> Found:
    """Each row's best ``top_k`` columns at or above ``threshold`` within the window:
    ``(rows, cols, similarities)``, by row, best first (ties by column)."""
    product = (matrix[rows] @ matrix[cols].T).tocsr()
    # The threshold first: a few per cent of the products pass it (pairs sharing only a
    # common word are most of them), so the rest of the work is on those alone, and their
    # rows are found from the row pointers rather than by expanding every product's row.
    strong = np.flatnonzero(product.data >= threshold)
    local = np.searchsorted(product.indptr, strong, side="right") - 1
    column = product.indices[strong]
    left, right, sims = rows[local], cols[column], product.data[strong]
    keep = (left != right) & ~(np.abs(days[left] - days[right]) > window_days)
    local, column, left, right, sims = local[keep], column[keep], left[keep], right[keep], sims[keep]
    order = _best_first(local, sims, column, cols)
    local, left, right, sims = local[order], left[order], right[order], sims[order]
    starts = np.flatnonzero(np.r_[True, local[1:] != local[:-1]])
    rank = np.arange(len(local)) - np.repeat(starts, np.diff(np.r_[starts, len(local)]))
    keep = np.flatnonzero(rank < top_k)
    keep = keep[np.argsort(left[keep], kind="stable")]  # rows in index order, each row's order kept
    return left[keep], right[keep], sims[keep]


def _best_first(local: np.ndarray, sims: np.ndarray, column: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """The order by block row, then similarity (highest first), then column index: one sort
    of a packed 64-bit key (row, inverted float32 bits, column rank) where it fits, which is a
    third of the three-key ``lexsort`` it replaces."""
    rank = np.empty(len(cols), dtype=np.int64)
    rank[np.argsort(cols, kind="stable")] = np.arange(len(cols))
    row_bits = max(1, int(local.max(initial=0)).bit_length())
    col_bits = max(1, (len(cols) - 1).bit_length())
    if sims.dtype != np.float32 or row_bits + 32 + col_bits > 63:
        return np.lexsort((cols[column], -sims, local))
    # a non-negative float32's bits order as the number does; inverted, highest first
    inverted = np.uint32(0xFFFFFFFF) - np.ascontiguousarray(sims).view(np.uint32)
    key = (local.astype(np.int64) << (32 + col_bits)) | (inverted.astype(np.int64) << col_bits) | rank[column]
    return np.argsort(key, kind="stable")


def _symmetric(found: list[tuple[np.ndarray, np.ndarray, np.ndarray]]) -> Pairs:
    if sum(len(f[0]) for f in found) == 0:
        empty = np.array([], dtype=np.int64)
        return Pairs(empty, empty, np.array([], dtype=np.float32))
    left = np.concatenate([f[0] for f in found]).astype(np.int64)
    right = np.concatenate([f[1] for f in found]).astype(np.int64)
    sims = np.concatenate([f[2] for f in found]).astype(np.float32)
    lo, hi = np.minimum(left, right), np.maximum(left, right)
    order = np.lexsort((hi, lo))
    lo, hi, sims = lo[order], hi[order], sims[order]
    first = np.r_[True, (lo[1:] != lo[:-1]) | (hi[1:] != hi[:-1])]
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
) -> tuple[Edges, list[Notice]]:
    """The default edge source: :func:`similar_pairs` over the TF-IDF ``matrix`` and the
    related links of ``table``, each with its cosine, weighted by
    :func:`storygraph.graph.edge_weights`. ``seconds`` are the nodes' publication times
    (POSIX seconds, NaN when undated). No notices."""
    pairs = similar_pairs(matrix, days(seconds), threshold=threshold, top_k=top_k, window_days=window_days,
                          chunk_size=chunk_size, merge_copies=merge_copies, tick=tick, map_blocks=map_blocks)
    related = pair_similarity(matrix, table.related[:, 0], table.related[:, 1])
    return build_edges(table, pairs, related, seconds, related_weight=related_weight, window_days=window_days), []
