"""Export stage: JSON, GraphML and GEXF, written atomically.

:func:`write` picks the format from ``format`` or the file extension and writes
through a temporary file in the target folder, renamed into place only when
complete, so an interrupted run leaves the previous output whole. ``-`` writes
to standard output (``format`` is then required).
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import ExportError

if TYPE_CHECKING:
    from ..pipeline import ClusterResult

__all__ = ["FORMATS", "EXTENSIONS", "format_for", "render", "write", "write_atomic"]

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
        raise ExportError("writing to stdout ('-o -') needs --format (json, graphml, gexf or html)")
    suffix = Path(path).suffix.lower()
    for name, suffixes in EXTENSIONS.items():
        if suffix in suffixes:
            return name
    raise ExportError(f"{path}: cannot tell the format from the extension {suffix!r}; use --format")


def _renderer(format: str) -> Callable[["ClusterResult"], bytes]:
    if format == "json":
        from .jsondoc import dumps
        return dumps
    if format == "graphml":
        from .graphml import graphml_bytes
        return graphml_bytes
    if format == "html":
        from .html import html_bytes
        return html_bytes
    from .gexf import gexf_bytes
    return gexf_bytes


def render(result: "ClusterResult", format: str) -> bytes:
    """The bytes of ``result`` in ``format``."""
    return _renderer(format_for("", format))(result)


def write(result: "ClusterResult", path: str | os.PathLike, format: str | None = None) -> None:
    """Render and write ``result`` to ``path`` (``-`` = stdout)."""
    fmt = format_for(path, format)
    data = render(result, fmt)
    if str(path) == "-":
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    else:
        write_atomic(Path(path), data)


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temporary file and ``os.replace``."""
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise ExportError(f"{path}: folder {folder} does not exist")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise ExportError(f"{path}: cannot write: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, _new_file_mode(path))
        os.replace(tmp, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError):
            raise ExportError(f"{path}: cannot write: {exc.strerror or exc}") from None
        raise



def _new_file_mode(path: Path) -> int:
    """Keep the mode of the output being replaced; else what open() would give (0666 & ~umask)."""
    try:
        return path.stat().st_mode & 0o7777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask
