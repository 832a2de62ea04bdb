"""storygraph.fastjson: orjson only where its bytes are the standard library's, and the callers
(the parse cache's payloads, the JSON export's nodes) unchanged to the byte."""

import dataclasses
import json
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from storygraph import cache, fastjson, sparse
from storygraph.errors import ExportError
from storygraph.export import edgetext, jsondoc, render

needs_orjson = pytest.mark.skipif(not fastjson.available(), reason="orjson is not installed")

# Text as the inputs bring it: any code point, lone surrogates (file names that are not UTF-8),
# the C0 controls, U+2028, DEL, quotes and backslashes.
_awkward = st.sampled_from(["\ud800", "\udcff", "\x00", "\x08", "\x1f", "\x7f", "\u2028", '"', "\\", "é", "😀"])
_text = st.lists(st.one_of(st.characters(), _awkward)).map("".join)
_ints = st.one_of(st.integers(-(2**53), 2**53), st.integers())  # past 64 bits too
_values = st.recursive(
    st.one_of(st.none(), st.booleans(), _ints, _text),
    lambda inner: st.one_of(st.lists(inner, max_size=5), st.dictionaries(_text, inner, max_size=5)),
    max_leaves=30,
)


def _standard(value) -> bytes:
    return json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode("utf-8", "surrogatepass")


@pytest.fixture(scope="module")
def fixture_result():
    import storygraph

    from conftest import FIXTURES

    return storygraph.cluster(FIXTURES, use_cache=False)


def _with_node_id(result, i: int, node_id: str):
    nodes = list(result.table.nodes)
    nodes[i] = dataclasses.replace(nodes[i], id=node_id)
    return dataclasses.replace(result, table=dataclasses.replace(result.table, nodes=nodes))


def _dumped(result) -> str:
    """The JSON output's text as one ``json.dumps`` of the document writes it."""
    return json.dumps(jsondoc.document(result), ensure_ascii=False, allow_nan=False, separators=(",", ":")) + "\n"


@given(_values)
@settings(max_examples=400, deadline=None)
def test_dumps_gives_the_standard_librarys_bytes(value):
    assert fastjson.dumps(value) == _standard(value)


# What the callers write: integers within 64 bits (the cache's quality is below 2^53)
_values_64 = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-(2**63), 2**64 - 1), _text),
    lambda inner: st.one_of(st.lists(inner, max_size=5), st.dictionaries(_text, inner, max_size=5)),
    max_leaves=30,
)


@given(_values_64)
@settings(max_examples=400, deadline=None)
def test_loads_reads_back_what_dumps_wrote_as_json_does(value):
    data = fastjson.dumps(value)
    assert fastjson.loads(data) == json.loads(data.decode("utf-8", "surrogatepass")) == value


@pytest.mark.parametrize("data", [b"", b"{", b'{"a":', b"[1,]", b"\xff", b'"\xed\xa0', b"nul"])
def test_loads_refuses_malformed_data_with_a_value_error(data):
    with pytest.raises(ValueError):
        fastjson.loads(data)


@needs_orjson
def test_an_integer_past_64_bits_reads_back_as_a_float_which_the_cache_refuses():
    # the one known difference from json.loads (orjson has no big integers); the parse cache,
    # the one reader, checks each field's type, so such an entry is parsed again, never used
    assert fastjson.loads(b"[18446744073709551616]") == [float(2**64)]
    from storygraph.model import Article

    article = Article("a.md", "https://example.com/a", "A title", quality=7, key="example.com/a")
    good = cache.encode(article, [])
    assert cache.decode(good) == (article, [])
    tampered = good.replace(b'"quality":7', b'"quality":18446744073709551616')
    assert tampered != good
    with pytest.raises(TypeError, match="malformed cache entry"):
        cache.decode(tampered)


def test_loads_reads_what_orjson_refuses_as_json_does():
    # NaN, a number past a double's range and an encoded lone surrogate: orjson refuses them
    assert fastjson.loads(b"[1e400]") == [float("inf")]
    assert fastjson.loads('"\ud800"'.encode("utf-8", "surrogatepass")) == "\ud800"
    assert np.isnan(fastjson.loads(b"NaN"))


