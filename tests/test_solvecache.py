"""Reuse of solved periods across runs (storygraph.solvecache): a re-run solves only the periods
whose sub-problem changed, and writes the bytes a fresh run writes; a damaged entry is solved
again, never trusted."""

from __future__ import annotations

import shutil
import sqlite3

import numpy as np
import pytest

import storygraph
from storygraph import ClusterOptions, periods
from storygraph.cache import FORMAT
from storygraph.solvecache import PREFIX, PeriodStore

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
    db = sqlite3.connect(cache / f"parse-v{FORMAT}.sqlite")
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
        from storygraph.solvecache import _encode
        payload = bytearray(_encode(key[len(PREFIX):], labels))
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
    store = PeriodStore(tmp_path)
    store.put_many({"a" * 64: np.array([0, 1, 0], dtype=np.int64)})
    store.close()
    again = PeriodStore(tmp_path)
    held = again.get_many({"a" * 64: 3, "b" * 64: 2})
    assert list(held) == ["a" * 64] and held["a" * 64].tolist() == [0, 1, 0]
    assert again.get_many({"a" * 64: 4}) == {}  # not this period's size: a miss
    again.close()
