"""Plain data passed between pipeline stages."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

__all__ = ["RelatedRef", "Article", "Skipped", "Notice", "LoadResult"]


@dataclass(frozen=True)
class RelatedRef:
    """One entry of an article's ``related`` list: another article's coverage."""

    url: str
    title: str = ""
    excerpt: str = ""
    published: datetime | None = None
    provider: str = ""
    domain: str = ""
    type: str = ""
    quality: int | None = None
    key: str = ""  # canonical URL, filled by the load stage


@dataclass(frozen=True)
class Article:
    """One usable input file, normalised. ``file`` is relative to the content root."""

    file: str
    url: str
    title: str
    excerpt: str = ""
    published: datetime | None = None
    provider: str = ""
    domain: str = ""
    topics: tuple[str, ...] = ()
    type: str = ""
    quality: int | None = None
    alt_urls: tuple[str, ...] = ()
    related: tuple[RelatedRef, ...] = ()
    key: str = ""  # canonical URL (or "id:<id>" for a JSON Lines item without URL), from the load stage
    alt_keys: tuple[str, ...] = ()  # canonical forms of alt_urls


@dataclass(frozen=True, order=True)
class Skipped:
    """An input file that could not be used. ``code`` is stable; ``reason`` is for people."""

    file: str
    code: str
    reason: str


@dataclass(frozen=True, order=True)
class Notice:
    """A problem that did not stop a file from being used (e.g. an unparseable date)."""

    file: str
    field: str
    message: str


@dataclass
class LoadResult:
    """Everything the load stage found under the content root."""

    articles: list[Article] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    notices: list[Notice] = field(default_factory=list)
    ignored: int = 0  # files that are not .md (or blank JSON Lines lines)
    inputs: int = 0  # .md files, or non-blank JSON Lines lines
    kind: str = "folder"  # or "jsonl"
