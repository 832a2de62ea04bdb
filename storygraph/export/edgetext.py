"""The JSON export's edge objects as text, a block at a time: the numbers rounded as Python's
``round(v, 6)`` and written as its ``repr``, by Python's string formatting or, on large graphs
with numba (the ``fast`` extra), by a compiled loop (:mod:`storygraph._export_kernel`); the
same bytes as ``json.dumps`` of the edges' dicts either way. :func:`check_edges` is what every
writer checks before it writes an edge.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING

import numpy as np

from ..errors import ExportError
from ..model import KINDS

if TYPE_CHECKING:
    from ..model import Clustering

__all__ = ["check_edges", "edge_texts", "round6"]


def check_edges(edges, n: int) -> None:
    """What every writer checks before it writes an edge, as an :class:`ExportError`:
    an infinite or NaN number (e.g. from ``related_weight=inf``), which strict JSON parsers and
    Gephi refuse; a source or target that is not one of the ``n`` nodes, or a kind not in
    :data:`~storygraph.model.KINDS` (only a hand-made ``Clustering`` holds one), which would
    be an edge to the wrong node or, in the compiled loop, a read past the ids."""
    for name in ("weight", "similarity"):
        values = getattr(edges, name)
        finite = np.isfinite(values)
        if not finite.all():
            raise ExportError(f"an edge {name} is {values[~finite][0]}: not a finite number (check related_weight)")
    for name, values, bound in (("source", edges.left, n), ("target", edges.right, n), ("kind", edges.kind, len(KINDS))):
        bad = np.flatnonzero((values < 0) | (values >= bound))
        if len(bad):
            raise ExportError(f"edge {bad[0]}: {name} index {values[bad[0]]} is not in 0..{bound - 1}")


def edge_texts(result: "Clustering") -> Iterator[str | bytes]:
    """The edge objects as JSON text, byte for byte what ``json.dumps`` of their dicts gives,
    formatted and joined a block at a time, the numbers rounded by numpy (:func:`round6`): a
    generator step, a dict and a Python ``round`` per edge were most of the export of a large
    graph. On large graphs, with numba (the ``fast`` extra), the blocks are written by a
    compiled loop (:mod:`storygraph._export_kernel`), the same text as UTF-8 bytes."""
    edges = result.edges
    check_edges(edges, len(result.nodes))
    id_texts = [_string(node.id) for node in result.nodes]
    kind_texts = [_string(kind) for kind in KINDS]
    compiled = _compiled_lines(len(edges), id_texts, kind_texts)
    if compiled is not None:
        for start in range(0, len(edges), _EDGE_BLOCK):
            part = slice(start, start + _EDGE_BLOCK)
            yield compiled(edges.left[part], edges.right[part], edges.kind[part], round6(edges.weight[part]),
                           round6(edges.similarity[part]))
        return
    ids = np.array(id_texts, dtype=object)
    kinds = np.array(kind_texts, dtype=object)
    line = '{"source":%s,"target":%s,"kind":%s,"weight":%s,"similarity":%s}'.__mod__
    for start in range(0, len(edges), _EDGE_BLOCK):
        part = slice(start, start + _EDGE_BLOCK)
        yield ",".join(map(line, zip(ids[edges.left[part]].tolist(), ids[edges.right[part]].tolist(),
                                     kinds[edges.kind[part]].tolist(), _number_texts(round6(edges.weight[part])),
                                     _number_texts(round6(edges.similarity[part])))))


_EDGE_BLOCK = 8192  # about 2 MB of text: the writer holds a block, its join and its encoding at once

#: ``json.dumps(text, ensure_ascii=False)`` of a str: the function it calls for one
_string = json.encoder.encode_basestring

#: From this many edges up (or once the run has imported numba), the edges' blocks are written
#: by the compiled loop: about 2.3 us of Python an edge against numba's import and the loop's
#: loading (~0.5 s) once.
_COMPILED_EDGES = 1 << 18
_numba = importlib.util.find_spec("numba") is not None


def _compiled_lines(count: int, id_texts: list[str], kind_texts: list[str]):
    """A function of one block's (left, right, kind, weight, similarity; the numbers already
    :func:`round6`) to its text, by the compiled loop; None where it is not worth it or numba
    is not installed."""
    if not _numba or (count < _COMPILED_EDGES and "numba" not in sys.modules):
        return None
    id_table = _texts_table(id_texts)
    if id_table is None:  # an id with a lone surrogate: its text must keep it, as json.dumps's does
        return None
    from .._export_kernel import edge_lines  # numba imported here, on first use

    ids, id_at = id_table
    kinds, kind_at = _texts_table(kind_texts)

    def lines(left, right, kind, weight, similarity) -> bytes:
        return edge_lines(np.asarray(left, dtype=np.int64), np.asarray(right, dtype=np.int64),
                          np.asarray(kind, dtype=np.int64), _numbers(weight), _numbers(similarity),
                          ids, id_at, kinds, kind_at)  # UTF-8, written as it is

    return lines


def _texts_table(texts: list[str]) -> tuple[np.ndarray, np.ndarray] | None:
    """``texts`` as one UTF-8 buffer and the offsets where each begins (and the last ends);
    None when one holds a lone surrogate (a file name that is not UTF-8), which UTF-8 cannot
    hold: the edges' text keeps it (only the writer's encoding makes it U+FFFD), so the Python
    lines write that graph's edges."""
    joined = "".join(texts)
    try:
        data = joined.encode("utf-8")
    except UnicodeEncodeError:
        return None
    if len(data) == len(joined):  # all ASCII: a byte a character
        lengths = [len(text) for text in texts]
    else:
        pieces = [text.encode("utf-8") for text in texts]
        data, lengths = b"".join(pieces), [len(piece) for piece in pieces]
    at = np.zeros(len(texts) + 1, dtype=np.int64)
    np.cumsum(lengths, out=at[1:])
    return np.frombuffer(data, dtype=np.uint8), at


