"""The running IDF (``idf_scope="running"``): each dated text weighed by the document
frequencies of its own period, the earlier ones and the next one; checked against
scikit-learn's vectorizer fitted on exactly that scope, and for the locality it exists for."""

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


def _old_edges(result, period: dict[str, int], last: int) -> dict[tuple[str, str], float]:
    """The similarity of each edge between nodes of periods <= ``last``, by node ids."""
    ids, edges = [n.id for n in result.table.nodes], result.edges
    return {(ids[a], ids[b]): s for a, b, s in zip(edges.left.tolist(), edges.right.tolist(), edges.similarity.tolist())
            if period.get(ids[a], last + 1) <= last and period.get(ids[b], last + 1) <= last}


_NEW_ITEM = """---
title: "{title}"
excerpt: "{excerpt}"
publishedDateTime: 2024-04-{day}T10:00:00Z
webUrl: "https://example.org/news/{slug}"
provider:
  name: Example News
  domain: example.org
---
"""


def test_newer_articles_leave_older_periods_stories_as_they_were(tmp_path):
    """The fixtures clustered, then again with three new articles in their newest period:
    under the running IDF the edges among the articles of the periods before the last two
    keep their similarities to the last bit (with the corpus IDF they move), and every story
    of those periods is found again, member for member."""
    content = tmp_path / "content"
    shutil.copytree(FIXTURES, content)
    before = {}
    for scope in ("running", "corpus"):
        before[scope] = storygraph.cluster(content, ClusterOptions(idf_scope=scope, jobs=1, use_cache=False))
    for i, day in enumerate((12, 13, 14)):  # 2024-04-11 is the fixtures' newest day
        (content / f"new-{i}.md").write_text(_NEW_ITEM.format(
            title=f"Harbour cranes strike enters day {i + 2} as dockers reject the offer",
            excerpt="Dock workers at the harbour extend the strike over pay and shifts.", day=day, slug=f"strike-{i}"))
    options = ClusterOptions(idf_scope="running", jobs=1, use_cache=False)
    period_days = options.period_windows * options.window_days
    full = storygraph.cluster(content, options)
    period = _periods_of(full, period_days)
    newest = max(p for p in period.values() if p != UNDATED)
    assert {period[a.key] for a in full.loaded.articles if a.file.startswith("new-")} == {newest}
    old_edges = _old_edges(before["running"], period, newest - 2)
    assert len(old_edges) >= 50 and old_edges == _old_edges(full, period, newest - 2)
    old = [ids for ids in _member_ids(before["running"]) if all(period.get(i, newest) <= newest - 2 for i in ids)]
    assert len(old) >= 5  # the fixtures span enough periods for this to say something
    now = set(_member_ids(full))
    assert [s for s in old if s not in now] == []
    # the same three articles under the corpus IDF move every old edge's similarity a little
    corpus = storygraph.cluster(content, ClusterOptions(idf_scope="corpus", jobs=1, use_cache=False))
    moved = _old_edges(before["corpus"], period, newest - 2), _old_edges(corpus, period, newest - 2)
    assert moved[0].keys() == moved[1].keys() and moved[0] != moved[1]
