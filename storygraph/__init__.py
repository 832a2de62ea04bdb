"""storygraph: turn a folder of news items into stories.

>>> import storygraph
>>> result = storygraph.cluster("fixtures/content")          # doctest: +SKIP
>>> result.write("stories.graphml")                           # doctest: +SKIP
"""

from __future__ import annotations

from ._version import __version__
from .errors import DependencyError, ExportError, InputError, OptionsError, StorygraphError, StrictModeError
from .options import ClusterOptions


def __getattr__(name: str):
    # The pipeline pulls in scikit-learn and networkx (~1 s): load it on first use only.
    if name in ("cluster", "ClusterResult", "build_graph"):
        from . import pipeline

        return getattr(pipeline, name)
    raise AttributeError(f"module 'storygraph' has no attribute {name!r}")

__all__ = [
    "__version__",
    "cluster",
    "build_graph",
    "ClusterOptions",
    "ClusterResult",
    "StorygraphError",
    "OptionsError",
    "InputError",
    "StrictModeError",
    "ExportError",
    "DependencyError",
]
