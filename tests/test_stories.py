"""Stories stage (through the pipeline): sizes, order, ids, headlines, keywords, dates."""

import hashlib
from datetime import datetime, timezone

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
