#!/usr/bin/env python3
"""Experiment (not the method): IDF over each period and its neighbours, scored on the dev sets.

    python benchmarks/local_idf.py REACH [--sets synthetic-10k,tweets-stream]
    python benchmarks/local_idf.py 0 --cumulative [--ahead 1] [--sets ...]

With ``--cumulative`` each dated row is weighted instead by the document frequencies of every
row of its own and all earlier periods: the incremental IDF of on-line event detection (Allan,
Papka and Lavrenko 1998, IDF from the documents seen so far). A new day's articles then change
the vectors of the newest period only, and the oldest periods see less of the corpus. With
``--ahead N`` also the next N periods (``--ahead 1`` is the pipeline's ``idf_scope="running"``,
computed here in float64).

Replaces the pipeline's TF-IDF vectors: each dated row is weighted by the document
frequencies of the rows of its own period and ``REACH`` periods on each side (periods as the
community stage cuts them: ``period_windows * window_days`` days from the epoch); undated rows
by the undated rows. REACH -1 keeps the pipeline's own corpus-wide vectors (the baseline in
the same harness). The point of such an IDF: a vector then depends on ``2 * REACH + 1``
periods only, so a re-run after the newest day's articles could reuse every older period.
docs/quality.md ("Tried on the way") holds the numbers and why it was not taken.

The weights are computed in float64 (scikit-learn works in float32), so even REACH large
enough to cover the corpus moves the scores a little: that is the noise of float bits alone.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import CountVectorizer

sys.path.insert(0, str(Path(__file__).resolve().parent))
import quality  # noqa: E402

import storygraph.pipeline as pipeline  # noqa: E402
from storygraph import similarity  # noqa: E402
from storygraph.periods import UNDATED, period_of  # noqa: E402


def local_vectors(texts: list[str], days: np.ndarray, period_days: float, reach: int,
                  max_df: float, cumulative: bool = False, ahead: int = 0) -> tuple[sp.csr_matrix, np.ndarray]:
    """Sublinear-tf, smoothed-IDF, L2-normalised rows with each row's IDF over its periods' rows."""
    counter = CountVectorizer(stop_words="english", strip_accents="unicode", dtype=np.float32)
    counts = counter.fit_transform(texts).tocsr()
    counts.sort_indices()
    present = counts.copy()
    present.data[:] = 1.0
    tf = np.log(counts.data.astype(np.float64)) + 1.0
    out = counts.astype(np.float64)
    period = period_of(days, period_days)
    dated = period != UNDATED
    for p in np.unique(period):
        rows = np.flatnonzero(period == p)
        if p == UNDATED:
            scope = rows
        elif cumulative:
            scope = np.flatnonzero(dated & (period <= p + ahead))
        else:
            scope = np.flatnonzero(dated & (np.abs(period - p) <= reach))
        df = np.asarray(present[scope].sum(axis=0)).ravel()
        idf = np.log((1 + len(scope)) / (1 + df)) + 1.0
        if max_df < 1.0:
            idf[df > max_df * len(scope)] = 0.0
        for r in rows.tolist():
            a, b = out.indptr[r], out.indptr[r + 1]
            v = tf[a:b] * idf[out.indices[a:b]]
            norm = np.sqrt(v @ v)
            out.data[a:b] = v / norm if norm > 0 else 0.0
    out = out.astype(np.float32)
    out.eliminate_zeros()
    out.sort_indices()
    return out, counter.get_feature_names_out()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("reach", type=int, help="neighbour periods on each side; -1: the pipeline's own vectors")
    parser.add_argument("--sets", default="synthetic-10k,tweets-stream", help="comma-separated dev sets")
    parser.add_argument("--cumulative", action="store_true",
                        help="IDF over each period and every earlier one (REACH is then ignored unless -1)")
    parser.add_argument("--ahead", type=int, default=0,
                        help="with --cumulative: also this many later periods (0: the documents seen so far)")
    parser.add_argument("--work", type=Path, default=Path("/tmp/storygraph-bench"))
    args = parser.parse_args(argv)
    own = pipeline._tfidf

    def vectors(table, opts):
        if args.reach < 0 or not opts.period_windows:
            return own(table, opts)
        texts = [similarity.document_text(n.title, n.excerpt, opts.title_weight) for n in table.nodes]
        days = np.array([n.published.timestamp() / 86400 if n.published else np.nan for n in table.nodes])
        return local_vectors(texts, days, opts.period_windows * opts.window_days, args.reach, opts.max_df,
                             args.cumulative, args.ahead)

    pipeline._tfidf = vectors
    for name in args.sets.split(","):
        found = quality.dataset(name, args.work)
        if found is None:
            print(f"{name}: source absent")
            continue
        s, took = quality.score(*found, {})
        label = f"cumulative+{args.ahead}" if args.cumulative and args.reach >= 0 else f"reach {args.reach}"
        print(f"{label} {name}: B3 {s['bcubed_f1']:.3f} NMI {s['nmi']:.3f} "
              f"stories {s['stories_found']:,} ({took:.0f} s)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
