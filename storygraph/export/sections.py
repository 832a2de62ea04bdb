"""An output's text as pieces, some of them sections that another process may render.

A renderer (``json_chunks``, ``graphml_chunks`` ...) yields text, and a :class:`Section`
where a long run of text (the edges, the nodes) can be made independently of the rest.
:func:`flatten` expands every section in place: the text in order, in this process.
:func:`write_pieces` writes the same bytes, but renders a later large section in a forked
process while this one renders the earlier one, then copies the worker's bytes into place:
on two cores the JSON export of a large graph takes about as long as its larger half
(nodes or edges) instead of both (docs/scale.md). The worker's bytes go to an unlinked
temporary file beside the output, so a killed run leaves nothing behind; a worker that
dies is replaced by rendering its section here; an error raised while rendering (an
:class:`~storygraph.errors.ExportError`) is raised here as it would be without a worker.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator
from typing import BinaryIO, Union

from ..io import encode

__all__ = ["Section", "Piece", "flatten", "encoded", "write_pieces", "PARALLEL_MIN_ITEMS"]

#: Below this many items (nodes or edges) a section is rendered here: a node's JSON takes about
#: 17 us, an edge's 2.3 us (synthetic 100k), so 20,000 edges are ~50 ms of work, and forking a
#: worker and copying its bytes cost a few ms; the fixtures (and most small runs) stay in one process.
PARALLEL_MIN_ITEMS = 20_000


@dataclasses.dataclass(frozen=True)
class Section:
    """A run of the output's text that depends on nothing written before it:
    ``chunks()`` yields its pieces of text; ``items`` says how much work it is."""

    chunks: Callable[[], Iterable[str]]
    items: int


Piece = Union[str, Section]


def flatten(pieces: Iterable[Piece]) -> Iterator[str]:
    """The text of ``pieces`` in order, every section rendered in place."""
    for piece in pieces:
        if isinstance(piece, Section):
            yield from piece.chunks()
        else:
            yield piece


def encoded(chunks: Iterable[str], size: int = 1 << 20) -> Iterator[bytes]:
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


def write_pieces(handle: BinaryIO, pieces: Iterable[Piece], *, workers: int) -> None:
    """Write the bytes of :func:`flatten` (``pieces``) to ``handle``, an open binary file.

    With ``workers`` >= 2 (and ``fork`` available), a large section that follows another
    large one is rendered by a forked process while this one renders the first: the two
    longest parts of an export run side by side. The bytes are the same either way.
    """
    stream = iter(pieces)
    text: list[str] = []
    for piece in stream:
        if not isinstance(piece, Section):
            text.append(piece)
            continue
        _write_text(handle, text)
        text = []
        if workers < 2 or piece.items < PARALLEL_MIN_ITEMS or not _can_fork():
            _write_text(handle, piece.chunks())
            continue
        between, later = _next_section(stream)
        if later is None or later.items < PARALLEL_MIN_ITEMS:
            _write_text(handle, piece.chunks())
            _write_text(handle, between)
            if later is not None:
                _write_text(handle, later.chunks())
            continue
        _side_by_side(handle, piece, between, later)
    _write_text(handle, text)


def _next_section(stream: Iterator[Piece]) -> tuple[list[str], Section | None]:
    """The text up to the next section of ``stream``, and that section (None at the end)."""
    between: list[str] = []
    for piece in stream:
        if isinstance(piece, Section):
            return between, piece
        between.append(piece)
    return between, None


def _write_text(handle: BinaryIO, chunks: Iterable[str]) -> None:
    for block in encoded(chunks):
        handle.write(block)


def _side_by_side(handle: BinaryIO, first: Section, between: list[str], later: Section) -> None:
    """``first`` rendered here while a forked worker renders ``later`` into an unlinked file,
    whose bytes are then copied after ``between``."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    folder = _folder_of(handle)
    fd, path = tempfile.mkstemp(prefix=".storygraph-section.", suffix=".tmp", dir=folder)
    os.unlink(path)  # the open descriptor keeps it; nothing is left behind whatever happens
    try:
        with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("fork"),
                                 initializer=_share, initargs=(later, fd)) as pool:
            future = pool.submit(_render_shared)
            try:
                _write_text(handle, first.chunks())
                _write_text(handle, between)
                done = future.result()
            except BrokenProcessPool:
                done = None  # the worker died (killed, out of memory): render its part here
            except BaseException:
                pool.shutdown(wait=True, cancel_futures=True)
                raise
        if done is None:
            _write_text(handle, later.chunks())
        else:
            _copy(fd, done, handle)
    finally:
        os.close(fd)


def _folder_of(handle: BinaryIO) -> str | None:
    """The folder of ``handle``'s file (the worker's file goes beside it, on the same
    disk), or None (the system's temporary folder) for stdout and other streams."""
    name = getattr(handle, "name", None)
    if isinstance(name, str) and os.path.isfile(name):
        return os.path.dirname(os.path.abspath(name))
    return None


def _copy(fd: int, size: int, handle: BinaryIO) -> None:
    """The first ``size`` bytes of the file ``fd`` appended to ``handle``: in the kernel
    where it can (``sendfile``), else through a buffer."""
    handle.flush()
    offset = 0
    with contextlib.suppress(OSError, AttributeError):
        out = handle.fileno()
        while offset < size:
            sent = os.sendfile(out, fd, offset, min(size - offset, 1 << 30))
            if sent == 0:
                break
            offset += sent
    while offset < size:
        block = os.pread(fd, min(size - offset, 1 << 20), offset)
        if not block:
            raise OSError(f"the export's section file ended at byte {offset} of {size}")
        handle.write(block)
        offset += len(block)


_SHARED: tuple[Section, int] | None = None  # (the section, its file) in the forked worker


def _share(section: Section, fd: int) -> None:
    global _SHARED
    _SHARED = (section, fd)


def _render_shared() -> int:
    """Render the shared section into its file (inherited by ``fork``); its size in bytes."""
    section, fd = _SHARED  # type: ignore[misc]
    size = 0
    for block in encoded(section.chunks()):
        view = memoryview(block)
        while view:
            written = os.write(fd, view)
            view = view[written:]
            size += written
    return size


def _can_fork() -> bool:
    import multiprocessing

    return "fork" in multiprocessing.get_all_start_methods()
