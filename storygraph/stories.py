"""Stories stage: communities become described, stably identified stories.

- ``id``: ``s`` + the first 12 hex digits of SHA-1 of the earliest member's
  canonical URL (earliest by publication, undated last, then URL), so the id
  survives re-runs and new articles joining later in the story.
- ``cohesion``: the mean cosine of the members to the story's TF-IDF centroid (the sum
  of their vectors); each member's own cosine is its ``story_similarity``
  (:func:`member_similarity`): what the HTML report and Gephi show to explain a story.
- ``headline``: the in-corpus member most similar to the story's centroid (the most
  representative), then the highest ``quality``, then the earliest.
- ``keywords``: terms with the highest summed TF-IDF over the members.
- sorted by size (largest first), then first publication, then id.
- ``color``: a distinct palette colour for the 20 largest multi-article stories,
  a colour derived from the id for the rest, light grey for single articles.
"""

from __future__ import annotations

import colorsys
import dataclasses
import hashlib
from collections import Counter
from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp

from .model import Edges, Node, Story
from .sparse import group_sums, row_dots, row_norms_squared

__all__ = ["Story", "build_stories", "member_similarity", "membership_of", "colored", "story_keywords"]

# Tableau 20-like palette: distinguishable in Gephi and in the HTML report.
_PALETTE = (
    (31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189),
    (140, 86, 75), (227, 119, 194), (127, 127, 127), (188, 189, 34), (23, 190, 207),
    (174, 199, 232), (255, 187, 120), (152, 223, 138), (255, 152, 150), (197, 176, 213),
    (196, 156, 148), (247, 182, 210), (199, 199, 199), (219, 219, 141), (158, 218, 229),
)
_SINGLE = (210, 210, 210)


def build_stories(
    nodes: list[Node],
    edges: Edges,
    communities: list[list[int]],
    matrix: sp.csr_matrix,
    terms: np.ndarray,
    n_keywords: int,
    *,
    similarity: np.ndarray | None = None,
) -> list[Story]:
    """Describe each community as a :class:`Story`; returns them sorted for output.

    ``similarity`` is each node's :func:`member_similarity` under this partition, when the
    caller has it (it depends only on which nodes are together, not on the stories' order),
    else computed here. ``edges`` are not used by the description itself (they are kept in
    the signature for callers that pass the whole graph)."""
    community_of = membership_of(communities, len(nodes))
    if similarity is None:
        similarity = member_similarity(matrix, community_of, len(communities))
    keywords = story_keywords(_story_terms(matrix, community_of, len(communities)), terms, n_keywords)
    facts = _Facts(nodes)
    # every story's members in time order at once: by story, then publication (undated last),
    # then id (nodes are sorted by id, and lexsort is stable)
    by_story = np.lexsort((facts.stamp, community_of))
    bounds = np.concatenate(([0], np.cumsum(np.bincount(community_of, minlength=len(communities)))))
    drafts = [_draft(facts, by_story[bounds[c]:bounds[c + 1]], similarity, keywords[c])
              for c in range(len(communities))]
    drafts.sort(key=_sort_key)
    return colored([Story(color=_SINGLE, **draft) for draft in drafts])


def colored(stories: list[Story]) -> list[Story]:
    """``stories`` (in output order) with their colours: a distinct palette colour for the
    first 20 multi-article stories, one derived from the id for the others, light grey for
    single articles. Called again when ids change (:mod:`storygraph.identity`)."""
    out = []
    multi = 0
    for story in stories:
        if story.size > 1:
            color = _PALETTE[multi] if multi < len(_PALETTE) else _hashed_color(story.id)
            multi += 1
        else:
            color = _SINGLE
        out.append(dataclasses.replace(story, color=color))
    return out


def membership_of(communities: Sequence[Sequence[int]], n: int) -> np.ndarray:
    """Each of the ``n`` nodes' community index (int64); every node must be in one community."""
    community_of = np.empty(n, dtype=np.int64)
    for c, members in enumerate(communities):
        community_of[members] = c
    return community_of


def member_similarity(matrix: sp.csr_matrix, community_of: np.ndarray, k: int | None = None) -> np.ndarray:
    """Each row's cosine to the summed TF-IDF vector of its community (0 for a row or a
    community without words), rounded to 6 decimals so outputs are reproducible."""
    n = len(community_of)
    if n == 0:
        return np.zeros(0)
    k = int(community_of.max()) + 1 if k is None else k
    sums = group_sums(matrix, community_of, k)
    norms = np.sqrt(row_norms_squared(sums))[community_of]
    dots = row_dots(matrix.tocsr(), np.arange(n), sums, community_of)
    out = np.divide(dots, norms, out=np.zeros(n), where=norms > 0)
    return np.clip(out, 0.0, 1.0).round(6)


