"""Low-level output rules every writer shares: atomic file writes, UTF-8 bytes of any
Python string, and the characters XML 1.0 forbids.

Used by the exporters (:mod:`storygraph.export`), the edge file (:mod:`storygraph.edgefile`)
and, for the character rule, text cleaning at load (:mod:`storygraph.text`).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import stat
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import BinaryIO

from .errors import ExportError

__all__ = ["write_atomic", "file_sha256", "encode", "unpaired_surrogates_replaced", "xml_safe", "XML_FORBIDDEN_CHARS",
           "SURROGATE_CHARS"]

#: Characters XML 1.0 forbids, lone surrogates aside: C0 controls but tab, newline and CR; U+FFFE, U+FFFF.
#: A regular-expression character class body (``f"[{XML_FORBIDDEN_CHARS}]"``).
XML_FORBIDDEN_CHARS = "\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff"
#: Surrogate code points. In a ``str`` they are always unpaired: Python spells a file name that
#: is not valid UTF-8 with them (``surrogateescape``). XML and UTF-8 cannot carry them.
SURROGATE_CHARS = "\ud800-\udfff"

_XML_FORBIDDEN = re.compile(f"[{XML_FORBIDDEN_CHARS}]")
_SURROGATE = re.compile(f"[{SURROGATE_CHARS}]")


def unpaired_surrogates_replaced(text: str) -> str:
    """Replace lone surrogates with U+FFFD.

    UTF-8 cannot encode them and I-JSON (RFC 7493) forbids their ``\\udcxx`` escapes, so a
    file name that is not UTF-8 is shown with U+FFFD, as ``ls`` shows ``?``. Titles and other
    text never hold them: they are removed at load (:mod:`storygraph.text`).
    """
    return _SURROGATE.sub("\ufffd", text)


def encode(text: str) -> bytes:
    """UTF-8 bytes of ``text``; lone surrogates (a file name that is not UTF-8) become U+FFFD."""
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        return unpaired_surrogates_replaced(text).encode("utf-8")


def xml_safe(text: str) -> str:
    """Drop characters XML 1.0 forbids (text is already cleaned at load; this guards file
    names). Lone surrogates become U+FFFD, as in JSON."""
    return _XML_FORBIDDEN.sub("", unpaired_surrogates_replaced(text))


def write_atomic(path: Path, data: bytes | Iterable[bytes] | Callable[[BinaryIO], object]) -> None:
    """Write ``data`` (bytes, an iterable of byte blocks, or a function that writes to
    the open binary file) to ``path`` via a temporary file and ``os.replace``: readers
    see the old file or the new one, never a part.

    Raises :class:`~storygraph.errors.ExportError` naming ``path`` when its folder is
    missing or the file cannot be written.
    """
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


def file_sha256(path: str | os.PathLike) -> str:
    """SHA-256 of a file, or of a folder of files (their relative names and contents, sorted):
    what an output records of the edge file, the overrides or the previous output it read.

    A plain file's digest is remembered for the process, keyed by its full state (path,
    size, mtime, inode, ctime): the run fingerprint and the run itself both hash the
    previous output (half a GB at 100k articles), and a rewritten file changes its ctime."""
    root = Path(path)
    try:
        st = os.stat(root)
    except OSError:
        st = None
    if st is None or not stat.S_ISREG(st.st_mode):
        return _sha256(root)
    state = (os.path.abspath(root), st.st_size, st.st_mtime_ns, st.st_ino, st.st_ctime_ns)
    if state not in _DIGESTS:
        _DIGESTS[state] = _sha256(root)
    return _DIGESTS[state]


_DIGESTS: dict[tuple, str] = {}


def _sha256(root: Path) -> str:
    sha = hashlib.sha256()
    files = sorted(p for p in root.rglob("*") if p.is_file()) if root.is_dir() else [root]
    for file in files:
        if root.is_dir():
            sha.update(file.relative_to(root).as_posix().encode("utf-8", "surrogateescape") + b"\0")
        with open(file, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                sha.update(block)
    return sha.hexdigest()
