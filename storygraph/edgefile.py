"""The edge interchange file: the graph's edges as CSV or Parquet, out and back in.

``storygraph edges content/ -o edges.parquet`` writes every edge of the graph
(related links and similarity pairs); ``storygraph cluster content/ --edges
edges.parquet`` clusters with the file's edges instead of computing them, so
edges from another engine (Spark, a warehouse) can be plugged in. Columns:

- ``source``, ``target`` (text, required): node ids, i.e. canonical URLs as in
  the JSON output (``id:<id>`` for a JSON Lines item without URL). A raw URL is
  accepted and canonicalised. Order does not matter; a pair given twice is one
  edge (kinds combined, the larger numbers kept).
- ``kind`` (text, optional, default ``similar``): ``related``, ``similar`` or ``both``.
- ``similarity`` (number >= 0, optional, default 0): cosine of the two texts.
- ``weight`` (number >= 0, optional): the edge's weight for community detection.
  When absent it is computed as storygraph does (similarity, or 1 when the file
  has no ``similarity`` column either, plus ``related_weight`` for a related
  link; 0 across more than ``window_days``).

Numbers are written with Python's shortest round-trip spelling (CSV) or as
float64 (Parquet), so a file written by ``storygraph edges`` clusters to
byte-identical output. Rows naming a node the content does not have, and
self-loops, are skipped and reported as notices; a malformed file is an
:class:`EdgeFileError` naming the file, the row and the column.
"""

from __future__ import annotations

import csv
import math
import os
from collections.abc import Iterator
from io import StringIO
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .errors import DependencyError, InputError
from .graph import calibrated_bonus, calibrated_related_weight, days, edge_weights
from .io import encode, file_sha256, write_atomic
from .model import KINDS, Edges, NodeTable, Notice
from .progress import Tick
from .urls import canonical_url

if TYPE_CHECKING:
    import scipy.sparse as sp

__all__ = ["COLUMNS", "EdgeFileError", "edge_format", "write_edges", "read_edges", "file_edges", "file_sha256"]

COLUMNS = ("source", "target", "kind", "similarity", "weight")
PARQUET_HINT = "Parquet needs pyarrow: pip install 'storygraph[dask]' (or pyarrow), or use .csv"
_NOTICE_ROWS = 20  # rows reported one by one before a summary notice
_HEADER = "\0header"  # key of the file's own column names in _read_columns' result


class EdgeFileError(InputError):
    """An edge file that cannot be used: unreadable, or a missing column or bad value."""


def edge_format(path: str | os.PathLike) -> str:
    """``csv`` or ``parquet`` from the extension; anything else is an :class:`EdgeFileError`."""
    suffix = Path(path).suffix.lower()
    if Path(path).is_dir():  # Spark and Dask write a Parquet "file" as a folder of parts
        return "parquet"
    if suffix == ".csv":
        return "csv"
    if suffix in (".parquet", ".pq"):
        return "parquet"
    raise EdgeFileError(f"{path}: edge files are .csv or .parquet, not {suffix or 'no extension'!r}")


def write_edges(path: str | os.PathLike, table: NodeTable, edges: Edges) -> None:
    """Write ``edges`` (node indices into ``table``) to ``path`` atomically."""
    ids = [node.id for node in table.nodes]
    if edge_format(path) == "csv":
        write_atomic(Path(path), _csv_blocks(ids, edges))
        return
    table = _arrow_table(ids, edges)
    _, pq = _pyarrow()
    write_atomic(Path(path), lambda handle: pq.write_table(table, handle))


def _csv_blocks(ids: list[str], edges: Edges) -> Iterator[bytes]:
    buffer = StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    for number, (a, b, kind, weight, sim) in enumerate(edges.rows(), 1):
        writer.writerow((ids[a], ids[b], kind, repr(sim), repr(weight)))
        if number % 50_000 == 0:
            yield encode(buffer.getvalue())
            buffer.seek(0)
            buffer.truncate()
    yield encode(buffer.getvalue())


def _arrow_table(ids: list[str], edges: Edges):
    pa, _ = _pyarrow()
    id_array = np.array(ids, dtype=object)
    table = pa.table({
        "source": pa.array(id_array[edges.left], type=pa.string()),
        "target": pa.array(id_array[edges.right], type=pa.string()),
        "kind": pa.array(np.array(KINDS, dtype=object)[edges.kind], type=pa.string()),
        "similarity": pa.array(edges.similarity, type=pa.float64()),
        "weight": pa.array(edges.weight, type=pa.float64()),
    })
    return table


