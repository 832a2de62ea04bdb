"""Reuse of the community stage's periods across runs: a period whose sub-problem is the
same as in an earlier run gets that run's labels instead of being solved again.

A period's labels are a function of its sub-problem alone (:func:`storygraph.periods.optimise`
solves each period on its own rows, links and days; :func:`storygraph.periods.period_key`
names one by a SHA-256 of those arrays, the objective's knobs and the versions of storygraph,
numpy, scipy and igraph that compute it). So a stored result is what solving again gives, bit
for bit, and a re-run that reuses it writes the bytes a fresh run writes. Under the corpus IDF
one new article changes every vector and nothing is reused; with ``idf_scope`` "running" the
periods before the newest two keep their sub-problems, and only those are reused.

Entries live in the parse cache's SQLite file (:class:`storygraph.cache.ParseCache`: its
locking, its handling of a damaged file, ``storygraph cache info`` and ``clear``), under keys
starting with :data:`PREFIX`. A payload is a SHA-256 of its key and labels, then the labels
(int64, little-endian); one that fails that check or does not fit the period (length, range)
is a miss: solved again, never trusted.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from .cache import ParseCache

__all__ = ["PeriodStore", "PREFIX"]

#: Key prefix of a solved period (a parse entry's key starts with an absolute path).
PREFIX = "period "
_DIGEST = 32


class PeriodStore:
    """Solved periods' labels by :func:`storygraph.periods.period_key`; every method is best effort."""

    def __init__(self, folder: str | Path) -> None:
        self.cache = ParseCache(Path(folder))

    def get_many(self, sizes: dict[str, int]) -> dict[str, np.ndarray]:
        """The labels stored for each key of ``sizes`` (key -> the period's node count) that has a valid entry."""
        out = {}
        for stored, payload in self.cache.iter_many([PREFIX + key for key in sizes]):
            key = stored[len(PREFIX):]
            labels = _decode(key, payload, sizes.get(key, -1))
            if labels is not None:
                out[key] = labels
        return out

    def put_many(self, found: dict[str, np.ndarray]) -> None:
        self.cache.put_many([(PREFIX + key, _encode(key, labels)) for key, labels in sorted(found.items())])

    def close(self) -> None:
        self.cache.close()


def _encode(key: str, labels: np.ndarray) -> bytes:
    body = np.ascontiguousarray(labels, dtype="<i8").tobytes()
    return hashlib.sha256(key.encode("ascii") + body).digest() + body


def _decode(key: str, payload: bytes, n: int) -> np.ndarray | None:
    """The labels of a valid payload for a period of ``n`` nodes, else None."""
    body = payload[_DIGEST:]
    if len(payload) != _DIGEST + 8 * n or hashlib.sha256(key.encode("ascii") + body).digest() != payload[:_DIGEST]:
        return None
    labels = np.frombuffer(body, dtype="<i8").astype(np.int64)
    if n and (labels.min() < 0 or labels.max() >= n):
        return None
    return labels
