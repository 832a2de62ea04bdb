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
    for _ in range(3):  # unwrap nested AMP-cache wrappers, bounded
        try:
            parts = urlsplit(text)
            if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
                return text
            unwrapped = _unwrap_amp_cache(parts)
        except ValueError:  # e.g. an invalid port or IPv6 literal
            return text
        if unwrapped is None:
            break
        text = unwrapped
    # Each rule can expose another (".amp.amp", "/amp/amp.amp"): repeat to a fixed point.
    for _ in range(5):
        try:
            result = _canonical(urlsplit(text))
        except ValueError:
            return text
        if result == text:
            break
        text = result
    return text


@functools.lru_cache(maxsize=1 << 16)
def is_web_url(url: str) -> bool:
    """True when ``url`` is an absolute http(s) URL with a host."""
    if not isinstance(url, str):
        return False
    try:
        parts = urlsplit(url.strip())
        return parts.scheme.lower() in ("http", "https") and bool(parts.hostname)
    except ValueError:
        return False


def _unwrap_amp_cache(parts) -> str | None:
    host = (parts.hostname or "").lower()
    if not _AMP_CDN.match(host):
        return None
    match = _AMP_CDN_PATH.match(parts.path)
    if not match:
        return None
    scheme = "https" if match.group("s") else "http"
    inner = f"{scheme}://{match.group('rest')}"
    return inner + (f"?{parts.query}" if parts.query else "")


def _canonical(parts) -> str:
    host = _canonical_host(parts)
    path = _canonical_path(parts.path)
    query = _canonical_query(parts.query)
    # The scheme is always https: the same article is served on both.
    return urlunsplit(("https", host, path, query, ""))


def _canonical_host(parts) -> str:
    host = (parts.hostname or "").lower().rstrip(".")
    changed = True
    while changed:  # "www.m.example.com" and friends
        changed = False
        for prefix in _HOST_PREFIXES:
            if host.startswith(prefix) and host.count(".") >= 2:
                host = host[len(prefix):]
                changed = True
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    port = parts.port
    if port is not None and str(port) not in _DEFAULT_PORTS.values():
        host = f"{host}:{port}"
    return host


def _canonical_path(path: str) -> str:
    # Normalise percent-encoding so "%7E" and "~" are one key; keep "/" encoded as is.
    segments = [quote(unquote(s), safe="!$&'()*+,;=:@~-._") for s in path.split("/")]
    segments = [s for s in segments if s and s.lower() not in _AMP_SEGMENTS]
    if segments:
        last = segments[-1]
        lower = last.lower()
        if lower.endswith(".amp.html"):
            last = last[: -len(".amp.html")] + ".html"
        elif lower.endswith(".amp") and len(last) > 4:
            last = last[: -len(".amp")]
        segments[-1] = last
    return "/" + "/".join(segments)


def _canonical_query(query: str) -> str:
    if not query:
        return ""
    kept = [
        (k, v)
        for k, v in parse_qsl(query, keep_blank_values=True)
        if k.lower() not in _DROP_PARAMS and not k.lower().startswith(_DROP_PREFIXES)
    ]
    return urlencode(sorted(kept))
