"""The progress protocol, in one place: stages report work done through a :data:`Tick`;
the pipeline opens one per stage from a :data:`Progress` (the CLI's draws a bar on stderr).

>>> with no_progress("load", 100) as tick:
...     tick(10)
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager

__all__ = ["Tick", "Progress", "no_progress"]

#: ``tick(n)``: ``n`` more units of the stage's work are done.
Tick = Callable[[int], None]
#: ``progress(label, total)`` returns a context manager yielding a :data:`Tick` for that stage.
Progress = Callable[[str, int], AbstractContextManager[Tick]]


@contextlib.contextmanager
def no_progress(label: str, total: int) -> Iterator[Tick]:
    """A :data:`Progress` that shows nothing."""
    yield lambda n: None
