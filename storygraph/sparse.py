"""Sparse-matrix and integer-array helpers shared by the graph, community and story stages."""

from __future__ import annotations

import sys

import numpy as np
import scipy.sparse as sp

from .maxscore import available as _numba

__all__ = ["group_sums", "row_dots", "row_norms_squared", "sorted_unique"]


def sorted_unique(values: np.ndarray) -> np.ndarray:
    """The distinct values of a 1-D integer array, ascending: what ``np.unique(values)`` returns.

    Found by sorting a copy and keeping each value that differs from the one before it. numpy
    2.3 and later find ``np.unique``'s values (when no index, inverse or count is asked for)
    with a hash table, which is about 100 times slower than a sort on the large key arrays
    of big runs: 16 million int64 edge keys took 25 s against 0.2 s (numpy 2.4.6), and
    ``np.union1d`` of the edge keys was 28 s of a 1M-article run.
    """
    values = np.asarray(values)
    if values.ndim != 1 or values.dtype.kind not in "iub":
        raise TypeError(f"sorted_unique takes a 1-D integer array, not {values.ndim}-D {values.dtype}")
    ordered = np.sort(values)
    if len(ordered) < 2:
        return ordered
    keep = np.empty(len(ordered), dtype=bool)
    keep[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=keep[1:])
    return ordered[keep]


def group_sums(matrix: sp.csr_matrix, label: np.ndarray, k: int) -> sp.csr_matrix:
    """Row ``c`` is the sum of the rows labelled ``c`` (CSR, sorted indices, float64).

    Bit for bit what the sparse product ``membership @ matrix`` gives (each entry summed
    over its rows in row order, one after the other, zero sums left out), found by sorting
    the entries instead: the product's work arrays are as wide as the matrix, and the
    time-binned vectors of the cohesion objective are millions of columns wide (years of
    bins x the vocabulary), which made every call cost the same on 5,000 articles as on
    100,000. The sort holds several int64 and float64 arrays of one item per entry, so the
    groups are summed a run of them at a time, about :data:`_SUM_BLOCK` entries a run (a
    group's row depends on its own rows alone: the same bits): at a million articles one
    call over the whole join's vectors held 1.5 GB of those arrays at once.
    """
    label = np.asarray(label, dtype=np.int64)
    width = matrix.shape[1]
    lengths = np.diff(matrix.indptr)
    if int(lengths.sum()) <= _SUM_BLOCK:
        return _group_sums(matrix, label, k)
    if label.min(initial=0) < 0 or label.max(initial=0) >= k:  # the runs would leave those rows out
        raise ValueError(f"group_sums: a label outside 0..{k - 1}")
    order = np.argsort(label, kind="stable")  # rows by group, in row order within each
    group_ends = np.cumsum(np.bincount(label, weights=lengths, minlength=k).astype(np.int64))
    row_ends = np.searchsorted(label[order], np.arange(1, k + 1), side="left")  # rows before group c + 1
    parts, start = [], 0
    while start < k:
        before = int(group_ends[start - 1]) if start else 0
        stop = max(start + 1, int(np.searchsorted(group_ends, before + _SUM_BLOCK, side="right")))
        rows = order[int(row_ends[start - 1]) if start else 0:int(row_ends[stop - 1])]
        rows = np.sort(rows)  # in row order, so that matrix[rows] reads the matrix front to back
        parts.append(_group_sums(matrix[rows], label[rows] - start, stop - start))
        start = stop
    return sp.vstack(parts, format="csr")  # CSR blocks are joined as they are: the same arrays as one pass


_SUM_BLOCK = 1 << 22  # entries a run of groups: bounds the sort's arrays (~70 bytes an entry) to ~300 MB


