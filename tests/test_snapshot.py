"""The load snapshot: a re-run takes unchanged files from it, and it never changes a result."""

import dataclasses
import hashlib
import json
import os

import pytest

from storygraph import cache as cache_mod
from storygraph import snapshot
from storygraph.load import load
from storygraph.model import Article, RelatedRef
from storygraph.sources import open_source

from conftest import item


def _body(i: int, title: str | None = None) -> str:
    related = [{"title": f"Coverage {k}", "webUrl": f"https://c.com/{k}", "publishedDateTime": "2024-03-05T09:00:00+02:00"}
               for k in (i % 3, 3 + i % 2)]
    return item(title or f"Storm {i}", f"https://n{i}.com/s", related=related, published=f"2024-03-{1 + i % 9:02d}T10:00:00Z",
                extra="topics: [weather, storms]\nampWebUrl: https://amp.n.com/s" if i % 2 else "")


@pytest.fixture
def corpus(write_items):
    files = {f"{i:03d}.md": _body(i) for i in range(40)}
    files["bad.md"] = "---\ntitle: [unclosed\n---\n"  # skipped, with its reason
    files["noted.md"] = item("Quake", "https://q.com/1", published="not a date")  # used, with a notice
    files[os.fsdecode(b"name-\xff.md")] = item("Flood", "https://f.com/1")  # a name that is not UTF-8
    return write_items(files)


def _load(root, cache_dir):
    return load(open_source(root, 1 << 20), jobs=1, cache_dir=cache_dir)


def _same(a, b) -> None:
    assert a.articles == b.articles and a.skipped == b.skipped and a.notices == b.notices
    # equal is not enough for dates: 10:00+00:00 equals 12:00+02:00
    assert [x.published and x.published.isoformat() for x in a.articles] == \
           [x.published and x.published.isoformat() for x in b.articles]
    assert [r.published and r.published.isoformat() for x in a.articles for r in x.related] == \
           [r.published and r.published.isoformat() for x in b.articles for r in x.related]


class _Lookups:
    """Counts the keys asked of the parse cache."""

    def __init__(self, monkeypatch):
        self.keys = 0
        real = cache_mod.ParseCache.iter_many

        def counted(cache, keys):
            self.keys += len(keys)
            return real(cache, keys)

        monkeypatch.setattr(cache_mod.ParseCache, "iter_many", counted)


def _snapshot(cache_dir):
    (path,) = (cache_dir / snapshot.FOLDER).glob("*.json")
    return path


def test_a_rerun_reads_the_snapshot_and_equals_a_run_without_cache(corpus, tmp_path, monkeypatch):
    plain = _load(corpus, None)
    first = _load(corpus, tmp_path / "c")
    lookups = _Lookups(monkeypatch)
    second = _load(corpus, tmp_path / "c")
    assert lookups.keys == 0  # every file from the snapshot
    _same(first, plain)
    _same(second, plain)
    assert [s.code for s in second.skipped] == ["invalid-yaml"] and any("noted.md" == n.file for n in second.notices)
    refs = [r for a in second.articles for r in a.related]
    assert len({id(r) for r in refs}) == len(set(refs)) == 5  # one object per value


def test_changed_and_new_files_are_read_again_and_the_snapshot_follows(corpus, tmp_path, monkeypatch):
    _load(corpus, tmp_path / "c")
    (corpus / "007.md").write_text(_body(7, "Storm 7 updated"), encoding="utf-8")
    (corpus / "new.md").write_text(_body(50), encoding="utf-8")
    (corpus / "000.md").unlink()
    lookups = _Lookups(monkeypatch)
    again = _load(corpus, tmp_path / "c")
    assert lookups.keys == 2  # the changed file and the new one
    _same(again, _load(corpus, None))
    assert "Storm 7 updated" in [a.title for a in again.articles]
    refs = [r for a in again.articles for r in a.related]
    assert len({id(r) for r in refs}) == len(set(refs)) == 5  # parsed ones share the snapshot's objects
    lookups.keys = 0
    _same(_load(corpus, tmp_path / "c"), again)
    assert lookups.keys == 0  # the snapshot was written anew with them


def _rewrite(path, change) -> None:
    """Apply ``change`` to the snapshot's columns (a file of one block) and write it back with a
    valid digest."""
    lines = path.read_bytes().split(b"\n")[:-2]
    names = ["skipped", "notices", *(f"ref_{n}" for n in snapshot._REF_FIELDS), "keys", *snapshot._FIELDS]
    assert len(lines) == 1 + len(names)  # one block
    columns = dict(zip(names, (json.loads(x) for x in lines[1:])))
    change(columns)
    body = lines[0] + b"\n" + b"".join(json.dumps(columns[n]).encode() + b"\n" for n in names)
    path.write_bytes(body + hashlib.sha256(body).hexdigest().encode() + b"\n")


def _set(name, index, value):
    def change(columns):
        columns[name][index] = value
    return change


