"""JSON, GraphML and GEXF: valid, readable by networkx and lxml, agreeing on nodes."""

import json
from importlib import resources

import jsonschema
import networkx as nx
import pytest
from lxml import etree

import storygraph
from storygraph.errors import ExportError
from storygraph.export import format_for, render, write

from conftest import FIXTURES, item


@pytest.fixture(scope="module")
def result():
    return storygraph.cluster(FIXTURES)


@pytest.fixture(scope="module")
def schema():
    return json.loads(resources.files("storygraph").joinpath("schema/storygraph.schema.json").read_text())


def test_json_matches_schema(result, schema):
    jsonschema.Draft202012Validator.check_schema(schema)
    document = json.loads(render(result, "json"))
    jsonschema.validate(document, schema)
    assert document["schema_version"] == "1.7"
    assert document["parameters"] == storygraph.ClusterOptions().to_dict()


def test_json_is_self_consistent(result):
    doc = json.loads(result.to_json())
    ids = [n["id"] for n in doc["nodes"]]
    assert len(ids) == len(set(ids)) == doc["stats"]["nodes"]
    story_ids = {s["id"] for s in doc["stories"]}
    members = [m for s in doc["stories"] for m in s["members"]]
    assert sorted(members) == sorted(ids)  # every node in exactly one story
    assert all(n["story"] in story_ids for n in doc["nodes"])
    for story in doc["stories"]:
        assert story["size"] == len(story["members"])
        assert all(doc_node_story == story["id"] for doc_node_story in
                   (n["story"] for n in doc["nodes"] if n["id"] in set(story["members"])))
    sizes = [s["size"] for s in doc["stories"]]
    assert sizes == sorted(sizes, reverse=True)
    assert all(e["source"] in set(ids) and e["target"] in set(ids) for e in doc["edges"])
    assert all(not n["files"] for n in doc["nodes"] if not n["in_corpus"])


def test_graphml_reads_back_with_gephi_friendly_keys(result, tmp_path):
    path = tmp_path / "out.graphml"
    result.write(path)
    tree = etree.parse(str(path))
    ns = {"g": "http://graphml.graphdrawing.org/xmlns"}
    key_ids = {k.get("id") for k in tree.findall("g:key", ns)}
    assert {"label", "story", "r", "g", "b", "weight", "kind", "published"} <= key_ids
    assert not any(k.startswith("d") and k[1:].isdigit() for k in key_ids)
    types = {(k.get("for"), k.get("attr.name")): k.get("attr.type") for k in tree.findall("g:key", ns)}
    assert types[("node", "r")] in ("int", "long") and types[("edge", "weight")] == "double"
    assert types[("node", "in_corpus")] == "boolean"
    graph = nx.read_graphml(path)
    doc = json.loads(result.to_json())
    assert set(graph.nodes) == {n["id"] for n in doc["nodes"]}
    assert graph.number_of_edges() == len(doc["edges"])
    first = doc["nodes"][0]
    data = graph.nodes[first["id"]]
    assert data["label"] == first["title"] and data["story"] == first["story"]
    assert all(value is not None for _, d in graph.nodes(data=True) for value in d.values())


def test_gexf_13_reads_back_with_colours(result, tmp_path):
    path = tmp_path / "out.gexf"
    result.write(path)
    root = etree.parse(str(path)).getroot()
    assert root.get("version") == "1.3"
    graph = nx.read_gexf(path)
    doc = json.loads(result.to_json())
    assert set(graph.nodes) == {n["id"] for n in doc["nodes"]}
    colours = {s["id"]: s["color"] for s in doc["stories"]}
    for node in doc["nodes"][:20]:
        c = graph.nodes[node["id"]]["viz"]["color"]
        assert "#{:02x}{:02x}{:02x}".format(c["r"], c["g"], c["b"]) == colours[node["story"]]


