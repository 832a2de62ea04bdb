"""TF-IDF vectors of the articles' texts, the words counted on several cores.

:func:`tfidf_matrix` gives exactly what scikit-learn's ``TfidfVectorizer`` (sublinear tf,
English stop words, accents folded, float32, rows L2-normalised) gives for the texts.
Tokenising and counting is most of that work and runs on one core inside scikit-learn;
with ``workers`` > 1 the texts are cut into consecutive parts, each part's words are counted
in a forked process with the vectorizer's own analyzer, and the parts are merged in the
order one pass would have met them. The merged counts are then the very matrix the
vectorizer builds (the same columns, and each row's entries stored in the same order,
which matters: the L2 norm sums a row's float32 squares in stored order), so the
document frequencies, the IDF and the normalised rows are identical bit for bit.
``tests/test_similarity.py`` checks this against ``TfidfVectorizer`` itself.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Sequence

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfTransformer, TfidfVectorizer

__all__ = ["tfidf_matrix", "vectorizer"]

Counted = tuple[list[str], np.ndarray, np.ndarray, np.ndarray]  # (terms as first met, indptr, indices, counts)


def vectorizer(max_df: float = 1.0) -> TfidfVectorizer:
    """The vectorizer whose result :func:`tfidf_matrix` reproduces."""
    return TfidfVectorizer(sublinear_tf=True, stop_words="english", strip_accents="unicode", dtype=np.float32,
                           max_df=max_df)


def tfidf_matrix(texts: Sequence[str], max_df: float = 1.0, *, workers: int | None = None
                 ) -> tuple[sp.csr_matrix, np.ndarray]:
    """Return (L2-normalised float32 CSR matrix with sorted indices, vocabulary terms by column).

    Terms found in more than ``max_df`` of the texts are dropped (a fraction in (0, 1]).
    ``workers`` > 1 counts the words in that many forked processes (POSIX), with the same result.
    """
    # a float always: scikit-learn reads an int max_df as a number of documents, so max_df=1
    # (which the options accept as the fraction 1) would drop every word found twice
    max_df = float(max_df) if len(texts) > 1 else 1.0
    if not workers or workers < 2 or len(texts) < 2 * workers:
        matrix, terms = _in_scikit_learn(texts, max_df)
    else:
        matrix, terms = _counted_in_parts(texts, max_df, workers)
    matrix = matrix.tocsr()
    matrix.sort_indices()  # duplicate detection compares rows byte for byte
    return matrix, terms


def _empty(n: int) -> tuple[sp.csr_matrix, np.ndarray]:
    return sp.csr_matrix((n, 0), dtype=np.float32), np.array([], dtype=object)


def _in_scikit_learn(texts: Sequence[str], max_df: float) -> tuple[sp.csr_matrix, np.ndarray]:
    model = vectorizer(max_df)
    try:
        matrix = model.fit_transform(texts)
    except ValueError:  # empty vocabulary: no text carries a usable word
        return _empty(len(texts))
    return matrix, model.get_feature_names_out()


def _counted_in_parts(texts: Sequence[str], max_df: float, workers: int) -> tuple[sp.csr_matrix, np.ndarray]:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    bounds = np.linspace(0, len(texts), workers + 1).astype(int).tolist()
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork"),
                             initializer=_share, initargs=(texts,)) as pool:
        parts = list(pool.map(_count_part, zip(bounds[:-1], bounds[1:])))
    counts, terms = _merged(parts, len(texts))
    if not terms:
        return _empty(len(texts))
    # from here on, what CountVectorizer.fit_transform and TfidfVectorizer do with the counts
    too_common = np.bincount(counts.indices, minlength=len(terms)) > max_df * len(texts)
    if too_common.all():
        return _empty(len(texts))
    kept = np.flatnonzero(~too_common)
    # indexed even when every column is kept, as the vectorizer does: scipy's column
    # selection changes each row's stored order, and with it the float32 norms
    counts, terms = counts[:, kept], [terms[i] for i in kept.tolist()]
    order = sorted(range(len(terms)), key=terms.__getitem__)  # columns by term, as the vectorizer sorts them
    position = np.empty(len(terms), dtype=counts.indices.dtype)
    position[order] = np.arange(len(terms), dtype=counts.indices.dtype)
    counts.indices = position.take(counts.indices)  # renumbered in place: each row's stored order kept
    transformer = TfidfTransformer(norm="l2", use_idf=True, smooth_idf=True, sublinear_tf=True).fit(counts)
    return transformer.transform(counts, copy=False), np.array([terms[i] for i in order], dtype=object)


_TEXTS: Sequence[str] | None = None  # the run's texts, in a forked worker


def _share(texts: Sequence[str]) -> None:
    global _TEXTS
    _TEXTS = texts


def _count_part(bounds: tuple[int, int]) -> Counted:
    return _count(_TEXTS[bounds[0]:bounds[1]], vectorizer().build_analyzer())  # type: ignore[index]


def _count(texts: Sequence[str], analyze: Callable[[str], list[str]]) -> Counted:
    """Each text's word counts, columns numbered as the words are first met (as the vectorizer does)."""
    numbers: dict[str, int] = {}
    indices: list[int] = []
    counts = array("i")
    indptr = [0]
    for text in texts:
        seen: dict[int, int] = {}
        for word in analyze(text):
            number = numbers.setdefault(word, len(numbers))
            seen[number] = seen.get(number, 0) + 1
        indices.extend(seen.keys())
        counts.extend(seen.values())
        indptr.append(len(indices))
    return list(numbers), np.asarray(indptr, dtype=np.int64), np.asarray(indices, dtype=np.int64), \
        np.frombuffer(counts, dtype=np.intc).copy()


def _merged(parts: list[Counted], n: int) -> tuple[sp.csr_matrix, list[str]]:
    """The parts' counts as one matrix, columns numbered as one pass over all texts meets the words
    (a part's new words after every earlier part's) and each row's entries in column order."""
    numbers: dict[str, int] = {}
    indptrs, indices, counts = [], [], []
    offset = 0
    for terms, indptr, index, count in parts:
        renumber = np.fromiter((numbers.setdefault(t, len(numbers)) for t in terms), dtype=np.int64, count=len(terms))
        indptrs.append(indptr[1:] + offset if indptrs else indptr + offset)
        indices.append(renumber[index])
        counts.append(count)
        offset += int(indptr[-1])
    nnz = offset
    dtype = np.int32 if nnz <= np.iinfo(np.int32).max and len(numbers) <= np.iinfo(np.int32).max else np.int64
    matrix = sp.csr_matrix((np.concatenate(counts).astype(np.float32), np.concatenate(indices).astype(dtype),
                            np.concatenate(indptrs).astype(dtype)), shape=(n, len(numbers)), dtype=np.float32)
    matrix.sort_indices()  # as the vectorizer sorts each row by first-met number
    return matrix, list(numbers)
