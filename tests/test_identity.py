"""Story identity across runs (--previous) and what changed: each transition, ties, and a
day-by-day replay of the fixtures."""

import json
import shutil

from click.testing import CliRunner

import storygraph
from storygraph.cli import main
from storygraph.identity import Previous, carry_ids, fresh_id
from storygraph.model import Node, Story

from conftest import FIXTURES, md_files


def setup(new_groups: list[list[str]], old: dict[str, list[str]]):
    """Stories over nodes named by letters (earliest first as listed), and a previous run."""
    names = sorted({m for g in new_groups for m in g})
    nodes = [Node(id=f"https://e.com/{n}", url=f"https://e.com/{n}", title=n) for n in names]
    index = {n: i for i, n in enumerate(names)}
    stories = [Story(id=fresh_id(f"https://e.com/{g[0]}", set()), members=tuple(index[m] for m in g), headline=index[g[0]],
                     keywords=(), first_published=None, last_published=None, providers=(), topics=(),
                     in_corpus=len(g), color=(0, 0, 0)) for g in new_groups]
    previous = Previous("old.json", "0" * 64, {sid: frozenset(f"https://e.com/{m}" for m in ms) for sid, ms in old.items()})
    return carry_ids(stories, nodes, previous)


def test_a_story_that_grows_keeps_its_id_even_when_an_earlier_article_joins():
    stories, changes = setup([["z", "a", "b", "c"]], {"sOLD": ["a", "b", "c"]})
    assert stories[0].id == "sOLD"
    assert changes.grown == [{"id": "sOLD", "added": ["https://e.com/z"]}]
    assert (changes.new, changes.merged, changes.split, changes.gone) == ([], [], [], [])


def test_a_story_with_no_previous_members_is_new():
    stories, changes = setup([["a", "b"], ["x", "y"]], {"sOLD": ["a", "b"]})
    assert stories[0].id == "sOLD" and stories[1].id == fresh_id("https://e.com/x", set())
    assert changes.new == [stories[1].id] and changes.grown == []


def test_a_merge_keeps_the_id_of_the_part_with_most_members():
    stories, changes = setup([["a", "b", "c", "d", "e"]], {"sBIG": ["a", "b", "c"], "sSMALL": ["d", "e"]})
    assert stories[0].id == "sBIG"
    assert changes.merged == [{"id": "sBIG", "absorbed": ["sSMALL"]}]
    assert changes.grown == [{"id": "sBIG", "added": ["https://e.com/d", "https://e.com/e"]}]
    assert changes.gone == []


def test_a_split_leaves_the_id_with_the_part_holding_most_of_the_old_members():
    stories, changes = setup([["a", "b", "c", "d"], ["e", "f"]], {"sOLD": ["a", "b", "c", "d", "e", "f"]})
    assert stories[0].id == "sOLD" and stories[1].id != "sOLD"
    assert changes.split == [{"id": "sOLD", "into": ["sOLD", stories[1].id]}]
    assert changes.new == [] and changes.gone == []


def test_a_story_whose_articles_left_is_gone():
    stories, changes = setup([["a", "b"]], {"sOLD": ["a", "b"], "sLEFT": ["q", "r"]})
    assert changes.gone == ["sLEFT"]


def test_a_tie_goes_to_the_old_id_that_sorts_first():
    # two old stories each give two members: same count, same Jaccard
    stories, changes = setup([["a", "b", "c", "d"]], {"sY": ["c", "d"], "sX": ["a", "b"]})
    assert stories[0].id == "sX"
    assert changes.merged == [{"id": "sX", "absorbed": ["sY"]}]


def test_a_fresh_id_never_takes_a_carried_one():
    # the new second story starts with "a", whose hash is the first story's carried id
    carried = fresh_id("https://e.com/a", set())
    stories, changes = setup([["b", "c", "d"], ["a"]], {carried: ["a", "b", "c", "d"]})
    assert stories[0].id == carried and stories[1].id != carried
    assert stories[1].id == fresh_id("https://e.com/a", {carried})


