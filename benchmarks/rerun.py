#!/usr/bin/env python3
"""Daily re-runs, measured: a cold run, then re-runs with the same cache, side by side.

    python benchmarks/rerun.py [--corpus ../shared/corpus] [--synthetic /tmp/storygraph-bench/synthetic-100000-seed0]
                               [--cluster-args "--idf-scope running"]

1. The real corpus: a cold run (empty cache), then the same command again (nothing
   changed): the issue's target is the re-run >= 5x faster than the cold run.
2. A synthetic corpus (100k by default, made by generate.py if absent): the newest 1% of
   its files are held back, the rest clustered once (filling the cache), the 1% put back,
   and the run repeated with the same cache and ``--previous``: the target is <= 10% of a
   cold run on all of it, peak memory no higher. The files are moved, not copied, and put
   back even when a run fails.

Each figure is its own process (benchmarks/run.py's ``measure``: wall time, peak RSS).
``--cluster-args`` adds options to every ``cluster`` run (the running scope is the one whose
re-runs reuse the older periods' community work).
"""

from __future__ import annotations

import argparse
import shlex
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run as bench  # noqa: E402

HERE = Path(__file__).resolve().parent


EXTRA: list[str] = []  # --cluster-args


def cluster(sg, content: Path, out: Path, cache: Path, *extra: str):
    extra = (*EXTRA, *extra)
    return bench.measure(sg + ["cluster", str(content), "-o", str(out), "-q", "--cache-dir", str(cache), *extra],
                         env=bench.cold_env(cache), label=f"cluster {content.name} {' '.join(extra)}".strip())


def real(sg, corpus: Path, tmp: Path) -> list[list[str]]:
    cache, out = tmp / "real-cache", tmp / "real.json"
    cold = cluster(sg, corpus, out, cache)
    again = cluster(sg, corpus, out, cache)
    ratio = cold.seconds / again.seconds if again.seconds else None
    return [["real corpus, cold (empty cache)", bench.fmt(cold.seconds), bench.fmt(cold.maxrss_mb, 0), ""],
            ["real corpus, nothing changed", bench.fmt(again.seconds), bench.fmt(again.maxrss_mb, 0),
             f"{bench.fmt(ratio, 1, 'x')} faster (target >= 5x: {'met' if ratio and ratio >= 5 else 'MISSED'})"]]


def newest_share(content: Path, share: float) -> list[Path]:
    """The newest ``share`` of the .md files by the date in their name (then path)."""
    files = sorted(content.rglob("*.md"), key=lambda p: (p.name[:10], str(p)))
    return files[len(files) - max(1, int(len(files) * share)):]


def synthetic(sg, content: Path, tmp: Path) -> list[list[str]]:
    cold_cache, out = tmp / "syn-cold-cache", tmp / "syn-all.json"
    cold = cluster(sg, content, out, cold_cache)
    shutil.rmtree(cold_cache, ignore_errors=True)
    held = newest_share(content, 0.01)
    aside = tmp / "held"
    moved = []
    try:
        for path in held:
            target = aside / path.relative_to(content)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(path, target)
            moved.append((target, path))
        cache, before = tmp / "syn-cache", tmp / "syn-99.json"
        first = cluster(sg, content, before, cache)
    finally:
        for target, path in moved:
            shutil.move(target, path)
    again = cluster(sg, content, tmp / "syn-100.json", cache, "--previous", str(before))
    share = again.seconds / cold.seconds if cold.seconds else None
    same = (tmp / "syn-100.json").read_bytes() == out.read_bytes()
    return [[f"{content.name}: cold on all {len(list(content.rglob('*.md'))):,} files", bench.fmt(cold.seconds),
             bench.fmt(cold.maxrss_mb, 0), ""],
            [f"the oldest 99%, cache filled", bench.fmt(first.seconds), bench.fmt(first.maxrss_mb, 0), ""],
            [f"+ the newest 1% ({len(held):,} files), same cache, --previous", bench.fmt(again.seconds),
             bench.fmt(again.maxrss_mb, 0),
             f"{bench.fmt(share * 100 if share else None, 0, '%')} of cold (target <= 10%: "
             f"{'met' if share and share <= 0.10 else 'MISSED'}); memory {'<=' if again.maxrss_mb <= cold.maxrss_mb else '>'} cold"],
            ["the re-run's stories against the cold run's, same files", "", "",
             "byte-identical JSON" if same else f"B-cubed agreement {agreement(out, tmp / 'syn-100.json'):.4f} "
             "(1 = the same stories; with --previous the JSON adds carried ids and changes)"],
            ["stability: the 99% run against the re-run, on the files both hold", "", "",
             f"B-cubed agreement {agreement(before, tmp / 'syn-100.json'):.4f} (1 = no story changed)"]]


def agreement(first: Path, second: Path) -> float:
    """B-cubed F1 of one output's stories against another's, over the files both hold."""
    from storygraph.document import read_document
    from storygraph.evaluate import scores

    a, b = ({f: n["story"] for n in read_document(path)["nodes"] for f in n["files"]} for path in (first, second))
    common = sorted(set(a) & set(b))
    return float(scores([a[f] for f in common], [b[f] for f in common])["bcubed_f1"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=bench.DEFAULT_CORPUS)
    parser.add_argument("--synthetic", type=Path, default=Path(tempfile.gettempdir()) / "storygraph-bench"
                        / "synthetic-100000-seed0")
    parser.add_argument("--cluster-args", default="", help="options for every cluster run, e.g. '--idf-scope running'")
    args = parser.parse_args(argv)
    EXTRA[:] = shlex.split(args.cluster_args)
    sg = bench.storygraph_cmd()
    if not args.synthetic.exists():
        bench.measure([sys.executable, str(HERE / "generate.py"), "100000", str(args.synthetic)], label="generate")
    rows = []
    with tempfile.TemporaryDirectory(prefix="storygraph-rerun-") as tmp:
        if args.corpus.exists():
            rows += real(sg, args.corpus, Path(tmp))
        rows += synthetic(sg, args.synthetic, Path(tmp))
    print(bench.table(["run", "wall s", "peak RSS MB", "against the target"], rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
