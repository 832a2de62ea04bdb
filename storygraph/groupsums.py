"""Time-binned TF-IDF vectors and the summed vectors of groups of articles: the arithmetic
of the cohesion objective (:mod:`storygraph.cohesion`), kept apart from its optimiser.

The optimiser relabels groups many times (each aggregation level, each batch of moves) and
needs each group's summed vector every time. A group whose members did not change keeps
its rows (:class:`Level`, :func:`spread_sums`): bit for bit what summing it again gives,
since a group's row is the sum of its members' rows in node order whatever the other
groups are, and groups keep their order (by first member) across relabellings.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from .sparse import group_sums, row_dots, sorted_unique

__all__ = ["time_vectors", "spread", "pair_dots", "Level", "spread_sums"]


def time_vectors(matrix: sp.csr_matrix, days: np.ndarray, window_days: float) -> sp.csr_matrix:
    """Each row's TF-IDF vector placed in its time bin: column ``bin * terms + term``.

    Bins are ``window_days / 2`` wide and fixed in absolute time (adding older or newer
    articles moves no bin). With :func:`spread`, ``z_i . spread(z_j) = cos_ij * K(dt_ij)``
    where ``K`` is 1 in the same bin, 1/2 in adjacent bins, 0 further apart: 1 at the same
    moment, 0 beyond ``window_days``, and ``1 - dt / window_days`` on average over where a
    pair falls (the same kernel as two grids of ``window_days`` bins offset by half a bin).
    Undated rows share one bin of their own (``K = 1`` among them, 0 with dated rows).
    """
    n, terms = matrix.shape
    matrix = matrix.tocsr()
    dated = ~np.isnan(days)
    half = window_days / 2
    bins = np.zeros(n, dtype=np.int64)
    if dated.any():
        absolute = np.floor(days[dated] / half)
        bins[dated] = (absolute - absolute.min()).astype(np.int64) + 1  # bin 0 stays empty: spread's left edge
    last = int(bins.max()) if n else 0
    bins[~dated] = last + 3  # two empty bins between: spreading never mixes dated and undated
    # built as CSR at once: a row's entries all move by its bin's offset, so the rows stay as
    # they were; through COO (a row and a column array of int64 and the conversion's copies)
    # this was a peak of the community stage's join at a million articles
    columns = np.repeat(bins * terms, np.diff(matrix.indptr))
    columns += matrix.indices
    out = sp.csr_matrix((matrix.data.astype(np.float64), columns, matrix.indptr.copy()),  # a copy: summing
                        shape=(n, (last + 5) * max(terms, 1)))                          # repeats rewrites it
    del columns
    if out.shape[1] > np.iinfo(np.int32).max:  # COO chose int64 from the width, the constructor does not for n = 0
        out.indices, out.indptr = out.indices.astype(np.int64), out.indptr.astype(np.int64)
    out.sum_duplicates()  # what the conversion from COO did: rows sorted (a row's repeats summed)
    out.terms = max(terms, 1)  # the width of a bin, for spread()
    return out


def spread(rows: sp.csr_matrix, terms: int) -> sp.csr_matrix:
    """``rows`` with half of each entry copied into the bins either side: the time kernel's other factor.

    A run of rows at a time, about :data:`_SPREAD_BLOCK` entries (each row is spread alone, so
    the bits are the same): the three copies of every entry and their int64 rows and columns
    were some 70 bytes an entry at once, 1 GB of the join's peak at a million articles. (One
    pass chose int64 indices when the three copies passed 2**31 entries, runs choose by the
    result: the same values; no run of this size fits in memory.)"""
    rows = rows.tocsr()
    if rows.nnz <= _SPREAD_BLOCK:
        return _spread(rows, terms)
    parts, start = [], 0
    while start < rows.shape[0]:
        end = int(rows.indptr[start]) + _SPREAD_BLOCK
        stop = max(start + 1, int(np.searchsorted(rows.indptr, end, side="right")) - 1)
        parts.append(_spread(rows[start:stop], terms))
        start = stop
    return sp.vstack(parts, format="csr")


_SPREAD_BLOCK = 1 << 22  # entries a run of rows: its copies (~70 bytes an entry) stay under ~300 MB


def _spread(rows: sp.csr_matrix, terms: int) -> sp.csr_matrix:
    """:func:`spread` of all ``rows`` at once."""
    row = np.repeat(np.arange(rows.shape[0]), np.diff(rows.indptr))
    cols = rows.indices.astype(np.int64)
    inside = (cols >= terms, cols + terms < rows.shape[1])
    data = np.concatenate([rows.data, 0.5 * rows.data[inside[0]], 0.5 * rows.data[inside[1]]])
    out = sp.csr_matrix((data, (np.concatenate([row, row[inside[0]], row[inside[1]]]),
                                np.concatenate([cols, cols[inside[0]] - terms, cols[inside[1]] + terms]))),
                        shape=rows.shape)
    out.sum_duplicates()
    out.sort_indices()
    return out


class Level:
    """The groups of one aggregation level: their summed time vectors (``sums``), those
    spread (``spread_sums``) and the exact dot product of each adjacent pair (``dots``).

    Given the level before, only what changed is computed again: a group whose members
    are the same keeps its rows, and a pair of such groups its dot product. That is bit for
    bit what computing it all again gives (a group's row is the sum of its members' rows in
    node order, whatever the other groups; a pair's dot product reads only its two rows, and
    groups keep their order), and the later levels of a round merge few groups, so most of
    their work was recomputing what was known.
    """

    def __init__(self, z, label: np.ndarray, k: int, a: np.ndarray, b: np.ndarray, before: "Level | None") -> None:
        self.label, self.k, self.keys = label, k, a * k + b
        if before is None:
            self.sums = group_sums(z, label, k)
            self.spread_sums = spread(self.sums, z.terms)
            self.dots = pair_dots(self.sums, self.spread_sums, a, b)
            return
        same, fresh, pick = _regrouped(z, label, k, before.label, before.k)
        self.sums = _assemble(before.sums, fresh, pick)
        self.spread_sums = _assemble(before.spread_sums, spread(fresh, z.terms), pick)
        kept = (same[a] >= 0) & (same[b] >= 0)
        self.dots = np.empty(len(a))
        self.dots[kept] = before.dots[np.searchsorted(before.keys, same[a[kept]] * before.k + same[b[kept]])]
        self.dots[~kept] = pair_dots(self.sums, self.spread_sums, a[~kept], b[~kept])


def _same_groups(old: np.ndarray, new: np.ndarray, k_old: int, k_new: int) -> np.ndarray:
    """For each new group, the old group with exactly its members, else -1."""
    pairs = sorted_unique(old * k_new + new)
    olds, news = pairs // k_new, pairs % k_new
    alone = (np.bincount(news, minlength=k_new)[news] == 1) & (np.bincount(olds, minlength=k_old)[olds] == 1)
    same = np.full(k_new, -1, dtype=np.int64)
    same[news[alone]] = olds[alone]
    return same


def _regrouped(z, label: np.ndarray, k: int, old_label: np.ndarray, k_old: int):
    """From the labelling before (``old_label``, ``k_old`` groups) to ``label``: ``same`` (each
    group's unchanged old group, else -1), the sums of the other groups (their members in node
    order, as ever), and for each group the row of ``[old rows; those sums]`` that is its row."""
    same = _same_groups(old_label, label, k_old, k)
    changed = np.flatnonzero(same < 0)
    position = np.full(k, -1, dtype=np.int64)
    position[changed] = np.arange(len(changed))
    nodes = np.flatnonzero(same[label] < 0)
    fresh = group_sums(z[nodes], position[label[nodes]], len(changed))
    return same, fresh, np.where(same >= 0, same, k_old + position)


def _assemble(old: sp.csr_matrix, fresh: sp.csr_matrix, pick: np.ndarray) -> sp.csr_matrix:
    rows = sp.vstack([old, fresh], format="csr")[pick]
    rows.sort_indices()  # each row is sorted already: this only records it
    return rows


def pair_dots(sums: sp.csr_matrix, spread_sums: sp.csr_matrix, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``sums[a] . spread_sums[b]`` (symmetric), walking the sparser row of each pair."""
    width = np.diff(sums.indptr)
    thin = width[a] <= width[b]
    return row_dots(sums, np.where(thin, a, b), spread_sums, np.where(thin, b, a))


def spread_sums(z, label: np.ndarray, k: int, before: tuple | None) -> sp.csr_matrix:
    """``spread(group_sums(z, label, k), z.terms)``, reusing the rows of ``before = (label, k, spread sums)``
    for the groups whose members did not change."""
    if before is None:
        return spread(group_sums(z, label, k), z.terms)
    old_label, old_k, old_spread = before
    _, fresh, pick = _regrouped(z, label, k, old_label, old_k)
    return _assemble(old_spread, spread(fresh, z.terms), pick)
