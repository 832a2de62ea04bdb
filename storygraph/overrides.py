"""Editorial corrections: put articles together, keep them apart, name stories, leave articles out.

An overrides file (YAML or JSON) that a person writes and keeps under version control::

    together:            # these articles are one story
      - [https://site-a.example/x, https://www.site-b.example/y/amp/]
    apart:               # these articles are never in one story (every pair of a list)
      - [https://site-a.example/x, 2023/04/25-diablo-4-mounts.md]
    titles:              # the story that holds this article is shown with this title
      https://site-a.example/x: "Diablo IV release date leaks before The Game Awards"
    ignore:              # leave these out of clustering (listed in skipped, code "ignored")
      - https://spam.example/press-release

Articles are named by URL, in any form (canonicalised as the graph stage does: AMP,
tracking parameters, ``www.``), or by file path relative to the content folder (the
``id`` of a JSON Lines item). :func:`read_overrides` checks the file's shape (errors name
the file and the entry); :func:`resolve` finds each name among the run's articles, lists
the names it cannot find, and refuses contradictions (a ``together`` group, or several
sharing articles, that holds an ``apart`` pair). The corrections themselves are applied
by :mod:`storygraph.corrections` after community detection, locally: only the stories
that hold a corrected article are recomputed.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from .errors import InputError
from .model import Article, Notice, NodeTable
from .urls import canonical_url

__all__ = ["Overrides", "Resolved", "OverridesError", "read_overrides", "resolve", "ignored_keys"]

KINDS = ("together", "apart", "titles", "ignore")


class OverridesError(InputError):
    """An overrides file that cannot be used: unreadable, malformed, or contradicting itself."""


@dataclass(frozen=True)
class Overrides:
    """The entries of an overrides file, as written (names not yet resolved)."""

    path: str
    sha256: str
    together: tuple[tuple[str, ...], ...] = ()
    apart: tuple[tuple[str, ...], ...] = ()
    titles: tuple[tuple[str, str], ...] = ()  # (article name, title), in file order
    ignore: tuple[str, ...] = ()


@dataclass
class Resolved:
    """Overrides resolved to node indices of one run."""

    together: list[tuple[int, list[int]]] = field(default_factory=list)  # (entry number, nodes)
    apart: list[tuple[int, list[int]]] = field(default_factory=list)
    titles: list[tuple[int, int, str]] = field(default_factory=list)  # (entry number, node, title)
    ignored: list[tuple[int, str]] = field(default_factory=list)  # (entry number, node id) of ignored articles
    unknown: list[dict] = field(default_factory=list)  # {"kind", "entry", "name"}
    notices: list[Notice] = field(default_factory=list)

    @property
    def corrected_nodes(self) -> set[int]:
        nodes = {i for _, group in self.together for i in group} | {i for _, group in self.apart for i in group}
        return nodes | {i for _, i, _ in self.titles}


def read_overrides(path: str | os.PathLike) -> Overrides:
    """Read and check an overrides file; raises :class:`OverridesError` naming the file and entry."""
    name = str(path)
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise OverridesError(f"{name}: cannot read: {exc.strerror or exc}") from None
    data = _parse(name, raw)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise OverridesError(f"{name}: expected a mapping with the keys {', '.join(KINDS)}")
    unknown = sorted(str(k) for k in data if k not in KINDS)
    if unknown:
        raise OverridesError(f"{name}: unknown key {unknown[0]!r}: expected {', '.join(KINDS)}")
    return Overrides(
        path=name,
        sha256=hashlib.sha256(raw).hexdigest(),
        together=_groups(name, "together", data.get("together")),
        apart=_groups(name, "apart", data.get("apart")),
        titles=_titles(name, data.get("titles")),
        ignore=_names(name, "ignore", data.get("ignore")),
    )


def _parse(name: str, raw: bytes):
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise OverridesError(f"{name}: not UTF-8 text (byte {exc.start})") from None
    if name.lower().endswith(".json"):
        try:
            return json.loads(text)
        except ValueError as exc:
            raise OverridesError(f"{name}: not valid JSON: {exc}") from None
    import yaml

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise OverridesError(f"{name}: not valid YAML: {str(exc).splitlines()[0]}") from None


def _groups(name: str, kind: str, value) -> tuple[tuple[str, ...], ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise OverridesError(f"{name}: {kind}: expected a list of lists of article names")
    out = []
    for number, group in enumerate(value, 1):
        if not isinstance(group, list) or len(group) < 2 or not all(_is_name(x) for x in group):
            raise OverridesError(f"{name}: {kind} entry {number}: expected a list of at least two article names "
                                 "(URLs or file paths)")
        out.append(tuple(str(x).strip() for x in group))
    return tuple(out)


def _titles(name: str, value) -> tuple[tuple[str, str], ...]:
    if value is None:
        return ()
    if not isinstance(value, dict):
        raise OverridesError(f"{name}: titles: expected a mapping of article name to title")
    out = []
    for number, (article, title) in enumerate(value.items(), 1):
        if not _is_name(article) or not isinstance(title, str) or not title.strip():
            raise OverridesError(f"{name}: titles entry {number}: expected an article name and a non-empty title")
        out.append((str(article).strip(), title.strip()))
    return tuple(out)


def _names(name: str, kind: str, value) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(_is_name(x) for x in value):
        raise OverridesError(f"{name}: {kind}: expected a list of article names (URLs or file paths)")
    return tuple(str(x).strip() for x in value)


def _is_name(value) -> bool:
    return isinstance(value, (str, int)) and not isinstance(value, bool) and str(value).strip() != ""


def ignored_keys(overrides: Overrides | None, articles: list[Article]) -> dict[str, int]:
    """Node keys (canonical URLs or ``id:`` keys) of the articles and related-only URLs that
    ``ignore`` names, each with its entry number; names that match nothing are left to
    :func:`resolve` to report."""
    if overrides is None or not overrides.ignore:
        return {}
    lookup = _article_lookup(articles)
    found: dict[str, int] = {}
    for number, article in enumerate(overrides.ignore, 1):
        key = lookup.get(article) or lookup.get(_canonical(article)) or (_canonical(article) if "://" in article else None)
        if key is not None:
            found.setdefault(key, number)
    return found


def resolve(overrides: Overrides, table: NodeTable, articles: list[Article], ignored: dict[str, int]) -> Resolved:
    """Find every name among the nodes (by canonical URL, an article's other URLs, or file
    path); unknown names become ``unknown`` entries with a notice each. Raises
    :class:`OverridesError` for contradictions, naming both entries."""
    index = {node.id: i for i, node in enumerate(table.nodes)}
    lookup = _article_lookup(articles)
    for node in table.nodes:
        for file in node.files:
            lookup.setdefault(file, node.id)
    out = Resolved()
    found_ignored = set(ignored)

    def find(kind: str, number: int, article: str) -> int | None:
        key = lookup.get(article) or lookup.get(_canonical(article)) or _canonical(article)
        if key in index:
            return index[key]
        if key in found_ignored:
            out.notices.append(Notice(overrides.path, f"{kind}[{number}]", f"{article}: ignored by this file's "
                                                                            "ignore list; left out of this entry"))
            return None
        out.unknown.append({"kind": kind, "entry": number, "name": article})
        out.notices.append(Notice(overrides.path, f"{kind}[{number}]", f"{article}: no such article in the input"))
        return None

    for kind, groups, target in (("together", overrides.together, out.together), ("apart", overrides.apart, out.apart)):
        for number, group in enumerate(groups, 1):
            nodes = sorted({i for i in (find(kind, number, a) for a in group) if i is not None})
            if len(nodes) >= 2:
                target.append((number, nodes))
    for number, (article, title) in enumerate(overrides.titles, 1):
        node = find("titles", number, article)
        if node is not None:
            out.titles.append((number, node, title))
    for number, article in enumerate(overrides.ignore, 1):
        key = lookup.get(article) or lookup.get(_canonical(article)) or _canonical(article)
        if key in found_ignored:
            out.ignored.append((number, key))
        else:
            out.unknown.append({"kind": "ignore", "entry": number, "name": article})
            out.notices.append(Notice(overrides.path, f"ignore[{number}]", f"{article}: no such article in the input"))
    _check_contradictions(overrides.path, out)
    return out


def _check_contradictions(path: str, resolved: Resolved) -> None:
    """A ``together`` set (groups sharing articles are one set) must not hold an ``apart`` pair."""
    parent: dict[int, int] = {}

    def root(i: int) -> int:
        while parent.get(i, i) != i:
            i = parent[i]
        return i

    entries_of: dict[int, list[int]] = {}
    for number, group in resolved.together:
        for i in group[1:]:
            parent[root(i)] = root(group[0])
    for number, group in resolved.together:
        entries_of.setdefault(root(group[0]), []).append(number)
    for number, group in resolved.apart:
        roots = [root(i) for i in group]
        for a in range(len(group)):
            for b in range(a + 1, len(group)):
                if roots[a] == roots[b]:
                    joined = ", ".join(str(n) for n in sorted(set(entries_of.get(roots[a], []))))
                    raise OverridesError(f"{path}: apart entry {number} keeps apart two articles that together "
                                         f"entr{'y' if ',' not in joined else 'ies'} {joined} put in one story")


def _article_lookup(articles: list[Article]) -> dict[str, str]:
    """Name -> node key: file paths, canonical URLs and the canonical forms of other URLs."""
    lookup: dict[str, str] = {}
    for article in sorted(articles, key=lambda a: a.file):
        key = article.key or canonical_url(article.url)
        lookup.setdefault(article.file, key)
        lookup.setdefault(key, key)
        for alt in article.alt_keys:
            lookup.setdefault(alt, key)
    return lookup


def _canonical(name: str) -> str:
    return canonical_url(name) if "://" in name else name
