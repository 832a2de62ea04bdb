"""Daily re-runs: a run whose inputs and options did not change keeps its output; the cache
survives damage, upgrades and a killed re-run; `storygraph cache info/clear`."""

from __future__ import annotations

import errno
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from storygraph import runcache
from storygraph.cache import FORMAT
from storygraph.cli import main

from conftest import FIXTURES, ROOT


def cluster(content, out, cache, *extra):
    result = CliRunner().invoke(main, ["cluster", str(content), "-o", str(out), "--cache-dir", str(cache), *extra])
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture
def content(tmp_path):
    folder = tmp_path / "content"
    shutil.copytree(FIXTURES, folder)
    return folder


def test_an_unchanged_rerun_keeps_the_output_without_running(content, tmp_path, monkeypatch):
    out, cache = tmp_path / "out.json", tmp_path / "cache"
    first = cluster(content, out, cache)
    assert "kept as it is" not in first
    data, state = out.read_bytes(), os.stat(out)
    import storygraph.pipeline as pipeline

    monkeypatch.setattr(pipeline, "cluster", lambda *a, **k: pytest.fail("the pipeline ran"))
    again = cluster(content, out, cache)
    assert "no input or option changed since the run that wrote it: kept as it is" in again
    assert out.read_bytes() == data and os.stat(out).st_mtime_ns == state.st_mtime_ns
    # another output path with the same run: a copy of the recorded bytes
    other = tmp_path / "other.json"
    cluster(content, other, cache)
    assert other.read_bytes() == data


@pytest.mark.parametrize("change", ["edit a file", "add a file", "an option", "the output edited", "another format",
                                    "storygraph's code", "a library's version"])
def test_any_change_runs_again_and_gives_a_fresh_runs_bytes(content, tmp_path, change, monkeypatch):
    out, cache = tmp_path / "out.json", tmp_path / "cache"
    cluster(content, out, cache)
    extra = []
    if change == "edit a file":
        victim = next(content.rglob("*.md"))
        victim.write_text(victim.read_text(encoding="utf-8").replace("title: \"", "title: \"Updated: ", 1), encoding="utf-8")
    elif change == "add a file":
        shutil.copy(next(content.rglob("*.md")), content / "copy-of-one.md")
    elif change == "an option":
        extra = ["--threshold", "0.2"]
    elif change == "the output edited":
        out.write_bytes(out.read_bytes() + b" ")
    elif change == "another format":
        out = tmp_path / "out.graphml"
    elif change == "storygraph's code":  # an upgrade that kept the version string
        monkeypatch.setattr(runcache, "code_digest", lambda: "0" * 64)
    elif change == "a library's version":
        real = runcache.library_versions
        monkeypatch.setattr(runcache, "library_versions", lambda: {**real(), "igraph": "99.0"})
    output = cluster(content, out, cache, *extra)
    assert "kept as it is" not in output
    fresh = tmp_path / f"fresh{out.suffix}"
    cluster(content, fresh, tmp_path / "empty-cache", *extra)
    assert out.read_bytes() == fresh.read_bytes()


def test_a_damaged_run_record_is_a_miss(content, tmp_path):
    out, cache = tmp_path / "out.json", tmp_path / "cache"
    cluster(content, out, cache)
    for record in (cache / runcache.RUNS).glob("*.json"):
        record.write_text("{not json", encoding="utf-8")
    assert "kept as it is" not in cluster(content, out, cache)


def test_a_damaged_cache_file_is_set_aside_once_and_rebuilt(content, tmp_path):
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / f"parse-v{FORMAT}.sqlite").write_bytes(b"this is not a database" * 100)
    out = tmp_path / "out.json"
    first = cluster(content, out, cache, "-v")
    assert "was damaged (file is not a database); set aside as" in first
    assert len(list(cache.glob(f"parse-v{FORMAT}.sqlite.damaged-*"))) == 1
    second = cluster(content, tmp_path / "again.json", cache, "-v")
    # a run that met a damaged cache is not recorded for reuse: its notice is not of the input
    assert "kept as it is" not in second
    assert "was damaged" not in second and "disabled" not in second
    count = sqlite3.connect(cache / f"parse-v{FORMAT}.sqlite").execute("SELECT count(*) FROM entries").fetchone()[0]
    assert count == len(list(content.rglob("*.md")))


