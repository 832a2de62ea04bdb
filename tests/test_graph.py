"""Graph stage: nodes from articles (canonical URLs, related-only nodes, aliases) and the edge rule."""

import doctest
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest

from storygraph import graph
from storygraph.graph import calibrated_related_weight, build_edges, build_nodes, days, edge_weights
from storygraph.model import KINDS, Article, NodeTable, Pairs, RelatedRef

T0 = datetime(2024, 3, 5, 10, tzinfo=timezone.utc)


def art(file, url, title="t", days=0, **kw):
    return Article(file=file, url=url, title=title, published=T0 + timedelta(days=days), **kw)


def test_files_sharing_a_canonical_url_are_one_node():
    table = build_nodes(
        [
            art("a.md", "https://www.example.com/news/story/?utm_source=rss", title="Old title", days=0),
            art("b.md", "https://example.com/news/amp/story", title="Updated title", days=1),
            art("c.md", "https://example.com/other", related=(RelatedRef(url="https://example.com/news/story.amp"),)),
        ]
    )
    ids = [n.id for n in table.nodes]
    assert ids == ["https://example.com/news/story", "https://example.com/other"]
    story = table.nodes[0]
    assert story.files == ("a.md", "b.md")
    assert story.title == "Updated title"  # the newest file speaks for the node
    assert story.url == "https://example.com/news/amp/story"  # shortest of its URLs
    assert table.related.tolist() == [[0, 1]]


def test_a_one_file_node_is_what_the_general_merge_gives():
    # one file takes a shortcut past the merge's passes: the same fields as merging it with a
    # copy of itself (topics deduplicated in order, no excerpt stays empty, no quality stays None)
    when = datetime(2024, 3, 1, tzinfo=timezone.utc)
    article = Article("a/1.md", "https://e.com/x", "T", "", when, "P", "e.com", ("b", "a", "b"), "news", None,
                      key="https://e.com/x")
    twin = Article("a/0.md", "https://e.com/x", "T", "", when, "P", "e.com", ("b", "a", "b"), "news", None,
                   key="https://e.com/x")
    alone = build_nodes([article]).nodes[0]
    merged = build_nodes([article, twin]).nodes[0]
    assert alone.topics == ("b", "a") and alone.excerpt == "" and alone.quality is None and alone.files == ("a/1.md",)
    fields = [f for f in alone.__dataclass_fields__ if f != "files"]
    assert {f: getattr(alone, f) for f in fields} == {f: getattr(merged, f) for f in fields}


def test_related_only_urls_become_external_nodes_and_aliases_resolve():
    ref_out = RelatedRef(url="https://outside.org/x", title="Outside", published=T0)
    ref_amp = RelatedRef(url="https://example-com.cdn.ampproject.org/c/s/example.com/b?amp")
    refs = (ref_out, ref_out, ref_amp)
    table = build_nodes(
        [
            art("a.md", "https://example.com/a", related=refs),
            art("b.md", "https://example.com/b-canonical", alt_urls=("https://example.com/b?amp",)),
        ]
    )
    by_id = {n.id: n for n in table.nodes}
    assert by_id["https://outside.org/x"].in_corpus is False
    assert by_id["https://outside.org/x"].title == "Outside"
    assert by_id["https://outside.org/x"].files == ()
    index = {n.id: i for i, n in enumerate(table.nodes)}
    a, b, out = index["https://example.com/a"], index["https://example.com/b-canonical"], index["https://outside.org/x"]
    # the AMP-cache form of b's ampWebUrl resolves to b; the duplicate ref is one link
    assert table.related.tolist() == sorted([sorted((a, out)), sorted((a, b))])
    assert table.related_refs == len(refs)


def test_no_related_option_ignores_lists():
    table = build_nodes([art("a.md", "https://e.com/a", related=(RelatedRef(url="https://o.org/x"),))], use_related=False)
    assert len(table.nodes) == 1 and len(table.related) == 0 and table.related_refs == 0


def test_related_links_count_only_within_the_window():
    weights = edge_weights(np.array([0.2, 0.2, 0.2, 0.2]), np.array([True, True, True, False]),
                           np.array([3.5, np.nan, 70.0, 3.5]), related_bonus=0.5, window_days=7)
    # related within the window (its similarity counted at half, half a window apart); undated (cannot
    # rule it out); months apart (same topic: no evidence); similar only
    assert weights.tolist() == pytest.approx([0.6, 0.7, 0.0, 0.1])


def test_the_related_weight_is_calibrated_on_the_runs_own_links():
    sim = np.array([0.1, 0.3, 0.5, 0.9, 0.2])
    related = np.array([True, True, True, True, False])
    gap = np.array([1.0, 2.0, np.nan, 30.0, 1.0])  # the 30-day link is outside the window: not counted
    assert calibrated_related_weight(sim, related, gap, "auto", 7.0) == pytest.approx(0.3)
    assert calibrated_related_weight(sim, related, gap, 0.5, 7.0) == 0.5
    assert calibrated_related_weight(sim, np.zeros(5, dtype=bool), gap, "auto", 7.0) == 0.0


