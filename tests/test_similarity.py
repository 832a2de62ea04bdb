"""Similarity stage: TF-IDF, the windowed top-k search, its blocks, and the TF-IDF edge source."""

import numpy as np
import pytest

import storygraph
from storygraph.export import render
from storygraph.similarity import duplicate_of, forked_blocks, similar_pairs, tfidf_edges, tfidf_matrix

from conftest import FIXTURES, fast_or_fallback


def _sims(texts, days, **kw):
    matrix, _ = tfidf_matrix(texts)
    return similar_pairs(matrix, np.array(days, dtype=float), **kw).as_dict()


def test_exact_copies_link_to_the_earliest_and_leave_top_k():
    texts = ["acme recalls ten million phones"] * 3 + ["acme recalls phones batteries fire", "unrelated garden show"]
    matrix, _ = tfidf_matrix(texts)
    days = np.array([2.0, 0.0, 30.0, 1.0, 1.0])
    assert duplicate_of(matrix, days, 7).tolist() == [1, 1, 2, 3, 4]  # day 30 is a new event
    pairs = similar_pairs(matrix, days, top_k=1, threshold=0.1, window_days=7).as_dict()
    assert pairs[(0, 1)] == 1.0  # the copy hangs on its original
    assert (1, 3) in pairs  # the original's top-1 is a real neighbour, not its copy
    # without merging, copies are ordinary rows: they fill each other's top-1
    plain = similar_pairs(matrix, days, top_k=1, threshold=0.1, window_days=7, merge_copies=False).as_dict()
    assert (1, 3) not in plain


@pytest.mark.parametrize("seed", range(4))
def test_copies_are_found_among_rows_of_equal_hash_as_among_all(monkeypatch, seed):
    # many copies (a few distinct texts), undated and empty rows, days far apart (new events),
    # rows equal but for one value's last bit or the order of two entries; blocks of 7 rows
    import scipy.sparse as sp
    from storygraph import copies

    rng = np.random.default_rng(seed)
    texts = ["acme recalls ten million phones", "acme recalls phones", "garden show opens", "", "the of",
             "phones recalls acme ten million"] + [f"word{k} other{k % 3}" for k in range(20)]
    picked = [texts[k] for k in rng.integers(0, len(texts), size=400)]
    matrix, _ = tfidf_matrix(picked)
    days = rng.choice([np.nan, 0.0, 1.0, 5.0, 9.0, 30.0, 31.0], size=400)
    twin = matrix.copy()
    twin.data[twin.indptr[1] - 1] = np.nextafter(twin.data[twin.indptr[1] - 1], np.float32(2))  # row 0 moved a bit
    monkeypatch.setattr(copies, "_HASH_ROWS", 7)
    filtered = [duplicate_of(m, days, 7.0) for m in (matrix, twin, sp.csr_matrix(matrix.toarray()[:, ::-1]))]
    # the reference: every non-empty row compared by its bytes, as before the hash filter
    monkeypatch.setattr(copies, "_may_repeat", lambda m: np.diff(m.indptr) > 0)
    for m, got in zip((matrix, twin, sp.csr_matrix(matrix.toarray()[:, ::-1])), filtered):
        assert got.tolist() == duplicate_of(m, days, 7.0).tolist()
    assert (duplicate_of(matrix, days, 7.0) != np.arange(400)).sum() > 100  # the case has copies to find


def test_similarity_respects_window_threshold_and_top_k():
    texts = ["blizzard delays diablo expansion", "blizzard delays diablo expansion until spring",
             "diablo expansion delayed by blizzard", "blizzard delays diablo expansion until summer",
             "quarterly earnings beat estimates"]
    days = [0, 1, 2, 30, 1]
    pairs = _sims(texts, days, window_days=7, threshold=0.4, top_k=10)
    assert set(pairs) == {(0, 1), (0, 2), (1, 2)}  # 3 is 28+ days away; 4 shares no words
    assert all(0.4 <= v < 1.0 for v in pairs.values())
    assert set(_sims(texts, days, window_days=7, threshold=0.5, top_k=10)) == {(0, 1), (0, 2)}  # (1, 2) is 0.44
    # top_k=1: rows 1 and 2 both keep 0, row 0 keeps 1; (1, 2) is nobody's best
    assert set(_sims(texts, days, window_days=7, threshold=0.4, top_k=1)) == {(0, 1), (0, 2)}
    assert _sims(texts, days, window_days=7, threshold=0.99, top_k=10) == {}


def test_undated_articles_compare_with_everything():
    texts = ["solar flare disrupts radio", "solar flare disrupts radio signals", "solar flare disrupts radio links"]
    pairs = _sims(texts, [0, np.nan, 400], window_days=7, threshold=0.15)
    assert set(pairs) == {(0, 1), (1, 2)}


def _random_corpus(seed, n, vocabulary, span):
    rng = np.random.default_rng(seed)
    words = [f"w{i}" for i in range(vocabulary)]
    return [" ".join(rng.choice(words, 6)) for _ in range(n)], rng.integers(0, span, n).astype(float)


