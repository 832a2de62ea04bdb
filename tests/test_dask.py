"""The Dask engine on a LocalCluster of 2 worker processes: same bytes as a local run."""

import builtins

import numpy as np
import pytest
from click.testing import CliRunner

import storygraph
from storygraph.cli import main
from storygraph.export import render

from conftest import FIXTURES, SHARED, without_front_matter

distributed = pytest.importorskip("distributed")

FORMATS = ("json", "graphml", "gexf")


@pytest.fixture(scope="module")
def scheduler():
    """One LocalCluster for the module: 2 single-threaded worker processes."""
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        yield cluster.scheduler_address


def _same_bytes(a, b):
    for fmt in FORMATS:
        assert render(a, fmt) == render(b, fmt), fmt


def test_a_running_cluster_gives_the_local_bytes(scheduler):
    # chunk_size 8: the nodes make several similarity blocks, each a task on some worker
    local = storygraph.cluster(FIXTURES, chunk_size=8, use_cache=False)
    remote = storygraph.cluster(FIXTURES, chunk_size=8, dask=scheduler)
    _same_bytes(local, remote)
    assert len(remote.edges) == len(local.edges) > 0
    assert [s.file for s in remote.skipped] == without_front_matter()  # skipped on the workers too


def test_each_task_gives_what_the_local_function_gives(scheduler):
    # the engine only maps: the sources' read_batch and similarity.block_top_k, batch by batch
    from storygraph.dask_engine import DaskEngine
    from storygraph.load import load
    from storygraph.similarity import plan_blocks, serial_blocks
    from storygraph.sources import open_source

    source = open_source(FIXTURES, 10 << 20)
    graph = storygraph.build_graph(FIXTURES, use_cache=False)
    plan = plan_blocks(graph.days, np.ones(len(graph.days), dtype=bool), 8, 7.0)
    ticks = []
    with distributed.Client(scheduler) as client:
        engine = DaskEngine(client)
        loaded = engine.load(source, ticks.append)
        blocks = list(engine.map_blocks(graph.matrix, graph.days, plan, 0.15, 20, 7.0))
    assert loaded == load(source, jobs=1) and sum(ticks) == len(source.paths)
    local = list(serial_blocks(graph.matrix, graph.days, plan, 0.15, 20, 7.0))
    assert len(blocks) == len(plan) > 1
    assert all(np.array_equal(a, b) for remote, here in zip(blocks, local) for a, b in zip(remote, here))


def test_content_at_a_url_on_the_cluster(scheduler):
    # local:// goes through fsspec on each worker, as s3:// would (file:// is read as a plain path)
    url = "local://" + FIXTURES.resolve().as_posix()
    _same_bytes(storygraph.cluster(FIXTURES, use_cache=False), storygraph.cluster(url, dask=scheduler))


def test_a_folder_the_workers_cannot_see_is_named(scheduler):
    from storygraph.dask_engine import DaskEngine

    with distributed.Client(scheduler) as client:
        with pytest.raises(storygraph.InputError, match="/no/such/folder: not a folder on Dask worker"):
            DaskEngine(client)._check_workers_see("/no/such/folder")


def test_an_unknown_scheduler_scheme_is_a_clear_error(tmp_path):
    res = CliRunner().invoke(main, ["cluster", str(FIXTURES), "--dask", "foo://x", "-o", str(tmp_path / "x.json")])
    assert res.exit_code == 1 and "cannot reach the Dask scheduler at foo://x" in res.stderr


def test_cli_local_cluster_matches_the_local_run(tmp_path):
    runner = CliRunner()
    local, remote = tmp_path / "local.json", tmp_path / "remote.json"
    assert runner.invoke(main, ["cluster", str(FIXTURES), "-o", str(local), "-q"]).exit_code == 0
    res = runner.invoke(main, ["cluster", str(FIXTURES), "--dask", "local:2", "-o", str(remote), "-q"])
    assert res.exit_code == 0, res.stderr
    assert remote.read_bytes() == local.read_bytes()


@pytest.mark.skipif(not (SHARED / "corpus").is_dir(), reason="../shared/corpus is absent")
def test_real_corpus_on_the_cluster(scheduler):
    site = SHARED / "corpus" / "smartable-diablo4"
    _same_bytes(storygraph.cluster(site, use_cache=False, chunk_size=256),
               storygraph.cluster(site, dask=scheduler, chunk_size=256))


def test_without_dask_the_message_says_what_to_install(monkeypatch, tmp_path):
    real_import = builtins.__import__

    def no_dask(name, *args, **kwargs):
        if name == "distributed" or name.startswith(("distributed.", "dask")):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_dask)
    res = CliRunner().invoke(main, ["cluster", str(FIXTURES), "--dask", "local:2", "-o", str(tmp_path / "x.json")])
    assert res.exit_code == 1
    assert "--dask needs the dask extra: pip install 'storygraph[dask]'" in res.stderr


@pytest.mark.parametrize("value", ["local:0", "local:x", "scheduler:8786", "local:"])
def test_bad_dask_addresses_are_usage_errors(value, tmp_path):
    res = CliRunner().invoke(main, ["cluster", str(FIXTURES), "--dask", value, "-o", str(tmp_path / "x.json")])
    assert res.exit_code == 2 and "dask" in res.stderr and "local:N" in res.stderr
