"""Editorial corrections (--overrides): together, apart, titles, ignore; local, persistent, strict."""

import json
import shutil

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings, strategies as st

import storygraph
from storygraph.cli import main
from storygraph.corrections import apply_corrections
from storygraph.overrides import Overrides, Resolved, read_overrides

from conftest import FIXTURES, md_files

BASE = storygraph.cluster(FIXTURES, use_cache=False)


def stories_by_file(result) -> dict[str, frozenset[str]]:
    """file -> the set of files of its story (stories compared by members, not ids)."""
    out = {}
    for story in result.stories:
        files = frozenset(f for i in story.members for f in result.nodes[i].files)
        for f in files:
            out[f] = files
    return out


def two_stories():
    """A file of the largest story and one of the second: different stories in the base run."""
    first, second = BASE.stories[0], BASE.stories[1]
    pick = lambda story: next(BASE.nodes[i] for i in story.members if BASE.nodes[i].files)
    return pick(first), pick(second)


def run_cli(tmp_path, overrides: dict | str, *extra, name="fixes.yaml", content=FIXTURES):
    path = tmp_path / name
    path.write_text(overrides if isinstance(overrides, str) else json.dumps(overrides), encoding="utf-8")
    out = tmp_path / "out.json"
    result = CliRunner().invoke(main, ["cluster", str(content), "-o", str(out), "-q", "--overrides", str(path), *extra])
    return result, out, path


def test_together_joins_two_stories_and_leaves_the_others(tmp_path):
    a, b = two_stories()
    amp = a.url.replace("https://www.", "https://") + "?utm_source=newsletter"  # another form of a's URL
    result, out, path = run_cli(tmp_path, {"together": [[amp, b.files[0]]]})
    assert result.exit_code == 0, result.output
    doc = json.loads(out.read_text())
    story_of = {n["id"]: n["story"] for n in doc["nodes"]}
    assert story_of[a.id] == story_of[b.id]
    fixed = storygraph.cluster(FIXTURES, overrides=path)
    before, after = stories_by_file(BASE), stories_by_file(fixed)
    touched = before[a.files[0]] | before[b.files[0]]
    untouched = {f for f in before if f not in touched}
    assert all(after[f] == before[f] for f in untouched)  # every other story exactly as it was
    [applied] = doc["overrides"]["applied"]
    assert (applied["kind"], applied["entry"], applied["story"]) == ("together", 1, story_of[a.id])
    assert set(applied["articles"]) == {a.id, b.id}
    assert doc["parameters"]["overrides_sha256"] == read_overrides(path).sha256
    assert {s["id"]: s["corrected"] for s in doc["stories"]}[story_of[a.id]] is True


def test_apart_splits_one_story_and_leaves_the_others(tmp_path):
    story = BASE.stories[0]
    x, y = (BASE.nodes[i] for i in story.members[:2])
    result, out, path = run_cli(tmp_path, {"apart": [[x.url, y.url]]})
    assert result.exit_code == 0, result.output
    fixed = storygraph.cluster(FIXTURES, overrides=path)
    story_of = {n.id: fixed.story_of[i] for i, n in enumerate(fixed.nodes)}
    assert story_of[x.id] != story_of[y.id]
    before, after = stories_by_file(BASE), stories_by_file(fixed)
    members = {f for i in story.members for f in BASE.nodes[i].files}
    assert all(after[f] == before[f] for f in before if f not in members)
    assert sum(len(s.members) for s in fixed.stories) == len(fixed.nodes)


def test_titles_name_the_story_and_the_headline_keeps_its_own(tmp_path):
    node = BASE.nodes[BASE.stories[2].members[0]]
    result, out, path = run_cli(tmp_path, {"titles": {node.files[0]: "Contoso's West Europe outage"}})
    assert result.exit_code == 0, result.output
    doc = json.loads(out.read_text())
    [story] = [s for s in doc["stories"] if node.id in s["members"]]
    assert story["title"] == "Contoso's West Europe outage" and story["corrected"] is True
    assert story["headline"]["title"] != story["title"]
    assert all(s["title"] is None for s in doc["stories"] if s is not story)
    graphml = tmp_path / "out.graphml"
    storygraph.write(storygraph.cluster(FIXTURES, overrides=path), graphml)
    assert "Contoso&#x27;s West Europe outage" in graphml.read_text() or "Contoso's West Europe outage" in graphml.read_text()


