"""The edge interchange file: written by `storygraph edges`, read by `cluster --edges`."""

import builtins
import csv

import numpy as np
import pytest
from click.testing import CliRunner

import storygraph
from storygraph.cli import main
from storygraph.edgefile import EdgeFileError, read_edges
from storygraph.export import render
from storygraph.model import KINDS

from conftest import FIXTURES, item


@pytest.fixture()
def runner():
    return CliRunner()


@pytest.mark.parametrize("suffix", ["csv", "parquet"])
def test_round_trip_clusters_to_identical_bytes(runner, tmp_path, suffix):
    if suffix == "parquet":
        pytest.importorskip("pyarrow")
    edges = tmp_path / f"edges.{suffix}"
    res = runner.invoke(main, ["edges", str(FIXTURES), "-o", str(edges), "-q"])
    assert res.exit_code == 0, res.output
    direct = tmp_path / "direct.json"
    via = tmp_path / "via.json"
    assert runner.invoke(main, ["cluster", str(FIXTURES), "-o", str(direct), "-q"]).exit_code == 0
    res = runner.invoke(main, ["cluster", str(FIXTURES), "--edges", str(edges), "-o", str(via), "-q"])
    assert res.exit_code == 0, res.output
    # the same document, plus the SHA-256 of the edge file it came from
    import hashlib
    import json

    plain, from_file = json.loads(direct.read_bytes()), json.loads(via.read_bytes())
    assert from_file["parameters"].pop("edges_sha256") == hashlib.sha256(edges.read_bytes()).hexdigest()
    assert from_file == plain


def test_csv_has_the_documented_columns_and_every_edge(tmp_path):
    result = storygraph.cluster(FIXTURES)
    built = storygraph.build_graph(FIXTURES)
    path = tmp_path / "e.csv"
    from storygraph.edgefile import write_edges

    write_edges(path, built.table, built.edges)
    rows = list(csv.DictReader(path.open(encoding="utf-8")))
    assert list(rows[0]) == ["source", "target", "kind", "similarity", "weight"]
    assert len(rows) == len(result.edges) > 100
    ids = {n.id for n in result.nodes}
    assert all(r["source"] in ids and r["target"] in ids and r["kind"] in KINDS for r in rows)
    assert {r["kind"] for r in rows} == set(KINDS)


def _table(write_items):
    root = write_items({
        "a.md": item("Quake hits coast", "https://news.com/quake", published="2024-04-03T00:00:00Z"),
        "b.md": item("Coast quake damage", "https://other.com/quake-damage", published="2024-04-04T00:00:00Z"),
        "c.md": item("Quake anniversary", "https://third.com/later", published="2024-06-30T00:00:00Z"),
    })
    return root, storygraph.build_graph(root, use_cache=False)


def test_foreign_file_rows_are_canonicalised_merged_and_accounted_for(write_items, tmp_path):
    root, built = _table(write_items)
    path = tmp_path / "foreign.csv"
    path.write_text(
        "target,source,similarity\n"  # any column order; no kind or weight column
        "https://www.news.com/quake?utm_source=x,https://other.com/quake-damage,0.4\n"  # raw URL: canonicalised
        "https://other.com/quake-damage,https://news.com/quake,0.6\n"  # the same pair reversed: merged, max kept
        "https://news.com/quake,https://third.com/later,0.9\n"  # 88 days apart: weight 0 by the window rule
        "https://nowhere.org/x,https://news.com/quake,0.5\n"  # not in the content: skipped with a notice
        "https://news.com/quake,https://news.com/quake,0.5\n",  # self-loop: skipped with a notice
        encoding="utf-8",
    )
    seconds = built.days * 86400.0
    edges, notices = read_edges(path, built.table, seconds, related_weight=0.5, window_days=7.0)
    index = {n.id: i for i, n in enumerate(built.table.nodes)}
    pairs = {(built.table.nodes[a].id, built.table.nodes[b].id): (k, s, w) for a, b, k, w, s in edges.rows()}
    assert pairs == {
        # a day apart: the similarity counts 6/7 (the edge rule's time kernel)
        ("https://news.com/quake", "https://other.com/quake-damage"): ("similar", 0.6, pytest.approx(0.6 * 6 / 7)),
        ("https://news.com/quake", "https://third.com/later"): ("similar", 0.9, 0.0),
    }
    assert sorted((n.field, n.message) for n in notices) == [
        ("target", "row 4: 'https://nowhere.org/x' is not a node of the content; edge skipped"),
        ("target", "row 5: an edge from a node to itself; skipped"),
    ]
    assert all(n.file == str(path) for n in notices) and len(index) == 3


