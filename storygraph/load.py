"""Load stage: a content folder (or a JSON Lines file) to Articles and Skipped items.

Every ``.md`` file under the root ends in exactly one of ``articles`` or
``skipped`` (with a reason); other files are counted in ``ignored``. Folders are
walked in sorted order, following symlinks but never entering a folder twice
(symlink loops end there). :func:`read_item` is a pure function of one path:
results come from the parse cache (:mod:`storygraph.cache`) when the file is
unchanged, otherwise files are parsed in parallel worker processes. Either way
the result is the same list, in sorted path order.

JSON Lines input (``items.jsonl``): one object a line with the front-matter
fields; ``id`` names the item (and stands in for the URL when there is none),
``text`` stands in for an empty ``excerpt``.
"""

from __future__ import annotations

import dataclasses
import json
import multiprocessing
import os
import stat
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from . import cache as cache_mod
from .errors import InputError
from .fields import FieldProblem, to_article
from .model import Article, LoadResult, Notice, Skipped
from .options import ClusterOptions
from .parse import ParseProblem, front_matter
from .text import clean_title
from .urls import canonical_url

__all__ = ["load", "load_content", "collect", "read_files", "assemble", "iter_markdown", "read_item", "parse_item",
           "read_jsonl"]

Tick = Callable[[int], None]
Bar = Callable[[str, int], AbstractContextManager[Tick]]  # a progress bar: see pipeline.Progress
JSONL_SUFFIXES = (".jsonl", ".ndjson")
_PARALLEL_MIN = 256  # below this, starting worker processes costs more than it saves
_BATCH = 64


def load(source: str | os.PathLike, options: ClusterOptions, bar: Bar) -> LoadResult:
    """Load a folder of ``.md`` files or a ``.jsonl`` file, as ``options`` say.

    ``source`` may also be a folder's URL: ``file:///data/content`` is read as that
    path, other schemes (``s3://bucket/content/``) through fsspec, see :mod:`storygraph.remote`.
    """
    from . import remote

    if remote.is_url(source) and remote.local_path(str(source)) is not None:
        source = remote.local_path(str(source))  # type: ignore[assignment]
    if remote.is_url(source):
        root = remote.Root.open(str(source))
        paths, ignored = root.collect()
        with bar("load", len(paths)) as tick:
            return assemble(paths, ignored, remote.read_items(root, paths, options.max_file_bytes, tick))
    path = Path(source)
    if path.is_file() and path.suffix.lower() in JSONL_SUFFIXES:
        with bar("load", 0) as tick:
            return read_jsonl(path, options.max_file_bytes, tick)
    base, paths, ignored = collect(path)
    with bar("load", len(paths)) as tick:
        return read_files(base, paths, ignored, options, tick)


def load_content(root: str | os.PathLike, max_file_bytes: int, tick: Tick | None = None) -> LoadResult:
    """Load every ``.md`` file under ``root`` in this process, without the cache."""
    base, paths, ignored = collect(root)
    options = ClusterOptions(max_file_bytes=max_file_bytes, jobs=1, use_cache=False)
    return read_files(base, paths, ignored, options, tick)


def collect(root: str | os.PathLike) -> tuple[Path, list[str], int]:
    """Return (root, sorted relative paths of ``.md`` files, count of other files).

    Raises :class:`~storygraph.errors.InputError` when ``root`` is not a folder.
    """
    base = Path(root)
    if not base.is_dir():
        raise InputError(f"{root}: not a folder of news items (nor a .jsonl file)")
    paths: list[str] = []
    ignored = 0
    for rel, is_md in iter_markdown(base):
        if is_md:
            paths.append(rel)
        else:
            ignored += 1
    return base, paths, ignored


def iter_markdown(base: Path) -> Iterator[tuple[str, bool]]:
    """Yield ``(relative posix path, is_markdown)`` for every file under ``base``, sorted."""
    seen: set[tuple[int, int]] = set()
    for dirpath, dirnames, filenames in os.walk(base, followlinks=True):
        try:
            st = os.stat(dirpath)
        except OSError:
            dirnames[:] = []
            continue
        if (st.st_dev, st.st_ino) in seen:  # a symlink back into the tree
            dirnames[:] = []
            continue
        seen.add((st.st_dev, st.st_ino))
        dirnames.sort()
        rel_dir = Path(dirpath).relative_to(base)
        for name in sorted(filenames):
            yield (rel_dir / name).as_posix(), name.lower().endswith(".md")


