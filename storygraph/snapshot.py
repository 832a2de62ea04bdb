"""The last load of a folder, kept whole: a re-run takes each unchanged file's result from it.

The parse cache (:mod:`storygraph.cache`) keeps one JSON payload per file; a re-run of a
folder of 100,000 files read and decoded 99,000 of them one by one (about 5 s of a 9 s load).
The snapshot holds the same results, for the files of the folder's last load, as columns: one
JSON array per field, each related entry once in a table that the articles point into, so a
re-run reads a few large arrays and builds the objects from them (about 1.5 s).

A snapshot is a cache like the parse cache, and trusted no more: its rows are keyed by the
parse cache's entry keys (path, size, mtime, inode, ctime, size limit, parser version), so a
file changed since is not taken from it; the file ends with a SHA-256 of all before it, and
every value is type-checked as a parse-cache payload is. A snapshot that fails either is not
used (the parse cache and the parser answer instead) and the run writes a new one. It is written
whole to a temporary file and renamed; two runs on one folder each write a whole snapshot and
the last rename wins. Only the :data:`KEEP` most recently written snapshots are kept.

Layout (``snapshots-v1/<digest of the folder and size limit>.json``), one JSON value a line: a
header (``{"format":1,"rows":N,"refs":M,"block":B}``); the skipped files (``[key, file, code,
reason]``) and the notices (``[key, file, field, message]``); the related entries' table in blocks
of B, each block a line per field of :class:`~storygraph.model.RelatedRef`; the articles in
blocks of B, each block a line of entry keys and a line per field of
:class:`~storygraph.model.Article` (``related`` as indices into the table); then the SHA-256 of
all the lines before it. :func:`write_later` writes it in a forked process while the run goes on.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import os
import signal
import sys
import threading
import time
import warnings
from collections.abc import Iterator
from pathlib import Path

from . import cache, fastjson
from .errors import ExportError
from .io import write_atomic
from .model import Article, Notice, RelatedRef, Skipped
from .sources import Result

__all__ = ["FOLDER", "KEEP", "snapshot_path", "read", "write", "write_later", "wait"]

FORMAT = 1
FOLDER = f"snapshots-v{FORMAT}"
KEEP = 4  # snapshots kept (of this many folders, the most recently loaded)

# An article's fields in Article's order; each is a column, and so is each field of a related entry
_FIELDS = ("file", "url", "title", "excerpt", "published", "provider", "domain", "topics", "type", "quality",
           "alt_urls", "related", "key", "alt_keys")
_REF_FIELDS = ("url", "title", "excerpt", "published", "provider", "domain", "type", "quality", "key")
_BLOCK = 4096  # rows a line holds (the related entries' table likewise)
_LABELS = frozenset({"provider", "domain", "type"})  # interned, as the parser and the parse cache do
_TUPLES = frozenset({"topics", "alt_urls", "alt_keys"})
_TEXT = frozenset({str})
_WHEN = frozenset({str, type(None)})
_QUALITY = frozenset({int, type(None)})  # exactly: True and 1.0 are not a stored quality
_INDEX = frozenset({int})


class _Malformed(ValueError):
    """The snapshot is not one this code wrote: it is not used."""


def snapshot_path(cache_dir: Path, root: Path, max_file_bytes: int) -> Path:
    """Where the snapshot of loading ``root`` with ``max_file_bytes`` lives in ``cache_dir``."""
    name = f"{os.fspath(root.resolve())}\0{max_file_bytes}".encode("utf-8", "surrogatepass")
    return cache_dir / FOLDER / f"{hashlib.sha256(name).hexdigest()[:32]}.json"


def read(path: Path, keys: dict[str, str]) -> tuple[dict[str, Result], list[RelatedRef]]:
    """The results of the files whose current entry key (``keys[rel]``) the snapshot at ``path``
    holds, by relative path, and the related entries they hold (each value once, one object
    each); nothing when there is no usable snapshot. A snapshot read is marked as used (its
    mtime), so the :data:`KEEP` kept are those of the most recently run folders."""
    wait()  # this process's last snapshot, if it is still being written
    if not keys:
        return {}, []
    try:
        with open(path, "rb") as handle:
            found = _read(handle, {key: rel for rel, key in keys.items()})
    except (OSError, ValueError, TypeError, KeyError, IndexError, RecursionError):
        # missing, damaged or not ours (RecursionError: JSON nested deeper than the standard
        # library's reader goes, where orjson refused it): the parse cache answers
        return {}, []
    with contextlib.suppress(OSError):
        os.utime(path)
    return found


def write(path: Path, keys: dict[str, str], results: dict[str, Result]) -> bool:
    """Write the snapshot of ``results`` (by relative path) whose file has an entry key in
    ``keys`` and does not depend on the moment (see :data:`storygraph.cache.TRANSIENT`), whole
    or not at all (:func:`storygraph.io.write_atomic`); whether it was written. A file that
    cannot be written or a result that cannot be (a ValueError) is not an error of the run: a
    run without a snapshot is only slower the next time."""
    def lines(handle) -> None:
        sha = hashlib.sha256()
        for line in _lines(keys, results):
            sha.update(line)
            handle.write(line)
        handle.write(sha.hexdigest().encode("ascii") + b"\n")

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, lines)
    except (OSError, ExportError, ValueError):
        return False
    _prune(path.parent)
    return True


def write_later(path: Path, keys: dict[str, str], results: dict[str, Result]) -> None:
    """:func:`write` in a forked process while the run goes on (:func:`wait` joins it), or here.
    Writing takes ~2.5 s at 100k files; on the run's path that is the graph stage, which uses
    one core: the other core writes. The writer's memory is the run's objects it reads (copied
    as it touches them, up to the load's size) for those seconds.

    Forked only from a process with no other thread (a thread may hold a lock the copy would
    wait on for ever: a thread blocked reading stdin deadlocked a ``multiprocessing`` start), by
    ``os.fork``, and only for :data:`_FORK_MIN` files or more."""
    if len(results) < _FORK_MIN or not hasattr(os, "fork") or threading.active_count() > 1:
        write(path, keys, results)
        return
    try:
        with warnings.catch_warnings():  # Python 3.12 warns of forking with threads: there are none
            warnings.simplefilter("ignore", DeprecationWarning)
            pid = os.fork()
    except OSError:  # no process to be had (memory, limits)
        write(path, keys, results)
        return
    if pid == 0:  # the writer: a copy of the run, which it leaves without freeing or flushing anything
        written = False
        try:
            written = write(path, keys, results)
        finally:
            os._exit(0 if written else 1)
    _PENDING.append(pid)


_FORK_MIN = 2_000  # below this many files writing here costs no more than forking (the real corpus, 4,596 files: 0.13 s here)
_WAIT_LIMIT = 900.0  # seconds a writer may take before wait() stops it (1M files take ~30 s)
_PENDING: list[int] = []  # writers started by write_later and not yet waited for


def wait() -> bool:
    """Return once every writer :func:`write_later` started has ended; whether each wrote its
    snapshot. A writer still at work after :data:`_WAIT_LIMIT` seconds is stopped (its snapshot
    is then not written)."""
    ok = True
    while _PENDING:
        pid = _PENDING.pop()
        deadline = time.monotonic() + _WAIT_LIMIT
        while True:
            try:
                done, status = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:  # reaped elsewhere
                done, status = pid, 0
            if done:
                ok = ok and os.waitstatus_to_exitcode(status) == 0
                break
            if time.monotonic() > deadline:
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                ok = False
                break
            time.sleep(0.01)
    return ok


def _lines(keys: dict[str, str], results: dict[str, Result]) -> Iterator[bytes]:
    """The file's lines (see the module's docstring), each a JSON value and a newline."""
    rows, skipped, notices = [], [], []
    for rel, key in keys.items():
        if rel not in results:
            continue
        item, found = results[rel]
        if isinstance(item, Skipped) and item.code in cache.TRANSIENT:
            continue
        notices.extend([key, n.file, n.field, n.message] for n in found)
        if isinstance(item, Skipped):
            skipped.append([key, item.file, item.code, item.reason])
        else:
            rows.append((key, item))
    # Each related entry once, by identity: the load shares one object per equal entry, and an
    # identity lookup costs a fraction of a dataclass's hash
    refs: dict[int, int] = {}
    table: list[RelatedRef] = []
    for _, item in rows:
        for ref in item.related:
            if id(ref) not in refs:
                refs[id(ref)] = len(table)
                table.append(ref)
    yield _line({"format": FORMAT, "rows": len(rows), "refs": len(table), "block": _BLOCK})
    yield _line(skipped)
    yield _line(notices)
    for start in range(0, len(table), _BLOCK):
        block = table[start : start + _BLOCK]
        for name in _REF_FIELDS:
            yield _line(_stored(name, [getattr(ref, name) for ref in block], refs))
    for start in range(0, len(rows), _BLOCK):
        block = rows[start : start + _BLOCK]
        yield _line([key for key, _ in block])
        for name in _FIELDS:
            yield _line(_stored(name, [getattr(item, name) for _, item in block], refs))


def _line(value: object) -> bytes:
    return fastjson.dumps(value) + b"\n"


def _stored(name: str, values: list, refs: dict[int, int]) -> list:
    if name == "published":
        return [None if v is None else v.isoformat() for v in values]
    if name == "related":
        return [[refs[id(r)] for r in v] for v in values]
    return values


class _Lines:
    """The snapshot's lines in order, each parsed, checked (:func:`_checked`) and hashed."""

    def __init__(self, handle) -> None:
        self.handle, self.sha, self.table = handle, hashlib.sha256(), []

    def header(self) -> tuple[int, int, int]:
        """``(rows, related entries, block size)`` from the first line."""
        head = self.handle.readline()
        self.sha.update(head)
        header = fastjson.loads(head)
        if not isinstance(header, dict) or header.get("format") != FORMAT:
            raise _Malformed("another format")
        rows, refs, size = (header.get(name) for name in ("rows", "refs", "block"))
        if not _INDEX.issuperset(map(type, (rows, refs, size))) or size < 1:
            raise _Malformed("header")
        return rows, refs, size

    def next(self, name: str, length: int | None = None) -> list:
        """The next line, the column ``name`` (of ``length`` values, if given)."""
        data = self.handle.readline()
        if not data.endswith(b"\n"):
            raise _Malformed("cut short")
        self.sha.update(data)
        value = fastjson.loads(data)
        if not isinstance(value, list) or (length is not None and len(value) != length):
            raise _Malformed(name)
        return _checked(name, value, self.table)

    def check_digest(self) -> None:
        if self.handle.readline() != self.sha.hexdigest().encode("ascii") + b"\n" or self.handle.read(1):
            raise _Malformed("digest")


