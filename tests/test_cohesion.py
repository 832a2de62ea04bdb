"""The story objective (storygraph.cohesion): exact sums, and stories that do not depend on
their size, on how much other news surrounds them, or on extra evidence."""

import itertools

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.preprocessing import normalize

from storygraph import cohesion, communities
from storygraph.graph import edge_weights
from storygraph.model import Edges


def corpus(stories: list[int], *, own: int = 3, shared: int = 1, seed: int = 0, offset: int = 0):
    """Articles of ``len(stories)`` stories: each article draws ``own`` words from its story's
    six and ``shared`` words from a pool every story uses (news words), so a story's pairs
    have a cosine of about 0.3 and different stories about 0.03."""
    rng = np.random.default_rng(seed)
    rows, cols, labels = [], [], []
    pool = 200
    for s, size in enumerate(stories):
        for _ in range(size):
            i = len(labels)
            words = list(rng.choice(6, own, replace=False) + pool + 6 * (s + offset))
            words += list(rng.choice(pool, shared, replace=False))
            rows += [i] * len(words)
            cols += words
            labels.append(s)
    width = pool + 6 * (len(stories) + offset) + 6
    matrix = normalize(sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(labels), width)))
    return matrix.tocsr(), np.array(labels)


def knn_edges(matrix, days, k=10, window_days=7.0, related=()):
    """Top-k cosine neighbours (within the window) plus ``related`` pairs: the edges the search gives."""
    sims = (matrix @ matrix.T).toarray()
    np.fill_diagonal(sims, 0)
    gap = np.abs(days[:, None] - days[None, :])
    sims[gap > window_days] = 0
    pairs = {}
    for i in range(len(sims)):
        for j in np.argsort(-sims[i])[:k]:
            if sims[i, j] > 0.05:
                pairs[(min(i, j), max(i, j))] = False
    for a, b in related:
        pairs[(min(a, b), max(a, b))] = True
    keys = sorted(pairs)
    left = np.array([a for a, _ in keys], dtype=np.int64)
    right = np.array([b for _, b in keys], dtype=np.int64)
    sim = sims[left, right] if keys else np.zeros(0)
    is_related = np.array([pairs[p] for p in keys], dtype=bool)
    weight = edge_weights(sim, is_related, np.abs(days[left] - days[right]), 0.2, window_days)
    kind = np.where(is_related, np.where(sim > 0, 2, 0), 1).astype(np.uint8)
    return Edges(len(days), left, right, kind, sim, weight, 0.2)


def partition(label) -> set[frozenset]:
    groups = {}
    for i, c in enumerate(label):
        groups.setdefault(int(c), set()).add(i)
    return {frozenset(g) for g in groups.values()}


def stories_of(matrix, edges, days, **knobs):
    parts, _ = communities.detect(edges, days, matrix, algorithm="leiden", **knobs)
    return {frozenset(p) for p in parts}


def test_quality_is_the_exact_sum_over_every_pair():
    matrix, _ = corpus([4, 3, 2], seed=1)
    days = np.array([0, 0.5, 1, 3, 10, 10.2, 11, 40, 40.5])
    edges = knn_edges(matrix, days, related=[(0, 8)])
    label = np.array([0, 0, 0, 0, 1, 1, 1, 2, 2])
    dense = (matrix @ matrix.T).toarray()
    z = cohesion.time_vectors(matrix, days, 7.0)
    kernel = (z @ cohesion.spread(z, z.terms).T).toarray() / np.maximum(dense, 1e-12)  # the time bins' K
    brute = 0.0
    for i, j in itertools.combinations(range(9), 2):
        if label[i] == label[j]:
            assert 0 <= kernel[i, j] <= 1 + 1e-9
            # (0, 8) is a related link across stories: its related weight does not count
            brute += dense[i, j] * kernel[i, j] - 0.07
    assert cohesion.quality(matrix, edges.positive(), days, label, cohesion=0.07) == pytest.approx(brute, abs=1e-9)


