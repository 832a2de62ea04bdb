"""Command line: a thin layer over :func:`storygraph.cluster`.

Data goes to ``-o FILE`` or stdout (``-o -``); progress, the summary and errors
go to stderr. Exit codes: 0 ok, 1 error, 2 usage.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import click

from . import __version__
from .errors import StorygraphError
from .export import FORMATS, format_for
from .options import ALGORITHMS, ClusterOptions

if TYPE_CHECKING:
    from .pipeline import ClusterResult

_DEFAULTS = ClusterOptions()


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="storygraph")
def main() -> None:
    """Find the stories in a folder of news items (Markdown with YAML front matter)."""


@main.command("cluster")
@click.argument("content", type=click.Path(exists=True, file_okay=True, dir_okay=True))
@click.option("-o", "--output", default="stories.json", show_default=True,
              help="Output file (.json, .graphml, .gexf, .html), or '-' for stdout (needs --format).")
@click.option("--format", "fmt", type=click.Choice(FORMATS), help="Output format; default from the extension.")
@click.option("--threshold", type=float, default=_DEFAULTS.threshold, show_default=True,
              help="Minimum cosine similarity for a 'similar' edge.")
@click.option("--top-k", type=int, default=_DEFAULTS.top_k, show_default=True,
              help="Similar neighbours kept per article.")
@click.option("--window-days", type=float, default=_DEFAULTS.window_days, show_default=True,
              help="Only compare articles published at most this many days apart.")
@click.option("--algorithm", type=click.Choice(ALGORITHMS), default=_DEFAULTS.algorithm, show_default=True,
              help="Community detection algorithm.")
@click.option("--resolution", type=float, default=_DEFAULTS.resolution, show_default=True,
              help="Modularity resolution (Leiden, Louvain): higher gives smaller stories.")
@click.option("--seed", type=int, default=_DEFAULTS.seed, show_default=True, help="Random seed.")
@click.option("--report-max-nodes", type=int, default=_DEFAULTS.report_max_nodes, show_default=True,
              help="HTML report: the graph view shows the largest stories up to this many nodes.")
@click.option("-j", "--jobs", type=int, default=0, show_default="0 = one per core",
              help="Worker processes for parsing and the similarity search.")
@click.option("--cache-dir", type=click.Path(file_okay=False), envvar="STORYGRAPH_CACHE_DIR",
              help="Parse cache folder [default: $STORYGRAPH_CACHE_DIR, else the user cache folder].")
@click.option("--no-cache", is_flag=True, help="Do not read or write the parse cache.")
@click.option("--no-related", is_flag=True, help="Ignore the items' related lists.")
@click.option("--strict", is_flag=True, help="Fail if any file is skipped, naming it.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bars and no summary.")
@click.option("-v", "--verbose", is_flag=True, help="Also print per-stage timings, peak memory and notices.")
def cluster_command(content: str, output: str, fmt: str | None, threshold: float, top_k: int,
                    window_days: float, algorithm: str, resolution: float, seed: int, report_max_nodes: int,
                    jobs: int, cache_dir: str | None, no_cache: bool, no_related: bool,
                    strict: bool, quiet: bool, verbose: bool) -> None:
    """Cluster the news items under CONTENT (a folder of .md files, or a .jsonl file) into stories.

    \b
    Examples:
      storygraph cluster content/ -o stories.graphml     # open in Gephi
      storygraph cluster content/ -o - --format json | jq '.stories[0]'
    """
    from .pipeline import cluster  # imported here: `storygraph --help` need not load scikit-learn

    started = time.perf_counter()
    try:
        fmt = format_for(output, fmt)
        options = ClusterOptions(
            threshold=threshold, top_k=top_k, window_days=window_days, algorithm=algorithm,
            resolution=resolution, seed=seed, use_related=not no_related, strict=strict,
            report_max_nodes=report_max_nodes, jobs=jobs, use_cache=not no_cache, cache_dir=cache_dir,
        )
    except StorygraphError as exc:
        raise click.UsageError(str(exc)) from None
    folder = os.path.dirname(os.path.abspath(output))
    if output != "-" and not os.path.isdir(folder):  # say so now, not after a long run
        click.echo(f"storygraph: error: {output}: folder {folder} does not exist", err=True)
        sys.exit(1)
    try:
        result = cluster(content, options, progress=_progress_factory(quiet))
        result.write(output, fmt)
    except StorygraphError as exc:
        click.echo(f"storygraph: error: {exc}", err=True)
        sys.exit(1)
    _report(result, output, time.perf_counter() - started, quiet, verbose)


def _report(result: "ClusterResult", output: str, seconds: float, quiet: bool, verbose: bool) -> None:
    stats = result.stats()
    if verbose:
        for skipped in sorted(result.skipped):
            click.echo(f"skipped {skipped.file}: {skipped.reason}", err=True)
        kinds = Counter((re.sub(r"\[\d+\]", "[]", n.field), n.message) for n in result.loaded.notices)
        for (field, message), count in sorted(kinds.items()):
            click.echo(f"notice x{count}: {field}: {message} (files listed under 'notices' in the JSON)", err=True)
        for stage, took in result.timings.items():
            peak = result.peak_rss.get(stage, 0) / 2**30
            click.echo(f"  {stage:<12} {took:8.2f} s   peak RSS {peak:5.2f} GB", err=True)
    if quiet:
        return
    where = "stdout" if output == "-" else output
    click.echo(
        f"storygraph: {stats['inputs']} {'items' if result.loaded.kind == 'jsonl' else 'files'}, {stats['skipped']} skipped, {stats['nodes']} nodes, "
        f"{stats['edges']} edges, {stats['stories']} stories ({stats['stories_multi']} with 2+ articles) "
        f"-> {where} in {seconds:.1f} s",
        err=True,
    )
    if stats["skipped"] and not verbose:
        unit = "items" if result.loaded.kind == "jsonl" else "files"
        click.echo(f"storygraph: {stats['skipped']} {unit} skipped; see 'skipped' in the JSON or use -v", err=True)


def _progress_factory(quiet: bool):
    """Progress bars on stderr, only when it is a terminal and not ``-q``."""
    show = not quiet and sys.stderr.isatty()

    @contextlib.contextmanager
    def progress(label: str, total: int) -> Iterator[Callable[[int], None]]:
        if not show or total == 0:
            yield lambda n: None
            return
        with click.progressbar(length=total, label=f"{label:<11}", file=sys.stderr) as bar:
            yield bar.update

    return progress


@main.command("evaluate")
@click.argument("output", type=click.Path(exists=True, dir_okay=False))
@click.argument("truth", type=click.Path(exists=True, dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print the scores as one JSON object.")
def evaluate_command(output: str, truth: str, as_json: bool) -> None:
    """Score a clustering (OUTPUT.json from 'cluster') against TRUTH.

    TRUTH is a TSV (file path relative to the content folder, then the story
    label) or JSON Lines with 'file' or 'id' and 'label'.
    """
    from .evaluate import evaluate_document, read_truth

    try:
        with open(output, encoding="utf-8") as handle:
            document = json.load(handle)
        result = evaluate_document(document, read_truth(truth))
    except (ValueError, KeyError, TypeError) as exc:
        click.echo(f"storygraph: error: {output}: not a storygraph JSON output ({exc})", err=True)
        sys.exit(1)
    except StorygraphError as exc:
        click.echo(f"storygraph: error: {exc}", err=True)
        sys.exit(1)
    if as_json:
        click.echo(json.dumps(result, sort_keys=True))
        return
    for name, value in result.items():
        click.echo(f"{name:<20} {value:.4f}" if isinstance(value, float) else f"{name:<20} {value}")


if __name__ == "__main__":  # pragma: no cover
    main()
