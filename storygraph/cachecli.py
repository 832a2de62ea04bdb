"""``storygraph cache info`` and ``storygraph cache clear``: the cache folder, seen and emptied.

The folder (``--cache-dir``, else ``$STORYGRAPH_CACHE_DIR``, else the user cache folder)
holds the parse cache of each format version (``parse-v*.sqlite``, with SQLite's ``-wal``
and ``-shm`` files), the last loads of the most recently run folders (``snapshots-v*/``,
:mod:`storygraph.snapshot`), the solved similarity blocks and periods (``solved-v*.sqlite``,
:mod:`storygraph.solvecache`), damaged ones set aside (``parse-v*.sqlite.damaged-*``) and one small
file per recorded output (``runs/``, see :mod:`storygraph.runcache`). Nothing else in
the folder is touched.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import click

from . import runcache

__all__ = ["cache_group", "CommandError"]


class CommandError(click.ClickException):
    """A command failed (exit 1): ``storygraph: error: <message>`` on stderr."""

    def show(self, file=None) -> None:
        click.echo(f"storygraph: error: {self.format_message()}", file=file, err=True)


@click.group("cache")
def cache_group() -> None:
    """The cache folder: parsed files (parse-v*.sqlite, snapshots-v*/), solved work (solved-v*.sqlite) and
    finished runs (runs/)."""


def _cache_folder(cache_dir: str | None) -> Path:
    from .cache import default_cache_dir

    return Path(cache_dir) if cache_dir else default_cache_dir()


def _cache_files(folder: Path) -> list[Path]:
    """What storygraph keeps in ``folder``: parse caches, load snapshots and solved work of every
    version, set-aside damaged ones, runs."""
    patterns = ("parse-v*.sqlite*", "snapshots-v*/*.json", "snapshots-v*/.*.json.*.tmp", "solved-v*.sqlite*")
    found = sorted(p for pattern in patterns for p in folder.glob(pattern) if p.is_file())
    runs = folder / runcache.RUNS
    return found + (sorted(p for p in runs.iterdir() if p.is_file()) if runs.is_dir() else [])


_CACHE_DIR = click.option("--cache-dir", type=click.Path(file_okay=False), envvar="STORYGRAPH_CACHE_DIR",
                          help="Cache folder [default: $STORYGRAPH_CACHE_DIR, else the user cache folder].")


@cache_group.command("info")
@_CACHE_DIR
def cache_info_command(cache_dir: str | None) -> None:
    """Where the cache is, what it holds and how big it is."""
    from .cache import FORMAT, ParseCache
    from .snapshot import FOLDER, KEEP
    from .solvecache import FILE, KEEP_RUNS, BlockStore, PeriodStore, SolvedStore

    folder = _cache_folder(cache_dir)
    files = _cache_files(folder) if folder.is_dir() else []
    size = sum(p.stat().st_size for p in files)
    click.echo(f"folder      {folder}")
    click.echo(f"size        {size / 2**20:.1f} MB in {len(files)} files")
    current = folder / f"parse-v{FORMAT}.sqlite"
    entries = ParseCache(folder).count() if current.exists() else 0
    click.echo(f"parse cache {current.name}: {entries} parsed files")
    snapshots = [p for p in files if p.parent.name == FOLDER and p.suffix == ".json"]
    click.echo(f"snapshots   {FOLDER}/: the last load of {len(snapshots)} folder{'' if len(snapshots) == 1 else 's'} "
               f"({sum(p.stat().st_size for p in snapshots) / 2**20:.1f} MB; the {KEEP} most recent are kept)")
    if (folder / f"{FILE}.sqlite").exists():
        solved = SolvedStore(folder)
        blocks, periods = solved.count(BlockStore.PREFIX), solved.count(PeriodStore.PREFIX)
        solved.cache.close()  # (not close(): looking is not a run, and forgets nothing)
        click.echo(f"solved      {FILE}.sqlite: {blocks} similarity blocks, {periods} periods (of the last "
                   f"{KEEP_RUNS} runs)")
    older = [p.name for p in files if p.name.startswith("parse-v")
             and p.name not in (current.name, current.name + "-wal", current.name + "-shm")]
    if older:
        click.echo(f"also        {', '.join(older)} (other versions or set aside as damaged: 'cache clear' removes them)")
    click.echo(f"runs        {sum(1 for p in files if p.parent.name == runcache.RUNS)} recorded outputs")


@cache_group.command("clear")
@_CACHE_DIR
def cache_clear_command(cache_dir: str | None) -> None:
    """Delete everything storygraph keeps in the cache folder (the next run parses every file again)."""
    folder = _cache_folder(cache_dir)
    files = _cache_files(folder) if folder.is_dir() else []
    freed = 0
    for path in files:
        try:
            freed += path.stat().st_size
            path.unlink()
        except OSError as exc:
            raise CommandError(f"{path}: cannot delete: {exc.strerror or exc}") from None
    for emptied in folder.glob("snapshots-v*") if folder.is_dir() else ():
        with contextlib.suppress(OSError):
            emptied.rmdir()  # only if nothing else is in it
    click.echo(f"storygraph: cleared {len(files)} files ({freed / 2**20:.1f} MB) from {folder}", err=True)


