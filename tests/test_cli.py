"""The command line, through click's CliRunner: outputs, messages, exit codes."""

import json
import re
import subprocess
import sys

import click
import networkx as nx
import pytest
from click.testing import CliRunner

from storygraph import __version__
from storygraph.cli import main

from conftest import FIXTURES, ROOT, TRUTH, md_files, truth_rows, without_front_matter


@pytest.fixture
def runner():
    return CliRunner()


def test_cluster_writes_graphml_and_summarises(runner, tmp_path):
    out = tmp_path / "stories.graphml"
    res = runner.invoke(main, ["cluster", str(FIXTURES), "-o", str(out)])
    assert res.exit_code == 0, res.output
    graph = nx.read_graphml(out)
    files, skipped = len(md_files()), len(without_front_matter())
    assert graph.number_of_nodes() >= files - skipped  # one node per article at least
    summary = res.stderr.strip().splitlines()[-2]
    nodes, edges = graph.number_of_nodes(), graph.number_of_edges()
    assert re.match(rf"storygraph: {files} files, {skipped} skipped, {nodes} nodes, {edges} edges, \d+ stories .* in "
                    r"[\d.]+ s", summary), summary
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


def test_stdout_without_format_is_json(runner):
    plain = runner.invoke(main, ["cluster", str(FIXTURES), "-o", "-", "-q"])
    assert plain.exit_code == 0, plain.stderr
    explicit = runner.invoke(main, ["cluster", str(FIXTURES), "-o", "-", "--format", "json", "-q"])
    assert plain.stdout_bytes == explicit.stdout_bytes
    assert json.loads(plain.stdout)["stats"]["inputs"] == len(list(FIXTURES.rglob("*.md")))


def _no_items(tmp_path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("not a news item", encoding="utf-8")
    (tmp_path / "none.jsonl").write_bytes(b"")
    (tmp_path / "blank.jsonl").write_bytes(b"\n  \n\n")
    return {tmp_path / "empty": "no .md files", tmp_path / "other": "no .md files",
            tmp_path / "none.jsonl": "no non-blank lines", tmp_path / "blank.jsonl": "no non-blank lines"}


@pytest.mark.parametrize("command", ["cluster", "edges"])
def test_content_without_items_is_an_error_naming_it(runner, tmp_path, command):
    out = tmp_path / ("x.json" if command == "cluster" else "x.csv")
    for content, why in _no_items(tmp_path).items():
        res = runner.invoke(main, [command, str(content), "-o", str(out)])
        assert res.exit_code == 1, (content, res.output)
        assert res.stderr == f"storygraph: error: {content}: no news items to cluster ({why})\n"
        assert not out.exists()


def test_errors_are_click_exceptions_with_exit_1(runner, tmp_path):
    res = runner.invoke(main, ["cluster", str(FIXTURES), "-o", str(tmp_path / "no" / "x.json")],
                        standalone_mode=False)
    assert isinstance(res.exception, click.ClickException) and res.exception.exit_code == 1
    shown = runner.invoke(main, ["cluster", str(FIXTURES), "-o", str(tmp_path / "no" / "x.json")])
    assert shown.exit_code == 1
    assert shown.stderr == f"storygraph: error: {tmp_path / 'no' / 'x.json'}: folder {tmp_path / 'no'} does not exist\n"


def test_usage_errors_exit_2(runner, tmp_path):
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
    assert scores["items"] == truth_rows() and scores["missing"] == 0 and 0 < scores["bcubed_f1"] <= 1
    text = runner.invoke(main, ["evaluate", str(out), str(TRUTH)]).output
    assert re.search(r"^bcubed_f1\s+0\.\d{4}$", text, re.M)
    bad = runner.invoke(main, ["evaluate", str(TRUTH), str(TRUTH)])
    assert bad.exit_code == 1 and "not a storygraph JSON output" in bad.stderr


def test_import_and_help_stay_light():
    # the pipeline (scikit-learn, networkx) loads on first use, not for `import storygraph` or --help
    script = ("import sys, storygraph, storygraph.cli\n"
              "from click.testing import CliRunner\n"
              "CliRunner().invoke(storygraph.cli.main, ['cluster', '--help'])\n"
              "print(sorted(m for m in ('sklearn', 'networkx', 'scipy') if m in sys.modules))")
    res = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "[]"


def test_module_entry_point_runs():
    res = subprocess.run([sys.executable, "-m", "storygraph", "--version"], capture_output=True, text=True, cwd=ROOT)
    assert res.returncode == 0 and __version__ in res.stdout


def test_executable_exits_at_once_with_its_output_whole(tmp_path):
    # the executable ends a finished `cluster` with os._exit: stdout and stderr must be flushed first
    res = subprocess.run([sys.executable, "-m", "storygraph", "cluster", str(FIXTURES), "-o", "-", "--no-cache", "-v"],
                         capture_output=True, text=True, cwd=ROOT)
    assert res.returncode == 0, res.stderr
    doc = json.loads(res.stdout)  # a truncated document would not parse
    assert len(doc["nodes"]) > 100
    assert re.search(r"^  export\s+[0-9.]+ s", res.stderr, re.M)
    assert re.search(r"^storygraph: \d+ files, .* -> stdout in [0-9.]+ s$", res.stderr, re.M)


def test_exit_at_once_returns_when_stdout_cannot_be_flushed(monkeypatch):
    from storygraph.runtime import exit_at_once

    class Closed:
        def flush(self):
            raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setattr(sys, "stdout", Closed())
    exit_at_once()  # returns (the normal way out reports the error); os._exit would end pytest here