def test_time_vectors_give_the_triangular_kernel_on_average():
    matrix = normalize(sp.csr_matrix(np.ones((4, 1))))
    days = np.array([0.0, 0.0, 7.5, np.nan])
    z = cohesion.time_vectors(matrix, days, 7.0)
    gram = (z @ cohesion.spread(z, z.terms).T).toarray()
    assert gram[0, 1] == pytest.approx(1.0)  # same moment
    assert gram[0, 2] == pytest.approx(0.0)  # beyond the window
    assert gram[3, 3] == pytest.approx(1.0) and gram[0, 3] == 0.0  # undated: only with undated
    # over the position of a pair in time, K(dt) averages 1 - dt / window_days
    one = normalize(sp.csr_matrix(np.ones((2, 1))))
    for gap in (1.0, 3.5, 5.0):
        starts = np.linspace(0, 7, 701)[:-1]
        mean = np.mean([(lambda z: (z @ cohesion.spread(z, z.terms).T)[0, 1])(
            cohesion.time_vectors(one, np.array([t, t + gap]), 7.0)) for t in starts])
        assert mean == pytest.approx(1 - gap / 7.0, abs=0.01)


@pytest.mark.parametrize("size", [5, 50, 500])
def test_a_story_is_one_story_whatever_its_size(size):
    matrix, labels = corpus([size, 3, 1], seed=size)
    days = np.zeros(len(labels))  # all on one day: the densest case
    found = stories_of(matrix, knn_edges(matrix, days), days)
    assert frozenset(np.flatnonzero(labels == 0).tolist()) in found
    assert frozenset(np.flatnonzero(labels == 1).tolist()) in found


def test_other_news_on_the_same_day_does_not_change_a_story():
    matrix, labels = corpus([40, 6, 1], seed=3)
    days = np.zeros(len(labels))
    alone = stories_of(matrix, knn_edges(matrix, days), days)
    busy_matrix, busy_labels = corpus([40, 6, 1] + [30] * 20, seed=3)  # the same articles first, 600 more
    busy_days = np.zeros(len(busy_labels))
    busy = stories_of(busy_matrix, knn_edges(busy_matrix, busy_days), busy_days)
    first = set(range(len(labels)))
    assert {p for p in busy if p <= first} == alone
    assert all(p <= first or not (p & first) for p in busy)


def test_more_evidence_never_splits_a_story():
    matrix, labels = corpus([12, 12], seed=5, own=2, shared=2)
    days = np.r_[np.zeros(12), np.full(12, 1.0)]
    plain = stories_of(matrix, knn_edges(matrix, days), days)
    linked = stories_of(matrix, knn_edges(matrix, days, related=[(0, 1), (2, 3), (12, 13)]), days)
    for story in plain:  # every story of the plain run sits inside one story with the links
        assert any(story <= other for other in linked)


def test_time_separates_two_events_with_the_same_words():
    matrix, _ = corpus([8], seed=7)
    twice = sp.vstack([matrix, matrix]).tocsr()
    near = np.r_[np.full(8, 3.4), np.full(8, 3.9)]
    far = np.r_[np.full(8, 3.4), np.full(8, 9.9)]  # 6.5 days: bins of 3.5 days two apart, K = 0
    assert len(stories_of(twice, knn_edges(twice, near, k=15), near)) == 1
    assert stories_of(twice, knn_edges(twice, far, k=15), far) == {frozenset(range(8)), frozenset(range(8, 16))}


def test_the_found_partition_scores_at_least_the_planted_one():
    matrix, labels = corpus([20, 10, 5, 5, 1, 1], seed=11)
    days = np.repeat([0.0, 0.3, 2.0, 2.2, 4.0, 4.0], [20, 10, 5, 5, 1, 1])
    edges = knn_edges(matrix, days).positive()
    found = cohesion.optimise(matrix, edges, days, cohesion=0.07, seed=1)
    score = lambda label: cohesion.quality(matrix, edges, days, label, cohesion=0.07)
    assert score(found) >= score(labels) - 1e-9
    assert score(found) > score(np.arange(len(labels))) and score(found) > score(np.zeros(len(labels)))
    assert partition(found) == partition(labels)


def test_the_greedy_optimiser_finds_the_same_stories():
    matrix, labels = corpus([30, 8, 4, 1], seed=13)
    days = np.zeros(len(labels))
    edges = knn_edges(matrix, days).positive()
    with_leiden = cohesion.optimise(matrix, edges, days, seed=2)
    greedy = cohesion.optimise(matrix, edges, days, seed=2, use_igraph=False)
    assert partition(greedy) == partition(with_leiden) == partition(labels)


def test_optimise_is_deterministic_for_a_seed():
    matrix, labels = corpus([25, 25, 10, 3], seed=17, own=2, shared=3)
    days = np.zeros(len(labels))
    edges = knn_edges(matrix, days).positive()
    runs = [cohesion.optimise(matrix, edges, days, seed=5) for _ in range(2)]
    assert np.array_equal(*runs)


