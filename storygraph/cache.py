"""Parse cache: a file's Article (or Skipped) is reused while its size and mtime are unchanged.

Entries live in one SQLite database under the cache folder (``--cache-dir``,
else ``$STORYGRAPH_CACHE_DIR``, else the user's cache directory), keyed by a
hash of (absolute path, size, mtime in ns, parser version, size limit). Each key starts with the
file's absolute path, so the files of a folder, parsed in the walk's order, are inserted nearly in
key order (the walk lists a folder's files before its subfolders, and "b/" before "b-c/"): SQLite
appends to a few places of its key index instead of touching a random page of it per entry (at
a million entries that took 2.6x the CPU). SQLite makes it safe for two runs to share a
cache. Payloads are JSON, never pickle: an entry that fails to decode or validate is treated as
a miss and re-parsed, so a corrupt or tampered cache can cost time but never change a result or
run code. If the cache cannot be opened or written, the run goes on without it.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import sqlite3
import sys
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

from . import fastjson
from ._version import __version__
from .model import Article, Notice, RelatedRef, Skipped

__all__ = ["ParseCache", "default_cache_dir", "entry_key", "encode", "decode", "parse_when", "TRANSIENT"]

#: Bump when Article/Skipped/Notice, the parsing rules or the keys change meaning
#: (4: keys start with the path; 5: a quoted date-like scalar is text with yaml-rs too).
FORMAT = 5
_BATCH = 500
_PAGE_SIZE = 65536  # SQLite's largest


def default_cache_dir() -> Path:
    """``$STORYGRAPH_CACHE_DIR`` if set, else the platform's user cache folder for storygraph."""
    env = os.environ.get("STORYGRAPH_CACHE_DIR")
    if env:
        return Path(env)
    try:
        from platformdirs import user_cache_dir
    except ImportError:  # pragma: no cover - platformdirs is a dependency
        return Path.home() / ".cache" / "storygraph"
    return Path(user_cache_dir("storygraph", appauthor=False))


#: Results that depend on the moment, not on the file's content: never cached.
TRANSIENT = frozenset({"unreadable", "vanished", "broken-link", "not-a-file"})


def entry_key(path: str | os.PathLike, rel: str, state: tuple[int, int, int, int], max_file_bytes: int) -> str:
    """Cache key for one file state: ``state`` is (size, mtime_ns, inode, ctime_ns).

    ``rel`` is in the key because entries store paths relative to the content
    root. Inode and ctime are in it as well as size and mtime: ``cp -p``,
    ``rsync -t`` and ``tar x`` can rewrite a file keeping size and mtime, but
    they cannot set ctime back.

    The key is ``path`` (for the order of the key index: see the module's docstring) followed
    by a hash of all of that, which alone tells entries apart; a path that cannot be stored as
    text (a lone surrogate from an undecodable file name) is written with U+FFFD characters in
    its place.
    """
    size, mtime_ns, inode, ctime_ns = state  # a FileStates row
    raw = (
        f"{path}\0{rel}\0{size}\0{mtime_ns}\0{inode}\0{ctime_ns}"
        f"\0{max_file_bytes}\0{__version__}\0{FORMAT}"
    ).encode("utf-8", "surrogatepass")
    head = os.fspath(path)
    if not head.isascii():
        head = head.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
    return f"{head} {hashlib.sha1(raw).hexdigest()}"