def _read(handle, wanted: dict[str, str]) -> tuple[dict[str, Result], list[RelatedRef]]:
    """Each wanted key's result (by relative path) and the related entries' table, read a block
    of :data:`_BLOCK` rows at a time, every value checked, the digest at the end (a value is
    never given out before the whole file is known to be whole). The objects of a block are
    built by ``map`` over its columns, the per-row work in C. In blocks, not whole columns: the
    parsed lists and texts that are dropped once the objects exist take the same few MB again
    and again, where whole columns freed ~80 MB of small objects at once at 100k files, into
    which the rest of the run did not fit its own (its peak was ~50-100 MB higher)."""
    lines = _Lines(handle)
    rows, refs, size = lines.header()
    skipped, notices = lines.next("skipped"), {}
    for key, *values in lines.next("notices"):
        notices.setdefault(key, []).append(Notice(*values))
    found: dict[str, Result] = {}
    for key, *values in skipped:
        if key in wanted:
            found[wanted[key]] = (Skipped(*values), notices.get(key, []))
    for start in range(0, refs, size):
        length = min(size, refs - start)
        lines.table.extend(map(RelatedRef, *[lines.next(name, length) for name in _REF_FIELDS]))
    for start in range(0, rows, size):
        length = min(size, rows - start)
        keys = lines.next("keys", length)
        for key, article in zip(keys, map(Article, *[lines.next(name, length) for name in _FIELDS])):
            rel = wanted.get(key)
            if rel is not None:
                found[rel] = (article, notices.get(key, []))
    lines.check_digest()
    return found, lines.table


