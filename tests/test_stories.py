"""Stories stage (through the pipeline): sizes, order, ids, headlines, keywords, dates."""

import hashlib
from datetime import datetime, timezone

import numpy as np
import pytest

import storygraph

from conftest import STORY_GROUPS, STORY_KNOBS, item, story_corpus


def test_pipeline_finds_stories_and_describes_them(write_items):
    result = storygraph.cluster(story_corpus(write_items), keywords=5, **STORY_KNOBS)
    assert [s.size for s in result.stories] == sorted(STORY_GROUPS.values(), reverse=True)  # sorted by size
    folders = [{result.nodes[i].files[0].split("/")[0] for i in story.members} for story in result.stories]
    assert folders == [{"quake"}, {"merger"}, {"lone"}]  # each folder is one story
    quake = result.stories[0]
    assert "earthquake" in quake.keywords and "taiwan" in quake.keywords
    assert len(quake.keywords) == 5
    assert quake.first_published == datetime(2024, 4, 3, 0, tzinfo=timezone.utc)
    assert quake.last_published == datetime(2024, 4, 4, 3, tzinfo=timezone.utc)
    # id derives from the earliest member's canonical URL
    earliest = result.nodes[quake.members[0]].id
    assert quake.id == "s" + hashlib.sha1(earliest.encode()).hexdigest()[:12]
    assert result.nodes[quake.headline].in_corpus
    # the networkx graph is keyed by canonical URL and carries the story id
    assert result.graph.nodes["https://town.com/bakery"]["story"] == result.stories[2].id


def test_story_ids_survive_new_later_articles(write_items):
    root = story_corpus(write_items)
    before = {s.id for s in storygraph.cluster(root, **STORY_KNOBS).stories}
    (root / "quake" / "late.md").write_text(
        item("Taiwan earthquake aftershocks continue", "https://late.com/q", published="2024-04-05T10:00:00Z",
             excerpt="Taiwan earthquake aftershock"), encoding="utf-8")
    after = storygraph.cluster(root, **STORY_KNOBS)
    assert before <= {s.id for s in after.stories}
    assert after.stories[0].size == STORY_GROUPS["quake"] + 1


def test_keyword_count_is_the_knob(write_items):
    root = story_corpus(write_items)
    assert storygraph.cluster(root, keywords=0, **STORY_KNOBS).stories[0].keywords == ()
    assert len(storygraph.cluster(root, keywords=2, **STORY_KNOBS).stories[0].keywords) == 2


def test_a_story_is_described_by_its_members_in_time_order():
    """build_stories on hand-made nodes: every field, and the headline's tie rules."""
    import numpy as np
    import scipy.sparse as sp

    from storygraph.model import Edges, Node
    from storygraph.stories import build_stories

    def day(d):
        return datetime(2026, 1, d, 8, tzinfo=timezone.utc)

    nodes = [  # sorted by id, as a NodeTable holds them
        Node("a", "https://x/a", "A", published=day(2), in_corpus=False),  # the closest, but not in the corpus
        Node("b", "https://x/b", "B", published=day(2), provider="X", topics=("t2", "t1"), quality=1),
        Node("c", "https://x/c", "C", published=day(3), provider="A", topics=("t1",), quality=3),
        Node("d", "https://x/d", "D", published=day(1), topics=("t3",), quality=3),  # c's equal, earlier
        Node("e", "https://x/e", "E", quality=9),  # undated: last; the best quality, but far from the centroid
        Node("f", "https://x/f", "F", published=day(5), in_corpus=False),  # alone
    ]
    similarity = np.array([0.9, 0.5, 0.5, 0.5, 0.2, 1.0])
    matrix = sp.csr_matrix(np.array([[1, 0], [1, 0], [1, 0], [0, 1], [0, 0], [0, 1]], dtype=np.float32))
    edges = Edges.weighted(len(nodes), [(0, 1, 0.5)])  # not read by the description
    big, alone = build_stories(nodes, edges, [[4, 3, 2, 1, 0], [5]], matrix, np.array(["quake", "zeta"], dtype=object),
                               2, similarity=similarity)
    assert big.members == (3, 0, 1, 2, 4)  # d, then a and b (same time: by id), c, undated e
    assert big.headline == 3  # in the corpus; of b, c, d (0.5) the best quality, c and d; then the earliest
    assert big.id == "s" + hashlib.sha1(b"d").hexdigest()[:12]
    assert (big.first_published, big.last_published) == (day(1), day(3))
    assert big.providers == ("A", "X") and big.topics == ("t1", "t2", "t3") and big.in_corpus == 4
    assert big.keywords == ("quake", "zeta") and big.cohesion == round(float(np.mean([0.5, 0.9, 0.5, 0.5, 0.2])), 6)
    assert alone.members == (5,) and alone.headline == 5 and alone.in_corpus == 0  # none in the corpus: its own


def _keywords_one_story(data, columns, terms, n):
    """The per-story definition ``story_keywords`` replaced (twenty-second session), kept to compare."""
    if n == 0 or len(data) == 0:
        return ()
    weights = data.astype(np.float64).round(6)
    order = sorted(range(len(columns)), key=lambda k: (-weights[k], terms[columns[k]]))
    return tuple(str(terms[columns[k]]) for k in order[:n] if weights[k] > 0)


@pytest.mark.parametrize("sorted_terms", [True, False])
def test_story_keywords_are_each_storys_own_sort(sorted_terms):
    # one sort over every story gives each story's n heaviest terms, ties by the term, zeros out
    import scipy.sparse as sp

    from storygraph.stories import story_keywords

    rng = np.random.default_rng(21)
    for trial in range(30):
        k, width, n = int(rng.integers(1, 40)), int(rng.integers(1, 60)), int(rng.integers(0, 8))
        dense = rng.choice([0.0, 0.25, 0.5, 0.1234564, 0.1234566, 1e-7, 2.0], size=(k, width),
                           p=[0.6, 0.1, 0.1, 0.05, 0.05, 0.05, 0.05]).astype(np.float32)  # ties, and weights that round to 0
        dense[rng.integers(k)] = 0  # a story without a weighed term
        weights = sp.csr_matrix(dense)
        terms = np.array(sorted(f"w{j:03d}" for j in range(width)), dtype=object)
        if not sorted_terms:
            terms = terms[rng.permutation(width)]
        want = [_keywords_one_story(weights.data[weights.indptr[r]:weights.indptr[r + 1]],
                                    weights.indices[weights.indptr[r]:weights.indptr[r + 1]], terms, n) for r in range(k)]
        assert story_keywords(weights, terms, n) == want
