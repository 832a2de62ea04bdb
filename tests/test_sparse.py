"""storygraph.sparse.sorted_unique: np.unique's values, found by sorting."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from storygraph.sparse import sorted_unique

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
