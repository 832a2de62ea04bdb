"""URL canonicalisation: one article reached by several URLs becomes one key.

:func:`canonical_url` folds together the forms measured in real news items
(../shared/docs/input-format.md): http/https, host case, ``www.``/``m.``/``amp.``
hosts, ``*.cdn.ampproject.org`` wrappers, AMP path segments and suffixes
(``/amp/``, ``/google-amp/``, ``.amp``, ``.amp.html``), AMP and tracking query
parameters (``?amp``, ``outputType=amp``, ``utm_*``, ``mod``, ``feedType`` ...),
fragments, default ports and trailing slashes. Remaining query parameters are
kept, sorted, because some sites identify an article by them (``?ArticleID=``).

It never raises: input that is not a URL comes back stripped, so callers can use
the result as a key and decide separately whether it looks usable
(:func:`is_web_url`).
"""

from __future__ import annotations

import functools
import re
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit, urlunsplit

__all__ = ["canonical_url", "is_web_url"]

# Query parameters that never identify an article: AMP switches and tracking.
_DROP_PARAMS = frozenset(
    {
        "amp", "amphtml", "outputtype", "output", "usqp", "_gl", "fbclid", "gclid",
        "dclid", "msclkid", "mc_cid", "mc_eid", "mod", "feedtype", "feedname", "cmpid",
        "ocid", "ito", "ref", "ref_src", "src", "smid", "sr_share", "igshid", "guccounter",
        "rss", "taid", "yptr", "ncid", "soc_src", "soc_trk",
    }
)
_DROP_PREFIXES = ("utm_", "at_", "pk_", "hsa_", "mtm_")
_HOST_PREFIXES = ("www.", "m.", "amp.", "mobile.")
_AMP_SEGMENTS = frozenset({"amp", "google-amp", "amp-article", "ampstories"})
_AMP_CDN = re.compile(r"^[a-z0-9-]+\.cdn\.ampproject\.org$")
# /c/s/host/path (https) or /c/host/path (http); also /v/ (viewer) and /i/ (images).
_AMP_CDN_PATH = re.compile(r"^/[cvi]/(?P<s>s/)?(?P<rest>.+)$")
_DEFAULT_PORTS = {"http": "80", "https": "443"}
# A chain of k AMP-cache wrappers takes k passes; real URLs need at most 3.
_MAX_PASSES = 100
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
# Controls, space, DEL, lone surrogates, U+FFFE/U+FFFF and characters no URL host holds.
_BAD_HOST_CHAR = re.compile("[\x00-\x20\x7f\ud800-\udfff\ufffe\uffff<>\"{}|\\\\^`]")
# The shape of a URL that is already canonical: https, a lower-case host without port or user,
# path segments of characters that percent-encoding keeps, none empty, no query or fragment
# (_is_fixed_point checks the rest). Most URLs reach it after one pass, so the pass that would
# only confirm the fixed point (half the cost of a URL) is skipped. The host and the path are
# tested apart (the path by _PLAIN_PATH, below): a single pattern for the whole URL nests its
# repeats and backtracks on every near miss (a trailing "/" took 5 us to refuse).
_CANONICAL_HOST = re.compile(r"[a-z0-9-]+(?:\.[a-z0-9-]+)*")


@functools.lru_cache(maxsize=1 << 16)  # related lists repeat the same URLs many times
def canonical_url(url: str) -> str:
    """Return the canonical form of ``url`` used as an article's identity.

    >>> canonical_url("http://WWW.Example.com/news/amp/story-1/?utm_source=x#top")
    'https://example.com/news/story-1'
    >>> canonical_url("https://example-com.cdn.ampproject.org/c/s/example.com/a.amp.html")
    'https://example.com/a.html'

    Idempotent: ``canonical_url(canonical_url(u)) == canonical_url(u)``.
    """
    text = url.strip() if isinstance(url, str) else ""
    # Each step can expose another (".amp.amp", a wrapper inside a wrapper, a "www."
    # AMP-cache host): repeat to a fixed point, so that the result is idempotent.
    for _ in range(_MAX_PASSES):
        if _is_fixed_point(text):
            break
        result = _one_pass(text)
        if result == text:
            break
        text = result
    return text