def test_ignore_leaves_the_article_out_and_lists_it_as_skipped(tmp_path):
    node = BASE.nodes[BASE.stories[0].members[0]]
    result, out, path = run_cli(tmp_path, {"ignore": [node.url]})
    assert result.exit_code == 0, result.output
    doc = json.loads(out.read_text())
    assert node.id not in {n["id"] for n in doc["nodes"]}
    assert {"file": node.files[0], "code": "ignored",
            "reason": f"listed under ignore in {path} (entry 1)"} in doc["skipped"]
    assert doc["stats"]["skipped"] == len(BASE.skipped) + 1
    assert doc["overrides"]["applied"] == [{"kind": "ignore", "entry": 1, "article": node.id}]


def test_an_unknown_article_is_a_notice_and_strict_makes_it_an_error(tmp_path):
    a, b = two_stories()
    fixes = {"together": [[a.url, "https://nowhere.example/none"]], "titles": {"missing.md": "X"}}
    result, out, path = run_cli(tmp_path, fixes)
    assert result.exit_code == 0, result.output
    doc = json.loads(out.read_text())
    assert doc["overrides"]["unknown"] == [
        {"kind": "together", "entry": 1, "name": "https://nowhere.example/none"},
        {"kind": "titles", "entry": 1, "name": "missing.md"}]
    messages = {(n["field"], n["message"]) for n in doc["notices"] if n["file"] == str(path)}
    assert ("together[1]", "https://nowhere.example/none: no such article in the input") in messages
    clean = tmp_path / "clean"  # the fixtures without their README (strict mode would stop at it)
    shutil.copytree(FIXTURES, clean, ignore=shutil.ignore_patterns("README.md", "*.txt"))
    strict, out2, _ = run_cli(tmp_path, fixes, "--strict", name="strict.yaml", content=clean)
    assert strict.exit_code == 1
    assert "together entry 1: https://nowhere.example/none: no such article in the input (strict mode)" in strict.output


def test_contradictions_are_an_error_naming_both_entries_and_nothing_is_written(tmp_path):
    a, b = two_stories()
    c = BASE.nodes[BASE.stories[3].members[0]]
    fixes = {"together": [[a.url, b.url], [b.files[0], c.url]], "apart": [[c.url, a.files[0]]]}
    result, out, path = run_cli(tmp_path, fixes)
    assert result.exit_code == 1
    assert f"{path}: apart entry 1 keeps apart two articles that together entries 1, 2 put in one story" in result.output
    assert not out.exists()


@pytest.mark.parametrize("text, message", [
    ("together: [[a.md]]", "together entry 1: expected a list of at least two article names"),
    ("titles: [x]", "titles: expected a mapping of article name to title"),
    ("colour: red", "unknown key 'colour'"),
    ("together: [[a, b]\n", "not valid YAML"),
    ("- just a list", "expected a mapping with the keys together, apart, titles, ignore"),
])
def test_a_malformed_file_names_the_file_and_the_entry(tmp_path, text, message):
    result, out, path = run_cli(tmp_path, text)
    assert result.exit_code == 1 and f"{path}: " in result.output and message in result.output
    assert not out.exists()


def test_corrections_hold_on_a_rerun_with_more_files(tmp_path):
    content = tmp_path / "content"
    shutil.copytree(FIXTURES, content)
    later = sorted(md_files(content))[-30:]  # the last files by folder and date arrive the next day
    held = tmp_path / "held"
    for rel in later:
        (held / rel).parent.mkdir(parents=True, exist_ok=True)
        (content / rel).rename(held / rel)
    first_nodes = storygraph.cluster(content).nodes
    a, b = (n for n in first_nodes if n.files and n.files[0] not in later and n.in_corpus
            and n.id in {BASE.nodes[BASE.stories[k].members[0]].id for k in (0, 1)})
    fixes = {"together": [[a.url, b.url]], "titles": {a.url: "The merger and its fallout"}}
    path = tmp_path / "fixes.json"
    path.write_text(json.dumps(fixes), encoding="utf-8")
    small = storygraph.cluster(content, overrides=path)
    for rel in later:
        (held / rel).rename(content / rel)
    big = storygraph.cluster(content, overrides=path)
    storygraph.write(small, tmp_path / "small.json")
    carried = storygraph.cluster(content, overrides=path, previous=tmp_path / "small.json")
    for result in (small, big, carried):
        story_of = {n.id: result.story_of[i] for i, n in enumerate(result.nodes)}
        assert story_of[a.id] == story_of[b.id]
        assert result.stories[story_of[a.id]].title == "The merger and its fallout"
    grow = lambda r: r.stories[{n.id: r.story_of[i] for i, n in enumerate(r.nodes)}[a.id]].size
    assert grow(big) >= grow(small)
    story_id = lambda r: r.stories[{n.id: r.story_of[i] for i, n in enumerate(r.nodes)}[a.id]].id
    assert story_id(carried) == story_id(small)  # and with --previous the corrected story keeps its id


