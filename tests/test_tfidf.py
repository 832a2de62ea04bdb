"""TF-IDF without scikit-learn: the analyzer, the weights and the norms, bit for bit as
scikit-learn's TfidfVectorizer gives them (which these tests import to compare)."""

import random
import subprocess
import sys

import numpy as np
import pytest

from storygraph import tfidf
from storygraph.tfidf import analyze, tfidf_matrix, vectorizer

from conftest import FIXTURES, needs_shared

# Text that exercises the analyzer: accents (composed and combining), ligatures and other
# compatibility forms NFKD rewrites, letters whose lowercase is longer (Turkish dotted I),
# scripts without case, digits of other scripts, underscores and apostrophes inside words.
_HARD = [
    "Café déjà vu: naïve façade", "cafe deja vu naive facade", "Cafe\u0301 RE\u0301SUME\u0301",
    "İstanbul IŞIK ıi", "Straße STRASSE", "ﬁnal ﬂow ＦＵＬＬ ｗｉｄｔｈ", "x² H₂O ½ ⅷ", "Ωμέγα ΣΊΣΥΦΟΣ",
    "Москва Ёлка", "東京 株式会社 ２０２６", "٣٤ ١٢ digits", "snake_case __dunder__ a_b",
    "don't it's O'Neil", "e\u0308\u0301 a\u20dd", "emoji 🎮🎮 games", "tab\tnew\nline", "",
    "the of and", "a", "Ünïcödé ÀÉÎÕÜ", "ǅungla ǈ ǋ", "ﬀ ﬃ ſt",
    # ASCII text takes another path (runs of [0-9A-Za-z_] by str.split): punctuation, control
    # characters (some of which str.split alone would take for spaces), one-letter runs
    "C++ C# .NET 3.14 1,000 e-mail x_1 _ __ 9 99 A.B.C. U.S.", "ab\x1ccd\x1fef\x0bgh\x00ij\x7fkl", "I a x y zz",
]


def _same_matrix(a, b):
    return (a.shape == b.shape and a.indices.dtype == b.indices.dtype and np.array_equal(a.indptr, b.indptr)
            and np.array_equal(a.indices, b.indices) and np.array_equal(a.data.view(np.uint32), b.data.view(np.uint32)))


def _vectorizers(texts, max_df=1.0):
    model = vectorizer(max_df)
    want = model.fit_transform(texts).tocsr()
    want.sort_indices()
    return want, list(model.get_feature_names_out())


def _random_texts(seed: int, n: int) -> list[str]:
    rng = random.Random(seed)
    alphabet = "abcdefghij klmnop éüçñ ß ﬁ İ _ ' 12 ² Ω ж 東 \u0301"
    words = ["".join(rng.choice(alphabet) for _ in range(rng.randint(1, 9))) for _ in range(300)]
    return [" ".join(rng.choice(words) for _ in range(rng.randint(0, 60))) for _ in range(n)]


def test_the_stop_words_are_scikit_learns():
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    assert tfidf._STOP_WORDS == ENGLISH_STOP_WORDS and len(tfidf._STOP_WORDS) > 300


def test_the_analyzer_gives_the_vectorizers_words():
    theirs = vectorizer().build_analyzer()
    for text in _HARD + _random_texts(1, 300):
        assert analyze(text) == theirs(text), text


@pytest.mark.parametrize("workers", [None, 2, 3, 7])
@pytest.mark.parametrize("max_df", [1.0, 0.5, 0.05])
def test_the_matrix_is_the_vectorizers_bit_for_bit(workers, max_df):
    """In one process or counted in forked parts (whatever the boundaries), every float32 bit."""
    from storygraph.load import load_content

    texts = [a.title + " " + a.excerpt for a in load_content(FIXTURES, 10 * 1024 * 1024).articles]
    texts += _HARD + _random_texts(2, 400)
    want, terms = _vectorizers(texts, max_df)
    got, got_terms = tfidf_matrix(texts, max_df, workers=workers)
    assert _same_matrix(got, want)
    assert list(got_terms) == terms


@pytest.mark.parametrize("block", [1, 7, 4096])
def test_the_words_counted_a_block_of_texts_at_a_time_give_one_passs_matrix(monkeypatch, block):
    # blocks of 1 and 7 texts: words first met in a later block numbered after every earlier
    # block's, words met again counted in each row, empty texts between blocks
    texts = _HARD + _random_texts(4, 120) + ["", "the"] * 5 + _HARD
    want, terms = _vectorizers(texts)
    monkeypatch.setattr(tfidf, "_COUNT_BLOCK", block)
    got, got_terms = tfidf_matrix(texts)
    assert _same_matrix(got, want) and list(got_terms) == terms


