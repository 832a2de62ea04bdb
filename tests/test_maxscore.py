"""The compiled MaxScore search finds what scipy's product finds, bit for bit, whatever it skips."""

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings, strategies as st

from storygraph import maxscore, similarity

pytestmark = pytest.mark.skipif(not maxscore.available, reason="numba is not installed")


def _product_block(matrix, days, rows, cols, threshold, top_k, window_days):
    """block_top_k on scipy's whole product: the reference the other paths must equal."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(similarity, "_maxscore", None)
        patch.setattr(similarity, "_sp_matmul_topn", None)
        return similarity.block_top_k(matrix, days, rows, cols, threshold, top_k, window_days)


def _corpus(seed: int, n: int, words: int, per_row: int, undated: float = 0.1):
    """Rows of Zipf-distributed words (a few common words in most rows, long lists), with
    weights from few values (exact ties), L2-normalised in float32 as the stage's matrix is."""
    rng = np.random.default_rng(seed)
    popularity = 1.0 / np.arange(1, words + 1)
    popularity /= popularity.sum()
    dense = np.zeros((n, words), dtype=np.float32)
    for i in range(n):
        chosen = rng.choice(words, size=int(rng.integers(0, per_row + 1)), replace=False, p=popularity)
        dense[i, chosen] = rng.choice([1.0, 1.5, 2.0, 3.0], size=len(chosen))
    copy = rng.random(n) < 0.1  # near-duplicates: a story's close neighbours, a high top-k bar
    dense[copy] = dense[rng.integers(0, n, int(copy.sum()))]
    norms = np.linalg.norm(dense, axis=1, keepdims=True).astype(np.float32)
    dense = np.divide(dense, norms, out=np.zeros_like(dense), where=norms > 0).astype(np.float32)
    matrix = sp.csr_matrix(dense)
    matrix.sort_indices()
    days = rng.integers(0, 30, n).astype(float) + rng.choice([0.0, 0.25, 0.5], n)
    days[rng.random(n) < undated] = np.nan
    return matrix, days


def _same(a, b) -> bool:
    return all(x.dtype == y.dtype and np.array_equal(x, y) for x, y in zip(a, b))


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 10_000), threshold=st.sampled_from([0.05, 0.15, 0.3, 0.6]),
       top_k=st.integers(1, 12), window=st.sampled_from([0.5, 3.0, 7.0, 40.0]),
       undated=st.sampled_from([0.0, 0.1, 1.0]))
def test_the_compiled_search_is_the_product_bit_for_bit(seed, threshold, top_k, window, undated):
    matrix, days = _corpus(seed, 400, 60, 12, undated)
    rng = np.random.default_rng(seed)
    rows = rng.permutation(400)[:150]  # not in index order, as a block in publication order is not
    cols = np.sort(rng.permutation(400)[:350])
    want = _product_block(matrix, days, rows, cols, threshold, top_k, window)
    got = maxscore.maxscore_block(matrix, days, rows, cols, threshold, top_k, window)
    assert _same(got, want)


def test_the_search_skips_words_and_still_finds_the_same_pairs(monkeypatch):
    """A larger corpus where the common words' lists are long and the bar rises: every choice
    of how far to walk (all the words, only the rare ones) and of how often to raise the bar
    gives the product's pairs. The walking choices change only what is skipped."""
    matrix, days = _corpus(3, 3000, 400, 25)
    rows, cols = np.arange(0, 3000, 2), np.arange(3000)
    want = _product_block(matrix, days, rows, cols, 0.15, 10, 7.0)
    assert len(want[0]) > 5000  # most rows have neighbours: the search has work to skip
    for walk_to, probes in [(0.0, 0), (0.2, 2), (0.5, 1), (1.0, 0), (1.0, 8)]:
        monkeypatch.setattr(maxscore, "_WALK_TO", walk_to)
        monkeypatch.setattr(maxscore, "_PROBES", probes)
        assert _same(maxscore.maxscore_block(matrix, days, rows, cols, 0.15, 10, 7.0), want), (walk_to, probes)


def test_cosines_equal_to_the_threshold_are_kept():
    """The threshold set to a cosine's exact float32 value: the pairs on it are kept, as the
    product keeps them (``>=``), although the bounds are compared with a margin."""
    half = np.float32(np.sqrt(np.float32(0.5)))
    on_bar = float(half * half)  # the float32 product: 0.49999997, the cosine of rows 0-1 and 1-2
    dense = np.array([[half, half, 0, 0], [half, 0, half, 0], [0, 0, half, half], [1, 0, 0, 0]], dtype=np.float32)
    matrix = sp.csr_matrix(dense)
    days = np.zeros(4)
    got = maxscore.maxscore_block(matrix, days, np.arange(4), np.arange(4), on_bar, 3, 7.0)
    products = (matrix @ matrix.T).toarray()
    want = sorted((i, j) for i in range(4) for j in range(4) if i != j and products[i, j] >= np.float32(on_bar))
    assert sorted(zip(got[0].tolist(), got[1].tolist())) == want
    assert {(0, 1), (1, 0), (1, 2), (2, 1)} <= set(want)  # the pairs on the bar


def test_the_stage_uses_it_from_its_size_up_and_forked_workers_find_the_same(monkeypatch):
    matrix, days = _corpus(11, 2500, 300, 20)
    knobs = dict(threshold=0.15, top_k=8, window_days=5.0, chunk_size=300)
    with monkeypatch.context() as patch:
        patch.setattr(similarity, "_maxscore", None)
        want = similarity.similar_pairs(matrix, days, **knobs)
    calls = []
    search = maxscore.maxscore_block
    monkeypatch.setattr(maxscore, "maxscore_block", lambda *a: calls.append(1) or search(*a))
    similarity.similar_pairs(matrix, days, **knobs)
    assert calls == []  # 2,500 rows: under the size where the compiled path pays
    monkeypatch.setattr(similarity, "_COMPILED_ROWS", 2000)
    serial = similarity.similar_pairs(matrix, days, **knobs)
    unique = similarity.duplicate_of(matrix, days, 5.0) == np.arange(2500)
    assert len(calls) == len(similarity.plan_blocks(days, unique, 300, 5.0))  # every block took it
    forked = similarity.similar_pairs(matrix, days, **knobs, map_blocks=similarity.forked_blocks(2))
    for got in (serial, forked):
        assert _same((got.left, got.right, got.similarity), (want.left, want.right, want.similarity))
