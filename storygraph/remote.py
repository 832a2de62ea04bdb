"""Input source: a folder at an fsspec URL (``s3://bucket/content/``, ``gs://...``).

A ``file://`` URL is read as the local folder it names (:func:`local_path`, used by
:func:`storygraph.sources.open_source`). Other folders are listed once and each ``.md``
file is read and parsed exactly as a local file would be
(:func:`storygraph.folder.parse_markdown`), so a URL and the same files on disk give the
same result. Reading needs ``fsspec`` (in the ``dask`` extra) and the filesystem's own
package (``s3fs``, ``gcsfs``, ...); the parse cache is not used for URLs. A
:class:`UrlSource` pickles as its URL and size limit, so it can be sent to Dask
workers, which open the filesystem themselves.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlparse
from urllib.request import url2pathname

from .errors import DependencyError, InputError
from .folder import parse_markdown
from .model import Article, Notice, Skipped

__all__ = ["is_url", "local_path", "UrlSource"]

_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]+://")  # two letters at least: C:\ is a Windows path

Result = tuple[Article | Skipped, list[Notice]]


def is_url(source: object) -> bool:
    """True for ``scheme://...`` strings (what fsspec opens), False for paths."""
    return isinstance(source, str) and bool(_SCHEME.match(source))


def local_path(source: str) -> str | None:
    """The path of a ``file://`` URL (read as a local folder: symlinks, FIFOs and the
    parse cache handled as for any path), or None for other URLs."""
    parsed = urlparse(source)
    if parsed.scheme.lower() != "file" or parsed.netloc not in ("", "localhost"):
        return None
    return url2pathname(parsed.path)


class UrlSource:
    """The ``.md`` files of a folder at ``url`` (a :class:`~storygraph.sources.Source`)."""

    kind = "url"
    splittable = True

    def __init__(self, url: str, max_file_bytes: int, paths: Sequence[str] = (), ignored: int = 0) -> None:
        self.url = url
        self.max_file_bytes = max_file_bytes
        self.paths = list(paths)
        self.ignored = ignored

    @classmethod
    def accepts(cls, content: object) -> bool:
        return is_url(content)

    @classmethod
    def open(cls, url: str, max_file_bytes: int) -> "UrlSource":
        """List the folder; raises :class:`InputError` naming ``url`` if it is not a readable folder."""
        source = cls(url, max_file_bytes)
        try:
            fs, path = source.filesystem()
            is_dir = fs.isdir(path)
        except (InputError, DependencyError):
            raise
        except Exception as exc:  # each filesystem raises its own types (credentials, network, ...)
            raise InputError(f"{url}: cannot open: {exc}") from None
        if not is_dir:
            raise InputError(f"{url}: not a folder of news items")
        paths, ignored = source._listing()
        return cls(url, max_file_bytes, paths, ignored)

    def filesystem(self) -> tuple[Any, str]:
        """``(fsspec filesystem, path within it)``; fsspec caches filesystem instances."""
        try:
            from fsspec.core import url_to_fs
        except ImportError:
            raise DependencyError(f"{self.url}: reading a URL needs fsspec: pip install 'storygraph[dask]' "
                                  "(and the filesystem's package, e.g. s3fs for s3://)") from None
        try:
            return url_to_fs(self.url)
        except (ImportError, ValueError) as exc:  # unknown protocol, or its package missing
            raise InputError(f"{self.url}: {exc}") from None

    def read_batch(self, batch: Sequence[str]) -> list[Result]:
        """Read and parse each path in ``batch``, in order. Never raises for a problem with a file."""
        fs, path = self.filesystem()
        prefix = path.rstrip("/") + "/"
        return [self._read(fs, prefix + rel, rel) for rel in batch]

    def __reduce__(self):
        return (UrlSource, (self.url, self.max_file_bytes))

    def _listing(self) -> tuple[list[str], int]:
        """Relative paths of the ``.md`` files, in the order a local walk gives, and the count of other files."""
        fs, path = self.filesystem()
        prefix = path.rstrip("/") + "/"
        try:
            found = fs.find(path, withdirs=False)
        except Exception as exc:
            raise InputError(f"{self.url}: cannot list: {exc}") from None
        rels = [f[len(prefix):] for f in found if f.startswith(prefix)]
        md = sorted((r for r in rels if r.lower().endswith(".md")), key=_walk_order)
        return md, len(rels) - len(md)

    def _read(self, fs: Any, full: str, rel: str) -> Result:
        limit = self.max_file_bytes
        try:
            size = fs.size(full)
            if size is not None and size > limit:
                return Skipped(rel, "too-large", f"file is {size} bytes, over the limit of {limit}"), []
            data = fs.cat_file(full, start=0, end=limit + 1)
        except FileNotFoundError:
            return Skipped(rel, "vanished", "file disappeared while the run was reading the folder"), []
        except (OSError, ValueError) as exc:
            return Skipped(rel, "unreadable", f"cannot be read: {exc}"), []
        if len(data) > limit:  # the listing's size was stale or missing
            return Skipped(rel, "too-large", f"file is over the limit of {limit} bytes"), []
        return parse_markdown(data, rel)


def _walk_order(rel: str) -> list[tuple[int, str]]:
    # os.walk order in folder.iter_markdown: a folder's files (sorted) before its subfolders (sorted)
    *folders, name = rel.split("/")
    return [(1, folder) for folder in folders] + [(0, name)]