def test_an_unweighted_file_counts_each_edge_as_one(write_items, tmp_path):
    root, built = _table(write_items)
    path = tmp_path / "plain.csv"
    path.write_text("source,target\nhttps://news.com/quake,https://other.com/quake-damage\n"
                    "https://news.com/quake,https://third.com/later\n", encoding="utf-8")
    edges, _ = read_edges(path, built.table, built.days * 86400.0, related_weight=0.5, window_days=7.0)
    # each edge counts 1, times the time kernel (a day apart: 6/7); the second: 88 days apart
    assert [(w, s) for *_, w, s in edges.rows()] == [(pytest.approx(6 / 7), 0.0), (0.0, 0.0)]
    assert storygraph.cluster(root, edge_file=path, window_days=7.0).stories[0].size == 2


def test_a_folder_of_parquet_parts_is_one_edge_file(tmp_path):
    pq = pytest.importorskip("pyarrow.parquet")
    built = storygraph.build_graph(FIXTURES)
    from storygraph.edgefile import write_edges

    write_edges(tmp_path / "whole.parquet", built.table, built.edges)
    table = pq.read_table(tmp_path / "whole.parquet")
    parts = tmp_path / "parts.parquet"  # as Spark writes it: a folder
    parts.mkdir()
    half = table.num_rows // 2
    pq.write_table(table.slice(0, half), parts / "part-0000.parquet")
    pq.write_table(table.slice(half), parts / "part-0001.parquet")
    whole = storygraph.cluster(FIXTURES, edge_file=tmp_path / "whole.parquet")
    split = storygraph.cluster(FIXTURES, edge_file=parts)
    assert [s.members for s in split.stories] == [s.members for s in whole.stories]
    assert split.edges_sha256 != whole.edges_sha256


def test_weight_and_kind_columns_are_used_as_given(write_items, tmp_path):
    root, built = _table(write_items)
    path = tmp_path / "w.csv"
    path.write_text("source,target,kind,similarity,weight\n"
                    "https://news.com/quake,https://third.com/later,related,0.1,2.5\n"
                    "https://third.com/later,https://news.com/quake,similar,0.3,1.0\n", encoding="utf-8")
    edges, notices = read_edges(path, built.table, built.days * 86400.0, related_weight=0.5, window_days=7.0)
    assert [(k, s, w) for *_, k, w, s in edges.rows()] == [("both", 0.3, 2.5)] and notices == []


@pytest.mark.parametrize(("text", "message"), [
    ("from,to\na,b\n", "no 'source' column \\(columns: 'from', 'to'"),
    ("\ufefftarget,src\na,b\n", "no 'source' column \\(columns: 'target', 'src'"),  # BOM stripped
    ("source,target,similarity\nhttps://news.com/quake,https://other.com/quake-damage,high\n",
     "row 1: similarity 'high': expected a finite number >= 0"),
    ("source,target,weight\nhttps://news.com/quake,https://other.com/quake-damage,-1\n", "row 1: weight '-1'"),
    ("source,target,kind\nhttps://news.com/quake,https://other.com/quake-damage,maybe\n", "row 1: kind 'maybe'"),
    ("source,target\nhttps://news.com/quake\n", "row 1: 1 fields, the header has 2"),
])
def test_malformed_files_name_the_file_row_and_column(write_items, tmp_path, text, message):
    root, built = _table(write_items)
    path = tmp_path / "bad.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(EdgeFileError, match=message) as info:
        read_edges(path, built.table, built.days * 86400.0)
    assert str(path) in str(info.value)


