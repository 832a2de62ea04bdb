"""TF-IDF vectors of the articles' texts, the words counted on several cores.

:func:`tfidf_matrix` gives exactly what scikit-learn's ``TfidfVectorizer`` (sublinear tf,
English stop words, accents folded, float32, rows L2-normalised) gives for the texts, in
the scikit-learn version the tests compare it with (1.9 when written), without importing
scikit-learn: its import (which imports scipy.stats) was about a second
of every run's start-up, more than the whole TF-IDF stage of a small corpus.

- :func:`analyze` is the vectorizer's analyzer for these settings (lowercase, accents folded,
  tokens of two or more word characters, its English stop words, read from its own file).
- Tokenising and counting is most of the work; with ``workers`` > 1 the texts are cut into
  consecutive parts, each part's words are counted in a forked process, and the parts are
  merged in the order one pass would have met them. The merged counts are then the very
  matrix the vectorizer builds (the same columns, and each row's entries stored in the same
  order, which matters: the L2 norm sums a row's float32 squares in stored order).
- :func:`_weighted` is ``TfidfTransformer``'s IDF, sublinear tf and L2 normalisation, the same
  numpy operations in the same order, and the norm summed as its compiled loop sums it.

``tests/test_tfidf.py`` checks every float32 bit against ``TfidfVectorizer`` itself.
"""

from __future__ import annotations

import ast
import functools
import importlib.util
import itertools
import re
import unicodedata
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp

if TYPE_CHECKING:
    from sklearn.feature_extraction.text import TfidfVectorizer

__all__ = ["tfidf_matrix", "analyze", "vectorizer", "UNDATED"]

#: The period of an undated text (also :data:`storygraph.periods.UNDATED`, which is this value).
UNDATED = np.iinfo(np.int64).min

Counted = tuple[list[str], np.ndarray, np.ndarray, np.ndarray]  # (terms as first met, indptr, indices, counts)