def test_build_edges_joins_pairs_and_links_under_the_edge_rule():
    # nodes 0, 1, 2 on days 0, 1, 30; node 3 undated
    nodes = build_nodes([art(f"{i}.md", f"https://e.com/{i}") for i in range(4)]).nodes
    table = NodeTable(nodes, related=np.array([[0, 1], [0, 2]], dtype=np.int64))
    pairs = Pairs(np.array([0, 1]), np.array([1, 3]), np.array([0.5, 0.25], dtype=np.float32))
    seconds = np.array([0.0, 1.0, 30.0, np.nan]) * 86400
    edges = build_edges(table, pairs, np.array([0.4, 0.3], dtype=np.float32), seconds, related_weight=0.5,
                        window_days=7)
    rows = [(a, b, kind, weight, sim) for a, b, kind, weight, sim in edges.rows()]
    assert rows == [
        # the pair search's similarity wins, counted at 6/7 a day apart, plus the related weight
        (0, 1, "both", pytest.approx(0.5 * 6 / 7 + 0.5), 0.5),
        (0, 2, "related", 0.0, pytest.approx(0.3)),  # 30 days apart: no evidence
        (1, 3, "similar", 0.25, 0.25),  # undated: kept
    ]
    assert edges.related_weight == 0.5
    auto = build_edges(table, pairs, np.array([0.4, 0.3], dtype=np.float32), seconds, window_days=7)
    assert auto.related_weight == pytest.approx(0.5)  # the one related link within the window: its cosine
    assert edges.kind_counts() == {kind: 1 for kind in KINDS}


def test_days_is_the_one_conversion_from_seconds():
    assert days(np.array([86400.0, 43200.0, np.nan])).tolist()[:2] == [1.0, 0.5]
    assert np.isnan(days(np.array([np.nan]))[0])


def test_the_module_examples_run():
    found = doctest.testmod(graph)
    assert found.attempted > 0 and found.failed == 0


def test_edge_rows_span_blocks_in_order():
    # rows() converts a block of edges at a time (memory): across block ends nothing is lost or reordered
    from storygraph import model

    m = 2 * model._ROW_BLOCK + 7
    rng = np.random.default_rng(0)
    left = np.arange(m, dtype=np.int64)
    edges = model.Edges(m + 1, left, left + 1, rng.integers(0, 3, m).astype(np.uint8), rng.random(m), rng.random(m))
    rows = list(edges.rows())
    assert len(rows) == m
    assert rows == list(zip(left.tolist(), (left + 1).tolist(), [model.KINDS[k] for k in edges.kind.tolist()],
                            edges.weight.tolist(), edges.similarity.tolist()))


def test_a_related_only_node_takes_its_first_entry_by_key_then_file_then_list():
    """Whatever order the articles come in, a URL known only from related lists takes the text of
    the entry listed by the article with the smallest key, then (same key) the smallest file, then
    the earliest in that list; an alias goes to the smallest key naming it."""
    def ref(title):
        return RelatedRef(url="https://o.org/x", title=title, key="https://o.org/x")

    z = art("a.md", "https://e.com/z", related=(ref("from z"),), key="https://e.com/z")
    b2 = art("b2.md", "https://e.com/b", related=(ref("from b2"),), key="https://e.com/b")
    b1 = art("b1.md", "https://e.com/b", related=(ref("from b1, first"), ref("from b1, second")), key="https://e.com/b")
    amp = dict(alt_urls=("https://e.com/amp",), alt_keys=("https://e.com/amp",))
    m = art("m.md", "https://e.com/m", key="https://e.com/m", **amp)
    c = art("c.md", "https://e.com/c", key="https://e.com/c", **amp)
    y = art("y.md", "https://e.com/y", key="https://e.com/y",
            related=(RelatedRef(url="https://e.com/amp", key="https://e.com/amp"),))
    for articles in ([z, b2, b1, m, c, y], [y, c, m, b1, b2, z], [b1, z, y, b2, c, m]):
        table = build_nodes(articles)
        by_id = {n.id: i for i, n in enumerate(table.nodes)}
        assert table.nodes[by_id["https://o.org/x"]].title == "from b1, first"
        assert table.nodes[by_id["https://e.com/b"]].files == ("b1.md", "b2.md")
        assert "https://e.com/amp" not in by_id  # the alias, resolved to c (before m)
        assert [by_id["https://e.com/c"], by_id["https://e.com/y"]] in table.related.tolist()
        assert table.related_refs == 5