def test_chunking_does_not_change_pairs():
    texts, days = _random_corpus(0, 120, 40, 60)
    whole = _sims(texts, days, chunk_size=1000, threshold=0.2, window_days=7)
    small = _sims(texts, days, chunk_size=7, threshold=0.2, window_days=7)
    assert whole.keys() == small.keys() and whole
    assert all(abs(whole[k] - small[k]) < 1e-5 for k in whole)


def test_forked_blocks_find_the_same_pairs():
    texts, days = _random_corpus(1, 300, 60, 90)
    days[::17] = np.nan  # undated rows take the every-column path
    knobs = dict(chunk_size=16, threshold=0.2, top_k=20, window_days=7)
    matrix, _ = tfidf_matrix(texts)
    serial = similar_pairs(matrix, days, **knobs)
    forked = similar_pairs(matrix, days, **knobs, map_blocks=forked_blocks(2))
    assert len(serial) > 0
    for name in ("left", "right", "similarity"):
        assert np.array_equal(getattr(serial, name), getattr(forked, name)), name


def test_parallel_similarity_gives_byte_identical_output():
    one = storygraph.cluster(FIXTURES, jobs=1, chunk_size=8, use_cache=False)
    two = storygraph.cluster(FIXTURES, jobs=2, chunk_size=8, use_cache=False)
    assert len(two.nodes) >= 4 * 8  # enough blocks for the search to go to forked workers
    assert render(one, "json") == render(two, "json")


def test_empty_vocabulary_gives_no_pairs():
    assert _sims(["the", "and the", "a"], [0, 0, 0], window_days=7, threshold=0.15) == {}


def test_max_df_drops_terms_most_texts_share():
    texts = ["storm hits coast", "storm closes port", "storm delays trains"]
    assert "storm" in tfidf_matrix(texts)[1]
    assert "storm" not in tfidf_matrix(texts, max_df=0.5)[1]


def test_tfidf_edges_are_the_search_and_the_related_links():
    graph = storygraph.build_graph(FIXTURES, use_cache=False)
    seconds = graph.days * 86400.0
    ticked = []
    edges, notices = tfidf_edges(graph.table, graph.matrix, seconds, ticked.append, threshold=0.15, top_k=20,
                                 window_days=7.0, related_weight="auto")
    assert notices == [] and sum(ticked) == len(graph.table.nodes)
    kinds = edges.kind_counts()
    assert kinds["related"] + kinds["both"] == len(graph.table.related)  # every related link is an edge
    assert [np.array_equal(getattr(edges, name), getattr(graph.edges, name))
            for name in ("left", "right", "kind", "similarity")] == [True] * 4
    # the gaps came back from days * 86400 here: equal to the last bits of the time kernel
    assert np.allclose(edges.weight, graph.edges.weight, rtol=1e-12, atol=0)


def _reference_top_k(matrix, days, rows, cols, threshold, top_k, window_days):
    """block_top_k by brute force: every pair of the block, sorted as documented."""
    dense = (matrix[rows] @ matrix[cols].T).toarray()
    found = []
    for i, row in enumerate(rows.tolist()):
        candidates = [(-dense[i, j], col) for j, col in enumerate(cols.tolist())
                      if col != row and dense[i, j] >= threshold and not abs(days[row] - days[col]) > window_days]
        found += [(row, col, -negative) for negative, col in sorted(candidates)[:top_k]]
    found.sort(key=lambda f: f[0])  # rows in index order; sorted() above kept each row's order
    return found


@pytest.fixture(params=["maxscore", "sparse_dot_topn", "scipy"])
def product_path(request, monkeypatch):
    """Each block test runs with the compiled search (at any size), with sparse_dot_topn's
    candidates and with scipy's whole product."""
    from storygraph import similarity

    if request.param == "maxscore":
        if similarity._maxscore is None:
            pytest.skip("numba is not installed")
        monkeypatch.setattr(similarity, "_COMPILED_ROWS", 0)
        return request.param
    monkeypatch.setattr(similarity, "_maxscore", None)
    return fast_or_fallback(request, monkeypatch, similarity, "_sp_matmul_topn", "sparse_dot_topn", "scipy")


def test_block_top_k_is_the_brute_force_top_k_with_ties_by_column(product_path):
    """The packed-key sort (and its lexsort fallback) must pick, for each row, the best top_k
    above the threshold within the window, ties by lower column: what a brute force picks,
    on either product path (ties at sparse_dot_topn's cut send rows to the whole product)."""
    import scipy.sparse as sp

    from storygraph.similarity import block_top_k

    rng = np.random.default_rng(7)
    # few distinct values, so that many pairs tie exactly
    dense = rng.choice([0.0, 0.0, 0.0, 1.0, 2.0], size=(300, 12)).astype(np.float32)
    dense /= np.maximum(np.linalg.norm(dense, axis=1, keepdims=True), 1e-9)
    matrix = sp.csr_matrix(dense)
    days = np.where(rng.random(300) < 0.1, np.nan, rng.integers(0, 20, 300).astype(float))
    rows = rng.permutation(300)[:90]  # not in index order, as a block in publication order is not
    cols = rng.permutation(300)[:250]
    for top_k in (1, 3, 10):
        got = block_top_k(matrix, days, rows, cols, 0.2, top_k, 5.0)
        want = _reference_top_k(matrix, days, rows, cols, 0.2, top_k, 5.0)
        assert [(int(a), int(b)) for a, b in zip(got[0], got[1])] == [(a, b) for a, b, _ in want]
        assert np.allclose(got[2], [s for _, _, s in want])
    wide = matrix.astype(np.float64)  # float64 similarities take the lexsort path
    got = block_top_k(wide, days, rows, cols, 0.2, 3, 5.0)
    want = _reference_top_k(wide, days, rows, cols, 0.2, 3, 5.0)
    assert [(int(a), int(b)) for a, b in zip(got[0], got[1])] == [(a, b) for a, b, _ in want]


