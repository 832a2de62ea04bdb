"""Load stage: every .md file becomes an Article or a Skipped with a specific reason."""

import os
from datetime import datetime, timezone

import pytest

from storygraph.errors import InputError, ItemProblem
from storygraph.load import load_content
from storygraph.model import Article
from storygraph.parse import front_matter

from conftest import FIXTURES, item


def _load(root):
    return load_content(root, max_file_bytes=1_000_000)


def test_skip_reasons_are_specific(write_items, yaml_backend):
    root = write_items(
        {
            "ok.md": item("Fine", "https://example.com/fine"),
            "empty.md": "",
            "plain.md": "just text, no front matter\n",
            "open.md": "---\ntitle: x\n",
            "list.md": "---\n- a\n- b\n---\n",
            "scalar.md": "---\njust a string\n---\n",
            "badyaml.md": "---\ntitle: [unclosed\n---\n",
            "notitle.md": "---\nwebUrl: https://example.com/a\n---\n",
            "nourl.md": "---\ntitle: No URL here\n---\n",
            "latin1.md": "---\ntitle: caf\xe9\n---\n".encode("latin-1"),
            "binary.md": b"\x00\x01\x02binary",
            "tag.md": "---\ntitle: !!python/object/apply:os.system ['echo hi']\nwebUrl: https://e.com/a\n---\n",
            "bomb.md": "---\na: &a [x, x]\nb: &b [*a, *a]\ntitle: t\nwebUrl: https://e.com/b\n---\n",
            "dup.md": "---\ntitle: a\ntitle: b\nwebUrl: https://e.com/c\n---\n",
            "notes.txt": "ignored",
        }
    )
    result = _load(root)
    codes = {s.file: s.code for s in result.skipped}
    assert [a.file for a in result.articles] == ["ok.md"]
    assert codes == {
        "empty.md": "empty",
        "plain.md": "no-front-matter",
        "open.md": "unterminated-front-matter",
        "list.md": "not-a-mapping",
        "scalar.md": "not-a-mapping",
        "badyaml.md": "invalid-yaml",
        "notitle.md": "no-title",
        "nourl.md": "no-url",
        "latin1.md": "not-utf8",
        "binary.md": "binary",
        "tag.md": "invalid-yaml",
        "bomb.md": "invalid-yaml",
        "dup.md": "duplicate-key",
    }
    assert result.ignored == 1 and result.inputs == 14
    # reasons are for people: they say what is wrong
    reasons = {s.file: s.reason for s in result.skipped}
    assert "line" in reasons["badyaml.md"] and "'title'" in reasons["dup.md"]
    assert "aliases" in reasons["bomb.md"]


def test_bom_and_crlf_parse(yaml_backend):
    data = "\ufeff---\r\ntitle: \"Caf\u00e9\"\r\nwebUrl: https://e.com/a\r\n---\r\n".encode("utf-8")
    assert front_matter(data)["title"] == "Caf\u00e9"


def test_front_matter_problem_codes():
    with pytest.raises(ItemProblem) as info:
        front_matter(b"   \n")
    assert info.value.code == "empty"


def test_video_with_only_original_url_and_null_topic(write_items):
    text = item("Trailer \U0001f525", "https://youtube.com/watch?v=abc", extra="topics:\n  - null\n  - Diablo 4\n  -")
    text = text.replace("webUrl:", "originalUrl:")
    root = write_items({"v.md": text})
    [article] = _load(root).articles
    assert article.url == "https://youtube.com/watch?v=abc"
    assert article.topics == ("Diablo 4",)
    assert article.title == "Trailer \U0001f525"


def test_fields_are_normalised(write_items, yaml_backend):
    extra = """
        ampWebUrl: "https://example.com/amp/a"
        quality: 7
        related:
          - title: "Other"
            webUrl: ""
            type: video
          - title: "Other 2"
            webUrl: "https://other.com/b"
            publishedDateTime: 2024-03-04T09:00:00Z
    """
    text = item("\u00ef\u00bb\u00bf Cyient   news\\a", "https://example.com/a", published="2024-03-05T10:00:00+02:00",
                excerpt="line\\r\\nnext\\u2028end", extra=extra)
    root = write_items({"sub/a.md": text})
    result = _load(root)
    [article] = result.articles
    assert isinstance(article, Article)
    assert article.file == "sub/a.md"
    assert article.title == "Cyient news"  # mojibake BOM, control char and runs of spaces gone
    assert article.published == datetime(2024, 3, 5, 8, 0, tzinfo=timezone.utc)
    assert article.excerpt == "line\r\nnext\u2028end"
    assert article.quality == 7
    assert article.alt_urls == ("https://example.com/amp/a",)
    assert [r.url for r in article.related] == ["https://other.com/b"]
    # the related entry without a URL is a notice, not silence
    assert [(n.file, n.field) for n in result.notices] == [("sub/a.md", "related[0]")]


@pytest.mark.parametrize(
    "value, expected, noticed",
    [
        ("2024-03-05T10:00:00Z", datetime(2024, 3, 5, 10, tzinfo=timezone.utc), False),
        ('"2024-03-05T10:00:00"', datetime(2024, 3, 5, 10, tzinfo=timezone.utc), True),
        ("2024-03-05", datetime(2024, 3, 5, tzinfo=timezone.utc), False),
        ('"next tuesday"', None, True),
        ("12345", None, True),
    ],
)
def test_dates(write_items, value, expected, noticed):
    root = write_items({"a.md": item("T", "https://e.com/a", published=value)})
    result = _load(root)
    assert result.articles[0].published == expected
    assert bool(result.notices) == noticed


def test_too_large_file_is_skipped_unread(write_items):
    root = write_items({"big.md": item("T", "https://e.com/a", excerpt="x" * 5000)})
    result = load_content(root, max_file_bytes=1000)
    assert [(s.file, s.code) for s in result.skipped] == [("big.md", "too-large")]


def test_symlink_loop_terminates(write_items):
    root = write_items({"a/x.md": item("T", "https://e.com/a")})
    os.symlink(root, root / "a" / "loop")
    result = _load(root)
    assert [a.file for a in result.articles] == ["a/x.md"]


def test_folder_named_md_is_walked_not_read(write_items):
    root = write_items({"x.md/inner.md": item("T", "https://e.com/a")})
    result = _load(root)
    assert [a.file for a in result.articles] == ["x.md/inner.md"] and not result.skipped


def test_missing_root_raises():
    with pytest.raises(InputError, match="not a folder"):
        _load("/nonexistent/folder")


def test_fixtures_account_for_every_file():
    result = _load(FIXTURES)
    md = sorted(p.relative_to(FIXTURES).as_posix() for p in FIXTURES.rglob("*.md"))
    seen = sorted([a.file for a in result.articles] + [s.file for s in result.skipped])
    assert seen == md
    assert [(s.file, s.code) for s in result.skipped] == [("README.md", "no-front-matter")]
    assert result.ignored == 1  # cloud/notes.txt
