"""The compiled loop of :mod:`storygraph.maxscore` (imported on first use: numba is optional
and importing it costs ~0.4 s). Compiled functions are cached beside this file by numba."""

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def first_true(values, lo, hi, pivot, window, above):
    # the first position in [lo, hi) where (values[p] - pivot > window) if above, else where
    # not (pivot - values[p] > window); both are monotone along sorted values
    while lo < hi:
        mid = (lo + hi) // 2
        hit = (values[mid] - pivot > window) if above else not (pivot - values[mid] > window)
        if hit:
            hi = mid
        else:
            lo = mid + 1
    return lo


@njit(cache=True, nogil=True)
def cosine(dense, indptr, indices, data, col):
    # ``dense`` holds the row's weights by word (0 elsewhere). The shared words in column order,
    # float32 products into a float32 sum: the additions scipy's product makes, in its order
    total = np.float32(0.0)
    for b in range(indptr[col], indptr[col + 1]):
        weight = dense[indices[b]]
        if weight != 0:
            total += weight * data[b]
    return total


@njit(cache=True, nogil=True)
def insert(best_s, best_c, filled, s, c, k):
    # keep the k best (s highest first, ties by lower c) in sorted arrays; return the new fill
    if filled == k and (s < best_s[k - 1] or (s == best_s[k - 1] and c > best_c[k - 1])):
        return filled
    at = filled if filled < k else k - 1
    while at > 0 and (best_s[at - 1] < s or (best_s[at - 1] == s and best_c[at - 1] > c)):
        if at < k:
            best_s[at] = best_s[at - 1]
            best_c[at] = best_c[at - 1]
        at -= 1
    best_s[at] = s
    best_c[at] = c
    return min(filled + 1, k)


@njit(cache=True, nogil=True)
def lower_bound(values, lo, hi, target):
    # the first position in [lo, hi) of sorted ``values`` holding target or more
    while lo < hi:
        mid = (lo + hi) // 2
        if values[mid] < target:
            lo = mid + 1
        else:
            hi = mid
    return lo


@njit(cache=True, nogil=True)
def add_word(partial, touched, n_touched, p_pos, p_val, begin, end, weight):
    # a word's share of each column's cosine in [begin, end) of its list; partial 0 = untouched
    # (every share is above 0: weights are positive)
    for q in range(begin, end):
        pos = p_pos[q]
        value = partial[pos]
        touched[n_touched] = pos  # kept only if new: no branch in the hottest loop
        n_touched += value == 0
        partial[pos] = value + weight * p_val[q]
    return n_touched


@njit(cache=True, nogil=True)
def search(rows, row_days, cols, col_days, dated, indptr, indices, data,
           p_indptr, p_pos, p_val, threshold, k, window, walk_to, probes):
    """Each row's best k columns (see storygraph.maxscore): (left, right, sims, counts a row)."""
    n_cols, n_words = len(cols), len(p_indptr) - 1
    largest = np.zeros(n_words, dtype=np.float32)  # each word's largest weight in a column
    for t in range(n_words):
        for q in range(p_indptr[t], p_indptr[t + 1]):
            largest[t] = max(largest[t], p_val[q])
    work = (np.zeros(n_cols, dtype=np.float32),  # partial cosines (0: not touched yet)
            np.empty(n_cols + 1, dtype=np.int64),  # the touched columns; one spare: add_word writes first
            np.zeros(n_words, dtype=np.float32))  # the row's weights by word
    best_s, best_c = np.empty(k, dtype=np.float32), np.empty(k, dtype=np.int64)
    out_left, out_right = np.empty(len(rows) * k, dtype=np.int64), np.empty(len(rows) * k, dtype=np.int64)
    out_sims = np.empty(len(rows) * k, dtype=np.float32)
    counts = np.zeros(len(rows), dtype=np.int64)
    written = 0
    for r_at in range(len(rows)):
        row, day = rows[r_at], row_days[r_at]
        if np.isnan(day):
            lo, hi = 0, dated
        else:
            lo = first_true(col_days, 0, dated, day, window, False)
            hi = first_true(col_days, lo, dated, day, window, True)
        got = top_of_row(row, lo, hi, cols, dated, indptr, indices, data, p_indptr, p_pos, p_val, largest, work,
                         best_s, best_c, threshold, k, walk_to, probes)
        out_left[written:written + got] = row
        out_right[written:written + got] = best_c[:got]
        out_sims[written:written + got] = best_s[:got]
        written += got
        counts[r_at] = got
    return out_left, out_right, out_sims, counts


