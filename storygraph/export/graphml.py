"""GraphML export for Gephi (and igraph, networkx, yEd), written as a stream of text.

The attributes come from :func:`~storygraph.export.gephi.gephi_graph`; this module
only serialises them. Writing the text directly is ~10x faster than networkx's
ElementTree writer and never holds a second copy of the graph as XML elements.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from xml.sax.saxutils import escape, quoteattr

from .gephi import attribute_types, gephi_graph, scalar_text

if TYPE_CHECKING:
    from ..pipeline import ClusterResult

__all__ = ["graphml_bytes"]

_HEADER = (
    "<?xml version='1.0' encoding='utf-8'?>\n"
    '<graphml xmlns="http://graphml.graphdrawing.org/xmlns" '
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
    'xsi:schemaLocation="http://graphml.graphdrawing.org/xmlns '
    'http://graphml.graphdrawing.org/xmlns/1.0/graphml.xsd">\n'
)
# CR as a character reference: a raw CR (or CRLF) in text is read back as LF by every XML parser.
_TEXT = {"\r": "&#13;"}


def graphml_bytes(result: "ClusterResult") -> bytes:
    """GraphML with key ids named after their attributes.

    networkx numbers keys ``d0, d1, ...`` and Gephi's importer takes a key with id
    ``d3`` as the node label, so keys are named (``label``, ``story``, ``r`` ...).
    Every node has the same attributes with the same types (see gephi.py).
    """
    graph = gephi_graph(result, "rgb")
    node_keys = attribute_types(next(iter(graph.nodes.values()), {}))
    edge_keys = attribute_types(next((d for *_, d in graph.edges(data=True)), {}))
    parts = [_HEADER]
    parts += _key_lines("node", node_keys) + _key_lines("edge", edge_keys)
    parts.append('  <graph edgedefault="undirected">\n')
    for node, data in graph.nodes(data=True):
        parts.append(f"    <node id={quoteattr(node)}>\n{_data(data, node_keys)}    </node>\n")
    for a, b, data in graph.edges(data=True):
        parts.append(f"    <edge source={quoteattr(a)} target={quoteattr(b)}>\n{_data(data, edge_keys)}    </edge>\n")
    parts.append("  </graph>\n</graphml>\n")
    return "".join(parts).encode("utf-8")


def _key_lines(scope: str, keys: list[tuple[str, str]]) -> list[str]:
    return [f'  <key id="{n}" for="{scope}" attr.name="{n}" attr.type="{t}" />\n' for n, t in keys]


def _data(values: dict, keys: list[tuple[str, str]]) -> str:
    lines = []
    for name, _ in keys:
        text = escape(scalar_text(values[name]), _TEXT)
        lines.append(f'      <data key="{name}">{text}</data>\n')
    return "".join(lines)
