#!/usr/bin/env python3
"""Run storygraph's benchmarks and print every figure as a Markdown table.

    python benchmarks/run.py [--only real|synthetic] [--repeat R]
                             [--sizes 10000,100000] [--work DIR] [--storygraph-args "..."]

Every figure is measured in its own subprocess: wall time (perf_counter around the
process) and peak RSS, both from ``os.wait4`` (``ru_maxrss``: the largest single process,
the command itself or its largest reaped worker) and from sampling the summed RSS of
the whole process tree every 0.1 s (Linux only). Tables go to stdout, the exact commands
and progress to stderr. See benchmarks/README.md for what each figure means.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_CORPUS = HERE.parent.parent / "shared" / "corpus"
STAGE_RE = re.compile(r"^\s+([a-z][\w-]*)\s+([0-9.]+) s(?:\s+peak RSS.*)?\s*$")


# --------------------------------------------------------------------------- measuring

@dataclass
class Run:
    cmd: list[str]
    seconds: float
    rc: int
    maxrss_mb: float  # largest single process (wait4)
    tree_mb: float | None  # summed RSS of the process tree, sampled
    stdout: str
    stderr: str
    stages: dict[str, float] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.rc == 0


def _children() -> dict[int, list[int]]:
    kids: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as handle:
                stat = handle.read()
        except OSError:
            continue
        ppid = int(stat[stat.rindex(b")") + 2:].split()[1])
        kids.setdefault(ppid, []).append(int(entry.name))
    return kids


def tree_rss(pid: int, page: int, peaks: dict[int, int] | None = None) -> int:
    """Summed RSS of ``pid`` and its descendants; ``peaks`` (if given) keeps each process's maximum."""
    kids = _children()
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            with open(f"/proc/{p}/statm", "rb") as handle:
                rss = int(handle.read().split()[1]) * page
        except (OSError, IndexError, ValueError):
            continue
        total += rss
        if peaks is not None:
            peaks[p] = max(peaks.get(p, 0), rss)
        todo.extend(kids.get(p, ()))
    return total


def measure(cmd: list[str], env: dict[str, str] | None = None, label: str = "") -> Run:
    """Run ``cmd`` to completion; time it and record its peak memory."""
    print(f"$ {shlex.join(cmd)}", file=sys.stderr, flush=True)
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, env=env)
        peak = [0]
        done = threading.Event()
        sampler = None
        if sys.platform.startswith("linux") and os.path.isdir("/proc"):
            page = os.sysconf("SC_PAGE_SIZE")

            def sample() -> None:
                while not done.wait(0.1):
                    peak[0] = max(peak[0], tree_rss(proc.pid, page))

            sampler = threading.Thread(target=sample, daemon=True)
            sampler.start()
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - started
        done.set()
        proc.returncode = os.waitstatus_to_exitcode(status)
        if sampler:
            sampler.join()
        out.seek(0)
        err.seek(0)
        stdout = out.read().decode("utf-8", "replace")
        stderr = err.read().decode("utf-8", "replace")
    # ru_maxrss is KiB on Linux, bytes on macOS.
    maxrss = usage.ru_maxrss / (1 << 20 if sys.platform == "darwin" else 1 << 10)
    run = Run(cmd, seconds, proc.returncode, maxrss, peak[0] / (1 << 20) if sampler else None, stdout, stderr)
    run.stages = {m.group(1): float(m.group(2)) for m in map(STAGE_RE.match, stderr.splitlines()) if m}
    state = "ok" if run.ok else f"FAILED (exit {run.rc})"
    print(f"  {label or cmd[0]}: {seconds:.2f} s, peak RSS {maxrss:.0f} MB, {state}", file=sys.stderr, flush=True)
    if not run.ok:
        tail = "\n".join(stderr.strip().splitlines()[-15:])
        print(f"  stderr (last lines):\n{tail}", file=sys.stderr, flush=True)
    return run


# --------------------------------------------------------------------------- helpers

def storygraph_cmd() -> list[str]:
    script = Path(sys.executable).with_name("storygraph")
    return [str(script)] if script.exists() else [sys.executable, "-m", "storygraph"]


