"""Exception types. Each message names the file, option or field at fault."""

from __future__ import annotations

__all__ = [
    "StorygraphError",
    "OptionsError",
    "InputError",
    "StrictModeError",
    "ExportError",
    "DependencyError",
    "ItemProblem",
]


class StorygraphError(Exception):
    """Base class for every error storygraph raises on purpose."""


class OptionsError(StorygraphError, ValueError):
    """An option has a value outside its allowed range or set."""

    def __init__(self, name: str, value: object, expected: str) -> None:
        self.name = name
        self.value = value
        super().__init__(f"option {name}={value!r}: expected {expected}")


class InputError(StorygraphError):
    """The content path itself cannot be used (missing, not a folder or .jsonl file)."""


class StrictModeError(StorygraphError):
    """Raised under ``strict=True`` when any input file was skipped."""

    def __init__(self, skipped: list) -> None:
        self.skipped = skipped
        first = skipped[0]
        more = f" (and {len(skipped) - 1} more)" if len(skipped) > 1 else ""
        super().__init__(f"strict mode: {first.file}: {first.reason}{more}")


class ExportError(StorygraphError):
    """An output cannot be written: unknown format or unwritable path."""


class DependencyError(StorygraphError):
    """An optional feature was asked for and its package is not installed; says what to install."""


class ItemProblem(Exception):
    """Why one input item (a file, a JSON Lines line) cannot be used. ``code`` is a stable
    slug; ``reason`` is for people. Raised by :mod:`storygraph.parse` and
    :mod:`storygraph.fields`; a source turns it into a :class:`~storygraph.model.Skipped`
    naming the item, so it never leaves the load stage."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason
