"""Load stage on this machine: a :class:`~storygraph.sources.Source` to a LoadResult.

Every item of the source ends in exactly one of ``articles`` or ``skipped`` (with a
reason), in the source's order. A folder's files come from its last load's snapshot
(:mod:`storygraph.snapshot`) or the parse cache (:mod:`storygraph.cache`) when unchanged, and the
rest are parsed in forked worker
processes (:func:`read_files`); other sources are read here, batch by batch (a URL's
reads wait on the network, not the CPU; a JSON Lines file is one pass). Either way the
result is the same as reading every item in order in one process.

>>> load_content("fixtures/content", max_file_bytes=10 << 20).inputs   # doctest: +SKIP
109
"""

from __future__ import annotations

import dataclasses
import functools
import multiprocessing
import operator
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from . import cache as cache_mod
from . import snapshot
from .fields import forget_entries
from .folder import FileStates, FolderSource, file_states, read_item
from .model import Article, LoadResult, Notice, RelatedRef, Skipped
from .progress import Tick
from .sources import Result, Source, batches, open_source

__all__ = ["load", "load_content", "read_files", "assemble"]

_PARALLEL_MIN = 256  # below this, starting worker processes costs more than it saves
_BATCH = 64
_PUT_BATCH = 4096  # parse-cache entries per transaction


def load(source: Source, *, jobs: int = 0, cache_dir: Path | None = None, tick: Tick | None = None) -> LoadResult:
    """Read every item of ``source``.

    A folder's files are read by :func:`read_files` (``jobs`` processes, 0 = one per
    core; the parse cache in ``cache_dir``, None for none); other sources here, in order.
    ``tick`` is told each item done.
    """
    tick = tick or (lambda n: None)
    try:
        if isinstance(source, FolderSource):
            return read_files(source.root, source.paths, source.ignored, max_file_bytes=source.max_file_bytes,
                              jobs=jobs, cache_dir=cache_dir, tick=tick, states=source.take_states)
        results: dict[str, Result] = {}
        shared = Shared()
        for batch in batches(source, _BATCH):
            results.update(zip(batch, (_sharing(r, shared) for r in source.read_batch(batch))))
            tick(len(batch))
        return assemble(source.paths, results, ignored=source.ignored, kind=source.kind)
    finally:
        forget_entries()


def load_content(content: str | os.PathLike, max_file_bytes: int, tick: Tick | None = None) -> LoadResult:
    """Open and load ``content`` (see :func:`storygraph.sources.open_source`) in this process, without the cache."""
    return load(open_source(content, max_file_bytes), jobs=1, tick=tick)


def read_files(
    base: Path,
    paths: list[str],
    ignored: int,
    *,
    max_file_bytes: int,
    jobs: int = 0,
    cache_dir: Path | None = None,
    tick: Tick | None = None,
    states: Callable[[], FileStates] | None = None,
) -> LoadResult:
    """Read each of ``paths`` (relative to the folder ``base``) into an Article or a Skipped:
    unchanged files from the cache in ``cache_dir`` (None: no cache; the folder's last load,
    :mod:`storygraph.snapshot`, then the parse cache), the rest in ``jobs`` forked processes
    (0: one per core). ``states`` gives the paths' states for the cache's keys when the caller
    has them (:meth:`FolderSource.take_states <storygraph.folder.FolderSource.take_states>`); else each
    file is stated here."""
    tick = tick or (lambda n: None)
    results: dict[str, Result] = {}
    shared = Shared()
    cache, keys = _open_cache(base, paths, max_file_bytes, cache_dir, states)
    try:
        if cache is not None:
            snap = snapshot.snapshot_path(cache_dir, base, max_file_bytes)
            found, refs = snapshot.read(snap, keys)
            results.update(found)
            shared.know(refs)
            from_snapshot = len(results)
            results.update(_cached(cache, {rel: key for rel, key in keys.items() if rel not in results}, shared))
            tick(len(results))
        todo = [rel for rel in paths if rel not in results]
        writer = _CacheWriter(cache, keys) if cache is not None else None
        results.update(_parse_all(FolderSource(base, max_file_bytes), todo, jobs, tick, writer, shared))
        if writer is not None:
            writer.flush()
    finally:
        if cache is not None:
            cache.close()
    if cache is not None and from_snapshot < sum(1 for rel in keys if _lasting(results[rel][0])):
        snapshot.write_later(snap, keys, results)  # something new (or no usable snapshot): the next run starts from here
    notices = [Notice("", "cache", m) for m in (cache.notice, cache.error) if m] if cache is not None else []
    return assemble(paths, results, ignored=ignored, kind="folder", notices=notices)


def assemble(paths: list[str], results: dict[str, Result], *, ignored: int, kind: str,
             notices: list[Notice] | None = None) -> LoadResult:
    """The LoadResult of ``paths`` in order, from ``results[path] = (Article | Skipped, notices)``;
    ``notices`` about the run itself come last."""
    out = LoadResult(ignored=ignored, inputs=len(paths), kind=kind)
    for rel in paths:
        item, found = results[rel]
        (out.articles if isinstance(item, Article) else out.skipped).append(item)
        out.notices.extend(found)
    out.notices.extend(notices or [])
    return out


