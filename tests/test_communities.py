"""Communities stage: every node in exactly one connected community, deterministically.
The ``leiden`` objective has its own tests (test_cohesion.py); these cover the dispatch and the
modularity-family algorithms, whose null model must not drift with corpus size either."""

import networkx as nx
import numpy as np
import pytest

import storygraph
from storygraph import communities
from storygraph.model import Edges
from storygraph.options import ALGORITHMS

from conftest import STORY_GROUPS, STORY_KNOBS, story_corpus

#: The knobs these tests' partitions depend on (the defaults may move).
KNOBS = dict(resolution=8.0, reference_weight=1000.0, seed=42)
#: Graph-only algorithms: they read the edges alone (``leiden`` also needs the texts).
GRAPH_ONLY = tuple(a for a in ALGORITHMS if a != "leiden")


def texts_for(n: int, groups: list[list[int]]):
    """A TF-IDF-like matrix where the members of each group share a word and nobody else does."""
    import scipy.sparse as sp

    rows, cols = [], []
    for g, members in enumerate(groups):
        rows += members
        cols += [g] * len(members)
    alone = sorted(set(range(n)) - {m for members in groups for m in members})
    rows += alone
    cols += [len(groups) + k for k in range(len(alone))]
    return sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(n, len(groups) + len(alone)))


def test_zero_weight_edges_do_not_join_stories():
    graph = Edges.weighted(4, [(0, 1, 1.0), (2, 3, 1.0), (1, 2, 0.0)])  # (1, 2): a related link across months
    matrix = texts_for(4, [[0, 1], [2, 3]])
    for algorithm in ("leiden", "modularity", "louvain", "components"):
        parts, _ = communities.detect(graph, np.zeros(4), matrix, algorithm=algorithm, **KNOBS)
        assert parts == [[0, 1], [2, 3]], algorithm


def test_communities_cover_every_node_once_and_split_disconnected():
    triples = [(0, 1, 1.0), (1, 2, 1.0), (3, 4, 1.0)]
    graph = nx.Graph(); graph.add_nodes_from(range(7)); graph.add_weighted_edges_from(triples)
    matrix = texts_for(7, [[0, 1, 2], [3, 4]])
    for algorithm in ALGORITHMS:
        parts, used = communities.detect(Edges.weighted(7, triples), np.zeros(7), matrix, algorithm=algorithm, **KNOBS)
        assert used == algorithm
        assert sorted(n for p in parts for n in p) == list(range(7))
        for part in parts:
            assert nx.is_connected(graph.subgraph(part))


def test_a_disconnected_community_is_split_into_its_components(monkeypatch):
    # whatever an algorithm returns, members of one story must be linked by evidence
    monkeypatch.setattr(communities, "_run", lambda edges, days, **knobs: np.zeros(edges.n, dtype=np.int64))
    parts, _ = communities.detect(Edges.weighted(6, [(0, 3, 1.0), (3, 5, 1.0), (1, 2, 1.0)]), algorithm="louvain")
    assert parts == [[0, 3, 5], [1, 2], [4]]


def test_detection_is_deterministic_for_a_seed():
    les = nx.relabel.convert_node_labels_to_integers(nx.les_miserables_graph())
    graph = Edges.weighted(les.number_of_nodes(), les.edges(data="weight"))
    for algorithm in ("modularity", "louvain"):
        a = communities.detect(graph, seed=7, algorithm=algorithm, reference_weight=1, resolution=8.0)
        b = communities.detect(graph, seed=7, algorithm=algorithm, reference_weight=1, resolution=8.0)
        assert a == b and len(a[0]) > 3, algorithm


def test_small_corpus_is_not_split_for_being_small():
    # two isolated pairs: modularity at resolution 5 would split each pair on a graph this small
    graph = Edges.weighted(4, [(0, 1, 1.0), (2, 3, 1.0)])
    total = float(graph.weight.sum())
    assert communities.effective_resolution(graph, 5.0, 1000) == pytest.approx(5.0 * total / 1000)
    for_modularity = dict(algorithm="modularity", resolution=5.0)
    assert communities.detect(graph, **for_modularity, reference_weight=1000)[0] == [[0, 1], [2, 3]]
    assert communities.detect(graph, **for_modularity, reference_weight=1e-9)[0] == [[0], [1], [2], [3]]
    big = Edges.weighted(3001, ((i, i + 1, 1.0) for i in range(3000)))
    assert communities.effective_resolution(big, 5.0, 1000) == 5.0  # large graphs are unchanged


def test_missing_igraph_runs_the_same_objective_and_says_so(write_items, monkeypatch):
    corpus = story_corpus(write_items)
    with_igraph = storygraph.cluster(corpus, **STORY_KNOBS)
    monkeypatch.setattr(communities, "leiden_available", lambda: False)
    assert communities.effective_algorithm("leiden") == "greedy"
    assert communities.effective_algorithm("modularity") == "louvain"
    result = storygraph.cluster(corpus, **STORY_KNOBS)
    assert [s.size for s in result.stories] == sorted(STORY_GROUPS.values(), reverse=True)
    assert [s.members for s in result.stories] == [s.members for s in with_igraph.stories]
    [notice] = [n for n in result.loaded.notices if n.field == "algorithm"]
    assert notice.message.startswith("igraph is not installed (pip install igraph): the cohesion objective")
    modularity = communities.fallback_notices("modularity", "louvain")
    assert [n.message for n in modularity] == ["modularity is not available (pip install igraph); used networkx's "
                                               "louvain at the same resolution, with the whole-graph null model"]
    assert communities.fallback_notices("louvain", "louvain") == []


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
    extra = (6, 7, 50.0)
    graph = Edges.weighted(8, triples + [extra])
    whole = sum(w for *_, w in triples) + extra[2]
    undated = communities.null_model_weights(graph, np.full(8, np.nan), reference_weight=1.0)
    assert undated[0] == pytest.approx(1 / np.sqrt(2 * whole))
    floored = communities.null_model_weights(graph, None, reference_weight=1000.0)
    assert floored[0] == pytest.approx(1 / np.sqrt(2 * 1000.0))


def test_stories_split_the_same_way_in_a_larger_corpus():
    # the same two-story pattern, alone or among 200 other stories of the same days
    pattern = [(0, 1, 1.0), (1, 2, 1.0), (0, 2, 1.0), (3, 4, 1.0), (4, 5, 1.0), (3, 5, 1.0), (2, 3, 0.3)]
    knobs = dict(algorithm="modularity", reference_weight=50.0, resolution=8.0, seed=42)  # whole-graph would merge
    alone, _ = communities.detect(Edges.weighted(6, pattern), np.zeros(6), **knobs)
    crowd = pattern + [(a + 6 + 3 * k, b + 6 + 3 * k, 1.0) for k in range(200) for a, b in ((0, 1), (1, 2), (0, 2))]
    busy, _ = communities.detect(Edges.weighted(606, crowd), np.zeros(606), **knobs)
    assert alone == [[0, 1, 2], [3, 4, 5]]
    assert busy[:2] == alone
