"""Bytes of one file to its front-matter mapping, or an :class:`~storygraph.errors.ItemProblem`.

Front matter is found with python-frontmatter's boundary pattern and parsed by
yaml-rs (a Rust YAML parser, ~15x faster than PyYAML's C loader on the real
corpus, with identical results on all of it) or, where its wheel is missing, by
PyYAML's *safe* loader. Either way no tag can construct Python objects or run
code, aliases are refused (no "billion laughs" expansion; real news items never
use them) and a key given twice makes the file invalid rather than silently
keeping one value.

Work is bounded whatever the input. yaml-rs recurses on the native stack and
crashes the interpreter (SIGSEGV) on a few thousand nested block collections,
and PyYAML builds a Python object per node; so every document that could be
deep or large, and every document PyYAML is to parse, is first walked as a
stream of libyaml events (no objects built, stopping early) and refused when it
nests deeper than :data:`MAX_DEPTH`, holds more than :data:`MAX_NODES` nodes,
uses an alias or holds more than one document. Real news items nest 3 deep and
hold fewer than 6,000 nodes. The cheap test for "could be deep or large" keeps
yaml-rs's speed on real items.
"""

from __future__ import annotations

import datetime
import itertools
import math
import operator
import re

import yaml
from frontmatter.default_handlers import YAMLHandler

from .errors import ItemProblem

__all__ = ["front_matter", "MAX_DEPTH", "MAX_NODES"]

try:
    import yaml_rs
except ImportError:  # pragma: no cover - exercised by tests that hide yaml_rs
    yaml_rs = None

try:  # the C loader is ~6x faster than the pure-Python one
    _BaseSafeLoader = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - depends on the PyYAML build
    _BaseSafeLoader = yaml.SafeLoader

#: Deepest nesting of collections accepted (real items: 3).
MAX_DEPTH = 64
#: Most YAML nodes accepted in one front matter (real items: under 6,000).
MAX_NODES = 100_000

#: python-frontmatter's boundary line: "---" or longer, then white space only.
_BOUNDARY = YAMLHandler.FM_BOUNDARY
_BINARY_SNIFF = 8192
# A tag ("!x", "!!python/object") can only start a node: after white space, an indicator
# or the start. Documents that may hold one go to PyYAML, which refuses unknown tags:
# yaml-rs drops them silently ("!!python/tuple [1]" reads as [1]). Over-approximate:
# an innocent file sent to PyYAML costs time, never correctness. Starting the pattern
# with "!" keeps it fast. (yaml-rs refuses every alias itself; for PyYAML the event walk does.)
_MAYBE_TAG = re.compile(r"!(?<![^\s:,\[{?-]!)[^\s,\[\]{}]")
_MAYBE_ANCHOR = re.compile(r"&(?<![^\s:,\[{?-]&)[^\s,\[\]{}]")
# Block nesting needs indentation or "- - -" / "? ? ?" on one line: a short line
# prefix bounds it. Flow nesting needs brackets. Either over a budget: walk the events.
_LONG_PREFIX = re.compile(r"\n[ \t?:-]{24}")
_BRACKET_BUDGET = 24
# yaml-rs reads a quoted scalar that looks like a date or a time ("2024-01-01", '12:30', or an
# escaped "\u0032024-01-01") as a date or time, where YAML (and PyYAML) keep a quoted scalar
# text: a title "2024-01-01" would be "not text". A document that may hold one (a quote, then
# digits and "-" or ":", or digits and an escape) has yaml-rs's result checked for a date or time
# anywhere but publishedDateTime (_text_holds_a_date), and one found sends it to PyYAML, which
# tells a quoted scalar from a plain one. So a corpus that quotes its dates keeps yaml-rs's
# speed (a check of ~25 us an item), and the rest pay three scans that start with a literal
# (~10 us; one leading ["'] class costs 57 us on items whose values are all quoted).
_MAYBE_QUOTED_DATE = (re.compile(r'"\d+[-:]'), re.compile(r"'\d+[-:]"), re.compile(r'"\d*\\'))
# A line starting "--- x" or "..." inside the block may start a second YAML document.
_DOCUMENT_MARKER = re.compile(r"\n(?:---|\.\.\.)")
# Past this size a document is walked first whatever it looks like (real maximum: 143 KB):
# below it, yaml-rs builds at most ~400,000 nodes (0.2 s), PyYAML at most ~100,000 (0.7 s).
_WALK_ABOVE = 256 * 1024
_PYYAML_WALK_ABOVE = 64 * 1024


class _DuplicateKey(Exception):
    pass


