"""The export's sections: formatted side by side in a forked worker, the same bytes as in order."""

import io
import os
import signal
import subprocess
import sys
import time

import pytest

import storygraph
from storygraph.errors import ExportError
from storygraph.export import render, sections, write
from storygraph.export.sections import Section, flatten, write_pieces

from conftest import FIXTURES, ROOT

pytestmark = pytest.mark.skipif("fork" not in __import__("multiprocessing").get_all_start_methods(),
                                reason="side-by-side sections need fork")


@pytest.fixture
def always_side_by_side(monkeypatch):
    """Every section large enough for a worker, so the fixtures take the parallel path."""
    monkeypatch.setattr(sections, "PARALLEL_MIN_ITEMS", 0)


def _texts(tag: str, n: int):
    return lambda: (f"{tag}{i}:{os.getpid()};" for i in range(n))


def _written(pieces, workers: int) -> bytes:
    handle = io.BytesIO()
    write_pieces(handle, pieces, workers=workers)
    return handle.getvalue()


def test_the_later_section_is_formatted_by_another_process(always_side_by_side):
    text = _written(["[", Section(_texts("n", 3), 3), "|", Section(_texts("e", 4), 4), "]"], workers=2).decode()
    head, tail = text[1:-1].split("|")
    first_pids = {part.split(":")[1] for part in head.split(";") if part}
    later_pids = {part.split(":")[1] for part in tail.split(";") if part}
    assert first_pids == {str(os.getpid())}
    assert len(later_pids) == 1 and later_pids != first_pids
    assert [p.split(":")[0] for p in tail.split(";") if p] == ["e0", "e1", "e2", "e3"]


def test_one_worker_or_small_sections_stay_in_this_process(monkeypatch):
    pieces = lambda: ["<", Section(_texts("n", 2), 2), Section(_texts("e", 2), 2), ">"]
    assert str(os.getpid()) in _written(pieces(), workers=1).decode().split(";")[-2]
    monkeypatch.setattr(sections, "PARALLEL_MIN_ITEMS", 3)  # both sections under the bar
    assert _written(pieces(), workers=2).decode().count(f":{os.getpid()};") == 4


def test_bytes_equal_the_flat_text_for_every_layout(always_side_by_side):
    plain = lambda tag, n: Section(lambda: (f"{tag}{i}é," for i in range(n)), n)
    layouts = [
        [],
        ["only text"],
        [plain("a", 5)],
        ["x", plain("a", 0), "y", plain("b", 3), "z"],
        [plain("a", 2), plain("b", 2), plain("c", 2), "end"],
        ["{", plain("a", 4000), ",", "", plain("b", 9000), "}\n"],
    ]
    for layout in layouts:
        expected = "".join(flatten(layout)).encode()
        assert _written(layout, workers=2) == expected
        assert _written(layout, workers=1) == expected


def test_an_error_in_the_worker_is_raised_here(always_side_by_side):
    def failing():
        yield "ok,"
        raise ExportError("an edge weight is nan: not a finite number")

    with pytest.raises(ExportError, match="not a finite number"):
        _written([Section(_texts("n", 2), 2), Section(failing, 2)], workers=2)


def test_a_worker_that_dies_is_replaced_by_this_process(always_side_by_side):
    parent = os.getpid()

    def dies_in_the_worker():
        if os.getpid() != parent:
            os.kill(os.getpid(), signal.SIGKILL)
        yield from ("e0,", "e1,")

    text = _written(["[", Section(_texts("n", 2), 2), "|", Section(dies_in_the_worker, 2), "]"], workers=2)
    assert text.decode().endswith("|e0,e1,]")


def test_json_file_and_stdout_are_the_rendered_bytes(always_side_by_side, tmp_path, monkeypatch):
    made = []
    real_mkstemp = sections.tempfile.mkstemp
    monkeypatch.setattr(sections.tempfile, "mkstemp", lambda **kw: made.append((kw["prefix"], kw["dir"])) or real_mkstemp(**kw))
    result = storygraph.cluster(FIXTURES)
    expected = render(result, "json")
    write(result, tmp_path / "out.json", jobs=2)
    assert (tmp_path / "out.json").read_bytes() == expected
    worker_files = [os.fspath(folder) for prefix, folder in made if prefix.startswith(".storygraph-section")]
    assert worker_files == [os.fspath(tmp_path)]  # the worker's file is on the output's disk
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.json"]  # and gone
    script = ("import storygraph; from storygraph.export import sections, write; sections.PARALLEL_MIN_ITEMS = 0; "
              f"write(storygraph.cluster({str(FIXTURES)!r}), '-', jobs=2)")
    piped = subprocess.run([sys.executable, "-c", script], capture_output=True, check=True, cwd=ROOT)
    assert piped.stdout == expected


