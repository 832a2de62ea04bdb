"""Similarity stage: TF-IDF over title + excerpt, sparse top-k cosine within a time window.

Texts are vectorised with scikit-learn's ``TfidfVectorizer`` (sublinear tf,
English stop words, accents folded, float32, rows L2-normalised so a dot product
is the cosine). Pairs are found by multiplying blocks of ``chunk_size`` rows
(in publication order) with only the columns published within ``window_days``
of the block, so memory is bounded by the block, never by N x N. Each article
keeps its ``top_k`` best neighbours at or above ``threshold``; a pair is kept
when either side keeps it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer

from .options import ClusterOptions

__all__ = ["Pairs", "document_text", "tfidf_matrix", "similar_pairs", "plan_blocks", "serial_blocks", "block_top_k",
           "duplicate_of", "pair_similarity"]

Tick = Callable[[int], None]


@dataclass(frozen=True)
class Pairs:
    """Undirected pairs as parallel arrays, ``left < right``, sorted by (left, right)."""

    left: np.ndarray
    right: np.ndarray
    similarity: np.ndarray

    def __len__(self) -> int:
        return int(self.left.shape[0])

    def as_dict(self) -> dict[tuple[int, int], float]:
        return {(int(a), int(b)): float(s) for a, b, s in zip(self.left, self.right, self.similarity)}


def document_text(title: str, excerpt: str, title_weight: int) -> str:
    """The text one article contributes: the title ``title_weight`` times, then the excerpt."""
    return " ".join([title] * title_weight + [excerpt])


def tfidf_matrix(texts: Sequence[str], options: ClusterOptions) -> tuple[sp.csr_matrix, np.ndarray]:
    """Return (L2-normalised float32 CSR matrix, vocabulary terms by column)."""
    vectorizer = TfidfVectorizer(
        sublinear_tf=True,
        stop_words="english",
        strip_accents="unicode",
        dtype=np.float32,
        max_df=options.max_df if len(texts) > 1 else 1.0,
    )
    try:
        matrix = vectorizer.fit_transform(texts)
    except ValueError:  # empty vocabulary: no text carries a usable word
        return sp.csr_matrix((len(texts), 0), dtype=np.float32), np.array([], dtype=object)
    matrix = matrix.tocsr()
    matrix.sort_indices()  # duplicate detection compares rows byte for byte
    return matrix, vectorizer.get_feature_names_out()


Found = tuple[np.ndarray, np.ndarray, np.ndarray]  # (rows, cols, similarities)
Block = tuple[np.ndarray, np.ndarray]  # (rows, cols) of one block of the search
#: ``map_blocks(matrix, days, plan, options)`` yields ``block_top_k`` of each planned block, in order.
BlockMap = Callable[[sp.csr_matrix, np.ndarray, list[Block], ClusterOptions], Iterator[Found]]


def similar_pairs(
    matrix: sp.csr_matrix,
    days: np.ndarray,
    options: ClusterOptions,
    tick: Tick | None = None,
    map_blocks: BlockMap | None = None,
) -> Pairs:
    """Top-k cosine neighbours above ``threshold`` within ``window_days``.

    ``days`` holds each row's publication time in days (NaN when undated:
    undated rows are compared with every row). Rows with identical vectors
    (the same words: syndicated copies, retweets) are linked to their earliest
    copy with similarity 1 and left out of the neighbour search, so copies do
    not fill each other's top-k lists and crowd out the rest of the story.

    The search is a list of independent blocks (:func:`plan_blocks`);
    ``map_blocks`` runs them (default: here, one after the other; the Dask
    engine runs them on a cluster). The result does not depend on who runs them.
    """
    n = matrix.shape[0]
    rep = duplicate_of(matrix, days, options.window_days) if options.merge_copies else np.arange(n)
    plan = plan_blocks(days, rep == np.arange(n), options)
    found: list[Found] = []
    for block, result in zip(plan, (map_blocks or serial_blocks)(matrix, days, plan, options)):
        found.append(result)
        if tick:
            tick(len(block[0]))
    copies = np.flatnonzero(rep != np.arange(n))
    found.append((copies, rep[copies], np.ones(len(copies), dtype=np.float32)))
    if tick:
        tick(len(copies))
    return _symmetric(found)


def plan_blocks(days: np.ndarray, unique: np.ndarray, options: ClusterOptions) -> list[Block]:
    """``(rows, cols)`` blocks: ``chunk_size`` rows in publication order, against the
    columns published within ``window_days`` of them (undated rows: every column)."""
    dated = np.flatnonzero(~np.isnan(days) & unique)
    dated = dated[np.argsort(days[dated], kind="stable")]
    undated = np.flatnonzero(np.isnan(days) & unique)
    sorted_days = days[dated]
    plan: list[Block] = []
    for rows in _blocks(dated, undated, options.chunk_size):
        if np.isnan(days[rows[0]]):
            cols = np.flatnonzero(unique)
        else:
            lo = np.searchsorted(sorted_days, days[rows].min() - options.window_days, "left")
            hi = np.searchsorted(sorted_days, days[rows].max() + options.window_days, "right")
            cols = np.concatenate([dated[lo:hi], undated])
        plan.append((rows, cols))
    return plan


def serial_blocks(matrix: sp.csr_matrix, days: np.ndarray, plan: list[Block], options: ClusterOptions) -> Iterator[Found]:
    """Run the blocks in this process, in order."""
    for rows, cols in plan:
        yield block_top_k(matrix, days, rows, cols, options)


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


def block_top_k(
    matrix: sp.csr_matrix, days: np.ndarray, rows: np.ndarray, cols: np.ndarray, options: ClusterOptions
) -> Found:
    """Each row's best ``top_k`` columns at or above ``threshold`` within the window:
    ``(rows, cols, similarities)``, by row, best first."""
    product = (matrix[rows] @ matrix[cols].T).tocoo()
    left, right, sims = rows[product.row], cols[product.col], product.data
    gap = np.abs(days[left] - days[right])
    keep = (left != right) & (sims >= options.threshold) & ~(gap > options.window_days)
    left, right, sims = left[keep], right[keep], sims[keep]
    order = np.lexsort((right, -sims, left))  # by row, best first, ties by column
    left, right, sims = left[order], right[order], sims[order]
    starts = np.flatnonzero(np.r_[True, left[1:] != left[:-1]])
    rank = np.arange(len(left)) - np.repeat(starts, np.diff(np.r_[starts, len(left)]))
    keep = rank < options.top_k
    return left[keep], right[keep], sims[keep]


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


_SHARED: tuple | None = None  # (matrix, days, options) in a forked block worker, set by _share


def forked_blocks(jobs: int) -> BlockMap:
    """A :data:`BlockMap` running blocks in ``jobs`` forked processes (POSIX only).

    The workers inherit the matrix from the parent by ``fork`` (copy-on-write, no
    pickling); only the row and column lists go out and the found pairs come back.
    """

    def run(matrix: sp.csr_matrix, days: np.ndarray, plan: list[Block], options: ClusterOptions) -> Iterator[Found]:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        # initargs reach forked workers by inheritance (no pickling), and belong to this pool
        # alone: two runs in two threads cannot swap each other's matrix.
        with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("fork"),
                                 initializer=_share, initargs=(matrix, days, options)) as pool:
            yield from pool.map(_shared_block, plan)

    return run


def _share(matrix: sp.csr_matrix, days: np.ndarray, options: ClusterOptions) -> None:
    global _SHARED
    _SHARED = (matrix, days, options)


def _shared_block(block: Block) -> Found:
    matrix, days, options = _SHARED  # type: ignore[misc]
    return block_top_k(matrix, days, block[0], block[1], options)