def _checked(name: str, values: list, table: list[RelatedRef]) -> list:
    """The column ``name`` as the objects take it, or _Malformed if a value is not of its type."""
    if name == "published":
        if not _WHEN.issuperset(map(type, values)):
            raise _Malformed(name)
        return [None if v is None else cache.parse_when(v) for v in values]
    if name == "quality":
        if not _QUALITY.issuperset(map(type, values)):
            raise _Malformed(name)
        return values
    if name == "related":
        if not all(type(v) is list for v in values):
            raise _Malformed(name)
        flat = list(itertools.chain.from_iterable(values))
        if not _INDEX.issuperset(map(type, flat)) or (flat and not 0 <= min(flat) <= max(flat) < len(table)):
            raise _Malformed(name)
        pick = table.__getitem__
        return [tuple(map(pick, v)) for v in values]
    if name in ("skipped", "notices"):  # four texts a row
        if not all(type(v) is list and len(v) == 4 and _TEXT.issuperset(map(type, v)) for v in values):
            raise _Malformed(name)
        return values
    if name in _TUPLES:
        if not all(type(v) is list for v in values) or not _TEXT.issuperset(
                map(type, itertools.chain.from_iterable(values))):
            raise _Malformed(name)
        return [tuple(map(sys.intern, v)) for v in values] if name == "topics" else list(map(tuple, values))
    if not _TEXT.issuperset(map(type, values)):
        raise _Malformed(name)
    return list(map(sys.intern, values)) if name in _LABELS else values


def _prune(folder: Path) -> None:
    """Keep the :data:`KEEP` most recently written snapshots; remove a killed run's temporary
    file once it is a day old (a running writer's is younger)."""
    with contextlib.suppress(OSError):
        found = sorted(((p.stat().st_mtime_ns, p) for p in folder.glob("*.json")), reverse=True)
        for _, old in found[KEEP:]:
            old.unlink(missing_ok=True)
        day_ago = time.time() - 86400
        for tmp in folder.glob(".*.tmp"):
            if tmp.stat().st_mtime < day_ago:
                tmp.unlink(missing_ok=True)