def _is_fixed_point(text: str) -> bool:
    """True only when ``_one_pass(text) == text`` (a sufficient test, not a necessary one)."""
    if not text.startswith("https://"):
        return False
    host, slash, path = text[8:].partition("/")
    path = slash + path  # "/" and then segments, none of them empty; or just "/"
    if (
        not path
        or (path != "/" and (path.endswith("/") or "//" in path))
        or _CANONICAL_HOST.fullmatch(host) is None
        or _PLAIN_PATH.fullmatch(path) is None
    ):
        return False
    if host.startswith(_HOST_PREFIXES) or _AMP_CDN.match(host):
        return False
    lowered = path.lower()
    if "amp" not in lowered:  # every AMP segment and suffix spells it
        return True
    segments = lowered.split("/")
    last = segments[-1]
    if last.endswith(".amp.html") or (last.endswith(".amp") and len(last) > 4):
        return False
    return _AMP_SEGMENTS.isdisjoint(segments)


def _one_pass(text: str) -> str:
    """Unwrap one AMP-cache wrapper, or else apply every folding rule once.

    A URL of :data:`_PLAIN_WEB_URL`'s shape is taken apart by that pattern: its host, path and
    query are what ``urlsplit`` gives for it (no user, port or IPv6 host; the first "?" and "#"
    end the path and the query), and splitting was most of a pass. Others are split."""
    plain = _PLAIN_WEB_URL.fullmatch(text)
    if plain is None:
        return _one_pass_split(text)
    host = plain["host"].lower()
    if _AMP_CDN.match(host):  # a wrapper: unwrapped from the match, else as the split pass does
        unwrapped = _unwrap_amp_cache(host, plain["path"], plain["query"] or "")
        return unwrapped if unwrapped is not None and is_web_url(unwrapped) else _one_pass_split(text)
    try:
        query = _canonical_query(plain["query"] or "")
        return f"https://{_host_name(host)}{_canonical_path(plain['path'])}" + (f"?{query}" if query else "")
    except ValueError:  # none known; the split pass handles whatever it is in the same way
        return _one_pass_split(text)


def _one_pass_split(text: str) -> str:
    """:func:`_one_pass` by ``urlsplit``, for any text."""
    try:
        parts = urlsplit(text)
        host = parts.hostname  # parsed from the netloc on each access: once here
        if parts.scheme.lower() not in ("http", "https") or not host:
            return text
        unwrapped = _unwrap_amp_cache(host, parts.path, parts.query)
        if unwrapped is not None and is_web_url(unwrapped):
            return unwrapped
        return _canonical(parts, host)
    except ValueError:  # e.g. an invalid port or IPv6 literal, or a lone surrogate
        return text


# An http(s) URL of the plainest shape: an ASCII host name of non-empty labels (no user, port,
# IPv6 or trailing dot), then a path, query and fragment without controls, spaces or lone
# surrogates. Every such string passes every test of _parsed_web_url (tests/test_urls.py
# checks it), so the commonest URLs are accepted without being split. The scheme's letters are
# spelled out: under (?i) the long s "ſ" (U+017F) matches "s", and "httpſ" is no scheme.
_PLAIN_WEB_URL = re.compile(
    r"[Hh][Tt][Tt][Pp][Ss]?://(?P<host>[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*)"
    "(?P<path>(?:/[^\x00-\x20\x7f?#\ud800-\udfff]*)?)(?:\\?(?P<query>[^\x00-\x20\x7f#\ud800-\udfff]*))?"
    "(?:#[^\x00-\x20\x7f\ud800-\udfff]*)?"
)