def _pyarrow():
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise DependencyError(PARQUET_HINT) from None
    return pa, pq


def file_edges(
    table: NodeTable,
    matrix: "sp.csr_matrix",
    seconds: np.ndarray,
    tick: Tick,
    *,
    path: str | os.PathLike,
    related_weight: float | str = "auto",
    window_days: float = 7.0,
    periods: np.ndarray | None = None,
) -> tuple[Edges, list[Notice]]:
    """The edge source for ``cluster(edge_file=path)`` (:data:`storygraph.graph.EdgeSource`):
    :func:`read_edges` of ``path``; ``matrix`` is not used."""
    found = read_edges(path, table, seconds, related_weight=related_weight, window_days=window_days, periods=periods)
    tick(len(table.nodes))
    return found


def read_edges(
    path: str | os.PathLike,
    table: NodeTable,
    seconds: np.ndarray,
    *,
    related_weight: float | str = "auto",
    window_days: float = 7.0,
    periods: np.ndarray | None = None,
) -> tuple[Edges, list[Notice]]:
    """Edges over ``table``'s nodes from the file at ``path``, and notices for skipped rows.

    ``seconds`` are the nodes' publication times (POSIX seconds, NaN when undated).
    When the file has no ``weight`` column, weights are computed by
    :func:`storygraph.graph.edge_weights` with ``related_weight`` (``"auto"``: calibrated on
    the file's related rows, :func:`storygraph.graph.calibrated_related_weight`) and
    ``window_days``; when it has one, the file's weights are used as they are. ``periods``
    (each node's) calibrates "auto" per period, as :func:`storygraph.graph.build_edges` does.
    """
    columns = _read_columns(path)
    header = columns.pop(_HEADER)
    name = str(path)
    for required in ("source", "target"):
        if required not in columns:
            found = ", ".join(map(repr, header)) or "none"
            raise EdgeFileError(f"{name}: no '{required}' column (columns: {found}; see docs/scale.md)")
    rows = len(columns["source"])
    kind = _kinds(name, columns.get("kind"), rows)
    sim = _numbers(name, "similarity", columns.get("similarity"), rows, 0.0)
    weight = _numbers(name, "weight", columns["weight"], rows, 0.0) if "weight" in columns else None
    # neither number given: an unweighted graph, each edge counting 1 (before the window rule)
    base = sim if "similarity" in columns else np.ones(rows)
    index = {node.id: i for i, node in enumerate(table.nodes)}
    left, notices = _node_indices(name, "source", columns["source"], index)
    right, more = _node_indices(name, "target", columns["target"], index)
    notices += more
    keep = (left >= 0) & (right >= 0)
    loops = keep & (left == right)
    notices += _loop_notices(name, np.flatnonzero(loops))
    keep &= ~loops
    lo, hi = np.minimum(left, right)[keep], np.maximum(left, right)[keep]
    edges = _combine(len(table.nodes), lo, hi, kind[keep], sim[keep], None if weight is None else weight[keep],
                     base[keep])
    gap = days(np.abs(seconds[edges.left] - seconds[edges.right]))
    related = edges.kind != KINDS.index("similar")
    # measured on the file's own related rows either way (what the run records); used when no weights are given
    value = calibrated_related_weight(edges.similarity if "similarity" in columns else edges.weight, related, gap,
                                      related_weight, window_days)
    computed, by_period = edges.weight, None
    if weight is None:
        bonus, by_period = calibrated_bonus(edges.similarity if "similarity" in columns else edges.weight, related, gap,
                                            value, related_weight, window_days, periods, edges.left, edges.right)
        computed = edge_weights(edges.weight, related, gap, bonus, window_days)
    edges = Edges(edges.n, edges.left, edges.right, edges.kind, edges.similarity, computed, value, by_period)
    return edges, _capped(name, notices)


