"""Front-matter mapping to :class:`~storygraph.model.Article`: types checked, values cleaned.

Every field problem either skips the file (no usable title or URL) or is kept as
a :class:`~storygraph.model.Notice` naming the file and field, never dropped silently.
"""

from __future__ import annotations

import math
import operator
import sys
from datetime import date, datetime, timezone
from urllib.parse import urlsplit

from .errors import ItemProblem
from .model import Article, Notice, RelatedRef
from .text import EXCERPT_LIMIT, TITLE_LIMIT, clean_text, clean_title
from .urls import canonical_url, is_web_url

__all__ = ["to_article", "URL_FIELDS"]

#: Where an item's URL may be, in order of preference. Videos carry only originalUrl.
URL_FIELDS = ("webUrl", "originalUrl", "ampWebUrl", "cdnAmpWebUrl")
#: Longest URL kept (real maximum: ~600 characters).
URL_LIMIT = 8192
#: Most ``related`` entries and ``topics`` read per item (real maxima: 179 and 9).
RELATED_LIMIT = 1000
TOPICS_LIMIT = 100


def to_article(meta: dict, file: str, id_stands_for_url: bool = False) -> tuple[Article, list[Notice]]:
    """Normalise one front-matter mapping. Raises :class:`ItemProblem` (no title, no URL).

    With ``id_stands_for_url`` (JSON Lines items, whose ``file`` is their id) an
    item without a URL is kept with ``url=""`` and keyed ``id:<its name>``.
    The canonical keys (:func:`storygraph.urls.canonical_url`) of the article and of its
    related entries are filled in here, once per item, so the parse cache and workers
    carry them.
    """
    notes: list[Notice] = []
    title = _title(meta, file, notes)
    urls = _urls(meta, file, notes)
    if not urls and not id_stands_for_url:
        raise ItemProblem("no-url", "no usable URL (webUrl, originalUrl or ampWebUrl)")
    urls = urls or [""]
    provider, domain = _provider(meta.get("provider"), urls[0], file, "provider", notes)
    article = Article(
        file=file,
        url=urls[0],
        title=title,
        excerpt=_text(meta, "excerpt" if meta.get("excerpt") not in (None, "") else "text", file, notes),
        published=_published(meta.get("publishedDateTime"), file, "publishedDateTime", notes),
        # labels interned: a million articles name a few thousand publishers, and every related
        # entry repeats them; shared strings are pickled once per batch sent to the parent
        provider=sys.intern(provider),
        domain=sys.intern(domain),
        topics=tuple(map(sys.intern, _topics(meta.get("topics"), file, notes))),
        type=sys.intern(_text(meta, "type", file, notes, limit=40) or "article"),
        quality=_quality(meta.get("quality"), file, "quality", notes),
        alt_urls=tuple(urls[1:]),
        related=_related(meta.get("related"), file, notes),
        key=canonical_url(urls[0]) if urls[0] else f"id:{file}",
        alt_keys=tuple(canonical_url(u) for u in urls[1:]),
    )
    return article, notes


def _title(meta: dict, file: str, notes: list[Notice]) -> str:
    value = meta.get("title")
    if value is None:
        raise ItemProblem("no-title", "front matter has no 'title'")
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise ItemProblem("bad-title", f"'title' is not text (it is {type(value).__name__})")
    raw = _as_text(value)
    if raw is None:  # .nan, .inf, or an integer of thousands of digits
        raise ItemProblem("bad-title", "'title' is a number that is not finite or is too large")
    title = clean_title(raw)
    if not title:
        raise ItemProblem("no-title", "'title' is empty")
    if len(raw) > TITLE_LIMIT:
        notes.append(Notice(file, "title", f"cut to {TITLE_LIMIT} characters"))
    return title


def _urls(meta: dict, file: str, notes: list[Notice]) -> list[str]:
    urls: list[str] = []
    for name in URL_FIELDS:
        value = meta.get(name)
        if value is None or value == "":
            continue
        if _usable_url(value):
            if value.strip() not in urls:
                urls.append(value.strip())
        else:
            notes.append(Notice(file, name, f"not an http(s) URL (or longer than {URL_LIMIT} characters); ignored"))
    return urls


def _usable_url(value: object) -> bool:
    # Length first: a 100,000-character "URL" is refused without parsing it.
    return isinstance(value, str) and len(value) <= URL_LIMIT and is_web_url(value)


def _text(meta: dict, name: str, file: str, notes: list[Notice], limit: int = EXCERPT_LIMIT) -> str:
    value = meta.get(name)
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        notes.append(Notice(file, name, f"not text (it is {type(value).__name__}); ignored"))
        return ""
    text = _as_text(value)
    if text is None:
        notes.append(Notice(file, name, "not a finite number; ignored"))
        return ""
    if len(text) > limit:
        notes.append(Notice(file, name, f"cut to {limit} characters"))
    return clean_text(text, limit)