def test_replaying_the_fixtures_day_by_day(tmp_path):
    content = tmp_path / "content"
    files = sorted(md_files(FIXTURES), key=lambda rel: (rel.split("/")[-1][:10], rel))
    days = sorted({rel.split("/")[-1][:10] for rel in files})
    previous = None
    runner = CliRunner()
    for step, day in enumerate(days):
        for rel in files:
            if rel.split("/")[-1][:10] == day:
                (content / rel).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(FIXTURES / rel, content / rel)
        out = tmp_path / f"day{step}.json"
        args = ["cluster", str(content), "-o", str(out)] + (["--previous", str(previous)] if previous else [])
        result = runner.invoke(main, args)
        assert result.exit_code == 0, result.output
        doc = json.loads(out.read_text())
        if previous:
            assert result.output.strip().splitlines()[-1].startswith(f"storygraph: since {previous.name}: ")
            old = {s["id"]: set(s["members"]) for s in json.loads(previous.read_text())["stories"]}
            new = {s["id"]: set(s["members"]) for s in doc["stories"]}
            owner = {m: sid for sid, ms in old.items() for m in ms}
            for sid, members in new.items():
                sources = {owner[m] for m in members if m in owner}
                if len(sources) == 1 and old[next(iter(sources))] <= members:  # it only grew
                    assert sid == next(iter(sources)), f"day {day}: a story that only grew changed its id"
            grown = {g["id"] for g in doc["changes"]["grown"]}
            assert grown <= set(new) and set(doc["changes"]["new"]) <= set(new)
        previous = out
    scratch = storygraph.cluster(content)
    final = json.loads(previous.read_text())
    partition = lambda stories: sorted(sorted(s) for s in stories)
    assert partition(s["members"] for s in final["stories"]) == partition(
        [scratch.nodes[i].id for i in s.members] for s in scratch.stories)


def test_changes_reach_the_json_schema_and_the_report(tmp_path):
    first = tmp_path / "first.json"
    storygraph.write(storygraph.cluster(FIXTURES), first)
    result = storygraph.cluster(FIXTURES, previous=first)
    doc = json.loads(result.to_json())
    import hashlib
    assert doc["changes"]["previous_sha256"] == hashlib.sha256(first.read_bytes()).hexdigest()
    assert (doc["changes"]["new"], doc["changes"]["grown"], doc["changes"]["gone"]) == ([], [], [])
    assert [s["id"] for s in doc["stories"]] == [s["id"] for s in json.loads(first.read_text())["stories"]]


def test_the_report_marks_new_and_grown_stories(tmp_path):
    from storygraph.export.html import page_data

    content = tmp_path / "content"
    shutil.copytree(FIXTURES, content)
    ordered = sorted(md_files(content), key=lambda rel: rel.split("/")[-1])
    late = ordered[-12:] + ordered[:-12:5]  # the last days' files (new stories) and some of every story
    held = {rel: (content / rel).read_bytes() for rel in late}
    for rel in late:
        (content / rel).unlink()
    first = tmp_path / "first.json"
    storygraph.write(storygraph.cluster(content), first)
    for rel, data in held.items():
        (content / rel).write_bytes(data)
    result = storygraph.cluster(content, previous=first)
    marks = {s["id"]: s["change"] for s in page_data(result)["stories"]}
    changes = result.changes
    assert {sid for sid, mark in marks.items() if mark == "new"} == set(changes["new"]) != set()
    assert {sid for sid, mark in marks.items() if mark == "grown"} == {g["id"] for g in changes["grown"]} != set()


def stages_before_refusing(previous) -> list[str]:
    """The stages a run with ``previous`` began before it refused the file (an InputError naming it)."""
    started = []

    def progress(stage, total):
        started.append(stage)
        return storygraph.progress.no_progress(stage, total)

    try:
        storygraph.cluster(FIXTURES, previous=previous, progress=progress, use_cache=False)
    except storygraph.errors.InputError as exc:
        assert str(previous) in str(exc) and "not a storygraph JSON output" in str(exc)
    else:
        raise AssertionError(f"{previous} was accepted")
    return started


def test_a_bad_previous_file_fails_before_any_stage_runs(tmp_path):
    # read for good only after the community stage (memory), but checked before the load
    bad = tmp_path / "old.json"
    bad.write_text('{"stories": [{"members": 3}]}', encoding="utf-8")
    assert stages_before_refusing(bad) == []


def test_a_previous_output_is_parsed_once(tmp_path, monkeypatch):
    """A file in storygraph's layout is checked by position before the load and parsed once,
    after the community stage; a file that only starts like one (cut short) still fails before
    any stage, and one whose stories are damaged inside the layout fails when they are read,
    naming the file."""
    from storygraph import document, identity
    old = tmp_path / "old.json"
    storygraph.cluster(FIXTURES, use_cache=False).write(old)
    assert document.in_output_layout(old)
    parsed = []
    real = identity.read_document
    monkeypatch.setattr(identity, "read_document", lambda path, **kw: parsed.append(path) or real(path, **kw))
    result = storygraph.cluster(FIXTURES, previous=old, use_cache=False)
    assert parsed == [old] and result.changes is not None
    text = old.read_text(encoding="utf-8")
    cut = tmp_path / "cut.json"
    cut.write_text(text[: len(text) // 2], encoding="utf-8")
    damaged = tmp_path / "damaged.json"
    damaged.write_text(text.replace('"members":[', '"members":7,"x":[', 1), encoding="utf-8")
    assert not document.in_output_layout(cut) and document.in_output_layout(damaged)
    assert stages_before_refusing(cut) == []
    assert stages_before_refusing(damaged) == ["load", "similarity"]
