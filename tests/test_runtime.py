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
