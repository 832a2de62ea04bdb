"""Apply an editor's ``together`` and ``apart`` (:mod:`storygraph.overrides`) to a partition, locally.

After community detection, the stories that hold the articles of a ``together`` group
(all of them) or of an ``apart`` pair (the story they share) form a *region*; regions
that share a story are one region. Each region alone is clustered again with the
cohesion objective (:func:`storygraph.cohesion.optimise`), every ``together`` set as one
unit, and a story that still holds an ``apart`` pair is split in two around it (each of
its other units joins the side it gains most with, or stands alone). Stories outside the
regions are not touched, so correcting one story never reshuffles unrelated ones.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from . import cohesion as objective
from .model import Edges
from .overrides import Resolved

__all__ = ["apply_corrections"]


def apply_corrections(
    parts: list[list[int]],
    resolved: Resolved,
    matrix: sp.csr_matrix,
    edges: Edges,
    days: np.ndarray,
    *,
    cohesion: float = objective.DEFAULT_COHESION,
    window_days: float = 7.0,
    seed: int = 42,
) -> list[list[int]]:
    """``parts`` with every ``together`` set in one story and no ``apart`` pair in one story."""
    n = edges.n
    label = np.empty(n, dtype=np.int64)
    for c, members in enumerate(parts):
        label[members] = c
    unit = _units(n, resolved)
    apart = [(a, b) for _, group in resolved.apart for i, a in enumerate(group) for b in group[i + 1:]]
    evidence = edges.positive()
    next_label = len(parts)
    for stories in _regions(label, resolved, apart):
        members = np.flatnonzero(np.isin(label, stories))
        local = _reclustered(members, unit, apart, matrix, evidence, days, cohesion, window_days, seed)
        label[members] = local + next_label
        next_label += int(local.max()) + 1
    order = np.lexsort((np.arange(n), label))
    bounds = np.flatnonzero(np.r_[True, label[order][1:] != label[order][:-1], True])
    return sorted((order[bounds[i]:bounds[i + 1]].tolist() for i in range(len(bounds) - 1)), key=lambda p: p[0])


def _units(n: int, resolved: Resolved) -> np.ndarray:
    """A label per node: the nodes of ``together`` groups that share articles share a label."""
    parent = np.arange(n)

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for _, group in resolved.together:
        for i in group[1:]:
            parent[root(i)] = root(group[0])
    return np.array([root(i) for i in range(n)], dtype=np.int64)


def _regions(label: np.ndarray, resolved: Resolved, apart: list[tuple[int, int]]) -> list[list[int]]:
    """Groups of story labels to recluster together, in a fixed order."""
    parent: dict[int, int] = {}

    def root(c: int) -> int:
        while parent.get(c, c) != c:
            c = parent[c]
        return c

    touched: set[int] = set()
    for _, group in resolved.together:
        stories = sorted({int(label[i]) for i in group})
        touched.update(stories)
        for c in stories[1:]:
            parent[root(c)] = root(stories[0])
    touched.update(int(label[a]) for a, b in apart if label[a] == label[b])
    regions: dict[int, list[int]] = {}
    for c in sorted(touched):
        regions.setdefault(root(c), []).append(c)
    # a together group already whole and free of apart pairs needs nothing
    return [r for r in regions.values() if _needs_work(r, label, resolved, apart)]


def _needs_work(stories: list[int], label: np.ndarray, resolved: Resolved, apart) -> bool:
    inside = set(stories)
    if len(stories) > 1:
        return True
    return any(label[a] == label[b] and int(label[a]) in inside for a, b in apart)


def _reclustered(members, unit, apart, matrix, edges, days, cohesion, window_days, seed) -> np.ndarray:
    """Labels ``0..`` for ``members``: the cohesion objective on them alone, then apart pairs split."""
    position = {int(m): k for k, m in enumerate(members)}
    inside = np.isin(edges.left, members) & np.isin(edges.right, members)
    remap = np.vectorize(position.__getitem__, otypes=[np.int64])
    sub = Edges(len(members), remap(edges.left[inside]), remap(edges.right[inside]), edges.kind[inside],
                edges.similarity[inside], edges.weight[inside], edges.related_weight, edges.period_weights)
    if len(sub) == 0:
        sub = Edges(len(members), np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.uint8), np.zeros(0), np.zeros(0))
    sub_matrix, sub_days, sub_unit = matrix[members], days[members], unit[members]
    local = objective.optimise(sub_matrix, sub, sub_days, cohesion=cohesion, window_days=window_days, seed=seed,
                               units=sub_unit)
    pairs = [(position[a], position[b]) for a, b in apart if a in position and b in position]
    return _split_apart(local, sub_unit, pairs, sub_matrix, sub_days, cohesion, window_days)


def _split_apart(label, unit, pairs, matrix, days, cohesion, window_days) -> np.ndarray:
    """Split every story holding an apart pair: the pair's units seed two sides, each other
    unit joins the side with the larger exact gain, or stands alone when both are negative."""
    z = objective.time_vectors(matrix, days, window_days)
    label = label.copy()
    for _ in range(len(pairs) + 1):
        bad = next(((a, b) for a, b in pairs if label[a] == label[b]), None)
        if bad is None:
            return label
        story = np.flatnonzero(label == label[bad[0]])
        units = sorted({int(unit[i]) for i in story}, key=lambda u: int(np.flatnonzero(unit == u)[0]))
        sides = {int(unit[bad[0]]): 0, int(unit[bad[1]]): 1}
        members = {u: story[unit[story] == u] for u in units}
        vectors = {u: sp.csr_matrix(z[members[u]].sum(axis=0)) for u in units}
        side_sum = [objective.spread(vectors[u], z.terms) for u in (int(unit[bad[0]]), int(unit[bad[1]]))]
        side_size = [len(members[int(unit[bad[0]])]), len(members[int(unit[bad[1]])])]
        fresh = int(label.max()) + 1
        label[members[int(unit[bad[1]])]] = fresh
        for u in units:
            if u in sides:
                continue
            gains = [float(vectors[u].multiply(side_sum[s]).sum()) - cohesion * len(members[u]) * side_size[s]
                     for s in (0, 1)]
            best = int(np.argmax(gains))
            if gains[best] <= 0:
                label[members[u]] = int(label.max()) + 1
                continue
            if best == 1:
                label[members[u]] = fresh
            side_sum[best] = side_sum[best] + objective.spread(vectors[u], z.terms)
            side_size[best] += len(members[u])
    return label


def described(stories: list, story_of: list[int], nodes: list, resolved: Resolved, overrides) -> tuple[list, dict, list]:
    """The stories with their editors' titles and corrected marks, the JSON ``overrides``
    section (what was applied, what was not found) and notices for titles that lost to an
    earlier entry naming the same story."""
    import dataclasses

    from .model import Notice

    titles: dict[int, tuple[int, str]] = {}
    notices = []
    for number, node, title in resolved.titles:
        story = story_of[node]
        if story in titles:
            notices.append(Notice(overrides.path, f"titles[{number}]", f"{nodes[node].id}: its story already has the "
                                                                       f"title of entry {titles[story][0]}; not applied"))
            continue
        titles[story] = (number, title)
    corrected = {story_of[i] for i in resolved.corrected_nodes}
    out = [dataclasses.replace(s, title=titles[k][1] if k in titles else None, corrected=k in corrected)
           for k, s in enumerate(stories)]
    sid = lambda i: stories[story_of[i]].id
    applied = [{"kind": "together", "entry": n, "articles": [nodes[i].id for i in g], "story": sid(g[0])}
               for n, g in resolved.together]
    applied += [{"kind": "apart", "entry": n, "articles": [nodes[i].id for i in g], "stories": [sid(i) for i in g]}
                for n, g in resolved.apart]
    applied += [{"kind": "title", "entry": n, "article": nodes[i].id, "story": sid(i), "title": t}
                for n, i, t in resolved.titles if titles.get(story_of[i], (None,))[0] == n]
    applied += [{"kind": "ignore", "entry": n, "article": key} for n, key in resolved.ignored]
    section = {"sha256": overrides.sha256, "applied": applied, "unknown": resolved.unknown}
    return out, section, notices
