"""The similarity search's block paths side by side on one corpus: the same pairs, how long.

Loads a corpus (a folder or .jsonl), vectorises it as a run does, then runs
``similar_pairs`` (the blocks one after the other, in this process) once per path and repeat,
the paths alternated, and checks that every path found the same pairs bit for bit:

- ``maxscore``: the compiled MaxScore search (needs numba: ``pip install 'storygraph[fast]'``);
- ``topn``: sparse_dot_topn's threshold-aware product;
- ``scipy``: scipy's whole product (slow at density; leave it out with ``--paths``).

    python benchmarks/similarity_paths.py CORPUS [--paths maxscore,topn] [--repeat 2] [--limit N]

``--limit N`` takes the first N files in path order (the generator writes folders in date
order, so the first 100,000 files of the 1M corpus are its density over 36 days).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from storygraph import similarity
from storygraph.graph import build_nodes, days
from storygraph.load import load
from storygraph.options import ClusterOptions
from storygraph.sources import open_source


def matrix_of(corpus: str, limit: int | None):
    """The run's TF-IDF matrix and days for ``corpus`` (its first ``limit`` paths if given)."""
    opts = ClusterOptions()
    source = open_source(corpus, opts.max_file_bytes)
    if limit:
        source.paths = source.paths[:limit]
    loaded = load(source)
    table = build_nodes(loaded.articles, opts.use_related)
    texts = [similarity.document_text(n.title, n.excerpt, opts.title_weight) for n in table.nodes]
    matrix, _ = similarity.tfidf_matrix(texts, opts.max_df, workers=2)
    seconds = np.array([n.published.timestamp() if n.published else np.nan for n in table.nodes])
    return matrix, days(seconds), opts


def run_path(path: str, matrix, day, opts) -> tuple[float, object]:
    saved = similarity._sp_matmul_topn, similarity._maxscore
    try:
        if path != "maxscore":
            similarity._maxscore = None
        if path == "scipy":
            similarity._sp_matmul_topn = None
        start = time.perf_counter()
        pairs = similarity.similar_pairs(matrix, day, threshold=opts.threshold, top_k=opts.top_k,
                                         window_days=opts.window_days, chunk_size=opts.chunk_size)
        return time.perf_counter() - start, pairs
    finally:
        similarity._sp_matmul_topn, similarity._maxscore = saved


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus")
    parser.add_argument("--paths", default="maxscore,topn")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--limit", type=int)
    args = parser.parse_args()
    start = time.perf_counter()
    matrix, day, opts = matrix_of(args.corpus, args.limit)
    print(f"{matrix.shape[0]:,} rows, {matrix.nnz:,} entries, loaded and vectorised in "
          f"{time.perf_counter() - start:.1f} s", flush=True)
    paths = args.paths.split(",")
    if "maxscore" in paths:  # compile (or load the compiled code) outside the timing
        similarity.warm_up()
    times: dict[str, list[float]] = {p: [] for p in paths}
    first = None
    same = True
    for _ in range(args.repeat):
        for path in paths:
            seconds, pairs = run_path(path, matrix, day, opts)
            times[path].append(seconds)
            got = (pairs.left, pairs.right, pairs.similarity)
            if first is None:
                first = got
            same = same and all(np.array_equal(a, b) for a, b in zip(first, got))
            print(f"  {path}: {seconds:.2f} s, {len(pairs.left):,} pairs", flush=True)
    for path in paths:
        print(f"{path:>9}: " + " / ".join(f"{t:.2f}" for t in times[path]) + " s")
    print("pairs identical on every path and run:", "yes" if same else "NO")


if __name__ == "__main__":
    main()
