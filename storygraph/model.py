"""The data layer: plain data passed between the stages, and what writers read.

- load: :class:`Article` (with its :class:`RelatedRef` list), :class:`Skipped`,
  :class:`Notice`, gathered in a :class:`LoadResult`;
- graph: :class:`Node` and :class:`NodeTable` (nodes and related links), :class:`Pairs`
  (the similarity search's pairs), :class:`Edges`
  (the weighted edge list as arrays, kinds from :data:`KINDS`);
- stories: :class:`Story`;
- :class:`Clustering`: a clustered corpus, what every writer in :mod:`storygraph.export`
  reads (:class:`storygraph.result.ClusterResult` is one).

Nothing here imports another stage: every stage, writer and engine imports from here.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np

from .options import ClusterOptions

__all__ = ["RelatedRef", "Article", "Skipped", "Notice", "LoadResult", "Node", "NodeTable", "Pairs", "KINDS", "Edges",
           "Story", "Clustering"]


@dataclass(frozen=True)
class RelatedRef:
    """One entry of an article's ``related`` list: another article's coverage."""

    url: str
    title: str = ""
    excerpt: str = ""
    published: datetime | None = None
    provider: str = ""
    domain: str = ""
    type: str = ""
    quality: int | None = None
    key: str = ""  # canonical URL, filled by the load stage


@dataclass(frozen=True)
class Article:
    """One usable input file, normalised. ``file`` is relative to the content root."""

    file: str
    url: str
    title: str
    excerpt: str = ""
    published: datetime | None = None
    provider: str = ""
    domain: str = ""
    topics: tuple[str, ...] = ()
    type: str = ""
    quality: int | None = None
    alt_urls: tuple[str, ...] = ()
    related: tuple[RelatedRef, ...] = ()
    key: str = ""  # canonical URL (or "id:<id>" for a JSON Lines item without URL), from the load stage
    alt_keys: tuple[str, ...] = ()  # canonical forms of alt_urls


@dataclass(frozen=True, order=True)
class Skipped:
    """An input file that could not be used. ``code`` is stable; ``reason`` is for people."""

    file: str
    code: str
    reason: str


@dataclass(frozen=True, order=True)
class Notice:
    """A problem that did not stop a file from being used (e.g. an unparseable date)."""

    file: str
    field: str
    message: str


@dataclass
class LoadResult:
    """Everything the load stage found under the content root."""

    articles: list[Article] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    notices: list[Notice] = field(default_factory=list)
    ignored: int = 0  # files that are not .md (or blank JSON Lines lines)
    inputs: int = 0  # .md files, or non-blank JSON Lines lines
    kind: str = "folder"  # or "jsonl"


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
    """Nodes sorted by id, and related links as an ``(k, 2)`` int64 array of index
    pairs ``(i, j)``, ``i < j``, sorted and unique. ``related_refs`` counts the
    related entries read (before merging into links), for the JSON ``stats``."""

    nodes: list[Node]
    related: np.ndarray = field(default_factory=lambda: np.zeros((0, 2), dtype=np.int64))
    related_refs: int = 0


#: Edge kinds; :attr:`Edges.kind` holds an index into this tuple (the HTML report's edge lists too).
KINDS = ("related", "similar", "both")


@dataclass(frozen=True)
class Pairs:
    """Undirected node pairs as parallel arrays, ``left < right``, sorted by (left, right): the
    similarity search's result (:func:`storygraph.similarity.similar_pairs`)."""

    left: np.ndarray
    right: np.ndarray
    similarity: np.ndarray

    def __len__(self) -> int:
        return int(self.left.shape[0])

    def as_dict(self) -> dict[tuple[int, int], float]:
        return {(int(a), int(b)): float(s) for a, b, s in zip(self.left, self.right, self.similarity)}


_ROW_BLOCK = 1 << 16  # edges converted to Python values at a time


