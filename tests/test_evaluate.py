"""Metrics on small cases computed by hand, truth files, and JSON Lines input."""

import json

import pytest

import storygraph
from storygraph.errors import InputError
from storygraph.evaluate import evaluate_document, read_truth, scores
from storygraph.export.jsondoc import document

from conftest import item


def test_perfect_clustering_scores_one():
    s = scores(["a", "a", "b"], [7, 7, 9])
    for key in ("pairwise_f1", "bcubed_f1", "ari", "nmi", "ami"):
        assert s[key] == pytest.approx(1.0)
    assert s["stories_true"] == s["stories_found"] == 2


def test_hand_computed_case():
    # truth {0,1,2} {3}; predicted {0,1} {2,3}
    s = scores(["a", "a", "a", "b"], [1, 1, 2, 2])
    # pairs: predicted (0,1),(2,3); true (0,1),(0,2),(1,2); shared (0,1)
    assert s["pairwise_precision"] == pytest.approx(1 / 2)
    assert s["pairwise_recall"] == pytest.approx(1 / 3)
    assert s["pairwise_f1"] == pytest.approx(2 * (1 / 2) * (1 / 3) / (1 / 2 + 1 / 3))
    # B-cubed precision per item: 2/2, 2/2, 1/2, 1/2; recall: 2/3, 2/3, 1/3, 1/1
    assert s["bcubed_precision"] == pytest.approx(0.75)
    assert s["bcubed_recall"] == pytest.approx((2 / 3 + 2 / 3 + 1 / 3 + 1) / 4)
    assert s["ari"] == pytest.approx(0.0)


def test_all_singletons_have_perfect_precision_and_poor_recall():
    s = scores(["a"] * 4, [1, 2, 3, 4])
    assert s["bcubed_precision"] == 1.0 and s["bcubed_recall"] == pytest.approx(0.25)
    assert s["pairwise_precision"] == 1.0 and s["pairwise_recall"] == 0.0
    assert s["nmi"] == pytest.approx(0.0)


def test_nmi_uses_geometric_normalisation():
    from sklearn.metrics import normalized_mutual_info_score as nmi

    truth, pred = ["a", "a", "b", "b", "c"], [1, 1, 1, 2, 2]
    assert scores(truth, pred)["nmi"] == pytest.approx(nmi(truth, pred, average_method="geometric"))
    assert scores(truth, pred)["nmi"] != pytest.approx(nmi(truth, pred, average_method="arithmetic"))


def test_truth_files(tmp_path):
    tsv = tmp_path / "t.tsv"
    tsv.write_text("file\tstory\na.md\tx\nb.md\ty\n", encoding="utf-8")
    assert read_truth(tsv) == {"a.md": "x", "b.md": "y"}
    jl = tmp_path / "t.jsonl"
    jl.write_text('{"id": "i1", "label": 3}\n\n{"file": "c.md", "label": "z"}\n', encoding="utf-8")
    assert read_truth(jl) == {"i1": "3", "c.md": "z"}
    jl.write_text('{"id": "i1"}\n', encoding="utf-8")
    with pytest.raises(InputError, match="t.jsonl:1"):
        read_truth(jl)


def test_jsonl_input_clusters_and_evaluates(tmp_path):
    rows = [{"id": f"q{i}", "title": f"volcano erupts iceland flights cancelled {i % 2}", "label": "volcano"}
            for i in range(5)]
    rows += [{"id": f"m{i}", "title": f"central bank raises interest rates again {i % 2}", "label": "rates"}
             for i in range(4)]
    rows.append({"id": "u1", "title": "https url item", "webUrl": "https://example.com/x", "label": "u"})
    path = tmp_path / "items.jsonl"
    lines = [json.dumps(r) for r in rows] + ["", "not json", "[1, 2]", json.dumps({"id": "q0", "title": "dup"}),
                                             json.dumps({"title": "no id, no url"})]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = storygraph.cluster(path)
    assert result.loaded.kind == "jsonl" and result.loaded.ignored == lines.count("")
    assert result.loaded.inputs == len(lines) - lines.count("")
    skipped = {s.file: s.code for s in result.skipped}
    assert skipped == {"line 12": "invalid-json", "line 13": "not-a-mapping", "q0": "duplicate-id",
                       "line 15": "no-url"}
    doc = document(result)
    ids = {n["id"] for n in doc["nodes"]}
    assert "id:q0" in ids and "https://example.com/x" in ids
    truth = {r["id"]: r["label"] for r in rows}
    s = evaluate_document(doc, truth)
    assert s["missing"] == 0 and s["bcubed_f1"] == pytest.approx(1.0)


def test_lean_document_reading_matches_the_full_parse(write_items, tmp_path):
    # titles that spell the markers the lean reader looks for must not fool it (quotes are escaped in JSON)
    from storygraph.evaluate import read_document
    from storygraph.export import render

    root = write_items({
        "a.md": item('Tricky ,"edges":[ title', "https://e.com/a", excerpt='],"skipped":[ and ,"nodes":['),
        "b.md": item("Tricky edges title again — café 🚀", "https://e.com/b"),
        "c.md": "no front matter",
    })
    out = tmp_path / "out.json"
    out.write_bytes(render(storygraph.cluster(root), "json"))
    full = json.loads(out.read_bytes())
    lean = read_document(out)
    assert lean["nodes"] == [{k: n[k] for k in ("id", "files", "story")} for n in full["nodes"]]
    assert lean["edges"] == [] and len(full["edges"]) == 1
    assert {k: v for k, v in lean.items() if k not in ("nodes", "edges")} == {
        k: v for k, v in full.items() if k not in ("nodes", "edges")}
    from storygraph.document import _lean_nodes, _read_tail, _read_until

    data = out.read_bytes()
    start = data.find(b',"nodes":[') + 10
    for chunk in (1, 5, 17, 101):  # objects, markers and multi-byte characters cut across chunk ends
        with open(out, "rb") as handle:
            assert _read_until(handle, b',"nodes":[', chunk) == data[: start - 10] and handle.tell() == start
            assert list(_lean_nodes(handle, chunk)) == lean["nodes"]
            assert _read_tail(handle, start, chunk) == data[data.rfind(b'],"skipped":['):]
    stories_only = read_document(out, nodes=False)
    assert stories_only["nodes"] == [] and stories_only["edges"] == []
    assert stories_only["stories"] == full["stories"] and stories_only["skipped"] == full["skipped"]
    pretty = tmp_path / "pretty.json"
    pretty.write_text(json.dumps(full, indent=2), encoding="utf-8")  # another layout: parsed whole
    assert read_document(pretty) == full


def test_ami_is_skipped_when_too_costly(monkeypatch):
    from storygraph import evaluate as ev

    truth, predicted = ["a", "a", "b", "c"], [1, 1, 2, 2]
    assert isinstance(scores(truth, predicted)["ami"], float)
    monkeypatch.setattr(ev, "AMI_MAX_CELLS", 5)  # 3 true x 2 found clusters = 6 cells
    result = scores(truth, predicted)
    assert result["ami"] is None and result["bcubed_f1"] > 0
