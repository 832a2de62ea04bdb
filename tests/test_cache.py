"""The parse cache never changes a result: warm runs equal --no-cache runs."""

import os

import storygraph
from storygraph import cache as cache_mod
from storygraph.export import render

from conftest import item


def _parse_cache_only(tmp_path):
    """Remove the load snapshots (storygraph.snapshot), so that the next run reads the parse cache."""
    import shutil

    from storygraph import snapshot

    shutil.rmtree(tmp_path / "cache" / snapshot.FOLDER, ignore_errors=True)


def _files(root, tmp_path, **kw):
    result = storygraph.cluster(root, cache_dir=str(tmp_path / "cache"), **kw)
    return sorted(f for n in result.nodes for f in n.files), result


def test_warm_run_equals_uncached_run(write_items, tmp_path):
    root = write_items({f"{i}.md": item(f"Quake hits coast {i}", f"https://n{i}.com/q") for i in range(5)})
    cold = storygraph.cluster(root, cache_dir=str(tmp_path / "c"))
    warm = storygraph.cluster(root, cache_dir=str(tmp_path / "c"))
    plain = storygraph.cluster(root, use_cache=False)
    assert render(cold, "json") == render(warm, "json") == render(plain, "json")
    assert (tmp_path / "c" / f"parse-v{cache_mod.FORMAT}.sqlite").exists()


def test_entries_are_per_content_root(write_items, tmp_path):
    root = write_items({"sub/x.md": item("Fire at the docks", "https://e.com/x")})
    assert _files(root, tmp_path)[0] == ["sub/x.md"]
    assert _files(root / "sub", tmp_path)[0] == ["x.md"]  # not the parent run's path


def test_rewrite_keeping_size_and_mtime_is_seen(write_items, tmp_path):
    root = write_items({"x.md": item("Alpha fire downtown", "https://e.com/x")})
    before = os.stat(root / "x.md")
    assert _files(root, tmp_path)[1].nodes[0].title == "Alpha fire downtown"
    (root / "x.md").write_text(item("Bravo fire downtown", "https://e.com/x"), encoding="utf-8")
    os.utime(root / "x.md", ns=(before.st_atime_ns, before.st_mtime_ns))  # like cp -p / rsync -t
    assert os.stat(root / "x.md").st_size == before.st_size
    assert _files(root, tmp_path)[1].nodes[0].title == "Bravo fire downtown"


def test_transient_failures_are_not_cached(write_items, tmp_path, monkeypatch):
    root = write_items({"x.md": item("Fire", "https://e.com/x")})
    real_open = os.open

    def denied(path, *args, **kwargs):
        if str(path).endswith("x.md"):
            raise PermissionError(13, "Permission denied")
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr("storygraph.load.os.open", denied)
    assert [s.code for s in _files(root, tmp_path)[1].skipped] == ["unreadable"]
    monkeypatch.setattr("storygraph.load.os.open", real_open)
    assert _files(root, tmp_path)[0] == ["x.md"]


def test_corrupt_entries_are_parsed_again(write_items, tmp_path):
    import sqlite3

    root = write_items({"x.md": item("Fire", "https://e.com/x")})
    _files(root, tmp_path)
    db = sqlite3.connect(tmp_path / "cache" / f"parse-v{cache_mod.FORMAT}.sqlite")
    db.execute("UPDATE entries SET payload = ?", (b'{"article": {"file": 3}, "notices": []}',))
    db.commit()
    db.close()
    _parse_cache_only(tmp_path)
    assert _files(root, tmp_path)[0] == ["x.md"]


def test_unusable_cache_folder_does_not_stop_the_run(write_items, tmp_path):
    root = write_items({"x.md": item("Fire", "https://e.com/x")})
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    result = storygraph.cluster(root, cache_dir=str(blocker))
    assert [f for n in result.nodes for f in n.files] == ["x.md"]


def test_labels_are_shared_when_parsed_sent_and_cached():
    # a million articles repeat a few thousand publishers: parsing interns the labels, a batch
    # pickled to the parent carries each once, and articles read from the cache share them too
    import pickle

    from storygraph.cache import decode, encode
    from storygraph.fields import to_article

    def meta(i):
        return {"title": f"T {i}", "webUrl": f"https://a.com/{i}", "provider": {"name": "".join(["Wire", "Co"])},
                "topics": ["".join(["Azure", " news"])], "type": "".join(["arti", "cle"]),
                "related": [{"webUrl": f"https://b.com/{i}", "title": "R", "provider": {"name": "".join(["Wire", "Co"])}}]}

    items = [to_article(meta(i), f"{i}.md")[0] for i in range(2)]
    assert items[0].provider is items[1].provider is items[0].related[0].provider
    for copies in (pickle.loads(pickle.dumps(items)), [decode(encode(a, []))[0] for a in items]):
        assert copies == items
        assert copies[0].provider is copies[1].provider is copies[0].related[0].provider
        assert copies[0].topics[0] is copies[1].topics[0] and copies[0].type is copies[1].type


