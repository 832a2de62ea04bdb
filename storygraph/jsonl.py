"""Input source: a JSON Lines file (``items.jsonl``, ``.ndjson``), one news item a line.

Each object carries the front-matter fields; ``id`` names the item (it appears in the
node's ``files`` and in ``skipped``; ``line N`` without an id) and stands in for the URL
when there is none; ``text`` stands in for an empty ``excerpt``. Every non-blank line is
a path of the source (named ``line N``) and becomes an Article or a Skipped; blank lines
are counted in ``ignored``. A line that is not a JSON object, or repeats an id, is skipped
with its reason. No line is read whole past ``max_line_bytes``, so one huge line cannot
take the run's memory.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import BinaryIO

from .errors import InputError, ItemProblem
from .fields import to_article
from .model import Article, Notice, Skipped
from .text import clean_title

__all__ = ["JsonlSource", "JSONL_SUFFIXES"]

JSONL_SUFFIXES = (".jsonl", ".ndjson")

Result = tuple[Article | Skipped, list[Notice]]


class JsonlSource:
    """The items of a JSON Lines file (a :class:`~storygraph.sources.Source`).

    Not ``splittable``: an id must be unique across the whole file, so the engines read it
    with one :meth:`read_batch` call, in the calling process (ids are checked within a call).
    """

    kind = "jsonl"
    splittable = False

    def __init__(self, path: Path, max_line_bytes: int, paths: Sequence[str] = (), ignored: int = 0) -> None:
        self.path = path
        self.max_line_bytes = max_line_bytes
        self.paths = list(paths)
        self.ignored = ignored

    @classmethod
    def accepts(cls, content: str | os.PathLike) -> bool:
        path = Path(content)
        return path.suffix.lower() in JSONL_SUFFIXES and path.is_file()

    @classmethod
    def open(cls, content: str | os.PathLike, max_line_bytes: int) -> "JsonlSource":
        """Count the file's lines. Raises :class:`~storygraph.errors.InputError` when it cannot be read."""
        path = Path(content)
        paths: list[str] = []
        ignored = 0
        with _open(path) as handle:
            for number, raw in enumerate(_bounded_lines(handle, max_line_bytes), 1):
                if raw.strip():
                    paths.append(f"line {number}")
                else:
                    ignored += 1
        return cls(path, max_line_bytes, paths, ignored)

    def read_batch(self, batch: Sequence[str]) -> list[Result]:
        """The item of each line named in ``batch`` (``line N``), in file order."""
        wanted = set(batch)
        seen: set[str] = set()
        out: list[Result] = []
        with _open(self.path) as handle:
            for number, raw in enumerate(_bounded_lines(handle, self.max_line_bytes), 1):
                if f"line {number}" in wanted and raw.strip():
                    out.append(_item(raw, number, self.max_line_bytes, seen))
        return out

    def __reduce__(self):
        return (JsonlSource, (self.path, self.max_line_bytes))


def _open(path: Path) -> BinaryIO:
    try:
        return path.open("rb")
    except OSError as exc:
        raise InputError(f"{path}: cannot be read: {exc.strerror or exc}") from None


def _bounded_lines(handle: BinaryIO, limit: int) -> Iterator[bytes]:
    """Lines of at most ``limit + 1`` bytes: the rest of an over-long line is read and dropped
    in pieces, so one huge line cannot take the run's memory."""
    while True:
        line = handle.readline(limit + 1)
        if not line:
            return
        if len(line) > limit and not line.endswith(b"\n"):
            while (rest := handle.readline(1 << 20)) and not rest.endswith(b"\n"):
                pass
        yield line


def _item(raw: bytes, number: int, limit: int, seen: set[str]) -> Result:
    where = f"line {number}"
    if len(raw) > limit:
        return Skipped(where, "too-large", f"line is {len(raw)} bytes, over the limit of {limit}"), []
    try:
        obj = json.loads(raw, parse_constant=lambda name: None)  # NaN/Infinity become null
    except (ValueError, RecursionError) as exc:
        return Skipped(where, "invalid-json", f"not valid JSON: {str(exc)[:120]}"), []
    if not isinstance(obj, dict):
        return Skipped(where, "not-a-mapping", "line is not a JSON object"), []
    item_id = obj.get("id")
    # ids are cleaned like titles, so two ids that differ only in forbidden characters collide here
    given = clean_title(str(item_id)) if _is_id(item_id) else ""
    name = given or where
    if given:
        if given in seen:
            return Skipped(name, "duplicate-id", f"{where}: id {name!r} was already used"), []
        seen.add(given)
    try:
        article, notices = to_article(obj, name, id_stands_for_url=bool(given))
    except ItemProblem as exc:
        return Skipped(name, exc.code, f"{where}: {exc.reason}"), []
    return article, notices


def _is_id(value: object) -> bool:
    return isinstance(value, (str, int)) and not isinstance(value, bool) and str(value) != ""