def _read_columns(path: str | os.PathLike) -> dict[str, list]:
    name = str(path)
    fmt = edge_format(path)
    try:
        if fmt == "parquet":
            pa, pq = _pyarrow()
            try:
                data = pq.read_table(path)
            except (pa.ArrowException, ValueError) as exc:
                raise EdgeFileError(f"{name}: not a readable Parquet file: {exc}") from None
            out = {column: data.column(column).to_pylist() for column in data.column_names if column in COLUMNS}
            out[_HEADER] = data.column_names
            return out
        with open(path, encoding="utf-8-sig", newline="") as handle:  # -sig: a spreadsheet's BOM
            reader = csv.reader(handle)
            header = next(reader, [])
            found = {column: index for index, column in enumerate(header) if column in COLUMNS}
            out: dict[str, list] = {column: [] for column in found}
            out[_HEADER] = header
            for number, row in enumerate(reader, 1):
                if len(row) != len(header):
                    raise EdgeFileError(f"{name}: row {number}: {len(row)} fields, the header has {len(header)}")
                for column, index in found.items():
                    out[column].append(row[index])
            return out
    except OSError as exc:
        raise EdgeFileError(f"{name}: cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise EdgeFileError(f"{name}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except csv.Error as exc:
        raise EdgeFileError(f"{name}: not valid CSV: {exc}") from None


def _kinds(name: str, values: list | None, rows: int) -> np.ndarray:
    if values is None:
        return np.full(rows, KINDS.index("similar"), dtype=np.uint8)
    codes = {kind: i for i, kind in enumerate(KINDS)}
    out = np.empty(rows, dtype=np.uint8)
    for row, value in enumerate(values):
        if value not in codes:
            raise EdgeFileError(f"{name}: row {row + 1}: kind {value!r}: expected related, similar or both")
        out[row] = codes[value]
    return out


def _numbers(name: str, column: str, values: list | None, rows: int, default: float) -> np.ndarray:
    if values is None:
        return np.full(rows, default, dtype=np.float64)
    out = np.empty(rows, dtype=np.float64)
    for row, value in enumerate(values):
        try:
            number = float(value)
        except (TypeError, ValueError):
            number = math.nan
        if not (math.isfinite(number) and number >= 0):
            raise EdgeFileError(f"{name}: row {row + 1}: {column} {value!r}: expected a finite number >= 0")
        out[row] = number
    return out


def _node_indices(name: str, column: str, values: list, index: dict[str, int]) -> tuple[np.ndarray, list[Notice]]:
    out = np.empty(len(values), dtype=np.int64)
    notices = []
    for row, value in enumerate(values):
        found = index.get(value, -1) if isinstance(value, str) else -1
        if found < 0 and isinstance(value, str) and "://" in value:
            found = index.get(canonical_url(value), -1)
        if found < 0:
            notices.append(Notice(name, column, f"row {row + 1}: {value!r} is not a node of the content; edge skipped"))
        out[row] = found
    return out, notices


def _loop_notices(name: str, rows: np.ndarray) -> list[Notice]:
    return [Notice(name, "target", f"row {row + 1}: an edge from a node to itself; skipped") for row in rows.tolist()]


def _capped(name: str, notices: list[Notice]) -> list[Notice]:
    """The first rows' notices one by one, then one notice counting the rest: every row is accounted for."""
    if len(notices) <= _NOTICE_ROWS:
        return notices
    rest = len(notices) - _NOTICE_ROWS
    return notices[:_NOTICE_ROWS] + [Notice(name, "rows", f"{rest} more rows skipped for the same reasons")]


def _combine(n: int, left: np.ndarray, right: np.ndarray, kind: np.ndarray, sim: np.ndarray,
             weight: np.ndarray | None, base: np.ndarray) -> Edges:
    """Sort by (left, right) and merge repeated pairs: kinds combined, the larger numbers kept.
    ``weight`` is the file's weights, or None: then ``base`` (what the weight is computed from)."""
    order = np.lexsort((right, left))
    left, right, kind, sim = left[order], right[order], kind[order], sim[order]
    weight = (weight if weight is not None else base)[order]
    starts = np.flatnonzero(np.r_[True, (left[1:] != left[:-1]) | (right[1:] != right[:-1])]) if len(left) else np.array([], dtype=np.int64)
    # kinds as bits: related 1, similar 2, both 3 -> back to KINDS indices 0, 1, 2
    bits = np.array([1, 2, 3], dtype=np.uint8)[kind]
    merged_bits = np.bitwise_or.reduceat(bits, starts) if len(starts) else bits
    to_kind = np.array([0, 0, 1, 2], dtype=np.uint8)
    return Edges(
        n, left[starts], right[starts], to_kind[merged_bits],
        np.maximum.reduceat(sim, starts) if len(starts) else sim,
        np.maximum.reduceat(weight, starts) if len(starts) else weight,
    )