def _cache_keys(tmp_path, order: str) -> list[str]:
    import sqlite3

    db = sqlite3.connect(tmp_path / "cache" / f"parse-v{cache_mod.FORMAT}.sqlite")
    try:
        return [k for (k,) in db.execute(f"SELECT key FROM entries ORDER BY {order}")]
    finally:
        db.close()


def test_entries_are_inserted_in_key_order(write_items, tmp_path):
    # keys start with the path, so a folder parsed in path order appends to SQLite's key index
    # (random keys touched a random page of it per entry: 2.6x the CPU at a million entries)
    root = write_items({f"d{i % 3}/{i:03d}.md": item(f"Storm {i}", f"https://n{i}.com/s") for i in range(300)})
    _files(root, tmp_path, jobs=2)
    inserted = _cache_keys(tmp_path, "rowid")
    assert len(inserted) == 300
    assert inserted == _cache_keys(tmp_path, "key")
    assert inserted[0].startswith(os.path.join(os.path.realpath(root), "d0", "000.md") + " ")


def test_undecodable_file_name_is_cached_and_read_back(write_items, tmp_path, monkeypatch):
    # a lone surrogate cannot be stored as SQLite text: the key's path shows U+FFFD instead,
    # and the hash after it (of the exact name) still tells the file apart
    name = os.fsdecode(b"name-\xff.md")
    root = write_items({"a.md": item("Fire at the docks", "https://e.com/a")})
    (root / name).write_text(item("Flood in the valley", "https://e.com/b"), encoding="utf-8")
    cold_files, cold = _files(root, tmp_path)
    keys = _cache_keys(tmp_path, "key")
    assert len(keys) == 2 and any("/name-\ufffd" in k for k in keys)
    monkeypatch.setattr("storygraph.folder.parse_markdown", lambda *a: (_ for _ in ()).throw(AssertionError("parsed")))
    warm_files, warm = _files(root, tmp_path)
    assert warm_files == cold_files and len(warm_files) == 2
    assert render(warm, "json") == render(cold, "json")


def _pragma(tmp_path, name: str) -> int:
    import sqlite3

    db = sqlite3.connect(tmp_path / "cache" / f"parse-v{cache_mod.FORMAT}.sqlite")
    try:
        return db.execute(f"PRAGMA {name}").fetchone()[0]
    finally:
        db.close()


def test_new_cache_has_large_pages_and_an_older_one_is_still_read(write_items, tmp_path, monkeypatch):
    # 64 KiB pages hold ~20 payloads where 4 KiB pages hold one (half the insert time at 100k);
    # a cache made with small pages is not rebuilt for it: it keeps its pages and its entries
    root = write_items({f"{i}.md": item(f"Storm {i}", f"https://n{i}.com/s") for i in range(3)})
    _, cold = _files(root, tmp_path)
    assert _pragma(tmp_path, "page_size") == 65536
    assert _pragma(tmp_path, "journal_mode") == "wal"

    small = tmp_path / "small"
    monkeypatch.setattr(cache_mod, "_PAGE_SIZE", 4096)
    _files(root, small)
    assert _pragma(small, "page_size") == 4096
    monkeypatch.setattr(cache_mod, "_PAGE_SIZE", 65536)
    monkeypatch.setattr("storygraph.folder.parse_markdown", lambda *a: (_ for _ in ()).throw(AssertionError("parsed")))
    _, warm = _files(root, small)
    assert _pragma(small, "page_size") == 4096
    assert render(warm, "json") == render(cold, "json")


def _payload_with_related(quality: object, title: object = "Coverage") -> bytes:
    import json

    from storygraph.cache import encode
    from storygraph.fields import to_article

    meta = {"title": "Fire", "webUrl": "https://a.com/1",
            "related": [{"webUrl": "https://b.com/2", "title": "Coverage", "quality": 1}]}
    body = json.loads(encode(to_article(meta, "x.md")[0], []))
    body["article"]["related"][0][7] = quality
    body["article"]["related"][0][1] = title
    return json.dumps(body).encode()


