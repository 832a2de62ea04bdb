"""The input seam: :func:`open_source` turns ``content`` into a :class:`Source`.

A source knows its ``paths`` (the names of its items, in output order) and reads any
batch of them with ``read_batch(batch)``, one ``(Article | Skipped, notices)`` per
path. The engines (:mod:`storygraph.load` on this machine, :mod:`storygraph.dask_engine`
on a cluster) only map ``read_batch`` over batches, so every kind of input is read the
same way everywhere. Kinds, tried in :data:`SOURCES` order:

- :class:`~storygraph.remote.UrlSource`: a folder at an fsspec URL (``s3://...``);
  a ``file://`` URL is first turned into its local path;
- :class:`~storygraph.jsonl.JsonlSource`: a ``.jsonl`` / ``.ndjson`` file;
- :class:`~storygraph.folder.FolderSource`: a local folder of ``.md`` files.

A new kind of input is a module with a class like these and one line in :data:`SOURCES`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Protocol

from .folder import FolderSource
from .jsonl import JsonlSource
from .model import Article, Notice, Skipped
from .remote import UrlSource, is_url, local_path

__all__ = ["Source", "Result", "SOURCES", "open_source", "batches"]

#: What reading one item gives: the item, or why it was skipped, and notices about it.
Result = tuple[Article | Skipped, list[Notice]]


class Source(Protocol):
    """An opened input. Picklable (a Dask task carries it), cheaply: without its listing."""

    #: ``folder``, ``jsonl`` or ``url``: the load result records it (the CLI says "files" or "items").
    kind: str
    #: The items, in the order the output lists them; ``read_batch`` takes any of them.
    paths: list[str]
    #: Entries that are not items (files that are not ``.md``, blank lines), counted in the output.
    ignored: int
    #: False when the items must be read in one ``read_batch(paths)`` call in the calling
    #: process (a JSON Lines id must be unique across the file).
    splittable: bool

    def read_batch(self, batch: Sequence[str]) -> list[Result]:
        """One result per path of ``batch``, in order. Never raises for a problem with an item."""
        ...


#: Input kinds in the order they are tried: the first whose ``accepts(content)`` is true opens it.
SOURCES: tuple = (UrlSource, JsonlSource, FolderSource)


def open_source(content: "str | os.PathLike | Source", max_file_bytes: int) -> Source:
    """Open ``content``: a folder, a JSON Lines file, or a folder's fsspec URL (a source
    already open is returned as it is: the CLI lists a folder once for the run record and
    the run).

    Items larger than ``max_file_bytes`` (files, lines) will be skipped unread.
    Raises :class:`~storygraph.errors.InputError` naming ``content`` when it cannot be
    used (missing, not a folder, unreadable, an unreachable URL).
    """
    if isinstance(content, SOURCES):
        return content
    if is_url(content):
        content = local_path(str(content)) or content  # file:// is a local folder (FIFOs, the cache)
    kind = next(kind for kind in SOURCES if kind.accepts(content))
    return kind.open(content, max_file_bytes)


def batches(source: Source, size: int) -> list[list[str]]:
    """The batches an engine maps ``read_batch`` over: ``size`` paths each, or all the
    paths in one batch for a source that is not ``splittable``."""
    if not source.splittable:
        return [source.paths] if source.paths else []
    return [source.paths[i:i + size] for i in range(0, len(source.paths), size)]
