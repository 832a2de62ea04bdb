"""Whole-run reuse: when nothing a run reads has changed, its output is already right.

After ``storygraph cluster CONTENT -o OUT`` writes ``OUT``, :func:`record` stores under
the cache folder (``runs/``, one small JSON file per output path) the run's
*fingerprint* and the state of ``OUT`` (size, modification time, inode). The fingerprint
is a SHA-256 of everything the output depends on: the storygraph version and a hash of its
source (:func:`storygraph._version.code_digest`: an upgrade that kept the version string is
still another program), the versions of the libraries that compute and write it, every option
that can change a result, the output format, the state (path, size, mtime, inode, ctime)
of every input file, and the SHA-256 of the edge, overrides and previous files. The next
run of the same command computes the fingerprint first (a walk and one ``stat`` per
file, without importing the pipeline); when it matches and ``OUT`` is still the file that
was written, the run is done: the same input and options give these bytes. When ``OUT``
is another path but a recorded output with the same fingerprint still exists unchanged,
it is copied (atomically). Anything else runs in full and records anew.

Only folders and JSON Lines files are fingerprinted (a URL's state is not cheap to read).
Entries are small and validated on read: a damaged one is a miss, never trusted.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path

from ._version import __version__, code_digest, library_versions
from .io import file_sha256

__all__ = ["fingerprint", "lookup", "record", "RUNS"]

RUNS = "runs"
_FORMAT = 1


def fingerprint(source, options: dict, fmt: str, files: dict[str, str | os.PathLike | None]) -> str | None:
    """The run's fingerprint, or None when its input cannot be fingerprinted cheaply.

    ``source`` is an opened :class:`~storygraph.sources.Source`; ``files`` names the other
    files the run reads (edge file, overrides, previous output), None when absent.
    """
    digest = hashlib.sha256()
    header = {"format": _FORMAT, "version": __version__, "code": code_digest(), "libraries": library_versions(),
              "options": options, "output": fmt, "kind": source.kind}
    digest.update(json.dumps(header, sort_keys=True, default=str).encode("utf-8"))
    if source.kind == "folder":
        root = Path(source.root)
        digest.update(str(root.resolve()).encode("utf-8", "surrogateescape") + b"\0")
        digest.update(f"{source.ignored}\0".encode())
        # hashed 4,096 lines at a time: a Path and a hash update per file were half of the
        # fingerprint's time at a million files (py-spy: 19 s before the load began); the
        # states are the source's own, which the parse cache's keys read again
        states = source.states()
        for start in range(0, len(source.paths), 4096):
            rows = states.rows(start, start + 4096)
            lines = [_line(rel, *row) for rel, row in zip(source.paths[start:start + 4096], rows)]
            digest.update("".join(lines).encode("utf-8", "surrogateescape"))
    elif source.kind == "jsonl":
        digest.update(_state(source.path, str(Path(source.path).resolve())).encode("utf-8", "surrogateescape"))
    else:
        return None
    for name in sorted(files):
        path = files[name]
        digest.update(f"{name}\0".encode() + (file_sha256(path).encode() if path else b"-") + b"\0")
    return digest.hexdigest()


def _state(path: str | os.PathLike, rel: str) -> str:
    """One line of the fingerprint: ``rel`` and the state of the file at ``path``."""
    try:
        st = os.stat(path)
    except OSError as exc:
        return f"{rel}\0missing:{exc.errno}\n"
    return _line(rel, st.st_size, st.st_mtime_ns, st.st_ino, st.st_ctime_ns)


def _line(rel: str, size: int, mtime_ns: int, inode: int, ctime_ns: int) -> str:
    """:func:`_state`'s line from a :class:`~storygraph.folder.FileStates` row (size -1: the
    stat failed, with that error number in place of the mtime)."""
    if size < 0:
        return f"{rel}\0missing:{mtime_ns}\n"
    return f"{rel}\0{size}\0{mtime_ns}\0{inode}\0{ctime_ns}\n"


def _entry_path(cache_dir: Path, output: Path) -> Path:
    name = hashlib.sha1(str(output.resolve()).encode("utf-8", "surrogateescape")).hexdigest()
    return cache_dir / RUNS / f"{name}.json"


def _output_state(path: Path) -> list[int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return [st.st_size, st.st_mtime_ns, st.st_ino]


def lookup(cache_dir: Path, fp: str, output: str) -> dict | None:
    """The recorded summary when ``output`` now holds this fingerprint's bytes (copying a
    recorded output of the same fingerprint there if needed), else None."""
    target = Path(output)
    entry = _read(_entry_path(cache_dir, target))
    if entry and entry["fingerprint"] == fp and entry["output_state"] == _output_state(target):
        return entry["summary"]
    folder = cache_dir / RUNS
    for candidate in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        other = _read(candidate)
        source = Path(other["output"]) if other else None
        if other and other["fingerprint"] == fp and source and _output_state(source) == other["output_state"]:
            if not _copy(source, target):
                return None
            record(cache_dir, fp, output, other["summary"])
            return other["summary"]
    return None


def record(cache_dir: Path, fp: str | None, output: str, summary: dict) -> None:
    """Remember that ``output`` holds the bytes of the run ``fp`` (best effort: a cache
    that cannot be written costs the next run its shortcut, nothing else)."""
    if fp is None:
        return
    target = Path(output)
    entry = {"format": _FORMAT, "fingerprint": fp, "output": str(target.resolve()),
             "output_state": _output_state(target), "summary": summary}
    path = _entry_path(cache_dir, target)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".run.", suffix=".tmp", dir=path.parent)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(entry, handle)
        os.replace(tmp, path)
    except OSError:
        pass


def _read(path: Path) -> dict | None:
    try:
        entry = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, UnicodeDecodeError):
        return None
    valid = (isinstance(entry, dict) and entry.get("format") == _FORMAT and isinstance(entry.get("fingerprint"), str)
             and isinstance(entry.get("output"), str) and isinstance(entry.get("summary"), dict)
             and (entry.get("output_state") is None or isinstance(entry.get("output_state"), list)))
    return entry if valid else None


def _copy(source: Path, target: Path) -> bool:
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
        os.close(fd)
        shutil.copyfile(source, tmp)
        os.replace(tmp, target)
    except OSError:
        return False
    return True
