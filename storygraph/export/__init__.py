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
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import ExportError
from ..io import write_atomic
from ..runtime import without_gc
from .sections import Piece, encoded, flatten, write_pieces

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


def _renderer(format: str) -> Callable[["Clustering"], Iterable[Piece]]:
    """Each format is a generator of text pieces, so a large graph is never held as one
    string; some pieces are sections that another process may render (sections.py)."""
    if format == "json":
        from .jsondoc import json_pieces
        return json_pieces
    if format == "graphml":
        from .graphml import graphml_pieces
        return graphml_pieces
    if format == "html":
        from .html import html_bytes
        return lambda result: [html_bytes(result).decode("utf-8")]
    from .gexf import gexf_pieces
    return gexf_pieces


def render(result: "Clustering", format: str) -> bytes:
    """The bytes of ``result`` in ``format``."""
    return b"".join(encoded(flatten(_renderer(format_for("", format))(result))))


@without_gc
def write(result: "Clustering", path: str | os.PathLike, format: str | None = None, *, jobs: int = 0) -> None:
    """Write ``result`` to ``path`` in ``format`` (default: from the extension; ``-`` is
    stdout, JSON by default), streaming, through a temporary file renamed into place.

    ``jobs`` (0 = one per core, 1 = this process only) lets a large graph's nodes and
    edges be formatted side by side in a forked process; the bytes are the same. A host
    process with threads of its own (a web server) may prefer ``jobs=1``, as for ``cluster``.

    >>> storygraph.write(storygraph.cluster("fixtures/content"), "stories.gexf")  # doctest: +SKIP

    Raises :class:`~storygraph.errors.ExportError` for an unknown format or an unwritable path.
    """
    fmt = format_for(path, format)
    pieces = _renderer(fmt)(result)
    workers = jobs or os.cpu_count() or 1
    if str(path) == "-":
        write_pieces(sys.stdout.buffer, pieces, workers=workers)
        sys.stdout.buffer.flush()
    else:
        scratch = Path(path).parent  # the worker's bytes wait on the output's own disk
        write_atomic(Path(path), lambda handle: write_pieces(handle, pieces, workers=workers, scratch=scratch))