def _story_terms(matrix: sp.csr_matrix, community_of: np.ndarray, n_communities: int) -> sp.csr_matrix:
    """Summed TF-IDF of each community's members: one sparse product for all stories."""
    n = len(community_of)
    membership = sp.csr_matrix((np.ones(n, dtype=np.float32), (community_of, np.arange(n))), shape=(n_communities, n))
    return (membership @ matrix).tocsr()


class _Facts:
    """What the stories read of each node, gathered once (in lists and arrays) rather than
    through a node object per member per field."""

    def __init__(self, nodes: Sequence[Node]) -> None:
        self.ids = [n.id for n in nodes]
        self.published = [n.published for n in nodes]
        self.stamp = np.array([d.timestamp() if d else np.inf for d in self.published], dtype=np.float64)
        self.providers = [n.provider for n in nodes]
        self.topics = [n.topics for n in nodes]
        # quality below 2**53 (fields.py), so exact in float64; None ranks as 0
        self.quality = np.array([n.quality or 0 for n in nodes], dtype=np.float64)
        self.in_corpus = np.array([n.in_corpus for n in nodes], dtype=bool)


def _draft(facts: _Facts, ordered: np.ndarray, similarity, keywords: tuple[str, ...]) -> dict:
    """One story's fields; ``ordered``: its members in time order (then by id)."""
    members = ordered.tolist()
    dates = [d for d in map(facts.published.__getitem__, members) if d is not None]
    return {
        "id": "s" + hashlib.sha1(facts.ids[members[0]].encode("utf-8")).hexdigest()[:12],
        "members": tuple(members),
        "headline": _headline(facts, similarity, ordered),
        "cohesion": round(float(np.mean(similarity[ordered])), 6),
        "keywords": keywords,
        "first_published": min(dates, default=None),
        "last_published": max(dates, default=None),
        "providers": tuple(sorted({p for p in map(facts.providers.__getitem__, members) if p})),
        "topics": _topics(facts.topics, members),
        "in_corpus": int(np.count_nonzero(facts.in_corpus[ordered])),
    }


def _topics(topics: list[tuple[str, ...]], members: list[int]) -> tuple[str, ...]:
    """The members' topics, most frequent first, then by name."""
    counts = Counter(t for i in members for t in topics[i])
    return tuple(t for t, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def _headline(facts: _Facts, similarity: np.ndarray, ordered: np.ndarray) -> int:
    """The in-corpus member closest to the story's centroid, then best quality, then earliest
    (an out-of-corpus one only where the story has no other): the last of lexsort's order."""
    earliest_first = -np.arange(len(ordered))
    best = np.lexsort((earliest_first, facts.quality[ordered], similarity[ordered], facts.in_corpus[ordered]))[-1]
    return int(ordered[best])


def story_keywords(term_weights: sp.csr_matrix, terms: np.ndarray, n: int) -> list[tuple[str, ...]]:
    """Each row's (story's) ``n`` heaviest terms, their summed weights rounded to 6 decimals,
    ties by the term; a term weighing 0 is left out. One sort of every story's weights at once
    (by story, weight, term): a sort per story was a sixth of the stage."""
    k = term_weights.shape[0]
    if n == 0 or term_weights.nnz == 0:
        return [()] * k
    indptr, columns = term_weights.indptr, term_weights.indices
    weights = term_weights.data.astype(np.float64).round(6)
    row = np.repeat(np.arange(k), np.diff(indptr))
    # the vocabulary is in term order (tfidf sorts its columns), so a column's number ranks its term
    tie = columns if _ascending(terms) else np.argsort(np.argsort(terms, kind="stable"))[columns]
    order = np.lexsort((tie, -weights, row))  # each row's entries stay within its own span
    first_n = np.arange(len(order)) - indptr[row[order]] < n
    kept = order[first_n & (weights[order] > 0)]
    words = terms[columns[kept]].tolist()
    ends = np.cumsum(np.bincount(row[kept], minlength=k)).tolist()
    return [tuple(words[a:b]) for a, b in zip([0] + ends[:-1], ends)]


def _ascending(terms: np.ndarray) -> bool:
    return bool(np.all(terms[:-1] < terms[1:]))


def _sort_key(draft: dict) -> tuple:
    first = draft["first_published"]
    return (-len(draft["members"]), first.timestamp() if first else float("inf"), draft["id"])


def _hashed_color(story_id: str) -> tuple[int, int, int]:
    digest = hashlib.sha1(story_id.encode()).digest()
    hue = digest[0] / 255.0
    r, g, b = colorsys.hsv_to_rgb(hue, 0.55 + digest[1] / 255.0 * 0.35, 0.75 + digest[2] / 255.0 * 0.2)
    return (round(r * 255), round(g * 255), round(b * 255))