def _group_sums(matrix: sp.csr_matrix, label: np.ndarray, k: int) -> sp.csr_matrix:
    """:func:`group_sums` of every group at once."""
    width = matrix.shape[1]
    order = np.argsort(label, kind="stable")  # rows by group, in row order within each
    lengths = np.diff(matrix.indptr)[order]
    total = int(lengths.sum())
    if total == 0:
        return sp.csr_matrix((k, width), dtype=np.float64)
    position = np.repeat(matrix.indptr[order] - np.cumsum(lengths) + lengths, lengths) + np.arange(total)
    key = np.repeat(label[order], lengths) * width + matrix.indices[position]
    by_key = np.argsort(key, kind="stable")  # then by column: each column's entries stay in row order
    key = key[by_key]
    first = np.r_[True, key[1:] != key[:-1]]
    # bincount adds its weights one after the other, in order: the product's summation order
    data = np.bincount(np.cumsum(first) - 1, matrix.data[position][by_key].astype(np.float64))
    key = key[first]
    nonzero = data != 0
    data, key = data[nonzero], key[nonzero]
    indptr = np.r_[0, np.cumsum(np.bincount(key // width, minlength=k))]
    out = sp.csr_matrix((data, (key % width).astype(matrix.indices.dtype), indptr), shape=(k, width))
    out.sort_indices()  # sorted by construction: this only records it
    return out


def row_norms_squared(matrix: sp.csr_matrix) -> np.ndarray:
    return np.asarray(matrix.multiply(matrix).sum(axis=1)).ravel().astype(np.float64)


def row_dots(rows: sp.csr_matrix, r: np.ndarray, table: sp.csr_matrix, t: np.ndarray) -> np.ndarray:
    """``rows[r[m]] . table[t[m]]`` for every m.

    Each nonzero of a ``rows`` row is looked up in its ``table`` row by binary search over
    the table's (row, column) keys, so a long table row (a big story's summed vector)
    costs nothing per pair; ``table`` must have sorted indices and as many columns as ``rows``.
    """
    if len(r) == 0:
        return np.zeros(0)
    # Pairs in table-row order make the lookups below sorted, so each binary search starts
    # where the last one ended (numpy's searchsorted uses that) and memory is read in order:
    # several times faster than lookups in the callers' order. Each pair's own sum is
    # unchanged, so the result is bit for bit the same.
    order = np.argsort(t, kind="stable")
    out = np.empty(len(r))
    out[order] = _row_dots_sorted(rows, np.asarray(r)[order], table, np.asarray(t)[order])
    return out


#: Entries of the pairs' ``rows`` rows looked up at a time: each step holds a few arrays of this
#: length, where all the pairs at once held them for every entry (in the join across periods of
#: a 1M-article run that was 0.29 GB of the communities stage's peak: docs/scale.md).
_DOT_ENTRIES = 1 << 22


#: From this many looked-up entries up, :func:`row_dots` runs a compiled loop (numba, the
#: ``fast`` extra) that searches each entry in its table row alone, with the same bits. Below,
#: importing numba and loading the compiled loop (~0.5 s) costs more than it saves, unless the
#: run has imported numba already (the similarity search does from 500,000 rows): then every
#: call takes the compiled loop. At a million articles the numpy path's searches over all the
#: table's keys took 27 s of the run; at 300k, calls below this bound took 6 s of the serial
#: community stage's 47 s (docs/scale.md, fifteenth session).
_COMPILED_ENTRIES = 1 << 22
_compiled = _numba  # numba is installed (the probe the compiled similarity search uses)


def _row_dots_sorted(rows: sp.csr_matrix, r: np.ndarray, table: sp.csr_matrix, t: np.ndarray) -> np.ndarray:
    count = np.diff(rows.indptr)[r]
    entries = int(count.sum())
    if entries == 0 or table.nnz == 0:
        return np.zeros(len(r))
    if _compiled and (entries >= _COMPILED_ENTRIES or "numba" in sys.modules):
        return _row_dots_compiled(rows, r, table, t)
    width = np.int64(table.shape[1])
    table_rows = np.repeat(np.arange(table.shape[0], dtype=np.int64), np.diff(table.indptr))
    table_keys = table_rows * width + table.indices
    # pairs a run at a time, each pair whole in one run: its entries are summed as in one pass
    ends = np.cumsum(count)
    begins = ends - count
    out = np.empty(len(r))
    start = 0
    while start < len(r):
        stop = max(int(np.searchsorted(ends, begins[start] + _DOT_ENTRIES, side="right")), start + 1)
        out[start:stop] = _dots_of_run(rows, r[start:stop], count[start:stop], table, table_keys, width, t[start:stop])
        start = stop
    return out


def _dots_of_run(rows: sp.csr_matrix, r: np.ndarray, count: np.ndarray, table: sp.csr_matrix,
                 table_keys: np.ndarray, width: np.int64, t: np.ndarray) -> np.ndarray:
    total = int(count.sum())
    owner = np.repeat(np.arange(len(r)), count)
    position = np.repeat(rows.indptr[r] - np.cumsum(count) + count, count) + np.arange(total)
    wanted = t[owner].astype(np.int64) * width + rows.indices[position]
    at = np.minimum(np.searchsorted(table_keys, wanted), len(table_keys) - 1)
    hit = table_keys[at] == wanted
    values = np.where(hit, rows.data[position].astype(np.float64) * table.data[at], 0.0)
    return np.bincount(owner, values, minlength=len(r))


def _row_dots_compiled(rows: sp.csr_matrix, r: np.ndarray, table: sp.csr_matrix, t: np.ndarray) -> np.ndarray:
    from ._sparse_kernel import row_dots as kernel  # numba imported here, on first use

    out = np.empty(len(r))
    kernel(rows.indptr, rows.indices, rows.data, np.asarray(r, dtype=np.int64), table.indptr, table.indices,
           table.data, np.asarray(t, dtype=np.int64), out)
    return out
