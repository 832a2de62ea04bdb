"""The compiled loop of :func:`storygraph.sparse.row_dots` (imported on first use: numba is
optional and importing it costs ~0.4 s). Compiled functions are cached beside this file by numba."""

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def row_dots(r_indptr, r_indices, r_data, r, t_indptr, t_indices, t_data, t, out):
    # out[m] = rows[r[m]] . table[t[m]]: each entry of the rows' row looked up by binary search
    # in the table's row alone (sorted indices), its float64 product added in the row's entry
    # order, as the numpy path's bincount adds them. A miss adds nothing; the numpy path adds
    # +0.0, which changes no sum that starts at +0.0 (such a sum is never -0.0).
    for m in range(len(r)):
        row, trow = r[m], t[m]
        first, end = t_indptr[trow], t_indptr[trow + 1]
        total = 0.0
        for j in range(r_indptr[row], r_indptr[row + 1]):
            col = r_indices[j]
            lo, hi = first, end
            while lo < hi:
                mid = (lo + hi) >> 1
                if t_indices[mid] < col:
                    lo = mid + 1
                else:
                    hi = mid
            if lo < end and t_indices[lo] == col:
                total += np.float64(r_data[j]) * np.float64(t_data[lo])
        out[m] = total
