#!/usr/bin/env python3
"""This checkout against a previous release, side by side in one run.

    python benchmarks/compare.py --against /tmp/prev-venv/bin/storygraph CONTENT [CONTENT ...]
                                 [--truth TRUTH ...] [--repeat R] [--format json]

For each CONTENT (a folder or a .jsonl), both ``storygraph cluster`` executables run cold (an
empty cache each time), alternating (this, previous, this, previous, ...) so that a busy
machine slows both alike; the table gives the median wall time, the peak RSS of the largest
process, each one's per-stage times (``-v``) and, with a truth file, B-cubed F1. A previous
release is installed beside the checkout, e.g.::

    git worktree add /tmp/sg-prev v-previous && python3 -m venv /tmp/prev-venv \\
        && /tmp/prev-venv/bin/pip install /tmp/sg-prev
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run as bench  # noqa: E402  (benchmarks/run.py: measure, the process-tree sampler)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("content", nargs="+", type=Path)
    parser.add_argument("--against", required=True, help="the previous release's storygraph executable")
    parser.add_argument("--truth", nargs="*", type=Path, default=[], help="a truth file per CONTENT (optional)")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--format", default="json", choices=("json", "graphml", "gexf"))
    args = parser.parse_args(argv)
    this = bench.storygraph_cmd()
    tools = [("this checkout", this), ("previous", [args.against])]
    print("| corpus | run | wall s (median) | peak RSS MB | stages (s) | B-cubed F1 |")
    print("|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory(prefix="storygraph-compare-") as tmp:
        for k, content in enumerate(args.content):
            truth = args.truth[k] if k < len(args.truth) else None
            runs = {name: [] for name, _ in tools}
            scores = {}
            for rep in range(args.repeat):
                for name, sg in tools:
                    cache = Path(tmp) / f"cache-{rep}-{name.replace(' ', '-')}"
                    out = Path(tmp) / f"out-{name.replace(' ', '-')}.{args.format}"
                    cmd = sg + ["cluster", str(content), "-o", str(out), "-v", "--cache-dir", str(cache)]
                    env = bench.cold_env(cache)
                    if name == "previous":  # a PYTHONPATH pointing at this checkout's copy must not reach it
                        env.pop("PYTHONPATH", None)
                    result = bench.measure(cmd, env=env, label=f"{name} {content.name}")
                    runs[name].append(result)
                    if truth and name not in scores and result.ok and args.format == "json":
                        scored = bench.measure(sg + ["evaluate", str(out), str(truth), "--json"], env=env,
                                               label="evaluate")
                        scores[name] = json.loads(scored.stdout)["bcubed_f1"] if scored.ok else None
                    shutil.rmtree(cache, ignore_errors=True)
                    out.unlink(missing_ok=True)
            base = statistics.median(r.seconds for r in runs["previous"] if r.ok) if any(r.ok for r in runs["previous"]) else None
            for name, _ in tools:
                good = [r for r in runs[name] if r.ok]
                wall = statistics.median(r.seconds for r in good) if good else None
                ratio = f" ({wall / base:.2f}x previous)" if wall and base and name != "previous" else ""
                stages = ", ".join(f"{s} {t:.1f}" for s, t in good[0].stages.items()) if good else ""
                f1 = scores.get(name)
                print(f"| {content.name} | {name} | {bench.fmt(wall)}{ratio} | "
                      f"{bench.fmt(statistics.median(r.maxrss_mb for r in good) if good else None, 0)} | {stages} | "
                      f"{'' if f1 is None else f'{f1:.3f}'} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