def test_overrides_work_on_an_edge_file_run(tmp_path):
    a, b = two_stories()
    edges = tmp_path / "edges.csv"
    assert CliRunner().invoke(main, ["edges", str(FIXTURES), "-o", str(edges), "-q"]).exit_code == 0
    result, out, _ = run_cli(tmp_path, {"together": [[a.url, b.url]]}, "--edges", str(edges))
    assert result.exit_code == 0, result.output
    doc = json.loads(out.read_text())
    story_of = {n["id"]: n["story"] for n in doc["nodes"]}
    assert story_of[a.id] == story_of[b.id] and "edges_sha256" in doc["parameters"]


def test_the_same_overrides_give_identical_bytes(tmp_path):
    a, b = two_stories()
    fixes = {"together": [[a.url, b.url]], "apart": [[BASE.nodes[BASE.stories[2].members[0]].url,
                                                       BASE.nodes[BASE.stories[2].members[1]].url]]}
    first, out, _ = run_cli(tmp_path, fixes)
    data = out.read_bytes()
    again, out, _ = run_cli(tmp_path, fixes, "--jobs", "1", "--no-cache")
    assert out.read_bytes() == data


GRAPH = storygraph.build_graph(FIXTURES, use_cache=False)
DETECTED = storygraph.communities.detect(GRAPH.edges, GRAPH.days, GRAPH.matrix)[0]
NODES = list(range(len(GRAPH.table.nodes)))


@st.composite
def constraints(draw):
    """A consistent random set: together groups (merged when they share articles), then
    apart pairs that no merged group holds both ends of."""
    together = draw(st.lists(st.lists(st.sampled_from(NODES), min_size=2, max_size=4, unique=True), max_size=4))
    parent = {}

    def root(i):
        while parent.get(i, i) != i:
            i = parent[i]
        return i

    for group in together:
        for i in group[1:]:
            parent[root(i)] = root(group[0])
    pairs = draw(st.lists(st.tuples(st.sampled_from(NODES), st.sampled_from(NODES)), max_size=5))
    apart = [sorted(p) for p in pairs if p[0] != p[1] and root(p[0]) != root(p[1])]
    return together, apart


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(constraints())
def test_random_consistent_constraints_are_always_satisfied(found):
    together, apart = found
    resolved = Resolved(together=[(k + 1, sorted(set(g))) for k, g in enumerate(together)],
                        apart=[(k + 1, p) for k, p in enumerate(apart)])
    parts = apply_corrections(DETECTED, resolved, GRAPH.matrix, GRAPH.edges, GRAPH.days)
    label = {i: k for k, members in enumerate(parts) for i in members}
    assert sorted(label) == NODES  # still a partition of every node
    for group in together:
        assert len({label[i] for i in group}) == 1
    for a, b in apart:
        assert label[a] != label[b]
    # a story holding no constrained article is exactly as it was
    constrained = {i for g in together for i in g} | {i for p in apart for i in p}
    after = {tuple(sorted(members)) for members in parts}
    for members in DETECTED:
        if not constrained & set(members):
            assert tuple(sorted(members)) in after


def test_on_the_real_corpus_one_correction_changes_only_its_stories(tmp_path):
    from conftest import needs_shared

    site = needs_shared("corpus/smartable-diablo4")
    base = storygraph.cluster(site)
    multi = [s for s in base.stories if s.in_corpus >= 3]
    a = base.nodes[multi[0].members[0]]
    b = base.nodes[multi[5].members[0]]
    x, y = (base.nodes[i] for i in multi[1].members[:2])
    before = stories_by_file(base)
    for fixes, touched in (({"together": [[a.url, b.url]]}, before[a.files[0]] | before[b.files[0]]),
                           ({"apart": [[x.url, y.url]]}, before[x.files[0]])):
        path = tmp_path / "fixes.json"
        path.write_text(json.dumps(fixes), encoding="utf-8")
        after = stories_by_file(storygraph.cluster(site, overrides=path))
        changed = {f for f in before if after[f] != before[f]}
        assert changed and changed <= touched