def test_reused_group_sums_are_bit_for_bit_the_recomputed_ones():
    # the optimiser keeps the rows of groups whose members did not change across relabellings:
    # merges (an aggregation level) and moves (a batch of refinement) must give exactly the
    # arrays that summing every group again gives, or the stories would depend on the path
    from storygraph import groupsums

    rng = np.random.default_rng(3)
    matrix, _ = corpus([9, 7, 5, 12, 3, 8], shared=2, seed=3)
    n = matrix.shape[0]
    days = rng.uniform(0, 20, n)
    days[:4] = np.nan  # undated rows have their own bin
    z = cohesion.time_vectors(matrix, days, 7.0)
    label = cohesion.relabel(rng.integers(0, 15, n))
    left, right = np.triu_indices(n, 1)
    for step in range(6):
        k = int(label.max()) + 1
        a, b = np.unique(np.c_[np.minimum(label[left], label[right]), np.maximum(label[left], label[right])]
                         [label[left] != label[right]], axis=0).T
        if step == 0:
            level = groupsums.Level(z, label, k, a, b, None)
            before = (label, k, level.spread_sums)
        else:
            level = groupsums.Level(z, label, k, a, b, level)
            fresh = groupsums.Level(z, label, k, a, b, None)
            for got, want in ((level.sums, fresh.sums), (level.spread_sums, fresh.spread_sums)):
                assert (got.indptr == want.indptr).all() and (got.indices == want.indices).all()
                assert got.data.tobytes() == want.data.tobytes()
            assert level.dots.tobytes() == fresh.dots.tobytes()
            moved = groupsums.spread_sums(z, label, k, before)
            assert moved.data.tobytes() == fresh.spread_sums.data.tobytes()
            assert (moved.indices == fresh.spread_sums.indices).all()
            before = (label, k, moved)
        # the next labelling: two groups merged and one article moved (most groups unchanged)
        merged = label.copy()
        merged[merged == (step + 1) % k] = step % k
        merged[rng.integers(n)] = rng.integers(k)
        label = cohesion.relabel(merged)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_group_sums_are_the_sparse_product_bit_for_bit(dtype):
    # sorting the entries instead of the product (whose work arrays are as wide as the
    # matrix) must not change a bit: same columns, same sums in the same order
    from storygraph.sparse import group_sums

    rng = np.random.default_rng(5)
    for n, width, k in ((40, 30, 7), (300, 5000, 40), (1, 3, 2), (50, 10, 1)):
        dense = rng.random((n, width)) * (rng.random((n, width)) < 0.2)
        dense[rng.integers(n)] = 0  # an empty row
        matrix = sp.csr_matrix(dense.astype(dtype))
        label = rng.integers(0, k, n)
        label[0] = k - 1
        membership = sp.csr_matrix((np.ones(n), (label, np.arange(n))), shape=(k, n))
        want = (membership @ matrix).tocsr().astype(np.float64)
        want.sort_indices()
        got = group_sums(matrix, label, k)
        assert got.shape == want.shape and got.has_sorted_indices
        assert (got.indptr == want.indptr).all() and (got.indices == want.indices).all()
        assert got.data.tobytes() == want.data.tobytes()
    assert group_sums(sp.csr_matrix((3, 4), dtype=np.float32), np.array([0, 1, 1]), 2).nnz == 0


def _same_csr(got, want):
    assert got.shape == want.shape and got.has_sorted_indices
    assert got.indptr.dtype == want.indptr.dtype and got.indices.dtype == want.indices.dtype
    assert (got.indptr == want.indptr).all() and (got.indices == want.indices).all()
    assert got.data.tobytes() == want.data.tobytes()


def _random_rows(rng, n, width, dtype=np.float64):
    dense = rng.random((n, width)) * (rng.random((n, width)) < rng.uniform(0.01, 0.4))
    dense[rng.integers(n)] = 0  # an empty row
    return sp.csr_matrix(dense.astype(dtype))


