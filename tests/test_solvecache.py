"""Reuse of solved work across runs (storygraph.solvecache): a re-run solves only the periods
and searches only the similarity blocks whose inputs changed, and writes the bytes a fresh run
writes; a damaged entry is computed again, never trusted; the file keeps a few runs' work."""

from __future__ import annotations

import shutil
import sqlite3

import numpy as np
import pytest

import storygraph
from storygraph import ClusterOptions, periods
from storygraph import similarity, solvecache
from storygraph.solvecache import FILE, PeriodStore, SolvedStore

from conftest import FIXTURES

_NEW_ITEM = """---
title: "Harbour cranes strike enters day {n} as dockers reject the offer"
excerpt: "Dock workers at the harbour extend the strike over pay and shifts."
publishedDateTime: 2024-05-{day}T10:00:00Z
webUrl: "https://example.org/news/strike-{n}"
---
"""


@pytest.fixture
def content(tmp_path):
    folder = tmp_path / "content"
    shutil.copytree(FIXTURES, folder)
    return folder


def _solving(monkeypatch) -> list[int]:
    """The periods solved from here on (not taken from the store), in the order solved."""
    solved, real = [], periods._solve

    def counted(matrix, edges, days, period, knobs, value):
        solved.append(value)
        return real(matrix, edges, days, period, knobs, value)

    monkeypatch.setattr(periods, "_solve", counted)
    return solved


def _add_new_period(content) -> None:
    for n, day in enumerate((12, 13, 14)):  # 2024-05-09 starts a 28-day period after the fixtures' last
        (content / f"new-{n}.md").write_text(_NEW_ITEM.format(n=n, day=day), encoding="utf-8")


def _period_values(result, options) -> list[int]:
    days = np.array([n.published.timestamp() / 86400 if n.published else np.nan for n in result.table.nodes])
    return sorted(set(periods.period_of(days, options.period_windows * options.window_days).tolist()))


def test_a_rerun_solves_only_the_changed_periods_and_writes_a_fresh_runs_bytes(content, tmp_path, monkeypatch):
    options = ClusterOptions(idf_scope="running", jobs=1, cache_dir=str(tmp_path / "cache"))
    first = storygraph.cluster(content, options)
    solved = _solving(monkeypatch)
    again = storygraph.cluster(content, options)
    assert solved == [] and again.to_json() == first.to_json()  # every period from the store
    _add_new_period(content)
    rerun = storygraph.cluster(content, options)
    values = _period_values(rerun, options)
    newest = max(values)
    # the new period, the one before it (its IDF reads the next period) and the undated articles
    # (weighed by the whole corpus) changed; the older periods' sub-problems are the same
    assert sorted(solved) == sorted({newest, newest - 1} | ({periods.UNDATED} & set(values)))
    assert len(values) - len(solved) >= 3
    fresh = storygraph.cluster(content, options.replace(use_cache=False))
    assert rerun.to_json() == fresh.to_json()


def test_without_locality_nothing_is_reused_and_the_output_is_still_a_fresh_runs(content, tmp_path, monkeypatch):
    options = ClusterOptions(idf_scope="corpus", jobs=1, cache_dir=str(tmp_path / "cache"))
    storygraph.cluster(content, options)
    _add_new_period(content)
    solved = _solving(monkeypatch)
    rerun = storygraph.cluster(content, options)
    assert sorted(solved) == _period_values(rerun, options)  # the corpus IDF moved every vector
    assert rerun.to_json() == storygraph.cluster(content, options.replace(use_cache=False)).to_json()


@pytest.mark.parametrize("damage", ["flip a label", "flip the digest", "cut short", "label out of range"])
def test_a_damaged_entry_is_solved_again(content, tmp_path, monkeypatch, damage):
    cache = tmp_path / "cache"
    options = ClusterOptions(idf_scope="running", jobs=1, cache_dir=str(cache))
    first = storygraph.cluster(content, options)
    db = sqlite3.connect(cache / f"{FILE}.sqlite")
    key, payload = db.execute("SELECT key, payload FROM entries WHERE key LIKE 'period %' ORDER BY key").fetchone()
    payload = bytearray(payload)
    if damage == "flip a label":
        payload[32] ^= 1
    elif damage == "flip the digest":
        payload[0] ^= 1
    elif damage == "cut short":
        payload = payload[:-8]
    else:  # a valid digest over labels that cannot be this period's
        labels = np.frombuffer(bytes(payload[32:]), dtype="<i8").copy()
        labels[0] = len(labels)
        payload = bytearray(solvecache._sealed(key, labels.astype("<i8").tobytes()))
    with db:
        db.execute("UPDATE entries SET payload = ? WHERE key = ?", (bytes(payload), key))
    db.close()
    solved = _solving(monkeypatch)
    again = storygraph.cluster(content, options)
    assert len(solved) == 1 and again.to_json() == first.to_json()


