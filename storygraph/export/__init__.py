"""Export stage: JSON, GraphML, GEXF and the HTML report, written atomically.

:func:`write` (``storygraph.write``) is the API: a function of the result, which it
never changes. It picks the format from ``format`` or the file extension and writes
through a temporary file in the target folder, renamed into place only when
complete, so an interrupted run leaves the previous output whole. ``-`` writes
to standard output (JSON unless ``format`` says otherwise).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import ExportError
from ..io import encode, write_atomic
from ..runtime import without_gc

if TYPE_CHECKING:
    from ..model import Clustering

__all__ = ["FORMATS", "EXTENSIONS", "format_for", "render", "write"]

#: Format name -> file extensions that select it.
EXTENSIONS = {"json": (".json",), "graphml": (".graphml",), "gexf": (".gexf",), "html": (".html", ".htm")}
FORMATS = tuple(EXTENSIONS)


def format_for(path: str | os.PathLike, format: str | None = None) -> str:
    """The output format: ``format`` if given, else from the extension of ``path``."""
    if format:
        if format not in EXTENSIONS:
            raise ExportError(f"unknown format {format!r}: use one of {', '.join(FORMATS)}")
        return format
    if str(path) == "-":
        return "json"  # the default format: `storygraph cluster content/ -o - | jq` is what people type
    suffix = Path(path).suffix.lower()
    for name, suffixes in EXTENSIONS.items():
        if suffix in suffixes:
            return name
    raise ExportError(f"{path}: cannot tell the format from the extension {suffix!r}; use --format")


def _renderer(format: str) -> Callable[["Clustering"], Iterable[str]]:
    """Each format is a generator of text pieces, so a large graph is never held as one string."""
    if format == "json":
        from .jsondoc import json_chunks
        return json_chunks
    if format == "graphml":
        from .graphml import graphml_chunks
        return graphml_chunks
    if format == "html":
        from .html import html_bytes
        return lambda result: [html_bytes(result).decode("utf-8")]
    from .gexf import gexf_chunks
    return gexf_chunks


def render(result: "Clustering", format: str) -> bytes:
    """The bytes of ``result`` in ``format``."""
    return b"".join(_encoded(_renderer(format_for("", format))(result)))


@without_gc
def write(result: "Clustering", path: str | os.PathLike, format: str | None = None) -> None:
    """Write ``result`` to ``path`` in ``format`` (default: from the extension; ``-`` is
    stdout, JSON by default), streaming, through a temporary file renamed into place.

    >>> storygraph.write(storygraph.cluster("fixtures/content"), "stories.gexf")  # doctest: +SKIP

    Raises :class:`~storygraph.errors.ExportError` for an unknown format or an unwritable path.
    """
    fmt = format_for(path, format)
    chunks = _encoded(_renderer(fmt)(result))
    if str(path) == "-":
        for chunk in chunks:
            sys.stdout.buffer.write(chunk)
        sys.stdout.buffer.flush()
    else:
        write_atomic(Path(path), chunks)


def _encoded(chunks: Iterable[str], size: int = 1 << 20) -> Iterator[bytes]:
    """UTF-8 bytes in blocks of about ``size`` characters (few write calls, bounded memory)."""
    batch: list[str] = []
    held = 0
    for chunk in chunks:
        batch.append(chunk)
        held += len(chunk)
        if held >= size:
            yield encode("".join(batch))
            batch, held = [], 0
    if batch:
        yield encode("".join(batch))
