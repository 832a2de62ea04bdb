"""JSON export: the versioned document other services import.

The layout is described by ``storygraph/schema/storygraph.schema.json`` (JSON
Schema 2020-12) and the README. Output is deterministic: no timestamps, floats
rounded to 6 decimals, keys in a fixed order, strictly valid JSON (no NaN).
"""

from __future__ import annotations

import functools
import itertools
import json
import math
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING

import numpy as np

from .._version import __version__
from .. import fastjson
from ..io import encode
from .edgetext import check_edges, edge_texts, round6
from .sections import Piece, Section, flatten

if TYPE_CHECKING:
    from ..model import Clustering

__all__ = ["SCHEMA_VERSION", "document", "dumps", "json_chunks", "json_pieces", "iso", "parameters", "check_edges",
           "round6"]

#: Bumped on any change a consumer could notice: major when a field is removed or changes meaning.
SCHEMA_VERSION = "1.7"


def iso(value: datetime | None) -> str | None:
    """ISO 8601 in UTC with a ``Z`` suffix, or None."""
    if value is None:
        return None
    text = value.astimezone(timezone.utc).replace(tzinfo=None).isoformat()
    return text + "Z"


def document(result: "Clustering") -> dict:
    """The whole JSON document as plain Python data (the HTML report reads it)."""
    return {key: list(value) if isinstance(value, Iterator) else value
            for key, value in _sections(result, _story_dicts, _node_dicts, _edge_dicts)}


def _sections(result: "Clustering", stories, nodes, edges) -> list[tuple[str, object]]:
    """The document's top-level (key, value) pairs in order: stories, nodes and edges as
    ``stories(result)``, ``nodes(result)`` and ``edges(result)`` give them, the rest as values."""
    return [
        ("schema_version", SCHEMA_VERSION),
        ("generator", {"name": "storygraph", "version": __version__}),
        ("parameters", parameters(result.options.to_dict(), result.edges_sha256,
                                  result.overrides["sha256"] if result.overrides else None)),
        ("calibration", _calibration(result)),
        *([("overrides", {k: v for k, v in result.overrides.items() if k != "sha256"})] if result.overrides else []),
        *([("changes", result.changes)] if result.changes else []),
        ("stats", result.stats()),
        ("stories", stories(result)),
        ("nodes", nodes(result)),
        ("edges", edges(result)),
        ("skipped", [{"file": s.file, "code": s.code, "reason": s.reason} for s in sorted(result.skipped)]),
        ("notices", [{"file": n.file, "field": n.field, "message": n.message} for n in sorted(result.loaded.notices)]),
    ]


def _edge_dicts(result: "Clustering") -> Iterator[dict]:
    check_edges(result.edges, len(result.nodes))
    ids = [node.id for node in result.nodes]
    for a, b, kind, weight, sim in result.edges.rows():
        yield {"source": ids[a], "target": ids[b], "kind": kind, "weight": round(weight, 6), "similarity": round(sim, 6)}


def parameters(options: dict, edges_sha256: str | None = None, overrides_sha256: str | None = None) -> dict:
    """Options as JSON values. JSON has no infinity, and ``window_days=inf`` ("compare
    every pair") is a valid option, so a non-finite number is written as the string
    ``"inf"`` (``float()`` reads it back), never as the non-standard token ``Infinity``.
    A run on an edge file (``--edges``) adds ``edges_sha256``, the file's SHA-256, and one
    with an overrides file (``--overrides``) ``overrides_sha256``."""
    out = {name: str(v) if isinstance(v, float) and not math.isfinite(v) else v for name, v in options.items()}
    if edges_sha256 is not None:
        out["edges_sha256"] = edges_sha256
    if overrides_sha256 is not None:
        out["overrides_sha256"] = overrides_sha256
    return out


def _story_dicts(result: "Clustering") -> Iterator[dict]:
    """Each story's object, made as it is written. The nodes' ids are gathered once: reading
    each member's node object was a cache miss a member (0.17 of the stories' 0.45 s at 100k)."""
    ids = [node.id for node in result.nodes]
    return (_story(result, story, ids) for story in result.stories)


def _story(result: "Clustering", story, ids: list[str]) -> dict:
    head = result.nodes[story.headline]
    return {
        "id": story.id,
        "size": story.size,
        "title": story.title,
        "corrected": story.corrected,
        "cohesion": story.cohesion,
        "in_corpus": story.in_corpus,
        "headline": {"id": head.id, "title": head.title, "url": head.url},
        "keywords": list(story.keywords),
        "first_published": iso(story.first_published),
        "last_published": iso(story.last_published),
        "providers": list(story.providers),
        "topics": list(story.topics),
        "color": "#{:02x}{:02x}{:02x}".format(*story.color),
        "members": list(map(ids.__getitem__, story.members)),
    }


def _node_dicts(result: "Clustering", similarities: list[float] | None = None) -> Iterator[dict]:
    story_ids = [story.id for story in result.stories]
    if similarities is None:
        similarities = _similarities(result)
    for node, story, similarity in zip(result.nodes, result.story_of, similarities):
        yield _node(node, story_ids[story], similarity)


def _similarities(result: "Clustering") -> list[float]:
    """Each node's ``story_similarity``, rounded."""
    if result.story_similarity is None:
        return [1.0] * len(result.nodes)
    return round6(result.story_similarity).tolist()


def _node(node, story: str, similarity: float) -> dict:
    return {
        "id": node.id,
        "url": node.url,
        "title": node.title,
        "excerpt": node.excerpt,
        "published": iso(node.published),
        "provider": node.provider,
        "domain": node.domain,
        "topics": list(node.topics),
        "type": node.type,
        "quality": node.quality,
        "files": list(node.files),
        "in_corpus": node.in_corpus,
        "story": story,
        "story_similarity": similarity,
    }


