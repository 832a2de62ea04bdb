"""The package version, in a module of its own: every module that records it imports it from
here, not from the package ``__init__`` (which imports the pipeline lazily)."""

from __future__ import annotations

import functools
import hashlib
import os
import sys
from pathlib import Path

__version__ = "0.1.0"


@functools.lru_cache(maxsize=1)
def code_digest() -> str:
    """A SHA-256 of the package's own files (source and data), file by file in name order: what keys
    results reused across runs (the whole-run record, solved blocks and periods) besides
    :data:`__version__`, so that a storygraph whose code changed never takes an older code's
    result for its own, whether or not the version string moved. A few milliseconds, once."""
    digest = hashlib.sha256()
    root = Path(__file__).resolve().parent
    # every file of the package: the code, and the data an output is made of (the HTML report's
    # page, styles and script), not what Python or numba cache beside them
    files = [p for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts
             and p.suffix not in (".pyc", ".nbi", ".nbc")]
    for path in sorted(files):
        digest.update(path.relative_to(root).as_posix().encode("utf-8") + b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()


#: Installed distributions whose code makes or writes a result (parsing, arithmetic, encoding).
LIBRARIES = ("numpy", "scipy", "igraph", "sparse_dot_topn", "numba", "yaml_rs", "PyYAML", "orjson", "networkx")


def library_versions() -> dict[str, str]:
    """The version of each of :data:`LIBRARIES` ("" when absent), from the names of the
    installed ``*.dist-info`` folders on ``sys.path`` (one listing a folder, a few ms; asking
    ``importlib.metadata`` took 0.17 s, a third of an unchanged run): an upgraded library is
    another program, whose output is not replayed."""
    wanted = {name.lower().replace("-", "_"): name for name in LIBRARIES}
    found = dict.fromkeys(LIBRARIES, "")
    for folder in sys.path:
        try:
            names = os.listdir(folder or ".")
        except OSError:
            continue
        for entry in names:
            if entry.endswith(".dist-info") and "-" in entry:
                name, _, version = entry[: -len(".dist-info")].partition("-")
                key = wanted.get(name.lower().replace("-", "_").replace(".", "_"))
                if key and not found[key]:  # the first on sys.path is the one imported
                    found[key] = version
    return found
