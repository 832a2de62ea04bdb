import re

from hypothesis import example, given, settings
from hypothesis import strategies as st

from storygraph.urls import canonical_url, is_web_url

import pytest

SAME = [
    # scheme, host case, www., trailing slash, fragment
    ("http://WWW.Example.com/news/story-1/#comments", "https://example.com/news/story-1"),
    # AMP path segments and suffixes
    ("https://www.polygon.com/platform/amp/diablo-4-guides/23656236/druid", "https://polygon.com/platform/diablo-4-guides/23656236/druid"),
    ("https://comicbook.com/gaming/amp/news/diablo-4-pvp/", "https://comicbook.com/gaming/news/diablo-4-pvp"),
    ("https://example.com/google-amp/a/b", "https://example.com/a/b"),
    ("https://en.as.com/2022/06/13/news/1655142484_224785.amp.html", "https://en.as.com/2022/06/13/news/1655142484_224785.html"),
    ("https://example.com/story.amp", "https://example.com/story"),
    ("https://amp.example.com/story", "https://example.com/story"),
    ("https://m.example.com/story", "https://example.com/story"),
    # AMP and tracking query parameters
    ("https://www.givemesport.com/1720130-diablo-4?amp", "https://givemesport.com/1720130-diablo-4"),
    ("https://www.shacknews.com/article/134755/build?amphtml=1", "https://shacknews.com/article/134755/build"),
    ("https://example.com/a?outputType=amp", "https://example.com/a"),
    ("https://example.com/a?utm_source=rss&utm_medium=feed&utm_campaign=x", "https://example.com/a"),
    ("https://www.wsj.com/articles/x-11600000000?mod=rss_Technology", "https://wsj.com/articles/x-11600000000"),
    ("https://www.reuters.com/article/us-x-idUSKBN21Z3GW?feedType=RSS&feedName=businessNews", "https://reuters.com/article/us-x-idUSKBN21Z3GW"),
    # the AMP cache wrapper, https (/c/s/) and http (/c/)
    ("https://www-givemesport-com.cdn.ampproject.org/c/s/www.givemesport.com/1720130-diablo-4?amp", "https://givemesport.com/1720130-diablo-4"),
    ("https://example-com.cdn.ampproject.org/c/example.com/a/amp/", "https://example.com/a"),
    # default port
    ("https://example.com:443/a", "https://example.com/a"),
    # the "amp" shortcuts look at the path without case: AMP segments and suffixes in capitals
    ("http://a.example/x/AMP", "https://a.example/x"),
    ("https://a.example/Amp/x", "https://a.example/x"),
    ("https://a.example/x.AMP.html", "https://a.example/x.html"),
    # a wrapper unwrapped from the plain match keeps the inner URL's identifying query
    ("https://a-example.cdn.ampproject.org/c/s/a.example/x?id=7", "https://a.example/x?id=7"),
]


@pytest.mark.parametrize("url, expected", SAME)
def test_canonical_forms(url, expected):
    assert canonical_url(url) == expected


def test_identifying_query_is_kept_and_sorted():
    assert canonical_url("https://x.com/view?b=2&ArticleID=7") == "https://x.com/view?ArticleID=7&b=2"
    assert canonical_url("https://x.com/view?ArticleID=7") != canonical_url("https://x.com/view?ArticleID=8")


def test_different_articles_stay_apart():
    assert canonical_url("https://example.com/a") != canonical_url("https://example.com/b")
    assert canonical_url("https://example.com/a") != canonical_url("https://other.com/a")
    # a non-default port is part of the identity
    assert canonical_url("https://example.com:8080/a") != canonical_url("https://example.com/a")


def test_not_a_url_comes_back_stripped():
    assert canonical_url("  not a url ") == "not a url"
    assert canonical_url("") == ""
    assert not is_web_url("ftp://example.com/x")
    assert not is_web_url("https://")
    assert is_web_url("https://example.com")


@settings(max_examples=400, deadline=None)
@given(st.text())
def test_canonical_never_raises_and_is_idempotent_on_text(text):
    once = canonical_url(text)
    assert canonical_url(once) == once


