"""Command line: a thin layer over :func:`storygraph.cluster`.

Data goes to ``-o FILE`` or stdout (``-o -``, JSON unless ``--format`` says otherwise);
progress, the summary and errors go to stderr. Exit codes: 0 ok, 1 error
(:class:`CommandError`, a :class:`click.ClickException`), 2 usage (:class:`click.UsageError`).
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
from pathlib import Path
from typing import TYPE_CHECKING

import click

from . import runcache
from ._version import __version__
from .cachecli import CommandError, cache_group
from .errors import StorygraphError
from .export import FORMATS, format_for
from .options import ALGORITHMS, IDF_SCOPES, ClusterOptions
from .runtime import exit_at_once, gc_off_for_this_process

if TYPE_CHECKING:
    from .result import ClusterResult

_DEFAULTS = ClusterOptions()


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="storygraph")
def main() -> None:
    """Find the stories in a folder of news items (Markdown with YAML front matter)."""


main.add_command(cache_group)


_OWN_PROCESS = False  # True in the executable (run): the process ends with the command


def run() -> None:
    """The ``storygraph`` executable: :func:`main` in a process of its own, which exits when
    the command is done, so the cyclic collector stays off for good and a finished ``cluster``
    exits without freeing its result object by object (see storygraph/runtime.py)."""
    global _OWN_PROCESS
    _OWN_PROCESS = True
    gc_off_for_this_process()
    main()


def _graph_options(command):
    """Options shared by ``cluster`` and ``edges``: how the graph is built and how the run executes."""
    decorators = [
        click.option("--threshold", type=float, default=_DEFAULTS.threshold, show_default=True,
                     help="Minimum cosine similarity for a 'similar' edge."),
        click.option("--top-k", type=int, default=_DEFAULTS.top_k, show_default=True,
                     help="Similar neighbours kept per article."),
        click.option("--window-days", type=float, default=_DEFAULTS.window_days, show_default=True,
                     help="Only compare articles published at most this many days apart."),
        click.option("-j", "--jobs", type=int, default=0, show_default="0 = one per core",
                     help="Worker processes for parsing and the similarity search."),
        click.option("--dask", "dask_address", metavar="ADDRESS",
                     help="Parse and search on a Dask cluster: tcp://scheduler:8786, or local:N for N local "
                          "workers (pip install 'storygraph[dask]')."),
        click.option("--cache-dir", type=click.Path(file_okay=False), envvar="STORYGRAPH_CACHE_DIR",
                     help="Cache folder [default: $STORYGRAPH_CACHE_DIR, else the user cache folder]."),
        click.option("--no-cache", is_flag=True, help="Do not read or write the cache (parsed files, solved work, runs)."),
        click.option("--no-related", is_flag=True, help="Ignore the items' related lists."),
        click.option("--strict", is_flag=True, help="Fail if any file is skipped, naming it."),
        click.option("-q", "--quiet", is_flag=True, help="No progress bars and no summary."),
        click.option("-v", "--verbose", is_flag=True, help="Also print per-stage timings, peak memory and notices."),
    ]
    for decorator in reversed(decorators):
        command = decorator(command)
    return command


def _content_argument(command):
    # A URL (s3://..., file://...) is not a local path: click must not check that it exists.
    return click.argument("content", type=_Content())(command)


class _Content(click.ParamType):
    name = "CONTENT"

    def convert(self, value, param, ctx):
        from .remote import is_url

        if is_url(value):
            return value
        return click.Path(exists=True, file_okay=True, dir_okay=True).convert(value, param, ctx)


def _build_options(fmt_check, **values) -> ClusterOptions:
    try:
        if fmt_check:
            fmt_check()
        return ClusterOptions(**values)
    except StorygraphError as exc:
        raise click.UsageError(str(exc)) from None


def _check_output_folder(output: str) -> None:
    folder = os.path.dirname(os.path.abspath(output))
    if output != "-" and not os.path.isdir(folder):  # say so now, not after a long run
        raise CommandError(f"{output}: folder {folder} does not exist")


def _require_items(loaded, content: str) -> None:
    """No input items is a mistake (a wrong folder, an empty export), not an empty result."""
    if loaded.inputs == 0:
        found = "no non-blank lines" if loaded.kind == "jsonl" else "no .md files"
        raise CommandError(f"{content}: no news items to cluster ({found})")


@main.command("cluster")
@_content_argument
@click.option("-o", "--output", default="stories.json", show_default=True,
              help="Output file (.json, .graphml, .gexf, .html), or '-' for stdout (JSON unless --format says otherwise).")
@click.option("--format", "fmt", type=click.Choice(FORMATS), help="Output format; default from the extension.")
@click.option("--edges", "edge_file", type=click.Path(exists=True),
              help="Cluster with the edges of this .csv/.parquet file (from 'storygraph edges' or another "
                   "engine) instead of computing them.")
@click.option("--previous", "previous_file", type=click.Path(exists=True, dir_okay=False),
              help="An earlier JSON output: stories that continue its stories keep their ids, and the output "
                   "says what is new, grown, merged, split or gone.")
@click.option("--overrides", "overrides_file", type=click.Path(exists=True, dir_okay=False),
              help="An editor's corrections (YAML or JSON): together, apart, titles, ignore (see the README).")
@click.option("--algorithm", type=click.Choice(ALGORITHMS), default=_DEFAULTS.algorithm, show_default=True,
              help="Community detection algorithm.")
@click.option("--cohesion", type=float, default=_DEFAULTS.cohesion, show_default=True,
              help="Mean time-discounted similarity a story's articles must reach (leiden): higher gives "
                   "tighter, smaller stories.")
@click.option("--period-windows", type=int, default=_DEFAULTS.period_windows, show_default=True,
              help="Find stories period by period, each this many windows long, joined across the boundaries "
                   "(leiden); 0: the whole corpus at once.")
@click.option("--idf-scope", type=click.Choice(IDF_SCOPES), default=_DEFAULTS.idf_scope, show_default=True,
              help="Whose document frequencies weigh an article's words: the whole corpus, or (running) "
                   "those of its own period, the earlier ones and the next one, so that newer articles "
                   "leave older periods' vectors as they were.")
@click.option("--resolution", type=float, default=_DEFAULTS.resolution, show_default=True,
              help="Modularity resolution (modularity, louvain): higher gives smaller stories.")
@click.option("--seed", type=int, default=_DEFAULTS.seed, show_default=True, help="Random seed.")
@click.option("--report-max-nodes", type=int, default=_DEFAULTS.report_max_nodes, show_default=True,
              help="HTML report: the graph view shows the largest stories up to this many nodes.")
@_graph_options
def cluster_command(content: str, output: str, fmt: str | None, edge_file: str | None, previous_file: str | None,
                    overrides_file: str | None, algorithm: str,
                    cohesion: float, period_windows: int, idf_scope: str, resolution: float, seed: int, report_max_nodes: int, threshold: float,
                    top_k: int,
                    window_days: float, jobs: int, dask_address: str | None, cache_dir: str | None,
                    no_cache: bool, no_related: bool, strict: bool, quiet: bool, verbose: bool) -> None:
    """Cluster the news items under CONTENT (a folder of .md files, a .jsonl file, or a
    folder's fsspec URL such as s3://bucket/content/) into stories.

    \b
    Examples:
      storygraph cluster content/ -o stories.graphml     # open in Gephi
      storygraph cluster content/ -o - | jq '.stories[0]'
      storygraph cluster content/ --dask local:4 -o stories.json
    """
    started = time.perf_counter()
    chosen: list[str] = []
    options = _build_options(
        lambda: chosen.append(format_for(output, fmt)),
        threshold=threshold, top_k=top_k, window_days=window_days, algorithm=algorithm,
        cohesion=cohesion, period_windows=period_windows, idf_scope=idf_scope, resolution=resolution, seed=seed,
        use_related=not no_related, strict=strict,
        report_max_nodes=report_max_nodes, jobs=jobs, use_cache=not no_cache, cache_dir=cache_dir,
        dask=dask_address,
    )
    _check_output_folder(output)
    reads = {"edges": edge_file, "overrides": overrides_file, "previous": previous_file}
    source, runs, fp = _run_cache(content, options, chosen[0], output, reads)
    if fp is not None and (summary := runcache.lookup(runs, fp, output)) is not None:
        _report_reused(summary, output, time.perf_counter() - started, quiet)
        return
    from .export import write
    from .pipeline import cluster, peak_rss  # imported here: `storygraph --help` need not load scikit-learn

    try:
        result = cluster(source or content, options, progress=_progress_factory(quiet), edge_file=edge_file,
                         overrides=overrides_file, previous=previous_file)
        _require_items(result.loaded, content)
        export_started = time.perf_counter()
        write(result, output, chosen[0], jobs=options.jobs)
        export = (time.perf_counter() - export_started, peak_rss())  # not a stage of the run: timed here
    except StorygraphError as exc:
        raise CommandError(str(exc)) from None
    if fp is not None and not any(n.field == "cache" for n in result.loaded.notices):  # only input-made bytes
        runcache.record(runs, fp, output, _summary(result, previous_file))
    _report(result, export, output, time.perf_counter() - started, quiet, verbose, previous_file)
    if _OWN_PROCESS:
        exit_at_once()


def _run_cache(content, options: ClusterOptions, fmt: str, output: str, reads: dict):
    """``(open source, cache folder, fingerprint)`` of this run, or Nones when it is not reusable:
    no cache, stdout, a URL, an input that cannot be opened (the run itself then says why)."""
    if not options.use_cache or output == "-":
        return None, None, None
    from .cache import default_cache_dir
    from .sources import open_source

    try:
        source = open_source(content, options.max_file_bytes)
        fp = runcache.fingerprint(source, options.to_dict(), fmt, reads)
    except (StorygraphError, OSError):
        return None, None, None
    return source, (Path(options.cache_dir) if options.cache_dir else default_cache_dir()), fp


def _summary(result, previous: str | None) -> dict:
    """What the summary line of a reused run says (``runcache.record`` stores it)."""
    line = _summary_line(result.stats(), result.loaded.kind)
    if result.changes is not None and previous:
        line += "\n" + _since(result.changes, previous)
    return {"line": line, "skipped": len(result.loaded.skipped), "kind": result.loaded.kind}


def _report_reused(summary: dict, output: str, seconds: float, quiet: bool) -> None:
    if quiet:
        return
    first, *rest = summary["line"].split("\n")
    click.echo(f"storygraph: {first} -> {output} in {seconds:.1f} s (no input or option changed since the run "
               "that wrote it: kept as it is)", err=True)
    for line in rest:
        click.echo(f"storygraph: {line}", err=True)


@main.command("edges")
@_content_argument
@click.option("-o", "--output", default="edges.csv", show_default=True,
              help="Edge file: .csv, or .parquet (needs pyarrow).")
@_graph_options
def edges_command(content: str, output: str, threshold: float, top_k: int, window_days: float, jobs: int,
                  dask_address: str | None, cache_dir: str | None, no_cache: bool, no_related: bool,
                  strict: bool, quiet: bool, verbose: bool) -> None:
    """Write the graph's edges (related links and similarity pairs) of CONTENT as an
    interchange file: source, target, kind, similarity, weight (see the README).

    \b
    Example:
      storygraph edges content/ -o edges.parquet
      storygraph cluster content/ --edges edges.parquet -o stories.json
    """
    from .edgefile import edge_format, write_edges
    from .pipeline import build_graph

    started = time.perf_counter()
    options = _build_options(
        lambda: edge_format(output),
        threshold=threshold, top_k=top_k, window_days=window_days, use_related=not no_related, strict=strict,
        jobs=jobs, use_cache=not no_cache, cache_dir=cache_dir, dask=dask_address,
    )
    _check_output_folder(output)
    try:
        graph = build_graph(content, options, progress=_progress_factory(quiet))
        _require_items(graph.loaded, content)
        write_edges(output, graph.table, graph.edges)
    except StorygraphError as exc:
        raise CommandError(str(exc)) from None
    if verbose:
        _explain(graph.loaded)
    if not quiet:
        kinds = graph.edges.kind_counts()
        click.echo(
            f"storygraph: {graph.loaded.inputs} inputs, {len(graph.loaded.skipped)} skipped, "
            f"{len(graph.table.nodes)} nodes, {len(graph.edges)} edges ({kinds['related']} related, "
            f"{kinds['similar']} similar, {kinds['both']} both) -> {output} in {time.perf_counter() - started:.1f} s",
            err=True,
        )


def _explain(loaded) -> None:
    """Skipped files and notice kinds, for -v."""
    for skipped in sorted(loaded.skipped):
        click.echo(f"skipped {skipped.file}: {skipped.reason}", err=True)
    kinds = Counter((re.sub(r"\[\d+\]", "[]", n.field), n.message) for n in loaded.notices)
    for (field, message), count in sorted(kinds.items()):
        click.echo(f"notice x{count}: {field}: {message} (files listed under 'notices' in the JSON)", err=True)


def _report(result: "ClusterResult", export: tuple[float, int], output: str, seconds: float, quiet: bool,
            verbose: bool, previous: str | None = None) -> None:
    stats = result.stats()
    if verbose:
        _explain(result.loaded)
        stages = [(stage, took, result.peak_rss.get(stage, 0)) for stage, took in result.timings.items()]
        for stage, took, peak in [*stages, ("export", *export)]:
            click.echo(f"  {stage:<12} {took:8.2f} s   peak RSS {peak / 2**30:5.2f} GB", err=True)
    if quiet:
        return
    where = "stdout" if output == "-" else output
    click.echo(f"storygraph: {_summary_line(stats, result.loaded.kind)} -> {where} in {seconds:.1f} s", err=True)
    if stats["skipped"] and not verbose:
        unit = "items" if result.loaded.kind == "jsonl" else "files"
        click.echo(f"storygraph: {stats['skipped']} {unit} skipped; see 'skipped' in the JSON or use -v", err=True)
    if result.changes is not None and previous:
        click.echo(f"storygraph: {_since(result.changes, previous)}", err=True)


def _summary_line(stats: dict, kind: str) -> str:
    return (f"{stats['inputs']} {'items' if kind == 'jsonl' else 'files'}, {stats['skipped']} skipped, "
            f"{stats['nodes']} nodes, {stats['edges']} edges, {stats['stories']} stories "
            f"({stats['stories_multi']} with 2+ articles)")


def _since(changes: dict, previous: str) -> str:
    return (f"since {os.path.basename(previous)}: {len(changes['new'])} new, {len(changes['grown'])} grown, "
            f"{len(changes['merged'])} merged, {len(changes['split'])} split, {len(changes['gone'])} gone")


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
    from .evaluate import evaluate_document, read_document, read_truth

    try:
        result = evaluate_document(read_document(output), read_truth(truth))
    except (ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
        raise CommandError(f"{output}: not a storygraph JSON output ({exc})") from None
    except StorygraphError as exc:
        raise CommandError(str(exc)) from None
    if as_json:
        click.echo(json.dumps(result, sort_keys=True))
        return
    for name, value in result.items():
        if value is None:
            click.echo(f"{name:<20} n/a (too many clusters to compute in reasonable time)")
        else:
            click.echo(f"{name:<20} {value:.4f}" if isinstance(value, float) else f"{name:<20} {value}")


if __name__ == "__main__":  # pragma: no cover
    run()