def test_cli_rejects_an_unknown_edge_format_and_a_bad_file(runner, tmp_path):
    res = runner.invoke(main, ["edges", str(FIXTURES), "-o", str(tmp_path / "e.tsv")])
    assert res.exit_code == 2 and ".csv or .parquet" in res.stderr
    bad = tmp_path / "bad.parquet"
    bad.write_bytes(b"not parquet")
    res = runner.invoke(main, ["cluster", str(FIXTURES), "--edges", str(bad), "-o", str(tmp_path / "x.json")])
    assert res.exit_code == 1 and "bad.parquet: not a readable Parquet file" in res.stderr
    assert not (tmp_path / "x.json").exists()


def test_parquet_without_pyarrow_says_what_to_install(monkeypatch, tmp_path):
    real_import = builtins.__import__

    def no_pyarrow(name, *args, **kwargs):
        if name.startswith("pyarrow"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    built = storygraph.build_graph(FIXTURES)
    monkeypatch.setattr(builtins, "__import__", no_pyarrow)
    from storygraph.edgefile import write_edges

    with pytest.raises(storygraph.DependencyError, match=r"pip install 'storygraph\[dask\]'"):
        write_edges(tmp_path / "e.parquet", built.table, built.edges)
    assert not (tmp_path / "e.parquet").exists()


def test_the_two_edge_sources_agree_on_a_written_file(tmp_path):
    # tfidf_edges and file_edges share a signature: either can feed the pipeline; a file written from
    # one gives the other the same edges (with weights recomputed when the file has none)
    from storygraph.edgefile import file_edges, write_edges
    from storygraph.similarity import tfidf_edges

    graph = storygraph.build_graph(FIXTURES, use_cache=False)
    seconds = np.array([n.published.timestamp() if n.published else np.nan for n in graph.table.nodes])
    knobs = dict(related_weight=0.5, window_days=7.0)
    computed, _ = tfidf_edges(graph.table, graph.matrix, seconds, lambda n: None, threshold=0.15, top_k=20, **knobs)
    write_edges(tmp_path / "e.csv", graph.table, computed)
    ticks = []
    read, notices = file_edges(graph.table, graph.matrix, seconds, ticks.append, path=tmp_path / "e.csv", **knobs)
    assert notices == [] and sum(ticks) == len(graph.table.nodes)
    for name in ("left", "right", "kind", "similarity", "weight"):
        assert np.array_equal(getattr(read, name), getattr(computed, name)), name
    rows = (tmp_path / "e.csv").read_text(encoding="utf-8").splitlines()
    (tmp_path / "no-weight.csv").write_text("\n".join(line.rsplit(",", 1)[0] for line in rows) + "\n", encoding="utf-8")
    recomputed, _ = file_edges(graph.table, graph.matrix, seconds, ticks.append, path=tmp_path / "no-weight.csv", **knobs)
    assert np.array_equal(recomputed.weight, computed.weight)  # the same edge rule, graph.edge_weights


def test_edges_of_a_jsonl_input_round_trip(tmp_path):
    path = tmp_path / "items.jsonl"
    path.write_text(
        '{"id": "a", "title": "Solar flare disrupts radio", "publishedDateTime": "2024-05-01T00:00:00Z"}\n'
        '{"id": "b", "title": "Solar flare disrupts radio signals", "publishedDateTime": "2024-05-01T02:00:00Z"}\n'
        '{"id": "c", "title": "Garden show opens", "publishedDateTime": "2024-05-01T03:00:00Z"}\n',
        encoding="utf-8")
    built = storygraph.build_graph(path)
    from storygraph.edgefile import write_edges

    write_edges(tmp_path / "e.csv", built.table, built.edges)
    via = storygraph.cluster(path, edge_file=tmp_path / "e.csv")
    via.edges_sha256 = None
    assert render(via, "json") == render(storygraph.cluster(path), "json")
    assert np.array_equal(built.edges.left, storygraph.cluster(path).edges.left)