def read_files(
    base: Path, paths: list[str], ignored: int, options: ClusterOptions, tick: Tick | None = None
) -> LoadResult:
    """Read each of ``paths`` (relative to ``base``) into an Article or a Skipped."""
    tick = tick or (lambda n: None)
    results: dict[str, tuple[Article | Skipped, list[Notice]]] = {}
    cache, keys = _open_cache(base, paths, options)
    try:
        if cache is not None:
            results.update(_cached(cache, keys))
            tick(len(results))
        todo = [rel for rel in paths if rel not in results]
        fresh = _parse_all(base, todo, options, tick)
        results.update(fresh)
        if cache is not None:
            cache.put_many([(keys[rel], cache_mod.encode(*fresh[rel])) for rel in todo if rel in keys and _lasting(fresh[rel][0])])
    finally:
        if cache is not None:
            cache.close()
    out = assemble(paths, ignored, results)
    if cache is not None and cache.error:
        out.notices.append(Notice("", "cache", cache.error))
    return out


def assemble(paths: list[str], ignored: int, results: dict[str, tuple]) -> LoadResult:
    """The LoadResult of ``paths`` in order, from ``results[rel] = (Article | Skipped, notices)``."""
    out = LoadResult(ignored=ignored, inputs=len(paths))
    for rel in paths:
        item, notices = results[rel]
        (out.articles if isinstance(item, Article) else out.skipped).append(item)
        out.notices.extend(notices)
    return out


def _lasting(item: Article | Skipped) -> bool:
    """Whether a result depends only on the file's content (so it may be cached)."""
    return not (isinstance(item, Skipped) and item.code in cache_mod.TRANSIENT)


def _open_cache(base: Path, paths: list[str], options: ClusterOptions):
    if not options.use_cache or not paths:
        return None, {}
    cache = cache_mod.ParseCache(Path(options.cache_dir) if options.cache_dir else cache_mod.default_cache_dir())
    if cache.db is None:
        return None, {}
    keys: dict[str, str] = {}
    root = base.resolve()
    for rel in paths:
        try:
            st = os.stat(base / rel)
        except OSError:
            continue  # read_item reports it
        keys[rel] = cache_mod.entry_key(root / rel, rel, st, options.max_file_bytes)
    return cache, keys


def _cached(cache: cache_mod.ParseCache, keys: dict[str, str]) -> dict[str, tuple]:
    by_key = {key: rel for rel, key in keys.items()}
    hits: dict[str, tuple] = {}
    for key, payload in cache.get_many(list(by_key)).items():
        try:
            hits[by_key[key]] = cache_mod.decode(payload)
        except (ValueError, TypeError, KeyError, IndexError, UnicodeDecodeError):
            continue  # corrupt entry: parse the file again
    return hits


def _parse_all(base: Path, todo: list[str], options: ClusterOptions, tick: Tick) -> dict[str, tuple]:
    jobs = options.jobs or os.cpu_count() or 1
    done: dict[str, tuple] = {}
    if jobs == 1 or len(todo) < _PARALLEL_MIN:
        for rel in todo:
            done[rel] = read_item(base, rel, options.max_file_bytes)
            tick(1)
        return done
    batches = [todo[i : i + _BATCH] for i in range(0, len(todo), _BATCH)]
    # fork: workers inherit the imported parser instead of importing it again
    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else None
    with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context(method)) as pool:
        for batch, results in zip(batches, pool.map(read_batch, [(base, b, options.max_file_bytes) for b in batches])):
            done.update(zip(batch, results))
            tick(len(batch))
    return done


def read_batch(args: tuple[Path, list[str], int]) -> list[tuple]:
    base, rels, max_file_bytes = args
    return [read_item(base, rel, max_file_bytes) for rel in rels]