def has_cache_dir_option(sg: list[str]) -> bool:
    try:
        help_text = subprocess.run(sg + ["cluster", "--help"], capture_output=True, text=True, timeout=120).stdout
    except (OSError, subprocess.SubprocessError):
        return False
    return "--cache-dir" in help_text


def cold_env(cache: Path) -> dict[str, str]:
    """Point every cache location we know of at ``cache``, so 'cold' is cold with or without --cache-dir."""
    env = dict(os.environ)
    env["STORYGRAPH_CACHE_DIR"] = str(cache)
    env["XDG_CACHE_HOME"] = str(cache)
    return env


def cluster_cmd(sg: list[str], content: Path, output: Path, extra: list[str], cache: Path | None) -> list[str]:
    cmd = sg + ["cluster", str(content), "-o", str(output), "-v"]
    if cache is not None:
        cmd += ["--cache-dir", str(cache)]
    return cmd + extra


def corpus_size(root: Path) -> tuple[int, int]:
    files = size = 0
    for path in root.rglob("*"):
        if path.is_file():
            files += 1
            size += path.stat().st_size
    return files, size


def warm_page_cache(root: Path) -> None:
    """Read every file once, so the first timed run does not pay for the disk alone."""
    for path in root.rglob("*"):
        if path.is_file():
            with open(path, "rb") as handle:
                while handle.read(1 << 20):
                    pass


