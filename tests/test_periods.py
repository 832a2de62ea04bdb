"""Stories found period by period (storygraph.periods): the same stories as one optimisation
where no boundary cuts them, stories across a boundary joined whole, and a period's stories
untouched by articles added in another."""

import numpy as np
import pytest
import scipy.sparse as sp

import storygraph
from storygraph import cohesion, periods
from storygraph.errors import OptionsError
from storygraph.model import Edges

from test_cohesion import corpus, knn_edges, partition

PERIOD = 28.0  # days: four windows of 7, the default


def test_periods_are_fixed_in_absolute_time_and_undated_articles_have_their_own():
    days = np.array([0.0, 27.9, 28.0, 55.99, -0.5, np.nan, np.nan])
    found = periods.period_of(days, PERIOD).tolist()
    assert found[:5] == [0, 0, 1, 1, -1] and found[5] == found[6] == periods.UNDATED  # 1969 is not undated


def test_one_period_is_exactly_the_whole_corpus_optimisation():
    matrix, labels = corpus([20, 8, 3, 1], seed=2)
    days = np.repeat([1.0, 2.0, 3.0, 20.0], [20, 8, 3, 1])  # all inside period 0
    edges = knn_edges(matrix, days).positive()
    whole = cohesion.optimise(matrix, edges, days, seed=3)
    assert np.array_equal(periods.optimise(matrix, edges, days, seed=3), whole)
    assert np.array_equal(periods.optimise(matrix, edges, days, period_windows=0, seed=3), whole)


def test_a_story_cut_by_a_boundary_is_joined_whole():
    matrix, labels = corpus([12, 6, 6], seed=4)
    # story 0 over two days across the boundary at day 28; stories 1 and 2 inside either period
    days = np.r_[np.linspace(27.0, 29.0, 12), np.full(6, 20.0), np.full(6, 40.0)]
    assert len(set(periods.period_of(days[:12], PERIOD))) == 2  # the boundary really cuts story 0
    edges = knn_edges(matrix, days).positive()
    found = periods.optimise(matrix, edges, days, seed=1)
    assert partition(found) == partition(labels)


def test_the_join_is_the_objective_exact_gain():
    # two same-word groups on both sides of a boundary join only if near enough in time
    matrix, _ = corpus([8], seed=7)
    twice = sp.vstack([matrix, matrix]).tocsr()
    near = np.r_[np.full(8, 27.5), np.full(8, 28.5)]
    far = np.r_[np.full(8, 27.5), np.full(8, 34.9)]  # 7.4 days apart: K = 0, only the penalty
    for days, expected in ((near, 1), (far, 2)):
        found = periods.optimise(twice, knn_edges(twice, days, k=15).positive(), days, seed=1)
        assert len(partition(found)) == expected


def test_articles_added_in_a_later_period_leave_earlier_stories_as_they_were():
    sizes = [15, 9, 6, 4, 3, 2, 2, 1, 1, 1] * 6
    matrix, labels = corpus(sizes, seed=9, own=2, shared=3)
    rng = np.random.default_rng(9)
    start = rng.uniform(0.0, 84.0, len(sizes))  # three periods
    days = start[labels] + rng.uniform(0.0, 2.0, len(labels))
    edges = knn_edges(matrix, days).positive()
    before = periods.optimise(matrix, edges, days, seed=5)
    extra, _ = corpus([10, 5, 5, 2], seed=10, own=2, shared=3, offset=len(sizes))
    grown = sp.vstack([matrix, extra[:, :matrix.shape[1]]]).tocsr()  # new articles at day 90-91
    grown_days = np.r_[days, rng.uniform(90.0, 91.0, extra.shape[0])]
    after = periods.optimise(grown, knn_edges(grown, grown_days).positive(), grown_days, seed=5)
    old = np.flatnonzero(days < 84.0)  # the first three periods: no new article within their reach
    assert partition(after[old]) == partition(before[old])


def test_the_option_is_validated_and_recorded(tmp_path):
    with pytest.raises(OptionsError, match="period_windows"):
        storygraph.ClusterOptions(period_windows=-1)
    assert storygraph.ClusterOptions().to_dict()["period_windows"] == periods.DEFAULT_PERIOD_WINDOWS


@pytest.mark.parametrize("seed", [3, 4, 5])
def test_the_greedy_optimiser_merges_past_its_first_level(seed):
    # the mutual-best merges keep the label of the group they join into: a level that merged
    # groups but not the last one once looked like a level that merged nothing, and stopped
    matrix, labels = corpus([12, 12, 5], seed=seed)
    days = np.zeros(len(labels))
    found = cohesion.optimise(matrix, knn_edges(matrix, days).positive(), days, use_igraph=False)
    assert partition(found) == partition(labels)


def test_periods_solved_in_forked_processes_give_the_same_labels():
    sizes = [15, 9, 6, 4, 3, 2, 1] * 8
    matrix, labels = corpus(sizes, seed=12, own=2, shared=3)
    rng = np.random.default_rng(12)
    days = rng.uniform(0.0, 140.0, len(sizes))[labels] + rng.uniform(0.0, 2.0, len(labels))  # five periods
    edges = knn_edges(matrix, days).positive()
    serial = periods.optimise(matrix, edges, days, seed=3)
    forked = periods.optimise(matrix, edges, days, seed=3, map_periods=periods.forked_periods(2))
    assert len(set(periods.period_of(days, PERIOD))) >= 5
    assert np.array_equal(serial, forked)


def test_a_joined_story_counts_its_links_inside_a_period_too():
    # A | B C across the boundary at day 28: A-B joins first; then (A+B, C) gains through the
    # B-C link inside period 1, which the join must weigh (the whole-corpus optimum joins all three)
    matrix = sp.identity(3, format="csr", dtype=np.float32)
    days = np.array([27.0, 28.5, 29.0])
    edges = Edges(3, np.array([0, 0, 1]), np.array([1, 2, 2]), np.ones(3, dtype=np.uint8), np.zeros(3),
                  np.array([1.0, 0.10, 0.06]))
    assert periods.period_of(days, PERIOD).tolist() == [0, 1, 1]
    assert len(partition(cohesion.optimise(matrix, edges, days))) == 1
    assert len(partition(periods.optimise(matrix, edges, days))) == 1
