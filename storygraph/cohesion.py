"""The story objective: a story is a group of articles whose time-close pairs are, on average,
at least ``cohesion`` similar. Size-free and density-free by construction.

For a partition into stories ``C`` the quality is

    Q = sum over stories C, over pairs i < j in C, of ( cos_ij * K(dt_ij) + e_ij - cohesion )

- ``cos_ij`` is the TF-IDF cosine of the two articles, for **every** pair, not only the
  pairs the nearest-neighbour search kept: the sum over a story's pairs is exact, from the
  story's summed vectors (``sum_{i<j} x_i . x_j = (|S|^2 - sum |x_i|^2) / 2``).
- ``K(dt)`` discounts pairs far apart in time: 1 at the same moment, 0 beyond
  ``window_days``, ``1 - dt / window_days`` on average (1 for two undated articles, 0
  between a dated and an undated one), computed exactly in the same way from time-binned
  vectors (:func:`time_vectors`, :func:`spread`).
- ``e_ij`` is what a link adds beyond the text: the related-link weight for a related pair
  (see :func:`storygraph.graph.edge_weights`), or an edge file's own weight.
- ``cohesion`` is the penalty of every pair, near or far in time.

So a group stays one story when the mean time-discounted similarity of its pairs exceeds
``cohesion``: an average, not a count. It does not depend on how many articles the story
has (5 or 500 outlets are judged the same way), nor on how much other news the corpus holds
(no term looks outside the story: a day of a wire and a year of niche sites alike), and
adding evidence (a related link, a lower search threshold) can only make a story's score
higher, never split it. This is group-average linkage (the criterion of retrospective event
detection, Yang, Pierce and Carbonell 1998) written as a partition objective: the constant
Potts model (Traag, Van Dooren and Nesterov 2011) on the complete time-discounted cosine
graph, which has no resolution limit. Modularity and a sparse graph's Potts model both judge
a story by its number of links, which a top-k graph caps at k per article, so they cut big
stories into pieces (docs/quality.md measures it).

Optimisation, Leiden-style (Traag, Waltman and van Eck 2019), every step seeded:

1. igraph's Leiden (Potts model, resolution ``cohesion``) on the nearest-neighbour graph
   forms small seed groups;
2. the groups become nodes of a smaller graph whose edge weights are the **exact**
   time-discounted sums between groups, and Leiden runs again on it (node weights = group
   sizes), until nothing merges;
3. each article moves to the neighbouring story with the best exact gain (batched sweeps
   over its four best-linked candidate stories);
4. step 2 again, for what the moves made mergeable.

Without igraph, step 1 starts from single articles and step 2 merges mutually best pairs of
groups by exact gain (:func:`pair_merges`): the same objective, found more slowly.
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp

from .groupsums import Level, spread, spread_sums, time_vectors
from .sparse import group_sums, row_dots, row_norms_squared, sorted_unique

if TYPE_CHECKING:
    from .model import Edges

__all__ = ["optimise", "time_vectors", "spread", "quality", "link_extra", "group_pairs", "pair_merges", "relabel",
           "DEFAULT_COHESION"]

#: Default ``cohesion``: the mean time-discounted cosine a story's pairs must reach
#: (docs/quality.md: chosen across every dev set).
DEFAULT_COHESION = 0.07
_SWEEPS = 2  # refinement sweeps per round
_BATCHES = 4  # refinement batches per sweep: moves see the sums of the batches before them
_ROUNDS = 1  # aggregate-then-refine rounds (more changed nothing measurable: docs/quality.md)
_LEVELS = 20  # aggregation levels per round (stops as soon as nothing merges)
_CANDIDATES = 4  # groups whose exact gain an article weighs: its own and its 3 best-linked others
_EPS = 1e-9


def optimise(
    matrix: sp.csr_matrix,
    edges: "Edges",
    days: np.ndarray,
    *,
    cohesion: float = DEFAULT_COHESION,
    window_days: float = 7.0,
    seed: int = 42,
    use_igraph: bool = True,
    units: np.ndarray | None = None,
) -> np.ndarray:
    """The story label of each node, maximising :func:`quality` (see the module docstring).

    ``matrix``: L2-normalised TF-IDF rows in node order; ``edges``: the candidate links with
    positive weight (only they propose moves; their ``weight`` minus the time-discounted
    ``similarity`` is the evidence they add); ``days``: publication time in days, NaN when
    undated. ``units`` (a label per node) keeps nodes with one label in one story whatever
    happens (an editor's ``together``). The result depends only on these and ``seed``.
    """
    z = time_vectors(matrix, days, window_days)
    extra = link_extra(edges, days, window_days)
    if units is None:
        return _optimise(z, edges, extra, np.ones(edges.n), cohesion, seed, use_igraph)
    units = relabel(units)
    k = int(units.max()) + 1 if len(units) else 0
    unit_z = group_sums(z, units, k)
    unit_z.terms = z.terms
    a, b, link = group_pairs(edges.left, edges.right, extra, units, k)
    weight = group_pairs(edges.left, edges.right, edges.weight, units, k)[2]
    contracted = type(edges)(k, a, b, np.zeros(len(a), dtype=np.uint8), np.zeros(len(a)), weight)
    size = np.bincount(units, minlength=k).astype(np.float64)
    return _optimise(unit_z, contracted, link, size, cohesion, seed, use_igraph)[units]


def _optimise(z, edges, extra, size, cohesion, seed, use_igraph) -> np.ndarray:
    """:func:`optimise` over nodes that weigh ``size`` articles each (units of ``together``)."""
    if use_igraph:
        label = _leiden(edges.n, edges.left, edges.right, edges.weight, size, cohesion, seed)
    else:
        label = np.arange(edges.n)
    own = row_dots(z, np.arange(edges.n), spread(z, z.terms), np.arange(edges.n))  # each node's mass with itself
    rng = np.random.default_rng(seed)
    for _ in range(_ROUNDS):
        label = _aggregate(z, edges, extra, label, size, cohesion, seed, use_igraph)
        label, moved = _refine(z, edges, extra, label, size, cohesion, own, rng)
        if moved == 0:
            return label
    return _aggregate(z, edges, extra, label, size, cohesion, seed, use_igraph)  # what the moves made mergeable


def quality(matrix: sp.csr_matrix, edges: "Edges", days: np.ndarray, label: np.ndarray, *,
            cohesion: float = DEFAULT_COHESION, window_days: float = 7.0) -> float:
    """The objective ``Q`` of a labelling (for tests and for comparing partitions)."""
    z = time_vectors(matrix, days, window_days)
    label = relabel(label)
    k = int(label.max()) + 1 if len(label) else 0
    sums = group_sums(z, label, k)
    size = np.bincount(label, minlength=k).astype(np.float64)
    whole = row_dots(sums, np.arange(k), spread(sums, z.terms), np.arange(k))
    inner = (whole - np.bincount(label, row_norms_squared(z), minlength=k)) / 2
    extra = link_extra(edges, days, window_days)
    same = label[edges.left] == label[edges.right]
    return float(inner.sum() + extra[same].sum() - cohesion * (size * (size - 1) / 2).sum())


def link_extra(edges: "Edges", days: np.ndarray, window_days: float) -> np.ndarray:
    """What each link adds beyond its pair's time-discounted cosine (already in the exact sums)."""
    gap = np.abs(days[edges.left] - days[edges.right])
    both_undated = np.isnan(days[edges.left]) & np.isnan(days[edges.right])
    kernel = np.where(np.isnan(gap), np.where(both_undated, 1.0, 0.0), np.clip(1 - gap / window_days, 0.0, 1.0))
    return np.maximum(edges.weight - edges.similarity * kernel, 0.0)


def _leiden(n: int, left: np.ndarray, right: np.ndarray, weight: np.ndarray, size: np.ndarray, cohesion: float,
            seed: int) -> np.ndarray:
    """igraph's Leiden with the Potts model: sum over pairs in a group of (w_ij - cohesion n_i n_j)."""
    import igraph

    graph = igraph.Graph(n=n)
    graph.add_edges(list(zip(left.tolist(), right.tolist())))  # igraph reads pairs of ints fastest (0.7x a 2-D array's time)
    graph.es["weight"] = weight.tolist()
    igraph.set_random_number_generator(random.Random(seed))  # seeded, not the global RNG
    try:
        membership = graph.community_leiden(objective_function="CPM", weights="weight", resolution=cohesion,
                                            node_weights=size.tolist(), n_iterations=2).membership
    finally:
        igraph.set_random_number_generator(random)
    return relabel(np.asarray(membership, dtype=np.int64))


def _aggregate(z, edges, extra, label, node_size, cohesion, seed, use_igraph) -> np.ndarray:
    """Merge groups on the graph of groups with exact weights, level after level."""
    level = None
    for _ in range(_LEVELS if use_igraph else 10 * _LEVELS):  # pairwise merges need more levels
        k = int(label.max()) + 1
        a, b, link = group_pairs(edges.left, edges.right, extra, label, k)
        if len(a) == 0:
            break
        level = Level(z, label, k, a, b, level)
        size = np.bincount(label, node_size, minlength=k)
        weight = level.dots + link
        if use_igraph:
            merged = _leiden(k, a, b, np.maximum(weight, 0.0), size, cohesion, seed)
        else:
            merged = pair_merges(k, a, b, weight - cohesion * size[a] * size[b])
        if len(sorted_unique(merged)) == k:  # nothing merged (pair_merges keeps the labels of the groups it joins into)
            break
        label = relabel(merged[label])
    return label


def pair_merges(k: int, a: np.ndarray, b: np.ndarray, gain: np.ndarray) -> np.ndarray:
    """Merge each pair of groups that are each other's best positive-gain partner."""
    good = gain > _EPS
    a, b, gain = a[good], b[good], gain[good]
    mine, other, value = np.r_[a, b], np.r_[b, a], np.r_[gain, gain]
    order = np.lexsort((other, -value, mine))
    mine, other = mine[order], other[order]
    first = np.r_[True, mine[1:] != mine[:-1]] if len(mine) else np.zeros(0, dtype=bool)
    best = np.full(k, -1)
    best[mine[first]] = other[first]
    groups = np.arange(k)
    mutual = np.flatnonzero((best >= 0) & (best[np.maximum(best, 0)] == groups) & (groups < best))
    groups[best[mutual]] = mutual
    return groups


def _refine(z, edges, extra, label, node_size, cohesion, own, rng) -> tuple[np.ndarray, int]:
    """Move articles to the neighbouring story (or out, alone) with the best exact gain."""
    n = len(label)
    src, dst = np.r_[edges.left, edges.right], np.r_[edges.right, edges.left]
    link = np.r_[extra, extra]
    strength = np.r_[edges.weight, edges.weight]
    moved_total, before = 0, None
    for _ in range(_SWEEPS):
        moved = 0
        for part in np.array_split(rng.permutation(n), _BATCHES):
            k = int(label.max()) + 1
            sums = spread_sums(z, label, k, before)  # only the groups the last batch changed are summed again
            before = (label, k, sums)
            label, count = _move_batch(z, label, sums, part, src, dst, link, strength, node_size, cohesion, own)
            moved += count
        moved_total += moved
        if moved == 0:
            break
    return label, moved_total


def _move_batch(z, label, sums, part, src, dst, link, weight, node_size, cohesion, own) -> tuple[np.ndarray, int]:
    """One batch of moves; ``sums`` are the groups' spread summed vectors."""
    n = len(label)
    k = sums.shape[0]
    size = np.bincount(label, node_size, minlength=k)
    chosen = np.zeros(n, dtype=bool)
    chosen[part] = True
    pick = chosen[src]
    node = np.r_[src[pick], part]  # every batch node is a candidate of its own story too
    group = np.r_[label[dst[pick]], label[part]]
    keys, inverse = np.unique(node * k + group, return_inverse=True)
    bonus = np.bincount(inverse, np.r_[link[pick], np.zeros(len(part))])
    reach = np.bincount(inverse, np.r_[weight[pick], np.full(len(part), np.inf)])
    node, group = keys // k, keys % k
    keep = _strongest(node, reach, _CANDIDATES)  # the exact gain is costly: only the best-linked groups
    node, group, bonus = node[keep], group[keep], bonus[keep]
    gain = row_dots(z, node, sums, group) + bonus - cohesion * node_size[node] * size[group]
    home = group == label[node]
    # a node's own story holds it: not its pairs with itself, and n_u * n_u pairs fewer
    gain[home] += cohesion * node_size[node[home]] ** 2 - own[node[home]]
    stay = np.zeros(n)
    stay[node[home]] = gain[home]
    best, target = _best_other(n, node[~home], group[~home], gain[~home])
    go = part[best[part] > stay[part] + _EPS]
    new = label.copy()
    joins = target[go] >= 0
    new[go[joins]] = target[go[joins]]
    alone = go[~joins]
    new[alone] = k + np.arange(len(alone))
    return relabel(new), len(go)


def _strongest(node: np.ndarray, reach: np.ndarray, limit: int) -> np.ndarray:
    """Mask of each node's ``limit`` candidate groups with the most link weight (its own group
    always: its weight is inf), ties by group order."""
    order = np.lexsort((-reach, node))
    first = np.r_[True, node[order][1:] != node[order][:-1]] if len(node) else np.zeros(0, dtype=bool)
    start = np.maximum.accumulate(np.where(first, np.arange(len(order)), 0))
    keep = np.zeros(len(node), dtype=bool)
    keep[order[np.arange(len(order)) - start < limit]] = True
    return keep


def _best_other(n: int, node: np.ndarray, group: np.ndarray, gain: np.ndarray):
    """Each node's best other group with positive gain (ties: the lower group), else alone (-1, 0)."""
    best, target = np.zeros(n), np.full(n, -1)
    order = np.lexsort((group, -gain, node))
    node, group, gain = node[order], group[order], gain[order]
    first = np.r_[True, node[1:] != node[:-1]] if len(node) else np.zeros(0, dtype=bool)
    good = first & (gain > 0)
    best[node[good]], target[node[good]] = gain[good], group[good]
    return best, target


def group_pairs(left: np.ndarray, right: np.ndarray, extra: np.ndarray, label: np.ndarray,
                k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Adjacent groups ``(a, b)``, ``a < b``, and the summed extra evidence of the links
    ``(left[i], right[i])`` between them."""
    a, b = label[left], label[right]
    across = a != b
    lo, hi = np.minimum(a[across], b[across]), np.maximum(a[across], b[across])
    keys, inverse = np.unique(lo * k + hi, return_inverse=True)
    return keys // k, keys % k, np.bincount(inverse, extra[across], minlength=len(keys))


def relabel(label: np.ndarray) -> np.ndarray:
    """Labels ``0..k-1`` in order of each label's first node (deterministic)."""
    _, first, inverse = np.unique(label, return_index=True, return_inverse=True)
    rank = np.empty(len(first), dtype=np.int64)
    rank[np.argsort(first, kind="stable")] = np.arange(len(first))
    return rank[inverse]