def vectorizer(max_df: float = 1.0) -> "TfidfVectorizer":
    """The scikit-learn vectorizer whose result :func:`tfidf_matrix` reproduces (for comparison:
    the pipeline does not use it)."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    return TfidfVectorizer(sublinear_tf=True, stop_words="english", strip_accents="unicode", dtype=np.float32,
                           max_df=max_df)


def _english_stop_words() -> frozenset[str]:
    """scikit-learn's English stop words (the Glasgow IR group's list), read from its
    ``_stop_words.py`` as a literal, without importing scikit-learn; imported the usual way
    where the file is not where this version keeps it or holds something else."""
    try:
        spec = importlib.util.find_spec("sklearn")  # finds the package without importing it
        path = Path(spec.submodule_search_locations[0]) / "feature_extraction" / "_stop_words.py"
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.Assign) and [getattr(t, "id", None) for t in node.targets] == ["ENGLISH_STOP_WORDS"]:
                call = node.value  # exactly frozenset(<one literal>); any other form: imported below
                if (isinstance(call, ast.Call) and getattr(call.func, "id", None) == "frozenset"
                        and len(call.args) == 1 and not call.keywords):
                    words = frozenset(ast.literal_eval(call.args[0]))
                    if words and all(type(w) is str for w in words):
                        return words
                break
    except (AttributeError, IndexError, OSError, SyntaxError, TypeError, ValueError):
        pass
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    return ENGLISH_STOP_WORDS


_STOP_WORDS = _english_stop_words()
_TOKENS = re.compile(r"(?u)\b\w\w+\b").findall  # the vectorizer's default token_pattern


def analyze(text: str) -> list[str]:
    """The words of ``text`` as the vectorizer's analyzer gives them: lowercased, accents
    folded (NFKD, combining marks dropped; ASCII text as it is), tokens of two or more word
    characters, English stop words left out."""
    return [word for word in _runs(text) if len(word) > 1 and word not in _STOP_WORDS]


# In ASCII the token pattern's word characters (\w) are [0-9A-Za-z_]: every other character
# becomes a space, and str.split then finds the runs of word characters, several times faster
# than the pattern (the runs of one character are left for the caller to drop).
_ASCII_RUNS = str.maketrans({chr(c): chr(c) if chr(c).isalnum() or chr(c) == "_" else " " for c in range(128)})


def _runs(text: str) -> list[str]:
    """Lowercased, accents folded: the maximal runs of word characters in ``text`` (those of one
    character included in ASCII text), in order; :func:`analyze` drops the short and stop words."""
    text = text.lower()
    if text.isascii():
        return text.translate(_ASCII_RUNS).split()
    text = "".join([c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c)])
    return _TOKENS(text)


def tfidf_matrix(texts: Sequence[str], max_df: float = 1.0, *, workers: int | None = None,
                 periods: np.ndarray | None = None) -> tuple[sp.csr_matrix, np.ndarray]:
    """Return (L2-normalised float32 CSR matrix with sorted indices, vocabulary terms by column).

    Terms found in more than ``max_df`` of the texts are dropped (a fraction in (0, 1]).
    ``workers`` > 1 counts the words in that many forked processes (POSIX), with the same result.
    Texts without a usable word, or whose every word is dropped, give an ``(n, 0)`` matrix
    (where scikit-learn raises ``ValueError``).

    ``periods`` (one int64 per text, :data:`UNDATED` for an undated one; None: every text
    weighs by the whole corpus) gives the running IDF of :func:`_weighted_running`: a dated
    text's IDF counts only the dated texts of its own period, every earlier one and the next
    one, so texts added to later periods leave its row as it was, bit for bit. ``max_df`` is
    then a fraction of that scope (a term past it weighs 0 in the rows of that scope and is not
    stored there; its column stays, even when it weighs 0 everywhere).
    """
    # a float always: scikit-learn reads an int max_df as a number of documents, so max_df=1
    # (which the options accept as the fraction 1) would drop every word found twice
    max_df = float(max_df) if len(texts) > 1 else 1.0
    if not workers or workers < 2 or len(texts) < 2 * workers:
        counts, terms = _merged([_count(texts)], len(texts))
    else:
        counts, terms = _counted_in_parts(texts, workers)
    if periods is None:
        matrix, terms = _weighted_columns(counts, terms, max_df, len(texts))
    else:
        weigh = functools.partial(_weighted_running, periods=np.asarray(periods, dtype=np.int64), max_df=max_df)
        matrix, terms = _weighted_columns(counts, terms, 1.0, len(texts), weigh)
    matrix.sort_indices()  # duplicate detection compares rows byte for byte
    return matrix, terms


def _empty(n: int) -> tuple[sp.csr_matrix, np.ndarray]:
    """The result for ``n`` texts without a kept word: no columns, no terms."""
    return sp.csr_matrix((n, 0), dtype=np.float32), np.array([], dtype=object)


def _counted_in_parts(texts: Sequence[str], workers: int) -> tuple[sp.csr_matrix, list[str]]:
    """The texts' counts and terms, as :func:`_merged` of one part, counted in ``workers`` forked processes."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    bounds = np.linspace(0, len(texts), workers + 1).astype(int).tolist()
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork"),
                             initializer=_share, initargs=(texts,)) as pool:
        parts = list(pool.map(_count_part, zip(bounds[:-1], bounds[1:])))
    return _merged(parts, len(texts))


def _weighted_columns(counts: sp.csr_matrix, terms: list[str], max_df: float, n: int,
                      weigh: Callable[[sp.csr_matrix], sp.csr_matrix] | None = None
                      ) -> tuple[sp.csr_matrix, np.ndarray]:
    """What CountVectorizer.fit_transform and TfidfVectorizer do with the counts: the words in
    more than ``max_df`` of the texts dropped, the columns sorted by word, the weights."""
    if not terms:
        return _empty(n)
    too_common = np.bincount(counts.indices, minlength=len(terms)) > max_df * n
    if too_common.all():
        return _empty(n)
    kept = np.flatnonzero(~too_common)
    # indexed even when every column is kept, as the vectorizer does: scipy's column
    # selection changes each row's stored order, and with it the float32 norms
    counts, terms = counts[:, kept], [terms[i] for i in kept.tolist()]
    order = sorted(range(len(terms)), key=terms.__getitem__)  # columns by term, as the vectorizer sorts them
    position = np.empty(len(terms), dtype=counts.indices.dtype)
    position[order] = np.arange(len(terms), dtype=counts.indices.dtype)
    counts.indices = position.take(counts.indices)  # renumbered in place: each row's stored order kept
    return (weigh or _weighted)(counts), np.array([terms[i] for i in order], dtype=object)