@dataclass(frozen=True, eq=False)
class Edges:
    """The article graph as parallel arrays: nodes ``0..n-1``, edges sorted by (left, right), left < right.

    ``kind`` indexes :data:`KINDS`; ``similarity`` is the cosine of the two texts
    (float32 values held as float64); ``weight`` is the weight community detection
    uses (:func:`storygraph.graph.edge_weights`), made with ``related_weight`` for a
    related link (None when the weights came from an edge file); ``period_weights`` holds
    ``(period, value)`` when that weight was calibrated per period (``idf_scope``
    "running", :func:`storygraph.graph.running_related_weights`). Arrays, not a networkx
    graph: at a million articles a networkx graph costs several GB and a Python loop per
    edge (``ClusterResult.graph`` builds one on demand).
    """

    n: int
    left: np.ndarray
    right: np.ndarray
    kind: np.ndarray
    similarity: np.ndarray
    weight: np.ndarray
    related_weight: float | None = None
    period_weights: tuple[tuple[int, float], ...] | None = None

    def __len__(self) -> int:
        return int(self.left.shape[0])

    @classmethod
    def weighted(cls, n: int, triples: Iterable[tuple[int, int, float]], kind: str = "similar") -> "Edges":
        """Edges from ``(a, b, weight)`` triples (similarity = weight); for tests and other engines' edges."""
        rows = sorted({(min(a, b), max(a, b)): w for a, b, w in triples if a != b}.items())
        left = np.array([p[0] for p, _ in rows], dtype=np.int64)
        right = np.array([p[1] for p, _ in rows], dtype=np.int64)
        weight = np.array([w for _, w in rows], dtype=np.float64)
        kinds = np.full(len(rows), KINDS.index(kind), dtype=np.uint8)
        return cls(n, left, right, kinds, weight.copy(), weight)

    def kind_counts(self) -> dict[str, int]:
        counts = np.bincount(self.kind, minlength=len(KINDS))
        return {name: int(counts[i]) for i, name in enumerate(KINDS)}

    def rows(self) -> Iterator[tuple[int, int, str, float, float]]:
        """``(left, right, kind, weight, similarity)`` as Python values, in order.

        Converted a block at a time: five lists of Python objects for 14 million edges would
        hold about 2 GB while the writers need one edge at a time."""
        for start in range(0, len(self.left), _ROW_BLOCK):
            part = slice(start, start + _ROW_BLOCK)
            kinds = [KINDS[k] for k in self.kind[part].tolist()]
            yield from zip(self.left[part].tolist(), self.right[part].tolist(), kinds, self.weight[part].tolist(),
                           self.similarity[part].tolist())

    def positive(self) -> "Edges":
        """Only the edges with weight > 0: the evidence community detection uses."""
        return self.select(self.weight > 0)

    def select(self, keep: np.ndarray) -> "Edges":
        """The edges where ``keep`` (a mask over the edges) is true, over the same nodes."""
        return Edges(self.n, self.left[keep], self.right[keep], self.kind[keep], self.similarity[keep], self.weight[keep],
                     self.related_weight, self.period_weights)

    def strength(self) -> np.ndarray:
        """Each node's summed edge weight (weighted degree)."""
        return (np.bincount(self.left, self.weight, minlength=self.n)
                + np.bincount(self.right, self.weight, minlength=self.n))


@dataclass(frozen=True)
class Story:
    """One story: members are node indices, earliest first (see :mod:`storygraph.stories`)."""

    id: str
    members: tuple[int, ...]
    headline: int
    keywords: tuple[str, ...]
    first_published: datetime | None
    last_published: datetime | None
    providers: tuple[str, ...]
    topics: tuple[str, ...]
    in_corpus: int
    color: tuple[int, int, int]
    cohesion: float = 1.0  # mean cosine of the members to the story's TF-IDF centroid
    title: str | None = None  # an editor's title (overrides ``titles``), else None
    corrected: bool = False  # holds an article of an editor's together, apart or titles entry

    @property
    def size(self) -> int:
        return len(self.members)


@dataclass
class Clustering:
    """A clustered corpus: what every writer reads. Plain data; writing never changes it.

    ``edges`` are over node indices in ``nodes`` order; ``story_of[i]`` is the index in
    ``stories`` of node ``i``'s story; ``story_similarity[i]`` its cosine to that story's
    TF-IDF centroid (:func:`storygraph.stories.member_similarity`; None: not computed, read
    as 1); ``edges_sha256`` names the edge file a run used (``cluster(edge_file=...)``), else None.
    """

    options: ClusterOptions
    loaded: LoadResult
    table: NodeTable
    edges: Edges
    stories: list[Story]
    story_of: list[int]
    edges_sha256: str | None = None
    story_similarity: np.ndarray | None = None
    overrides: dict | None = None  # {"sha256", "applied": [...], "unknown": [...]} of an overrides file
    changes: dict | None = None  # with a previous output: {"previous_sha256", "new", "grown", ...}

    def similarity_of(self, index: int) -> float:
        """Node ``index``'s cosine to its story's centroid."""
        return 1.0 if self.story_similarity is None else float(self.story_similarity[index])

    @property
    def nodes(self) -> list[Node]:
        return self.table.nodes

    @property
    def skipped(self) -> list[Skipped]:
        return self.loaded.skipped

    def stats(self) -> dict[str, int]:
        """Counts for the summary line and the JSON ``stats`` block (no timings: outputs are reproducible)."""
        kinds = self.edges.kind_counts()
        return {
            "inputs": self.loaded.inputs,
            "ignored_files": self.loaded.ignored,
            "articles": len(self.loaded.articles),
            "skipped": len(self.loaded.skipped),
            "notices": len(self.loaded.notices),
            "nodes": len(self.nodes),
            "nodes_in_corpus": sum(1 for n in self.nodes if n.in_corpus),
            "edges": len(self.edges),
            "edges_related": kinds["related"],
            "edges_similar": kinds["similar"],
            "edges_both": kinds["both"],
            "related_refs": self.table.related_refs,
            "stories": len(self.stories),
            "stories_multi": sum(1 for s in self.stories if s.size > 1),
        }
