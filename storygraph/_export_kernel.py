"""The compiled loop of the JSON export's edges (:func:`storygraph.export.edgetext.edge_texts`),
imported on first use: numba is optional and importing it costs ~0.4 s. Compiled functions are
cached beside this file by numba."""

import numpy as np
from numba import njit

_SOURCE = np.frombuffer(b'{"source":', dtype=np.uint8)
_TARGET = np.frombuffer(b',"target":', dtype=np.uint8)
_KIND = np.frombuffer(b',"kind":', dtype=np.uint8)
_WEIGHT = np.frombuffer(b',"weight":', dtype=np.uint8)
_SIMILARITY = np.frombuffer(b',"similarity":', dtype=np.uint8)


def edge_lines(left, right, kind, weight, similarity, ids, id_at, kinds, kind_at) -> bytes:
    """The edges' JSON objects joined with "," (UTF-8): node ``i``'s id as JSON is
    ``ids[id_at[i]:id_at[i + 1]]``, kind ``k``'s ``kinds[kind_at[k]:kind_at[k + 1]]``.
    ``weight`` and ``similarity`` are each ``(millionths, odd, text, text_at)``: edge ``e``'s
    number is written as the decimal of ``millionths[e]`` millionths where ``odd[e]`` is -1,
    else as ``text[text_at[odd[e]]:text_at[odd[e] + 1]]``."""
    size = _size(left, right, kind, *weight, *similarity, id_at, kind_at)
    out = np.empty(size, dtype=np.uint8)
    _fill(out, left, right, kind, *weight, *similarity, ids, id_at, kinds, kind_at,
          _SOURCE, _TARGET, _KIND, _WEIGHT, _SIMILARITY)
    return out.tobytes()


@njit(cache=True, nogil=True)
def _number_length(m):
    # repr of the float m / 1e6, for m a whole number of millionths: an optional "-", the whole
    # part's digits, ".", then the six decimals without their trailing zeros (at least one digit)
    length = 2 if m < 0 else 1
    m = abs(m)
    whole, part = m // 1000000, m % 1000000
    length += 1
    while whole >= 10:
        whole //= 10
        length += 1
    if part == 0:
        return length + 1
    digits = 6
    while part % 10 == 0:
        part //= 10
        digits -= 1
    return length + digits


@njit(cache=True, nogil=True)
def _length(millionths, odd, odd_at, e):
    j = odd[e]
    return _number_length(millionths[e]) if j < 0 else odd_at[j + 1] - odd_at[j]


@njit(cache=True, nogil=True)
def _size(left, right, kind, w, w_odd, w_text, w_at, s, s_odd, s_text, s_at, id_at, kind_at):
    fixed = 10 + 10 + 8 + 10 + 14 + 1
    total = 0
    for e in range(len(left)):
        total += fixed + (id_at[left[e] + 1] - id_at[left[e]]) + (id_at[right[e] + 1] - id_at[right[e]])
        total += kind_at[kind[e] + 1] - kind_at[kind[e]]
        total += _length(w, w_odd, w_at, e) + _length(s, s_odd, s_at, e)
    return total + max(len(left) - 1, 0)  # the commas between objects


@njit(cache=True, nogil=True)
def _put(out, at, text):
    for i in range(len(text)):
        out[at + i] = text[i]
    return at + len(text)


@njit(cache=True, nogil=True)
def _put_slice(out, at, source, start, end):
    for i in range(start, end):
        out[at] = source[i]
        at += 1
    return at


@njit(cache=True, nogil=True)
def _put_number(out, at, m):
    if m < 0:
        out[at] = 45  # "-"
        at += 1
        m = -m
    whole, part = m // 1000000, m % 1000000
    digits = 1
    scale = 1
    while whole // scale >= 10:
        scale *= 10
        digits += 1
    while scale > 0:
        out[at] = 48 + (whole // scale) % 10
        at += 1
        scale //= 10
    out[at] = 46  # "."
    at += 1
    if part == 0:
        out[at] = 48
        return at + 1
    scale = 100000
    while part > 0:
        out[at] = 48 + part // scale
        at += 1
        part %= scale
        scale //= 10
    return at


@njit(cache=True, nogil=True)
def _put_value(out, at, millionths, odd, text, text_at, e):
    j = odd[e]
    if j < 0:
        return _put_number(out, at, millionths[e])
    return _put_slice(out, at, text, text_at[j], text_at[j + 1])


@njit(cache=True, nogil=True)
def _fill(out, left, right, kind, w, w_odd, w_text, w_at, s, s_odd, s_text, s_at, ids, id_at, kinds, kind_at,
          source, target, kind_key, weight_key, similarity_key):
    at = 0
    for e in range(len(left)):
        if e:
            out[at] = 44  # ","
            at += 1
        at = _put(out, at, source)
        at = _put_slice(out, at, ids, id_at[left[e]], id_at[left[e] + 1])
        at = _put(out, at, target)
        at = _put_slice(out, at, ids, id_at[right[e]], id_at[right[e] + 1])
        at = _put(out, at, kind_key)
        at = _put_slice(out, at, kinds, kind_at[kind[e]], kind_at[kind[e] + 1])
        at = _put(out, at, weight_key)
        at = _put_value(out, at, w, w_odd, w_text, w_at, e)
        at = _put(out, at, similarity_key)
        at = _put_value(out, at, s, s_odd, s_text, s_at, e)
        out[at] = 125  # "}"
        at += 1