@pytest.mark.parametrize("change", [
    _set("quality", 0, True),  # equal to 1, not an int
    _set("title", 0, 3),
    _set("related", 0, [-1]),  # would index from the end
    _set("related", 0, [999]),
    _set("topics", 1, ["weather", 2]),
    _set("published", 0, "not a date"),
    _set("ref_quality", 0, 1.0),
    _set("notices", 0, ["key", "file", "field"]),
    lambda columns: columns["title"].pop(),  # a column shorter than the rows
], ids=["quality", "title", "negative-index", "index", "topic", "date", "ref-quality", "notice", "short"])
def test_a_snapshot_with_a_wrong_value_is_not_used(corpus, tmp_path, monkeypatch, change):
    first = _load(corpus, tmp_path / "c")
    _rewrite(_snapshot(tmp_path / "c"), change)
    lookups = _Lookups(monkeypatch)
    _same(_load(corpus, tmp_path / "c"), first)
    assert lookups.keys == len(first.articles) + len(first.skipped)  # the parse cache answered instead


def test_a_damaged_snapshot_is_not_used_and_is_written_anew(corpus, tmp_path, monkeypatch):
    first = _load(corpus, tmp_path / "c")
    path = _snapshot(tmp_path / "c")
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 1  # one bit: the digest no longer matches
    path.write_bytes(bytes(data))
    lookups = _Lookups(monkeypatch)
    _same(_load(corpus, tmp_path / "c"), first)
    assert lookups.keys > 0
    lookups.keys = 0
    path.write_bytes(path.read_bytes()[:1000])  # cut short, as by a full disk
    _same(_load(corpus, tmp_path / "c"), first)
    lookups.keys = 0
    _same(_load(corpus, tmp_path / "c"), first)
    assert lookups.keys == 0  # rewritten whole


def test_blocks_of_rows_read_back_whole(corpus, tmp_path, monkeypatch):
    monkeypatch.setattr(snapshot, "_BLOCK", 4)  # 42 rows in 11 blocks, the last of 2; 5 entries in 2
    first = _load(corpus, tmp_path / "c")
    lookups = _Lookups(monkeypatch)
    _same(_load(corpus, tmp_path / "c"), first)
    assert lookups.keys == 0
    lines = _snapshot(tmp_path / "c").read_bytes().split(b"\n")
    assert len(lines) == 3 + 2 * 9 + 11 * 15 + 2  # header, skipped, notices, blocks, digest, ""


def test_the_columns_follow_the_dataclasses():
    # the articles are built positionally (map over the columns): the order must be the fields'
    assert snapshot._FIELDS == tuple(f.name for f in dataclasses.fields(Article))
    assert snapshot._REF_FIELDS == tuple(f.name for f in dataclasses.fields(RelatedRef))


def test_the_snapshots_kept_are_those_of_the_most_recently_run_folders(write_items, tmp_path):
    roots = [write_items({f"f{i}/x.md": item(f"Fire {i}", f"https://e.com/{i}")}) / f"f{i}"
             for i in range(snapshot.KEEP + 1)]
    paths = [snapshot.snapshot_path(tmp_path / "c", root, 1 << 20) for root in roots]
    for i, root in enumerate(roots[:-1]):
        _load(root, tmp_path / "c")
        os.utime(paths[i], ns=(i * 10**9, i * 10**9))  # in order, whatever the clock's resolution
    _load(roots[0], tmp_path / "c")  # unchanged, so not written again: read, and so marked as used
    _load(roots[-1], tmp_path / "c")
    kept = sorted((tmp_path / "c" / snapshot.FOLDER).glob("*.json"))
    assert kept == sorted([paths[0], *paths[2:]])  # the second folder's went: the least recently run


def test_a_run_with_another_thread_writes_in_this_process(corpus, tmp_path, monkeypatch):
    # a thread may hold a lock a forked copy would wait on for ever (one blocked reading stdin
    # deadlocked a multiprocessing start): with a thread alive there is no fork
    import threading

    monkeypatch.setattr(snapshot, "_FORK_MIN", 1)
    monkeypatch.setattr(os, "fork", lambda: (_ for _ in ()).throw(AssertionError("forked")))
    release = threading.Event()
    thread = threading.Thread(target=release.wait)
    thread.start()
    try:
        first = _load(corpus, tmp_path / "c")
    finally:
        release.set()
        thread.join()
    assert not snapshot._PENDING and _snapshot(tmp_path / "c").exists()
    lookups = _Lookups(monkeypatch)
    _same(_load(corpus, tmp_path / "c"), first)
    assert lookups.keys == 0


def _forking(monkeypatch) -> None:
    """Fork from any size, whatever threads earlier tests left running (a Dask client's...)."""
    monkeypatch.setattr(snapshot, "_FORK_MIN", 1)
    monkeypatch.setattr(snapshot.threading, "active_count", lambda: 1)