@settings(max_examples=400, deadline=None)
@given(
    st.sampled_from(["http", "https", "HTTPS"]),
    st.from_regex(r"(www\.|m\.|amp\.)?[a-z0-9-]{1,12}\.(com|co\.uk|org)", fullmatch=True),
    st.lists(st.sampled_from(["amp", "news", "a.amp", "b.amp.html", "google-amp", "%7E", "x y", "é", ""]), max_size=5),
    st.dictionaries(st.sampled_from(["utm_source", "id", "amp", "page", "mod", "q"]), st.text(max_size=5), max_size=3),
)
def test_canonical_is_idempotent_on_urls(scheme, host, segments, query):
    from urllib.parse import urlencode

    url = f"{scheme}://{host}/{'/'.join(segments)}" + (f"?{urlencode(query)}" if query else "")
    once = canonical_url(url)
    assert canonical_url(once) == once
    assert once.startswith("https://")


# URL-like text that often has the canonical shape, and often only nearly: the fast path
# (urls._is_fixed_point) must say "fixed point" only when one more pass changes nothing.
_NEAR_CANONICAL = st.builds(
    lambda scheme, host, segments, tail: f"{scheme}://{host}" + "".join("/" + s for s in segments) + tail,
    st.sampled_from(["https", "http", "HTTPS"]),
    st.from_regex(r"((www|m|amp|mobile|x-y)\.)?[a-z0-9-]{0,8}(\.[a-z0-9-]{0,6}){0,2}\.?(\.cdn\.ampproject\.org)?(:443|:8080)?",
                  fullmatch=True),
    st.lists(st.sampled_from(["a", "amp", "AMP", "x.amp", "x.AMP.html", "a.amp.b", ".amp", "%41", "~x", "é", "",
                              "c", "s", "Ab:@!$&'()*+,;=", "google-amp", "ampstories", "..", "."]), max_size=4),
    st.sampled_from(["", "/", "?amp", "#top", "?id=2", "//"]),
)


_CANONICAL_LOOKING = st.builds(
    lambda host, segments: f"https://{host}" + ("".join("/" + s for s in segments) or "/"),
    st.from_regex(r"[a-z0-9-]{1,8}(\.[a-z0-9-]{1,6}){1,2}", fullmatch=True),
    st.lists(st.from_regex(r"[A-Za-z0-9_.~!$&'()*+,;=:@-]{1,8}", fullmatch=True), max_size=4),
)


@settings(max_examples=2000, deadline=None)
@given(st.one_of(_NEAR_CANONICAL, _CANONICAL_LOOKING, st.text(max_size=40)))
def test_the_fixed_point_shortcut_never_changes_a_key(url):
    from storygraph import urls

    if urls._is_fixed_point(url):
        assert urls._one_pass_split(url) == url
    # the reference: passes by urlsplit to a fixed point, with no shortcut
    text = url.strip()
    while (step := urls._one_pass_split(text)) != text:
        text = step
    assert canonical_url(url) == text


# The canonical shape as one pattern, as _is_fixed_point first tested it: the host and path
# tests that replaced it (linear, where this pattern backtracks on near misses) must accept
# exactly what it accepts.
_SHAPE = re.compile(r"https://(?P<host>[a-z0-9-]+(?:\.[a-z0-9-]+)*)(?P<path>/|(?:/[A-Za-z0-9_.~!$&'()*+,;=:@-]+)+)")


@settings(max_examples=1500, deadline=None)
@given(st.one_of(_NEAR_CANONICAL, _CANONICAL_LOOKING, st.deferred(lambda: _URLISH), st.text(max_size=40)))
@example("https://a.b/")
@example("https://a.b")
@example("https://a.b//c")
@example("https://a.b/c/")
@example("https://A.b/c")
@example("https://a..b/c")
@example("https://a.b/c\n")
@example("https://a.b/amp/c")
@example("https://a.b/c/AMP")
@example("https://a.b/c.amp")
@example("https://a.b/c.Amp.html")
@example("https://a.b/google-amp")
@example("https://www.a.b/c")
def test_the_canonical_shape_is_the_one_pattern_shape(url):
    from storygraph import urls

    match = _SHAPE.fullmatch(url)
    expected = match is not None and not (
        match["host"].startswith(urls._HOST_PREFIXES) or urls._AMP_CDN.match(match["host"])
        or (last := match["path"].lower().split("/")[-1]).endswith(".amp.html")
        or (last.endswith(".amp") and len(last) > 4)
        or not urls._AMP_SEGMENTS.isdisjoint(match["path"].lower().split("/"))
    )
    assert urls._is_fixed_point(url) == expected


