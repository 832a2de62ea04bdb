#!/usr/bin/env python3
"""Story quality on every labelled set and density regime, and the real-corpus checks.

    python benchmarks/quality.py                      # the dev-set table (docs/quality.md)
    python benchmarks/quality.py --sets fixtures,tweets-day --variants defaults,modularity
    python benchmarks/quality.py --variants all --sets fast   # one change at a time from the defaults
    python benchmarks/quality.py --sanity             # the real corpus: sizes, spans, events, related pairs

The table has one row per dev set with B-cubed F1, pairwise F1, ARI and NMI (from
``storygraph evaluate``'s functions), the stories found against the true ones, and the
target of the density issue for that row. Sets are made on first use under
``--work`` (default /tmp/storygraph-bench): the tweets variants by
``../shared/eval/tweets/make_variants.py``, the synthetic and dense corpora by
``benchmarks/generate.py`` (seed 0). Sets whose source is absent are skipped with a note.
Runs use the parse cache (results do not depend on it). ``../shared`` is found beside the
checkout, or at ``$STORYGRAPH_SHARED`` (for a benchmark copy of the checkout elsewhere).
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np

import storygraph
from storygraph.evaluate import evaluate_document, read_truth
from storygraph.export.jsondoc import document

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("STORYGRAPH_SHARED", ROOT.parent / "shared"))  # a worktree copy: set it
TWEETS = SHARED / "eval" / "tweets"
CORPUS = SHARED / "corpus"

#: name -> (what it is, target B-cubed F1 or None)
SETS = {
    "tweets-undated": ("tweets as released (30,322 items, 269 clusters), no dates", 0.82),
    "tweets-day": ("the same tweets, all on one day", 0.82),
    "tweets-stream": ("the same tweets, each cluster within 48 h in 60 days", 0.82),
    "fixtures": ("fixtures/content: 108 invented items, 23 stories, same-topic traps", 0.98),
    "synthetic-10k": ("generate.py 10,000: small stories (1-60) over a year", 0.80),
    "synthetic-100k": ("generate.py 100,000: the same at ten times the size", 0.80),
    "dense-10k": ("generate.py --dense 10,000: ~3 events a day of 50-500 outlets, 10 days", 0.90),
    "dense-100k": ("generate.py --dense 100,000: the same over 100 days", 0.90),
}
FAST = ["fixtures", "tweets-day", "tweets-stream", "synthetic-10k", "dense-10k"]

#: One change at a time from the defaults (``--variants``).
VARIANTS = {
    "defaults": {},
    "modularity (the method before 1.2)": {"algorithm": "modularity"},
    "cohesion 0.05": {"cohesion": 0.05},
    "cohesion 0.10": {"cohesion": 0.10},
    "cohesion 0.20": {"cohesion": 0.20},
    "window 3 days": {"window_days": 3.0},
    "window 14 days": {"window_days": 14.0},
    "related_weight 0.5 (fixed)": {"related_weight": 0.5},
    "no related links": {"use_related": False},
    "threshold 0.3": {"threshold": 0.3},
    "top_k 5": {"top_k": 5},
    "top_k 10": {"top_k": 10},
    "top_k 30": {"top_k": 30},
    "label propagation": {"algorithm": "label-propagation"},
    "period_windows 0 (one optimisation as before 1.5)": {"period_windows": 0},
    "period_windows 2": {"period_windows": 2},
    "period_windows 8": {"period_windows": 8},
    "idf_scope running": {"idf_scope": "running"},
}


def dataset(name: str, work: Path) -> tuple[Path, Path] | None:
    """(content, truth) of a dev set, made on first use; None when its source is absent."""
    if name == "fixtures":
        return ROOT / "fixtures/content", ROOT / "fixtures/content.stories.tsv"
    if name.startswith("tweets-"):
        if not (TWEETS / "make_variants.py").exists():
            return None
        out = work / "tweets"
        if not (out / "tweets.truth.tsv").exists():
            subprocess.run([sys.executable, str(TWEETS / "make_variants.py"), str(out)], check=True)
        return out / f"{name}.jsonl", out / "tweets.truth.tsv"
    kind, size = name.split("-")
    n = int(size[:-1]) * 1000
    folder = work / f"{'synthetic' if kind == 'synthetic' else 'dense'}-{n}-seed0"
    truth = Path(str(folder) + ".truth.tsv")
    if not truth.exists():
        args = [sys.executable, str(ROOT / "benchmarks/generate.py"), str(n), str(folder), "--seed", "0"]
        subprocess.run(args + (["--dense"] if kind == "dense" else []), check=True)
    return folder, truth


def score(content: Path, truth: Path, options: dict) -> tuple[dict, float]:
    start = time.perf_counter()
    result = storygraph.cluster(content, **options)
    took = time.perf_counter() - start
    return evaluate_document(document(result), read_truth(truth)), took


def table(sets: list[str], options: dict, work: Path) -> None:
    print("| set | what it is | B-cubed F1 | pairwise F1 | ARI | NMI | stories found / true | target B3 |")
    print("|---|---|---|---|---|---|---|---|")
    for name in sets:
        found = dataset(name, work)
        what, target = SETS[name]
        if found is None:
            print(f"| {name} | {what} | (source absent) | | | | | |", flush=True)
            continue
        s, took = score(*found, options)
        verdict = "" if target is None else f"{target:.2f}: {'met' if s['bcubed_f1'] >= target else 'MISSED'}"
        print(f"| {name} | {what} | {s['bcubed_f1']:.3f} | {s['pairwise_f1']:.3f} | {s['ari']:.3f} | {s['nmi']:.3f} "
              f"| {s['stories_found']:,} / {s['stories_true']:,} | {verdict} |", flush=True)
        print(f"  {name}: {took:.1f} s", file=sys.stderr)


def variants(names: list[str], sets: list[str], work: Path) -> None:
    head = " | ".join(f"{s} B3 / NMI" for s in sets)
    print(f"| variant | {head} |")
    print("|---|" + "---|" * len(sets))
    found = {s: dataset(s, work) for s in sets}
    for name in names:
        cells = []
        for s in sets:
            if found[s] is None:
                cells.append("-")
                continue
            scores, took = score(*found[s], VARIANTS[name])
            cells.append(f"{scores['bcubed_f1']:.3f} / {scores['nmi']:.3f}")
            print(f"  {name} on {s}: {took:.1f} s", file=sys.stderr)
        print(f"| {name} | " + " | ".join(cells) + " |", flush=True)


# ---------------------------------------------------------------------------- the real corpus

#: Big diablo4 events, named by date range and a pattern over the file name's slug.
EVENTS = {
    "BlizzCon 2019 announcement": (("2019-11-01", "2019-11-06"), r"announc|cinematic|blizzcon|unveil|reveal"),
    "December 2022 release-date leak": (("2022-12-05", "2022-12-08"), r"release.*(leak|appeared)|leak.*release|launch-date"),
    "December 2022 release date announced": (("2022-12-08", "2022-12-10"),
                                             r"release-date.*(announc|revealed|confirm|set|trailer|official)|arrives-in-june"),
}


def sanity() -> None:
    if not CORPUS.exists():
        print(f"(skipping the real corpus: {CORPUS} is absent)")
        return
    for site in sorted(p for p in CORPUS.iterdir() if p.is_dir()):
        result = storygraph.cluster(site)
        sizes = Counter(s.in_corpus for s in result.stories if s.in_corpus)
        spans = [_span_days(result, s) for s in result.stories[:20]]
        multi = [_span_days(result, s) for s in result.stories if s.in_corpus > 1]
        print(f"\n{site.name}: {len(result.stories)} stories, {len(multi)} with 2+ corpus articles, "
              f"related weight {result.edges.related_weight:.3f}")
        print("  sizes (articles in corpus: stories):", ", ".join(f"{k}: {v}" for k, v in sorted(sizes.items())))
        print("  date span in days of the 20 largest:", spans)
        if multi:
            print(f"  multi-article stories: median span {statistics.median(multi)} days, "
                  f"{sum(d > 14 for d in multi)} of {len(multi)} span more than 14 days")
        if site.name == "smartable-diablo4":
            _diablo4(site, result)


def _diablo4(site: Path, result) -> None:
    for name, ((lo, hi), pattern) in EVENTS.items():
        members = [i for i, n in enumerate(result.nodes) if n.in_corpus
                   and any(lo <= f[:10] <= hi and re.search(pattern, f[11:]) for f in n.files)]
        stories = Counter(result.story_of[i] for i in members)
        top = stories.most_common(1)[0][1] if stories else 0
        print(f"  {name}: {len(members)} files in {len(stories)} stories, {top} in the largest")
    without = storygraph.cluster(site, use_related=False)
    for label, run in (("with related links", result), ("without them (--no-related)", without)):
        print(f"  related pairs within a day in one story, {label}: {_related_pairs_together(result, run):.3f}")


def _related_pairs_together(linked, run) -> float:
    """Share of the corpus articles' related pairs published within a day of each other
    (from ``linked``, which read the related lists) that ``run`` puts in one story."""
    index = {n.id: i for i, n in enumerate(run.nodes)}
    pairs = linked.table.related
    together = total = 0
    for a, b in pairs.tolist():
        na, nb = linked.nodes[a], linked.nodes[b]
        if not (na.in_corpus and nb.in_corpus and na.published and nb.published):
            continue
        if abs((na.published - nb.published).total_seconds()) > 86400:
            continue
        total += 1
        together += run.story_of[index[na.id]] == run.story_of[index[nb.id]]
    return together / total if total else float("nan")


def _span_days(result, story) -> int:
    dates = [result.nodes[i].published for i in story.members if result.nodes[i].in_corpus and result.nodes[i].published]
    return (max(dates) - min(dates)).days if dates else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", default="all", help="comma-separated set names, 'all' or 'fast'")
    parser.add_argument("--variants", help="comma-separated variant names, or 'all' (default: the table)")
    parser.add_argument("--sanity", action="store_true", help="the real-corpus checks instead")
    parser.add_argument("--work", type=Path, default=Path("/tmp/storygraph-bench"))
    args = parser.parse_args()
    if args.sanity:
        sanity()
        return
    sets = list(SETS) if args.sets == "all" else FAST if args.sets == "fast" else args.sets.split(",")
    unknown = [s for s in sets if s not in SETS]
    if unknown:
        parser.error(f"unknown set {unknown[0]!r}: one of {', '.join(SETS)}")
    args.work.mkdir(parents=True, exist_ok=True)
    if args.variants:
        names = list(VARIANTS) if args.variants == "all" else args.variants.split(",")
        variants(names, sets, args.work)
    else:
        table(sets, {}, args.work)


if __name__ == "__main__":
    main()
