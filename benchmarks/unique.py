#!/usr/bin/env python3
"""``np.unique`` against ``storygraph.sparse.sorted_unique`` on integer key arrays, side by side.

    python benchmarks/unique.py [--sizes 1000000,4000000,16000000] [--repeat 3]

numpy 2.3 and later find ``np.unique``'s values with a hash table when no index, inverse or
count is asked for. On the large arrays of edge keys a big run builds that was about 100
times slower than sorting (docs/scale.md, "4 December, tenth session"), so the stages use
``sorted_unique``. This prints both, alternated, for random int64 keys (half of them
repeated once, as the similar pairs and related links repeat each other), and whether the
results are equal, so a numpy upgrade can be checked in one command.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from storygraph.sparse import sorted_unique


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000000,4000000,16000000")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(f"numpy {np.__version__}")
    print("| keys | np.unique | sorted_unique | equal |")
    print("|---|---|---|---|")
    rng = np.random.default_rng(0)
    for size in map(int, args.sizes.split(",")):
        distinct = rng.integers(0, 2_000_000**2, size // 2 + size % 2)
        keys = np.concatenate([distinct, distinct[: size // 2]])
        times: dict[str, list[float]] = {"np.unique": [], "sorted_unique": []}
        results = {}
        for _ in range(args.repeat):
            for name, find in (("np.unique", np.unique), ("sorted_unique", sorted_unique)):
                start = time.perf_counter()
                results[name] = find(keys)
                times[name].append(time.perf_counter() - start)
        same = np.array_equal(results["np.unique"], results["sorted_unique"])
        cells = [" / ".join(f"{t:.2f}" for t in times[name]) + " s" for name in times]
        print(f"| {size:,} | {cells[0]} | {cells[1]} | {same} |")


if __name__ == "__main__":
    main()
