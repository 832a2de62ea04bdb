"""storygraph.sparse: sorted_unique (np.unique's values, found by sorting) and row_dots in runs."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import scipy.sparse as sp

from storygraph import sparse
from storygraph.sparse import row_dots, sorted_unique

_INTS = st.sampled_from([np.int64, np.int32, np.uint8, np.uint64, np.bool_])


@given(hnp.arrays(_INTS, st.integers(0, 300)))
def test_the_values_of_np_unique(values):
    got = sorted_unique(values)
    expected = np.array(sorted(set(values.tolist())), dtype=values.dtype)
    assert got.dtype == values.dtype
    assert np.array_equal(got, expected)


def test_leaves_its_input_alone_and_handles_large_keys():
    rng = np.random.default_rng(3)
    keys = rng.integers(0, 2**62, 50_000) * np.int64(1)
    keys = np.r_[keys, keys[:10_000]]  # repeats
    before = keys.copy()
    got = sorted_unique(keys)
    assert np.array_equal(keys, before)
    assert np.array_equal(got, np.unique(keys))
    assert len(got) == len(set(keys.tolist()))


@pytest.mark.parametrize("bad", [np.zeros((2, 2), dtype=np.int64), np.array([0.5, 1.0])])
def test_refuses_what_it_is_not_for(bad):
    with pytest.raises(TypeError):
        sorted_unique(bad)


@pytest.mark.parametrize("entries", [1, 3, 7, 1 << 22])
def test_row_dots_in_runs_are_the_dots_of_one_pass(monkeypatch, entries):
    rng = np.random.default_rng(entries)
    rows = sp.random(40, 300, density=0.1, format="csr", random_state=rng, dtype=np.float64)
    table = sp.random(25, 300, density=0.3, format="csr", random_state=rng, dtype=np.float64)
    table.sort_indices()
    r, t = rng.integers(0, 40, 500), rng.integers(0, 25, 500)
    whole = row_dots(rows, r, table, t)  # the default: every pair in one run here
    monkeypatch.setattr(sparse, "_DOT_ENTRIES", entries)
    assert np.array_equal(row_dots(rows, r, table, t), whole)  # bit for bit
    assert np.allclose(whole, np.einsum("ij,ij->i", rows.toarray()[r], table.toarray()[t]))


@pytest.mark.skipif(not sparse._compiled, reason="numba (the 'fast' extra) is not installed")
@pytest.mark.parametrize("dtypes", [(np.float32, np.float64), (np.float64, np.float64), (np.float32, np.float32)])
def test_compiled_row_dots_give_the_numpy_bits(monkeypatch, dtypes):
    # the compiled loop (numba) searches each entry in its table row alone; every sum must be the
    # numpy path's to the bit, misses, empty rows, unsorted row indices and -0.0 products included
    rng = np.random.default_rng(7)
    rows = sp.random(60, 400, density=0.08, format="csr", random_state=rng, dtype=dtypes[0])
    rows.data[::5] *= -1
    rows.data[::11] = -0.0
    rows = sp.csr_matrix((rows.data, rows.indices, rows.indptr), shape=rows.shape)
    rows.indices[: rows.indptr[2]] = rows.indices[: rows.indptr[2]][::-1].copy()  # two rows unsorted
    table = sp.random(30, 400, density=0.25, format="csr", random_state=rng, dtype=dtypes[1])
    table.data[::3] *= -1
    table.sort_indices()
    r, t = rng.integers(0, 60, 3000), rng.integers(0, 30, 3000)
    monkeypatch.setattr(sparse, "_compiled", False)
    expected = row_dots(rows, r, table, t)
    monkeypatch.setattr(sparse, "_compiled", True)
    monkeypatch.setattr(sparse, "_COMPILED_ENTRIES", 1)
    calls = []
    real = sparse._row_dots_compiled
    monkeypatch.setattr(sparse, "_row_dots_compiled", lambda *a: calls.append(1) or real(*a))
    got = row_dots(rows, r, table, t)
    assert calls, "the compiled path was not taken"
    assert got.dtype == expected.dtype == np.float64
    assert np.array_equal(got.view(np.int64), expected.view(np.int64))
