"""The running IDF (``idf_scope="running"``): each dated text weighed by the document
frequencies of its own period, the earlier ones and the next one; checked against
scikit-learn's vectorizer fitted on exactly that scope, and for the locality it exists for."""

import csv
import random
import shutil

import numpy as np
import pytest

import storygraph
from storygraph import ClusterOptions
from storygraph.errors import OptionsError
from storygraph.periods import period_of
from storygraph.tfidf import UNDATED, tfidf_matrix, vectorizer

from conftest import FIXTURES

from test_tfidf import _same_matrix


def _texts_and_periods(seed: int, n: int, periods: list[int]) -> tuple[list[str], np.ndarray]:
    rng = random.Random(seed)
    words = [f"w{i}" for i in range(120)] + ["storm", "vote", "match", "launch"]
    texts = [" ".join(rng.choice(words[: rng.randint(10, len(words))]) for _ in range(rng.randint(1, 25)))
             for _ in range(n)]
    return texts, np.array([rng.choice(periods) for _ in range(n)], dtype=np.int64)


def _row(matrix, terms, i) -> dict[str, float]:
    start, stop = matrix.indptr[i], matrix.indptr[i + 1]
    return {terms[j]: float(v) for j, v in zip(matrix.indices[start:stop], matrix.data[start:stop]) if v != 0.0}


@pytest.mark.parametrize("max_df", [1.0, 0.2])
def test_each_row_is_the_vectorizer_fitted_on_its_scope(max_df):
    # periods with a gap (5 has no next period in the corpus) and undated texts
    texts, periods = _texts_and_periods(1, 240, [2, 3, 5, 7, 8, UNDATED])
    matrix, terms = tfidf_matrix(texts, max_df, periods=periods)
    assert (matrix.data != 0).all() and matrix.has_sorted_indices
    if max_df < 1.0:  # some word is past max_df in some scope: it must weigh nothing there
        assert sum(len(_row(matrix, terms, i)) for i in range(len(texts))) < len(tfidf_matrix(texts, periods=periods)[0].data)
    for i in range(len(texts)):
        p = periods[i]
        scope = (np.arange(len(texts)) if p == UNDATED
                 else np.flatnonzero((periods != UNDATED) & (periods <= p + 1)))
        model = vectorizer(max_df)
        model.fit([texts[j] for j in scope])
        want_row = model.transform([texts[i]]).tocsr()
        want = {model.get_feature_names_out()[j]: float(v) for j, v in zip(want_row.indices, want_row.data)}
        got = _row(matrix, terms, i)
        assert got.keys() == want.keys(), i
        assert np.allclose([got[t] for t in want], list(want.values()), rtol=1e-6, atol=0), i


def test_one_period_gives_the_corpus_weights_bit_for_bit():
    texts, _ = _texts_and_periods(2, 150, [0])
    for periods in (np.full(150, 41, dtype=np.int64), np.r_[np.full(100, 41), np.full(50, 42)].astype(np.int64)):
        running, running_terms = tfidf_matrix(texts, periods=periods)
        corpus, corpus_terms = tfidf_matrix(texts)
        # one period, or two neighbouring ones: every scope is the corpus
        assert _same_matrix(running, corpus) and list(running_terms) == list(corpus_terms)


def test_texts_after_the_next_period_leave_earlier_rows_bit_for_bit():
    texts, periods = _texts_and_periods(3, 200, [10, 11, 12])
    later, later_periods = _texts_and_periods(4, 80, [13, 14])
    before, before_terms = tfidf_matrix(texts, periods=periods)
    after, after_terms = tfidf_matrix(texts + later + ["an undated text about storm"],
                                      periods=np.r_[periods, later_periods, [UNDATED]])
    for i in range(len(texts)):
        row_before, row_after = _row(before, before_terms, i), _row(after, after_terms, i)
        if periods[i] <= 11:  # its scope (periods <= 12) gained nothing
            assert row_before == row_after, i  # the same float32 values (compared as Python floats)
    # period 12's scope reaches into 13, which gained texts: its rows move
    moved = [i for i in range(len(texts)) if periods[i] == 12
             and _row(before, before_terms, i) != _row(after, after_terms, i)]
    assert moved