@needs_orjson
@given(st.floats(allow_nan=True, allow_infinity=True))
@settings(max_examples=2000, deadline=None)
def test_floats_alike_says_when_orjson_writes_a_float_as_repr(value):
    alike = bool(fastjson.floats_alike(np.array([value]))[0])
    if alike:
        assert fastjson.dumps_utf8([value]) == json.dumps([value], allow_nan=False, separators=(",", ":")).encode()
    if np.isfinite(value) and 1e-4 <= abs(value) < 1e16 or value == 0.0:
        assert alike


@needs_orjson
def test_floats_alike_leaves_out_the_exponent_forms_and_non_numbers():
    values = np.array([0.0, -0.0, 1e-4, 0.5, 9.99e15, 5e-05, 1e-06, 1e16, np.nan, np.inf, -np.inf])
    assert fastjson.floats_alike(values).tolist() == [True] * 5 + [False] * 6
    assert fastjson.dumps_utf8([5e-05]) != json.dumps([5e-05], separators=(",", ":")).encode()  # why they are left out


def test_without_orjson_every_call_is_the_standard_librarys(monkeypatch):
    monkeypatch.setattr(fastjson, "orjson", None)
    assert not fastjson.available()
    value = {"a": ["\ud800", 2**70, None, True], "é": "\x1f"}
    assert fastjson.dumps(value) == _standard(value)
    assert fastjson.loads(fastjson.dumps(value)) == value
    assert fastjson.dumps_utf8([5e-05]) is None  # the caller writes it with json
    assert fastjson.dumps_utf8(["\ud800"]) is None


def test_a_cache_payload_is_the_same_bytes_with_and_without_orjson(monkeypatch):
    from storygraph.model import Notice, Skipped

    skipped = Skipped("bad\udcff.md", "not-utf8", "not UTF-8: invalid byte at offset 3")
    notices = [Notice("a.md", "title", "ctrl \x01 and \u2028 and é")]
    with_orjson = cache.encode(skipped, notices)
    monkeypatch.setattr(fastjson, "orjson", None)
    assert cache.encode(skipped, notices) == with_orjson
    assert cache.decode(with_orjson) == (skipped, notices)


