"""storygraph: turn a folder of news items into stories.

>>> import storygraph
>>> result = storygraph.cluster("fixtures/content")          # doctest: +SKIP
>>> result.write("stories.graphml")                           # doctest: +SKIP
"""

from __future__ import annotations

__version__ = "0.1.0"

from .errors import ExportError, InputError, OptionsError, StorygraphError, StrictModeError  # noqa: E402
from .options import ClusterOptions  # noqa: E402
from .pipeline import ClusterResult, cluster  # noqa: E402

__all__ = [
    "__version__",
    "cluster",
    "ClusterOptions",
    "ClusterResult",
    "StorygraphError",
    "OptionsError",
    "InputError",
    "StrictModeError",
    "ExportError",
]
