"""Graph, similarity, communities and stories stages on small hand-built inputs."""

from datetime import datetime, timedelta, timezone

import networkx as nx
import numpy as np
import pytest

import storygraph
from storygraph import communities
from storygraph.graph import build_nodes, edge_weights
from storygraph.model import Edges
from storygraph.model import Article, RelatedRef
from storygraph.options import ALGORITHMS, ClusterOptions
from storygraph.similarity import duplicate_of, forked_blocks, similar_pairs, tfidf_matrix

from conftest import FIXTURES, item

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


def test_related_only_urls_become_external_nodes_and_aliases_resolve():
    ref_out = RelatedRef(url="https://outside.org/x", title="Outside", published=T0)
    ref_amp = RelatedRef(url="https://example-com.cdn.ampproject.org/c/s/example.com/b?amp")
    table = build_nodes(
        [
            art("a.md", "https://example.com/a", related=(ref_out, ref_out, ref_amp)),
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
    assert table.related_refs == 3


def test_no_related_option_ignores_lists():
    table = build_nodes([art("a.md", "https://e.com/a", related=(RelatedRef(url="https://o.org/x"),))], use_related=False)
    assert len(table.nodes) == 1 and len(table.related) == 0


def test_related_links_count_only_within_the_window():
    weights = edge_weights(np.array([0.2, 0.2, 0.2, 0.2]), np.array([True, True, True, False]),
                           np.array([3.0, np.nan, 70.0, 3.0]), related_weight=0.5, window_days=7)
    # related within the window; undated (cannot rule it out); months apart (same topic: no evidence); similar only
    assert weights.tolist() == pytest.approx([0.7, 0.7, 0.0, 0.2])


def test_zero_weight_edges_do_not_join_stories():
    graph = Edges.weighted(4, [(0, 1, 1.0), (2, 3, 1.0), (1, 2, 0.0)])  # (1, 2): a related link across months
    for algorithm in ("leiden", "louvain", "components"):
        parts, _ = communities.detect(graph, algorithm=algorithm)
        assert parts == [[0, 1], [2, 3]], algorithm


def test_exact_copies_link_to_the_earliest_and_leave_top_k():
    texts = ["acme recalls ten million phones"] * 3 + ["acme recalls phones batteries fire", "unrelated garden show"]
    matrix, _ = tfidf_matrix(texts)
    days = np.array([2.0, 0.0, 30.0, 1.0, 1.0])
    assert duplicate_of(matrix, days, 7).tolist() == [1, 1, 2, 3, 4]  # day 30 is a new event
    pairs = similar_pairs(matrix, days, top_k=1, threshold=0.1, window_days=7).as_dict()
    assert pairs[(0, 1)] == 1.0  # the copy hangs on its original
    assert (1, 3) in pairs  # the original's top-1 is a real neighbour, not its copy


def _sims(texts, days, **kw):
    matrix, _ = tfidf_matrix(texts)
    return similar_pairs(matrix, np.array(days, dtype=float), **kw).as_dict()


def test_similarity_respects_window_threshold_and_top_k():
    texts = ["blizzard delays diablo expansion", "blizzard delays diablo expansion until spring",
             "diablo expansion delayed by blizzard", "blizzard delays diablo expansion until summer",
             "quarterly earnings beat estimates"]
    days = [0, 1, 2, 30, 1]
    pairs = _sims(texts, days, window_days=7, threshold=0.4, top_k=10)
    assert set(pairs) == {(0, 1), (0, 2), (1, 2)}  # 3 is 28+ days away; 4 shares no words
    assert all(0.4 <= v < 1.0 for v in pairs.values())
    assert set(_sims(texts, days, window_days=7, threshold=0.5)) == {(0, 1), (0, 2)}  # (1, 2) is 0.44
    # top_k=1: rows 1 and 2 both keep 0, row 0 keeps 1; (1, 2) is nobody's best
    assert set(_sims(texts, days, window_days=7, threshold=0.4, top_k=1)) == {(0, 1), (0, 2)}
    assert _sims(texts, days, window_days=7, threshold=0.99) == {}


def test_undated_articles_compare_with_everything():
    texts = ["solar flare disrupts radio", "solar flare disrupts radio signals", "solar flare disrupts radio links"]
    pairs = _sims(texts, [0, np.nan, 400])
    assert set(pairs) == {(0, 1), (1, 2)}


def test_chunking_does_not_change_pairs():
    rng = np.random.default_rng(0)
    words = [f"w{i}" for i in range(40)]
    texts = [" ".join(rng.choice(words, 6)) for _ in range(120)]
    days = rng.integers(0, 60, 120).astype(float)
    whole = _sims(texts, days, chunk_size=1000, threshold=0.2)
    small = _sims(texts, days, chunk_size=7, threshold=0.2)
    assert whole.keys() == small.keys() and len(whole) > 50
    assert all(abs(whole[k] - small[k]) < 1e-5 for k in whole)


def test_forked_blocks_find_the_same_pairs():
    rng = np.random.default_rng(1)
    words = [f"w{i}" for i in range(60)]
    texts = [" ".join(rng.choice(words, 6)) for _ in range(300)]
    days = rng.integers(0, 90, 300).astype(float)
    days[::17] = np.nan  # undated rows take the every-column path
    knobs = dict(chunk_size=16, threshold=0.2, top_k=20, window_days=7)
    matrix, _ = tfidf_matrix(texts)
    serial = similar_pairs(matrix, days, **knobs)
    forked = similar_pairs(matrix, days, **knobs, map_blocks=forked_blocks(2))
    assert len(serial) > 100
    for name in ("left", "right", "similarity"):
        assert np.array_equal(getattr(serial, name), getattr(forked, name)), name


def test_parallel_similarity_gives_byte_identical_output():
    from storygraph.export import render

    one = storygraph.cluster(FIXTURES, jobs=1, chunk_size=8, use_cache=False)
    two = storygraph.cluster(FIXTURES, jobs=2, chunk_size=8, use_cache=False)  # 118 nodes: 15 blocks, forked
    assert render(one, "json") == render(two, "json")


def test_empty_vocabulary_gives_no_pairs():
    assert _sims(["the", "and the", "a"], [0, 0, 0]) == {}


def test_communities_cover_every_node_once_and_split_disconnected():
    triples = [(0, 1, 1.0), (1, 2, 1.0), (3, 4, 1.0)]
    graph = nx.Graph(); graph.add_nodes_from(range(7)); graph.add_weighted_edges_from(triples)
    for algorithm in ALGORITHMS:
        parts, used = communities.detect(Edges.weighted(7, triples), algorithm=algorithm)
        assert used == algorithm
        assert sorted(n for p in parts for n in p) == list(range(7))
        for part in parts:
            assert nx.is_connected(graph.subgraph(part))


def test_a_disconnected_community_is_split_into_its_components(monkeypatch):
    # whatever an algorithm returns, members of one story must be linked by evidence
    monkeypatch.setattr(communities, "_run", lambda edges, days, **knobs: np.zeros(edges.n, dtype=np.int64))
    parts, _ = communities.detect(Edges.weighted(6, [(0, 3, 1.0), (3, 5, 1.0), (1, 2, 1.0)]))
    assert parts == [[0, 3, 5], [1, 2], [4]]


def test_detection_is_deterministic_for_a_seed():
    les = nx.relabel.convert_node_labels_to_integers(nx.les_miserables_graph())
    graph = Edges.weighted(les.number_of_nodes(), les.edges(data="weight"))
    for algorithm in ("leiden", "louvain"):
        a = communities.detect(graph, seed=7, algorithm=algorithm, reference_weight=1)
        b = communities.detect(graph, seed=7, algorithm=algorithm, reference_weight=1)
        assert a == b and len(a[0]) > 3, algorithm


def _story_corpus(write_items):
    files = {}
    for i in range(4):
        files[f"quake/{i}.md"] = item(f"Earthquake of magnitude 7 hits Taiwan coast {i}", f"https://news{i}.com/quake",
                                      published=f"2024-04-0{3 + i % 2}T0{i}:00:00Z", excerpt="Taiwan earthquake tsunami warning")
    for i in range(3):
        files[f"merger/{i}.md"] = item(f"Fabrikam agrees to buy Northwind for $2 billion {i}", f"https://biz{i}.com/deal",
                                       published=f"2024-04-1{i}T09:00:00Z", excerpt="Fabrikam Northwind acquisition deal")
    files["lone.md"] = item("Local bakery wins pastry award", "https://town.com/bakery", published="2024-04-20T00:00:00Z")
    return write_items(files)


def test_pipeline_finds_stories_and_describes_them(write_items):
    result = storygraph.cluster(_story_corpus(write_items))
    sizes = [s.size for s in result.stories]
    assert sizes == [4, 3, 1]  # sorted by size
    quake = result.stories[0]
    assert {result.nodes[i].files[0].split("/")[0] for i in quake.members} == {"quake"}
    assert "earthquake" in quake.keywords and "taiwan" in quake.keywords
    assert quake.first_published == datetime(2024, 4, 3, 0, tzinfo=timezone.utc)
    assert quake.last_published == datetime(2024, 4, 4, 3, tzinfo=timezone.utc)
    # id derives from the earliest member's canonical URL
    import hashlib
    earliest = result.nodes[quake.members[0]].id
    assert quake.id == "s" + hashlib.sha1(earliest.encode()).hexdigest()[:12]
    assert result.nodes[quake.headline].in_corpus
    # the networkx graph is keyed by canonical URL and carries the story id
    assert result.graph.nodes["https://town.com/bakery"]["story"] == result.stories[2].id


def test_story_ids_survive_new_later_articles(write_items):
    root = _story_corpus(write_items)
    before = {s.id for s in storygraph.cluster(root).stories}
    (root / "quake" / "late.md").write_text(
        item("Taiwan earthquake aftershocks continue", "https://late.com/q", published="2024-04-05T10:00:00Z",
             excerpt="Taiwan earthquake aftershock"), encoding="utf-8")
    after = storygraph.cluster(root)
    assert before <= {s.id for s in after.stories}
    assert after.stories[0].size == 5


def test_strict_raises_naming_the_file(write_items):
    root = write_items({"ok.md": item("T", "https://e.com/a"), "bad.md": "no front matter"})
    with pytest.raises(storygraph.StrictModeError, match="bad.md: no front matter"):
        storygraph.cluster(root, strict=True)


def test_options_are_validated_with_the_name():
    with pytest.raises(storygraph.OptionsError, match="threshold=1.5"):
        ClusterOptions(threshold=1.5)
    with pytest.raises(storygraph.OptionsError, match="algorithm"):
        ClusterOptions(algorithm="magic")
    with pytest.raises(storygraph.OptionsError, match="top_k"):
        ClusterOptions(top_k=0)
    with pytest.raises(storygraph.OptionsError, match="bogus"):
        ClusterOptions().replace(bogus=1)
    assert ClusterOptions().replace(seed=3).seed == 3


def test_small_corpus_is_not_split_for_being_small():
    # two isolated pairs: modularity at resolution 5 would split each pair on a graph this small
    graph = Edges.weighted(4, [(0, 1, 1.0), (2, 3, 1.0)])
    assert communities.effective_resolution(graph, 5.0, 1000) == pytest.approx(5.0 * 2 / 1000)
    assert communities.detect(graph, resolution=5.0, reference_weight=1000)[0] == [[0, 1], [2, 3]]
    assert communities.detect(graph, resolution=5.0, reference_weight=1e-9)[0] == [[0], [1], [2], [3]]
    big = Edges.weighted(3001, ((i, i + 1, 1.0) for i in range(3000)))
    assert communities.effective_resolution(big, 5.0, 1000) == 5.0  # large graphs are unchanged


def test_missing_leidenalg_falls_back_to_louvain_with_a_notice(write_items, monkeypatch):
    root = _story_corpus(write_items)
    monkeypatch.setattr(communities, "leiden_available", lambda: False)
    result = storygraph.cluster(root)
    assert [s.size for s in result.stories] == [4, 3, 1]
    assert [(n.field, "Louvain" in n.message or "louvain" in n.message) for n in result.loaded.notices] == [
        ("algorithm", True)]


def test_null_model_does_not_drift_with_corpus_size():
    # dated articles: each weight depends only on the node's own strength, never on other news
    triples = [(0, 1, 1.0), (1, 2, 1.0), (3, 4, 2.0), (4, 5, 2.0)]
    days = np.array([0.0, 1.0, 2.0, 300.0, 301.0, 302.0])
    weights = communities.null_model_weights(Edges.weighted(6, triples), days, reference_weight=10.0)
    strength = np.array([1, 2, 1, 2, 4, 2], dtype=float)
    assert weights == pytest.approx(strength / np.sqrt(2 * 10.0))
    # ten times the news (more stories the same days) leaves the first nodes' weights unchanged
    more = triples + [(6 + 2 * k, 7 + 2 * k, 5.0) for k in range(10)]
    busy = communities.null_model_weights(Edges.weighted(26, more), np.r_[days, np.ones(20)], reference_weight=10.0)
    assert busy[:6] == pytest.approx(weights)
    # undated: the whole graph, i.e. plain modularity; floored at reference_weight
    graph = Edges.weighted(8, triples + [(6, 7, 50.0)])
    undated = communities.null_model_weights(graph, np.full(8, np.nan), reference_weight=1.0)
    assert undated[0] == pytest.approx(1 / np.sqrt(2 * 56.0))
    floored = communities.null_model_weights(graph, None, reference_weight=1000.0)
    assert floored[0] == pytest.approx(1 / np.sqrt(2 * 1000.0))


def test_stories_split_the_same_way_in_a_larger_corpus():
    # the same two-story pattern, alone or among 200 other stories of the same days
    pattern = [(0, 1, 1.0), (1, 2, 1.0), (0, 2, 1.0), (3, 4, 1.0), (4, 5, 1.0), (3, 5, 1.0), (2, 3, 0.3)]
    knobs = dict(reference_weight=50.0, resolution=8.0)  # whole-graph modularity would merge them among the crowd
    alone, _ = communities.detect(Edges.weighted(6, pattern), np.zeros(6), **knobs)
    crowd = pattern + [(a + 6 + 3 * k, b + 6 + 3 * k, 1.0) for k in range(200) for a, b in ((0, 1), (1, 2), (0, 2))]
    busy, _ = communities.detect(Edges.weighted(606, crowd), np.zeros(606), **knobs)
    assert alone == [[0, 1, 2], [3, 4, 5]]
    assert busy[:2] == alone