@needs_orjson
def test_the_nodes_mix_orjson_blocks_and_standard_blocks_to_the_same_bytes(monkeypatch, fixture_result):
    # blocks of 3 nodes: those whose similarities are all plain decimals go through orjson,
    # the others through json; the document must still be one json.dumps of it, to the byte
    result = fixture_result
    n = len(result.nodes)
    similarity = np.resize(np.array([0.5, 1.0, 0.25, 0.125, 0.0, 0.75]), n)
    similarity[4] = 5e-05  # the second block: json's exponent form
    similarity[n - 1] = 1.2e-06  # the last block
    changed = dataclasses.replace(result, story_similarity=similarity)
    calls = []
    real = fastjson.dumps_utf8
    monkeypatch.setattr(fastjson, "dumps_utf8", lambda v: calls.append("story_similarity" in v[0]) or real(v))
    monkeypatch.setattr(jsondoc, "_NODE_BLOCK", 3)
    expected = _dumped(changed)
    assert render(changed, "json") == expected.encode("utf-8")
    blocks = -(-n // 3)
    assert calls.count(True) == blocks - 2  # every node block but the two holding an exponent form


@needs_orjson
def test_the_stories_are_written_in_blocks_of_either_writer_to_the_same_bytes(monkeypatch, fixture_result):
    # blocks of 2 stories, one cohesion in exponent form: that block goes through json, the others
    # through orjson, and the document is still one json.dumps of it
    stories = list(fixture_result.stories)
    assert len(stories) > 4
    stories[3] = dataclasses.replace(stories[3], cohesion=5e-05)
    stories[-1] = dataclasses.replace(stories[-1], title="an editor's title é ✓", cohesion=0.0)
    changed = dataclasses.replace(fixture_result, stories=stories)
    calls = []
    real = fastjson.dumps_utf8
    monkeypatch.setattr(fastjson, "dumps_utf8", lambda v: calls.append("cohesion" in v[0]) or real(v))
    monkeypatch.setattr(jsondoc, "_STORY_BLOCK", 2)
    assert render(changed, "json") == _dumped(changed).encode("utf-8")
    assert calls.count(True) == -(-len(stories) // 2) - 1  # every block but the one with 5e-05


@pytest.mark.parametrize("field, value", [("cohesion", np.float64(0.25)), ("cohesion", 1), ("cohesion", 10**400),
                                          ("cohesion", 5e-05), ("in_corpus", 1e-05)])
def test_a_hand_made_storys_numbers_are_written_as_json_writes_them(monkeypatch, fixture_result, field, value):
    # a Story made by hand may hold a numpy float, a huge int or a float where an int belongs:
    # json's text (1e-05, not orjson's 0.00001), and no error json would not raise
    stories = list(fixture_result.stories)
    stories[1] = dataclasses.replace(stories[1], **{field: value})
    changed = dataclasses.replace(fixture_result, stories=stories)
    monkeypatch.setattr(jsondoc, "_STORY_BLOCK", 2)
    assert render(changed, "json") == _dumped(changed).encode("utf-8")


def test_a_nan_cohesion_is_refused_before_anything_is_written(fixture_result):
    import io

    from storygraph.export.sections import write_pieces

    stories = list(fixture_result.stories)
    stories[-1] = dataclasses.replace(stories[-1], cohesion=float("nan"))
    changed = dataclasses.replace(fixture_result, stories=stories)
    handle = io.BytesIO()
    with pytest.raises(ValueError, match="JSON compliant"):
        write_pieces(handle, jsondoc.json_pieces(changed), workers=1)
    assert handle.getvalue() == b""  # as when the stories were one json.dumps: standard output gets nothing


@pytest.mark.skipif(not sparse._compiled, reason="numba (the 'fast' extra) is not installed")
def test_small_row_dots_take_the_compiled_loop_once_numba_is_imported(monkeypatch):
    import numba
    import scipy.sparse as sp

    rng = np.random.default_rng(3)
    rows = sp.random(20, 50, density=0.2, format="csr", random_state=rng)
    table = sp.random(10, 50, density=0.3, format="csr", random_state=rng)
    table.sort_indices()
    r, t = rng.integers(0, 20, 40), rng.integers(0, 10, 40)
    calls = []
    real = sparse._row_dots_compiled
    monkeypatch.setattr(sparse, "_row_dots_compiled", lambda *a: calls.append(1) or real(*a))
    monkeypatch.delitem(sys.modules, "numba")  # as in a run that has not imported it
    by_numpy = sparse.row_dots(rows, r, table, t)
    assert not calls  # a small call does not pay numba's import
    monkeypatch.setitem(sys.modules, "numba", numba)  # as the similarity search does from 500,000 rows
    by_numba = sparse.row_dots(rows, r, table, t)
    assert calls
    assert np.array_equal(by_numba.view(np.int64), by_numpy.view(np.int64))


needs_numba = pytest.mark.skipif(not edgetext._numba, reason="numba (the 'fast' extra) is not installed")


@needs_numba
@given(st.lists(st.one_of(st.floats(allow_nan=False, allow_infinity=False), st.just(-0.0), st.just(0.0),
                          st.integers(1, 10**9 - 1).map(lambda k: k / 1e6),
                          st.integers(0, 10**7).map(lambda k: (k + 0.5) / 1e7),
                          st.floats(1e-7, 1e-3), st.floats(1e8, 1e10)), min_size=1, max_size=50))
@settings(max_examples=400, deadline=None)
def test_the_compiled_edge_lines_write_each_number_as_repr(values):
    # every round6 value as Python's repr of it: halves at the seventh decimal, the exponent
    # forms below 1e-4 and from 1e16 up, -0.0, and values near the millionths' plain range's ends
    from storygraph._export_kernel import edge_lines

    rounded = edgetext.round6(np.array(values))
    n = len(rounded)
    ids = np.frombuffer('"é""x"'.encode(), dtype=np.uint8)
    id_at = np.array([0, 4, 7], dtype=np.int64)
    kinds = np.frombuffer(b'"k"', dtype=np.uint8)
    text = edge_lines(np.zeros(n, dtype=np.int64), np.ones(n, dtype=np.int64), np.zeros(n, dtype=np.int64),
                      edgetext._numbers(rounded), edgetext._numbers(rounded[::-1].copy()), ids, id_at, kinds,
                      np.array([0, 3], dtype=np.int64)).decode("utf-8")
    expected = ",".join(f'{{"source":"é","target":"x","kind":"k","weight":{a!r},"similarity":{b!r}}}'
                        for a, b in zip(rounded.tolist(), rounded[::-1].tolist()))
    assert text == expected


def test_numbers_send_what_repr_writes_otherwise_as_text():
    rounded = np.array([0.0, 1e-4, 0.5, 999999999.999999, -0.0, 5e-05, 1e-06, 1e9, 1e16, -2.5])
    millionths, odd, text, text_at = edgetext._numbers(rounded)
    assert odd.tolist() == [-1, -1, -1, -1, 0, 1, 2, 3, 4, -1]
    assert millionths[[0, 1, 2, 3, 9]].tolist() == [0, 100, 500000, 999999999999999, -2500000]
    assert text.tobytes() == b"-0.05e-051e-061000000000.01e+16"
    assert text_at.tolist() == [0, 4, 9, 14, 26, 31]


@needs_numba
def test_compiled_edge_blocks_give_json_dumps_bytes(monkeypatch, fixture_result):
    # blocks of 5 edges by the compiled loop, with numbers repr writes in other forms (an
    # exponent form, -0.0, 1e16) and node ids with non-ASCII characters (2, 3 and 4 bytes in
    # UTF-8), quotes, a backslash and a control character
    result = _with_node_id(_with_node_id(fixture_result, 0, "name é ✓ 😀"), 1, 'quote " and \\ and \x01')
    count = len(result.edges)
    weight = np.resize(np.array([0.5, 1.0, 0.123457, 2.0, 0.0001, 0.12345650000001]), count)
    weight[7] = 5e-05
    weight[8] = 1e16
    similarity = np.resize(np.array([0.25, 0.3333335, 0.0, 1.0]), count)
    similarity[count - 1] = -0.0
    edges = dataclasses.replace(result.edges, weight=weight, similarity=similarity)
    changed = dataclasses.replace(result, edges=edges)
    monkeypatch.setattr(edgetext, "_EDGE_BLOCK", 5)
    monkeypatch.setattr(edgetext, "_COMPILED_EDGES", 0)
    made = []
    real = edgetext._compiled_lines

    def spying(*args):
        lines = real(*args)
        return lambda *block: made.append(1) or lines(*block)

    monkeypatch.setattr(edgetext, "_compiled_lines", spying)
    expected = _dumped(changed)
    assert "".join(jsondoc.json_chunks(changed)) == expected  # the text, not only the bytes
    assert len(made) == -(-count // 5)  # every block by the compiled loop
    assert render(changed, "json") == expected.encode("utf-8")


@needs_numba
def test_an_id_with_a_lone_surrogate_keeps_it_in_the_edges_text(monkeypatch, fixture_result):
    # UTF-8 cannot hold the surrogate, so the compiled loop (which writes bytes) is not used:
    # the text is json.dumps's, with the surrogate; the file has U+FFFD, as for every field
    result = fixture_result
    at = int(result.edges.left[0])
    changed = _with_node_id(result, at, "bad\udcffname")
    monkeypatch.setattr(edgetext, "_COMPILED_EDGES", 0)
    assert edgetext._compiled_lines(len(changed.edges), [edgetext._string(n.id) for n in changed.nodes], ['"k"']) is None
    expected = _dumped(changed)
    assert "\udcff" in expected
    assert "".join(jsondoc.json_chunks(changed)) == expected
    assert render(changed, "json") == expected.replace("\udcff", "\ufffd").encode("utf-8")


@pytest.mark.parametrize("compiled", [False, True])
@pytest.mark.parametrize("field, value", [("left", -1), ("right", "n"), ("kind", 9)])
def test_an_edge_naming_no_node_or_kind_is_an_export_error(monkeypatch, fixture_result, compiled, field, value):
    # only a hand-made Clustering can hold one; neither path may write an edge to the wrong
    # node (a negative index counts from the end in Python) nor read past the ids (compiled)
    if compiled and not edgetext._numba:
        pytest.skip("numba is not installed")
    monkeypatch.setattr(edgetext, "_COMPILED_EDGES", 0 if compiled else 1 << 60)
    if compiled:
        import numba  # noqa: F401  (the compiled path is taken once numba is imported)
    else:
        monkeypatch.delitem(sys.modules, "numba", raising=False)
    result = fixture_result
    values = getattr(result.edges, field).copy()
    values[3] = len(result.nodes) if value == "n" else value
    changed = dataclasses.replace(result, edges=dataclasses.replace(result.edges, **{field: values}))
    for fmt in ("json", "graphml"):
        with pytest.raises(ExportError, match=r"edge 3: (source|target|kind) index"):
            render(changed, fmt)


def test_small_graphs_do_not_import_numba_for_their_edges(monkeypatch):
    monkeypatch.delitem(sys.modules, "numba", raising=False)
    assert edgetext._compiled_lines(100, ['"a"'], ['"k"']) is None