def test_a_forked_writer_reports_whether_it_wrote(corpus, tmp_path, monkeypatch):
    _forking(monkeypatch)
    loaded = _load(corpus, None)
    results = {a.file: (a, []) for a in loaded.articles}
    keys = {a.file: f"k {a.file}" for a in loaded.articles}
    (tmp_path / "a-file").write_text("not a folder")
    snapshot.write_later(tmp_path / "a-file" / "x.json", keys, results)
    assert len(snapshot._PENDING) == 1 and snapshot.wait() is False and not snapshot._PENDING
    snapshot.write_later(tmp_path / "ok" / "x.json", keys, results)
    assert len(snapshot._PENDING) == 1 and snapshot.wait() is True
    assert snapshot.read(tmp_path / "ok" / "x.json", keys)[0] == results


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_a_file_that_is_never_stored_does_not_rewrite_the_snapshot(corpus, tmp_path, monkeypatch):
    os.mkfifo(corpus / "pipe.md")  # skipped as not-a-file, a result of the moment: never stored
    first = _load(corpus, tmp_path / "c")
    assert "not-a-file" in [s.code for s in first.skipped]
    writes = []
    monkeypatch.setattr(snapshot, "write_later", lambda *args: writes.append(args))
    _same(_load(corpus, tmp_path / "c"), first)
    assert writes == []


def test_a_snapshot_nested_too_deep_for_the_json_reader_is_not_used(corpus, tmp_path, monkeypatch):
    first = _load(corpus, tmp_path / "c")
    _snapshot(tmp_path / "c").write_bytes(b'{"format":1,"rows":0,"refs":0,"block":1}\n' + b"[" * 100_000
                                          + b"]" * 100_000 + b"\n")
    lookups = _Lookups(monkeypatch)
    _same(_load(corpus, tmp_path / "c"), first)
    assert lookups.keys == len(first.articles) + len(first.skipped)


def test_entries_of_one_url_are_hashed_once_when_that_url_is_asked_for():
    from storygraph.load import Shared

    known = [RelatedRef(url="https://c.com/x", title=f"Coverage {i}") for i in range(1000)]
    shared = Shared()
    shared.know(known)
    assert shared(RelatedRef(url="https://c.com/x", title="Coverage 500")) is known[500]
    assert "https://c.com/x" not in shared.by_url and len(shared.by_value) == 1000
    assert shared(RelatedRef(url="https://c.com/x", title="Coverage 7")) is known[7]
    fresh = RelatedRef(url="https://c.com/y", title="Other")
    assert shared(fresh) is fresh and shared(RelatedRef(url="https://c.com/y", title="Other")) is fresh


def test_a_large_snapshot_is_written_by_a_forked_writer(corpus, tmp_path, monkeypatch):
    _forking(monkeypatch)
    first = _load(corpus, tmp_path / "c")
    assert len(snapshot._PENDING) == 1
    assert snapshot.wait() is True and not snapshot._PENDING
    lookups = _Lookups(monkeypatch)
    _same(_load(corpus, tmp_path / "c"), first)
    assert lookups.keys == 0


def test_an_opened_source_run_twice_sees_the_files_as_they_are_now(corpus, tmp_path):
    # the states the fingerprint took are the load's of that run only, not of the source for good
    import storygraph
    from storygraph import runcache
    from storygraph.export import render

    source = open_source(corpus, 10 << 20)
    runcache.fingerprint(source, {}, "json", {})  # as the CLI does before the run
    storygraph.cluster(source, cache_dir=str(tmp_path / "c"))
    (corpus / "007.md").write_text(_body(7, "Storm 7 updated"), encoding="utf-8")
    (corpus / "008.md").unlink()
    again = storygraph.cluster(source, cache_dir=str(tmp_path / "c"))
    plain = storygraph.cluster(source, use_cache=False)  # the same listing (008.md in it), no cache
    assert render(again, "json") == render(plain, "json")
    assert "Storm 7 updated" in [n.title for n in again.nodes]
    assert [(s.file, s.code) for s in again.loaded.skipped if s.file == "008.md"] == [("008.md", "vanished")]


def test_a_parse_cache_entry_nested_too_deep_is_parsed_again(corpus, tmp_path):
    import shutil
    import sqlite3

    first = _load(corpus, tmp_path / "c")
    shutil.rmtree(tmp_path / "c" / snapshot.FOLDER)
    db = sqlite3.connect(tmp_path / "c" / f"parse-v{cache_mod.FORMAT}.sqlite")
    db.execute("UPDATE entries SET payload = ?", (b"[" * 100_000 + b"]" * 100_000,))
    db.commit()
    db.close()
    _same(_load(corpus, tmp_path / "c"), first)


def test_cache_clear_removes_snapshots_and_nothing_else_there(corpus, tmp_path):
    from click.testing import CliRunner

    from storygraph.cli import main

    _load(corpus, tmp_path / "c")
    (tmp_path / "c" / snapshot.FOLDER / "notes.txt").write_text("not storygraph's")
    info = CliRunner().invoke(main, ["cache", "info", "--cache-dir", str(tmp_path / "c")])
    assert "the last load of 1 folder (" in info.output
    assert CliRunner().invoke(main, ["cache", "clear", "--cache-dir", str(tmp_path / "c")]).exit_code == 0
    assert [p.name for p in (tmp_path / "c" / snapshot.FOLDER).iterdir()] == ["notes.txt"]
