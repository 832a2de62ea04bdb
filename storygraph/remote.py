"""Content at an fsspec URL (``s3://bucket/content/``, ``gs://...``).

A ``file://`` URL is read as the local folder it names (:func:`local_path`).
Other folders are listed once and each ``.md`` file is read and parsed exactly as a
local file would be (:func:`storygraph.load.parse_item`), so a URL and the same
files on disk give the same result. Reading needs ``fsspec`` (in the ``dask``
extra) and the filesystem's own package (``s3fs``, ``gcsfs``, ...); the parse
cache is not used for URLs. A :class:`Root` holds only the URL, so it can be sent
to Dask workers, which open the filesystem themselves.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from urllib.parse import urlparse
from urllib.request import url2pathname
from dataclasses import dataclass
from typing import Any

from .errors import DependencyError, InputError
from .model import Article, Notice, Skipped

__all__ = ["is_url", "local_path", "Root", "read_item", "read_batch", "read_items"]

_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]+://")  # two letters at least: C:\ is a Windows path


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


@dataclass(frozen=True)
class Root:
    """A content folder at a URL."""

    url: str

    @classmethod
    def open(cls, url: str) -> "Root":
        """Check that ``url`` is a readable folder; raises :class:`InputError` naming it if not."""
        root = cls(url)
        try:
            fs, path = root.filesystem()
            is_dir = fs.isdir(path)
        except (InputError, DependencyError):
            raise
        except Exception as exc:  # each filesystem raises its own types (credentials, network, ...)
            raise InputError(f"{url}: cannot open: {exc}") from None
        if not is_dir:
            raise InputError(f"{url}: not a folder of news items")
        return root

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

    def collect(self) -> tuple[list[str], int]:
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

    def full(self, rel: str) -> str:
        return self.filesystem()[1].rstrip("/") + "/" + rel


def _walk_order(rel: str) -> list[tuple[int, str]]:
    # os.walk order in load.iter_markdown: a folder's files (sorted) before its subfolders (sorted)
    *folders, name = rel.split("/")
    return [(1, folder) for folder in folders] + [(0, name)]


def read_item(root: Root, rel: str, max_file_bytes: int) -> tuple[Article | Skipped, list[Notice]]:
    """Read and parse one file under ``root``. Never raises for a problem with the file itself."""
    from .load import parse_item

    fs, _ = root.filesystem()
    full = root.full(rel)
    try:
        size = fs.size(full)
        if size is not None and size > max_file_bytes:
            return Skipped(rel, "too-large", f"file is {size} bytes, over the limit of {max_file_bytes}"), []
        data = fs.cat_file(full, start=0, end=max_file_bytes + 1)
    except FileNotFoundError:
        return Skipped(rel, "vanished", "file disappeared while the run was reading the folder"), []
    except (OSError, ValueError) as exc:
        return Skipped(rel, "unreadable", f"cannot be read: {exc}"), []
    if len(data) > max_file_bytes:  # the listing's size was stale or missing
        return Skipped(rel, "too-large", f"file is over the limit of {max_file_bytes} bytes"), []
    return parse_item(data, rel)


def read_batch(root: Root, rels: list[str], max_file_bytes: int) -> list[tuple]:
    """:func:`read_item` for each of ``rels`` (one task on a Dask worker)."""
    return [read_item(root, rel, max_file_bytes) for rel in rels]


def read_items(root: Root, paths: list[str], max_file_bytes: int, tick: Callable[[int], None]) -> dict[str, tuple]:
    """Read every path in this process (remote reads wait on the network, not the CPU)."""
    done = {}
    for rel in paths:
        done[rel] = read_item(root, rel, max_file_bytes)
        tick(1)
    return done
