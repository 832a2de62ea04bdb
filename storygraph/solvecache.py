"""Reuse of solved work across runs: a similarity block or a community period whose inputs are
the same as in an earlier run gets that run's result instead of being computed again.

Both are functions of their inputs alone. A period's labels read its own rows, links and days
(:func:`storygraph.periods.optimise`; :func:`storygraph.periods.period_key` names them); a
similarity block's pairs read its rows' and columns' vectors and days
(:func:`storygraph.similarity.block_top_k`; :func:`block_key`). A key is
a SHA-256 of those arrays (words by a hash of their text, not their column number, which a new
word shifts), the knobs, storygraph's version and a hash of its files (so a changed optimiser
never takes an older one's labels, whatever the version string says), and the versions of the
libraries it runs on (:func:`versions`). So a stored
result is what computing again gives, bit for bit, and a re-run that reuses it writes the bytes
a fresh run writes. Under the corpus IDF one new article changes every vector and only a re-run
with other story or export options reuses anything; with ``idf_scope`` "running" the periods
before the newest two keep their inputs.

Entries live in ``solved-v1.sqlite`` in the cache folder (a
:class:`storygraph.cache.ParseCache` of another name: its locking, its handling of a damaged
file, ``storygraph cache info`` and ``clear``). A payload is a SHA-256 of its key and body, then
the body; one that fails that check or does not fit (length, range) is a miss: computed again,
never trusted. Each entry remembers the last run that read or wrote it, and a run's close keeps
only the entries of the last :data:`KEEP_RUNS` runs: the file holds a few runs' work, not every
run's.
"""

from __future__ import annotations

import functools
import hashlib
import json
import sqlite3
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from .cache import ParseCache
from .sparse import sorted_unique

__all__ = ["SolvedStore", "PeriodStore", "BlockStore", "FILE", "KEEP_RUNS", "versions", "new_key", "block_key",
           "block_keys", "word_ids", "row_digests", "reusing_blocks"]

FORMAT = 1
FILE = f"solved-v{FORMAT}"
#: Runs whose entries a store keeps (a day's re-run reads the day before's; a few spare for
#: runs of other options or folders sharing the cache).
KEEP_RUNS = 4
_DIGEST = 32
_PUT_BATCH = 64  # blocks kept per transaction: a few MB


@functools.lru_cache(maxsize=1)
def versions() -> dict[str, str]:
    """What computes a solved result: storygraph's version and files
    (:func:`storygraph._version.code_digest`) and the libraries it runs on
    (:func:`storygraph._version.library_versions`, as the whole-run record). Part of every key."""
    from ._version import __version__, code_digest, library_versions

    return {"storygraph": __version__, "code": code_digest(), **library_versions()}


def new_key(kind: str, head: dict, arrays: list[np.ndarray]) -> str:
    """A SHA-256 of ``head`` (JSON, with :func:`versions`) and each array's type, shape and bytes."""
    digest = hashlib.sha256()
    digest.update(json.dumps({"kind": kind, "format": FORMAT, "versions": versions(), **head},
                             sort_keys=True).encode("utf-8"))
    for array in arrays:
        array = np.ascontiguousarray(array)
        digest.update(f"|{array.dtype.str}{array.shape}|".encode("ascii"))
        digest.update(memoryview(array).cast("B"))
    return digest.hexdigest()


class SolvedStore:
    """The run's view of ``solved-v1.sqlite``: payloads by key, every method best effort."""

    def __init__(self, folder: str | Path, keep_runs: int = KEEP_RUNS) -> None:
        self.cache = ParseCache(Path(folder), name=FILE, label="cache of solved work")
        self.touched: set[str] = set()  # what this run read or wrote: stamped when it closes
        self.keep_runs = keep_runs
        self._sql("CREATE TABLE IF NOT EXISTS used (key TEXT PRIMARY KEY, stamp INTEGER NOT NULL)",
                  "CREATE INDEX IF NOT EXISTS used_stamp ON used (stamp)")

    @property
    def notice(self) -> str | None:
        """What went wrong with the file, if anything (set aside and rebuilt, or disabled)."""
        return self.cache.notice or self.cache.error

    def get_many(self, keys: list[str]) -> dict[str, bytes]:
        """The payloads found for ``keys``, marked as read by this run."""
        found = dict(self.cache.iter_many(keys))
        self.touched.update(found)
        return found

    def put_many(self, items: dict[str, bytes]) -> None:
        self.cache.put_many(sorted(items.items()))
        self.touched.update(items)

    def count(self, prefix: str) -> int:
        return self.cache.count(prefix)

    def close(self) -> None:
        """Stamp what this run read or wrote with the time it closes, forget the entries no run of
        the last ``keep_runs`` to close used, and close. (Stamped at the close, not the start: a
        long run that shorter ones overtook still counts as the latest. An entry a run has not
        stamped yet is never forgotten.)"""
        stamp = time.time_ns()
        if self.touched and self.cache.db is not None:
            try:
                with self.cache.db:
                    self.cache.db.executemany("INSERT OR REPLACE INTO used (key, stamp) VALUES (?, ?)",
                                              [(key, stamp) for key in sorted(self.touched)])
            except sqlite3.Error as exc:
                self.cache._fail(exc)
        self._sql("DELETE FROM entries WHERE key IN (SELECT key FROM used WHERE stamp < ?)",
                  "DELETE FROM used WHERE stamp < ?", params=(self._oldest_kept(),))
        self.cache.close()

    def _oldest_kept(self) -> int:
        if self.cache.db is None:
            return 0
        try:
            rows = self.cache.db.execute("SELECT DISTINCT stamp FROM used ORDER BY stamp DESC LIMIT ?",
                                         (self.keep_runs,)).fetchall()
        except sqlite3.Error as exc:
            self.cache._fail(exc)
            return 0
        return int(rows[-1][0]) if len(rows) == self.keep_runs else 0

    def _sql(self, *statements: str, params: tuple = ()) -> None:
        if self.cache.db is None:
            return
        try:
            with self.cache.db:
                for statement in statements:
                    self.cache.db.execute(statement, params if "?" in statement else ())
        except sqlite3.Error as exc:
            self.cache._fail(exc)


