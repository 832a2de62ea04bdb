"""The README's first two commands are the set-up: keep them true.

The first (install + cluster fixtures/) is run for real in a copy of the project;
the second (the test command) is what .ci/run runs: its own extraction of the line is run
and compared with the README's.
"""

import re
import shutil
import subprocess

import networkx as nx
import pytest

from conftest import ROOT


def readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"```sh\n(.*?)```", text, re.S).group(1)
    return [line for line in block.splitlines() if line.strip()]


def test_ci_runs_the_readme_test_line():
    # .ci/run's readme_command function, run as CI runs it, picks the README's second command
    ci = (ROOT / ".ci" / "run").read_text()
    function = re.search(r"^readme_command\(\) \{.*?^\}$", ci, re.S | re.M).group(0)
    picked = subprocess.run(["bash", "-c", f"{function}\nreadme_command 2"], cwd=ROOT, capture_output=True, text=True,
                            check=True).stdout.strip()
    assert picked == readme_commands()[1]
    assert picked.endswith(".venv/bin/python -m pytest -q")


@pytest.mark.slow
def test_first_command_works_in_a_fresh_copy(tmp_path):
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("needs a git checkout to copy the tracked files")
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT, capture_output=True,
                           text=True, check=True).stdout.split("\n")
    copy = tmp_path / "project"
    for rel in filter(None, files):
        src = ROOT / rel
        if src.is_file():
            (copy / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, copy / rel)
    first = readme_commands()[0]
    done = subprocess.run(["bash", "-c", first], cwd=copy, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-2000:]
    graph = nx.read_graphml(copy / "stories.graphml")
    assert graph.number_of_nodes() > 100
    assert "stories" in done.stderr
