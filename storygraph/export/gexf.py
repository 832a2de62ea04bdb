"""GEXF 1.3 export (Gephi's own format) with ``viz`` colours by story."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

from networkx.readwrite.gexf import GEXFWriter

from .. import __version__
from .gephi import gephi_graph

if TYPE_CHECKING:
    from ..pipeline import ClusterResult

__all__ = ["gexf_bytes"]


def gexf_bytes(result: "ClusterResult") -> bytes:
    """GEXF 1.3. ``lastmodifieddate`` is the latest publication date in the data
    (not today) so the same input always gives the same bytes."""
    writer = GEXFWriter(version="1.3")
    meta = writer.xml.find("meta")
    meta.set("lastmodifieddate", _latest_date(result))
    meta.find("creator").text = f"storygraph {__version__}"
    writer.add_graph(gephi_graph(result, "viz"))
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def _latest_date(result: "ClusterResult") -> str:
    dates = [n.published for n in result.nodes if n.published is not None]
    return max(dates).strftime("%Y-%m-%d") if dates else "1970-01-01"
