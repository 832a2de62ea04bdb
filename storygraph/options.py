"""Every tuning knob of a run, with its default and validation, in one frozen object.

The CLI builds a :class:`ClusterOptions`, the Python API accepts one (or keyword
overrides), and every JSON output records ``options.to_dict()`` under
``parameters`` so a result says exactly how it was made.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field, fields

from .errors import OptionsError

__all__ = ["ClusterOptions", "ALGORITHMS", "IDF_SCOPES"]

#: Community detection algorithms understood by :mod:`storygraph.communities`.
ALGORITHMS = ("leiden", "modularity", "louvain", "label-propagation", "components")
#: Whose document frequencies weigh an article's words (``ClusterOptions.idf_scope``).
IDF_SCOPES = ("corpus", "running")


@dataclass(frozen=True)
class ClusterOptions:
    """Options for one clustering run. All fields are keyword-only and validated.

    Similarity
        threshold: minimum cosine similarity (0-1] for a ``similar`` edge.
        top_k: at most this many similar neighbours kept per article.
        window_days: only articles published at most this many days apart are
            compared (stories are events); undated articles are compared with all.
        title_weight: how many times the title counts against the excerpt once.
        max_df: drop terms found in more than this fraction of documents (with
            ``idf_scope`` "running": of the documents of each scope).
        idf_scope: whose document frequencies weigh an article's words. ``"corpus"``
            (default): every article's. ``"running"``: those of the dated articles of its
            own period (``period_windows * window_days``), every earlier one and the next one
            (undated articles: every article's), as an on-line event detector keeps them; so
            articles added after the next period change nothing about a period's vectors (its
            stories can still move with the corpus-wide related weight "auto"). Costs 0.003-0.011 B-cubed on the dev sets
            (docs/quality.md); needs ``period_windows`` >= 1.
        chunk_size: rows per block of the sparse similarity product (memory bound).
        merge_copies: articles with exactly the same words (syndicated copies)
            hang on their earliest copy instead of filling each other's top-k.

    Graph
        use_related: add edges for each article's ``related`` list.
        related_weight: weight a related link adds on top of its text similarity, or
            ``"auto"`` (default): the median cosine of the run's own related pairs
            within ``window_days``, so a site whose lists are other outlets' coverage of
            the same event (high cosine) counts them, and one whose lists span a topic
            (low cosine) barely does; a link between articles further apart than
            ``window_days`` weighs 0.

    Communities
        algorithm: ``leiden`` (default): stories that maximise the cohesion objective
            (storygraph.cohesion), found with igraph's Leiden (without igraph: the same
            objective, optimised more slowly); ``modularity``: Leiden maximising
            modularity with a fixed reference weight (the method before schema 1.2);
            ``louvain``, ``label-propagation``, ``components`` (networkx).
        cohesion: the mean time-discounted cosine similarity a story's pairs must
            reach (``leiden``); it is an average, so neither a story's size nor the
            rest of the corpus changes what it takes to be one story.
        period_windows: stories are found period by period (``leiden``): time is cut into
            periods of this many ``window_days``, fixed in absolute time, each solved on its
            own, then stories are joined across the boundaries where the objective gains
            (storygraph.periods). A period's stories then depend only on its own articles,
            and work is bounded by a period. 0: the whole corpus at once.
        resolution: modularity resolution (``modularity``, ``louvain``); above 1 favours
            smaller communities, countering modularity's resolution limit.
        reference_weight: the graph weight a dated article's expected links are
            measured against (a fixed one: a story is judged the same way however
            much other news the corpus holds; see communities.null_model_weights).
            For undated articles, and Louvain, the whole graph's weight, floored at this.
        seed: random seed, fixed by default so runs are reproducible.

    Stories and run
        keywords: number of keywords per story.
        report_max_nodes: the HTML report's graph view shows the largest stories
            up to this many nodes (the story list always holds every story).
        strict: fail the run if any input file is skipped.
        max_file_bytes: files larger than this are skipped unread.

    Execution (never change a result, so not recorded in outputs)
        jobs: worker processes for parsing and the similarity search; 0 means one per core.
        use_cache: reuse parse results of unchanged files, solved similarity blocks and
            periods whose inputs are unchanged, and a whole output when nothing changed.
        cache_dir: where the cache lives (default: $STORYGRAPH_CACHE_DIR, else the
            user's cache folder).
        dask: run parsing and the similarity search on a Dask cluster: a
            scheduler address (``tcp://host:8786``) or ``local:N`` for a
            LocalCluster of N worker processes (see storygraph.dask_engine).
    """

    threshold: float = 0.15
    top_k: int = 10
    window_days: float = 7.0
    title_weight: int = 2
    max_df: float = 1.0
    idf_scope: str = "corpus"
    chunk_size: int = 2048
    merge_copies: bool = True
    use_related: bool = True
    related_weight: float | str = "auto"
    algorithm: str = "leiden"
    cohesion: float = 0.07
    period_windows: int = 4
    resolution: float = 8.0
    reference_weight: float = 1000.0
    seed: int = 42
    keywords: int = 5
    report_max_nodes: int = 5000
    strict: bool = False
    max_file_bytes: int = 10 * 1024 * 1024
    jobs: int = field(default=0, metadata={"recorded": False})
    use_cache: bool = field(default=True, metadata={"recorded": False})
    cache_dir: str | None = field(default=None, metadata={"recorded": False})
    dask: str | None = field(default=None, metadata={"recorded": False})

    def __post_init__(self) -> None:
        _check_number("threshold", self.threshold, 0.0, 1.0, low_open=True)
        _check_int("top_k", self.top_k, 1)
        _check_number("window_days", self.window_days, 0.0, math.inf, low_open=True)
        _check_int("title_weight", self.title_weight, 1)
        _check_number("max_df", self.max_df, 0.0, 1.0, low_open=True)
        if self.idf_scope not in IDF_SCOPES:
            raise OptionsError("idf_scope", self.idf_scope, f"one of {', '.join(IDF_SCOPES)}")
        _check_int("chunk_size", self.chunk_size, 1)
        _check_bool("merge_copies", self.merge_copies)
        _check_bool("use_related", self.use_related)
        if self.related_weight != "auto":
            _check_number("related_weight", self.related_weight, 0.0, 1e6, expected="a number or 'auto'")
        if self.algorithm not in ALGORITHMS:
            raise OptionsError("algorithm", self.algorithm, f"one of {', '.join(ALGORITHMS)}")
        _check_number("cohesion", self.cohesion, 0.0, 1.0, low_open=True)
        _check_int("period_windows", self.period_windows, 0)
        if self.idf_scope == "running" and self.period_windows == 0:
            raise OptionsError("idf_scope", self.idf_scope, "'corpus' when period_windows is 0 (a running IDF counts by period)")
        _check_number("resolution", self.resolution, 0.0, math.inf, low_open=True)
        _check_number("reference_weight", self.reference_weight, 0.0, math.inf, low_open=True)
        _check_int("seed", self.seed, 0)
        _check_int("keywords", self.keywords, 0)
        _check_int("report_max_nodes", self.report_max_nodes, 1)
        _check_bool("strict", self.strict)
        _check_int("max_file_bytes", self.max_file_bytes, 1)
        _check_int("jobs", self.jobs, 0)
        _check_bool("use_cache", self.use_cache)
        if self.cache_dir is not None and not isinstance(self.cache_dir, str):
            raise OptionsError("cache_dir", self.cache_dir, "a folder path (text) or None")
        _check_dask(self.dask)

    def replace(self, **changes: object) -> "ClusterOptions":
        """Return a copy with ``changes`` applied (and validated)."""
        unknown = set(changes) - {f.name for f in fields(self)}
        if unknown:
            name = sorted(unknown)[0]
            raise OptionsError(name, changes[name], "a known option name")
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, object]:
        """Every option that can change a result, in declaration order (recorded in outputs).

        Execution settings (jobs, cache) are left out so outputs stay byte-identical
        however the run was executed.
        """
        return {f.name: getattr(self, f.name) for f in fields(self) if f.metadata.get("recorded", True)}


def _check_dask(value: object) -> None:
    if value is None:
        return
    expected = "a scheduler address such as tcp://host:8786, or local:N with N >= 1 workers"
    if not isinstance(value, str):
        raise OptionsError("dask", value, expected)
    if value.startswith("local:"):
        count = value.split(":", 1)[1]
        if not (count.isascii() and count.isdigit() and int(count) >= 1):
            raise OptionsError("dask", value, expected)
    elif "://" not in value:
        raise OptionsError("dask", value, expected)


def _check_number(name: str, value: object, low: float, high: float, low_open: bool = False,
                  expected: str = "a number") -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
        raise OptionsError(name, value, expected)
    too_low = value <= low if low_open else value < low
    if too_low or value > high:
        left = "(" if low_open else "["
        raise OptionsError(name, value, f"a number in {left}{low:g}, {high:g}]")


def _check_int(name: str, value: object, low: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise OptionsError(name, value, "an integer")
    if value < low:
        raise OptionsError(name, value, f"an integer >= {low}")


def _check_bool(name: str, value: object) -> None:
    if not isinstance(value, bool):
        raise OptionsError(name, value, "true or false")