def test_the_key_names_the_whole_sub_problem():
    """Equal sub-problems share a key; a changed weight, day, knob or word weight does not."""
    import scipy.sparse as sp
    from storygraph.model import Edges
    matrix = sp.csr_matrix(np.array([[0.6, 0.8, 0.0], [0.0, 0.6, 0.8]], dtype=np.float32))
    edges = Edges.weighted(2, [(0, 1, 0.48)])
    days = np.array([19000.0, 19001.0])
    knobs = {"cohesion": 0.07, "window_days": 7.0, "seed": 42, "use_igraph": True}
    key = periods.period_key(matrix, edges, days, knobs)
    assert key == periods.period_key(matrix.copy(), Edges.weighted(2, [(1, 0, 0.48)]), days.copy(), dict(knobs))
    moved = matrix.copy()
    moved.data[0] = np.float32(0.6000001)
    others = [
        periods.period_key(matrix, Edges.weighted(2, [(0, 1, 0.49)]), days, knobs),
        periods.period_key(matrix, edges, days + np.array([0.0, 1e-9]), knobs),
        periods.period_key(matrix, edges, days, {**knobs, "seed": 43}),
        periods.period_key(moved, edges, days, knobs),
    ]
    assert len({key, *others}) == 5


def test_the_store_keeps_what_it_is_given(tmp_path):
    store = SolvedStore(tmp_path)
    PeriodStore(store).put_many({"a" * 64: np.array([0, 1, 0], dtype=np.int64)})
    store.close()
    again = SolvedStore(tmp_path)
    held = PeriodStore(again).get_many({"a" * 64: 3, "b" * 64: 2})
    assert list(held) == ["a" * 64] and held["a" * 64].tolist() == [0, 1, 0]
    assert PeriodStore(again).get_many({"a" * 64: 4}) == {}  # not this period's size: a miss
    again.close()


def test_the_file_keeps_the_last_runs_work_only(tmp_path):
    """Each run marks what it reads or writes; closing keeps the entries of the last KEEP_RUNS runs."""
    for run in range(6):
        store = SolvedStore(tmp_path, keep_runs=3)
        if run == 2:
            PeriodStore(store).get_many({"0" * 64: 1})  # run 2 reads run 0's entry: it stays
        PeriodStore(store).put_many({str(run) * 64: np.zeros(1, dtype=np.int64)})
        store.close()
    store = SolvedStore(tmp_path, keep_runs=3)
    kept = [k for k in "012345" if PeriodStore(store).get_many({k * 64: 1})]
    store.close()
    assert kept == ["3", "4", "5"]  # run 0's entry was read by run 2, which is no longer among the last three


