"""Graph stage: articles and their related links become nodes and edges.

One node per canonical URL (:mod:`storygraph.urls`). Files that share a canonical
URL are one node listing all its files; URLs named only in someone's ``related``
list become nodes with ``in_corpus=False`` and the text the entry carries.
Edges (:class:`~storygraph.model.Edges`, arrays) are ``related``, ``similar`` (from
:mod:`storygraph.similarity`) or ``both``.

The edge rule lives here, once: :func:`edge_weights` weighs every edge whatever its
source, and :func:`days` is the one conversion from POSIX seconds. An edge source
(:data:`EdgeSource`) turns the nodes into weighted edges: the TF-IDF search
(:func:`storygraph.similarity.tfidf_edges`) or an edge file
(:func:`storygraph.edgefile.file_edges`); the pipeline picks one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

import numpy as np

from .model import Article, Edges, Node, NodeTable, Notice, Pairs, RelatedRef
from .progress import Tick
from .sparse import sorted_unique
from .urls import canonical_url

if TYPE_CHECKING:
    import scipy.sparse as sp

__all__ = ["build_nodes", "build_edges", "edge_weights", "time_kernel", "calibrated_related_weight",
           "running_related_weights", "later_period", "calibrated_bonus", "days", "SECONDS_PER_DAY", "EdgeSource"]

SECONDS_PER_DAY = 86400.0

#: ``source(table, matrix, seconds, tick) -> (edges, notices)``: the weighted edges over
#: ``table``'s nodes. ``matrix`` is the TF-IDF matrix (rows in node order), ``seconds`` the
#: nodes' publication times (POSIX seconds, NaN when undated), ``tick`` reports nodes done.
#: Knobs are bound as keyword arguments where the pipeline picks the source.
EdgeSource = Callable[[NodeTable, "sp.csr_matrix", np.ndarray, Tick], tuple[Edges, list[Notice]]]


def build_nodes(articles: Iterable[Article], use_related: bool = True, exclude: frozenset[str] = frozenset()) -> NodeTable:
    """Merge articles by canonical URL and resolve related links to nodes. Related links to
    a key in ``exclude`` (an editor's ``ignore``) are dropped, so it never becomes a node.
    A URL known only from related lists takes the text of its first entry in the order of the
    listing articles' keys, then files, then the lists' own order."""
    groups: dict[str, list[Article]] = {}
    for article in articles:
        groups.setdefault(article.key or canonical_url(article.url), []).append(article)
    code = {key: i for i, key in enumerate(groups)}  # a node's number while the table is built
    made = [_node_from_files(key, group) for key, group in groups.items()]
    links: list[int] = []  # a link is (links[2i], links[2i + 1]), by the nodes' numbers
    refs = 0
    if use_related:
        refs = _link(groups, _ranks(groups), _aliases(groups), exclude, code, made, links)
    order = sorted(range(len(made)), key=[node.id for node in made].__getitem__)
    position = np.empty(len(made), dtype=np.int64)
    position[order] = np.arange(len(made))
    pairs = position[np.array(links, dtype=np.int64)].reshape(-1, 2)
    return NodeTable([made[i] for i in order], _index_pairs(pairs, len(made)), refs)


def _ranks(groups: dict[str, list[Article]]) -> dict[str, range | list[int]]:
    """Each group's articles' ranks (in the group's order) in the order of keys, then files: the
    key's place times the largest group's size, plus the article's place by file in its group."""
    width = max(map(len, groups.values()), default=1)
    ranks: dict[str, range | list[int]] = {}
    for i, key in enumerate(sorted(groups)):
        ranks[key] = range(i * width, i * width + 1)
    for key, group in groups.items():
        if len(group) > 1:
            first, ranks[key] = ranks[key][0], [0] * len(group)
            for place, j in enumerate(sorted(range(len(group)), key=lambda j: group[j].file)):
                ranks[key][j] = first + place
    return ranks


def _link(groups: dict[str, list[Article]], ranks: dict[str, range | list[int]], aliases: dict[str, str],
          exclude: frozenset[str], code: dict[str, int], made: list[Node], links: list[int]) -> int:
    """Append each related link's node numbers to ``links``, numbering (in ``code``) and making (in
    ``made``) a node for each URL known only from related lists; return the entries read.

    The articles are read in the order they came (in memory, about that order: a walk in key
    order took 4x as long on 100k articles, every object a cache miss), and a related-only node
    is made afterwards from its entry that comes first by (article's rank, place in its list)."""
    refs, first = 0, len(made)
    best: list[tuple[int, RelatedRef]] = []  # the first entry of each related-only node, so far
    named: list[str] = []  # and its key
    for key, group in groups.items():
        source = code[key]
        for article, rank in zip(group, ranks[key]):
            for ref in article.related:
                refs += 1
                target = ref.key or canonical_url(ref.url)
                target = aliases.get(target, target)
                if target == key or target in exclude:
                    continue
                number = code.get(target)
                if number is None:
                    number = code[target] = first + len(best)
                    best.append((rank, ref))
                    named.append(target)
                elif number >= first and rank < best[number - first][0]:
                    best[number - first] = (rank, ref)
                links += (source, number)
    made.extend(_node_from_ref(target, ref) for target, (_, ref) in zip(named, best))
    return refs


def _index_pairs(pairs: np.ndarray, n: int) -> np.ndarray:
    """The links ``pairs`` (an ``(m, 2)`` array of node indices) as sorted, distinct ``(lo, hi)``
    pairs."""
    left, right = pairs[:, 0], pairs[:, 1]
    # one integer key a pair, in (lo, hi) order: sorting the keys sorts the pairs as rows
    n = max(n, 1)
    keys = sorted_unique(np.minimum(left, right) * n + np.maximum(left, right))
    return np.column_stack([keys // n, keys % n])


def _node_from_files(key: str, group: list[Article]) -> Node:
    # The newest file speaks for the node (an updated story keeps its URL, changes its title).
    if len(group) == 1:  # most nodes: what the general case gives for one file, without its passes
        a = group[0]
        return Node(id=key, url=a.url, title=a.title, excerpt=a.excerpt, published=a.published, provider=a.provider,
                    domain=a.domain, topics=tuple(dict.fromkeys(a.topics)), type=a.type, quality=a.quality,
                    files=(a.file,))
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
    """Map the canonical form of each article's other URLs (AMP, cdn) to its node (the first
    such node by key)."""
    aliases: dict[str, str] = {}
    for key, group in groups.items():  # in memory order, not key order: see _link
        for article in group:
            for alt in article.alt_keys or [canonical_url(u) for u in article.alt_urls]:
                if alt != key and alt not in groups:
                    have = aliases.get(alt)
                    if have is None or key < have:
                        aliases[alt] = key
    return aliases


def days(seconds: np.ndarray) -> np.ndarray:
    """POSIX seconds (or a difference of them) in days; NaN stays NaN."""
    return seconds / SECONDS_PER_DAY


def time_kernel(gap_days: np.ndarray, window_days: float = 7.0) -> np.ndarray:
    """``max(0, 1 - gap / window_days)``: how much a pair's similarity counts at that gap
    (1 for an undated article, whose gap is NaN: nothing rules it out)."""
    return np.where(np.isnan(gap_days), 1.0, np.clip(1.0 - gap_days / window_days, 0.0, 1.0))


def calibrated_related_weight(
    similarity: np.ndarray,
    related: np.ndarray,
    gap_days: np.ndarray,
    related_weight: float | str = "auto",
    window_days: float = 7.0,
) -> float:
    """The weight a related link adds: ``related_weight`` itself, or with ``"auto"`` the
    median cosine of the related pairs published within ``window_days`` of each other
    (0 when there are none).

    A related list is the site's judgement, and sites judge differently: on one real
    site lists are other outlets' coverage of the same event (median cosine 0.21), on
    another they span a product area (0.02). Weighing a link like the text similarity
    its own site's links show lets the first count and keeps the second from gluing a
    topic together, without a constant tuned to either.
    """
    if related_weight != "auto":
        return float(related_weight)
    near = related & ~(gap_days > window_days)
    return float(np.median(similarity[near])) if near.any() else 0.0


def later_period(periods: np.ndarray, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Each edge's period for the running calibration: the later of its two nodes' periods
    (``periods`` as :func:`storygraph.periods.period_of` gives them), or ``UNDATED`` (int64's
    least value) when either node is undated."""
    pl, pr = periods[left], periods[right]
    undated = np.iinfo(np.int64).min
    return np.where((pl == undated) | (pr == undated), undated, np.maximum(pl, pr))


def running_related_weights(
    similarity: np.ndarray,
    related: np.ndarray,
    gap_days: np.ndarray,
    period: np.ndarray,
    corpus_value: float,
    window_days: float = 7.0,
) -> tuple[np.ndarray, tuple[tuple[int, float], ...]]:
    """The related weight "auto" over a running scope (``idf_scope`` "running"): per edge,
    the bonus a related link adds, and ``(period, value)`` for each period that has one.

    A related link between two dated articles whose later one is in period ``p``
    (``period``, from :func:`later_period`) weighs the median cosine of the related pairs
    within ``window_days`` whose later article is in ``p`` or before (0 when there are none):
    what the run had seen by then, as the running IDF weighs words. Those cosines read
    vectors of periods up to ``p + 1`` only, so articles added two periods later leave the
    bonus, like the vectors, the same to the last bit. A link with an undated end weighs
    ``corpus_value`` (:func:`calibrated_related_weight` over the whole run), as undated
    articles' IDF is the whole corpus's.
    """
    undated = np.iinfo(np.int64).min
    dated = period != undated
    near = related & dated & (gap_days <= window_days)
    order = np.argsort(period[near], kind="stable")
    seen, seen_at = similarity[near][order], period[near][order]
    wanted = sorted_unique(period[related & dated])
    # the median of a prefix is the same multiset's median whatever the order inside it: the same bits
    ends = np.searchsorted(seen_at, wanted, side="right")
    values = np.array([float(np.median(seen[:end])) if end else 0.0 for end in ends.tolist()], dtype=np.float64)
    bonus = np.full(len(similarity), corpus_value, dtype=np.float64)
    pick = related & dated
    bonus[pick] = values[np.searchsorted(wanted, period[pick])]
    return bonus, tuple(zip(wanted.tolist(), values.tolist()))


def edge_weights(
    similarity: np.ndarray,
    related: np.ndarray,
    gap_days: np.ndarray,
    related_bonus: float | np.ndarray,
    window_days: float = 7.0,
) -> np.ndarray:
    """Weight of each edge for community detection (float64): the one edge rule.

    ``similarity`` (cosine of the two texts, or another source's base weight) times
    :func:`time_kernel` of the gap, plus ``related_bonus`` where ``related`` (a related
    link: the run's :func:`calibrated_related_weight`, or one per edge from
    :func:`running_related_weights`). Only articles published at most
    ``window_days`` apart can be one event: an edge across a longer ``gap_days`` weighs 0
    (on one real site related lists span months and whole product areas: "same topic",
    not "same event"). A NaN gap (an undated article) cannot rule an edge out. Edges of
    weight 0 stay in the outputs but play no part in finding stories.

    >>> edge_weights(np.array([0.2, 0.2, 0.2]), np.array([True, True, False]), np.array([3.5, 70.0, np.nan]), 0.2)
    array([0.3, 0. , 0.2])
    """
    weight = similarity * time_kernel(gap_days, window_days) + np.where(related, related_bonus, 0.0)
    weight[gap_days > window_days] = 0.0  # NaN compares False: kept
    return weight


def build_edges(
    table: NodeTable,
    similar: Pairs,
    related_similarity: np.ndarray,
    seconds: np.ndarray,
    *,
    related_weight: float | str = "auto",
    window_days: float = 7.0,
    periods: np.ndarray | None = None,
) -> Edges:
    """Join similar pairs and related links into one sorted edge list, weighted by :func:`edge_weights`.

    ``related_similarity[i]`` is the cosine of the pair ``table.related[i]``;
    ``seconds`` each node's publication time (POSIX seconds, NaN when undated).
    ``periods`` (each node's, :func:`storygraph.periods.period_of`) calibrates
    ``related_weight`` "auto" over a running scope (:func:`running_related_weights`);
    None calibrates it over the whole run.
    """
    n = len(table.nodes)
    rel_left, rel_right = table.related[:, 0], table.related[:, 1]
    keys = sorted_unique(np.concatenate([similar.left * n + similar.right, rel_left * n + rel_right]))
    left, right = keys // n, keys % n
    sim = np.zeros(len(keys), dtype=np.float64)
    is_similar = np.zeros(len(keys), dtype=bool)
    is_related = np.zeros(len(keys), dtype=bool)
    at = np.searchsorted(keys, rel_left * n + rel_right)
    sim[at], is_related[at] = related_similarity.astype(np.float64), True
    at = np.searchsorted(keys, similar.left * n + similar.right)
    sim[at], is_similar[at] = similar.similarity.astype(np.float64), True  # the pair search's value wins
    kind = np.where(is_related & is_similar, 2, np.where(is_related, 0, 1)).astype(np.uint8)
    gap = days(np.abs(seconds[left] - seconds[right]))
    weight = calibrated_related_weight(sim, is_related, gap, related_weight, window_days)
    bonus, by_period = calibrated_bonus(sim, is_related, gap, weight, related_weight, window_days, periods, left, right)
    return Edges(n, left, right, kind, sim, edge_weights(sim, is_related, gap, bonus, window_days), weight, by_period)


def calibrated_bonus(similarity: np.ndarray, related: np.ndarray, gap_days: np.ndarray, weight: float,
                     related_weight: float | str, window_days: float, periods: np.ndarray | None, left: np.ndarray,
                     right: np.ndarray) -> tuple[float | np.ndarray, tuple[tuple[int, float], ...] | None]:
    """``(bonus, by_period)`` for :func:`edge_weights` and ``Edges.period_weights``: the
    running calibration when ``periods`` is given and ``related_weight`` is "auto", else
    ``(weight, None)`` (a number the user set is the same in every period)."""
    if periods is None or related_weight != "auto":
        return weight, None
    return running_related_weights(similarity, related, gap_days, later_period(periods, left, right), weight,
                                   window_days)
