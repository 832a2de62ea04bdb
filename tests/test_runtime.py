"""The cyclic collector is paused during a run and left as the caller had it."""

import contextlib
import gc

import pytest

import storygraph
from storygraph.runtime import paused_gc

FIXTURES = "fixtures/content"


@pytest.mark.parametrize("enabled", [True, False])
def test_a_run_pauses_the_collector_and_restores_the_callers_state(enabled):
    seen = []

    @contextlib.contextmanager
    def progress(stage, total):
        seen.append(gc.isenabled())
        yield lambda n: None

    (gc.enable if enabled else gc.disable)()
    try:
        storygraph.cluster(FIXTURES, progress=progress)
        assert gc.isenabled() is enabled
    finally:
        gc.enable()
    assert seen and not any(seen)


def test_the_state_comes_back_after_an_error():
    assert gc.isenabled()
    with pytest.raises(ZeroDivisionError), paused_gc():
        assert not gc.isenabled()
        1 / 0
    assert gc.isenabled()


def test_nothing_of_a_run_needs_the_cyclic_collector():
    # If a run made reference cycles, a pause would grow memory: here it leaves no garbage.
    gc.collect()
    storygraph.cluster(FIXTURES)
    assert gc.collect() == 0


def test_the_executable_leaves_the_collector_off_until_it_exits():
    import subprocess
    import sys

    code = ("import atexit, gc; atexit.register(lambda: print('collector on:', gc.isenabled())); "
            "from storygraph.cli import run; run()")
    done = subprocess.run([sys.executable, "-c", code, "--version"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "storygraph" in done.stdout and "collector on: False" in done.stdout


def test_a_remembered_file_digest_follows_the_file(tmp_path):
    # the digest is remembered by the file's state: the same bytes give the same digest, and a
    # rewrite of the same size (a new ctime) is hashed again, never served from memory
    import hashlib
    import os

    from storygraph.io import file_sha256

    path = tmp_path / "previous.json"
    path.write_bytes(b"a" * 1000)
    assert file_sha256(path) == hashlib.sha256(b"a" * 1000).hexdigest()
    path.write_bytes(b"b" * 1000)
    os.utime(path, ns=(1, 1))  # even with the old mtime back, the ctime moved
    assert file_sha256(path) == hashlib.sha256(b"b" * 1000).hexdigest()
    folder = tmp_path / "edges"
    folder.mkdir()
    (folder / "part-0.csv").write_bytes(b"x")
    first = file_sha256(folder)
    (folder / "part-0.csv").write_bytes(b"y")
    assert file_sha256(folder) != first  # a folder is hashed each time
