"""Property-based tests (hypothesis): what must hold for every input, not only the examples.

- URL canonicalisation never raises, is idempotent, and folds tracking/AMP variants.
- Front-matter parsing and the whole of ``load.read_item`` never raise on any bytes:
  they return an Article or a Skipped with a known code (with yaml-rs and with PyYAML).
- Field checks never raise on any mapping a YAML parser can produce.
- Any text survives JSON, GraphML and GEXF unchanged, or is cleaned exactly as the
  README's rules say (characters XML 1.0 forbids removed, leading BOMs removed,
  white space stripped, titles on one line, cut to the limits).
"""

from __future__ import annotations

import io
import json
import re
import tempfile
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import networkx as nx
import pytest
import yaml
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

import storygraph
from storygraph.errors import ItemProblem
from storygraph.export import render
from storygraph.fields import to_article
from storygraph.load import read_item
from storygraph.model import Article, Notice, Skipped
from storygraph.parse import front_matter
from storygraph.urls import canonical_url, is_web_url


PARSE_CODES = {"empty", "binary", "not-utf8", "no-front-matter", "unterminated-front-matter", "invalid-yaml",
               "duplicate-key", "too-deep", "too-many-nodes", "not-a-mapping"}
FIELD_CODES = {"no-title", "bad-title", "no-url"}
# The yaml_backend fixture only sets a module attribute: sharing it across examples is intended.
BACKEND_SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
_UNCLEAN = re.compile("[\\s\x00-\x1f\x7f\ud800-\udfff\ufffe\uffff]")

any_text = st.text(st.characters(exclude_categories=()))  # surrogates included


# --- URLs --------------------------------------------------------------------------------

_host = st.from_regex(r"((www|m|amp|mobile)\.){0,2}[a-z0-9-]{1,10}(\.[a-z]{2,3}){1,2}\.?", fullmatch=True)
_segment = st.sampled_from(["amp", "AMP", "google-amp", "news", "a.amp", "b.amp.amp", "c.amp.html", "d.AMP.amp.html",
                            "%7E", "~", "x y", "é", "%C3%A9", "%", "..", "", "\x01"]) | st.text(max_size=5)
_param = st.sampled_from(["utm_source", "utm_medium", "amp", "outputType", "mod", "fbclid", "id", "ArticleID", "q", ""])


@st.composite
def web_urls(draw) -> str:
    """URL-shaped strings: tracking, AMP forms, odd ports, nested AMP-cache wrappers."""
    scheme = draw(st.sampled_from(["http", "https", "HTTPS", "hTtP"]))
    port = draw(st.sampled_from(["", "", ":80", ":443", ":8080", ":0", ":99999", ":x"]))
    path = "/" + "/".join(draw(st.lists(_segment, max_size=6)))
    query = draw(st.lists(st.tuples(_param, st.text(max_size=4)), max_size=3))
    url = f"{scheme}://{draw(_host)}{port}{path}"
    url += ("?" + "&".join(f"{k}={v}" for k, v in query) if query else "") + draw(st.sampled_from(["", "#top", "#"]))
    for _ in range(draw(st.integers(0, 4))):
        cdn = draw(st.sampled_from(["", "www."])) + draw(_host).strip(".").replace(".", "-") + ".cdn.ampproject.org"
        secure, rest = url.split("://", 1)
        url = f"https://{cdn}/{draw(st.sampled_from(['c', 'v']))}/{'s/' if secure.lower() == 'https' else ''}{rest}"
    return url


@settings(max_examples=300, deadline=None)
@given(st.one_of(any_text, web_urls()))
def test_canonical_url_never_raises_and_is_idempotent(text):
    once = canonical_url(text)
    assert isinstance(once, str)
    assert canonical_url(once) == once


@settings(max_examples=300, deadline=None)
@given(web_urls())
def test_canonical_form_of_a_web_url_is_a_clean_https_url(url):
    assume(is_web_url(url))
    key = canonical_url(url)
    assert is_web_url(key) and key.startswith("https://")
    assert not _UNCLEAN.search(key)  # a node id that reaches XML unchanged
    parts = urlsplit(key)
    assert not parts.fragment and not any(k.lower().startswith("utm_") for k, _ in parse_qsl(parts.query))


