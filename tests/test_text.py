"""Text cleaning: the rules of storygraph/text.py, and its shortcuts checked against the
plain rules written out once more here."""

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from storygraph.io import SURROGATE_CHARS, XML_FORBIDDEN_CHARS
from storygraph.text import TITLE_LIMIT, clean_text, clean_title

_FORBIDDEN = re.compile(f"[{XML_FORBIDDEN_CHARS}{SURROGATE_CHARS}]")
_BOMS = re.compile("^(?:\ufeff|\u00ef\u00bb\u00bf)+\\s*")


def _plain_text(value: str, limit: int) -> str:
    text = _BOMS.sub("", _FORBIDDEN.sub("", value)).strip()
    return text[:limit].rstrip() if len(text) > limit else text


def _plain_title(value: str) -> str:
    return re.sub(r"\s+", " ", _plain_text(value, TITLE_LIMIT * 4))[:TITLE_LIMIT].strip()


def test_the_rules():
    assert clean_text("\ufeff\ufeff  Diablo\x00 IV ") == "Diablo IV"
    assert clean_text("\u00ef\u00bb\u00bfDiablo") == "Diablo"
    assert clean_text("\u00efgal") == "\u00efgal"  # an ï that starts no mojibake BOM stays
    assert clean_text(" \ufeffDiablo") == "\ufeffDiablo"  # a BOM only counts at the very start
    assert clean_title("Diablo\n\t IV  leaks") == "Diablo IV leaks"
    assert clean_text("abcdef ", limit=4) == "abcd"
    assert clean_text("") == clean_title("") == ""


_PIECES = st.lists(st.sampled_from(["\ufeff", "\u00ef", "\u00bb", "\u00bf", " ", "\t", "\n", "\x00", "\x07", "\ud800",
                                    "\ufffe", "a", "Diablo", "é", "  ", "\u00a0", "\u2028", "\x85", "\x1c", "\u3000", "\r"]),
                     max_size=12).map("".join)


@settings(max_examples=1000, deadline=None)
@given(st.one_of(_PIECES, st.text(max_size=30)), st.integers(1, 12))
def test_shortcuts_change_nothing(value, limit):
    assert clean_text(value, limit) == _plain_text(value, limit)
    assert clean_text(value) == _plain_text(value, 5_000)
    assert clean_title(value) == _plain_title(value)


def test_white_space_in_a_printable_string_is_only_the_space():
    """What clean_title's shortcut rests on, for every code point of this Python's Unicode."""
    spaces = [c for c in map(chr, range(0x110000)) if re.fullmatch(r"\s", c)]
    assert spaces == [c for c in map(chr, range(0x110000)) if c.isspace()]
    assert [c for c in spaces if c.isprintable()] == [" "]