def test_rows_cut_into_blocks_are_normalised_as_one(monkeypatch):
    # blocks of 7 entries: most rows span a block boundary, and rows longer than a block are
    # a block of their own
    texts = _random_texts(3, 200) + [" ".join(f"w{i}" for i in range(50))]
    want, _ = _vectorizers(texts)
    monkeypatch.setattr(tfidf, "_NORM_BLOCK", 7)
    got, _ = tfidf_matrix(texts)
    assert _same_matrix(got, want)


@pytest.mark.parametrize("block", [1, 7, 150, 1 << 22])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_norms_are_scikit_learns_compiled_loops(monkeypatch, dtype, block):
    # In float64 a sum's last bits show in every entry, so this catches a sum in any other
    # order (numpy's pairwise sums) and a row normalised twice or not at all where blocks
    # of rows meet (rows longer than a block, empty rows at a boundary); in float32 they
    # show only now and then.
    monkeypatch.setattr(tfidf, "_NORM_BLOCK", block)
    from sklearn.utils.sparsefuncs_fast import inplace_csr_row_normalize_l2
    import scipy.sparse as sp

    rng = np.random.default_rng(5)
    lengths = rng.integers(0, 200, size=300)
    lengths[::17] = 0
    indptr = np.concatenate([[0], np.cumsum(lengths)])
    data = (rng.random(indptr[-1]) * 10.0 ** rng.integers(-3, 4, size=indptr[-1])).astype(dtype)
    indices = np.concatenate([rng.permutation(400)[:n] for n in lengths]).astype(np.int32)
    theirs = sp.csr_matrix((data.copy(), indices, indptr), shape=(300, 400))
    inplace_csr_row_normalize_l2(theirs)
    ours = data.copy()
    tfidf._normalise_rows(ours, indptr)
    assert ours.dtype == dtype and np.array_equal(ours, theirs.data)
    paired = data.astype(np.float64)
    row_sums = np.add.reduceat(np.square(paired), indptr[:-1])  # the order this loop avoids
    assert not np.array_equal(row_sums[lengths > 0], np.array([sum(np.square(paired[a:b]).tolist(), 0.0)
                                                               for a, b in zip(indptr[:-1], indptr[1:]) if b > a]))


def test_no_words_and_too_common_words_give_an_empty_matrix():
    for workers in (None, 2):
        empty, terms = tfidf_matrix(["", "the of and", "a"], workers=workers)
        assert empty.shape == (3, 0) and len(terms) == 0
        common, terms = tfidf_matrix(["acme phones", "acme phones"], 0.4, workers=workers)
        assert common.shape == (2, 0) and len(terms) == 0
    nothing, terms = tfidf_matrix([])
    assert nothing.shape == (0, 0) and nothing.dtype == np.float32 and len(terms) == 0
    one, terms = tfidf_matrix(["Acme recalls ten phones"])
    want, want_terms = _vectorizers(["Acme recalls ten phones"])
    assert _same_matrix(one, want) and list(terms) == want_terms


def test_a_run_does_not_import_scikit_learn():
    code = ("import sys, storygraph; storygraph.cluster(sys.argv[1]); "
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'sklearn' or m == 'scipy.stats'))")
    out = subprocess.run([sys.executable, "-c", code, str(FIXTURES)], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_the_real_corpus_gives_the_vectorizers_matrix():
    from storygraph import similarity
    from storygraph.graph import build_nodes
    from storygraph.load import load_content

    articles = load_content(needs_shared("corpus"), 10 * 1024 * 1024).articles
    texts = [similarity.document_text(n.title, n.excerpt, 2) for n in build_nodes(articles).nodes]
    want, terms = _vectorizers(texts)
    for workers in (None, 2):
        got, got_terms = tfidf_matrix(texts, workers=workers)
        assert _same_matrix(got, want) and list(got_terms) == terms


def test_max_df_is_a_fraction_even_when_given_as_an_int():
    texts = ["acme recalls phones", "acme recalls batteries", "garden show opens"]
    for workers in (None, 2):
        whole, _ = tfidf_matrix(texts, 1, workers=workers)
        assert _same_matrix(whole, tfidf_matrix(texts, 1.0, workers=workers)[0])
        assert whole.shape[1] == 6  # "acme" and "recalls", in two texts, kept ("show" is a stop word)