def _weighted(counts: sp.csr_matrix) -> sp.csr_matrix:
    """``TfidfTransformer(norm="l2", smooth_idf=True, sublinear_tf=True)`` fitted on float32
    ``counts`` and applied to them in place: the same numpy operations, so the same bits."""
    idf = _idf(np.bincount(counts.indices, minlength=counts.shape[1]), counts.shape[0])
    data = counts.data
    np.log(data, out=data)
    data += 1.0
    data *= idf[counts.indices]
    _normalise_rows(data, counts.indptr)
    return counts


def _idf(df: np.ndarray, n: int) -> np.ndarray:
    """The smoothed IDF of ``n`` documents with document frequencies ``df``, in float32 as
    ``TfidfTransformer`` computes it: ``log((1 + n) / (1 + df)) + 1``."""
    df = df.astype(np.float32)
    df += 1.0
    idf = np.full_like(df, fill_value=n + 1, dtype=np.float32)
    idf /= df
    np.log(idf, out=idf)
    idf += 1.0
    return idf


def _weighted_running(counts: sp.csr_matrix, periods: np.ndarray, max_df: float) -> sp.csr_matrix:
    """:func:`_weighted` with a running IDF: the rows of dated period ``p`` weighed by the
    document frequencies of the dated rows of periods ``<= p + 1`` (the IDF an on-line event
    detector keeps from the documents seen so far, Allan, Papka and Lavrenko 1998, plus one
    period so that a period's first days do not weigh by a few days' news); undated rows by
    every row. Each scope's weights are computed as :func:`_weighted` computes the corpus's,
    so a corpus within one period (or two neighbouring ones, for the earlier) gets its bits."""
    data, indices = counts.data, counts.indices
    np.log(data, out=data)
    data += 1.0
    entry_period = np.repeat(periods, np.diff(counts.indptr))
    by_period = np.argsort(entry_period, kind="stable")
    sorted_periods = entry_period[by_period]
    columns = counts.shape[1]
    undated = periods == UNDATED
    if undated.any():
        at = by_period[: int(np.searchsorted(sorted_periods, UNDATED, side="right"))]
        idf = _scoped(np.bincount(indices, minlength=columns), len(periods), max_df)
        data[at] *= idf[indices[at]]
    values, rows = np.unique(periods[~undated], return_counts=True)
    starts = np.searchsorted(sorted_periods, values, side="left")
    stops = np.searchsorted(sorted_periods, values, side="right")
    seen_df, seen_rows, reached = np.zeros(columns, dtype=np.int64), 0, 0
    for i, value in enumerate(values.tolist()):
        while reached < len(values) and values[reached] <= value + 1:  # every period up to the next one
            seen_df += np.bincount(indices[by_period[starts[reached]:stops[reached]]], minlength=columns)
            seen_rows += int(rows[reached])
            reached += 1
        at = by_period[starts[i]:stops[i]]
        data[at] *= _scoped(seen_df, seen_rows, max_df)[indices[at]]
    _normalise_rows(data, counts.indptr)
    if max_df < 1.0:
        counts.eliminate_zeros()
    return counts


def _scoped(df: np.ndarray, n: int, max_df: float) -> np.ndarray:
    """The IDF of a scope of ``n`` rows, 0 for the terms in more than ``max_df`` of them."""
    idf = _idf(df, n)
    if max_df < 1.0 and n > 1:  # as for the corpus: one text alone keeps its words
        idf[df > max_df * n] = 0.0
    return idf


_NORM_BLOCK = 1 << 22  # entries a block of rows: bounds the float64 copies


def _normalise_rows(data: np.ndarray, indptr: np.ndarray) -> None:
    """Each row of a float32 (or float64) CSR matrix divided by its L2 norm, in place, as
    scikit-learn's compiled ``inplace_csr_row_normalize_l2`` does it: the squares, in the
    data's type, added one at a time in stored order to a float64 sum (numpy's own sums pair
    the terms, which changes the sum's last bits and, now and then, an entry's), each entry
    divided in float64 and rounded to the data's type; rows whose sum is 0 left as they are."""
    rows = len(indptr) - 1
    start = 0
    while start < rows:
        # int(): an int32 offset plus the block would wrap past 2**31 under numpy's promotion rules
        stop = min(rows, int(np.searchsorted(indptr, int(indptr[start]) + _NORM_BLOCK, side="right")) - 1)
        stop = max(stop, start + 1)
        _normalise_block(data, indptr[start:stop + 1])
        start = stop