def test_outputs_are_byte_identical_across_runs_and_file_order(write_items, tmp_path):
    files = {f"d{i}/{i}.md": item(f"Storm Ciaran batters coast {i % 3}", f"https://n{i}.com/storm", excerpt="storm wind")
             for i in range(12)}
    forward = write_items(files)
    reverse_root = tmp_path / "reverse"
    for rel in sorted(files, reverse=True):  # different creation order on disk
        (reverse_root / rel).parent.mkdir(parents=True, exist_ok=True)
        (reverse_root / rel).write_text(files[rel], encoding="utf-8")
    a, b = storygraph.cluster(forward), storygraph.cluster(reverse_root)
    for fmt in ("json", "graphml", "gexf"):
        assert render(a, fmt) == render(b, fmt)


def test_xml_forbidden_characters_never_reach_xml(write_items, tmp_path):
    root = write_items({"a.md": item("Bell\\a and \\x0b vertical tab <script>]]>", "https://e.com/a")})
    result = storygraph.cluster(root)
    for fmt in ("graphml", "gexf"):
        data = render(result, fmt)
        etree.fromstring(data)  # strict XML parser
        assert b"\x07" not in data and b"\x0b" not in data
    assert json.loads(result.to_json())["nodes"][0]["title"] == "Bell and vertical tab <script>]]>"


def test_format_selection():
    assert format_for("x.GraphML") == "graphml"
    assert format_for("-", "gexf") == "gexf"
    assert format_for("-") == "json"  # stdout: the default format
    with pytest.raises(ExportError, match="extension '.csv'"):
        format_for("x.csv")


def test_write_is_atomic(result, tmp_path, monkeypatch):
    path = tmp_path / "stories.json"
    write(result, path)
    before = path.read_bytes()

    def interrupted(_fd):  # the temporary is written but not yet renamed
        assert len(list(tmp_path.iterdir())) == 2
        raise KeyboardInterrupt

    monkeypatch.setattr("storygraph.io.os.fsync", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write(result, path, "gexf")
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["stories.json"]  # no temporary left behind


def test_writing_is_a_function_that_changes_nothing(result, tmp_path):
    before = (dict(result.timings), dict(result.peak_rss), result.to_json())
    storygraph.write(result, tmp_path / "a.gexf")
    result.write(tmp_path / "b.gexf")  # the delegate
    assert (tmp_path / "a.gexf").read_bytes() == (tmp_path / "b.gexf").read_bytes() == render(result, "gexf")
    assert (dict(result.timings), dict(result.peak_rss), result.to_json()) == before
    assert "export" not in result.timings  # the CLI times the export, not the result


def test_write_into_missing_folder_is_a_clear_error(result, tmp_path):
    with pytest.raises(ExportError, match="does not exist"):
        write(result, tmp_path / "nope" / "x.json")


def _json_dumps_of_document(result) -> bytes:
    from storygraph.export.jsondoc import document

    text = json.dumps(document(result), ensure_ascii=False, allow_nan=False, separators=(",", ":")) + "\n"
    return text.encode("utf-8", "surrogateescape")


def test_streamed_json_is_json_dumps_of_the_document(result):
    """The writer formats edges itself and dumps nodes a block at a time: it must still give
    exactly what one json.dumps of the whole document gives."""
    assert render(result, "json") == _json_dumps_of_document(result)


def test_streamed_json_keeps_every_number_exact(result):
    """Numbers that Python's round and repr treat specially (halves at the 7th decimal, tiny
    values written in exponent form, negative zero, large values) come out as json.dumps writes them."""
    import dataclasses

    import numpy as np

    awkward = np.array([0.0, -0.0, 5e-05, 1.2e-06, 0.1234565, 0.0000005, 2.5e-07, 1e12 + 0.5, 123.4567895, 1.0,
                        -0.3333335, 7e-10], dtype=np.float64)
    count = len(result.edges)
    weights = np.resize(awkward, count)
    sims = np.resize(awkward[::-1], count)
    edges = dataclasses.replace(result.edges, weight=weights, similarity=sims)
    story_similarity = np.resize(awkward, len(result.nodes))
    changed = dataclasses.replace(result, edges=edges, story_similarity=story_similarity)
    assert render(changed, "json") == _json_dumps_of_document(changed)