class ParseCache:
    """Read and write parse results in batches. Every method swallows SQLite errors."""

    def __init__(self, folder: Path, name: str = f"parse-v{FORMAT}", label: str = "parse cache") -> None:
        """Open (or make) ``folder/name.sqlite``; another ``name`` is another store of the same
        kind, ``label`` its name in messages (:mod:`storygraph.solvecache` keeps its entries in
        ``solved-v*.sqlite``)."""
        self.folder = Path(folder)
        self.db: sqlite3.Connection | None = None
        self.error: str | None = None
        self.notice: str | None = None  # said once, when a damaged file was set aside
        self.path = path = self.folder / f"{name}.sqlite"
        self.label = label
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            self.db = self._connect(path)
        except sqlite3.DatabaseError as exc:  # not a database, or a damaged one: set it aside, start anew
            aside = self._set_aside(path)
            self.notice = f"{label} {path} was damaged ({exc}); set aside as {aside.name} and rebuilt"
            try:
                self.db = self._connect(path)
            except (sqlite3.Error, OSError) as again:
                self._fail(again)
        except (sqlite3.Error, OSError) as exc:
            self._fail(exc)

    @staticmethod
    def _connect(path: Path) -> sqlite3.Connection:
        db = sqlite3.connect(path, timeout=30)
        try:
            # Pages of 64 KiB hold about twenty 2.7 KB payloads each where 4 KiB pages hold one: at
            # 100k files the inserts took 2.6 s (1.2 s of CPU) against 5.5 s (3.4 s), the reads
            # 0.5 against 0.8 s. The size is fixed when the first page is written, which the WAL
            # switch does on a new file, and a WAL file never changes it: so it comes first, and
            # an older cache keeps its 4 KiB pages (and its entries).
            db.execute(f"PRAGMA page_size={_PAGE_SIZE}")
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("CREATE TABLE IF NOT EXISTS entries (key TEXT PRIMARY KEY, payload BLOB NOT NULL)")
            db.execute("SELECT key FROM entries LIMIT 1").fetchall()  # a damaged file fails here, not later
            db.commit()
        except BaseException:
            db.close()
            raise
        return db

    @staticmethod
    def _set_aside(path: Path) -> Path:
        """Rename a damaged cache file (and its WAL files) out of the way; later runs never see it."""
        stamp = time.strftime("%Y%m%dT%H%M%S")
        aside = path.with_name(f"{path.name}.damaged-{stamp}-{os.getpid()}")
        for suffix in ("", "-wal", "-shm"):
            with contextlib.suppress(OSError):
                os.replace(str(path) + suffix, str(aside) + suffix)
        return aside

    def _fail(self, exc: Exception) -> None:
        self.error = f"{self.label} in {self.folder} disabled: {exc}"
        if self.db is not None:
            try:
                self.db.close()
            except sqlite3.Error:
                pass
        self.db = None
        # a damaged file (not a lock or a full disk) is set aside, so the next run rebuilds it
        if isinstance(exc, sqlite3.DatabaseError) and not isinstance(exc, sqlite3.OperationalError):
            aside = self._set_aside(self.path)
            self.error += f"; the damaged file is set aside as {aside.name} and the next run rebuilds it"

    def iter_many(self, keys: list[str]) -> Iterator[tuple[str, bytes]]:
        """``(key, payload)`` of the ``keys`` found, ``_BATCH`` at a time: a caller that decodes
        as it goes holds one batch of payloads, not the payloads of a whole corpus."""
        if self.db is None:
            return
        try:
            for start in range(0, len(keys), _BATCH):
                chunk = keys[start : start + _BATCH]
                marks = ",".join("?" * len(chunk))
                rows = self.db.execute(f"SELECT key, payload FROM entries WHERE key IN ({marks})", chunk).fetchall()
                yield from ((k, bytes(p)) for k, p in rows)
        except sqlite3.Error as exc:
            self._fail(exc)

    def put_many(self, items: list[tuple[str, bytes]]) -> None:
        if self.db is None or not items:
            return
        try:
            with self.db:
                self.db.executemany("INSERT OR REPLACE INTO entries (key, payload) VALUES (?, ?)", items)
        except sqlite3.Error as exc:
            self._fail(exc)

    def count(self, prefix: str = "") -> int:
        """How many entries the cache holds whose key starts with ``prefix`` (0 when it is unusable)."""
        if self.db is None:
            return 0
        try:
            query = "SELECT count(*) FROM entries WHERE substr(key, 1, ?) = ?"  # a scan: for `cache info`
            return int(self.db.execute(query, (len(prefix), prefix)).fetchone()[0])
        except sqlite3.Error as exc:
            self._fail(exc)
            return 0

    def close(self) -> None:
        if self.db is not None:
            self.db.close()
            self.db = None


def encode(item: Article | Skipped, notices: list[Notice]) -> bytes:
    """JSON payload for one parse result."""
    if isinstance(item, Skipped):
        body: dict = {"skipped": [item.file, item.code, item.reason]}
    else:
        body = {"article": _article_dict(item)}
    body["notices"] = [[n.file, n.field, n.message] for n in notices]
    return fastjson.dumps(body)  # no floats in it: orjson's bytes are json's


def decode(payload: bytes, refs: dict | None = None,
           share: Callable[[RelatedRef], RelatedRef] | None = None) -> tuple[Article | Skipped, list[Notice]]:
    """Inverse of :func:`encode`. Raises ValueError/TypeError/KeyError/IndexError on anything malformed.

    ``refs`` (one dict for the payloads of one load, or None) remembers each related entry by its
    stored form: an entry stored again, as the coverage of a story is in each of its items, is
    the one object checked and built the first time. Pass a new dict per load; it holds at most
    :data:`_REFS_LIMIT` entries. ``share``, if given, is applied to each entry built (not to one
    remembered), e.g. to put in its place the one object of its value that the load keeps.
    """
    body = fastjson.loads(payload)
    notices = [Notice(*_strs(n, 3)) for n in body["notices"]]
    if "skipped" in body:
        return Skipped(*_strs(body["skipped"], 3)), notices
    return _article(body["article"], {} if refs is None else refs, share), notices