def _normalise_block(data: np.ndarray, indptr: np.ndarray) -> None:
    """:func:`_normalise_rows` for the rows ``indptr`` bounds (offsets into ``data``)."""
    first, last = int(indptr[0]), int(indptr[-1])
    block = data[first:last]
    squares = np.square(block).astype(np.float64)  # products in the data's type, as the loop makes them
    lengths = np.diff(indptr)
    by_length = np.argsort(-lengths, kind="stable")  # the longest rows first
    starts = (indptr[:-1] - first)[by_length]
    minus_lengths = -lengths[by_length]  # ascending, for searchsorted
    sums = np.zeros(len(lengths))
    # the k-th square of every row that has one, added to that row's sum: row by row the
    # additions happen in stored order, as in the loop; rows shorter than k+1 are left out
    for k in range(int(lengths.max(initial=0))):
        rows = int(np.searchsorted(minus_lengths, -k, side="left"))  # rows with more than k entries
        sums[:rows] += squares[starts[:rows] + k]
    norms = np.empty(len(lengths))
    norms[by_length] = np.sqrt(sums)
    norms[norms == 0.0] = 1.0  # an all-zero row is left as it is (x / 1 is x)
    data[first:last] = block.astype(np.float64) / np.repeat(norms, lengths)  # rounded to data's type


_TEXTS: Sequence[str] | None = None  # the run's texts, in a forked worker


def _share(texts: Sequence[str]) -> None:
    global _TEXTS
    _TEXTS = texts


def _count_part(bounds: tuple[int, int]) -> Counted:
    return _count(_TEXTS[bounds[0]:bounds[1]])  # type: ignore[index]


def _count(texts: Sequence[str]) -> Counted:
    """Each text's word counts (:func:`analyze`), columns numbered as the words are first met
    (as the vectorizer does), each row's entries in column order.

    A block of texts at a time: their words in one list, each distinct word looked up once, and
    the (row, column) pairs counted by sorting; a dict per text cost twice as much."""
    numbers: dict[str, int] = {}  # the kept words, as first met
    number_of: dict[str, int] = {}  # every word met: its number, or -1 (a stop word, one character)
    indptr = np.zeros(len(texts) + 1, dtype=np.int64)
    indices, counts = [], []
    for start in range(0, len(texts), _COUNT_BLOCK):
        runs = list(map(_runs, texts[start:start + _COUNT_BLOCK]))
        words = list(itertools.chain.from_iterable(runs))
        for word in dict.fromkeys(words):  # the block's words in the order it meets them
            if word not in number_of:
                number_of[word] = numbers.setdefault(word, len(numbers)) if len(word) > 1 and word not in _STOP_WORDS \
                    else -1
        column = np.fromiter(map(number_of.__getitem__, words), dtype=np.int64, count=len(words))
        row = np.repeat(np.arange(len(runs), dtype=np.int64), np.fromiter(map(len, runs), dtype=np.int64, count=len(runs)))
        kept, width = column >= 0, max(len(numbers), 1)  # a pair's key: row * width + column
        keys = np.sort(row[kept] * width + column[kept])
        first = np.flatnonzero(np.concatenate(([True], keys[1:] != keys[:-1]))) if len(keys) else keys
        pairs = keys[first]
        indices.append(pairs % width)
        counts.append(np.diff(np.append(first, len(keys))).astype(np.intc))
        indptr[start + 1:start + len(runs) + 1] = np.bincount(pairs // width, minlength=len(runs))
    np.cumsum(indptr, out=indptr)
    return list(numbers), indptr, _joined(indices, np.int64), _joined(counts, np.intc)


_COUNT_BLOCK = 4096  # texts a block: bounds the list of their words (tens of bytes a word)


def _joined(arrays: list[np.ndarray], dtype) -> np.ndarray:
    return np.concatenate(arrays) if arrays else np.zeros(0, dtype=dtype)


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