def _published(value: object, file: str, name: str, notes: list[Notice]) -> datetime | None:
    """UTC datetime. Naive values are taken as UTC (with a notice); bad ones become None."""
    if value is None or value == "":
        return None
    parsed: datetime | None = None
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, date):
        # a bare date has day precision, no zone to miss: midnight UTC
        return datetime(value.year, value.month, value.day, tzinfo=timezone.utc)
    elif isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            parsed = None
    if parsed is None:
        notes.append(Notice(file, name, f"not a date: {_preview(value)}; treated as undated"))
        return None
    if parsed.tzinfo is None:
        notes.append(Notice(file, name, "has no time zone; taken as UTC"))
        return parsed.replace(tzinfo=timezone.utc)
    try:
        return parsed.astimezone(timezone.utc)
    except (OverflowError, ValueError):
        notes.append(Notice(file, name, "out of range; treated as undated"))
        return None


def _provider(value: object, url: str, file: str, name: str, notes: list[Notice]) -> tuple[str, str]:
    """(name, domain). The domain falls back to the URL's host: it is what identifies an outlet."""
    pname, domain = "", ""
    if isinstance(value, dict):
        pname = _scalar_text(value.get("name"))
        domain = _scalar_text(value.get("domain")).lower()
    elif isinstance(value, str):
        pname = value
    elif value is not None:
        notes.append(Notice(file, name, f"not a mapping (it is {type(value).__name__}); ignored"))
    if not domain:
        host = (urlsplit(url).hostname or "").lower()
        domain = host.removeprefix("www.")
    return clean_title(pname)[:200], clean_title(domain)[:200]


def _topics(value: object, file: str, notes: list[Notice]) -> tuple[str, ...]:
    if value is None:
        return ()
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list):
        notes.append(Notice(file, "topics", f"not a list (it is {type(value).__name__}); ignored"))
        return ()
    topics: dict[str, None] = {}  # ordered set: a hostile list must not cost N x N
    for item in items:  # null items are a measured quirk of real files: they carry nothing
        text = clean_title(_scalar_text(item)[:1000])[:200]
        if text and text not in topics:
            if len(topics) == TOPICS_LIMIT:
                notes.append(Notice(file, "topics", f"more than {TOPICS_LIMIT} topics; the first {TOPICS_LIMIT} kept"))
                break
            topics[text] = None
    return tuple(topics)


