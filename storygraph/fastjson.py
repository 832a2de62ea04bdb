"""Compact JSON with orjson where it gives the very bytes the standard library gives.

orjson (a compiled JSON library) writes and reads JSON 3-4x faster than :mod:`json`. storygraph
uses it for the two places where JSON is per-item work at scale: the parse cache's payloads
(one per input file, written in the load's workers and read back by every re-run) and the
JSON export's nodes and stories. Both must stay byte for byte what ``json.dumps(value,
ensure_ascii=False, separators=(",", ":"))`` writes, so orjson is used only where its output
is the same:

- strings: both escape ``"``, ``\\``, and the C0 controls alike (``\\n`` ... and ``\\u001f``)
  and write every other character as UTF-8; a lone surrogate, which UTF-8 cannot hold, makes
  orjson refuse and the standard library writes the value (the callers' old rules then apply);
- integers: the same digits; one past 64 bits makes orjson refuse (the same fallback);
- floats: both write the shortest text that reads back as the same number, but Python's
  ``repr`` turns to exponent form below 1e-4 (``5e-05``) where orjson writes ``0.00005``.
  :func:`dumps` is therefore for values without floats; :func:`floats_alike` says whether a
  set of numbers is written alike, for callers whose floats it can check.

Without orjson (it is a dependency, but a fast path: an install without it still works) every
call is the standard library's.
"""

from __future__ import annotations

import json

import numpy as np

try:
    import orjson
except ImportError:  # pragma: no cover - exercised by the tests with orjson hidden
    orjson = None

__all__ = ["dumps", "dumps_utf8", "loads", "floats_alike", "available"]

_dumps = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode


def available() -> bool:
    """Whether orjson is installed (and so used)."""
    return orjson is not None


def dumps(value: object) -> bytes:
    """``json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"))`` as
    UTF-8, lone surrogates written as ``surrogatepass`` writes them. ``value`` holds no floats
    (see the module's note): dicts with str keys, lists, tuples, str, int, bool and None."""
    if orjson is not None:
        try:
            return orjson.dumps(value)
        except orjson.JSONEncodeError:
            pass  # a lone surrogate or an integer past 64 bits: written below, as before
    return _dumps(value).encode("utf-8", "surrogatepass")


def dumps_utf8(value: object) -> bytes | None:
    """``json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"))`` as the
    UTF-8 bytes orjson writes, for a ``value`` whose floats are :func:`floats_alike` (not NaN
    nor an infinity, which orjson writes as ``null`` where ``json`` raises ValueError); None
    where orjson is missing or refuses (a lone surrogate, which UTF-8 cannot hold, or an
    integer past 64 bits): the caller writes that value with ``json``."""
    if orjson is None:
        return None
    try:
        return orjson.dumps(value)
    except orjson.JSONEncodeError:
        return None


def loads(data: bytes) -> object:
    """What ``json.loads(data.decode("utf-8", "surrogatepass"))`` returns, for data that
    :func:`dumps` wrote; raises ValueError (or UnicodeDecodeError, a ValueError) on malformed data.

    orjson reads what it can; what it refuses (a lone surrogate, NaN, a number out of a
    double's range) is read by the standard library. The one known difference: an integer
    past 64 bits, which orjson reads as a float; :func:`dumps`'s callers write none."""
    if orjson is not None:
        try:
            return orjson.loads(data)
        except orjson.JSONDecodeError:
            pass
    return json.loads(data.decode("utf-8", "surrogatepass"))


def floats_alike(values: np.ndarray) -> np.ndarray:
    """For each of ``values``, whether orjson writes it as ``repr`` (and so ``json``) does:
    zero, or a magnitude from 1e-4 up to (not including) 1e16, where both write a plain
    decimal. NaN and infinities are not (``json`` refuses them, orjson writes ``null``)."""
    values = np.abs(np.asarray(values, dtype=np.float64))
    with np.errstate(invalid="ignore"):
        return (values == 0.0) | ((values >= 1e-4) & (values < 1e16))