def test_a_text_alone_in_its_scope_keeps_its_words_under_max_df():
    matrix, _ = tfidf_matrix(["harbour strike dockers", "election vote count", "election vote recount"], 0.9,
                             periods=np.array([0, 5, 5]))
    assert matrix[0].nnz == 3  # as a single text keeps them under the corpus IDF


def test_the_pipeline_weighs_by_the_community_stages_periods(monkeypatch):
    from storygraph import similarity
    made = []
    monkeypatch.setattr(similarity, "tfidf_matrix", lambda *a, **k: made.append(tfidf_matrix(*a, **k)) or made[-1])
    options = ClusterOptions(idf_scope="running", jobs=1, use_cache=False)
    result = storygraph.cluster(FIXTURES, options)
    texts = [similarity.document_text(n.title, n.excerpt, options.title_weight) for n in result.table.nodes]
    days = np.array([n.published.timestamp() / 86400 if n.published else np.nan for n in result.table.nodes])
    want, _ = tfidf_matrix(texts, periods=period_of(days, options.period_windows * options.window_days))
    assert len(made) == 1 and _same_matrix(made[0][0], want)
    assert not _same_matrix(made[0][0], tfidf_matrix(texts, periods=period_of(days, options.window_days))[0])


def test_the_cli_flag_reaches_the_output(tmp_path):
    from click.testing import CliRunner
    from storygraph.cli import main
    out = tmp_path / "out.json"
    run = CliRunner().invoke(main, ["cluster", str(FIXTURES), "-o", str(out), "-q", "--no-cache", "--idf-scope", "running"])
    assert run.exit_code == 0, run.output
    import json
    assert json.loads(out.read_text())["parameters"]["idf_scope"] == "running"
    refused = CliRunner().invoke(main, ["cluster", str(FIXTURES), "-o", str(out), "--idf-scope", "running",
                                        "--period-windows", "0"])
    assert refused.exit_code == 2 and "period_windows is 0" in refused.output


def test_the_option_is_checked_and_recorded():
    with pytest.raises(OptionsError, match="idf_scope"):
        ClusterOptions(idf_scope="window")
    with pytest.raises(OptionsError, match="period_windows is 0"):
        ClusterOptions(idf_scope="running", period_windows=0)
    assert ClusterOptions().to_dict()["idf_scope"] == "corpus"


def _member_ids(result) -> list[frozenset[str]]:
    return [frozenset(result.table.nodes[m].id for m in s.members) for s in result.stories]


def _periods_of(result, period_days: float) -> dict[str, int]:
    days = np.array([n.published.timestamp() / 86400 if n.published else np.nan for n in result.table.nodes])
    return dict(zip((n.id for n in result.table.nodes), period_of(days, period_days).tolist()))


def _old_edges(result, period: dict[str, int], last: int) -> dict[tuple[str, str], tuple[float, float]]:
    """The similarity and weight of each edge between nodes of periods <= ``last``, by node ids."""
    ids, edges = [n.id for n in result.table.nodes], result.edges
    rows = zip(edges.left.tolist(), edges.right.tolist(), edges.similarity.tolist(), edges.weight.tolist())
    return {(ids[a], ids[b]): (s, w) for a, b, s, w in rows
            if period.get(ids[a], last + 1) <= last and period.get(ids[b], last + 1) <= last}


_NEW_ITEM = """---
title: "{title}"
excerpt: "{excerpt}"
publishedDateTime: 2024-05-{day}T10:00:00Z
webUrl: "https://example.org/news/{slug}"
provider:
  name: Example News
  domain: example.org
related:
  - title: "{title} (wire copy)"
    excerpt: "{excerpt}"
    publishedDateTime: 2024-05-{day}T11:00:00Z
    webUrl: "https://wire.example.net/{slug}"
---
"""