def _numbers(rounded: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``rounded`` (:func:`round6` values) for the compiled loop: the whole number of millionths
    of each, and, for each that ``repr`` does not write as a plain decimal of its millionths
    (below 1e-4 it turns to exponent form, ``5e-05``; -0.0 keeps its sign; from 1e9 up the
    millionths near int64's end), the index of its ``repr`` in a text table (-1 for the others)."""
    magnitude = np.abs(rounded)
    plain = ((rounded == 0.0) & ~np.signbit(rounded)) | ((magnitude >= 1e-4) & (magnitude < 1e9))
    millionths = np.zeros(len(rounded), dtype=np.int64)
    millionths[plain] = np.rint(rounded[plain] * 1e6)
    odd = np.full(len(rounded), -1, dtype=np.int64)
    where = np.flatnonzero(~plain)
    odd[where] = np.arange(len(where))
    text, text_at = _texts_table(_number_texts(rounded[where]))  # repr texts are ASCII: never None
    return millionths, odd, text, text_at


def round6(values: np.ndarray) -> np.ndarray:
    """``round(v, 6)`` of each value, as Python's ``round`` gives it, vectorised.

    ``rint(v * 1e6) / 1e6`` is the double nearest the decimal that Python's ``round``
    picks, except where ``v * 1e6`` lies so near a half that its own rounding error could
    tip the choice; those few (and numbers too large for the product to be exact) are
    rounded by Python."""
    values = np.asarray(values, dtype=np.float64)
    with np.errstate(over="ignore", invalid="ignore"):  # huge values overflow here; they are rounded by Python
        scaled = values * 1e6
        out = np.rint(scaled) / 1e6
        doubtful = (np.abs(scaled - np.floor(scaled) - 0.5) < np.abs(scaled) * 1e-12 + 1e-9) | (np.abs(values) > 1e9)
    for i in np.flatnonzero(doubtful).tolist():
        out[i] = round(float(values[i]), 6)
    return out


def _number_texts(rounded: np.ndarray) -> list[str]:
    """``repr`` of each value (already :func:`round6`)."""
    return list(map(float.__repr__, rounded.tolist()))
