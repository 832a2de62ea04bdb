"""benchmarks/generate.py: the dense regime's shape, and the default regime unchanged."""

from __future__ import annotations

import datetime as dt
import hashlib
import importlib.util
import re
import sys
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DAY = 86400

#: SHA-256 of the truth file + every file (relative path, NUL, bytes; sorted by path) of
#: ``generate(300, ..., seed=3)``, computed with generate.py as it was before ``--dense`` existed.
SPARSE_300_SEED3 = "3b192f1590cfa7864e39820615b2e49f95053c7f4db8f6446faaae363cea443e"


def _load():
    spec = importlib.util.spec_from_file_location("generate", ROOT / "benchmarks" / "generate.py")
    module = importlib.util.module_from_spec(spec)
    # The worker pool pickles render_shard by module name: make "generate" importable.
    sys.modules["generate"] = module
    spec.loader.exec_module(module)
    return module


gen = _load()


def corpus_hash(out: Path) -> str:
    h = hashlib.sha256(Path(str(out) + ".truth.tsv").read_bytes())
    for p in sorted(out.rglob("*"), key=lambda p: p.relative_to(out).as_posix()):
        if p.is_file():
            h.update(p.relative_to(out).as_posix().encode() + b"\0")
            h.update(p.read_bytes())
    return h.hexdigest()


def read_corpus(out: Path) -> dict[str, list[tuple[float, str, str]]]:
    """story -> [(published seconds, provider domain, first topic)] from the truth and the files."""
    lines = Path(str(out) + ".truth.tsv").read_text(encoding="utf-8").splitlines()
    assert lines[0] == "file\tstory"
    stories: dict[str, list[tuple[float, str, str]]] = defaultdict(list)
    for line in lines[1:]:
        rel, story = line.split("\t")
        text = (out / rel).read_text(encoding="utf-8")
        when = re.search(r"^publishedDateTime: (\S+)$", text, re.M).group(1)
        seconds = dt.datetime.strptime(when, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.timezone.utc).timestamp()
        domain = re.search(r"^provider:\n  name: .*\n  domain: (\S+)$", text, re.M).group(1)
        topic = re.search(r"^topics:\n  - (.*)$", text, re.M).group(1)
        stories[story].append((seconds, domain, topic))
    return stories


N, SEED = 3000, 0


@pytest.fixture(scope="module")
def dense(tmp_path_factory):
    out = tmp_path_factory.mktemp("dense") / "corpus"
    stats = gen.generate(N, out, seed=SEED, jobs=1, dense=True)
    return out, stats, read_corpus(out)


def test_dense_big_events(dense):
    out, stats, stories = dense
    assert sum(len(v) for v in stories.values()) == N
    sizes = {k: len(v) for k, v in stories.items()}
    assert max(sizes.values()) >= 50
    expected_big = round(gen.BIG_SHARE * N / gen.BIG_MEAN)
    assert expected_big == 9 and stats["big_events"] == expected_big
    share = sum(n for n in sizes.values() if n >= 50) / N
    assert 0.5 <= share <= 0.7, share

    # The big events are the stories after the small ones; all of 50-500 articles.
    plan = gen.Plan(N, SEED, dense=True)
    big = [f"story-{s:07d}" for s in range(plan.small_stories, len(plan.story_size))]
    assert len(big) == expected_big
    assert all(50 <= sizes[k] <= 500 for k in big)

    for k in big:
        # Within 4 days of the first article; a midnight (date-only) item can read up to a day early.
        exact = [t for t, _, _ in stories[k] if t % DAY]
        dated = [t for t, _, _ in stories[k] if not t % DAY]
        lo, hi = min(exact), max(exact)
        assert hi - lo <= 4 * DAY, (k, (hi - lo) / DAY)
        assert all(lo - DAY < t <= hi for t in dated), k
        # Most of them within two days.
        assert sum(t - lo <= 2 * DAY for t in exact) >= 0.95 * len(exact)

    biggest = max(stories, key=lambda k: sizes[k])
    assert len({d for _, d, _ in stories[biggest]}) >= 40

    # Big events share topics with small stories (same topic, other event).
    small_topics = {stories[k][0][2] for k in stories if k not in big}
    assert any(stories[k][0][2] in small_topics for k in big)


def test_dense_span(dense):
    out, stats, stories = dense
    span = max(3.0, gen.BIG_SHARE * N / (gen.BIG_PER_DAY * gen.BIG_MEAN))
    assert stats["span_days"] == pytest.approx(span)
    starts = [min(t for t, _, _ in v) for v in stories.values()]
    assert abs((max(starts) - min(starts)) / DAY - span) <= 1.0
    # Beyond the span only the small stories' late items (up to 10 days after their start).
    times = sorted(t for v in stories.values() for t, _, _ in v)
    assert times[-1] - min(starts) <= (span + 10) * DAY
    assert times[int(0.97 * len(times))] - min(starts) <= (span + 4) * DAY


def test_dense_does_not_depend_on_jobs(tmp_path):
    one, two = tmp_path / "one", tmp_path / "two"
    gen.generate(1200, one, seed=5, jobs=1, per_folder=300, dense=True)
    gen.generate(1200, two, seed=5, jobs=2, per_folder=300, dense=True)
    assert corpus_hash(one) == corpus_hash(two)


def test_default_regime_unchanged(tmp_path):
    out = tmp_path / "sparse"
    gen.generate(300, out, seed=3, jobs=1)
    assert corpus_hash(out) == SPARSE_300_SEED3