def _strs(values: list, n: int) -> list[str]:
    if len(values) != n or not all(isinstance(v, str) for v in values):
        raise ValueError("malformed cache entry")
    return values


def _when(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def parse_when(value: str | None) -> datetime | None:
    """The datetime a stored ``isoformat()`` text names (None for None); ValueError if it is none."""
    return datetime.fromisoformat(value) if value is not None else None


def _article_dict(a: Article) -> dict:
    return {
        "file": a.file, "url": a.url, "title": a.title, "excerpt": a.excerpt, "published": _when(a.published),
        "provider": a.provider, "domain": a.domain, "topics": list(a.topics), "type": a.type,
        "quality": a.quality, "alt_urls": list(a.alt_urls), "key": a.key, "alt_keys": list(a.alt_keys),
        "related": [
            [r.url, r.title, r.excerpt, _when(r.published), r.provider, r.domain, r.type, r.quality, r.key]
            for r in a.related
        ],
    }


#: Related entries one load's ``refs`` remembers (on synthetic 100k, 167k of the 384k stored
#: entries are distinct, and a story's items, which repeat them, are near each other in the key
#: order the load reads in: at this bound it builds under 1% more entries than unbounded).
_REFS_LIMIT = 1 << 16
_TEXT = frozenset({str})
_QUALITY = frozenset({int, type(None)})  # exactly: True and 1.0 are not a stored quality


def _article(d: dict, refs: dict, share: Callable[[RelatedRef], RelatedRef] | None) -> Article:
    # labels interned, as when parsed (fields.to_article): one string per publisher, not per entry;
    # sys.intern refuses a non-string, which makes the entry malformed (parsed again)
    related = tuple([_related_ref(r, refs, share) for r in d["related"]])
    article = Article(
        file=d["file"], url=d["url"], title=d["title"], excerpt=d["excerpt"], published=parse_when(d["published"]),
        provider=sys.intern(d["provider"]), domain=sys.intern(d["domain"]), topics=tuple(map(sys.intern, d["topics"])),
        type=sys.intern(d["type"]), quality=d["quality"], alt_urls=tuple(d["alt_urls"]), related=related, key=d["key"],
        alt_keys=tuple(d["alt_keys"]),
    )
    _check_types([article.file, article.url, article.title, article.excerpt, article.provider, article.domain,
                  article.type, article.key, *article.topics, *article.alt_urls, *article.alt_keys], article.quality)
    return article


def _related_ref(r: list, refs: dict, share: Callable[[RelatedRef], RelatedRef] | None) -> RelatedRef:
    # Checked before the lookup: the length (encode writes nine fields, and a tenth would go
    # unchecked) and the quality's type (True and 1.0 equal 1, so a stored form holding them
    # would find the entry checked with 1). The other fields of a remembered form were checked
    # to be strings (the date a string or None), which only an equal string (or None) equals.
    if len(r) != 9:
        raise ValueError("malformed cache entry")
    if r[7].__class__ not in _QUALITY:
        raise TypeError("malformed cache entry")
    form = tuple(r)
    ref = refs.get(form)  # unhashable (a list or mapping inside): TypeError, a malformed entry
    if ref is None:
        if not _TEXT.issuperset(map(type, (r[0], r[1], r[2], r[8]))):  # 4-6: sys.intern takes only a str
            raise TypeError("malformed cache entry")
        ref = RelatedRef(url=r[0], title=r[1], excerpt=r[2], published=parse_when(r[3]), provider=sys.intern(r[4]),
                         domain=sys.intern(r[5]), type=sys.intern(r[6]), quality=r[7], key=r[8])
        if share is not None:
            ref = share(ref)
        if len(refs) >= _REFS_LIMIT:
            refs.clear()
        refs[form] = ref
    return ref


def _check_types(texts: list, quality: object) -> None:
    if not _TEXT.issuperset(map(type, texts)):  # exactly str: JSON makes no subclass
        raise TypeError("malformed cache entry")
    if quality.__class__ not in _QUALITY:
        raise TypeError("malformed cache entry")