class Shared:
    """The one object of each related entry's value kept for the whole load: ``shared(ref)`` is
    the first entry equal to ``ref`` seen (``ref`` itself if none)."""

    def __init__(self) -> None:
        self.by_value: dict[RelatedRef, RelatedRef] = {}
        self.by_url: dict[str, list[RelatedRef]] = {}

    def __call__(self, ref: RelatedRef) -> RelatedRef:
        known = self.by_url.pop(ref.url, None)
        if known is not None:  # the first entry of this URL asked for: its known ones join by_value
            for other in known:
                self.by_value.setdefault(other, other)
        return self.by_value.setdefault(ref, ref)

    def know(self, refs: list[RelatedRef]) -> None:
        """Take ``refs`` (distinct values, as a snapshot holds them) as the objects of their values.
        Set aside by URL and hashed only when an entry of that URL is asked for: a dataclass's hash
        is a Python call, ~3 us an entry, and a load that reads a snapshot asks for few or none."""
        for ref in refs:
            self.by_url.setdefault(ref.url, []).append(ref)


def _sharing(result: Result, shared: Shared) -> Result:
    """``result`` with its article holding the one object of each related entry equal to one
    seen before. The same coverage is listed by many items (on the real corpus 94% of the
    entries repeat one), and each arrives from its own file, worker or cache entry as its
    own copy: shared as each result arrives, the copies are freed at once and never add up."""
    item, found = result
    if not isinstance(item, Article) or not item.related:
        return result
    refs = tuple(map(shared, item.related))
    if all(map(operator.is_, refs, item.related)):
        return result
    return dataclasses.replace(item, related=refs), found


def _lasting(item: Article | Skipped) -> bool:
    """Whether a result depends only on the file's content (so it may be cached)."""
    return not (isinstance(item, Skipped) and item.code in cache_mod.TRANSIENT)


def _open_cache(base: Path, paths: list[str], max_file_bytes: int, cache_dir: Path | None,
                states: Callable[[], FileStates] | None):
    if cache_dir is None or not paths:
        return None, {}
    cache = cache_mod.ParseCache(cache_dir)
    if cache.db is None:
        return cache, {}  # unusable: nothing read or written, but its notice is kept
    known = states() if states is not None else file_states(os.fspath(base), paths)
    keys: dict[str, str] = {}
    # Plain strings, not a Path per file: a relative path from the walk is already normal
    # (no "." or doubled slashes), so root + "/" + rel is what Path(root) / rel would print,
    # at a fraction of the cost on 100k files.
    root = os.fspath(base.resolve())
    for start in range(0, len(paths), 4096):
        for rel, state in zip(paths[start:start + 4096], known.rows(start, start + 4096)):
            if state[0] >= 0:  # size -1: the stat failed, and read_item reports the file
                keys[rel] = cache_mod.entry_key(os.path.join(root, rel), rel, state, max_file_bytes)
    return cache, keys


def _cached(cache: cache_mod.ParseCache, keys: dict[str, str], shared: Shared) -> dict[str, Result]:
    by_key = {key: rel for rel, key in keys.items()}
    hits: dict[str, Result] = {}
    refs: dict = {}  # related entries decoded so far, by their stored form: one object for each
    for key, payload in cache.iter_many(list(by_key)):  # decoded as read: one batch of payloads in memory
        try:  # each related entry built is made the load's one object of its value (shared)
            hits[by_key[key]] = cache_mod.decode(payload, refs, shared)
        except (ValueError, TypeError, KeyError, IndexError, UnicodeDecodeError, RecursionError):
            continue  # corrupt entry: parse the file again
    return hits


class _CacheWriter:
    """Parse-cache payloads written as they arrive, ``_PUT_BATCH`` to a transaction: memory
    holds one batch of payloads, not every payload of the run, and the writes overlap the
    parsing."""

    def __init__(self, cache: cache_mod.ParseCache, keys: dict[str, str]) -> None:
        self.cache, self.keys, self.pending = cache, keys, []

    def add(self, rel: str, payload: bytes) -> None:
        if rel in self.keys:
            self.pending.append((self.keys[rel], payload))
            if len(self.pending) >= _PUT_BATCH:
                self.flush()

    def flush(self) -> None:
        self.cache.put_many(self.pending)
        self.pending = []


def _parse_all(folder: FolderSource, todo: list[str], jobs: int, tick: Tick,
               writer: _CacheWriter | None, shared: Shared) -> dict[str, Result]:
    """Each path's Result. With a ``writer``, each lasting result's parse-cache payload is
    made where it is parsed (in the workers, not in the parent that gathers every result)
    and handed to the writer as its batch arrives."""
    jobs = jobs or os.cpu_count() or 1
    read = functools.partial(_read_batch, folder, writer is not None)
    chunks = [todo[i : i + _BATCH] for i in range(0, len(todo), _BATCH)]
    if jobs == 1 or len(todo) < _PARALLEL_MIN:
        return _gathered(chunks, map(read, chunks), writer, tick, shared)
    # fork: workers inherit the imported parser instead of importing it again
    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else None
    with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context(method)) as pool:
        return _gathered(chunks, pool.map(read, chunks), writer, tick, shared)


def _gathered(chunks: list[list[str]], found_batches, writer: _CacheWriter | None, tick: Tick,
              shared: Shared) -> dict[str, Result]:
    """The results of each batch, in order, their payloads handed to ``writer`` on arrival."""
    done: dict[str, Result] = {}
    for chunk, found in zip(chunks, found_batches):
        for rel, (result, payload) in zip(chunk, found):
            done[rel] = _sharing(result, shared)
            if writer is not None and payload is not None:
                writer.add(rel, payload)
        tick(len(chunk))
    return done


def _read_batch(folder: FolderSource, encode: bool, batch: list[str]) -> list[tuple[Result, bytes | None]]:
    results = folder.read_batch(batch)
    return [(r, cache_mod.encode(*r) if encode and _lasting(r[0]) else None) for r in results]
