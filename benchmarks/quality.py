"""Story quality of option variants on every labelled set, and sanity on the real corpus.

    python benchmarks/quality.py [--sets fixtures,tweets,synthetic] [--variants NAME,...] [--sanity]

Prints a Markdown table (one row per variant, B-cubed F1 / NMI per set) that
docs/quality.md records, and with --sanity the story-size distribution and the
date spans of the 20 largest stories per real-corpus site under the defaults.
Each variant changes one thing from the defaults, so each default is justified
by the row that differs from it.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

import storygraph
from storygraph.evaluate import evaluate_document, read_truth
from storygraph.export.jsondoc import document

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
SETS = {
    "fixtures": (ROOT / "fixtures/content", ROOT / "fixtures/content.stories.tsv"),
    "tweets": (SHARED / "eval/tweets/articles.jsonl", SHARED / "eval/tweets/articles.jsonl"),
    # made by benchmarks/generate.py on first use (see ensure_synthetic)
    "synthetic": (Path("/tmp/storygraph-bench/synthetic-10000-seed0"),
                  Path("/tmp/storygraph-bench/synthetic-10000-seed0.truth.tsv")),
}
D = storygraph.ClusterOptions()
VARIANTS = {
    "defaults": {},
    "louvain (networkx) at the same resolution": {"algorithm": "louvain"},
    "resolution 1 (plain modularity)": {"resolution": 1.0},
    "resolution 5": {"resolution": 5.0},
    "resolution 12": {"resolution": 12.0},
    "reference_weight 500": {"reference_weight": 500.0},
    "reference_weight 2000": {"reference_weight": 2000.0},
    "threshold 0.3": {"threshold": 0.3},
    "threshold 0.1": {"threshold": 0.1},
    "top_k 10": {"top_k": 10},
    "top_k 30": {"top_k": 30},
    "copies not merged": {"merge_copies": False},
    "title weight 1": {"title_weight": 1},
    "max_df 0.5": {"max_df": 0.5},
    "related_weight 0.25": {"related_weight": 0.25},
    "related_weight 1.0": {"related_weight": 1.0},
    "no related links": {"use_related": False},
    "window 3 days": {"window_days": 3.0},
    "window 14 days": {"window_days": 14.0},
    "label propagation": {"algorithm": "label-propagation"},
}


def score(content: Path, truth: Path, options: dict) -> tuple[dict, float]:
    start = time.perf_counter()
    result = storygraph.cluster(content, D.replace(**options))
    took = time.perf_counter() - start
    return evaluate_document(document(result), read_truth(truth)), took


def ensure_synthetic() -> None:
    folder = SETS["synthetic"][0]
    if not folder.exists():
        import subprocess
        folder.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, str(ROOT / "benchmarks/generate.py"), "10000", str(folder), "--seed", "0"], check=True)


def table(sets: list[str], variants: list[str]) -> None:
    if "synthetic" in sets:
        ensure_synthetic()
    present = [s for s in sets if SETS[s][0].exists()]
    for s in set(sets) - set(present):
        print(f"(skipping {s}: {SETS[s][0]} is absent)", file=sys.stderr)
    head = " | ".join(f"{s} B3 F1 | {s} NMI" for s in present)
    print(f"| variant | {head} |")
    print("|---|" + "---|" * (2 * len(present)))
    for name in variants:
        cells = []
        for s in present:
            scores, took = score(*SETS[s], VARIANTS[name])
            cells += [f"{scores['bcubed_f1']:.3f}", f"{scores['nmi']:.3f}"]
            print(f"  {name} on {s}: {took:.1f} s, {scores['stories_found']} stories", file=sys.stderr)
        print(f"| {name} | " + " | ".join(cells) + " |", flush=True)


def sanity() -> None:
    corpus = SHARED / "corpus"
    if not corpus.exists():
        print(f"(skipping sanity: {corpus} is absent)")
        return
    for site in sorted(p for p in corpus.iterdir() if p.is_dir()):
        result = storygraph.cluster(site)
        sizes = Counter(s.in_corpus for s in result.stories if s.in_corpus)
        spans = [_span_days(result, s) for s in result.stories[:20]]
        multi = [_span_days(result, s) for s in result.stories if s.in_corpus > 1]
        print(f"\n{site.name}: {len(result.stories)} stories, {len(multi)} with 2+ corpus articles")
        print("  sizes (articles in corpus: stories):", ", ".join(f"{k}: {v}" for k, v in sorted(sizes.items())))
        print("  date span in days of the 20 largest:", spans)
        if multi:
            print(f"  multi-article stories: median span {statistics.median(multi)} days, "
                  f"{sum(d > 14 for d in multi)} of {len(multi)} span more than 14 days")


def _span_days(result, story) -> int:
    dates = [result.nodes[i].published for i in story.members if result.nodes[i].in_corpus and result.nodes[i].published]
    return (max(dates) - min(dates)).days if dates else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", default="fixtures,tweets,synthetic")
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--sanity", action="store_true")
    args = parser.parse_args()
    table(args.sets.split(","), args.variants.split(","))
    if args.sanity:
        sanity()


if __name__ == "__main__":
    main()
