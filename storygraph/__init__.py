"""storygraph: turn a folder of news items into stories.

>>> import storygraph
>>> result = storygraph.cluster("fixtures/content")          # doctest: +SKIP
>>> storygraph.write(result, "stories.graphml")               # doctest: +SKIP

The package facade: nothing inside storygraph imports it (see docs/architecture.md).
"""

from __future__ import annotations

from ._version import __version__
from .errors import DependencyError, ExportError, InputError, OptionsError, StorygraphError, StrictModeError
from .options import ClusterOptions


def __getattr__(name: str):
    # The pipeline pulls in scikit-learn and networkx (~1 s): load it on first use only.
    if name in ("cluster", "build_graph"):
        from . import pipeline

        return getattr(pipeline, name)
    if name in ("ClusterResult", "ArticleGraph"):
        from . import result

        return getattr(result, name)
    if name == "write":
        from .export import write

        return write
    raise AttributeError(f"module 'storygraph' has no attribute {name!r}")


__all__ = [
    "__version__",
    "cluster",
    "build_graph",
    "write",
    "ClusterOptions",
    "ClusterResult",
    "ArticleGraph",
    "StorygraphError",
    "OptionsError",
    "InputError",
    "StrictModeError",
    "ExportError",
    "DependencyError",
]
