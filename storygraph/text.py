"""Text cleaning shared by every stage, so all output formats carry the same strings.

Rules (documented in the README's "Bad input" section):
- characters XML 1.0 forbids (C0 controls but tab/newline/CR, lone surrogates,
  U+FFFE/U+FFFF) are removed: they cannot reach GraphML or GEXF;
- a leading byte-order mark, also in its mojibake form ``ï»¿``, is removed;
- titles collapse runs of white space to one space;
- over-long values are cut to a limit, with a notice from the caller.
"""

from __future__ import annotations

import re

from .io import SURROGATE_CHARS, XML_FORBIDDEN_CHARS

__all__ = ["clean_text", "clean_title", "TITLE_LIMIT", "EXCERPT_LIMIT"]

#: Longest title and excerpt kept, in characters (real maxima: ~300 and 480).
TITLE_LIMIT = 1_000
EXCERPT_LIMIT = 5_000

_XML_FORBIDDEN = re.compile(f"[{XML_FORBIDDEN_CHARS}{SURROGATE_CHARS}]")  # lone surrogates too
_BOM_PREFIX = re.compile("^(?:\ufeff|\u00ef\u00bb\u00bf)+\\s*")
_BOM_STARTS = ("\ufeff", "\u00ef")
_SPACE = re.compile(r"\s+")


def clean_text(value: str, limit: int = EXCERPT_LIMIT) -> str:
    """Remove XML-forbidden characters and leading BOMs; strip; cut to ``limit``."""
    if not value:
        return ""
    text = _XML_FORBIDDEN.sub("", value)
    if text[:1] in _BOM_STARTS:  # the regex only for the rare text that can need it
        text = _BOM_PREFIX.sub("", text)
    text = text.strip()
    return text[:limit].rstrip() if len(text) > limit else text


def clean_title(value: str) -> str:
    """:func:`clean_text` for one-line values: white space collapsed to single spaces."""
    if not value:
        return ""
    text = clean_text(value, TITLE_LIMIT * 4)
    # In a printable string the one white-space character is " " (tests/test_text.py checks
    # every code point), so without "  " there is nothing to collapse: the regex, most of the
    # cost of a title, runs only where it changes something.
    if "  " in text or not text.isprintable():
        text = _SPACE.sub(" ", text)
    return text[:TITLE_LIMIT].strip()