def is_web_url(url: str) -> bool:
    """True when ``url`` is an absolute http(s) URL with a clean host and a valid port.

    Refused: a lone surrogate anywhere (JSON Lines can spell one; it has no UTF-8 form,
    so no output could hold the key) and a host with control, space or XML-forbidden
    characters (the host is the one part :func:`canonical_url` does not percent-encode,
    and node ids must reach GraphML/GEXF unchanged: dropping a character there could
    merge two nodes).
    """
    if not isinstance(url, str):
        return False
    return _PLAIN_WEB_URL.fullmatch(url) is not None or _parsed_web_url(url)


@functools.lru_cache(maxsize=1 << 16)
def _parsed_web_url(url: str) -> bool:
    """:func:`is_web_url` decided by splitting the URL."""
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError for a port out of range or not a number
    except ValueError:
        return False
    if _LONE_SURROGATE.search(url):
        return False
    return parts.scheme.lower() in ("http", "https") and bool(host) and not _BAD_HOST_CHAR.search(host)


def _unwrap_amp_cache(host: str, path: str, query: str) -> str | None:
    if not _AMP_CDN.match(host.lower()):
        return None
    match = _AMP_CDN_PATH.match(path)
    if not match:
        return None
    scheme = "https" if match.group("s") else "http"
    inner = f"{scheme}://{match.group('rest')}"
    return inner + (f"?{query}" if query else "")


def _canonical(parts, host: str) -> str:
    host = _canonical_host(parts, host)
    path = _canonical_path(parts.path)
    query = _canonical_query(parts.query)
    # The scheme is always https: the same article is served on both.
    return urlunsplit(("https", host, path, query, ""))


def _canonical_host(parts, host: str) -> str:
    host = _host_name(host)
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    port = parts.port
    if port is not None and str(port) not in _DEFAULT_PORTS.values():
        host = f"{host}:{port}"
    return host


def _host_name(host: str) -> str:
    """The host name without case, a final dot and ``www.``-like prefixes."""
    host = host.lower().rstrip(".")
    # "www.m.example.com" and friends; each prefix is one label and its dot
    while host.startswith(_HOST_PREFIXES) and host.count(".") >= 2:
        host = host[host.index(".") + 1 :]
    return host


# What a path segment keeps unencoded, beside letters and digits (quote's own safe set).
_PATH_SAFE = "!$&'()*+,;=:@~-._"
# A segment of only those characters (no "%"): unquote and quote give it back unchanged, so
# most segments skip both.
_PLAIN_SEGMENT = re.compile("[A-Za-z0-9" + re.escape(_PATH_SAFE) + "]*")
_PLAIN_PATH = re.compile("[/A-Za-z0-9" + re.escape(_PATH_SAFE) + "]*")


def _canonical_path(path: str) -> str:
    # Normalise percent-encoding so "%7E" and "~" are one key; keep "/" encoded as is. A path of
    # plain segments only (the commonest) is told by one match, not one per segment.
    segments = path.split("/")
    if _PLAIN_PATH.fullmatch(path) is None:
        segments = [s if _PLAIN_SEGMENT.fullmatch(s) else quote(unquote(s), safe=_PATH_SAFE) for s in segments]
    elif "amp" not in path.lower():  # every AMP segment and suffix spells it (none is encoded here)
        return "/" + "/".join(filter(None, segments))
    segments = [s for s in segments if s and s.lower() not in _AMP_SEGMENTS]
    if segments:
        segments[-1] = _strip_amp_suffixes(segments[-1])
    return "/" + "/".join(segments)


def _strip_amp_suffixes(last: str) -> str:
    """``a.amp.html`` -> ``a.html``, ``a.amp`` -> ``a``, repeated (``a.amp.amp.html``)."""
    while True:
        lower = last.lower()
        if lower.endswith(".amp.html"):
            last = last[: -len(".amp.html")] + ".html"
        elif lower.endswith(".amp") and len(last) > 4:
            last = last[: -len(".amp")]
        else:
            return last


def _canonical_query(query: str) -> str:
    if not query:
        return ""
    kept = [
        (k, v)
        for k, v in parse_qsl(query, keep_blank_values=True)
        if k.lower() not in _DROP_PARAMS and not k.lower().startswith(_DROP_PREFIXES)
    ]
    return urlencode(sorted(kept))
