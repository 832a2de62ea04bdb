"""An output's text as pieces, some of them sections that another process may render.

A renderer (``json_chunks``, ``graphml_chunks`` ...) yields text, and a :class:`Section`
where a long run of text (the edges, the nodes) can be made independently of the rest.
:func:`flatten` expands every section in place: the text in order, in this process.
:func:`write_pieces` writes the same bytes, but renders a later large section in a forked
process while this one renders the earlier one, then copies the worker's bytes into place
(the JSON of synthetic 100k: 6.1-6.4 s instead of 8.5-8.8 s on two cores; at 1M the gain was
within the noise, docs/scale.md). The worker's bytes go to an unlinked temporary file beside
the output, so a killed run leaves nothing behind; a worker that dies is replaced by
rendering its section here; an error raised while rendering (an
:class:`~storygraph.errors.ExportError`) is raised here as it would be without a worker, and
an error here stops the worker.
"""

from __future__ import annotations

import dataclasses
import errno
import io
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator
from typing import BinaryIO, Union

from ..errors import ExportError
from ..io import encode

__all__ = ["Section", "Piece", "flatten", "encoded", "write_pieces", "PARALLEL_MIN_ITEMS"]

#: Below this many items (nodes or edges) a section is rendered here: a node's JSON takes about
#: 17 us, an edge's 2.3 us (synthetic 100k), so 20,000 edges are ~50 ms of work, and forking a
#: worker and copying its bytes cost a few ms; the fixtures (and most small runs) stay in one process.
PARALLEL_MIN_ITEMS = 20_000


@dataclasses.dataclass(frozen=True)
class Section:
    """A run of the output's text that depends on nothing written before it:
    ``chunks()`` yields its pieces of text (str, or bytes already UTF-8, which the writer
    writes as they are); ``items`` says how much work it is. A section
    with ``apart`` False is always rendered in this process, in blocks as ``chunks()`` yields
    them: one made in blocks only so that its text is never held whole (the JSON's stories),
    which would take a worker from the two sections that gain from one."""

    chunks: Callable[[], Iterable[str | bytes]]
    items: int
    apart: bool = True


Piece = Union[str, Section]


def flatten(pieces: Iterable[Piece]) -> Iterator[str | bytes]:
    """The text of ``pieces`` in order, every section rendered in place (a section's chunks as
    it yields them: str, or UTF-8 bytes)."""
    for piece in pieces:
        if isinstance(piece, Section):
            yield from piece.chunks()
        else:
            yield piece


def encoded(chunks: Iterable[str | bytes], size: int = 1 << 20) -> Iterator[bytes]:
    """UTF-8 bytes in blocks of about ``size`` characters (few write calls, bounded memory).
    A chunk that is already bytes (UTF-8, as orjson and the compiled edge loop make it) is
    written as it is, after the text before it."""
    batch: list[str] = []
    held = 0
    for chunk in chunks:
        if isinstance(chunk, bytes):
            if batch:
                yield encode("".join(batch))
                batch, held = [], 0
            yield chunk
            continue
        batch.append(chunk)
        held += len(chunk)
        if held >= size:
            yield encode("".join(batch))
            batch, held = [], 0
    if batch:
        yield encode("".join(batch))


def write_pieces(handle: BinaryIO, pieces: Iterable[Piece], *, workers: int, scratch: str | os.PathLike | None = None) -> None:
    """Write the bytes of :func:`flatten` (``pieces``) to ``handle``, an open binary file.

    With ``workers`` >= 2 (and ``fork`` available), a large section that follows another
    large one is rendered by a forked process while this one renders the first: the two
    longest parts of an export run side by side. The worker's bytes wait in an unlinked file
    in the folder ``scratch`` (the output's own, so on its disk; None: the system's
    temporary folder). The bytes are the same either way.
    """
    stream = iter(pieces)
    text: list[str] = []
    for piece in stream:
        if not isinstance(piece, Section):
            text.append(piece)
            continue
        _write_text(handle, text)
        text = []
        if workers < 2 or not _worth_a_worker(piece) or not _can_fork():
            _write_text(handle, piece.chunks())
            continue
        between, later = _next_section(stream)
        if later is None or not _worth_a_worker(later) or not _side_by_side(handle, piece, between, later, scratch):
            _write_text(handle, piece.chunks())
            _write_text(handle, between)
            if later is not None:
                _write_text(handle, later.chunks())
    _write_text(handle, text)