@pytest.mark.parametrize("span_rows", [1, 512])
def test_sparse_dot_topn_gives_scipys_pairs_bit_for_bit(monkeypatch, span_rows):
    """The threshold-aware product must find the same pairs with the same float32 bits as
    scipy's whole product, including rows it cannot settle (many exact ties at its cut),
    spans of rows without a word, undated rows, and a window shorter than a block; with
    spans cut by time alone (span_rows 1) and by the row minimum."""
    from storygraph import similarity

    if similarity._sp_matmul_topn is None:
        pytest.skip("sparse_dot_topn is not installed")
    monkeypatch.setattr(similarity, "_SPAN_ROWS", span_rows)
    texts, days = _random_corpus(3, 400, 50, 40)
    texts[60:140] = [f"acme recall {i % 3}" for i in range(80)]  # many equal similarities
    days[::13] = np.nan
    texts[5:40] = ["the a of"] * 35  # stop words only: rows without a word, alone on their day
    days[5:40] = 500.0
    matrix, _ = tfidf_matrix(texts)
    unsettled = []
    product = similarity._product_candidates

    def counted(matrix, rows, cols, threshold):
        unsettled.append(len(rows))
        return product(matrix, rows, cols, threshold)

    monkeypatch.setattr(similarity, "_product_candidates", counted)
    knobs = dict(chunk_size=64, threshold=0.2, top_k=3, window_days=4, merge_copies=False)
    fast = similar_pairs(matrix, days, **knobs)
    assert sum(unsettled) > 0  # the fall-back rows were exercised
    monkeypatch.setattr(similarity, "_sp_matmul_topn", None)
    slow = similar_pairs(matrix, days, **knobs)
    assert len(slow) > 100
    assert np.array_equal(fast.left, slow.left) and np.array_equal(fast.right, slow.right)
    assert np.array_equal(fast.similarity.view(np.uint32), slow.similarity.view(np.uint32))


def test_span_columns_follow_the_pairs_window_test_to_the_last_bit(monkeypatch):
    """A run's columns are chosen by the pairs' own test, |a - b| not above the window, and not by
    first - window, which rounds: here 7.678737403317982 - 7 lies above 0.6787374033179815 while
    their difference is 7.0 exactly in floating point, so the pair is in the window (found in review)."""
    import scipy.sparse as sp

    from storygraph import similarity

    if similarity._sp_matmul_topn is None:
        pytest.skip("sparse_dot_topn is not installed")
    monkeypatch.setattr(similarity, "_SPAN_ROWS", 1)
    matrix = sp.csr_matrix(np.ones((3, 1), dtype=np.float32))
    days = np.array([7.678737403317982, 0.6787374033179815, 7.678737403317982])
    assert not abs(days[0] - days[1]) > 7.0 and days[1] < days[0] - 7.0
    fast = similarity.block_top_k(matrix, days, np.array([0, 2]), np.arange(3), 0.2, 3, 7.0)
    monkeypatch.setattr(similarity, "_sp_matmul_topn", None)
    slow = similarity.block_top_k(matrix, days, np.array([0, 2]), np.arange(3), 0.2, 3, 7.0)
    assert [a.tolist() for a in fast] == [a.tolist() for a in slow] == [[0, 0, 2, 2], [1, 2, 0, 1], [1.0] * 4]


def test_pairs_found_twice_keep_the_first_cosine_in_pair_order():
    """The blocks' pairs are made symmetric: sorted by (lo, hi), each pair once, with the cosine
    found first (a pair met from both of its rows can differ in the last bit): what a stable
    lexsort by (lo, hi) keeps."""
    from storygraph.similarity import _symmetric
    rng = np.random.default_rng(3)
    found = []
    for _ in range(5):
        left, right = rng.integers(0, 40, 300), rng.integers(0, 40, 300)
        found.append((left, right, rng.random(300).astype(np.float32)))
    pairs = _symmetric(found)
    left, right, sims = (np.concatenate([f[i] for f in found]) for i in range(3))
    lo, hi = np.minimum(left, right), np.maximum(left, right)
    first = {}
    for a, b, s in zip(lo.tolist(), hi.tolist(), sims.tolist()):
        first.setdefault((a, b), s)
    expected = sorted(first.items())
    assert list(zip(pairs.left.tolist(), pairs.right.tolist())) == [k for k, _ in expected]
    assert pairs.similarity.tolist() == [s for _, s in expected]