@settings(max_examples=1000, deadline=None)
@given(st.lists(st.one_of(st.from_regex(r"[A-Za-z0-9_.~!$&'()*+,;=:@%/ -]{0,8}", fullmatch=True), st.text(max_size=6)),
                max_size=5).map("/".join))
def test_a_plain_path_is_the_path_of_plain_segments(path):
    from storygraph import urls

    by_segment = [s if urls._PLAIN_SEGMENT.fullmatch(s) else None for s in path.split("/")]
    assert (urls._PLAIN_PATH.fullmatch(path) is not None) == (None not in by_segment)


@settings(max_examples=3000, deadline=None)
@given(st.one_of(st.from_regex(r"[A-Za-z0-9_.~!$&'()*+,;=:@%/ -]{0,12}", fullmatch=True), st.text(max_size=12)))
def test_a_path_segment_skips_percent_encoding_only_when_it_would_come_back_unchanged(segment):
    """_canonical_path leaves segments of plain characters as they are, instead of unquoting and
    quoting them again: that must give exactly what the two calls give, for any segment."""
    from urllib.parse import quote, unquote

    from storygraph import urls

    if urls._PLAIN_SEGMENT.fullmatch(segment):
        assert quote(unquote(segment), safe=urls._PATH_SAFE) == segment


_URLISH = st.builds(
    lambda scheme, host, rest: f"{scheme}{host}{rest}",
    st.sampled_from(["https://", "http://", "HtTp://", "ftp://", "https:/", "https:///", " https://", ""]),
    st.from_regex(r"([a-zA-Z0-9-]{0,5}\.){0,3}[a-zA-Z0-9-]{0,5}\.?(:[0-9]{0,6}|:x)?", fullmatch=True)
    | st.sampled_from(["[::1]", "u@h.com", "é.com", "a b", "a\x00b", "xn--e.com", "\ud800.com"]),
    st.lists(st.sampled_from(["/", "?", "#", "a", "%2F", " ", "\t", "\n", "\x7f", "\x00", "\u3000", "\xa0",
                              "\ud800", "é", "[", "]", "@", ":", "\\", "&=", "\x1f"]), max_size=8).map("".join),
)


@settings(max_examples=3000, deadline=None)
@given(st.one_of(_URLISH, st.text(max_size=30)))
@example("httpſ://example.com/a")  # the long s, which case-insensitive matching folds to "s"
@example("HTTPſ://example.com")
def test_the_plain_url_shortcut_accepts_only_what_the_full_test_accepts(url):
    """is_web_url accepts URLs of the plainest shape by one pattern, without splitting them."""
    from storygraph import urls

    if urls._PLAIN_WEB_URL.fullmatch(url):
        assert urls._parsed_web_url(url)
    assert is_web_url(url) == urls._parsed_web_url(url)


def test_no_other_letter_spells_the_scheme():
    """Every code point in each place of "https": only the scheme's own letters pass the shortcut."""
    from storygraph import urls

    for at in range(5):
        for c in map(chr, range(0x110000)):
            url = "https"[:at] + c + "https"[at + 1:] + "://example.com/a"
            if urls._PLAIN_WEB_URL.fullmatch(url):
                assert c.lower() == "https"[at], (at, c)


@settings(max_examples=3000, deadline=None)
@given(st.one_of(_URLISH, _NEAR_CANONICAL, _CANONICAL_LOOKING,
                 st.builds("".join, st.lists(st.sampled_from(["https://a.b", "/", "?", "#", "&", "=", "x", "amp",
                                                              "utm_source=1", "www.", "%41", ".amp", ".", "ſ", "é"]),
                                             max_size=10))))
@example("https://www.Example.com/a/amp/?utm_source=x&id=2#top")
@example("http://example.com")
@example("https://a.b?")
def test_a_pass_over_a_plain_url_is_the_pass_over_its_split(url):
    """_one_pass takes a URL of the plain shape apart by pattern; urlsplit must give the same pass."""
    from storygraph import urls

    assert urls._one_pass(url) == urls._one_pass_split(url)