@settings(max_examples=300, deadline=None)
@given(
    _host.filter(lambda h: not h.startswith(("www.", "m.", "amp.", "mobile."))).map(lambda h: h.rstrip(".")),
    st.lists(st.from_regex(r"[a-z0-9_-]{1,8}", fullmatch=True), min_size=1, max_size=4),
    st.sampled_from(["", "?id=7"]),
)
def test_tracking_and_amp_variants_fold_to_one_key(host, segments, query):
    assume(host.count(".") >= 1 and "amp" not in segments and "google-amp" not in segments)
    path = "/".join(segments)
    plain = f"https://{host}/{path}{query}"
    variants = [
        f"http://www.{host}/{path}/{query}",
        f"https://{host}/amp/{path}{query}{'&' if query else '?'}utm_source=rss&utm_medium=feed",
        f"https://{host.replace('.', '-')}.cdn.ampproject.org/c/s/{host}/{path}{query}",
        f"https://m.{host}/{path}{query}#comments",
    ]
    assert {canonical_url(v) for v in variants} == {canonical_url(plain)}


# --- Parsing: any bytes -----------------------------------------------------------------

_TOKENS = ["- ", "? ", ": ", "[", "]", "{", "}", ", ", "&a ", "*a ", "!!python/object/apply:os.system ", "!x ",
           "!!str ", "!!binary ", "!!bool ", "!!timestamp ", "!!int ", "<<: ", "'", '"', "\n", "\n  ", "\n    ",
           "\t", "\r", "\r\n", "title", "webUrl", "https://e.com/a", "# c", "|", ">-", "--- ", "...", "%YAML 1.1",
           "\\", "\\x01", "\\ud800", "\ufeff", "1e400", ".nan", ".inf", "2024-02-30", "2024-03-05T10:00:00",
           "12:30:00", "~", "yes", "0o17", "9" * 30, "x", "é", "\x00", "\x85", "\u2028"]


@st.composite
def yamlish(draw) -> bytes:
    """Bytes that look like a news item: front matter from YAML's syntax in any order."""
    body = "".join(draw(st.lists(st.sampled_from(_TOKENS), max_size=60)))
    head = draw(st.sampled_from(["---\n", "\ufeff---\r\n", "---\r", "", "--- \n"]))
    tail = draw(st.sampled_from(["\n---\n", "\r\n---\r\n", "", "\n---\nbody\n"]))
    return (head + body + tail).encode("utf-8", "surrogatepass")


def _parse_or_problem(data: bytes):
    try:
        return front_matter(data)
    except ItemProblem as problem:
        return problem


@BACKEND_SETTINGS
@given(st.one_of(st.binary(max_size=3000), yamlish()))
def test_front_matter_returns_a_mapping_or_a_known_problem(yaml_backend, data):
    outcome = _parse_or_problem(data)
    if isinstance(outcome, ItemProblem):
        assert outcome.code in PARSE_CODES and outcome.reason
    else:
        assert isinstance(outcome, dict)


_BOUNDARY_PIECES = ["---", "----", "-", "--", "\n", " ", "\t", "\x0b", "\x0c", "\x1c", "\x85", "\u2028", "a", ": b"]


@given(st.lists(st.sampled_from(_BOUNDARY_PIECES), max_size=40).map("".join))
@example("---\n---")
@example("---\n\n---\n")
@example("---  \na: 1\n-----\t \nbody\n---\n")
def test_front_matter_block_is_python_frontmatters_split(rest):
    """parse._block tries only the lines starting "---"; python-frontmatter runs its pattern everywhere."""
    from frontmatter.default_handlers import YAMLHandler

    from storygraph.parse import _BOUNDARY, _block

    text = "---" + rest
    handler = YAMLHandler()
    assume(handler.detect(text))  # otherwise front_matter stops at "no-front-matter"
    try:
        expected = handler.split(text)[0]
    except ValueError:  # fewer than two boundaries
        expected = None
    assert _block(text, _BOUNDARY.match(text).end()) == expected