@njit(cache=True, nogil=True)
def top_of_row(row, lo, hi, cols, dated, indptr, indices, data, p_indptr, p_pos, p_val, largest, work,
               best_s, best_c, threshold, k, walk_to, probes):
    """Fill best_s / best_c with the row's best columns among positions [lo, hi) and the
    undated ones (from ``dated`` on); return how many."""
    partial, touched, dense = work
    start, stop = indptr[row], indptr[row + 1]
    m = stop - start
    if m == 0:
        return 0
    bound = np.empty(m, dtype=np.float64)
    for j in range(m):
        dense[indices[start + j]] = data[start + j]
        bound[j] = np.float64(data[start + j]) * np.float64(largest[indices[start + j]])
    walk = np.argsort(-bound)
    rest = np.zeros(m + 1, dtype=np.float64)  # rest[p]: the bounds of the words from the p-th on
    for p in range(m - 1, -1, -1):
        rest[p] = rest[p + 1] + bound[walk[p]]
    # float32 sums (the cosines, the partial sums) may stray from the real values by
    # ~(m + 1) roundings of 2**-24 each; the bounds are compared with room for four times both
    margin = 1e-6 + 5e-7 * m
    bar = np.float64(threshold)
    n_touched = 0
    p = 0
    # any stopping point is exact (the words left are bounded below); walking on while they
    # could still add walk_to of the bar trades the walk against the cosines summed at the end
    while p < m and rest[p] + margin >= bar * walk_to:
        t = indices[start + walk[p]]
        begin, end = p_indptr[t], p_indptr[t + 1]
        weight = data[start + walk[p]]
        first = lower_bound(p_pos, begin, end, lo)  # the window's dated columns, then the undated
        last = lower_bound(p_pos, first, end, hi)
        n_touched = add_word(partial, touched, n_touched, p_pos, p_val, first, last, weight)
        if dated < len(cols):
            n_touched = add_word(partial, touched, n_touched, p_pos, p_val, lower_bound(p_pos, last, end, dated),
                                 end, weight)
        p += 1
        if p <= probes and p < m and n_touched >= k:
            bar = max(bar, kth_best(row, cols, indptr, indices, data, partial, touched, n_touched, dense,
                                    best_s, best_c, threshold, k))
    left_over = rest[p] + margin
    got = 0
    for i in range(n_touched):
        pos = touched[i]
        reach = np.float64(partial[pos]) + left_over
        partial[pos] = 0
        if cols[pos] != row and reach >= bar:
            s = cosine(dense, indptr, indices, data, cols[pos])
            if s >= threshold and s != 0:
                got = insert(best_s, best_c, got, s, cols[pos], k)
    for j in range(start, stop):
        dense[indices[j]] = 0
    return got


@njit(cache=True, nogil=True)
def kth_best(row, cols, indptr, indices, data, partial, touched, n_touched, dense, best_s, best_c, threshold, k):
    """The k-th best cosine among the 2k touched columns with the best partial sums (0 if fewer
    than k reach the threshold): the row's true k-th best is at least that."""
    probe_s, probe_c = np.empty(2 * k, dtype=np.float32), np.empty(2 * k, dtype=np.int64)
    filled = 0
    for i in range(n_touched):
        if cols[touched[i]] != row:
            filled = insert(probe_s, probe_c, filled, partial[touched[i]], touched[i], 2 * k)
    got = 0
    for i in range(filled):
        s = cosine(dense, indptr, indices, data, cols[probe_c[i]])
        if s >= threshold:
            got = insert(best_s, best_c, got, s, cols[probe_c[i]], k)
    return np.float64(best_s[k - 1]) if got == k else 0.0
