"""Bytes of one file to its front-matter mapping, or a :class:`ParseProblem`.

Front matter is found with python-frontmatter's YAML handler and parsed by
yaml-rs (a Rust YAML parser, ~15x faster than PyYAML's C loader on the real
corpus, with identical results on all of it) or, where its wheel is missing, by
PyYAML's *safe* loader. Either way no tag can construct Python objects or run
code, aliases are refused (no "billion laughs" expansion; real news items never
use them) and a key given twice makes the file invalid rather than silently
keeping one value.
"""

from __future__ import annotations

import re

import yaml
from frontmatter.default_handlers import YAMLHandler

__all__ = ["ParseProblem", "front_matter"]

try:
    import yaml_rs
except ImportError:  # pragma: no cover - exercised by tests that hide yaml_rs
    yaml_rs = None

try:  # the C loader is ~6x faster than the pure-Python one
    _BaseSafeLoader = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - depends on the PyYAML build
    _BaseSafeLoader = yaml.SafeLoader

_HANDLER = YAMLHandler()
# Anchors (&a) and tags (!x, !!python/...) are never in real news items. A document
# that seems to hold one goes to PyYAML's pure-Python safe loader, which refuses
# aliases and unknown tags with a message (yaml-rs would drop an unknown tag silently).
# Only where a node starts (line start, after "key: ", "- ", "[" or ","), so "&amp;"
# inside a quoted title does not count.
_ANCHOR_OR_TAG = re.compile(r"(?:^[ \t]*|[:,\[{-][ \t]+|[\[{,])[&!][^\s,\[\]{}]", re.MULTILINE)
_BINARY_SNIFF = 8192


class ParseProblem(Exception):
    """Why a file cannot be used. ``code`` is a stable slug; ``reason`` is for people."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


class _DuplicateKey(Exception):
    pass


class _StrictConstructorMixin:
    """Refuse a mapping key given twice (PyYAML would silently keep the last)."""

    def construct_mapping(self, node, deep=False):  # type: ignore[no-untyped-def]
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)  # type: ignore[attr-defined]
            if isinstance(key, (str, int, float, bool)) or key is None:
                if key in seen:
                    raise _DuplicateKey(f"key {str(key)[:60]!r} appears twice (line {key_node.start_mark.line + 2})")
                seen.add(key)
        return super().construct_mapping(node, deep)  # type: ignore[misc]


class _FastSafeLoader(_StrictConstructorMixin, _BaseSafeLoader):  # type: ignore[misc,valid-type]
    pass


class _NoAliasSafeLoader(_StrictConstructorMixin, yaml.SafeLoader):
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
    if yaml_rs is not None and not _ANCHOR_OR_TAG.search(fm):
        return _load_yaml_rs(fm)
    return _load_pyyaml(fm)


if yaml_rs is not None:
    _NO_ALIASES = yaml_rs.AliasLimits(
        max_total_replayed_events=0, max_replay_stack_depth=64, max_alias_expansions_per_anchor=0
    )


def _load_yaml_rs(fm: str) -> object:
    try:
        return yaml_rs.loads(fm, alias_limits=_NO_ALIASES, duplicate_key_policy=yaml_rs.DuplicateKeyPolicy.Error)
    except yaml_rs.YAMLDecodeError as exc:
        message = str(exc).splitlines()[0][:200]
        if "duplicate" in message:
            raise ParseProblem("duplicate-key", f"front matter has a {message}") from None
        if "alias" in message:
            message = "YAML aliases are not allowed in front matter"
        raise ParseProblem("invalid-yaml", f"front matter is not valid YAML: {message}") from None
    except (RecursionError, ValueError, OverflowError) as exc:
        raise ParseProblem("invalid-yaml", f"front matter is not valid YAML: {type(exc).__name__}") from None


def _load_pyyaml(fm: str) -> object:
    loader = _NoAliasSafeLoader if _ANCHOR_OR_TAG.search(fm) else _FastSafeLoader
    try:
        return yaml.load(fm, Loader=loader)  # noqa: S506 - both loaders are safe loaders
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f" at line {mark.line + 2}" if mark else ""  # +1 for 1-based, +1 for '---'
        raise ParseProblem("invalid-yaml", f"front matter is not valid YAML{where}: {exc.problem}") from None
    except _DuplicateKey as exc:
        raise ParseProblem("duplicate-key", f"front matter has a duplicate {exc}") from None
    except (yaml.YAMLError, RecursionError, ValueError, OverflowError) as exc:
        raise ParseProblem("invalid-yaml", f"front matter is not valid YAML: {type(exc).__name__}") from None
