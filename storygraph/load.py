"""Load stage: walk a content folder and turn each ``.md`` file into an Article or a Skipped.

Every ``.md`` file under the root ends in exactly one of ``articles`` or
``skipped`` (with a reason); other files are counted in ``ignored``. Folders are
walked in sorted order, following symlinks but never entering a folder twice
(symlink loops end there). :func:`read_item` is a pure function of one path, the
unit that caching and parallel parsing build on.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

from .errors import InputError
from .fields import FieldProblem, to_article
from .model import Article, LoadResult, Notice, Skipped
from .parse import ParseProblem, front_matter

__all__ = ["load_content", "collect", "read_files", "iter_markdown", "read_item"]

Tick = Callable[[int], None]


def load_content(root: str | os.PathLike, max_file_bytes: int, tick: Tick | None = None) -> LoadResult:
    """Load every ``.md`` file under ``root``. ``tick(n)`` is called as files are done.

    Raises :class:`~storygraph.errors.InputError` when ``root`` is not a folder.
    """
    base, paths, ignored = collect(root)
    return read_files(base, paths, ignored, max_file_bytes, tick)


def collect(root: str | os.PathLike) -> tuple[Path, list[str], int]:
    """Return (root, sorted relative paths of ``.md`` files, count of other files)."""
    base = Path(root)
    if not base.is_dir():
        raise InputError(f"{root}: not a folder of news items")
    paths: list[str] = []
    ignored = 0
    for rel, is_md in iter_markdown(base):
        if is_md:
            paths.append(rel)
        else:
            ignored += 1
    return base, paths, ignored


def read_files(
    base: Path, paths: list[str], ignored: int, max_file_bytes: int, tick: Tick | None = None
) -> LoadResult:
    """Read each of ``paths`` (relative to ``base``) into an Article or a Skipped."""
    result = LoadResult(ignored=ignored, md_files=len(paths))
    for rel in paths:
        item, notices = read_item(base, rel, max_file_bytes)
        (result.articles if isinstance(item, Article) else result.skipped).append(item)
        result.notices.extend(notices)
        if tick:
            tick(1)
    return result


def iter_markdown(base: Path) -> Iterator[tuple[str, bool]]:
    """Yield ``(relative posix path, is_markdown)`` for every file under ``base``, sorted."""
    seen: set[tuple[int, int]] = set()
    for dirpath, dirnames, filenames in os.walk(base, followlinks=True):
        try:
            st = os.stat(dirpath)
        except OSError:
            dirnames[:] = []
            continue
        if (st.st_dev, st.st_ino) in seen:  # a symlink back into the tree
            dirnames[:] = []
            continue
        seen.add((st.st_dev, st.st_ino))
        dirnames.sort()
        rel_dir = Path(dirpath).relative_to(base)
        for name in sorted(filenames):
            rel = (rel_dir / name).as_posix()
            yield rel, name.lower().endswith(".md")


def read_item(base: Path, rel: str, max_file_bytes: int) -> tuple[Article | Skipped, list[Notice]]:
    """Read and normalise one file. Never raises for a problem with the file itself."""
    path = base / rel
    try:
        size = path.stat().st_size
        if size > max_file_bytes:
            return Skipped(rel, "too-large", f"file is {size} bytes, over the limit of {max_file_bytes}"), []
        with path.open("rb") as handle:
            data = handle.read(max_file_bytes + 1)
    except FileNotFoundError:
        return Skipped(rel, "vanished", "file disappeared while the run was reading the folder"), []
    except IsADirectoryError:
        return Skipped(rel, "not-a-file", "not a regular file"), []
    except OSError as exc:
        return Skipped(rel, "unreadable", f"cannot be read: {exc.strerror or exc}"), []
    try:
        return to_article(front_matter(data), rel)
    except (ParseProblem, FieldProblem) as exc:
        return Skipped(rel, exc.code, exc.reason), []