def test_cache_info_and_clear(content, tmp_path):
    cache = tmp_path / "cache"
    cluster(content, tmp_path / "out.json", cache)
    (cache / "parse-v1.sqlite").write_bytes(b"an old version's cache")
    info = CliRunner().invoke(main, ["cache", "info", "--cache-dir", str(cache)])
    assert info.exit_code == 0
    files = len(list(content.rglob("*.md")))
    assert f"parse cache parse-v{FORMAT}.sqlite: {files} parsed files" in info.output
    assert "parse-v1.sqlite" in info.output and "1 recorded outputs" in info.output
    assert re.search(r"solved      solved-v1.sqlite: [1-9]\d* similarity blocks, [1-9]\d* periods", info.output)
    (cache / "mine.txt").write_text("not storygraph's")
    cleared = CliRunner().invoke(main, ["cache", "clear", "--cache-dir", str(cache)])
    assert cleared.exit_code == 0 and "cleared" in cleared.output
    assert sorted(p.name for p in cache.rglob("*") if p.is_file()) == ["mine.txt"]


_KILL_DURING_LOAD = """
import sys, time
from pathlib import Path
import storygraph.folder as folder
from storygraph.cli import main

real, marker = folder.read_item, Path(sys.argv[1])
count = [0]

def slow(*args, **kwargs):
    count[0] += 1
    if count[0] == 20:
        marker.write_text("reading")
        time.sleep(120)
    return real(*args, **kwargs)

folder.read_item = slow
sys.argv = ["storygraph", "cluster", sys.argv[2], "-o", sys.argv[3], "--cache-dir", sys.argv[4], "-j", "1", "-q"]
main()
"""


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX signals")
def test_a_rerun_killed_midway_leaves_the_output_and_the_cache_usable(content, tmp_path):
    out, cache, marker = tmp_path / "out.json", tmp_path / "cache", tmp_path / "marker"
    cluster(content, out, cache)
    before = out.read_bytes()
    for path in sorted(content.rglob("*.md"))[:40]:  # forty files changed: the re-run parses them
        path.write_text(path.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    child = subprocess.Popen([sys.executable, "-c", _KILL_DURING_LOAD, str(marker), str(content), str(out), str(cache)],
                             cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    deadline = time.time() + 120
    while not marker.exists() and time.time() < deadline and child.poll() is None:
        time.sleep(0.05)
    assert marker.exists(), "the re-run never reached its pause"
    child.send_signal(signal.SIGKILL)
    child.wait()
    assert out.read_bytes() == before  # the previous output, whole
    cluster(content, out, cache)
    fresh = tmp_path / "fresh.json"
    cluster(content, fresh, tmp_path / "empty-cache")
    assert out.read_bytes() == fresh.read_bytes()


def test_a_run_walks_its_folder_once(tmp_path, monkeypatch):
    # the run record's fingerprint and the run share one listing of the folder
    from storygraph import folder

    walked, walk = [], folder.iter_markdown
    monkeypatch.setattr(folder, "iter_markdown", lambda base: (walked.append(base), walk(base))[1])
    done = CliRunner().invoke(main, ["cluster", str(FIXTURES), "-o", str(tmp_path / "out.json"), "-q",
                                     "--cache-dir", str(tmp_path / "cache")])
    assert done.exit_code == 0, done.output
    assert len(walked) == 1


def test_a_cli_run_states_each_input_file_once(tmp_path, monkeypatch):
    # the run record's fingerprint and the parse cache's keys share one stat of each file
    # (they were two, about a second each at 100k files); a second run states them anew
    import collections

    counts = collections.Counter()
    real = os.stat

    def counting(path, *args, **kwargs):
        if os.fspath(path).endswith(".md"):
            counts[os.fspath(path)] += 1
        return real(path, *args, **kwargs)

    monkeypatch.setattr(os, "stat", counting)
    for round in (1, 2):
        counts.clear()
        out = tmp_path / f"out{round}.json"
        result = CliRunner().invoke(main, ["cluster", str(FIXTURES), "-o", str(out), "--cache-dir", str(tmp_path / "c"), "-q"])
        assert result.exit_code == 0, result.output
        assert len(counts) >= 100 and set(counts.values()) == {1}, collections.Counter(counts.values())


def test_the_fingerprint_lines_from_shared_states_are_the_stat_lines(tmp_path):
    from storygraph.folder import file_states

    (tmp_path / "a.md").write_text("x", encoding="utf-8")
    (tmp_path / "b.md").symlink_to(tmp_path / "nowhere.md")  # stat fails: ENOENT
    paths = ["a.md", "b.md", "c.md"]  # c.md: never there
    states = file_states(os.fspath(tmp_path), paths)
    lines = [runcache._line(rel, *row) for rel, row in zip(paths, states.rows(0, len(paths)))]
    assert lines == [runcache._state(os.path.join(tmp_path, rel), rel) for rel in paths]
    assert lines[1] == f"b.md\0missing:{errno.ENOENT}\n"


def test_file_states_keep_an_inode_past_int64():
    from storygraph.folder import FileStates

    big = 2**64 - 5
    states = FileStates(np.array([[10, 20, 30]], dtype=np.int64), np.array([big], dtype=np.uint64))
    assert list(states.rows(0, 1)) == [(10, 20, big, 30)]