def test_megabytes_through_a_real_file_and_an_appending_one(always_side_by_side, tmp_path):
    big = lambda tag: Section(lambda: (f"{tag}{i:07d}é" * 40 for i in range(6000)), 6000)  # ~2.6 MB each
    layout = lambda: ["head", big("n"), "|", big("e"), "tail"]
    expected = "".join(flatten(layout())).encode()
    with open(tmp_path / "plain", "wb") as handle:  # sendfile into a regular file
        write_pieces(handle, layout(), workers=2, scratch=tmp_path)
    with open(tmp_path / "appended", "ab") as handle:  # O_APPEND: sendfile refuses, the copy goes through a buffer
        handle.write(b">")
        write_pieces(handle, layout(), workers=2, scratch=tmp_path)
    assert (tmp_path / "plain").read_bytes() == expected
    assert (tmp_path / "appended").read_bytes() == b">" + expected


def test_a_section_kept_here_leaves_the_worker_to_the_next_two(always_side_by_side):
    # the JSON's layout: stories (rendered here, in blocks), then the nodes here beside the edges in a worker
    layout = ["[", Section(_texts("s", 3), 3, apart=False), "|", Section(_texts("n", 2), 2), "|",
              Section(_texts("e", 2), 2), "]"]
    stories, nodes, edges = _written(layout, workers=2).decode()[1:-1].split("|")
    pids = lambda text: {part.split(":")[1] for part in text.split(";") if part}
    assert pids(stories) == pids(nodes) == {str(os.getpid())}
    assert len(pids(edges)) == 1 and pids(edges) != pids(nodes)
    labels = lambda text: [part.split(":")[0] for part in text.split(";") if part]
    assert (labels(stories), labels(nodes), labels(edges)) == (["s0", "s1", "s2"], ["n0", "n1"], ["e0", "e1"])


def test_chunks_already_bytes_are_written_as_they_are_in_their_place(always_side_by_side):
    # orjson's blocks and the compiled edge lines arrive as UTF-8 bytes, the rest as text
    mixed = lambda tag: Section(lambda: (f"{tag}{i}é," if i % 3 else f"{tag}{i}✓,".encode() for i in range(7)), 7)
    layout = ["<", mixed("n"), "|", mixed("e"), ">"]
    expected = "".join(c.decode() if isinstance(c, bytes) else c for c in flatten(layout)).encode()
    assert expected.startswith("<n0✓,n1é,".encode())
    assert _written(layout, workers=2) == expected
    assert _written(layout, workers=1) == expected
    assert list(sections.encoded(["a", "b", b"c", "d"], size=1)) == [b"a", b"b", b"c", b"d"]
    assert list(sections.encoded(["a", "b", b"c", "d"])) == [b"ab", b"c", b"d"]


def test_a_large_section_before_a_small_one_keeps_both(monkeypatch):
    monkeypatch.setattr(sections, "PARALLEL_MIN_ITEMS", 3)
    layout = ["<", Section(_texts("n", 5), 5), "|", Section(_texts("e", 2), 2), ">"]
    text = _written(layout, workers=2).decode()
    assert text.count(f":{os.getpid()};") == 7 and text.startswith("<n0:") and "|e0:" in text and text.endswith(";>")


def test_an_error_here_stops_the_worker(always_side_by_side, tmp_path):
    pid_file, finished = tmp_path / "worker.pid", tmp_path / "worker.finished"

    def slow_worker_part():
        pid_file.write_text(str(os.getpid()))
        for _ in range(200):  # 10 s: had it been left to run, the join would wait for this
            time.sleep(0.05)
            yield "e,"
        finished.touch()

    def failing_first():
        while not pid_file.exists():  # the worker is running
            time.sleep(0.01)
        yield "n,"
        raise ExportError("disk full while writing the nodes")

    with pytest.raises(ExportError, match="disk full"):
        _written([Section(failing_first, 2), Section(slow_worker_part, 2)], workers=2)
    with pytest.raises(ProcessLookupError):  # reaped before the error reached us
        os.kill(int(pid_file.read_text()), 0)
    assert not finished.exists()  # and killed, not waited for


def test_the_cli_passes_its_jobs_to_the_writer(always_side_by_side, tmp_path, monkeypatch):
    from click.testing import CliRunner

    import storygraph.export as export
    from storygraph.cli import main

    seen = []
    real = sections.write_pieces
    monkeypatch.setattr(export, "write_pieces", lambda h, p, workers, **kw: seen.append(workers) or real(h, p, workers=workers, **kw))
    out = tmp_path / "three.json"
    done = CliRunner().invoke(main, ["cluster", str(FIXTURES), "-o", str(out), "-q", "--no-cache", "-j", "3"])
    assert done.exit_code == 0, done.output
    assert seen == [3]
    assert out.read_bytes() == render(storygraph.cluster(FIXTURES), "json")


@pytest.mark.parametrize("fmt", ["graphml", "gexf"])
def test_every_format_writes_its_rendered_bytes_side_by_side(always_side_by_side, tmp_path, fmt):
    result = storygraph.cluster(FIXTURES)
    write(result, tmp_path / f"out.{fmt}", jobs=2)
    assert (tmp_path / f"out.{fmt}").read_bytes() == render(result, fmt)
