"""Communities stage: every node in exactly one community, deterministically.

Algorithms (``ClusterOptions.algorithm``):

- ``louvain`` (default): networkx's Louvain modularity maximisation
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

from .options import ClusterOptions

__all__ = ["detect"]


def detect(graph: nx.Graph, options: ClusterOptions) -> list[list[int]]:
    """Partition the nodes of ``graph`` (integer labels) into communities.

    Returns lists of node labels, each sorted, the list sorted by first member,
    so the result does not depend on set iteration order.
    """
    if graph.number_of_nodes() == 0:
        return []
    raw = _run(graph, options)
    parts: list[list[int]] = []
    for community in raw:
        sub = graph.subgraph(community)
        if nx.is_connected(sub):
            parts.append(sorted(community))
        else:
            parts.extend(sorted(c) for c in nx.connected_components(sub))
    covered = sum(len(p) for p in parts)
    if covered != graph.number_of_nodes():  # guard the "exactly one story" promise
        raise AssertionError(f"communities cover {covered} of {graph.number_of_nodes()} nodes")
    return sorted(parts, key=lambda p: p[0])


def _run(graph: nx.Graph, options: ClusterOptions) -> list[set[int]]:
    if options.algorithm == "louvain":
        return nx.community.louvain_communities(
            graph, weight="weight", resolution=options.resolution, seed=options.seed
        )
    if options.algorithm == "label-propagation":
        return list(nx.community.fast_label_propagation_communities(graph, weight="weight", seed=options.seed))
    return [set(c) for c in nx.connected_components(graph)]