def _calibration(result: "Clustering") -> dict:
    """The weights the run measured: the related weight, and (running scope) its value per period."""
    out: dict = {"related_weight": _rounded(result.edges.related_weight)}
    if result.edges.period_weights is not None:
        period_days = result.options.period_windows * result.options.window_days
        out["related_weight_by_period"] = [{"from": _period_start(p, period_days), "related_weight": _rounded(v)}
                                           for p, v in result.edges.period_weights]
    return out


def _period_start(period: int, period_days: float) -> str:
    """The first instant of ``period`` (``period * period_days`` days after 1970) as ISO 8601 UTC."""
    start = datetime(1970, 1, 1, tzinfo=timezone.utc) + timedelta(days=period * period_days)
    return iso(start)


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(float(value), 6)


def dumps(result: "Clustering") -> bytes:
    """The document as compact UTF-8 JSON with a final newline (see :func:`json_chunks`)."""
    return b"".join(encode(chunk) for chunk in json_chunks(result))


_dump = functools.partial(json.dumps, ensure_ascii=False, allow_nan=False, separators=(",", ":"))


def json_chunks(result: "Clustering") -> Iterator[str]:
    """The document as pieces of text, byte for byte what ``json.dumps(document(result),
    ensure_ascii=False, separators=(",", ":"))`` gives, without holding it whole:
    nodes and edges are serialised a block at a time.

    ``allow_nan=False``: a NaN would be written as the token ``NaN``, which strict
    parsers refuse; failing loudly is better than an output other services cannot read.
    """
    return (chunk.decode("utf-8") if isinstance(chunk, bytes) else chunk for chunk in flatten(json_pieces(result)))


def json_pieces(result: "Clustering") -> Iterator[Piece]:
    """:func:`json_chunks` with the nodes and the edges each a :class:`~.sections.Section`,
    which the writer may format side by side (the same text); the stories a section written
    here, in blocks."""
    sections = _sections(result, _story_section, _node_section, _edge_section)
    for number in range(len(sections)):
        key, value = sections[number]
        sections[number] = None  # not held once written
        yield ("{" if number == 0 else ",") + _dump(key) + ":"
        if isinstance(value, Section):
            yield "["
            yield value
            yield "]"
        else:
            yield _dump(value)
    yield "}\n"


def _story_section(result: "Clustering") -> Section:
    # in blocks, here: at 1M the stories were 250 MB of text, held whole (and its pieces, and its
    # bytes) at the run's memory peak; their worker stays with the nodes and the edges
    if any(isinstance(s.cohesion, float) and not math.isfinite(s.cohesion) for s in result.stories):
        _dump(list(_story_dicts(result)))  # json's refusal, before a byte is written
    cohesion = np.array([_plain(story) for story in result.stories], dtype=np.float64)
    return Section(lambda: _joined(_texts(_story_dicts(result), cohesion, _STORY_BLOCK)), len(result.stories),
                   apart=False)


def _plain(story) -> float:
    """The story's cohesion where its object has no other float (as :func:`build_stories` makes
    it), else NaN: a hand-made story's other values are left to ``json``, as before blocks."""
    return story.cohesion if type(story.cohesion) is float and type(story.in_corpus) is int else math.nan


def _node_section(result: "Clustering") -> Section:
    return Section(lambda: _joined(_node_texts(result)), len(result.nodes))


def _edge_section(result: "Clustering") -> Section:
    return Section(lambda: _joined(edge_texts(result)), len(result.edges))


def _joined(blocks: Iterator[str | bytes]) -> Iterator[str | bytes]:
    """Blocks of items, each already JSON joined with ",", joined with "," in turn."""
    for count, text in enumerate(blocks):
        yield (("," if isinstance(text, str) else b",") + text) if count else text


def _node_texts(result: "Clustering") -> Iterator[str | bytes]:
    """The node objects as JSON text, :data:`_NODE_BLOCK` to a call (see :func:`_texts`)."""
    similarities = _similarities(result)
    return _texts(_node_dicts(result, similarities), similarities, _NODE_BLOCK)


def _texts(items: Iterator[dict], floats, size: int) -> Iterator[str | bytes]:
    """``items`` (dicts whose one float field has the values ``floats``) as JSON text, ``size``
    to a call (of a list, whose items it joins with "," as the document does): a call per item
    cost as much as building it. A block whose floats orjson writes as ``json`` does (all but
    those below 1e-4) is written by orjson (:mod:`storygraph.fastjson`), the same text in a
    quarter of the time, and kept as the UTF-8 bytes it makes (the writer writes them as they
    are: decoding them to text to encode it again was a tenth of the export)."""
    alike = fastjson.floats_alike(floats) if fastjson.available() else None
    start = 0
    for block in itertools.batched(items, size) if _BATCHED else _blocks(items, size):
        data = fastjson.dumps_utf8(list(block)) if alike is not None and alike[start:start + len(block)].all() else None
        yield (_dump(list(block)) if data is None else data)[1:-1]
        start += len(block)


_NODE_BLOCK = 4096
_STORY_BLOCK = 4096  # about 3.4 MB of text at 1M (a story's members are most of it)


_BATCHED = hasattr(itertools, "batched")  # Python 3.12


def _blocks(items: Iterator, size: int) -> Iterator[tuple]:
    """``itertools.batched`` before Python 3.12."""
    while block := tuple(itertools.islice(items, size)):
        yield block
