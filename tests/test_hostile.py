"""Folders we did not write: every kind of bad input through the CLI.

Each bad file gets its own skip code and the run goes on; ``--strict`` fails naming
the file; every ``.md`` file is accounted for; outputs stay strictly valid; no YAML
tag runs code; nesting cannot crash the interpreter; no file takes more than ~2 s.
The cases and their expected codes live in ``tests/hostile.py``.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import tracemalloc
from collections import defaultdict
from importlib import resources
from pathlib import Path

import jsonschema
import networkx as nx
import pytest
from click.testing import CliRunner
from lxml import etree

import storygraph.load as load
import storygraph.parse as parse
from storygraph.cli import main
from storygraph.model import Article, Skipped

import hostile
from conftest import ROOT

RUNTIME = hostile.RUNTIME_SKIPPED


def strict_json(data: bytes | str) -> dict:
    """``json.loads`` that refuses NaN, Infinity and -Infinity (Python accepts them)."""

    def refuse(token: str):
        raise ValueError(f"non-standard JSON token {token}")

    return json.loads(data, parse_constant=refuse)


def _refuse_to_open(monkeypatch, name: str) -> None:
    """Opening ``name`` raises PermissionError, as chmod 000 would for a user who is not root.

    Both ways load.read_item may open a file are covered: Path.open and os.open.
    """
    real_path_open, real_os_open = Path.open, os.open

    def refuse(path) -> None:
        if os.path.basename(os.fsdecode(path)) == name:
            raise PermissionError(13, "Permission denied", os.fsdecode(path))

    def path_open(self, *args, **kwargs):
        refuse(self)
        return real_path_open(self, *args, **kwargs)

    def os_open(path, *args, **kwargs):
        refuse(path)
        return real_os_open(path, *args, **kwargs)

    monkeypatch.setattr(Path, "open", path_open)
    monkeypatch.setattr(os, "open", os_open)


def _delete_after_listing(monkeypatch, rel: str) -> list[bool]:
    """Delete ``rel`` after load.collect() listed it and before load.read_files() reads it."""
    listed = []
    real_read_files = load.read_files

    def delete_then_read(base, paths, *args, **kwargs):
        listed.append(rel in paths)
        (base / rel).unlink(missing_ok=True)
        return real_read_files(base, paths, *args, **kwargs)

    monkeypatch.setattr(load, "read_files", delete_then_read)
    return listed


@pytest.fixture
def hostile_root(tmp_path, monkeypatch):
    root = hostile.build(tmp_path / "content")
    _refuse_to_open(monkeypatch, "unreadable.md")
    return root


def _cluster(root: Path, out: Path, *args: str):
    return CliRunner().invoke(main, ["cluster", str(root), "-o", str(out), *args])


def test_every_hostile_file_is_skipped_with_its_code_or_kept(hostile_root, tmp_path, monkeypatch, yaml_backend):
    on_disk = hostile.md_files_on_disk(hostile_root)
    assert on_disk == set(hostile.SKIPPED) | set(RUNTIME) | set(hostile.KEPT)  # the tables cover the folder
    listed = _delete_after_listing(monkeypatch, "files/vanishes.md")
    out = tmp_path / "out.json"
    res = _cluster(hostile_root, out, "-v")
    assert res.exit_code == 0, res.output
    assert listed == [True]
    doc = strict_json(out.read_bytes())
    jsonschema.validate(doc, json.loads(resources.files("storygraph").joinpath("schema/storygraph.schema.json")
                                        .read_text(encoding="utf-8")))
    codes = {s["file"]: s["code"] for s in doc["skipped"]}
    assert codes == {hostile.shown(f): c for f, c in {**hostile.SKIPPED, **RUNTIME}.items()}
    assert all(s["reason"] for s in doc["skipped"])
    # every .md file exactly once: in a node's files or in skipped
    in_nodes = [f for n in doc["nodes"] for f in n["files"]]
    assert sorted(in_nodes + list(codes)) == sorted(hostile.shown(f) for f in on_disk)
    assert doc["stats"]["inputs"] == len(on_disk) and doc["stats"]["ignored_files"] == 1
    # notices: exactly the fields each kept file must raise
    noticed = defaultdict(set)
    for notice in doc["notices"]:
        noticed[notice["file"]].add(notice["field"])
    assert dict(noticed) == {hostile.shown(f): fields for f, fields in hostile.KEPT.items() if fields}
    assert not (tmp_path / hostile.PWNED).exists()  # no tag ran code
    assert "skipped yaml/deep-flow.md: front matter nests deeper than 64 levels" in res.stderr


def test_kept_hostile_items_are_cleaned_as_documented(hostile_root, tmp_path):
    out = tmp_path / "out.json"
    assert _cluster(hostile_root, out, "-q").exit_code == 0
    doc = strict_json(out.read_bytes())
    by_file = {f: n for n in doc["nodes"] for f in n["files"]}
    title = {f: n["title"] for f, n in by_file.items()}
    assert title["ok/bom-crlf.md"] == "BOM and CRLF" and title["ok/cr-only.md"] == "Classic Mac line ends"
    assert title["ok/xml-forbidden.md"] == "Bell tab nul vt esc end"
    assert by_file["ok/xml-forbidden.md"]["excerpt"] == "line\r\nnext"
    assert title["ok/markup.md"] == "<script>alert('x')</script> ]]> &amp; <![CDATA[ x ]]>"
    assert by_file["ok/markup.md"]["excerpt"] == '</data><data key="label">forged'
    assert title["ok/tag-str.md"] == "1984"
    assert by_file["ok/naive-date.md"]["published"] == "2024-03-05T10:00:00Z"
    assert by_file["ok/impossible-date.md"]["published"] is None and by_file["ok/words-date.md"]["published"] is None
    assert len(by_file["ok/excerpt-5mb.md"]["excerpt"]) == 5000 - 1  # cut to 5,000, then the cut space stripped
    assert by_file["ok/quality-nan.md"]["quality"] is None and by_file["ok/quality-huge-int.md"]["quality"] is None
    assert len(by_file["ok/topics-huge.md"]["topics"]) == 100
    assert by_file["ok/long-url-alt.md"]["url"] == "https://example.com/long-alt"
    assert by_file["ok/same-url-a.md"] is by_file["ok/same-url-b.md"]  # one article, two files
    assert by_file[hostile.shown(os.fsdecode(hostile.NON_UTF8_NAME))]["title"] == "File name that is not UTF-8"
    messages = {(n["file"], n["field"]): n["message"] for n in doc["notices"]}
    assert messages[("ok/excerpt-5mb.md", "excerpt")] == "cut to 5000 characters"
    assert messages[("ok/naive-date.md", "publishedDateTime")] == "has no time zone; taken as UTC"
    assert "not a date" in messages[("ok/impossible-date.md", "publishedDateTime")]
    assert messages[("ok/related-huge.md", "related")] == "1200 entries; the first 1000 kept"


@pytest.mark.parametrize("fmt", ["graphml", "gexf"])
def test_xml_outputs_of_a_hostile_folder_are_valid(hostile_root, tmp_path, fmt):
    out, out_json = tmp_path / f"out.{fmt}", tmp_path / "out.json"
    assert _cluster(hostile_root, out, "-q").exit_code == 0
    assert _cluster(hostile_root, out_json, "-q").exit_code == 0
    doc = strict_json(out_json.read_bytes())
    data = out.read_bytes()
    etree.fromstring(data, etree.XMLParser(recover=False, huge_tree=True))  # strict XML 1.0
    assert b"<script>" not in data and b"forged" in data
    graph = nx.read_graphml(out) if fmt == "graphml" else nx.read_gexf(out)
    assert set(graph.nodes) == {n["id"] for n in doc["nodes"]}
    assert graph.number_of_edges() == len(doc["edges"])
    for node in doc["nodes"]:
        assert graph.nodes[node["id"]]["label"] == node["title"]
        assert graph.nodes[node["id"]]["excerpt"] == node["excerpt"]  # CR, markup and all


def test_graphml_of_a_hostile_folder_reads_in_igraph(hostile_root, tmp_path):
    igraph = pytest.importorskip("igraph")
    out, out_json = tmp_path / "out.graphml", tmp_path / "out.json"
    assert _cluster(hostile_root, out, "-q").exit_code == 0
    assert _cluster(hostile_root, out_json, "-q").exit_code == 0
    doc = strict_json(out_json.read_bytes())
    graph = igraph.Graph.Read_GraphML(str(out))
    assert graph.vcount() == len(doc["nodes"]) and graph.ecount() == len(doc["edges"])
    # igraph's reader (libxml2 SAX2 without entity substitution) returns "&" in attribute
    # values, here node ids such as "?a=1&b=2", as "&#38;" however the file spells it.
    ids = [i.replace("&#38;", "&") for i in graph.vs["id"]]
    assert sorted(ids) == sorted(n["id"] for n in doc["nodes"])
    titles = dict(zip(ids, graph.vs["label"]))  # text content has no such quirk
    assert all(titles[n["id"]] == n["title"] for n in doc["nodes"])


def test_strict_run_fails_naming_a_file(hostile_root, tmp_path):
    out = tmp_path / "out.json"
    res = _cluster(hostile_root, out, "--strict")
    assert res.exit_code == 1
    named = re.search(r"strict mode: (\S+): .+ \(and (\d+) more\)", res.stderr)
    assert named, res.stderr
    # all of SKIPPED plus unreadable.md are skipped: one is named, the rest counted
    assert named.group(1) in hostile.SKIPPED and int(named.group(2)) == len(hostile.SKIPPED)
    assert not out.exists()


CASES = sorted(hostile.SKIPPED)


@pytest.mark.parametrize("rel", CASES)
def test_each_kind_alone_is_skipped_and_strict_names_it(rel, tmp_path):
    only = {rel, "ok/plain.md"} | hostile.COMPANIONS.get(rel, set())
    root = hostile.build(tmp_path / "content", only=only)
    out = tmp_path / "out.json"
    res = _cluster(root, out, "-q")
    assert res.exit_code == 0, res.output
    skipped = {s["file"]: s["code"] for s in strict_json(out.read_bytes())["skipped"]}
    assert skipped == {f: hostile.SKIPPED[f] for f in only - {"ok/plain.md"}}
    strict = _cluster(root, tmp_path / "strict.json", "-q", "--strict")
    assert strict.exit_code == 1
    assert f"strict mode: {min(skipped)}: " in strict.stderr
    assert not (tmp_path / "strict.json").exists()


@pytest.mark.parametrize("rel, code", sorted(RUNTIME.items()))
def test_unreadable_and_vanished_files_are_skipped_and_strict_names_them(rel, code, tmp_path, monkeypatch):
    root = hostile.build(tmp_path / "content", only={rel, "ok/plain.md"})
    if code == "unreadable":
        _refuse_to_open(monkeypatch, Path(rel).name)
    else:
        _delete_after_listing(monkeypatch, rel)
    out = tmp_path / "out.json"
    assert _cluster(root, out, "-q").exit_code == 0
    doc = strict_json(out.read_bytes())
    assert [(s["file"], s["code"]) for s in doc["skipped"]] == [(rel, code)]
    assert [f for n in doc["nodes"] for f in n["files"]] == ["ok/plain.md"]
    if code == "vanished":
        hostile.build(tmp_path / "content", only={rel})  # put it back for the strict run
    strict = _cluster(root, tmp_path / "strict.json", "-q", "--strict")
    assert strict.exit_code == 1 and f"strict mode: {rel}: " in strict.stderr


def test_no_hostile_file_takes_more_than_two_seconds(hostile_root, yaml_backend):
    slow = {}
    for rel in sorted(hostile.md_files_on_disk(hostile_root)):
        start = time.perf_counter()
        item, _ = load.read_item(hostile_root, rel, hostile.MAX_FILE_BYTES)
        took = time.perf_counter() - start
        assert isinstance(item, (Article, Skipped))
        if took > 2.0:
            slow[rel] = took
    assert not slow


@pytest.mark.parametrize("rel", ["ok/excerpt-5mb.md", "yaml/many-nodes.md", "yaml/alias-bomb.md"])
def test_big_and_bomb_files_stay_within_memory(rel, tmp_path, yaml_backend):
    root = hostile.build(tmp_path / "content", only={rel})
    size = (root / rel).stat().st_size
    tracemalloc.start()
    try:
        load.read_item(root, rel, hostile.MAX_FILE_BYTES)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 20 * size + 20_000_000  # a few copies of the text, never an expansion


DEEP = [rel for rel, code in hostile.SKIPPED.items() if code in ("too-deep", "too-many-nodes")]


def test_deep_nesting_never_reaches_yaml_rs(tmp_path, monkeypatch):
    """yaml-rs recurses on the C stack: 100,000 nested "- " kill the interpreter (SIGSEGV)."""
    if parse.yaml_rs is None:
        pytest.skip("yaml-rs is not installed")
    handed = []
    real_loads = parse.yaml_rs.loads
    monkeypatch.setattr(parse.yaml_rs, "loads", lambda text, **kw: handed.append(len(text)) or real_loads(text, **kw))
    root = hostile.build(tmp_path / "content", only=set(DEEP) | {"ok/plain.md"})
    codes = {rel: load.read_item(root, rel, hostile.MAX_FILE_BYTES)[0] for rel in [*DEEP, "ok/plain.md"]}
    assert {rel: getattr(item, "code", "article") for rel, item in codes.items()} == {
        **{rel: hostile.SKIPPED[rel] for rel in DEEP}, "ok/plain.md": "article"}
    assert len(handed) == 1  # only the plain item was parsed by yaml-rs


@pytest.mark.parametrize("backend", ["yaml-rs", "pyyaml"])
def test_deep_nesting_does_not_crash_a_fresh_interpreter(backend, tmp_path):
    """In a child process, so that a crash (SIGSEGV, stack overflow) fails this test, not the run."""
    root = hostile.build(tmp_path / "content", only=set(DEEP))
    script = (
        "import sys, storygraph.parse as p\n"
        "from pathlib import Path\n"
        "from storygraph.load import read_item\n"
        f"if {backend == 'pyyaml'}: p.yaml_rs = None\n"
        "for rel in sys.argv[2:]:\n"
        "    print(rel, read_item(Path(sys.argv[1]), rel, 10 << 20)[0].code)\n"
    )
    res = subprocess.run([sys.executable, "-c", script, str(root), *DEEP], capture_output=True, text=True,
                         timeout=120, cwd=ROOT)
    assert res.returncode == 0, (res.returncode, res.stderr[-2000:])
    assert dict(line.split() for line in res.stdout.splitlines()) == {rel: hostile.SKIPPED[rel] for rel in DEEP}


def test_fifo_does_not_hang(tmp_path):
    root = hostile.build(tmp_path / "content", only={"ok/plain.md"})
    os.mkfifo(root / "fifo.md")
    script = (
        "import sys\n"
        "from storygraph.load import load_content\n"
        "result = load_content(sys.argv[1], 10 << 20)\n"
        "print(*[f'{s.file}={s.code}' for s in result.skipped])\n"
    )
    try:
        res = subprocess.run([sys.executable, "-c", script, str(root)], capture_output=True, text=True,
                             timeout=6, cwd=ROOT)
    except subprocess.TimeoutExpired:
        pytest.fail("reading a folder holding a FIFO named fifo.md hangs")
    assert res.stdout.split() == ["fifo.md=not-a-file"]
