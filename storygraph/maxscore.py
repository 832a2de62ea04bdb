"""A compiled top-k cosine search for one block of the similarity stage, skipping common words.

:func:`maxscore_block` returns what :func:`storygraph.similarity.block_top_k` returns, bit for
bit, without multiplying whole rows: it is MaxScore (Turtle and Flood, "Query evaluation:
strategies and optimizations", 1995) applied to a row against the block's columns.

For one row, each of its words ``t`` has a bound on what it can add to any cosine: the row's
weight times the largest weight ``t`` has in any column of the block. The words are walked
heaviest bound first, adding each word's share to the columns that hold it (an accumulator of
partial cosines). Once the bounds of the words not yet walked add up to less than the bar a
column must clear, a column that holds none of the walked words cannot clear it, so those words'
lists are never walked; the common words, whose lists are the long ones and whose bounds are
small, are the ones left. The bar is the similarity threshold, raised to the ``top_k``-th best
cosine of the columns with the best partial sums after the first and second word (summed
exactly: the row's true ``top_k``-th best is at least that). The walk goes on while the words
left could still add a quarter of the bar (:data:`_WALK_TO`; any stopping point gives the same
result, since the words left are bounded: it trades walking against cosines summed at the end).
At the end every column whose partial sum plus the bounds left could clear the bar gets its
cosine summed in full, in the order scipy's product sums it (the row's words in column order,
float32 products added to a float32 sum), so the values are the product's bits, and the best
``top_k`` are chosen as :func:`~storygraph.similarity.block_top_k` chooses (highest first,
ties by column).

The bounds are compared with a margin (a few float32 roundings a word) so that rounding in the
float32 sums can never make a skipped column one that should have been kept.

The loop is compiled by numba (``pip install 'storygraph[fast]'``) the first time a run uses it
(~4 s), and numba caches the compiled code beside the module (or, where that is not writable, in
the user's cache folder; ``NUMBA_CACHE_DIR`` sets another). Without numba :data:`available` is
False and the stage uses its product path, with the same result.
"""

from __future__ import annotations

import importlib.util

import numpy as np
import scipy.sparse as sp

__all__ = ["available", "maxscore_block", "warm_up"]

#: True when the compiled search can run here (numba is installed).
available = importlib.util.find_spec("numba") is not None


def maxscore_block(matrix: sp.csr_matrix, days: np.ndarray, rows: np.ndarray, cols: np.ndarray,
                   threshold: float, top_k: int, window_days: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each of ``rows``' best ``top_k`` of ``cols`` at or above ``threshold`` within ``window_days``:
    ``(rows, cols, similarities)``, rows in index order, each row's best first, ties by column.

    ``matrix`` is the stage's L2-normalised float32 CSR matrix with sorted indices; ``days``
    the rows' publication days (NaN when undated: within every window); ``threshold`` > 0,
    ``top_k`` > 0. A row is never its own neighbour."""
    return _block(matrix, days, rows, cols, threshold, top_k, window_days)


def _block(matrix, days, rows, cols, threshold, top_k, window_days):
    order = np.argsort(days[cols], kind="stable")  # by day, undated (NaN) last
    cols = np.asarray(cols, dtype=np.int64)[order]
    col_days = days[cols]
    dated = int(np.count_nonzero(~np.isnan(col_days)))
    postings = matrix[cols].tocsc()  # each word's columns, by position in ``cols`` (sorted)
    postings.sort_indices()
    rows = np.sort(np.asarray(rows, dtype=np.int64))
    left, right, sims, counts = _search()(
        rows, days[rows].astype(np.float64), cols, col_days.astype(np.float64), dated,
        matrix.indptr, matrix.indices, matrix.data,
        postings.indptr, postings.indices, postings.data,
        np.float32(threshold), int(top_k), float(window_days), _WALK_TO, _PROBES)
    total = int(counts.sum())
    return left[:total], right[:total], sims[:total]


_WALK_TO = 0.25  # speed only (any value gives the same pairs): 0.1-0.3 were fastest on dense blocks
_PROBES = 2  # raise the bar after this many words (speed only); later probes cost more than they saved


def _search():
    from ._maxscore_kernel import search  # numba imported here, on first use

    return search


def warm_up() -> None:
    """Compile the search (or load it from numba's cache) by running it on a tiny block."""
    matrix = sp.csr_matrix(np.array([[1.0], [1.0]], dtype=np.float32))
    _block(matrix, np.array([0.0, 1.0]), np.arange(2), np.arange(2), 0.5, 1, 7.0)
