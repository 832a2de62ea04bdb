"""HTML report: one self-contained page with the story list, a graph view and a timeline.

:func:`html_bytes` fills ``storygraph/report/page.html`` with the report's CSS,
the data of the run as JSON and the front-end bundle (``bundle.min.js``, built
from ``report-src/`` by ``report-src/build.sh``, see ``docs/report.md``). The
page loads nothing from the network: a Content-Security-Policy lets only that
bundle run and forbids fetches, and titles are only ever set as text.

The graph view holds the largest stories, whole and in the JSON's order, up to
``options.report_max_nodes`` nodes; the list always holds every story. Output is
deterministic: the same result gives byte-identical HTML.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import re
from functools import lru_cache
from importlib import resources
from typing import TYPE_CHECKING

from ..errors import ExportError
from ..model import KINDS
from .jsondoc import document

if TYPE_CHECKING:
    from ..model import Clustering

__all__ = ["html_bytes", "page_data", "graph_stories", "script_json"]

#: A member whose cosine to its story's centroid is under this share of the story's cohesion is
#: "weak": listed last and greyed (the same rule as report-src/src/list.js).
WEAK_SHARE = 0.5
#: A story's headline excerpt is cut to this many characters on the page.
EXCERPT_CHARS = 300
_SCRIPT_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}
_PLACEHOLDER = re.compile(r"\{\{(\w+)\}\}")


def html_bytes(result: "Clustering") -> bytes:
    """The report page for ``result`` as UTF-8 bytes (see the module docstring)."""
    data = page_data(result)
    script = _asset("bundle.min.js")
    values = {
        "title": html.escape(_title(data["stats"])),
        "summary": html.escape(_summary(data["stats"])),
        "graph_note": html.escape(data["graph"]["note"]),
        "csp": _csp(script),
        "style": _asset("report.css"),
        "data": script_json(data),
        "script": script,
    }
    page = _PLACEHOLDER.sub(lambda m: values[m.group(1)], _asset("page.html"))
    # "replace": a lone surrogate (never expected: text is cleaned at load) must not abort a report.
    return page.encode("utf-8", "replace")


def page_data(result: "Clustering") -> dict:
    """The data the page embeds: lean lists built from :func:`~.jsondoc.document`.

    ``nodes`` are ``[title, url, provider index, published ISO or null, in corpus 0/1, story similarity]``
    in the JSON's node order, ``providers`` the provider names they index. Each story
    keeps its JSON fields (``members`` and ``headline`` become node indices) plus the
    headline's ``excerpt``. ``graph`` says how many of the first stories the graph
    view draws and lists only their edges as ``[source, target, kind, weight]``, kind
    indexing :data:`storygraph.model.KINDS`.
    """
    doc = document(result)
    index = {node["id"]: i for i, node in enumerate(doc["nodes"])}
    changes = doc.get("changes") or {}
    change = {sid: "new" for sid in changes.get("new", [])} | {g["id"]: "grown" for g in changes.get("grown", [])}
    providers = sorted({node["provider"] for node in doc["nodes"]})
    provider_index = {name: i for i, name in enumerate(providers)}
    sizes = [s["size"] for s in doc["stories"]]
    limit = result.options.report_max_nodes
    shown, shown_nodes = graph_stories(sizes, limit)
    return {
        "stats": doc["stats"],
        "providers": providers,
        "nodes": [_node_row(node, provider_index) for node in doc["nodes"]],
        "stories": [_story(story, index, doc["nodes"]) | {"change": change.get(story["id"])} for story in doc["stories"]],
        "graph": {
            "stories": shown,
            "nodes": shown_nodes,
            "limit": limit,
            "note": _graph_note(sizes, limit, shown, shown_nodes),
            "edges": _graph_edges(doc, index, shown),
        },
    }


def graph_stories(sizes: list[int], limit: int) -> tuple[int, int]:
    """How many of the first stories fit whole in ``limit`` nodes, and their node count.

    Stops at the first story that does not fit, so the graph shows the largest
    stories in the list's order (a story larger than ``limit`` leaves it empty).
    """
    count = total = 0
    for size in sizes:
        if total + size > limit:
            break
        count, total = count + 1, total + size
    return count, total


def script_json(data: object) -> str:
    """``data`` as JSON that is safe inside a ``<script>`` element.

    ``<``, ``>`` and ``&`` only occur inside JSON strings, where ``\\u003c`` and
    friends mean the same, so ``</script>`` or ``<!--`` in a title cannot end or
    alter the element; U+2028/2029 are escaped for old JavaScript parsers.
    """
    text = json.dumps(data, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    return re.sub("[<>&\u2028\u2029]", lambda m: _SCRIPT_ESCAPES[m.group(0)], text)


def _node_row(node: dict, provider_index: dict[str, int]) -> list:
    return [node["title"], node["url"], provider_index[node["provider"]], node["published"], int(node["in_corpus"]),
            node["story_similarity"]]


def _story(story: dict, index: dict[str, int], nodes: list[dict]) -> dict:
    headline = index[story["headline"]["id"]]
    return {
        "id": story["id"],
        "color": story["color"],
        "headline": headline,
        "excerpt": _cut(nodes[headline]["excerpt"], EXCERPT_CHARS),
        "keywords": story["keywords"],
        "first": story["first_published"],
        "last": story["last_published"],
        "providers": story["providers"],
        "cohesion": story["cohesion"],
        "title": story["title"],
        "corrected": story["corrected"],
        "members": _strong_first(story, index, nodes),
    }


def _strong_first(story: dict, index: dict[str, int], nodes: list[dict]) -> list[int]:
    """Members in time order, the weak ones (cosine to the story's centroid under
    :data:`WEAK_SHARE` of its cohesion) after the others: the report greys them."""
    members = [index[m] for m in story["members"]]
    weak = [nodes[i]["story_similarity"] < WEAK_SHARE * story["cohesion"] for i in members]
    return [i for i, w in zip(members, weak) if not w] + [i for i, w in zip(members, weak) if w]


def _graph_edges(doc: dict, index: dict[str, int], shown: int) -> list[list]:
    in_graph = {index[m] for story in doc["stories"][:shown] for m in story["members"]}
    edges = []
    for edge in doc["edges"]:
        a, b = index[edge["source"]], index[edge["target"]]
        if a in in_graph and b in in_graph:
            edges.append([a, b, KINDS.index(edge["kind"]), round(edge["weight"], 3)])
    return edges


def _graph_note(sizes: list[int], limit: int, shown: int, shown_nodes: int) -> str:
    # Empty when the graph holds everything: the page only shows the note when capped.
    stories, nodes = len(sizes), sum(sizes)
    if shown == stories:
        return ""
    if shown == 0:
        return (
            f"Graph shows no story: the largest has {sizes[0]:,} articles, more than the limit of "
            f"{limit:,} (--report-max-nodes); the list holds all {stories:,} stories."
        )
    largest = "largest story" if shown == 1 else f"{shown:,} largest stories"
    return (
        f"Graph shows the {largest} ({shown_nodes:,} of {nodes:,} articles); "
        f"the list holds all {stories:,} stories."
    )


def _title(stats: dict) -> str:
    return f"storygraph: {stats['stories']:,} stories from {stats['nodes']:,} articles"


def _summary(stats: dict) -> str:
    return (
        f"{stats['stories']:,} stories ({stats['stories_multi']:,} with 2+ articles) · "
        f"{stats['nodes']:,} articles from {stats['inputs']:,} files · {stats['edges']:,} links"
    )


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _csp(script: str) -> str:
    # Only the bundle may run (by hash), and nothing may be fetched: the page works offline
    # and a title that somehow became markup still could not execute.
    digest = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode("ascii")
    return (
        "default-src 'none'; "
        f"script-src 'sha256-{digest}'; "
        "style-src 'unsafe-inline'; img-src data:; "
        "base-uri 'none'; form-action 'none'"
    )


@lru_cache(maxsize=None)
def _asset(name: str) -> str:
    try:
        text = resources.files("storygraph").joinpath("report", name).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ExportError(f"storygraph/report/{name} is missing: run report-src/build.sh") from None
    if name.endswith(".js") and re.search(r"</script|<!--", text, re.IGNORECASE):
        raise ExportError(f"storygraph/report/{name} holds '</script' or '<!--' and cannot be inlined")
    return text
