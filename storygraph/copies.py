"""Exact copies among the TF-IDF rows: syndicated articles and retweets carry the same words,
and the similarity search links each to its earliest copy instead of searching it
(:func:`storygraph.similarity.similar_pairs`).

Rows are compared by their bytes (columns and values), in publication order. Only rows that
share their length and a 64-bit hash with another row are compared, so the Python work is
over the copies, not over every row: the same groups as comparing every row.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

__all__ = ["duplicate_of"]


def duplicate_of(matrix: sp.csr_matrix, days: np.ndarray, window_days: float) -> np.ndarray:
    """``rep[i]``: the earliest row with exactly the same vector as row ``i`` (``i`` itself if none).

    A copy published more than ``window_days`` after its group's first row
    starts a new group: the same words months later are a new event. Empty rows
    (no usable word) are never grouped.
    """
    n = matrix.shape[0]
    rep = np.arange(n)
    order = np.lexsort((np.arange(n), np.nan_to_num(days, nan=-np.inf)))  # undated first, then by time
    # only rows that share their length and hash with another row can be copies: the rows are
    # compared by their bytes in Python, and most rows have no copy
    order = order[_may_repeat(matrix)[order]]
    first: dict[bytes, int] = {}
    indptr, indices, data = matrix.indptr, matrix.indices, matrix.data
    for i in order.tolist():
        a, b = indptr[i], indptr[i + 1]
        key = indices[a:b].tobytes() + data[a:b].tobytes()
        j = first.get(key)
        if j is not None and not (days[i] - days[j] > window_days):
            rep[i] = j
        else:
            first[key] = i
    return rep


def _may_repeat(matrix: sp.csr_matrix) -> np.ndarray:
    """True for each non-empty row whose (length, hash of its columns and values) another row
    has: equal rows have equal hashes, so every row with a copy is among them."""
    n = matrix.shape[0]
    lengths = np.diff(matrix.indptr)
    hashes = np.zeros(n, dtype=np.uint64)
    rows = np.flatnonzero(lengths > 0)
    for start in range(0, len(rows), _HASH_ROWS):  # a block of rows at a time: bounded temporaries
        block = rows[start:start + _HASH_ROWS]
        hashes[block] = _row_hashes(matrix, block, lengths[block])
    candidates = rows[np.lexsort((hashes[rows], lengths[rows]))]
    key_l, key_h = lengths[candidates], hashes[candidates]
    same_as_next = (key_l[1:] == key_l[:-1]) & (key_h[1:] == key_h[:-1])
    shared = np.zeros(len(candidates), dtype=bool)
    shared[1:] |= same_as_next
    shared[:-1] |= same_as_next
    out = np.zeros(n, dtype=bool)
    out[candidates[shared]] = True
    return out


_HASH_ROWS = 1 << 16


def _row_hashes(matrix: sp.csr_matrix, rows: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """A 64-bit hash of each (non-empty) row's columns, value bits and their order."""
    starts = matrix.indptr[rows].astype(np.int64)
    offsets = np.concatenate(([0], np.cumsum(lengths)[:-1]))  # each row's first entry in the block's arrays
    at = np.repeat(starts - offsets, lengths) + np.arange(int(lengths.sum()))
    position = at - np.repeat(starts, lengths)
    values = matrix.data[at]
    bits = values.view(np.dtype(f"u{values.dtype.itemsize}")).astype(np.uint64)
    with np.errstate(over="ignore"):
        mixed = (matrix.indices[at].astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)
                 ^ bits * np.uint64(0xC2B2AE3D27D4EB4F) ^ position.astype(np.uint64) * np.uint64(0x165667B19E3779F9))
        mixed ^= mixed >> np.uint64(29)
        mixed *= np.uint64(0xBF58476D1CE4E5B9)
        mixed ^= mixed >> np.uint64(32)
        return np.add.reduceat(mixed, offsets)
