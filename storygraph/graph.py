"""Graph stage: articles and their related links become nodes and edges.

One node per canonical URL (:mod:`storygraph.urls`). Files that share a canonical
URL are one node listing all its files; URLs named only in someone's ``related``
list become nodes with ``in_corpus=False`` and the text the entry carries.
Edges are ``related``, ``similar`` (from :mod:`storygraph.similarity`) or ``both``;
:func:`edge_weight` says how they are weighted.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

import networkx as nx

from .model import Article, RelatedRef
from .options import ClusterOptions
from .urls import canonical_url

__all__ = ["Node", "NodeTable", "build_nodes", "build_graph", "edge_weight"]


@dataclass
class Node:
    """One article: from one or more files, or known only from related lists."""

    id: str
    url: str
    title: str
    excerpt: str = ""
    published: datetime | None = None
    provider: str = ""
    domain: str = ""
    topics: tuple[str, ...] = ()
    type: str = ""
    quality: int | None = None
    files: tuple[str, ...] = ()
    in_corpus: bool = True


@dataclass
class NodeTable:
    """Nodes sorted by id, and related links as index pairs ``(i, j)`` with ``i < j``."""

    nodes: list[Node]
    related: set[tuple[int, int]] = field(default_factory=set)
    stats: dict[str, int] = field(default_factory=dict)


def build_nodes(articles: Iterable[Article], use_related: bool = True) -> NodeTable:
    """Merge articles by canonical URL and resolve related links to nodes."""
    groups: dict[str, list[Article]] = {}
    for article in articles:
        groups.setdefault(article.key or canonical_url(article.url), []).append(article)
    nodes = {key: _node_from_files(key, group) for key, group in groups.items()}
    aliases = _aliases(groups)
    links: list[tuple[str, str]] = []
    stats = {"related_refs": 0, "related_self": 0}
    if use_related:
        for key in sorted(groups):
            for article in sorted(groups[key], key=lambda a: a.file):
                for ref in article.related:
                    stats["related_refs"] += 1
                    target = ref.key or canonical_url(ref.url)
                    target = aliases.get(target, target)
                    if target == key:
                        stats["related_self"] += 1
                        continue
                    if target not in nodes:
                        nodes[target] = _node_from_ref(target, ref)
                    links.append((key, target))
    ordered = sorted(nodes)
    index = {key: i for i, key in enumerate(ordered)}
    related = {tuple(sorted((index[a], index[b]))) for a, b in links}
    stats["related_links"] = len(related)
    stats["nodes_external"] = sum(1 for n in nodes.values() if not n.in_corpus)
    return NodeTable([nodes[k] for k in ordered], related, stats)  # type: ignore[arg-type]


def _node_from_files(key: str, group: list[Article]) -> Node:
    # The newest file speaks for the node (an updated story keeps its URL, changes its title).
    group = sorted(group, key=lambda a: a.file)
    main = max(group, key=lambda a: a.published.timestamp() if a.published else float("-inf"))
    topics: list[str] = []
    for article in group:
        topics.extend(t for t in article.topics if t not in topics)
    return Node(
        id=key,
        url=min((a.url for a in group), key=lambda u: (len(u), u)),  # AMP and tracking forms are longer
        title=main.title,
        excerpt=main.excerpt or next((a.excerpt for a in group if a.excerpt), ""),
        published=main.published,
        provider=main.provider,
        domain=main.domain,
        topics=tuple(topics),
        type=main.type,
        quality=max((a.quality for a in group if a.quality is not None), default=None),
        files=tuple(a.file for a in group),
    )


def _node_from_ref(key: str, ref: RelatedRef) -> Node:
    return Node(
        id=key,
        url=ref.url,
        title=ref.title,
        excerpt=ref.excerpt,
        published=ref.published,
        provider=ref.provider,
        domain=ref.domain,
        type=ref.type,
        quality=ref.quality,
        in_corpus=False,
    )


def _aliases(groups: dict[str, list[Article]]) -> dict[str, str]:
    """Map the canonical form of each article's other URLs (AMP, cdn) to its node."""
    aliases: dict[str, str] = {}
    for key in sorted(groups):
        for article in groups[key]:
            for alt in article.alt_keys or [canonical_url(u) for u in article.alt_urls]:
                if alt != key and alt not in groups:
                    aliases.setdefault(alt, key)
    return aliases


def edge_weight(similarity: float, related: bool, gap_days: float | None, options: ClusterOptions) -> float:
    """Weight of an edge for community detection.

    ``similarity`` (cosine of the two texts), plus ``related_weight`` for a
    related link. Only articles published at most ``window_days`` apart (or
    undated) can be one event: a related link across a longer gap says "same
    topic" (on one real site related lists span months and whole product
    areas), so its weight is 0. Edges of weight 0 stay in the outputs but play
    no part in finding stories.
    """
    if gap_days is not None and gap_days > options.window_days:
        return 0.0
    return similarity + (options.related_weight if related else 0.0)


def build_graph(
    table: NodeTable,
    similar: dict[tuple[int, int], float],
    related_similarity: dict[tuple[int, int], float],
    options: ClusterOptions,
) -> nx.Graph:
    """Assemble the networkx graph: nodes ``0..n-1`` in table order, edges sorted.

    Edge data: ``kind`` (related/similar/both), ``weight``, ``similarity``.
    Integer node labels keep community detection independent of string hashing.
    """
    graph = nx.Graph()
    graph.add_nodes_from(range(len(table.nodes)))
    for pair in sorted(set(similar) | table.related):
        is_related = pair in table.related
        sim = similar.get(pair)
        if sim is None:
            sim = related_similarity.get(pair, 0.0)
        kind = "both" if is_related and pair in similar else ("related" if is_related else "similar")
        gap = _gap_days(table.nodes[pair[0]].published, table.nodes[pair[1]].published)
        graph.add_edge(*pair, kind=kind, similarity=sim, weight=edge_weight(sim, is_related, gap, options))
    return graph


def _gap_days(a: datetime | None, b: datetime | None) -> float | None:
    if a is None or b is None:
        return None
    return abs((a - b).total_seconds()) / 86400.0
