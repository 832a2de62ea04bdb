"""Bytes of one file to its front-matter mapping, or a :class:`ParseProblem`.

Front matter is found with python-frontmatter's YAML handler and parsed with
PyYAML's *safe* loader only (the C one when PyYAML was built with it): no tag can
construct Python objects or run code. Documents that use YAML anchors are parsed
by a loader that refuses aliases, which rules out "billion laughs" expansion;
real news items never use anchors.
"""

from __future__ import annotations

import re

import yaml
from frontmatter.default_handlers import YAMLHandler

__all__ = ["ParseProblem", "front_matter"]

try:  # the C loader is ~6x faster; fall back where PyYAML lacks libyaml
    _FastSafeLoader = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - depends on the PyYAML build
    _FastSafeLoader = yaml.SafeLoader

_HANDLER = YAMLHandler()
_ANCHOR = re.compile(r"(?:^|[\s\[{,:-])&[^\s,\[\]{}]+")
_BINARY_SNIFF = 8192


class ParseProblem(Exception):
    """Why a file cannot be used. ``code`` is a stable slug; ``reason`` is for people."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


class _NoAliasSafeLoader(yaml.SafeLoader):
    """Safe loader that rejects aliases (``*name``), so no document can expand."""

    def compose_node(self, parent, index):  # type: ignore[override]
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.composer.ComposerError(
                None, None, "YAML aliases are not allowed in front matter", event.start_mark
            )
        return super().compose_node(parent, index)


def front_matter(data: bytes) -> dict:
    """Return the front-matter mapping of a news-item file's bytes.

    Raises :class:`ParseProblem` with code ``empty``, ``binary``, ``not-utf8``,
    ``no-front-matter``, ``unterminated-front-matter``, ``invalid-yaml`` or
    ``not-a-mapping``. A UTF-8 BOM and CRLF line endings are accepted.
    """
    if not data.strip():
        raise ParseProblem("empty", "file is empty")
    if b"\x00" in data[:_BINARY_SNIFF]:
        raise ParseProblem("binary", "file is binary (contains NUL bytes), not a text file")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ParseProblem("not-utf8", f"not UTF-8: invalid byte at offset {exc.start}") from None
    text = text.removeprefix("\ufeff").replace("\r\n", "\n").strip()
    if not _HANDLER.detect(text):
        raise ParseProblem("no-front-matter", "no front matter (file does not start with '---')")
    try:
        fm, _content = _HANDLER.split(text)
    except ValueError:
        raise ParseProblem("unterminated-front-matter", "front matter has no closing '---' line") from None
    meta = _load_yaml(fm)
    if not isinstance(meta, dict):
        kind = "empty" if meta is None else type(meta).__name__
        raise ParseProblem("not-a-mapping", f"front matter is not a mapping of fields (it is {kind})")
    return meta


def _load_yaml(fm: str) -> object:
    loader = _NoAliasSafeLoader if _ANCHOR.search(fm) else _FastSafeLoader
    try:
        return yaml.load(fm, Loader=loader)  # noqa: S506 - both loaders are safe loaders
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f" at line {mark.line + 2}" if mark else ""  # +1 for 1-based, +1 for '---'
        raise ParseProblem("invalid-yaml", f"front matter is not valid YAML{where}: {exc.problem}") from None
    except (yaml.YAMLError, RecursionError, ValueError, OverflowError) as exc:
        raise ParseProblem("invalid-yaml", f"front matter is not valid YAML: {type(exc).__name__}") from None