def med(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def fmt(value: float | None, digits: int = 2, suffix: str = "") -> str:
    return "n/a" if value is None else f"{value:,.{digits}f}{suffix}"


def fmt_runs(runs: list[Run]) -> str:
    return ", ".join(f"{r.seconds:.2f}" if r.ok else f"exit {r.rc}" for r in runs)


def table(headers: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def stage_table(named: list[tuple[str, list[Run]]]) -> str | None:
    order: list[str] = []
    for _, runs in named:
        for run in runs:
            order += [s for s in run.stages if s not in order]
    if not order:
        return None
    rows = []
    for stage in order:
        row = [stage]
        for _, runs in named:
            row.append(fmt(med([r.stages[stage] for r in runs if r.ok and stage in r.stages])))
        rows.append(row)
    return table(["stage (from -v), median s"] + [name for name, _ in named], rows)


def emit(text: str = "") -> None:
    print(text, flush=True)


# --------------------------------------------------------------------------- figures

def bench_real(args: argparse.Namespace, sg: list[str], extra: list[str], use_flag: bool, tmp: Path) -> None:
    corpus = Path(args.corpus)
    emit("## Real corpus\n")
    if not corpus.is_dir():
        emit(f"Skipped: {corpus} is absent.\n")
        print(f"real corpus {corpus} absent: skipped", file=sys.stderr)
        return
    files, size = corpus_size(corpus)
    warm_page_cache(corpus)
    baseline, cold, warm = [], [], []
    for rep in range(args.repeat):
        print(f"[real] repetition {rep + 1}/{args.repeat}", file=sys.stderr, flush=True)
        baseline.append(measure([sys.executable, str(HERE / "baseline.py"), str(corpus), str(tmp / "baseline.graphml")],
                                label="baseline"))
        cache = tmp / f"cache-real-{rep}"
        env = cold_env(cache)
        out = tmp / f"storygraph.{args.real_format}"
        cmd = cluster_cmd(sg, corpus, out, extra, cache if use_flag else None)
        cold.append(measure(cmd, env=env, label="storygraph cold"))
        warm.append(measure(cmd, env=env, label="storygraph warm"))
        shutil.rmtree(cache, ignore_errors=True)

    emit(f"`{corpus}`: {files:,} files, {size / 1e6:,.1f} MB. Output: baseline GraphML, "
         f"storygraph {args.real_format}. "
         f"Median of {args.repeat} run(s), run alternately; OS page cache warm for all.\n")
    rows = []
    for name, runs in (("baseline (benchmarks/baseline.py)", baseline), ("storygraph cold (empty cache)", cold),
                       ("storygraph warm (cache filled, files unchanged)", warm)):
        good = [r for r in runs if r.ok]
        rows.append([name, fmt(med([r.seconds for r in good])), fmt_runs(runs),
                     fmt(med([r.maxrss_mb for r in good]), 0), fmt(med([r.tree_mb for r in good if r.tree_mb]), 0)])
    emit(table(["run", "wall s (median)", "all runs (s)", "peak RSS MB, largest process", "peak RSS MB, process tree"],
               rows))
    emit()
    b, c, w = (med([r.seconds for r in runs if r.ok]) for runs in (baseline, cold, warm))
    ratio_bc = b / c if b and c else None
    ratio_cw = c / w if c and w else None
    verdict = "n/a" if ratio_bc is None else ("meets" if ratio_bc >= 8 else "MISSES")
    emit(table(["ratio", "value", "note"], [
        ["baseline / storygraph cold", fmt(ratio_bc, 1, "x"), f"target >= 8x: {verdict}"],
        ["storygraph cold / warm", fmt(ratio_cw, 1, "x"), "what the parse cache saves"],
    ]))
    emit()
    stages = stage_table([("cold", cold), ("warm", warm)])
    if stages:
        emit(stages)
        emit()
    cache_note = "`--cache-dir` per cold run" if use_flag else "no `--cache-dir` option; cache env vars pointed at a fresh folder"
    emit(f"Cache: {cache_note}. Commands on stderr.\n")


def ensure_corpus(args: argparse.Namespace, n: int, work: Path) -> tuple[Path, Path, Run | None]:
    content = work / f"synthetic-{n}-seed{args.seed}"
    truth = Path(str(content) + ".truth.tsv")
    if truth.exists() and content.is_dir():
        print(f"[synthetic] reusing {content}", file=sys.stderr, flush=True)
        return content, truth, None
    if content.exists():  # an interrupted generation: no truth file yet
        shutil.rmtree(content)
    run = measure([sys.executable, str(HERE / "generate.py"), str(n), str(content), "--seed", str(args.seed)],
                  label=f"generate {n:,}")
    if not run.ok:
        raise SystemExit(f"generating {n:,} items failed:\n{run.stderr}")
    return content, truth, run


def bench_synthetic(args: argparse.Namespace, sg: list[str], extra: list[str], use_flag: bool, tmp: Path) -> None:
    emit("## Synthetic corpora\n")
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    results = []
    for n in args.sizes:
        content, truth, gen = ensure_corpus(args, n, work)
        runs, scores = [], None
        for rep in range(args.repeat):
            cache = tmp / f"cache-{n}-{rep}"
            output = tmp / f"synthetic-{n}.stories.json"  # 4.4 KB an item: not kept
            run = measure(cluster_cmd(sg, content, output, extra, cache if use_flag else None),
                          env=cold_env(cache), label=f"storygraph cold {n:,}")
            shutil.rmtree(cache, ignore_errors=True)
            runs.append(run)
            if run.ok and scores is None:
                scored = measure(sg + ["evaluate", str(output), str(truth), "--json"], label="evaluate")
                if scored.ok:
                    scores = json.loads(scored.stdout)
            output.unlink(missing_ok=True)
        results.append((n, content, gen, runs, scores))

    rows = []
    for n, content, gen, runs, scores in results:
        good = [r for r in runs if r.ok]
        gen_s = f"{gen.seconds:.1f} ({n / gen.seconds:,.0f}/s)" if gen else "reused"
        s = scores or {}
        rows.append([f"{n:,}", gen_s, fmt(med([r.seconds for r in good])), fmt_runs(runs),
                     fmt(med([r.maxrss_mb for r in good]), 0), fmt(med([r.tree_mb for r in good if r.tree_mb]), 0),
                     fmt(s.get("bcubed_f1"), 3), fmt(s.get("bcubed_precision"), 3), fmt(s.get("bcubed_recall"), 3),
                     f"{s.get('stories_true', 'n/a')} / {s.get('stories_found', 'n/a')}",
                     str(s.get("missing", "n/a"))])
    emit(f"Seed {args.seed}; corpora under `{args.work}`. storygraph cold (empty cache), "
         f"median of {args.repeat} run(s); scores from `storygraph evaluate --json` on the first run.\n")
    emit(table(["items", "generate s (rate)", "storygraph s (median)", "all runs (s)",
                "peak RSS MB, largest process", "peak RSS MB, process tree", "B-cubed F1", "B-cubed P",
                "B-cubed R", "stories true / found", "missing"], rows))
    emit()
    scaling = []
    for (n0, _, _, r0, s0), (n1, _, _, r1, s1) in zip(results, results[1:]):
        t0 = med([r.seconds for r in r0 if r.ok])
        t1 = med([r.seconds for r in r1 if r.ok])
        f0 = (s0 or {}).get("bcubed_f1")
        f1 = (s1 or {}).get("bcubed_f1")
        scaling.append([f"time({_short(n1)}) / time({_short(n0)})", f"{n1 / n0:g}x",
                        fmt(t1 / t0 if t0 and t1 else None, 2, "x"),
                        fmt(f1 - f0 if f0 is not None and f1 is not None else None, 3)])
    if scaling:
        emit(table(["ratio", "items ratio", "time ratio", "B-cubed F1 difference (larger - smaller)"], scaling))
        emit()
    stages = stage_table([(f"{n:,}", runs) for n, _, _, runs, _ in results])
    if stages:
        emit(stages)
        emit()


def _short(n: int) -> str:
    for unit, div in (("M", 1_000_000), ("k", 1_000)):
        if n >= div and n % div == 0:
            return f"{n // div}{unit}"
    return str(n)


def sizes_arg(text: str) -> list[int]:
    try:
        sizes = [int(s.replace("_", "")) for s in text.split(",") if s.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a comma-separated list of integers: {text!r}") from None
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError(f"sizes must be positive: {text!r}")
    return sizes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", choices=("real", "synthetic"), help="run one group of figures")
    parser.add_argument("--repeat", type=int, default=1, help="runs per figure; the median is reported")
    parser.add_argument("--sizes", type=sizes_arg, default=sizes_arg("10000,100000"),
                        help="synthetic corpus sizes, comma-separated [10000,100000]")
    parser.add_argument("--work", default=os.path.join(tempfile.gettempdir(), "storygraph-bench"),
                        help="where generated corpora are kept and reused [%(default)s]")
    parser.add_argument("--seed", type=int, default=0, help="generator seed [0]")
    parser.add_argument("--corpus", default=str(DEFAULT_CORPUS), help="real corpus folder [%(default)s]")
    parser.add_argument("--real-format", choices=("graphml", "json", "gexf"), default="graphml",
                        help="storygraph's output on the real corpus [graphml, like the baseline]")
    parser.add_argument("--storygraph-args", default="", help="extra flags for every `storygraph cluster` run")
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")

    sg = storygraph_cmd()
    extra = shlex.split(args.storygraph_args)
    use_flag = has_cache_dir_option(sg)
    version = subprocess.run(sg + ["--version"], capture_output=True, text=True).stdout.strip() or "unknown"
    emit("# storygraph benchmarks\n")
    emit(table(["", ""], [
        ["date", time.strftime("%Y-%m-%d %H:%M")],
        ["machine", f"{platform.machine()}, {os.cpu_count()} CPUs, {platform.system()} {platform.release()}"],
        ["load average at start", " ".join(f"{x:.2f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "n/a"],
        ["python", platform.python_version()],
        ["storygraph", f"{version} (`{shlex.join(sg)}`)"],
        ["extra storygraph args", f"`{args.storygraph_args}`" if extra else "none"],
    ]))
    emit()
    with tempfile.TemporaryDirectory(prefix="storygraph-bench-") as tmp:
        if args.only in (None, "real"):
            bench_real(args, sg, extra, use_flag, Path(tmp))
        if args.only in (None, "synthetic"):
            bench_synthetic(args, sg, extra, use_flag, Path(tmp))
    return 0


if __name__ == "__main__":
    sys.exit(main())