def test_a_rerun_searches_only_the_changed_blocks_and_finds_a_fresh_runs_pairs(monkeypatch):
    """The similarity search over blocks: reused blocks give the same pairs, bit for bit, and only
    blocks whose rows or columns changed are searched again, whatever new words the vocabulary gets."""
    rng = np.random.default_rng(5)
    vocabulary = [f"w{i:03d}" for i in range(300)]
    texts = [" ".join(rng.choice(vocabulary[:60 + i // 4], size=12)) for i in range(400)]
    days = np.sort(rng.uniform(19000, 19200, 400))  # about seven 28-day periods
    later = [" ".join(["aaa-new-word"] + list(rng.choice(vocabulary, size=12))) for _ in range(30)]
    knobs = dict(threshold=0.1, top_k=5, window_days=7.0, chunk_size=32)
    searched = []
    real = similarity.block_top_k
    monkeypatch.setattr(similarity, "serial_blocks", lambda m, d, plan, *a: (searched.append(len(r)) or real(m, d, r, c, *a)
                                                                            for r, c in plan))
    memory = _MemoryStore()
    before, terms = similarity.tfidf_matrix(texts, periods=np.floor(days / 28).astype(np.int64))
    similarity.similar_pairs(before, days, store=memory, words=solvecache.word_ids(terms), **knobs)
    first = len(searched)
    all_days = np.r_[days, rng.uniform(19198, 19200, 30)]
    matrix, terms = similarity.tfidf_matrix(texts + later, periods=np.floor(all_days / 28).astype(np.int64))
    searched.clear()
    reused = similarity.similar_pairs(matrix, all_days, store=memory, words=solvecache.word_ids(terms), **knobs)
    again = len(searched)
    fresh = similarity.similar_pairs(matrix, all_days, **knobs)
    # the running IDF moves the last two periods' vectors: their blocks, and those within a window of them
    assert 0 < again <= first // 2 and len(searched) - again == first + 1  # a fresh search: every block
    assert np.array_equal(reused.left, fresh.left) and np.array_equal(reused.right, fresh.right)
    assert reused.similarity.tobytes() == fresh.similarity.tobytes()


class _MemoryStore:
    """A BlockStore's interface over a dict, through the real payload encoding."""

    def __init__(self) -> None:
        self.entries: dict[str, bytes] = {}
        self.blocks = solvecache.BlockStore(self)

    def get_many(self, keys):
        return {k: self.entries[k] for k in keys if k in self.entries}

    def put_many(self, items):
        self.entries.update(items)


def test_block_keys_follow_words_not_column_numbers():
    """A word new to the vocabulary moves every later column's number; a block whose rows and
    columns hold the same words with the same weights keeps its key. Days, weights, the rows'
    order and the knobs are in it."""
    import scipy.sparse as sp
    terms = ["coast", "hits", "storm", "vote"]
    dense = np.array([[0.6, 0.0, 0.8, 0.0], [0.8, 0.6, 0.0, 0.0], [0.0, 0.0, 0.0, 1.0]], dtype=np.float32)
    matrix = sp.csr_matrix(dense)
    wider = sp.csr_matrix(np.c_[np.zeros((3, 1), np.float32), dense])  # "aardvark" sorts first
    days = np.array([19000.0, 19000.5, 19001.0])
    rows, cols = np.array([0, 1]), np.array([0, 1, 2])
    knobs = dict(threshold=0.1, top_k=3, window_days=7.0)

    def key(m=matrix, d=days, names=terms, r=rows, **changed):
        return solvecache.block_key(solvecache.row_digests(m, d, solvecache.word_ids(names)), r, cols,
                                    **{**knobs, **changed})

    assert key() == key(m=wider, names=["aardvark", *terms])
    moved = matrix.copy()
    moved.data[0] = np.float32(0.6000001)
    others = [key(d=days + 1), key(top_k=4), key(r=np.array([1, 0])), key(m=moved),
              key(names=["coast", "hits", "storms", "vote"])]
    assert len({key(), *others}) == 6


def test_a_damaged_block_is_searched_again(content, tmp_path):
    cache = tmp_path / "cache"
    options = ClusterOptions(idf_scope="running", jobs=1, cache_dir=str(cache))
    first = storygraph.cluster(content, options)
    db = sqlite3.connect(cache / f"{FILE}.sqlite")
    blocks = db.execute("SELECT key, payload FROM entries WHERE key LIKE 'block %'").fetchall()
    assert blocks
    with db:
        db.executemany("UPDATE entries SET payload = ? WHERE key = ?",
                       [(payload[:40] + bytes([payload[40] ^ 4]) + payload[41:], key) for key, payload in blocks])
    store = SolvedStore(cache)
    shapes = {key[len("block "):]: (10**6, 10**6) for key, _ in blocks}
    assert solvecache.BlockStore(store).get_many(shapes) == {}  # every one fails its check
    store.close()
    assert storygraph.cluster(content, options).to_json() == first.to_json()
    store = SolvedStore(cache)
    assert len(solvecache.BlockStore(store).get_many(shapes)) == len(blocks)  # written again, whole
    store.close()


def test_a_damaged_file_is_set_aside_said_once_and_rebuilt(content, tmp_path):
    cache = tmp_path / "cache"
    options = ClusterOptions(idf_scope="running", jobs=1, cache_dir=str(cache))
    cache.mkdir()
    (cache / f"{FILE}.sqlite").write_bytes(b"not a database, but the work of many runs " * 100)
    result = storygraph.cluster(content, options)
    said = [n.message for n in result.loaded.notices if n.field == "cache"]
    assert len(said) == 1 and "cache of solved work" in said[0] and "set aside" in said[0]
    assert len(list(cache.glob(f"{FILE}.sqlite.damaged-*"))) == 1
    again = storygraph.cluster(content, options)
    assert not [n for n in again.loaded.notices if n.field == "cache"]
    store = SolvedStore(cache)
    assert store.count("block ") >= 1 and store.count("period ") >= 2  # rebuilt by the first run
    store.cache.close()


def test_changed_code_never_takes_older_codes_results(monkeypatch):
    """The keys (solved work and the whole-run record) hold a hash of storygraph's source, so an
    upgrade that kept the version string still misses (its optimiser may differ)."""
    import scipy.sparse as sp
    from storygraph import _version
    from storygraph.model import Edges
    matrix = sp.csr_matrix(np.array([[0.6, 0.8], [0.8, 0.6]], dtype=np.float32))
    knobs = {"cohesion": 0.07, "window_days": 7.0, "seed": 42, "use_igraph": True}

    def key():
        solvecache.versions.cache_clear()
        return periods.period_key(matrix, Edges.weighted(2, [(0, 1, 0.96)]), np.array([1.0, 2.0]), knobs)

    today = key()
    assert solvecache.versions()["code"] == _version.code_digest() and len(_version.code_digest()) == 64
    monkeypatch.setattr(_version, "code_digest", lambda: "0" * 64)
    assert key() != today
    monkeypatch.undo()
    assert key() == today


def test_a_long_run_overtaken_by_shorter_ones_keeps_its_work(tmp_path):
    """Entries are stamped when their run closes: a run that four shorter ones overtook still
    counts as the latest, and what it read or wrote stays."""
    long_run = SolvedStore(tmp_path, keep_runs=4)
    PeriodStore(long_run).put_many({"a" * 64: np.zeros(1, dtype=np.int64)})
    for name in "bcde":
        short = SolvedStore(tmp_path, keep_runs=4)
        PeriodStore(short).put_many({name * 64: np.zeros(1, dtype=np.int64)})
        short.close()
    PeriodStore(long_run).put_many({"f" * 64: np.zeros(1, dtype=np.int64)})
    long_run.close()
    store = SolvedStore(tmp_path)
    kept = [k for k in "abcdef" if PeriodStore(store).get_many({k * 64: 1})]
    store.cache.close()
    assert kept == ["a", "c", "d", "e", "f"]  # b's run is the oldest of the five to close


def test_block_keys_name_each_block_as_its_ranks_and_digests_do():
    """The keys of a plan (one position table reused block after block) are the SHA-256s of each
    block's indices ranked among its own, by binary search, and its digests: blocks that overlap,
    come in any order, hold rows outside their columns or share nothing."""
    rng = np.random.default_rng(7)
    n = 500
    digests = rng.integers(0, 256, size=(n, 16), dtype=np.uint8)
    plan = []
    for _ in range(40):
        cols = rng.choice(n, size=int(rng.integers(1, 120)), replace=False)
        inside = rng.choice(cols, size=min(len(cols), int(rng.integers(1, 20))), replace=False)
        outside = rng.choice(n, size=int(rng.integers(0, 5)), replace=False)
        plan.append((np.unique(np.concatenate([inside, outside])).astype(np.int64), cols.astype(np.int64)))
    knobs = dict(threshold=0.2, top_k=5, window_days=7.0)
    expected = []
    for rows, cols in plan:
        union = np.union1d(rows, cols)
        expected.append(solvecache.new_key("block", knobs, [np.searchsorted(union, rows), np.searchsorted(union, cols),
                                                            digests[rows], digests[cols]]))
    assert solvecache.block_keys(digests, plan, **knobs) == expected
    assert [solvecache.block_key(digests, r, c, **knobs) for r, c in plan] == expected
    assert len(set(expected)) == len(plan)