def test_a_related_entry_stored_again_is_decoded_once_and_still_checked():
    import pytest

    from storygraph.cache import decode

    refs: dict = {}
    first, _ = decode(_payload_with_related(1), refs)
    again, _ = decode(_payload_with_related(1), refs)
    assert again.related[0] is first.related[0] and first.related[0].quality == 1
    # equal in Python to the remembered form (True == 1.0 == 1), malformed all the same
    for bad in (True, 1.0, "1"):
        with pytest.raises((TypeError, ValueError)):
            decode(_payload_with_related(bad), refs)
    with pytest.raises(TypeError):  # a list where a text belongs cannot be remembered or read
        decode(_payload_with_related(1, title=["Coverage"]), refs)
    for not_text in (5, None, 1.5, True):
        with pytest.raises(TypeError):
            decode(_payload_with_related(1, title=not_text), refs)
    longer = _payload_with_related(1).replace(b'"https://b.com/2"]]', b'"https://b.com/2", true]]')
    assert longer != _payload_with_related(1)
    with pytest.raises(ValueError):  # a tenth field, which nothing would check
        decode(longer, refs)
    assert decode(_payload_with_related(1), {})[0] == first  # a new memory reads the same values


def test_the_memory_of_related_entries_is_bounded(monkeypatch):
    from storygraph.cache import decode

    monkeypatch.setattr(cache_mod, "_REFS_LIMIT", 2)
    refs: dict = {}
    first = [decode(_payload_with_related(q), refs)[0].related[0] for q in (1, 2, None)]
    assert len(refs) == 1 and first[2].quality is None  # cleared when full, then the third kept
    assert decode(_payload_with_related(None), refs)[0].related[0] is first[2]
    assert decode(_payload_with_related(1), refs)[0].related[0] == first[0]


def test_a_tampered_entry_sharing_coverage_with_a_good_one_is_parsed_again(write_items, tmp_path):
    import json
    import sqlite3

    related = "related:\n  - webUrl: https://b.com/2\n    title: Coverage\n    quality: 1\n"
    root = write_items({f"{name}.md": item(f"Fire {name}", f"https://a.com/{name}", extra=related)
                        for name in ("a", "b")})
    _, cold = _files(root, tmp_path)
    db = sqlite3.connect(tmp_path / "cache" / f"parse-v{cache_mod.FORMAT}.sqlite")
    key, payload = db.execute("SELECT key, payload FROM entries ORDER BY key DESC LIMIT 1").fetchone()
    body = json.loads(payload)
    assert body["article"]["file"] == "b.md" and body["article"]["related"][0][7] == 1
    body["article"]["related"][0][7] = True  # equal to 1, the good entry's quality, in Python
    db.execute("UPDATE entries SET payload = ? WHERE key = ?", (json.dumps(body).encode(), key))
    db.commit()
    db.close()
    _parse_cache_only(tmp_path)
    _, warm = _files(root, tmp_path)
    assert render(warm, "json") == render(cold, "json")
    # b.md was parsed again (not read through a.md's remembered entry) and its entry written anew
    db = sqlite3.connect(tmp_path / "cache" / f"parse-v{cache_mod.FORMAT}.sqlite")
    (payload,) = db.execute("SELECT payload FROM entries WHERE key = ?", (key,)).fetchone()
    db.close()
    assert b"true" not in payload and json.loads(payload)["article"]["related"][0][7] == 1  # (True == 1)


def test_equal_related_entries_are_one_object_however_each_file_was_read(write_items, tmp_path, monkeypatch):
    # the same coverage listed by many items is held once for the whole load: parsed in the
    # workers, read from the cache (past the decode memory's bound, so entries are built
    # again), or a mix of the two
    from storygraph.load import load
    from storygraph.sources import open_source

    def body(i: int, title: str) -> str:
        related = [{"title": f"Coverage {k}", "webUrl": f"https://c.com/{k}"} for k in (i % 3, 3 + i % 2)]
        return item(title, f"https://n{i}.com/s", related=related)

    root = write_items({f"{i:03d}.md": body(i, f"Storm {i}") for i in range(300)})
    monkeypatch.setattr(cache_mod, "_REFS_LIMIT", 2)

    def loaded():
        result = load(open_source(root, 1 << 20), jobs=2, cache_dir=tmp_path / "cache")
        refs = [r for a in result.articles for r in a.related]
        assert len(result.articles) == 300 and len(refs) == 600
        return refs

    for refs in (loaded(), loaded()):  # parsed, then read back
        assert len({id(r) for r in refs}) == len(set(refs)) == 5
    for i in range(0, 300, 7):  # a mix: these parsed again, the rest from the cache
        (root / f"{i:03d}.md").write_text(body(i, f"Storm {i} updated"), encoding="utf-8")
    refs = loaded()
    assert len({id(r) for r in refs}) == len(set(refs)) == 5
