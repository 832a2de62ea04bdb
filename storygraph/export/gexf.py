"""GEXF 1.3 export (Gephi's own format) with ``viz`` colours by story, written as a stream of text.

The attributes come from :mod:`~storygraph.export.gephi` (the same
as GraphML's); ``label`` is the node label and ``weight`` the edge weight, as
GEXF defines them. Writing the text directly is several times faster than
networkx's ElementTree writer.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import TYPE_CHECKING
from xml.sax.saxutils import quoteattr

from .._version import __version__
from .gephi import EDGE_KEYS, attribute_types, gephi_edges, gephi_nodes, quoted_ids, scalar_text
from .sections import Piece, Section, flatten

if TYPE_CHECKING:
    from ..model import Clustering

__all__ = ["gexf_chunks", "gexf_pieces"]

_HEADER = (
    "<?xml version='1.0' encoding='utf-8'?>\n"
    '<gexf xmlns="http://gexf.net/1.3" xmlns:viz="http://gexf.net/1.3/viz" '
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
    'xsi:schemaLocation="http://gexf.net/1.3 http://gexf.net/1.3/gexf.xsd" version="1.3">\n'
)
_OWN = {"node": ("label", "viz"), "edge": ("weight",)}  # GEXF's own fields, not attvalues


def gexf_chunks(result: "Clustering") -> Iterator[str]:
    """GEXF 1.3 as pieces of text. ``lastmodifieddate`` is the latest publication
    date in the data (not today) so the same input always gives the same bytes."""
    return flatten(gexf_pieces(result))


def gexf_pieces(result: "Clustering") -> Iterator[Piece]:
    """:func:`gexf_chunks` with the nodes and the edges each a :class:`~.sections.Section`."""
    nodes = gephi_nodes(result, "viz")
    first = next(nodes, None)
    node_keys = attribute_types(first[1] if first else {}, _OWN["node"])
    # attribute ids 0 and 1 in the edge lines below: kind, similarity (weight is GEXF's own)
    edge_keys = [key for key in EDGE_KEYS if key[0] not in _OWN["edge"]] if len(result.edges) else []
    yield _HEADER
    yield f'  <meta lastmodifieddate="{_latest_date(result)}">\n    <creator>storygraph {__version__}</creator>\n  </meta>\n'
    yield '  <graph defaultedgetype="undirected" mode="static">\n'
    yield _attribute_block("node", node_keys)
    yield _attribute_block("edge", edge_keys)
    yield "    <nodes>\n"
    ids = quoted_ids(result)  # once, for the node lines and the edge lines alike
    yield Section(lambda: _node_lines(itertools.chain([first] if first else [], nodes), ids, node_keys), len(result.nodes))
    yield "    </nodes>\n    <edges>\n"
    yield Section(lambda: _edge_lines(result, ids), len(result.edges))
    yield "    </edges>\n  </graph>\n</gexf>\n"


def _node_lines(nodes: Iterator[tuple[str, dict]], ids: list[str], node_keys: list[tuple[str, str]]) -> Iterator[str]:
    for (_, data), quoted in zip(nodes, ids):
        c = data["viz"]["color"]
        yield (
            f"      <node id={quoted} label={quoteattr(data['label'])}>\n"
            f"{_attvalues(data, node_keys)}"
            f'        <viz:color r="{c["r"]}" g="{c["g"]}" b="{c["b"]}" a="1.0" />\n      </node>\n'
        )


def _edge_lines(result: "Clustering", ids: list[str]) -> Iterator[str]:
    for number, (a, b, kind, weight, sim) in enumerate(gephi_edges(result, ids)):
        yield (
            f'      <edge source={a} target={b} id="{number}" weight="{weight}">\n'
            f'        <attvalues>\n          <attvalue for="0" value="{kind}" />\n'
            f'          <attvalue for="1" value="{sim}" />\n        </attvalues>\n      </edge>\n'
        )


def _attribute_block(scope: str, keys: list[tuple[str, str]]) -> str:
    lines = [f'      <attribute id="{i}" title="{name}" type="{kind}" />\n' for i, (name, kind) in enumerate(keys)]
    return f'    <attributes class="{scope}" mode="static">\n{"".join(lines)}    </attributes>\n'


def _attvalues(values: dict, keys: list[tuple[str, str]]) -> str:
    lines = []
    for i, (name, _) in enumerate(keys):
        lines.append(f"          <attvalue for=\"{i}\" value={quoteattr(scalar_text(values[name]))} />\n")
    return f"        <attvalues>\n{''.join(lines)}        </attvalues>\n"


def _latest_date(result: "Clustering") -> str:
    dates = [n.published for n in result.nodes if n.published is not None]
    return max(dates).strftime("%Y-%m-%d") if dates else "1970-01-01"