def test_newer_articles_leave_older_periods_stories_as_they_were(tmp_path):
    """The fixtures clustered, then again with three new articles (and related links) in a new
    period after theirs. Under the running scope the vectors of that period and of the one before
    it move (its IDF reads the next period), so the edges among the articles of the periods
    before those two keep their similarities and weights to the last bit (with the corpus scope
    both move: the IDF, and the related weight calibrated on every link); and every story lying
    in the periods before those three (the third's stories can join the second's across their
    boundary) is found again, member for member."""
    content = tmp_path / "content"
    shutil.copytree(FIXTURES, content)
    before = {}
    for scope in ("running", "corpus"):
        before[scope] = storygraph.cluster(content, ClusterOptions(idf_scope=scope, jobs=1, use_cache=False))
    for i, day in enumerate((12, 13, 14)):  # 2024-04-11 is the fixtures' newest day; May 9 starts a period
        (content / f"new-{i}.md").write_text(_NEW_ITEM.format(
            title=f"Harbour cranes strike enters day {i + 2} as dockers reject the offer",
            excerpt="Dock workers at the harbour extend the strike over pay and shifts.", day=day, slug=f"strike-{i}"))
    options = ClusterOptions(idf_scope="running", jobs=1, use_cache=False)
    period_days = options.period_windows * options.window_days
    full = storygraph.cluster(content, options)
    period = _periods_of(full, period_days)
    newest = max(p for p in period.values() if p != UNDATED)
    assert {period[a.key] for a in full.loaded.articles if a.file.startswith("new-")} == {newest}
    assert newest - 1 in period.values()  # the period before the new one has articles (whose vectors move)
    old_edges = _old_edges(before["running"], period, newest - 2)
    assert len(old_edges) >= 50 and old_edges == _old_edges(full, period, newest - 2)
    old = [ids for ids in _member_ids(before["running"]) if all(period.get(i, newest) <= newest - 3 for i in ids)]
    assert len(old) >= 5  # the fixtures span enough periods for this to say something
    now = set(_member_ids(full))
    assert [s for s in old if s not in now] == []
    # the same three articles under the corpus scope move old edges' similarities, and the related
    # links' weight, which the running scope calibrates per period
    corpus = storygraph.cluster(content, ClusterOptions(idf_scope="corpus", jobs=1, use_cache=False))
    moved = _old_edges(before["corpus"], period, newest - 2), _old_edges(corpus, period, newest - 2)
    common = moved[0].keys() & moved[1].keys()  # (an edge may even cross the threshold)
    assert len(common) >= 50 and [k for k in common if moved[0][k][0] != moved[1][k][0]]
    assert corpus.edges.related_weight != before["corpus"].edges.related_weight
    assert full.edges.related_weight != before["running"].edges.related_weight  # the whole run's value moved ...
    # ... the periods' before the last two did not (the one before the newest reads the newest's IDF)
    kept = [(p, v) for p, v in before["running"].edges.period_weights if p <= newest - 2]
    assert len(kept) >= 2 and kept == [(p, v) for p, v in full.edges.period_weights if p <= newest - 2]


def _calibration_case(seed: int, n: int = 400):
    rng = np.random.default_rng(seed)
    similarity = rng.random(n).round(3)  # ties among the cosines, as real ones have
    related = rng.random(n) < 0.6
    gap = np.where(rng.random(n) < 0.2, 30.0, rng.random(n) * 7)
    gap[rng.random(n) < 0.05] = np.nan
    period = rng.integers(-3, 9, n).astype(np.int64)
    period[np.isnan(gap) & (rng.random(n) < 0.9)] = UNDATED
    return similarity, related, gap, period


