#!/usr/bin/env python3
"""The Dask engine against the local path, side by side on one synthetic corpus.

    python benchmarks/dask_scale.py [--size 1000000] [--workers 1,2] [--work /tmp/storygraph-bench]

Runs, one after the other, each in its own process with a fresh parse cache:
``storygraph cluster CORPUS -o out.json -v`` (local: forked parse and similarity
workers, --jobs = cores), then the same with ``--dask local:N`` for each N in
--workers (a LocalCluster of N single-threaded worker processes, started by the
run). Prints a Markdown table on stdout: wall time, the client process's peak
RSS, the largest other process's peak RSS (a Dask worker, nanny or forked parse
worker), the summed peak of the process tree, per-stage times, speedup over the
local run and the scaling efficiency T(1 worker) / (N x T(N workers)). It also
checks that every run wrote byte-identical JSON (SHA-256). Memory is sampled
from /proc every 0.2 s (Linux only).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from run import STAGE_RE, cold_env, storygraph_cmd, tree_rss  # benchmarks/run.py

HERE = Path(__file__).resolve().parent


def sample_tree(pid: int, peaks: dict[int, int], extra: dict, done: threading.Event) -> None:
    page = os.sysconf("SC_PAGE_SIZE")
    while not done.wait(0.2):
        extra["tree"] = max(extra.get("tree", 0), tree_rss(pid, page, peaks))


def run_one(label: str, cmd: list[str], env: dict[str, str]) -> dict:
    print(f"$ {' '.join(cmd)}", file=sys.stderr, flush=True)
    with tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err, env=env)
        peaks: dict[int, int] = {}
        extra: dict = {}
        done = threading.Event()
        sampler = threading.Thread(target=sample_tree, args=(proc.pid, peaks, extra, done), daemon=True)
        sampler.start()
        rc = proc.wait()
        seconds = time.perf_counter() - started
        done.set()
        sampler.join()
        err.seek(0)
        stderr = err.read().decode("utf-8", "replace")
    if rc != 0:
        print(stderr[-3000:], file=sys.stderr)
    others = [v for p, v in peaks.items() if p != proc.pid]
    stages = {m.group(1): float(m.group(2)) for m in map(STAGE_RE.match, stderr.splitlines()) if m}
    print(f"  {label}: {seconds:.1f} s, rc {rc}", file=sys.stderr, flush=True)
    return {"label": label, "seconds": seconds, "rc": rc, "client": peaks.get(proc.pid, 0),
            "worker": max(others, default=0), "tree": extra.get("tree", 0), "stages": stages}


def digest(path: Path) -> str:
    sha = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            sha.update(block)
    return sha.hexdigest()[:16]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--work", type=Path, default=Path("/tmp/storygraph-bench"))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--local-seconds", type=float,
                        help="skip the local run and compare with this wall time from an earlier run.py run")
    args = parser.parse_args()
    corpus = args.work / f"synthetic-{args.size}-seed{args.seed}"
    if not Path(f"{corpus}.truth.tsv").exists():
        subprocess.run([sys.executable, str(HERE / "generate.py"), str(args.size), str(corpus), "--seed", str(args.seed)],
                       check=True)
    sg = storygraph_cmd()
    plans = [] if args.local_seconds else [("local", [])]
    plans += [(f"dask local:{n}", ["--dask", f"local:{n}"]) for n in map(int, args.workers.split(","))]
    results = []
    with tempfile.TemporaryDirectory(dir=args.work) as scratch:
        for number, (label, extra) in enumerate(plans):
            cache = Path(scratch) / f"cache-{number}"
            out = Path(scratch) / f"out-{number}.json"
            cmd = sg + ["cluster", str(corpus), "-o", str(out), "-v", "--cache-dir", str(cache)] + extra
            result = run_one(label, cmd, cold_env(cache))
            result["sha"] = digest(out) if result["rc"] == 0 else "-"
            out.unlink(missing_ok=True)
            results.append(result)
    print_table(args.size, results, args.local_seconds)


def print_table(size: int, results: list[dict], local_seconds: float | None = None) -> None:
    gb = 1 << 30
    local = local_seconds or results[0]["seconds"]
    one = next((r["seconds"] for r in results if r["label"] == "dask local:1"), None)
    stages = ["load", "graph", "similarity", "dask-close", "communities", "stories", "export"]
    print(f"{size:,} synthetic articles, {os.cpu_count()} cores, load average at end {os.getloadavg()[0]:.1f}\n")
    print("| run | wall time | client peak RSS | largest other process | process tree peak | vs local | "
          "scaling efficiency | " + " | ".join(stages) + " | output SHA-256 |")
    print("|---|---|---|---|---|---|---|" + "---|" * len(stages) + "---|")
    for r in results:
        workers = int(r["label"].rsplit(":", 1)[1]) if r["label"].startswith("dask") else None
        efficiency = f"{one / (workers * r['seconds']):.2f}" if workers and one else "-"
        cells = [r["label"], f"{r['seconds']:.0f} s", f"{r['client'] / gb:.1f} GB", f"{r['worker'] / gb:.1f} GB",
                 f"{r['tree'] / gb:.1f} GB", f"{local / r['seconds']:.2f}x", efficiency]
        cells += [f"{r['stages'][s]:.1f}" if s in r["stages"] else "-" for s in stages]
        cells.append(r["sha"] if r["rc"] == 0 else f"FAILED (exit {r['rc']})")
        print("| " + " | ".join(cells) + " |")
    same = len({r["sha"] for r in results}) == 1
    print(f"\nOutputs byte-identical across runs: {'yes' if same else 'NO'}")
    if local_seconds:
        print(f"'vs local' compares with a local run of {local_seconds:.0f} s given by --local-seconds")


if __name__ == "__main__":
    main()