def read_item(base: Path, rel: str, max_file_bytes: int) -> tuple[Article | Skipped, list[Notice]]:
    """Read and normalise one file. Never raises for a problem with the file itself."""
    path = base / rel
    try:
        # O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer for ever.
        # Type and size are checked on the open file, so a swap after a stat cannot fool them.
        with open(os.open(path, os.O_RDONLY | os.O_NONBLOCK), "rb") as handle:
            info = os.fstat(handle.fileno())
            if not stat.S_ISREG(info.st_mode):
                return Skipped(rel, "not-a-file", "not a regular file (a FIFO, socket or device)"), []
            if info.st_size > max_file_bytes:
                size = info.st_size
                return Skipped(rel, "too-large", f"file is {size} bytes, over the limit of {max_file_bytes}"), []
            data = handle.read(max_file_bytes + 1)
    except FileNotFoundError:
        if path.is_symlink():
            return Skipped(rel, "broken-link", "symbolic link to a file that does not exist"), []
        return Skipped(rel, "vanished", "file disappeared while the run was reading the folder"), []
    except IsADirectoryError:
        return Skipped(rel, "not-a-file", "not a regular file"), []
    except OSError as exc:
        return Skipped(rel, "unreadable", f"cannot be read: {exc.strerror or exc}"), []
    return parse_item(data, rel)


def parse_item(data: bytes, rel: str) -> tuple[Article | Skipped, list[Notice]]:
    """Parse the bytes of the file ``rel``. Never raises for a problem with the content."""
    try:
        article, notices = to_article(front_matter(data), rel)
    except (ParseProblem, FieldProblem) as exc:
        return Skipped(rel, exc.code, exc.reason), []
    return with_keys(article), notices


def with_keys(article: Article) -> Article:
    """Fill in canonical keys here, once per file, so the cache and workers carry them."""
    related = tuple(dataclasses.replace(r, key=canonical_url(r.url)) for r in article.related)
    return dataclasses.replace(
        article,
        key=canonical_url(article.url) if article.url else f"id:{article.file}",
        alt_keys=tuple(canonical_url(u) for u in article.alt_urls),
        related=related,
    )


def read_jsonl(path: Path, max_line_bytes: int, tick: Tick | None = None) -> LoadResult:
    """Read a JSON Lines file of items; each non-blank line is an Article or a Skipped."""
    out = LoadResult(kind="jsonl")
    seen: set[str] = set()
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise InputError(f"{path}: cannot be read: {exc.strerror or exc}") from None
    with handle:
        for number, raw in enumerate(_bounded_lines(handle, max_line_bytes), 1):
            if not raw.strip():
                out.ignored += 1
                continue
            out.inputs += 1
            item, notices = _jsonl_item(raw, number, max_line_bytes, seen)
            (out.articles if isinstance(item, Article) else out.skipped).append(item)
            out.notices.extend(notices)
            if tick:
                tick(1)
    return out


def _bounded_lines(handle, limit: int) -> Iterator[bytes]:
    """Lines of at most ``limit + 1`` bytes: the rest of an over-long line is read and dropped
    in pieces, so one huge line cannot take the run's memory."""
    while True:
        line = handle.readline(limit + 1)
        if not line:
            return
        if len(line) > limit and not line.endswith(b"\n"):
            while (rest := handle.readline(1 << 20)) and not rest.endswith(b"\n"):
                pass
        yield line


def _jsonl_item(raw: bytes, number: int, limit: int, seen: set[str]) -> tuple[Article | Skipped, list[Notice]]:
    where = f"line {number}"
    if len(raw) > limit:
        return Skipped(where, "too-large", f"line is {len(raw)} bytes, over the limit of {limit}"), []
    try:
        obj = json.loads(raw, parse_constant=lambda name: None)  # NaN/Infinity become null
    except (ValueError, RecursionError) as exc:
        return Skipped(where, "invalid-json", f"not valid JSON: {str(exc)[:120]}"), []
    if not isinstance(obj, dict):
        return Skipped(where, "not-a-mapping", "line is not a JSON object"), []
    item_id = obj.get("id")
    # ids are cleaned like titles, so two ids that differ only in forbidden characters collide here
    given = clean_title(str(item_id)) if _is_id(item_id) else ""
    name = given or where
    if given:
        if given in seen:
            return Skipped(name, "duplicate-id", f"{where}: id {name!r} was already used"), []
        seen.add(given)
    try:
        article, notices = to_article(obj, name, id_stands_for_url=bool(given))
    except FieldProblem as exc:
        return Skipped(name, exc.code, f"{where}: {exc.reason}"), []
    return with_keys(article), notices


def _is_id(value: object) -> bool:
    return isinstance(value, (str, int)) and not isinstance(value, bool) and str(value) != ""