def _related(value: object, file: str, notes: list[Notice]) -> tuple[RelatedRef, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        notes.append(Notice(file, "related", f"not a list (it is {type(value).__name__}); ignored"))
        return ()
    if len(value) > RELATED_LIMIT:
        notes.append(Notice(file, "related", f"{len(value)} entries; the first {RELATED_LIMIT} kept"))
        value = value[:RELATED_LIMIT]
    refs: list[RelatedRef] = []
    for i, entry in enumerate(value):
        name = f"related[{i}]"
        if not isinstance(entry, dict):
            notes.append(Notice(file, name, "not a mapping; ignored"))
            continue
        ref, said = _related_entry(entry)
        if said:
            notes.extend(Notice(file, name + said_of.field, said_of.message) for said_of in said)
        if ref is not None:
            refs.append(ref)
    return tuple(refs)


#: Entries already read in this process, by :func:`_entry_key`. The same coverage is listed by
#: many items of a story (on the real corpus 94% of the entries repeat one already read), and
#: reading one (URL checks and canonical form, text cleaning, date) is most of a file's work.
_SEEN: dict[tuple, tuple[RelatedRef | None, tuple[Notice, ...]]] = {}
_SEEN_LIMIT = 1 << 14
_SEEN_TEXT_LIMIT = 2048  # characters of text in a remembered entry: the memory is ~16k x 2 KB at most
_ENTRY_FIELDS = URL_FIELDS + ("title", "excerpt", "publishedDateTime", "type", "quality")


def forget_entries() -> None:
    """Drop the entries remembered by this process (the load calls it when it ends: the memory
    serves one load, and kept it would hold up to 16k entries between runs of a long-lived service)."""
    _SEEN.clear()


def _related_entry(entry: dict) -> tuple[RelatedRef | None, tuple[Notice, ...]]:
    """One ``related`` entry read, with its notices (``field`` relative to the entry's name)."""
    key = _entry_key(entry)
    if key is None:
        return _read_entry(entry)
    known = _SEEN.get(key)
    if known is None:
        if len(_SEEN) >= _SEEN_LIMIT:
            _SEEN.clear()
        known = _SEEN[key] = _read_entry(entry)
    return known


def _entry_key(entry: dict) -> tuple | None:
    """What the reading of ``entry`` depends on, exactly: each field read (a mapping provider's
    name and domain) with the types (1, 1.0 and True are equal in Python but read
    differently), floats by ``repr`` (-0.0 prints unlike 0.0) and dates with their UTC
    offset (one instant in two zones prints differently); None (not remembered) for values
    of other kinds or with more text than :data:`_SEEN_TEXT_LIMIT`."""
    values = [*map(entry.get, _ENTRY_FIELDS)]
    provider = entry.get("provider")
    if type(provider) is dict:  # only its name and domain are read; the length tells it apart
        values += (provider.get("name"), provider.get("domain"))
    else:
        values.append(provider)
    kinds = tuple(map(type, values))
    plan = _PLANS.get(kinds) or _plan(kinds)
    if plan is _FORGET:
        return None
    texts, converted = plan
    if sum(map(len, texts(values))) > _SEEN_TEXT_LIMIT:
        return None  # a long excerpt is not worth holding (and a hostile one could be megabytes)
    for i in converted:
        values[i] = _exact(values[i])
    return tuple(values), kinds


_PLAIN = frozenset({str, int, bool, type(None)})
_CONVERTED = _PLAIN | {float, datetime, date}
#: For each tuple of value types met: which values are text and which need :func:`_exact`. The
#: entries of a file mostly share one tuple, so the per-value type tests run once per tuple.
_PLANS: dict[tuple, tuple] = {}
_FORGET = ((), ())  # the plan of a tuple holding a type that is never remembered


def _plan(kinds: tuple) -> tuple:
    if len(_PLANS) >= 1024:  # hostile input can combine types without end
        _PLANS.clear()
    if not _CONVERTED.issuperset(kinds):
        plan = _FORGET
    else:
        at = [i for i, kind in enumerate(kinds) if kind is str]
        texts = operator.itemgetter(*at) if len(at) > 1 else (lambda v, i=at[0]: (v[i],)) if at else (lambda v: ())
        plan = texts, tuple(i for i, kind in enumerate(kinds) if kind not in _PLAIN)
    _PLANS[kinds] = plan
    return plan


def _exact(value: object) -> object:
    if type(value) is float:
        return repr(value)
    if type(value) is datetime:
        return value, value.utcoffset()  # equal, with the same offset: the same wall time
    return value


def _read_entry(entry: dict) -> tuple[RelatedRef | None, tuple[Notice, ...]]:
    notes: list[Notice] = []
    # the first usable URL is the entry's (an entry keeps no others): the rest are not checked
    url = next((u.strip() for f in URL_FIELDS if _usable_url(u := entry.get(f))), None)
    if url is None:
        return None, (Notice("", "", "has no usable URL; ignored"),)
    pname, domain = _provider(entry.get("provider"), url, "", ".provider", notes)
    ref = RelatedRef(
        url=url,
        title=clean_title(_scalar_text(entry.get("title"))),
        excerpt=clean_text(_scalar_text(entry.get("excerpt"))),
        published=_published(entry.get("publishedDateTime"), "", ".publishedDateTime", notes),
        provider=sys.intern(pname),
        domain=sys.intern(domain),
        type=sys.intern(clean_title(_scalar_text(entry.get("type")))[:40]),
        quality=_quality(entry.get("quality"), "", ".quality", notes),
        key=canonical_url(url),
    )
    return ref, tuple(notes)


def _scalar_text(value: object) -> str:
    """Text of a string or finite number; "" for anything else."""
    if isinstance(value, bool):
        return ""
    return _as_text(value) or ""


def _as_text(value: object) -> str | None:
    """A string, or a finite number as text; None for NaN, infinities, integers too long
    to print (``str()`` raises past ``sys.get_int_max_str_digits()``) and other types."""
    if isinstance(value, str):
        return value
    if isinstance(value, float):
        return str(value) if math.isfinite(value) else None
    if isinstance(value, int):
        try:
            return str(value)
        except ValueError:
            return None
    return None


def _preview(value: object) -> str:
    """A short quoted form of a value for a message; never raises, never builds a huge string."""
    text = _as_text(value) if not isinstance(value, (datetime, date)) else value.isoformat()
    return repr(text[:60]) if text is not None else f"a value of type {type(value).__name__}"


def _quality(value: object, file: str, name: str, notes: list[Notice]) -> int | None:
    """``quality`` as an int; anything else present (.nan, "high", 2.5) is dropped with a notice."""
    quality = _int(value)
    if quality is None and value is not None:
        notes.append(Notice(file, name, f"not a whole number: {_preview(value)}; ignored"))
    return quality


def _int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if abs(value) < 2**53 else None
    if isinstance(value, float) and math.isfinite(value) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    return None