@pytest.fixture(scope="module")
def scratch(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("items")


@BACKEND_SETTINGS
@given(st.one_of(st.binary(max_size=3000), yamlish(), st.builds(lambda t: t.encode(), st.text())))
def test_read_item_returns_an_article_or_a_skipped(yaml_backend, scratch, data):
    (scratch / "item.md").write_bytes(data)
    item, notices = read_item(scratch, "item.md", 1 << 20)
    assert all(isinstance(n, Notice) and n.file == "item.md" for n in notices)
    if isinstance(item, Skipped):
        assert item.code in PARSE_CODES | FIELD_CODES and item.file == "item.md" and item.reason
    else:
        assert isinstance(item, Article)
        _assert_clean_article(item)


def _assert_clean_article(article: Article) -> None:
    assert article.title and len(article.title) <= 1000 and len(article.excerpt) <= 5000
    for text in (article.title, article.excerpt, article.provider, article.domain, article.type, *article.topics):
        assert not re.search("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]", text)
    assert is_web_url(article.url) and not _UNCLEAN.search(article.key)
    assert article.published is None or article.published.utcoffset() == timedelta(0)
    assert article.quality is None or (isinstance(article.quality, int) and abs(article.quality) < 2**53)


# --- Fields: any mapping a parser can produce ------------------------------------------

_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.sampled_from([2**53, -(2**63)]),
    st.integers(4300, 4400).map(lambda digits: 10**digits),  # too long for str(): sys.get_int_max_str_digits()
    st.floats(), st.text(), st.binary(max_size=8), st.dates(), st.times(),
    st.datetimes(timezones=st.none() | st.just(timezone.utc) | st.builds(
        lambda m: timezone(timedelta(minutes=m)), st.integers(-1439, 1439))),
    st.sampled_from(["https://example.com/a", "http://www.example.com/a?utm_source=x", "", "javascript:x",
                     "https://exa\x01mple.com/", "https://e.com:99999/", "2024-03-05T10:00:00", "next tuesday"]),
)
_values = st.recursive(_scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
    st.sampled_from(["title", "webUrl", "name", "domain", "excerpt", "publishedDateTime", "x"]), inner, max_size=4),
    max_leaves=20)
_FIELDS = ["title", "excerpt", "text", "publishedDateTime", "webUrl", "originalUrl", "ampWebUrl", "cdnAmpWebUrl",
           "provider", "topics", "type", "quality", "related"]


@settings(max_examples=400, deadline=None)
@given(st.dictionaries(st.sampled_from(_FIELDS) | st.text(max_size=3), _values, max_size=10))
def test_to_article_keeps_or_refuses_any_mapping(meta):
    try:
        article, notices = to_article(meta, "f.md")
    except ItemProblem as problem:
        assert problem.code in FIELD_CODES
        return
    assert all(n.file == "f.md" and n.field and n.message for n in notices)
    assert len(article.topics) <= 100 and len(article.related) <= 1000
    assert article.title and len(article.title) <= 1000


# Values equal in Python but read differently (1 and True; 1 and 1.0 as text; 0.0 and -0.0;
# one instant in two zones, as text), so that a memory of entries keyed by value alone
# would hand back another entry's reading.
_twins = st.sampled_from([(1, True), (1, 1.0), (0, False), (0.0, -0.0), (2**60, float(2**60)),
                          (datetime(2024, 1, 1, 12, tzinfo=timezone.utc),
                           datetime(2024, 1, 1, 13, tzinfo=timezone(timedelta(hours=1))))])
_entry = st.dictionaries(st.sampled_from(["title", "excerpt", "publishedDateTime", "type", "quality", "provider",
                                          "originalUrl"]), _values, max_size=6).map(
    lambda entry: {"webUrl": "https://e.com/b", **entry})


@st.composite
def _entries_with_twins(draw):
    """Entries of which two differ only in one field (or a provider's name or domain), by twins."""
    base, (one, other) = draw(_entry), draw(_twins)
    field = draw(st.sampled_from(["title", "excerpt", "publishedDateTime", "type", "quality", "provider.name",
                                  "provider.domain"]))
    pair = []
    for value in draw(st.permutations([one, other])):
        entry = dict(base)
        if field.startswith("provider."):
            entry["provider"] = {field.split(".")[1]: value}
        else:
            entry[field] = value
        pair.append(entry)
    return draw(st.lists(_entry | _values, max_size=3)) + pair


@settings(max_examples=300, deadline=None)
@given(_entries_with_twins())
@example([{"webUrl": "https://e.com/b", "title": 0.0}, {"webUrl": "https://e.com/b", "title": -0.0}])
@example([{"webUrl": "https://e.com/b", "quality": 1}, {"webUrl": "https://e.com/b", "quality": True}])
@example([{"webUrl": "https://e.com/b", "quality": datetime(2024, 1, 1, 12, tzinfo=timezone.utc)},
          {"webUrl": "https://e.com/b", "quality": datetime(2024, 1, 1, 13, tzinfo=timezone(timedelta(hours=1)))}])
def test_related_entries_read_before_come_back_as_read_fresh(entries):
    """A related entry equal to one read before is not read again (``fields._SEEN``): the
    article and its notices must be what reading every entry afresh gives."""
    from unittest import mock

    from storygraph import fields

    meta = {"title": "t", "webUrl": "https://e.com/a", "related": entries + entries[::-1]}
    fields._SEEN.clear()
    remembered = to_article(meta, "f.md")
    with mock.patch.object(fields, "_entry_key", lambda entry: None):
        fresh = to_article(meta, "f.md")
    assert repr(remembered) == repr(fresh)


