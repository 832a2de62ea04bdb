"""Reading a storygraph JSON output back, lean: what ``evaluate`` and ``--previous`` need.

At a million articles the edges and the nodes' texts are most of the file (gigabytes)
and, parsed whole, tens of GB of memory; neither reader needs them. storygraph writes
compact JSON with its top-level keys in a fixed order (``stories`` before ``nodes``,
``edges``, then ``skipped`` and ``notices``), and outside strings (whose quotes are
escaped) ``,"nodes":[`` and ``],"skipped":[`` occur only as those keys. So the head (up
to the nodes) and the tail (from the skipped list) are found by position and parsed,
the node objects are decoded one by one as the file is read, and the edges are never
read at all. The file is read with plain reads, not mapped: a mapping would count every
page it touches in the process's resident memory. Another layout (e.g. pretty-printed)
is parsed whole.
"""

from __future__ import annotations

import codecs
import json
import os
from collections.abc import Iterator
from typing import BinaryIO

from . import fastjson
from .runtime import without_gc

__all__ = ["read_document", "in_output_layout"]

_START = b'{"schema_version":"1.'
_NODES = b',"nodes":['
_TAIL = b'],"skipped":['
_CHUNK = 1 << 24  # 16 MB of the file at a time


@without_gc
def read_document(path: str | os.PathLike, *, nodes: bool = True) -> dict:
    """A storygraph JSON output without its edges (``edges`` is ``[]``), and its nodes
    with only ``id``, ``files`` and ``story`` (``nodes=False``: no nodes at all, for a
    reader that needs only the stories). Raises ``ValueError`` for a file that is not JSON,
    ``OSError`` for one that cannot be read."""
    with open(path, "rb") as handle:
        head = _read_until(handle, _NODES)
        start = handle.tell()
        tail = _read_tail(handle, start) if head is not None else None
        if head is None or tail is None:
            handle.seek(0)
            return json.loads(handle.read())
        document = fastjson.loads(head + b',"nodes":[],"edges":[' + tail)  # orjson where installed: twice as fast
        if nodes:
            handle.seek(start)
            try:
                document["nodes"] = list(_lean_nodes(handle))
            except _Layout:
                handle.seek(0)
                return json.loads(handle.read())
    return document


def in_output_layout(path: str | os.PathLike) -> bool:
    """Whether the file is laid out as storygraph writes its JSON output (compact, the schema
    version first, a head up to the nodes and a tail from the skipped list), by position alone:
    nothing is parsed. ``OSError`` for a file that cannot be read."""
    with open(path, "rb") as handle:
        if handle.read(len(_START)) != _START:
            return False
        handle.seek(0)
        return _read_until(handle, _NODES) is not None and _read_tail(handle, handle.tell()) is not None


def _read_until(handle: BinaryIO, marker: bytes, chunk: int = _CHUNK) -> bytes | None:
    """The bytes before the first ``marker``, the file left just after it (None if absent)."""
    buffer = bytearray()  # grown in place: bytes += bytes copied the whole head at every chunk
    while True:
        block = handle.read(chunk)
        if not block:
            return None
        searched = max(0, len(buffer) - len(marker) + 1)
        buffer += block
        at = buffer.find(marker, searched)
        if at >= 0:
            handle.seek(handle.tell() - (len(buffer) - at - len(marker)))
            del buffer[at:]
            return bytes(buffer)


def _read_tail(handle: BinaryIO, floor: int, chunk: int = _CHUNK) -> bytes | None:
    """The bytes from the last ``_TAIL`` marker after ``floor`` to the end, read backwards."""
    position = handle.seek(0, os.SEEK_END)
    buffer = b""
    while position > floor:
        step = min(chunk, position - floor)
        position -= step
        handle.seek(position)
        buffer = handle.read(step) + buffer
        at = buffer.rfind(_TAIL, 0, step + len(_TAIL) - 1)
        if at >= 0:
            return buffer[at:]
    return None


def _lean_nodes(handle: BinaryIO, chunk: int = _CHUNK) -> Iterator[dict]:
    """Decode the node objects from the file's position up to the array's closing ``]``,
    ``chunk`` bytes at a time, keeping only the fields readers need: memory stays near one
    chunk, not the whole array. (One ``raw_decode`` per object is faster than ``loads`` of
    many objects at once, measured.) Raises :class:`_Layout` when the array does not end or
    its objects are not storygraph's nodes (the caller then parses the file whole)."""
    decoder, text_of = json.JSONDecoder(), codecs.getincrementaldecoder("utf-8")()
    pending = ""
    while True:
        block = handle.read(max(chunk, 1))
        text = pending + text_of.decode(block, final=not block)  # a character cut in two waits for the rest
        pending, at = "", 0
        while at < len(text):
            if text[at] == "]":
                return
            if text[at] == ",":
                at += 1
            try:
                node, after = decoder.raw_decode(text, at)
                lean = {"id": node["id"], "files": node["files"], "story": node["story"]}
            except json.JSONDecodeError:
                if not block:
                    raise _Layout("the node array does not end") from None
                pending = text[at:]  # an object cut by the chunk's end: finish it with the next chunk
                break
            except (TypeError, KeyError) as exc:
                raise _Layout(f"not a storygraph node ({exc})") from None
            yield lean
            at = after
        if not block:
            raise _Layout("the node array does not end")


class _Layout(ValueError):
    """Not the layout storygraph writes."""
