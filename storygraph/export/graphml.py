"""GraphML export for Gephi (and igraph, networkx, yEd)."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

import networkx as nx

from .gephi import gephi_graph

if TYPE_CHECKING:
    from ..pipeline import ClusterResult

__all__ = ["graphml_bytes"]


def graphml_bytes(result: "ClusterResult") -> bytes:
    """GraphML with key ids named after attributes.

    networkx numbers keys ``d0, d1, ...`` by default and Gephi's importer takes a
    key with id ``d3`` as the node label, so keys are named (``label``, ``story``,
    ...). The ElementTree writer is used rather than lxml so the bytes do not
    depend on which XML library is installed.
    """
    buffer = io.BytesIO()
    nx.write_graphml_xml(gephi_graph(result, "rgb"), buffer, named_key_ids=True)
    return keep_carriage_returns(buffer.getvalue())


def keep_carriage_returns(xml: bytes) -> bytes:
    """Write CR in text as ``&#13;``: ElementTree writes it raw, and every XML parser
    reads a raw CR (or CRLF) back as LF, so an excerpt's line ends would change.

    ElementTree escapes CR in attribute values and never writes one in markup, so
    each raw CR byte (UTF-8 uses 0x0D for nothing else) is one in text content.
    """
    return xml.replace(b"\r", b"&#13;")
