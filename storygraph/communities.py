"""Communities stage: every node in exactly one community, deterministically.

Algorithms (``ClusterOptions.algorithm``):

- ``leiden`` (default): the Leiden algorithm (Traag, Waltman and van Eck 2019,
  the ``leidenalg`` package on igraph) maximising modularity with ``resolution``
  (the RB configuration model), iterated until stable, with a fixed ``seed``.
  Leiden guarantees connected communities and is 10-50x faster than networkx's
  pure-Python Louvain. Where leidenalg is not installed, ``louvain`` is used
  and the run records a notice.
- ``louvain``: networkx's Louvain modularity maximisation
  (Blondel et al. 2008) with ``resolution`` and a fixed ``seed``. Modularity has
  a resolution limit (Fortunato and Barthelemy 2007): at resolution 1 it merges
  small, well-separated groups, so stories become topics on big graphs; raise
  ``resolution`` to counter it.
- ``label-propagation``: networkx's fast label propagation (Traag and Subelj 2023), seeded.
- ``components``: connected components of the graph (no optimisation at all).

Whatever the algorithm, a community that is not connected is split into its
connected components: members of one story must be linked by evidence.
"""

from __future__ import annotations

import networkx as nx
import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from .options import ClusterOptions

__all__ = ["detect", "effective_algorithm", "effective_resolution", "leiden_available"]


def detect(graph: nx.Graph, options: ClusterOptions) -> list[list[int]]:
    """Partition the nodes of ``graph`` (integer labels) into communities.

    Returns lists of node labels, each sorted, the list sorted by first member,
    so the result does not depend on set iteration order.
    """
    if graph.number_of_nodes() == 0:
        return []
    # Edges of weight 0 (related links across months) are kept in outputs but are no evidence.
    evidence = nx.Graph()
    evidence.add_nodes_from(graph.nodes)
    evidence.add_weighted_edges_from((a, b, w) for a, b, w in graph.edges(data="weight") if w > 0)
    graph = evidence
    raw = _run(graph, options, effective_resolution(graph, options))
    parts = _split_disconnected(graph, raw)
    covered = sum(len(p) for p in parts)
    if covered != graph.number_of_nodes():  # guard the "exactly one story" promise
        raise AssertionError(f"communities cover {covered} of {graph.number_of_nodes()} nodes")
    return sorted(parts, key=lambda p: p[0])


def _split_disconnected(graph: nx.Graph, raw: list[set[int]]) -> list[list[int]]:
    """Connected components of the graph restricted to edges inside one community.

    One sparse pass for all communities: a community that is connected stays
    whole, one that is not becomes its components.
    """
    n = graph.number_of_nodes()
    community = np.full(n, -1, dtype=np.int64)
    for c, members in enumerate(raw):
        community[list(members)] = c
    if (community < 0).any():  # guard the "every node in exactly one story" promise
        raise AssertionError(f"{int((community < 0).sum())} nodes were left out of every community")
    edges = np.array([(a, b) for a, b in graph.edges() if community[a] == community[b]], dtype=np.int64)
    edges = edges.reshape(-1, 2)
    inside = sp.coo_matrix((np.ones(len(edges)), (edges[:, 0], edges[:, 1])), shape=(n, n))
    _, label = connected_components(inside, directed=False)
    groups: dict[int, list[int]] = {}
    for node, lab in enumerate(label.tolist()):
        groups.setdefault(lab, []).append(node)
    return list(groups.values())


def leiden_available() -> bool:
    """True when igraph and leidenalg import."""
    try:
        import igraph  # noqa: F401
        import leidenalg  # noqa: F401
    except ImportError:
        return False
    return True


def effective_algorithm(options: ClusterOptions) -> str:
    """The algorithm a run uses: ``leiden`` falls back to ``louvain`` without leidenalg."""
    if options.algorithm == "leiden" and not leiden_available():
        return "louvain"
    return options.algorithm


def effective_resolution(graph: nx.Graph, options: ClusterOptions) -> float:
    """``resolution`` scaled as if the graph carried at least ``min_graph_weight``.

    Modularity compares a community's internal weight with ``resolution *
    K_c**2 / (4 m)``, where ``m`` is the graph's total weight. In a small corpus
    one story holds a large share of ``m``, and a resolution above 1 would split
    it merely for being large relative to the corpus. Using ``max(m,
    min_graph_weight)`` in the null model (equivalently, this smaller
    resolution) keeps small corpora whole and leaves large graphs unchanged.
    """
    total = graph.size(weight="weight")
    if total <= 0:
        return options.resolution
    return options.resolution * total / max(total, options.min_graph_weight)


def _leiden(graph: nx.Graph, resolution: float, seed: int) -> list[set[int]]:
    import igraph
    import leidenalg

    edges = list(graph.edges(data="weight"))
    g = igraph.Graph(n=graph.number_of_nodes(), edges=[(a, b) for a, b, _ in edges])
    g.es["weight"] = [w for _, _, w in edges]
    partition = leidenalg.find_partition(
        g, leidenalg.RBConfigurationVertexPartition, weights="weight",
        resolution_parameter=resolution, n_iterations=-1, seed=seed,
    )
    return [set(part) for part in partition]


def _run(graph: nx.Graph, options: ClusterOptions, resolution: float) -> list[set[int]]:
    algorithm = effective_algorithm(options)
    if algorithm == "leiden":
        return _leiden(graph, resolution, options.seed)
    if algorithm == "louvain":
        return nx.community.louvain_communities(graph, weight="weight", resolution=resolution, seed=options.seed)
    if options.algorithm == "label-propagation":
        return list(nx.community.fast_label_propagation_communities(graph, weight="weight", seed=options.seed))
    return [set(c) for c in nx.connected_components(graph)]
