"""A run killed during export (SIGKILL: no cleanup runs) leaves the previous output whole.

Outputs are written to a temporary file beside the target and renamed over it only when
complete (``storygraph.io.write_atomic``). A child process is stopped at a known
point (half of the new bytes written; all written but not yet renamed) and killed; the
old output must still be there byte for byte and parse. A killed run can leave its
temporary file behind, named ``.<output name>.<random>.tmp``; nothing else.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from storygraph import ClusterOptions

from conftest import FIXTURES, ROOT

DEFAULT = ClusterOptions().threshold

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX signals")

# Child process: stop at a point of write_atomic (signalling the parent through a marker
# file) and wait to be killed.
_PAUSE = """
import os, sys, time
from pathlib import Path
import storygraph.io as sgio

where, marker = sys.argv[1], Path(sys.argv[2])

def pause():
    marker.write_text(where)
    time.sleep(120)

if where == "mid-write":
    real_fdopen = os.fdopen

    class HalfThenPause:
        def __init__(self, handle):
            self.handle = handle
        def __enter__(self):
            return self
        def __exit__(self, *exc):
            return self.handle.__exit__(*exc)
        def __getattr__(self, name):
            return getattr(self.handle, name)
        def write(self, data):
            self.handle.write(data[: len(data) // 2])
            self.handle.flush()
            pause()

    sgio.os.fdopen = lambda fd, mode: HalfThenPause(real_fdopen(fd, mode))
else:  # "before-rename": every byte written and synced, the rename not done
    real_replace = os.replace
    sgio.os.replace = lambda src, dst: (pause(), real_replace(src, dst))
"""

_WRITE_ATOMIC = _PAUSE + """
sgio.write_atomic(Path(sys.argv[3]), b'{"new": [' + b"1," * 3_000_000 + b'1]}\\n')
"""

_CLI = _PAUSE + """
from storygraph.cli import main
main(["cluster", sys.argv[3], "-o", sys.argv[4], "-q"])
"""


def _kill_when_paused(args: list[str], marker: Path) -> None:
    child = subprocess.Popen([sys.executable, "-c", *args], cwd=ROOT, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while not marker.exists():
            assert child.poll() is None, child.stderr.read().decode()[-2000:]
            assert time.monotonic() < deadline, "the child never reached the pause"
            time.sleep(0.02)
        child.send_signal(signal.SIGKILL)
    finally:
        child.kill()
        child.wait(timeout=30)
        child.stderr.close()
    assert child.returncode == -signal.SIGKILL


def _leftovers(folder: Path, name: str) -> list[Path]:
    others = [p for p in folder.iterdir() if p.name not in (name, "marker")]
    assert all(re.fullmatch(rf"\.{re.escape(name)}\.[^/]+\.tmp", p.name) for p in others), others
    return others


@pytest.mark.parametrize("where", ["mid-write", "before-rename"])
def test_killed_write_atomic_leaves_the_previous_output(tmp_path, where):
    target = tmp_path / "stories.json"
    old = b'{"old": true}\n'
    target.write_bytes(old)
    _kill_when_paused([_WRITE_ATOMIC, where, str(tmp_path / "marker"), str(target)], tmp_path / "marker")
    assert target.read_bytes() == old
    assert json.loads(target.read_bytes()) == {"old": True}
    [temporary] = _leftovers(tmp_path, target.name)  # the killed run's partial file, beside the output
    new_size = len(b'{"new": [') + 2 * 3_000_000 + len(b"1]}\n")
    assert temporary.stat().st_size == (new_size // 2 if where == "mid-write" else new_size)


def test_killed_cli_run_leaves_the_previous_output_and_the_next_run_replaces_it(tmp_path):
    target = tmp_path / "stories.json"
    first = subprocess.run([sys.executable, "-m", "storygraph", "cluster", str(FIXTURES), "-o", str(target), "-q",
                            "--threshold", "0.55"], cwd=ROOT, timeout=300)
    assert first.returncode == 0
    old = target.read_bytes()
    _kill_when_paused([_CLI, "before-rename", str(tmp_path / "marker"), str(FIXTURES), str(target)],
                      tmp_path / "marker")
    assert target.read_bytes() == old
    assert json.loads(old, parse_constant=lambda t: pytest.fail(t))["parameters"]["threshold"] == 0.55
    [temporary] = _leftovers(tmp_path, target.name)
    assert json.loads(temporary.read_bytes())["parameters"]["threshold"] == DEFAULT  # complete, never renamed
    again = subprocess.run([sys.executable, "-m", "storygraph", "cluster", str(FIXTURES), "-o", str(target), "-q"],
                           cwd=ROOT, timeout=300)
    assert again.returncode == 0
    assert json.loads(target.read_bytes())["parameters"]["threshold"] == DEFAULT
    assert _leftovers(tmp_path, target.name) == [temporary]  # a stale temporary is left for the user to delete
