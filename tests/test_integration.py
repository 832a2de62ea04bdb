"""End to end on the real corpus at ../shared/corpus (skips when it is absent)."""

import json
from pathlib import Path

import networkx as nx
import pytest
from click.testing import CliRunner

from storygraph.cli import main

from conftest import needs_shared


@pytest.fixture(scope="module")
def corpus_run(tmp_path_factory):
    corpus = needs_shared("corpus")
    out = tmp_path_factory.mktemp("corpus")
    runner = CliRunner()
    for ext in ("json", "graphml", "gexf"):
        res = runner.invoke(main, ["cluster", str(corpus), "-o", str(out / f"out.{ext}"), "-q"])
        assert res.exit_code == 0, res.output
    return corpus, out


@pytest.mark.slow
def test_every_md_file_is_accounted_for(corpus_run):
    corpus, out = corpus_run
    doc = json.loads((out / "out.json").read_text(encoding="utf-8"))
    on_disk = sorted(p.relative_to(corpus).as_posix() for p in Path(corpus).rglob("*.md"))
    in_nodes = [f for n in doc["nodes"] for f in n["files"]]
    skipped = [s["file"] for s in doc["skipped"]]
    assert sorted(in_nodes + skipped) == on_disk  # each exactly once
    assert all(s["reason"] for s in doc["skipped"])
    assert len(on_disk) >= 4596


@pytest.mark.slow
def test_formats_agree_on_nodes_and_stories(corpus_run):
    _, out = corpus_run
    doc = json.loads((out / "out.json").read_text(encoding="utf-8"))
    ids = {n["id"] for n in doc["nodes"]}
    graphml = nx.read_graphml(out / "out.graphml")
    gexf = nx.read_gexf(out / "out.gexf")
    assert set(graphml.nodes) == ids == set(gexf.nodes)
    assert graphml.number_of_edges() == gexf.number_of_edges() == len(doc["edges"])
    story = {n["id"]: n["story"] for n in doc["nodes"]}
    assert all(graphml.nodes[i]["story"] == story[i] == gexf.nodes[i]["story"] for i in list(ids)[:500])