def test_group_sums_and_spread_in_runs_give_the_bits_of_one_pass(monkeypatch):
    # both bound their memory by working on runs of groups (rows); a group's sum and a row's
    # spread read only their own rows, so any cut gives the same arrays, down to the index types
    from storygraph import groupsums, sparse

    rng = np.random.default_rng(11)
    for trial in range(60):
        n, width, k = int(rng.integers(1, 120)), int(rng.integers(3, 400)), int(rng.integers(1, 30))
        matrix = _random_rows(rng, n, width, np.float32 if trial % 2 else np.float64)
        label = rng.integers(0, k, n)
        label[: n // 3] = 0  # one group larger than any run
        if n > 2:  # a group whose entries cancel: its sum is left out, as the product leaves it
            matrix = sp.vstack([matrix[:-2], matrix[-2], -matrix[-2]], format="csr")
            label[-2:] = k - 1
        monkeypatch.setattr(sparse, "_SUM_BLOCK", 1 << 60)
        monkeypatch.setattr(groupsums, "_SPREAD_BLOCK", 1 << 60)
        whole = sparse.group_sums(matrix, label, k)
        spread_whole = groupsums.spread(whole, 7)
        monkeypatch.setattr(sparse, "_SUM_BLOCK", int(rng.integers(1, 40)))
        monkeypatch.setattr(groupsums, "_SPREAD_BLOCK", int(rng.integers(1, 40)))
        _same_csr(sparse.group_sums(matrix, label, k), whole)
        _same_csr(groupsums.spread(whole, 7), spread_whole)


def test_time_vectors_are_what_the_conversion_from_coo_gave():
    # built as CSR at once since the 22nd session; the definition it replaced, kept here
    from storygraph import groupsums

    def through_coo(matrix, days, window_days):
        n, terms = matrix.shape
        dated = ~np.isnan(days)
        bins = np.zeros(n, dtype=np.int64)
        if dated.any():
            absolute = np.floor(days[dated] / (window_days / 2))
            bins[dated] = (absolute - absolute.min()).astype(np.int64) + 1
        last = int(bins.max()) if n else 0
        bins[~dated] = last + 3
        row = np.repeat(np.arange(n), np.diff(matrix.indptr))
        out = sp.csr_matrix((matrix.data.astype(np.float64), (row, bins[row] * terms + matrix.indices)),
                            shape=(n, (last + 5) * max(terms, 1)))
        out.sort_indices()
        return out

    def with_repeats(matrix):  # each row's first entry stored twice more, in the middle of the row
        rows = []
        for i in range(matrix.shape[0]):
            lo, hi = matrix.indptr[i], matrix.indptr[i + 1]
            idx, val = list(matrix.indices[lo:hi]), list(matrix.data[lo:hi])
            if idx:
                idx[len(idx) // 2:len(idx) // 2] = [idx[0], idx[0]]
                val[len(val) // 2:len(val) // 2] = [val[0] / 3, val[0] / 7]
            rows.append((idx, val))
        indptr = np.cumsum([0] + [len(r[0]) for r in rows])
        return sp.csr_matrix((np.array([v for r in rows for v in r[1]], dtype=matrix.dtype),
                              np.array([c for r in rows for c in r[0]], dtype=np.int32), indptr), shape=matrix.shape)

    rng = np.random.default_rng(12)
    for matrix, days in ((sp.csr_matrix((0, 5), dtype=np.float32), np.zeros(0)),  # no rows
                         (sp.csr_matrix((4, 0), dtype=np.float32), np.array([1.0, np.nan, 3.0, 30.0])),  # no words
                         (sp.csr_matrix((0, 429_496_736), dtype=np.float32), np.zeros(0)),  # int64 by the width
                         (sp.csr_matrix(([0.5, 0.25], [7, 400_000_000], [0, 1, 2]), shape=(2, 429_496_736),
                                        dtype=np.float32), np.array([0.0, 40.0]))):
        _same_csr(groupsums.time_vectors(matrix, days, 7.0), through_coo(matrix, days, 7.0))
    for trial in range(40):
        n, width = int(rng.integers(1, 80)), int(rng.integers(1, 300))
        matrix = _random_rows(rng, n, width, np.float32)
        days = rng.uniform(0, 60, n)
        days[rng.random(n) < 0.2] = np.nan  # undated rows: a bin of their own
        if trial % 3 == 0:  # rows not sorted by column, as a hand-made matrix may hold them
            matrix = sp.csr_matrix((matrix.data[::-1].copy(), matrix.indices[::-1].copy(),
                                    (matrix.nnz - matrix.indptr[::-1]).copy()), shape=matrix.shape)
            matrix = matrix[::-1]
        if trial % 4 == 1:  # a row holding a word twice: summed, as the conversion summed it
            matrix = with_repeats(matrix)
        indptr = matrix.indptr.copy()
        got = groupsums.time_vectors(matrix, days, 7.0)
        _same_csr(got, through_coo(matrix, days, 7.0))
        assert got.terms == max(width, 1)
        assert (matrix.indptr == indptr).all()  # the caller's matrix is left as it was
