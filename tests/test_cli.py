"""The command line, through click's CliRunner: outputs, messages, exit codes."""

import json
import re
import subprocess
import sys

import networkx as nx
import pytest
from click.testing import CliRunner

from storygraph import __version__
from storygraph.cli import main

from conftest import FIXTURES, ROOT, TRUTH


@pytest.fixture
def runner():
    return CliRunner()


def test_cluster_writes_graphml_and_summarises(runner, tmp_path):
    out = tmp_path / "stories.graphml"
    res = runner.invoke(main, ["cluster", str(FIXTURES), "-o", str(out)])
    assert res.exit_code == 0, res.output
    graph = nx.read_graphml(out)
    assert graph.number_of_nodes() > 100
    summary = res.stderr.strip().splitlines()[-2]
    assert re.match(r"storygraph: 109 files, 1 skipped, \d+ nodes, \d+ edges, \d+ stories .* in [\d.]+ s", summary)
    assert res.stdout == ""  # only data goes to stdout


def test_json_on_stdout_is_data_only(runner):
    res = runner.invoke(main, ["cluster", str(FIXTURES), "-o", "-", "--format", "json", "-q"])
    assert res.exit_code == 0
    doc = json.loads(res.stdout)
    assert doc["stories"][0]["size"] >= doc["stories"][-1]["size"]
    assert res.stderr == ""


def test_options_reach_the_output(runner):
    res = runner.invoke(main, ["cluster", str(FIXTURES), "-o", "-", "--format", "json", "-q", "--threshold", "0.45",
                               "--top-k", "3", "--window-days", "2", "--algorithm", "components", "--resolution", "1.5",
                               "--seed", "9", "--no-related"])
    params = json.loads(res.stdout)["parameters"]
    assert params["threshold"] == 0.45 and params["top_k"] == 3 and params["window_days"] == 2
    assert params["algorithm"] == "components" and params["seed"] == 9 and params["use_related"] is False
    assert json.loads(res.stdout)["stats"]["edges_related"] == 0


def test_usage_errors_exit_2(runner, tmp_path):
    assert runner.invoke(main, ["cluster", str(FIXTURES), "-o", "-"]).exit_code == 2
    res = runner.invoke(main, ["cluster", str(FIXTURES), "--threshold", "3"])
    assert res.exit_code == 2 and "threshold=3.0" in res.output
    assert runner.invoke(main, ["cluster", str(tmp_path / "missing")]).exit_code == 2
    res = runner.invoke(main, ["cluster", str(FIXTURES), "-o", str(tmp_path / "x.txt")])
    assert res.exit_code == 2 and "--format" in res.output


def test_strict_fails_naming_the_file(runner, tmp_path):
    res = runner.invoke(main, ["cluster", str(FIXTURES), "-o", str(tmp_path / "x.json"), "--strict"])
    assert res.exit_code == 1
    assert "README.md" in res.stderr and "no front matter" in res.stderr
    assert not (tmp_path / "x.json").exists()


def test_unwritable_output_exits_1(runner, tmp_path):
    res = runner.invoke(main, ["cluster", str(FIXTURES), "-o", str(tmp_path / "no" / "x.json")])
    assert res.exit_code == 1 and "does not exist" in res.stderr


def test_verbose_prints_stage_timings_and_skips(runner, tmp_path):
    res = runner.invoke(main, ["cluster", str(FIXTURES), "-o", str(tmp_path / "x.gexf"), "-v"])
    for stage in ("load", "graph", "similarity", "communities", "stories", "export"):
        assert re.search(rf"^\s+{stage}\s+[\d.]+ s   peak RSS\s+[\d.]+ GB$", res.stderr, re.M), stage
    assert "skipped README.md: no front matter" in res.stderr


def test_version_and_help(runner):
    assert runner.invoke(main, ["--version"]).output.strip() == f"storygraph, version {__version__}"
    text = runner.invoke(main, ["cluster", "--help"]).output
    for flag in ("--threshold", "--top-k", "--window-days", "--algorithm", "--resolution", "--seed",
                 "--no-related", "--strict", "--format"):
        assert flag in text


def test_evaluate_prints_scores(runner, tmp_path):
    out = tmp_path / "s.json"
    runner.invoke(main, ["cluster", str(FIXTURES), "-o", str(out), "-q"])
    res = runner.invoke(main, ["evaluate", str(out), str(TRUTH), "--json"])
    assert res.exit_code == 0
    scores = json.loads(res.stdout)
    assert scores["items"] == 108 and scores["missing"] == 0 and 0 < scores["bcubed_f1"] <= 1
    text = runner.invoke(main, ["evaluate", str(out), str(TRUTH)]).output
    assert re.search(r"^bcubed_f1\s+0\.\d{4}$", text, re.M)
    bad = runner.invoke(main, ["evaluate", str(TRUTH), str(TRUTH)])
    assert bad.exit_code == 1 and "not a storygraph JSON output" in bad.stderr


def test_module_entry_point_runs():
    res = subprocess.run([sys.executable, "-m", "storygraph", "--version"], capture_output=True, text=True, cwd=ROOT)
    assert res.returncode == 0 and __version__ in res.stdout
