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
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

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


def _renderer(format: str) -> Callable[["ClusterResult"], Iterable[str]]:
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


def render(result: "ClusterResult", format: str) -> bytes:
    """The bytes of ``result`` in ``format``."""
    return b"".join(_encoded(_renderer(format_for("", format))(result)))


def write(result: "ClusterResult", path: str | os.PathLike, format: str | None = None) -> None:
    """Render and write ``result`` to ``path`` (``-`` = stdout), streaming."""
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
    from .jsondoc import encode

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


def write_atomic(path: Path, data: bytes | Iterable[bytes] | Callable[[BinaryIO], object]) -> None:
    """Write ``data`` (bytes, an iterable of byte blocks, or a function that writes to
    the open binary file) to ``path`` via a temporary file and ``os.replace``: readers
    see the old file or the new one, never a part."""
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise ExportError(f"{path}: folder {folder} does not exist")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise ExportError(f"{path}: cannot write: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "wb") as handle:
            if callable(data):
                data(handle)
            else:
                for block in [data] if isinstance(data, bytes) else data:
                    handle.write(block)
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
