"""What the Python API returns: :class:`ArticleGraph` (``build_graph``) and
:class:`ClusterResult` (``cluster``).

Both are data. Writers are functions (:func:`storygraph.write`, as networkx writes
``nx.write_graphml(G, path)``); :meth:`ClusterResult.write` and
:meth:`ClusterResult.to_json` only delegate to them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np

from .model import Clustering, Edges, LoadResult, NodeTable

if TYPE_CHECKING:
    import networkx as nx
    import scipy.sparse as sp

__all__ = ["ArticleGraph", "ClusterResult"]


@dataclass
class ArticleGraph:
    """The graph of a corpus before community detection: what ``storygraph edges`` writes.

    ``matrix`` is the TF-IDF matrix (CSR, rows in node order) and ``terms`` its
    vocabulary by column; ``days`` each node's publication time in days (NaN when undated);
    ``ignored`` and ``ignored_articles`` what an overrides file's ``ignore`` left out.
    """

    loaded: LoadResult
    table: NodeTable
    matrix: "sp.csr_matrix"
    terms: np.ndarray
    edges: Edges
    days: np.ndarray
    ignored: dict[str, int] = field(default_factory=dict)  # node keys an editor's ignore named -> entry
    ignored_articles: list = field(default_factory=list)  # the articles those keys left out


@dataclass
class ClusterResult(Clustering):
    """Everything one run produced: a :class:`~storygraph.model.Clustering`, plus how long
    each stage took (``timings``, seconds) and the process's peak memory after it
    (``peak_rss``, bytes). Writing is not a stage of the run: the CLI times it itself."""

    timings: dict[str, float] = field(default_factory=dict)
    peak_rss: dict[str, int] = field(default_factory=dict)

    @cached_property
    def graph(self) -> "nx.Graph":
        """networkx graph keyed by canonical URL; node data includes ``story`` (its id).

        Built on first use (it costs about 1 KB per edge; the pipeline itself works on arrays).
        """
        import networkx as nx

        out = nx.Graph()
        for i, node in enumerate(self.nodes):
            out.add_node(node.id, **vars(node), story=self.stories[self.story_of[i]].id)
        for a, b, kind, weight, sim in self.edges.rows():
            out.add_edge(self.nodes[a].id, self.nodes[b].id, kind=kind, similarity=sim, weight=weight)
        return out

    def to_json(self) -> str:
        """The versioned JSON document (see the README's "JSON" section)."""
        from .export.jsondoc import dumps

        return dumps(self).decode("utf-8")

    def write(self, path: str | os.PathLike, format: str | None = None, *, jobs: int = 0) -> None:
        """``storygraph.write(self, path, format, jobs=jobs)``."""
        from .export import write

        write(self, path, format, jobs=jobs)