def _sealed(key: str, body: bytes) -> bytes:
    return hashlib.sha256(key.encode("ascii") + body).digest() + body


def _opened(key: str, payload: bytes) -> bytes | None:
    """The body of a payload whose SHA-256 checks out, else None."""
    body = payload[_DIGEST:]
    if len(payload) < _DIGEST or hashlib.sha256(key.encode("ascii") + body).digest() != payload[:_DIGEST]:
        return None
    return body


class PeriodStore:
    """Solved periods' labels by :func:`storygraph.periods.period_key` (entries ``period <key>``)."""

    PREFIX = "period "

    def __init__(self, store: SolvedStore) -> None:
        self.store = store

    def get_many(self, sizes: dict[str, int]) -> dict[str, np.ndarray]:
        """The labels stored for each key of ``sizes`` (key -> the period's node count) that are valid."""
        out = {}
        for stored, payload in self.store.get_many([self.PREFIX + key for key in sizes]).items():
            key = stored[len(self.PREFIX):]
            body = _opened(stored, payload)
            n = sizes[key]
            if body is None or len(body) != 8 * n:
                continue
            labels = np.frombuffer(body, dtype="<i8").astype(np.int64)
            if n == 0 or (labels.min() >= 0 and labels.max() < n):
                out[key] = labels
        return out

    def put_many(self, found: dict[str, np.ndarray]) -> None:
        self.store.put_many({self.PREFIX + key: _sealed(self.PREFIX + key, np.ascontiguousarray(v, "<i8").tobytes())
                             for key, v in found.items()})


#: A block's result by position: (rows' positions, columns' positions, cosines).
Local = tuple[np.ndarray, np.ndarray, np.ndarray]


class BlockStore:
    """Similarity blocks' pairs by :func:`storygraph.similarity.block_key` (entries ``block <key>``),
    held by position in the block's rows and columns."""

    PREFIX = "block "

    def __init__(self, store: SolvedStore) -> None:
        self.store = store

    def get_many(self, shapes: dict[str, tuple[int, int]]) -> dict[str, Local]:
        """The pairs stored for each key of ``shapes`` (key -> (rows, columns) of the block) that are valid."""
        out = {}
        for stored, payload in self.store.get_many([self.PREFIX + key for key in shapes]).items():
            key = stored[len(self.PREFIX):]
            body = _opened(stored, payload)
            found = None if body is None else _block_body(body, *shapes[key])
            if found is not None:
                out[key] = found
        return out

    def put_many(self, found: dict[str, Local]) -> None:
        items = {}
        for key, (left, right, sims) in found.items():
            body = (np.array([len(left)], "<i8").tobytes() + np.ascontiguousarray(left, "<i4").tobytes()
                    + np.ascontiguousarray(right, "<i4").tobytes() + np.ascontiguousarray(sims, "<f4").tobytes())
            items[self.PREFIX + key] = _sealed(self.PREFIX + key, body)
        self.store.put_many(items)


def _block_body(body: bytes, rows: int, cols: int) -> Local | None:
    if len(body) < 8:
        return None
    n = int(np.frombuffer(body[:8], "<i8")[0])
    if n < 0 or len(body) != 8 + 12 * n:
        return None
    left = np.frombuffer(body[8:8 + 4 * n], "<i4").astype(np.int64)
    right = np.frombuffer(body[8 + 4 * n:8 + 8 * n], "<i4").astype(np.int64)
    sims = np.frombuffer(body[8 + 8 * n:], "<f4").copy()
    inside = n == 0 or (left.min() >= 0 and left.max() < rows and right.min() >= 0 and right.max() < cols)
    return (left, right, sims) if inside and np.isfinite(sims).all() else None


