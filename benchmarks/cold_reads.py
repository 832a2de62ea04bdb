#!/usr/bin/env python3
"""How fast a cold disk serves a folder of small files: one at a time, with threads, or asked ahead.

    python benchmarks/cold_reads.py FOLDER [FOLDER ...] [--modes one,threads8,ahead64]

Each mode reads every file of its own FOLDER (the next one for the next mode), so that no mode
reads files another has just brought into the page cache. Before each, the page cache is
dropped when this runs as root on Linux (``/proc/sys/vm/drop_caches``); otherwise the figures
say so and are warm. Use folders nothing has read since they were written, such as the
sharded subfolders of a corpus from ``generate.py`` (``0100/``, ``0101/``, ...). Modes:
``one`` reads the files in turn, as a load worker did before 5c18eee; ``threadsN`` reads them
with N threads; ``aheadN`` calls ``storygraph.folder.read_ahead`` (the kernel asked for each of N
files, ``posix_fadvise`` WILLNEED) and then reads them in turn, as the load does a batch.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from storygraph.folder import read_ahead


def read(path: str) -> int:
    fd = os.open(path, os.O_RDONLY)
    try:
        return len(os.read(fd, os.fstat(fd).st_size + 1))
    finally:
        os.close(fd)


def ahead(paths: list[str], n: int) -> None:
    """The load's own read-ahead (storygraph.folder.read_ahead) for each N files, then the reads."""
    for start in range(0, len(paths), n):
        batch = paths[start : start + n]
        read_ahead(Path("/"), batch, 1 << 62)  # absolute paths: the base is not used
        for path in batch:
            read(path)


def run(mode: str, paths: list[str]) -> None:
    if mode == "one":
        for path in paths:
            read(path)
    elif mode.startswith("threads"):
        with ThreadPoolExecutor(int(mode[len("threads"):])) as pool:
            list(pool.map(read, paths))
    elif mode.startswith("ahead"):
        ahead(paths, int(mode[len("ahead"):]))
    else:
        raise SystemExit(f"unknown mode {mode!r}: one, threadsN or aheadN")


def drop_page_cache() -> bool:
    try:
        subprocess.run(["sync"], check=True)
        with open("/proc/sys/vm/drop_caches", "w") as handle:
            handle.write("3\n")
        return True
    except OSError:
        return False


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folders", nargs="+")
    parser.add_argument("--modes", default="one,threads8,ahead64")
    args = parser.parse_args(argv)
    modes = [m for m in args.modes.split(",") if m]
    if len(args.folders) < len(modes):
        parser.error(f"{len(modes)} modes need {len(modes)} folders (one each), got {len(args.folders)}")
    print("| mode | folder | files | seconds | files/s | page cache |")
    print("|---|---|---|---|---|---|")
    for mode, folder in zip(modes, args.folders):
        paths = [os.path.join(folder, name) for name in sorted(os.listdir(folder))]
        paths = [p for p in paths if os.path.isfile(p)]
        cold = drop_page_cache()
        start = time.perf_counter()
        run(mode, paths)
        took = time.perf_counter() - start
        print(f"| {mode} | {folder} | {len(paths):,} | {took:.2f} | {len(paths) / took:,.0f} | "
              f"{'dropped' if cold else 'NOT dropped (not root): warm'} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