def _worth_a_worker(section: Section) -> bool:
    """Whether ``section`` may be rendered by a forked worker, and is long enough to pay for one."""
    return section.apart and section.items >= PARALLEL_MIN_ITEMS


def _next_section(stream: Iterator[Piece]) -> tuple[list[str], Section | None]:
    """The text up to the next section of ``stream``, and that section (None at the end)."""
    between: list[str] = []
    for piece in stream:
        if isinstance(piece, Section):
            return between, piece
        between.append(piece)
    return between, None


def _write_text(handle: BinaryIO, chunks: Iterable[str | bytes]) -> None:
    for block in encoded(chunks):
        handle.write(block)


def _side_by_side(handle: BinaryIO, first: Section, between: list[str], later: Section,
                  scratch: str | os.PathLike | None) -> bool:
    """``first`` and ``between`` written here while a forked worker renders ``later`` into an
    unlinked file, whose bytes are then appended. False, with nothing written, when no file or
    process could be had (the caller writes everything in order)."""
    import multiprocessing

    context = multiprocessing.get_context("fork")
    if multiprocessing.current_process().daemon:
        return False  # a daemonic process (a Pool's worker) may not start processes
    try:
        fd, path = tempfile.mkstemp(prefix=".storygraph-section.", suffix=".tmp", dir=scratch)
    except OSError:
        return False
    try:
        os.unlink(path)  # the open descriptor keeps it: nothing is left behind, even after a kill
        receive, send = context.Pipe(duplex=False)
        worker = context.Process(target=_render_into, args=(later, fd, send, os.getpid()))
        try:
            worker.start()
        except OSError:  # no process to be had (memory, limits)
            return False
        finally:
            send.close()
        try:
            _write_text(handle, first.chunks())
            _write_text(handle, between)
            size, error = receive.recv()
        except EOFError:  # the worker died (killed, out of memory): its part is made here
            size, error = None, None
        finally:
            if worker.is_alive():  # an error or an interruption here: the worker's part is not wanted
                worker.kill()
            worker.join()
            receive.close()
        if error is not None:
            raise error
        if size is None:
            _write_text(handle, later.chunks())
        else:
            _copy(fd, size, handle)
        return True
    finally:
        os.close(fd)


def _copy(fd: int, size: int, handle: BinaryIO) -> None:
    """The first ``size`` bytes of the file ``fd`` appended to ``handle``: in the kernel
    where it can (``sendfile``), else through a buffer (a pipe or file that refuses it)."""
    handle.flush()
    offset = 0
    try:
        out = handle.fileno()
    except (AttributeError, io.UnsupportedOperation):  # an in-memory stream
        out = None
    try:
        while out is not None and offset < size:
            sent = os.sendfile(out, fd, offset, min(size - offset, 1 << 30))
            if sent == 0:
                break
            offset += sent
    except OSError as exc:
        if exc.errno not in _NO_SENDFILE:
            raise
    while offset < size:
        block = os.pread(fd, min(size - offset, 1 << 20), offset)
        if not block:
            raise OSError(f"the export's section file ended at byte {offset} of {size}")
        handle.write(block)
        offset += len(block)


#: sendfile's ways of saying "not between these two" (an O_APPEND file, some file systems, a socket type)
_NO_SENDFILE = frozenset({errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EBADF, errno.EXDEV})


def _render_into(section: Section, fd: int, send, parent: int) -> None:
    """In the forked worker: render ``section`` into the file ``fd`` (inherited) and send back
    ``(size in bytes, None)``, or ``(None, the exception)``. It stops when its parent is gone."""
    try:
        size = 0
        for block in encoded(section.chunks()):
            if os.getppid() != parent:
                os._exit(1)  # the parent was killed: nobody will read this
            view = memoryview(block)
            while view:
                written = os.write(fd, view)
                view = view[written:]
                size += written
        send.send((size, None))
    except BaseException as exc:  # raised in the parent as it would be without a worker
        try:
            send.send((None, exc))
        except Exception:  # an exception that does not pickle
            send.send((None, ExportError(f"the export's worker failed: {exc!r}")))


def _can_fork() -> bool:
    import multiprocessing

    return "fork" in multiprocessing.get_all_start_methods()