def reusing_blocks(run, store: "BlockStore", words: np.ndarray):
    """A :data:`storygraph.similarity.BlockMap` that runs ``run`` for the blocks ``store`` does not
    hold, takes the held ones from it (in plan order either way) and keeps what it computed."""

    def blocks(matrix, days, plan, threshold, top_k, window_days):
        keys = block_keys(row_digests(matrix, days, words), plan, threshold=threshold, top_k=top_k,
                          window_days=window_days)
        held = store.get_many({key: (len(rows), len(cols)) for key, (rows, cols) in zip(keys, plan)})
        todo = [block for key, block in zip(keys, plan) if key not in held]
        fresh = run(matrix, days, todo, threshold, top_k, window_days) if todo else iter(())
        pending, remaining = {}, len(todo)
        for key, (rows, cols) in zip(keys, plan):
            if key in held:
                left, right, sims = held[key]
                yield rows[left], cols[right], sims
                continue
            result = next(fresh)
            pending[key] = (_positions(rows, result[0]), _positions(cols, result[1]), result[2])
            remaining -= 1
            if remaining == 0 or len(pending) >= _PUT_BATCH:
                # kept before the block is handed over: a consumer may stop at the plan's last block
                store.put_many(pending)
                pending = {}
            yield result

    return blocks


def row_digests(matrix: sp.csr_matrix, days: np.ndarray, words: np.ndarray) -> np.ndarray:
    """Each row's BLAKE2b-128 of what :func:`storygraph.similarity.block_top_k` reads of it: its
    words in column order (the order its cosines are summed in) by ``words``, a stable id per
    column (a column's number moves when a word new to the corpus sorts before it), their
    weights, and its day. An ``(n, 16)`` uint8 array."""
    ids = np.ascontiguousarray(words[matrix.indices], dtype="<u8").tobytes()
    weights = np.ascontiguousarray(matrix.data).tobytes()
    width = matrix.data.dtype.itemsize
    when = np.ascontiguousarray(days, dtype="<f8").tobytes()
    out = bytearray()
    blake2b = hashlib.blake2b
    bounds = matrix.indptr.tolist()
    for i in range(matrix.shape[0]):
        a, b = bounds[i], bounds[i + 1]
        out += blake2b(ids[8 * a:8 * b] + weights[width * a:width * b] + when[8 * i:8 * i + 8], digest_size=16).digest()
    return np.frombuffer(bytes(out), dtype=np.uint8).reshape(matrix.shape[0], 16)


def block_key(digests: np.ndarray, rows: np.ndarray, cols: np.ndarray, *, threshold: float, top_k: int,
              window_days: float) -> str:
    """A SHA-256 naming what :func:`storygraph.similarity.block_top_k` reads for a block: its rows'
    and columns' :func:`row_digests`, how their indices compare (the result's order, and a row's
    own column), the knobs and the versions of what computes it. Equal keys, equal pairs."""
    return block_keys(digests, [(rows, cols)], threshold=threshold, top_k=top_k, window_days=window_days)[0]


def block_keys(digests: np.ndarray, plan: Sequence[tuple[np.ndarray, np.ndarray]], *, threshold: float, top_k: int,
               window_days: float) -> list[str]:
    """:func:`block_key` of each ``(rows, cols)`` block of ``plan``, the same strings. A block's
    indices are ranked among its own by one table of the rows' positions, filled and read for
    each block (a block of 1M rows has ~70,000 columns: two binary searches over them took 10 ms
    a block, the table takes under 1 ms), and its digests gathered by ``np.take``, which copies
    each 16-byte row whole (indexing ``digests[cols]`` took 7 ms)."""
    head = {"threshold": threshold, "top_k": top_k, "window_days": window_days}
    position = np.zeros(len(digests), dtype=np.int64)
    keys = []
    for rows, cols in plan:
        union = sorted_unique(np.concatenate([rows, cols]))
        position[union] = np.arange(len(union))  # rank among the block's indices: searchsorted(union, x)
        keys.append(new_key("block", head, [position[rows], position[cols], np.take(digests, rows, axis=0),
                                            np.take(digests, cols, axis=0)]))
    return keys


def word_ids(terms: Sequence[str]) -> np.ndarray:
    """A stable 64-bit id per vocabulary word (BLAKE2b of its text), for :func:`row_digests`."""
    return np.array([int.from_bytes(hashlib.blake2b(t.encode("utf-8", "surrogatepass"), digest_size=8).digest(),
                                    "little") for t in terms], dtype=np.uint64)


def _positions(block: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Where each of ``values`` is in ``block`` (every value is there; ``block`` holds each once)."""
    order = np.argsort(block, kind="stable")
    return order[np.searchsorted(block[order], values)]
