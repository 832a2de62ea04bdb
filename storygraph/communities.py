"""Communities stage: every node in exactly one community, deterministically.

Algorithms (``ClusterOptions.algorithm``):

- ``leiden`` (default): the Leiden algorithm (Traag, Waltman and van Eck 2019,
  igraph's implementation), iterated until stable, with a fixed ``seed``,
  maximising modularity at ``resolution`` against a null model local in time
  (:func:`null_model_weights`; for undated items it is plain modularity).
  Leiden guarantees connected communities and is 10-50x faster than networkx's
  pure-Python Louvain. Where igraph is not installed, ``louvain`` is used (with
  the global null model) and the run records a notice.
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


def detect(graph: nx.Graph, options: ClusterOptions, days: np.ndarray | None = None) -> list[list[int]]:
    """Partition the nodes of ``graph`` (integer labels) into communities.

    ``days`` (publication time of each node in days, NaN when undated) lets
    Leiden use a null model local in time (see :func:`null_model_weights`).

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
    raw = _run(graph, options, days)
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
    """True when igraph (with its Leiden implementation) imports."""
    try:
        import igraph  # noqa: F401
    except ImportError:
        return False
    return True


def effective_algorithm(options: ClusterOptions) -> str:
    """The algorithm a run uses: ``leiden`` falls back to ``louvain`` without igraph."""
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


def null_model_weights(graph: nx.Graph, days: np.ndarray | None, options: ClusterOptions) -> np.ndarray:
    """Node weights ``k_i / sqrt(2 m_i)`` that make CPM the modularity of a time-local null model.

    Modularity penalises a pair ``i, j`` in one community by ``resolution *
    k_i k_j / 2m``, with ``m`` the whole graph's weight, so the more news the
    corpus holds, the larger a story must be to stand alone (the resolution
    limit): a year of news merges what a week would keep apart. Here ``m_i`` is
    the edge weight among articles published within ``window_days`` of article
    ``i``: a story competes with the news of its own days, not of the archive.
    Undated articles use the whole graph's weight (for an undated corpus this is
    exactly modularity at ``resolution``). ``m_i`` is floored at
    ``min_graph_weight`` so a small corpus is not split for being small.
    """
    n = graph.number_of_nodes()
    strength = np.zeros(n)
    for a, b, w in graph.edges(data="weight"):
        strength[a] += w
        strength[b] += w
    local = np.full(n, strength.sum() / 2)
    if days is not None and len(days) == n:
        dated = np.flatnonzero(~np.isnan(days))
        order = dated[np.argsort(days[dated], kind="stable")]
        cumulative = np.r_[0.0, np.cumsum(strength[order])]
        times = days[order]
        lo = np.searchsorted(times, times - options.window_days, "left")
        hi = np.searchsorted(times, times + options.window_days, "right")
        undated = strength[np.isnan(days)].sum()
        local[order] = (cumulative[hi] - cumulative[lo] + undated) / 2
    return strength / np.sqrt(2 * np.maximum(local, max(options.min_graph_weight, 1e-12)))


def _leiden(graph: nx.Graph, options: ClusterOptions, days: np.ndarray | None) -> list[set[int]]:
    import random

    import igraph

    edges = list(graph.edges(data="weight"))
    g = igraph.Graph(n=graph.number_of_nodes(), edges=[(a, b) for a, b, _ in edges])
    g.es["weight"] = [w for _, _, w in edges]
    # igraph's CPM with node weights n_i: sum over pairs in a community of (A_ij - resolution n_i n_j)
    weights = null_model_weights(graph, days, options).tolist()
    igraph.set_random_number_generator(random.Random(options.seed))  # seeded, not the global RNG
    try:
        membership = g.community_leiden(
            objective_function="CPM", weights="weight", resolution=options.resolution,
            node_weights=weights, n_iterations=-1,
        ).membership
    finally:
        igraph.set_random_number_generator(random)
    groups: dict[int, set[int]] = {}
    for node, community in enumerate(membership):
        groups.setdefault(community, set()).add(node)
    return list(groups.values())


def _run(graph: nx.Graph, options: ClusterOptions, days: np.ndarray | None) -> list[set[int]]:
    algorithm = effective_algorithm(options)
    if algorithm == "leiden":
        return _leiden(graph, options, days)
    resolution = effective_resolution(graph, options)
    if algorithm == "louvain":
        return nx.community.louvain_communities(graph, weight="weight", resolution=resolution, seed=options.seed)
    if options.algorithm == "label-propagation":
        return list(nx.community.fast_label_propagation_communities(graph, weight="weight", seed=options.seed))
    return [set(c) for c in nx.connected_components(graph)]
