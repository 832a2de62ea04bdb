"""Content at a URL: fsspec folders read like local ones; file:// is the local path."""

import os

import pytest

import storygraph
from storygraph.export import render
from storygraph.remote import is_url, local_path

from conftest import FIXTURES, item

fsspec = pytest.importorskip("fsspec")


def test_url_detection():
    assert is_url("s3://bucket/content/") and is_url("file:///data") and is_url("memory://x")
    assert not is_url("content/") and not is_url("C:\\news") and not is_url("/abs/path")
    assert local_path("file:///data/content") == "/data/content" and local_path("s3://b/c") is None


def test_a_memory_filesystem_folder_gives_the_local_result(tmp_path):
    files = {
        "b.md": item("Quake hits coast", "https://news.com/quake", published="2024-04-03T00:00:00Z"),
        "sub/a.md": item("Coast quake damage", "https://other.com/damage", published="2024-04-04T00:00:00Z"),
        "sub/deeper/c.md": item("Quake relief", "https://third.com/relief", published="2024-04-04T09:00:00Z"),
        "notes.txt": "not an item",
        "broken.md": "no front matter here",
        "big.md": item("Huge", "https://big.com/x") + "x" * 5000,
    }
    fs = fsspec.filesystem("memory")
    for rel, text in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text, encoding="utf-8")
        fs.pipe(f"/sg-test/{rel}", text.encode("utf-8"))
    try:
        remote = storygraph.cluster("memory:///sg-test", max_file_bytes=4000)
    finally:
        fs.rm("/sg-test", recursive=True)
    local = storygraph.cluster(tmp_path, max_file_bytes=4000, use_cache=False)
    assert render(remote, "json") == render(local, "json")
    assert {s.code for s in remote.skipped} == {"no-front-matter", "too-large"}
    md = [rel for rel in files if rel.endswith(".md")]
    assert remote.loaded.inputs == len(md) and remote.loaded.ignored == len(files) - len(md)


def test_a_missing_url_folder_is_named():
    with pytest.raises(storygraph.InputError, match="memory:///nowhere: not a folder"):
        storygraph.cluster("memory:///nowhere")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_file_urls_are_read_as_local_paths(tmp_path):
    (tmp_path / "a.md").write_text(item("Quake hits coast", "https://news.com/quake"), encoding="utf-8")
    os.mkfifo(tmp_path / "pipe.md")  # through fsspec this would block for ever; as a path it is skipped
    result = storygraph.cluster(tmp_path.as_uri(), use_cache=False)
    assert [s.code for s in result.skipped] == ["not-a-file"]
    assert render(storygraph.cluster(FIXTURES.as_uri()), "json") == render(storygraph.cluster(FIXTURES), "json")