class _SafeLoader(_BaseSafeLoader):  # type: ignore[misc,valid-type]
    """PyYAML's safe loader, refusing duplicate keys and keeping odd scalars as text."""

    def construct_mapping(self, node, deep=False):  # type: ignore[no-untyped-def]
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            try:  # (type, key): YAML's 1 and true are different keys, Python's are equal
                duplicate = (type(key), key) in seen
            except TypeError:  # unhashable: PyYAML reports it below
                continue
            if duplicate:
                raise _DuplicateKey(f"key {_preview(key)} appears twice (line {key_node.start_mark.line + 2})")
            seen.add((type(key), key))
        return super().construct_mapping(node, deep)

    def construct_lenient_timestamp(self, node):  # type: ignore[no-untyped-def]
        """A date-like scalar that is no real date (2024-02-30) stays text, as with yaml-rs,
        so the field check can keep the article undated with a notice instead of
        losing the whole file."""
        try:
            return super().construct_yaml_timestamp(node)
        except (ValueError, OverflowError, AttributeError, TypeError):
            return self.construct_scalar(node)

    def construct_bounded_int(self, node):  # type: ignore[no-untyped-def]
        """An integer too long to convert (over ``sys.get_int_max_str_digits()``) is
        infinite for our purposes; yaml-rs returns it as an int the field check refuses."""
        try:
            return super().construct_yaml_int(node)
        except ValueError:
            if re.fullmatch(r"[-+]?[0-9_]+", str(node.value)):
                return -math.inf if str(node.value).startswith("-") else math.inf
            raise


_SafeLoader.add_constructor("tag:yaml.org,2002:timestamp", _SafeLoader.construct_lenient_timestamp)
_SafeLoader.add_constructor("tag:yaml.org,2002:int", _SafeLoader.construct_bounded_int)


def front_matter(data: bytes) -> dict:
    """Return the front-matter mapping of a news-item file's bytes.

    Raises :class:`ItemProblem` with code ``empty``, ``binary``, ``not-utf8``,
    ``no-front-matter``, ``unterminated-front-matter``, ``invalid-yaml``,
    ``duplicate-key``, ``too-deep``, ``too-many-nodes`` or ``not-a-mapping``; never
    anything else. A UTF-8 BOM and CRLF line endings are accepted.
    """
    if not data.strip():
        raise ItemProblem("empty", "file is empty")
    if b"\x00" in data[:_BINARY_SNIFF]:
        raise ItemProblem("binary", "file is binary (contains NUL bytes), not a text file")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ItemProblem("not-utf8", f"not UTF-8: invalid byte at offset {exc.start}") from None
    # YAML reads CR, LF and CRLF alike as line breaks; the checks below look for "\n" only.
    text = text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n").strip()
    opening = _BOUNDARY.match(text)
    if opening is None:
        raise ItemProblem("no-front-matter", "no front matter (file does not start with '---')")
    fm = _block(text, opening.end())
    if fm is None:
        raise ItemProblem("unterminated-front-matter", "front matter has no closing '---' line")
    meta = _load_yaml(fm)
    if not isinstance(meta, dict):
        kind = "empty" if meta is None else type(meta).__name__
        raise ItemProblem("not-a-mapping", f"front matter is not a mapping of fields (it is {kind})")
    return meta


def _block(text: str, start: int) -> str | None:
    """The front matter: ``text`` from ``start`` (the end of the opening boundary) to the next
    boundary line, or None when there is none. The same block as python-frontmatter's
    ``YAMLHandler.split``, which runs the boundary pattern at every character of the front
    matter (8% of a real file's parsing): a boundary starts a line with "---", so only those
    places are tried, in order, with the same pattern."""
    at = start  # the opening boundary ends at a line break (or the end), never at a "---"
    while (at := text.find("\n---", at)) != -1:
        at += 1
        closing = _BOUNDARY.match(text, at)
        if closing is not None:
            return text[start:at]
    return None


def _load_yaml(fm: str) -> object:
    maybe_tag = _MAYBE_TAG.search(fm) is not None
    if yaml_rs is not None and not maybe_tag:
        if _maybe_hostile(fm, _WALK_ABOVE):
            _walk_events(fm)
        found = _load_yaml_rs(fm)
        if not any(p.search(fm) for p in _MAYBE_QUOTED_DATE) or not _text_holds_a_date(found):
            return found
    # PyYAML's C loader has no alias switch and builds every node: walk first when the
    # document may hold an alias (it then holds an anchor) or many nodes.
    if maybe_tag or _MAYBE_ANCHOR.search(fm) or _maybe_hostile(fm, _PYYAML_WALK_ABOVE):
        _walk_events(fm)
    return _load_pyyaml(fm)


def _text_holds_a_date(found: object) -> bool:
    """Whether a value other than ``publishedDateTime`` (top level, ``provider``, each ``related``
    entry and its ``provider``), or a top-level ``topics`` item, is a date or time: yaml-rs's
    reading of a quoted date-like scalar, or a plain one where text belongs (which PyYAML reads
    as a date too). Counted with maps in C, not a loop per value."""
    if type(found) is not dict:
        return False
    related = found.get("related")
    entries = [e for e in related if type(e) is dict] if type(related) is list else []
    maps = [found, *entries]
    maps += [p for p in map(_PROVIDER, maps) if type(p) is dict]
    values = itertools.chain.from_iterable(map(dict.values, maps))
    dates = sum(map(_DATE_TYPES.__contains__, map(type, values)))
    if dates > sum(map(_DATE_TYPES.__contains__, map(type, map(_PUBLISHED, maps)))):
        return True
    topics = found.get("topics")
    return type(topics) is list and not _DATE_TYPES.isdisjoint(map(type, topics))


