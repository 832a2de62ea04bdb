"""ClusterOptions: validation with the option's name, strict mode, and the stages' defaults."""

import inspect

import pytest

import storygraph
from storygraph import communities, edgefile, graph, similarity
from storygraph.options import ClusterOptions

from conftest import item

#: Every stage function taking knobs as keyword arguments.
STAGES = [similarity.tfidf_matrix, similarity.similar_pairs, similarity.tfidf_edges, graph.build_edges,
          graph.edge_weights, edgefile.file_edges, edgefile.read_edges, communities.detect,
          communities.effective_resolution, communities.null_model_weights]


def test_options_are_validated_with_the_name():
    with pytest.raises(storygraph.OptionsError, match="threshold=1.5"):
        ClusterOptions(threshold=1.5)
    with pytest.raises(storygraph.OptionsError, match="algorithm"):
        ClusterOptions(algorithm="magic")
    with pytest.raises(storygraph.OptionsError, match="top_k"):
        ClusterOptions(top_k=0)
    with pytest.raises(storygraph.OptionsError, match="bogus"):
        ClusterOptions().replace(bogus=1)
    assert ClusterOptions().replace(seed=3).seed == 3


def test_strict_raises_naming_the_file(write_items):
    root = write_items({"ok.md": item("T", "https://e.com/a"), "bad.md": "no front matter"})
    with pytest.raises(storygraph.StrictModeError, match="bad.md: no front matter"):
        storygraph.cluster(root, strict=True)


@pytest.mark.parametrize("stage", STAGES, ids=lambda f: f"{f.__module__}.{f.__name__}")
def test_stage_defaults_are_the_options_defaults(stage):
    # a stage is usable on its own (networkx style); its defaults must not drift from ClusterOptions'
    options = ClusterOptions()
    knobs = {name: p.default for name, p in inspect.signature(stage).parameters.items()
             if p.default is not inspect.Parameter.empty and hasattr(options, name)}
    assert knobs, "no knob found"
    assert knobs == {name: getattr(options, name) for name in knobs}