@pytest.mark.parametrize("seed", range(5))
def test_each_related_link_weighs_the_median_of_its_scope(seed):
    """A related link between dated articles weighs the median cosine of the near related
    pairs whose later article is in its period or an earlier one; one with an undated end
    weighs the whole run's value; a period with no near pair yet weighs 0."""
    from storygraph.graph import running_related_weights
    similarity, related, gap, period = _calibration_case(seed)
    bonus, table = running_related_weights(similarity, related, gap, period, 0.123, window_days=7.0)
    dated = period != UNDATED
    near = related & dated & (gap <= 7.0)
    for i in np.flatnonzero(related).tolist():
        if not dated[i]:
            assert bonus[i] == 0.123
            continue
        scope = similarity[near & (period <= period[i])]
        assert bonus[i] == (np.median(scope) if len(scope) else 0.0)
    assert [p for p, _ in table] == sorted(set(period[related & dated].tolist()))
    assert dict(table) == {int(period[i]): float(bonus[i]) for i in np.flatnonzero(related & dated).tolist()}


def test_links_in_later_periods_leave_earlier_weights_bit_for_bit():
    from storygraph.graph import running_related_weights
    similarity, related, gap, period = _calibration_case(7)
    bonus, table = running_related_weights(similarity, related, gap, period, 0.5)
    later = np.flatnonzero(period >= 5)
    similarity, related = similarity.copy(), related.copy()
    similarity[later], related[later] = 1.0 - similarity[later], True  # period 5 on: other links, other cosines
    moved, moved_table = running_related_weights(similarity, related, gap, period, 0.5)
    early = (period < 5) & (period != UNDATED)
    assert np.array_equal(bonus[early], moved[early]) and not np.array_equal(bonus[period >= 5], moved[period >= 5])
    assert [e for e in table if e[0] < 5] == [e for e in moved_table if e[0] < 5]


def test_the_running_calibration_is_recorded_per_period(tmp_path):
    import json
    out = tmp_path / "out.json"
    result = storygraph.cluster(FIXTURES, ClusterOptions(idf_scope="running", jobs=1, use_cache=False))
    storygraph.write(result, out)
    calibration = json.loads(out.read_text())["calibration"]
    periods = calibration["related_weight_by_period"]
    assert len(periods) >= 3 and [p["from"] for p in periods] == sorted(p["from"] for p in periods)
    assert periods[0]["from"] == "2024-01-18T00:00:00Z"  # day 19,740 = period 705 of 28 days
    assert calibration["related_weight"] == round(result.edges.related_weight, 6)
    fixed = storygraph.cluster(FIXTURES, ClusterOptions(idf_scope="running", related_weight=0.3, jobs=1, use_cache=False))
    assert fixed.edges.period_weights is None  # a number the user set is every period's
    assert json.loads(fixed.to_json())["calibration"] == {"related_weight": 0.3}


def test_an_edge_file_without_weights_is_calibrated_per_period_too(tmp_path):
    """The edge-file source weighs a file's related rows by the same running rule: a file of the
    run's own edges without the weight column gives the run's weights, period by period."""
    options = ClusterOptions(idf_scope="running", jobs=1, use_cache=False)
    run = storygraph.cluster(FIXTURES, options)
    ids = [n.id for n in run.table.nodes]
    path = tmp_path / "edges.csv"
    with open(path, "w", encoding="utf-8", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(["source", "target", "kind", "similarity"])
        out.writerows([ids[a], ids[b], kind, repr(sim)] for a, b, kind, _, sim in run.edges.rows())
    again = storygraph.cluster(FIXTURES, options, edge_file=path)
    assert again.edges.period_weights == run.edges.period_weights and len(run.edges.period_weights) >= 3
    assert np.array_equal(again.edges.weight, run.edges.weight)
    corpus = storygraph.cluster(FIXTURES, options.replace(idf_scope="corpus"), edge_file=path)
    assert corpus.edges.period_weights is None and not np.array_equal(corpus.edges.weight, run.edges.weight)
