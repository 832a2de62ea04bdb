"""Same input and options, same bytes: whatever the order files were created in on disk,
PYTHONHASHSEED, the number of worker processes or a warm parse cache.

The CLI runs in fresh interpreters (hash seeds only differ between processes) over two
copies of one corpus: the sample fixtures, the hostile folder and 300 generated items
(enough for parsing to go to worker processes), each copy written in a different order.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

import hostile
from conftest import FIXTURES, ROOT, item

FORMATS = ("json", "graphml", "gexf")
_DRIVER = (
    "import sys\n"
    "from storygraph.cli import main\n"
    "root, out, *options = sys.argv[1:]\n"
    "for fmt in ('json', 'graphml', 'gexf'):\n"
    "    main(['cluster', root, '-o', f'{out}.{fmt}', '-q', *options], standalone_mode=False)\n"
)


def _generated() -> dict[str, str]:
    """300 items in 30 stories: titles share words within a story, related links across."""
    files = {}
    for i in range(300):
        story, n = divmod(i, 10)
        day = datetime(2024, 5, 1, tzinfo=timezone.utc) + timedelta(days=story % 9, hours=n)
        related = [{"title": f"Story {story} earlier", "webUrl": f"https://gen{story}.example.org/a/{(n + 1) % 10}"}]
        files[f"gen/{story:02d}/{n}.md"] = item(
            f"Story {story} topic{story} event{story * 7} update {n}", f"https://gen{story}.example.org/a/{n}",
            published=day.strftime("%Y-%m-%dT%H:%M:%SZ"), excerpt=f"words{story} more{story} detail {n}",
            related=related)
    return files


def _copy(dest: Path, reverse: bool) -> Path:
    sample = sorted(p for p in FIXTURES.rglob("*") if p.is_file())
    for src in reversed(sample) if reverse else sample:
        target = dest / "sample" / src.relative_to(FIXTURES)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, target)
    generated = _generated()
    for rel in sorted(generated, reverse=reverse):
        (dest / rel).parent.mkdir(parents=True, exist_ok=True)
        (dest / rel).write_text(generated[rel], encoding="utf-8")
    hostile.build(dest / "hostile", reverse=reverse)
    return dest


def _run(root: Path, out: Path, seed: str, cache: Path, *options: str) -> dict[str, bytes]:
    env = {**os.environ, "PYTHONHASHSEED": seed, "STORYGRAPH_CACHE_DIR": str(cache)}
    res = subprocess.run([sys.executable, "-c", _DRIVER, str(root), str(out), *options], env=env, cwd=ROOT,
                         capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr[-3000:]
    return {fmt: Path(f"{out}.{fmt}").read_bytes() for fmt in FORMATS}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("determinism")
    forward, backward = _copy(tmp / "forward", False), _copy(tmp / "backward", True)
    return {
        "seed 1, one process": _run(forward, tmp / "a", "1", tmp / "cache-a", "-j", "1"),
        "seed 2, four processes, other order": _run(backward, tmp / "b", "2", tmp / "cache-b", "-j", "4"),
        "seed 3, warm cache": _run(forward, tmp / "c", "3", tmp / "cache-a", "-j", "2"),
    }


@pytest.mark.slow
@pytest.mark.parametrize("fmt", FORMATS)
def test_outputs_are_byte_identical(runs, fmt):
    outputs = {name: out[fmt] for name, out in runs.items()}
    first = next(iter(outputs.values()))
    assert len(first) > 10_000
    assert {name: data == first for name, data in outputs.items()} == dict.fromkeys(outputs, True)


@pytest.mark.slow
def test_runs_cover_skips_notices_and_stories(runs):
    doc = json.loads(runs["seed 1, one process"]["json"])
    assert doc["stats"]["skipped"] >= len(hostile.SKIPPED) and doc["notices"]
    assert doc["stats"]["stories_multi"] >= 30 and doc["stats"]["inputs"] >= 400


@pytest.mark.slow
def test_no_wall_clock_time_in_outputs(runs):
    now = datetime.now(timezone.utc)
    days = {(now + timedelta(days=d)).strftime(fmt) for d in (-1, 0, 1) for fmt in ("%Y-%m-%d", "%Y%m%d")}
    for fmt, data in runs["seed 1, one process"].items():
        text = data.decode("utf-8")
        assert not [d for d in days if d in text], fmt
        assert not re.search(r"\d{2}:\d{2}:\d{2}\.\d{3,}", text), fmt  # no sub-second clock readings
    doc = json.loads(runs["seed 1, one process"]["json"])
    latest = max(n["published"] for n in doc["nodes"] if n["published"])
    assert f'lastmodifieddate="{latest[:10]}"'.encode() in runs["seed 1, one process"]["gexf"]