_PROVIDER = operator.methodcaller("get", "provider")
_PUBLISHED = operator.methodcaller("get", "publishedDateTime")
_DATE_TYPES = frozenset({datetime.date, datetime.datetime, datetime.time})  # what yaml-rs makes


def _maybe_hostile(fm: str, walk_above: int) -> bool:
    """Cheap test (~5 µs per real item) for what a parser must not be handed unchecked."""
    return (
        len(fm) > walk_above
        or fm.count("[") + fm.count("{") > _BRACKET_BUDGET
        or _LONG_PREFIX.search(fm) is not None
        or _DOCUMENT_MARKER.search(fm) is not None
    )


def _walk_events(fm: str) -> None:
    """Refuse aliases, a second document, nesting over MAX_DEPTH and over MAX_NODES nodes.

    Reads libyaml's event stream only, stopping at the first problem, so time and
    memory stay bounded by the limits whatever the document holds.
    """
    depth = nodes = documents = 0
    try:
        for event in yaml.parse(fm, Loader=_BaseSafeLoader):
            if isinstance(event, yaml.AliasEvent):
                _refuse(event, "invalid-yaml", "YAML aliases are not allowed in front matter")
            elif isinstance(event, yaml.DocumentStartEvent):
                documents += 1
                if documents > 1:
                    _refuse(event, "invalid-yaml", "front matter holds more than one YAML document")
            elif isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > MAX_DEPTH:
                    _refuse(event, "too-deep", f"front matter nests deeper than {MAX_DEPTH} levels")
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
            if isinstance(event, yaml.NodeEvent):
                nodes += 1
                if nodes > MAX_NODES:
                    _refuse(event, "too-many-nodes", f"front matter holds more than {MAX_NODES} values")
    except ItemProblem:
        raise
    except yaml.MarkedYAMLError as exc:
        raise _invalid(exc) from None
    except Exception as exc:  # noqa: BLE001 - hostile input: any failure of the parser means "invalid"
        raise _unexpected(exc) from None


def _unexpected(exc: Exception) -> ItemProblem:
    # e.g. KeyError('maybe') from "!!bool maybe": name the error and its value, briefly
    detail = (str(exc).splitlines() or [""])[0][:120]
    return ItemProblem("invalid-yaml", f"front matter is not valid YAML: {type(exc).__name__} {detail}".rstrip())


def _refuse(event: yaml.Event, code: str, message: str) -> None:
    line = event.start_mark.line + 2 if event.start_mark else 0  # +1 for 1-based, +1 for '---'
    raise ItemProblem(code, f"{message} (line {line})")


def _invalid(exc: yaml.MarkedYAMLError) -> ItemProblem:
    mark = exc.problem_mark or exc.context_mark
    where = f"line {mark.line + 2}" if mark else "?"  # +1 for 1-based, +1 for '---'
    if "nesting depth" in str(exc.problem):  # libyaml's own limit, met while scanning ahead
        return ItemProblem("too-deep", f"front matter nests deeper than {MAX_DEPTH} levels ({where})")
    return ItemProblem("invalid-yaml", f"front matter is not valid YAML at {where}: {exc.problem}")


if yaml_rs is not None:
    _NO_ALIASES = yaml_rs.AliasLimits(
        max_total_replayed_events=0, max_replay_stack_depth=64, max_alias_expansions_per_anchor=0
    )


def _load_yaml_rs(fm: str) -> object:
    try:
        return yaml_rs.loads(fm, alias_limits=_NO_ALIASES, duplicate_key_policy=yaml_rs.DuplicateKeyPolicy.Error)
    except yaml_rs.YAMLDecodeError as exc:
        message = (str(exc).splitlines() or [""])[0][:200]
        if "duplicate" in message:
            raise ItemProblem("duplicate-key", f"front matter has a {message}") from None
        if "alias" in message:
            message = "YAML aliases are not allowed in front matter"
        raise ItemProblem("invalid-yaml", f"front matter is not valid YAML: {message}") from None
    except Exception as exc:  # noqa: BLE001 - hostile input: any failure of the parser means "invalid"
        raise _unexpected(exc) from None


def _load_pyyaml(fm: str) -> object:
    try:
        return yaml.load(fm, Loader=_SafeLoader)  # noqa: S506 - a safe loader
    except yaml.MarkedYAMLError as exc:
        raise _invalid(exc) from None
    except _DuplicateKey as exc:
        raise ItemProblem("duplicate-key", f"front matter has a duplicate {exc}") from None
    except Exception as exc:  # noqa: BLE001 - e.g. KeyError from "!!bool maybe": hostile input is "invalid"
        raise _unexpected(exc) from None


def _preview(value: object) -> str:
    """A short repr for messages; never raises (a 5,000-digit int cannot be printed)."""
    try:
        return repr(value)[:60]
    except ValueError:
        return f"<{type(value).__name__}>"
