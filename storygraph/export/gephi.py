"""The graph as Gephi's importers want it: typed scalar attributes only.

Gephi's GraphML importer takes boolean/int/long/float/double/string values, so:
no None (empty string, or -1 for an unknown ``quality``), lists joined with
``"; "``, dates as ISO 8601 strings, colours as integer ``r``/``g``/``b``.
``label`` carries the title (Gephi shows it), ``story`` the story id.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING
from xml.sax.saxutils import quoteattr

from ..io import xml_safe
from .jsondoc import check_edges, iso

if TYPE_CHECKING:
    from ..model import Clustering

__all__ = ["gephi_nodes", "gephi_edges", "quoted_ids", "EDGE_KEYS", "attribute_types", "scalar_text"]


def gephi_nodes(result: "Clustering", colors_as: str = "rgb") -> Iterator[tuple[str, dict]]:
    """``(node id, attributes)`` for every node, in the result's node order.

    ``colors_as="rgb"`` adds integer ``r``, ``g``, ``b`` node attributes (GraphML);
    ``"viz"`` adds GEXF's ``viz`` colour instead.
    """
    for i, node in enumerate(result.nodes):
        story = result.stories[result.story_of[i]]
        data = {
            "label": xml_safe(node.title),
            "url": xml_safe(node.url),
            "excerpt": xml_safe(node.excerpt),
            "published": iso(node.published) or "",
            "provider": xml_safe(node.provider),
            "domain": xml_safe(node.domain),
            "topics": xml_safe("; ".join(node.topics)),
            "type": xml_safe(node.type),
            "quality": node.quality if node.quality is not None else -1,
            "files": xml_safe("; ".join(node.files)),
            "in_corpus": node.in_corpus,
            "story": story.id,
            "story_size": story.size,
            "story_headline": xml_safe(result.nodes[story.headline].title),
            "story_title": xml_safe(story.title or result.nodes[story.headline].title),
            "story_corrected": story.corrected,
            "story_similarity": round(result.similarity_of(i), 6),
            "story_cohesion": story.cohesion,
        }
        r, g, b = story.color
        if colors_as == "viz":
            data["viz"] = {"color": {"r": r, "g": g, "b": b, "a": 1.0}}
        else:
            data.update(r=r, g=g, b=b)
        yield xml_safe(node.id), data


#: Edge attributes and their XML types, in output order.
EDGE_KEYS = [("kind", "string"), ("weight", "double"), ("similarity", "double")]


def quoted_ids(result: "Clustering") -> list[str]:
    """Each node's id as an XML attribute value (quoted, escaped), as :func:`gephi_nodes` names it."""
    return [quoteattr(xml_safe(node.id)) for node in result.nodes]


def gephi_edges(result: "Clustering", node_ids: list[str]) -> Iterator[tuple[str, str, str, str, str]]:
    """``(source id, target id, kind, weight text, similarity text)`` for every edge, in order.

    ``node_ids`` are the XML-safe ids of :func:`gephi_nodes`. Numbers are rounded
    to 6 decimals and spelled as Python's ``repr`` (as in the JSON).
    """
    edges = result.edges
    check_edges(edges, len(node_ids))
    for a, b, kind, weight, sim in edges.rows():
        yield node_ids[a], node_ids[b], kind, repr(round(weight, 6)), repr(round(sim, 6))


# bool before int: bool is a subclass of int. The same names serve GraphML and GEXF.
_TYPES = ((bool, "boolean"), (int, "long"), (float, "double"), (str, "string"))


def attribute_types(sample: dict, skip: tuple[str, ...] = ()) -> list[tuple[str, str]]:
    """(name, XML type) of each attribute of one node or edge; every other one has the same."""
    return [
        (name, next(t for cls, t in _TYPES if isinstance(value, cls)))
        for name, value in sample.items()
        if name not in skip
    ]


def scalar_text(value: object) -> str:
    """A typed attribute value as GraphML and GEXF spell it (unescaped)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else repr(value)