# --- Text through every output ----------------------------------------------------------


def _xml_char(c: str) -> bool:
    """XML 1.0's Char production (https://www.w3.org/TR/xml/#charsets)."""
    o = ord(c)
    return c in "\t\n\r" or 0x20 <= o <= 0xD7FF or 0xE000 <= o <= 0xFFFD or o >= 0x10000


def documented_text(text: str, limit: int = 5000) -> str:
    """The README's rules, written out: XML-forbidden characters and a leading BOM run
    (also its mojibake "ï»¿") removed, white space stripped, cut to ``limit``."""
    text = "".join(c for c in text if _xml_char(c))
    while text.startswith(("\ufeff", "\u00ef\u00bb\u00bf")):
        text = text[1:] if text.startswith("\ufeff") else text[3:]
    text = text.strip()
    return text[:limit].rstrip() if len(text) > limit else text


def documented_title(text: str) -> str:
    """Titles: :func:`documented_text`, on one line (runs of white space become one space), 1,000 at most."""
    return " ".join(documented_text(text, 4000).split())[:1000].strip()


def _outputs(title: str, excerpt: str) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        meta = {"title": title, "excerpt": excerpt, "webUrl": "https://example.com/a",
                "publishedDateTime": "2024-03-05T10:00:00Z"}
        text = yaml.safe_dump(meta, allow_unicode=True, default_style='"', sort_keys=False)
        (root / "a.md").write_text(f"---\n{text}---\n", encoding="utf-8")
        result = storygraph.cluster(root, jobs=1, use_cache=False)
        return {fmt: render(result, fmt) for fmt in ("json", "graphml", "gexf")}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(), st.text() | st.sampled_from(["\ufeff\u00ef\u00bb\u00bf x", "a\r\nb\rc", "<x>]]>&amp;", " " * 6000]))
def test_text_survives_every_output_or_is_cleaned_as_documented(yaml_backend, title, excerpt):
    outputs = _outputs(title, excerpt)
    doc = json.loads(outputs["json"], parse_constant=lambda token: pytest.fail(f"JSON holds {token}"))
    want_title, want_excerpt = documented_title(title), documented_text(excerpt)
    if not want_title:
        assert [s["code"] for s in doc["skipped"]] == ["no-title"] and not doc["nodes"]
        return
    [node] = doc["nodes"]
    assert (node["title"], node["excerpt"]) == (want_title, want_excerpt)
    for graph in (nx.read_graphml(io.BytesIO(outputs["graphml"])), nx.read_gexf(io.BytesIO(outputs["gexf"]))):
        data = graph.nodes["https://example.com/a"]
        assert (data["label"], data["excerpt"]) == (want_title, want_excerpt)


# Dates and times a YAML parser may produce reach the output as UTC or null, never raise.
@settings(max_examples=200, deadline=None)
@given(st.one_of(st.datetimes(timezones=st.none() | st.just(timezone.utc)), st.dates(), st.times(), st.text(max_size=30)))
def test_any_date_value_is_utc_or_undated(value):
    article, notices = to_article({"title": "t", "webUrl": "https://e.com/a", "publishedDateTime": value}, "f.md")
    if article.published is not None:
        assert article.published.utcoffset() == timedelta(0)
    if isinstance(value, (time,)) or (isinstance(value, str) and value.strip() and article.published is None):
        assert [n.field for n in notices] == ["publishedDateTime"]
    if isinstance(value, datetime) and value.tzinfo is None:
        assert [n.message for n in notices] == ["has no time zone; taken as UTC"]
    if isinstance(value, date) and not isinstance(value, datetime):
        assert article.published == datetime(value.year, value.month, value.day, tzinfo=timezone.utc) and not notices


@given(st.floats(allow_nan=False, allow_infinity=False) | st.integers(-10**7, 10**7).map(lambda k: k / 1e6 + 5e-7))
@settings(max_examples=500)
def test_vectorised_rounding_is_pythons_round(value):
    """The JSON writer rounds edge numbers with numpy; each must be what round(v, 6) gives
    (the second strategy aims at halves, where a naive rint(v * 1e6) / 1e6 can differ)."""
    import numpy as np

    from storygraph.export.edgetext import round6

    got = round6(np.array([value]))[0]
    want = round(value, 6)
    assert repr(float(got)) == repr(want)
