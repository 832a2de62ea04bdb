"""Load stage: every item (a .md file, a JSON Lines line) becomes an Article or a Skipped
with a specific reason; the sources behind it (folder, JSON Lines) and the engine's mapping."""

import json
import os
import pickle
from datetime import datetime, timezone

import networkx as nx
import pytest
from lxml import etree

import storygraph
from storygraph.errors import InputError, ItemProblem
from storygraph.export import render
from storygraph.folder import read_item
from storygraph.load import load, load_content
from storygraph.model import Article
from storygraph.parse import front_matter
from storygraph.sources import batches, open_source

from conftest import FIXTURES, item, md_files, other_files, without_front_matter


def _load(root):
    return load_content(root, max_file_bytes=1_000_000)


def test_skip_reasons_are_specific(write_items, yaml_backend):
    files = {
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
    root = write_items(files)
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
    assert result.inputs == sum(1 for rel in files if rel.endswith(".md"))
    assert result.ignored == sum(1 for rel in files if not rel.endswith(".md"))
    # reasons are for people: they say what is wrong
    reasons = {s.file: s.reason for s in result.skipped}
    assert "line" in reasons["badyaml.md"] and "'title'" in reasons["dup.md"]
    assert "aliases" in reasons["bomb.md"]


def test_bom_and_crlf_parse(yaml_backend):
    data = "\ufeff---\r\ntitle: \"Caf\u00e9\"\r\nwebUrl: https://e.com/a\r\n---\r\n".encode("utf-8")
    assert front_matter(data)["title"] == "Caf\u00e9"


def test_a_quoted_date_or_time_stays_text(yaml_backend):
    # yaml-rs reads a quoted "2024-01-01" as a date; YAML keeps a quoted scalar text (hypothesis
    # found a title "0001-01-01" skipped as "not text" with yaml-rs and kept with PyYAML)
    data = (b'---\ntitle: "0001-01-01"\nexcerpt: \'12:30\'\ntopics: ["2024-01-01T10:00:00Z"]\n'
            b"publishedDateTime: 2024-01-01T10:00:00Z\nwebUrl: https://e.com/a\n---\n")
    fm = front_matter(data)
    assert (fm["title"], fm["excerpt"], fm["topics"]) == ("0001-01-01", "12:30", ["2024-01-01T10:00:00Z"])
    assert not isinstance(fm["publishedDateTime"], str)  # unquoted: a timestamp, with either parser
    # escapes yaml-rs undoes before it reads a date; in provider and related entries too
    data = (b'---\ntitle: "\\u0032024-01-01"\nprovider:\n  name: "2024\\x2d01-01"\nrelated:\n'
            b'  - title: "20\\u003A30:00"\n    webUrl: https://e.com/b\nwebUrl: https://e.com/a\n---\n')
    fm = front_matter(data)
    assert (fm["title"], fm["provider"]["name"], fm["related"][0]["title"]) == ("2024-01-01", "2024-01-01", "20:30:00")


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


@pytest.mark.parametrize("size_hint", [0, 1, 4095, 4096, 4097, 10**6])
def test_a_read_goes_to_the_end_or_the_limit_whatever_size_fstat_gave(tmp_path, size_hint):
    """A file that grew or shrank after fstat is still read to its end, never past the limit."""
    from storygraph.folder import _read_upto

    data = bytes(range(256)) * 16 + b"tail"  # 4,100 bytes
    path = tmp_path / "f.md"
    path.write_bytes(data)
    for limit in (1, 4099, 4100, 4101, 1 << 20):
        fd = os.open(path, os.O_RDONLY)
        try:
            assert _read_upto(fd, limit, size_hint) == data[:limit]
        finally:
            os.close(fd)


@pytest.mark.skipif(not hasattr(os, "posix_fadvise"), reason="no posix_fadvise on this platform")
def test_a_batch_asks_for_its_regular_files_ahead_and_leaves_the_rest_to_read_item(tmp_path, monkeypatch):
    from storygraph import folder

    (tmp_path / "a.md").write_text("---\ntitle: A\nwebUrl: https://e.com/a\n---\n")
    (tmp_path / "big.md").write_text("x" * 2000)
    (tmp_path / "dir.md").mkdir()
    os.mkfifo(tmp_path / "pipe.md")
    (tmp_path / "dangling.md").symlink_to(tmp_path / "nowhere")
    batch = ["a.md", "big.md", "dir.md", "pipe.md", "dangling.md", "gone.md"]
    advised = []
    real = os.posix_fadvise
    monkeypatch.setattr(os, "posix_fadvise", lambda fd, *a: advised.append(os.fstat(fd).st_size) or real(fd, *a))
    source = folder.FolderSource(tmp_path, 1000)
    results = source.read_batch(batch)
    assert advised == [os.path.getsize(tmp_path / "a.md")]  # not the one over the limit, nor the others
    assert [repr(r) for r in results] == [repr(read_item(tmp_path, rel, 1000)) for rel in batch]
    assert [getattr(r[0], "code", "ok") for r in results] == \
        ["ok", "too-large", "not-a-file", "not-a-file", "broken-link", "vanished"]
    assert results[2][0].reason == "not a regular file"  # a folder, as before the fstat check
    assert results[3][0].reason == "not a regular file (a FIFO, socket or device)"


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
    seen = sorted([a.file for a in result.articles] + [s.file for s in result.skipped])
    assert seen == md_files() and result.inputs == len(md_files())
    assert [(s.file, s.code) for s in result.skipped] == [(rel, "no-front-matter") for rel in without_front_matter()]
    assert result.ignored == len(other_files())  # cloud/notes.txt


# --- the sources and the engine ------------------------------------------------------------------

def test_open_source_picks_the_kind(tmp_path):
    lines = tmp_path / "items.jsonl"
    lines.write_text('{"id": "a", "title": "One"}\n\n{"id": "b", "title": "Two"}\n', encoding="utf-8")
    folder = open_source(FIXTURES, 1000)
    assert (folder.kind, folder.paths, folder.ignored) == ("folder", md_files(), len(other_files()))
    assert open_source(FIXTURES.as_uri(), 1000).kind == "folder"  # file:// is the local folder
    jsonl = open_source(lines, 1000)
    assert (jsonl.kind, jsonl.paths, jsonl.ignored) == ("jsonl", ["line 1", "line 3"], 1)
    with pytest.raises(InputError, match="not a folder"):
        open_source(tmp_path / "missing", 1000)


def test_a_folder_reads_the_same_in_any_batches_and_after_pickling():
    source = open_source(FIXTURES, 10 << 20)
    whole = source.read_batch(source.paths)
    pieces = [result for batch in batches(source, 7) for result in source.read_batch(batch)]
    assert pieces == whole and len(whole) == len(md_files())
    shipped = pickle.dumps(source)  # what a Dask task or a forked worker receives
    assert pickle.loads(shipped).read_batch(source.paths[:5]) == whole[:5]
    assert len(shipped) < len(pickle.dumps(source.paths))  # the folder and the limit, not every name


def test_the_engine_gives_every_item_in_order_whatever_the_jobs(write_items):
    root = write_items({f"{i:03d}.md": item(f"Story {i}", f"https://e.com/{i}") for i in range(300)})
    ticks = []
    parallel = load(open_source(root, 10 << 20), jobs=2, tick=ticks.append)  # over 256 files: forked workers
    assert parallel == load_content(root, 10 << 20)
    assert [a.file for a in parallel.articles] == md_files(root) and sum(ticks) == len(md_files(root))


def test_equal_related_entries_are_one_object_however_the_files_are_read(write_items, tmp_path):
    """Coverage listed by many items is held once (memory at scale), from fresh parses in one
    process or in forked workers and from the parse cache, and reads as it would alone."""
    from storygraph.load import read_files

    common = {"title": "Rival coverage", "webUrl": "https://rival.com/a", "publishedDateTime": "2024-03-05T09:00:00Z"}
    files = {f"{i:03d}.md": item(f"Story {i}", f"https://e.com/{i}", related=[
        common, {"title": f"Own {i}", "webUrl": f"https://own.com/{i}"}]) for i in range(300)}
    root = write_items(files)
    source = open_source(root, 10 << 20)
    alone = [read_item(root, rel, 10 << 20)[0] for rel in source.paths]
    for jobs, cache in [(1, None), (2, None), (1, tmp_path / "cache"), (1, tmp_path / "cache")]:  # cold, then warm
        loaded = read_files(root, source.paths, 0, max_file_bytes=10 << 20, jobs=jobs, cache_dir=cache)
        assert loaded.articles == alone
        firsts = {id(a.related[0]) for a in loaded.articles}
        assert len(firsts) == 1, (jobs, cache)  # the common entry: one object
        assert len({id(a.related[1]) for a in loaded.articles}) == 300  # the others: one each


# --- JSON Lines ----------------------------------------------------------------------------------

@pytest.mark.parametrize("lines, expected", [
    # ids that differ only in characters text cleaning removes are one id
    ([{"id": "a\u0001", "title": "x one"}, {"id": "a", "title": "x two"}], {"a": "duplicate-id"}),
    # a line without an id does not collide with an explicit id "line 2"
    ([{"id": "line 2", "title": "x one"}, {"title": "x two", "webUrl": "https://e.com/2"}], {}),
])
def test_jsonl_ids(tmp_path, lines, expected):
    path = tmp_path / "items.jsonl"
    path.write_text("\n".join(json.dumps(x) for x in lines) + "\n", encoding="utf-8")
    result = storygraph.cluster(path)
    assert {s.file: s.code for s in result.skipped} == expected


def test_jsonl_lone_surrogate_id_and_huge_line(tmp_path):
    path = tmp_path / "items.jsonl"
    path.write_bytes(b'{"id": "b\\ud800", "title": "Heat in Echo"}\n' + b'{"title": "' + b"x" * 3000 + b'"}\n'
                     + b'{"id": "ok", "title": "Fine"}\n')
    result = storygraph.cluster(path, max_file_bytes=1000)
    assert {s.file: s.code for s in result.skipped} == {"line 2": "too-large"}
    assert sorted(f for n in result.nodes for f in n.files) == ["b", "ok"]  # the lone surrogate is cleaned away
    doc = json.loads(render(result, "json"))
    assert sorted(n["title"] for n in doc["nodes"]) == ["Fine", "Heat in Echo"]
    for fmt, read in (("graphml", nx.read_graphml), ("gexf", nx.read_gexf)):
        data = render(result, fmt)
        etree.fromstring(data)  # strict XML
        path = tmp_path / f"out.{fmt}"
        path.write_bytes(data)
        assert sorted(read(path).nodes) == sorted(n["id"] for n in doc["nodes"]), fmt


def test_jsonl_is_read_in_one_pass_in_order(tmp_path):
    path = tmp_path / "items.jsonl"
    path.write_text('{"id": "a", "title": "One"}\n\n{"id": "a", "title": "Again"}\n{"id": "c", "title": "Three"}\n',
                    encoding="utf-8")
    source = open_source(path, 1000)
    # ids must be unique across the file: it is one batch, never split between workers
    assert not source.splittable and batches(source, 1) == [source.paths]
    result = load(source)
    assert [a.file for a in result.articles] == ["a", "c"]
    assert [(s.file, s.code) for s in result.skipped] == [("a", "duplicate-id")]
    assert (result.inputs, result.ignored, result.kind) == (3, 1, "jsonl")


def test_a_load_forgets_the_related_entries_it_remembered():
    # the memory of related entries serves one load; kept, it would pin entries between API runs
    from storygraph import fields

    fields.forget_entries()
    rel = next(p for p in md_files() if "related:" in (FIXTURES / p).read_text(encoding="utf-8"))
    read_item(FIXTURES, rel, 1 << 20)
    assert fields._SEEN, "reading an item with a related list remembers its entries"
    load_content(FIXTURES, 1 << 20)
    assert fields._SEEN == {}
