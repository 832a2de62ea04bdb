"""Shared test helpers: paths, and a writer for small news-item folders."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures" / "content"
TRUTH = ROOT / "fixtures" / "content.stories.tsv"
SHARED = ROOT.parent / "shared"


def md_files(root: Path = FIXTURES) -> list[str]:
    """The ``.md`` files under ``root`` (relative POSIX paths, sorted): the items of a folder."""
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*.md") if p.is_file())


def other_files(root: Path = FIXTURES) -> list[str]:
    """The other files under ``root``: what a run counts as ignored."""
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file() and p.suffix != ".md")


def without_front_matter(root: Path = FIXTURES) -> list[str]:
    """The ``.md`` files that do not start with a front-matter block (the sample's README)."""
    return [rel for rel in md_files(root) if not (root / rel).read_bytes().startswith(b"---")]


def truth_rows() -> int:
    """Items labelled in the sample's truth file (one a line after the header)."""
    return len([line for line in TRUTH.read_text(encoding="utf-8").splitlines()[1:] if line.strip()])


#: The small story corpus of :func:`story_corpus`: each folder is one story, with this many items.
STORY_GROUPS = {"quake": 4, "merger": 3, "lone": 1}
#: The options that corpus's stories depend on, passed explicitly so a new default cannot move them.
STORY_KNOBS = dict(threshold=0.15, top_k=20, window_days=7.0, related_weight="auto", algorithm="leiden",
                   cohesion=0.07, seed=42)


def story_corpus(write_items) -> Path:
    """Write the corpus of :data:`STORY_GROUPS`: an earthquake over two days, a merger over three
    (titles sharing words within a story, none across), and a lone article."""
    files = {}
    for i in range(STORY_GROUPS["quake"]):
        files[f"quake/{i}.md"] = item(f"Earthquake of magnitude 7 hits Taiwan coast {i}", f"https://news{i}.com/quake",
                                      published=f"2024-04-0{3 + i % 2}T0{i}:00:00Z", excerpt="Taiwan earthquake tsunami warning")
    for i in range(STORY_GROUPS["merger"]):
        files[f"merger/{i}.md"] = item(f"Fabrikam agrees to buy Northwind for $2 billion {i}", f"https://biz{i}.com/deal",
                                       published=f"2024-04-1{i}T09:00:00Z", excerpt="Fabrikam Northwind acquisition deal")
    files["lone/0.md"] = item("Local bakery wins pastry award", "https://town.com/bakery", published="2024-04-20T00:00:00Z")
    return write_items(files)


def needs_shared(sub: str) -> Path:
    """Return ../shared/<sub>, or skip the test when it is absent (a fresh clone)."""
    path = SHARED / sub
    if not path.exists():
        pytest.skip(f"{path} is absent (../shared is only beside the checkout on dev and CI machines)")
    return path


def item(
    title: str,
    url: str,
    published: str | None = "2024-03-05T10:00:00Z",
    excerpt: str = "",
    related: list[dict] | None = None,
    extra: str = "",
) -> str:
    """Front matter of one news item in the real layout (double-quoted strings)."""
    lines = ["---", "category: news", f"title: {_q(title)}", f"excerpt: {_q(excerpt)}"]
    if published:
        lines.append(f"publishedDateTime: {published}")
    lines += [f"webUrl: {_q(url)}", "type: article", "provider:", "  name: Example", "  domain: example.com"]
    if related:
        lines.append("related:")
        for ref in related:
            lines.append(f"  - title: {_q(ref.get('title', 'x'))}")
            for key in ("excerpt", "publishedDateTime", "webUrl", "type"):
                if key in ref:
                    lines.append(f"    {key}: {_q(ref[key]) if key != 'publishedDateTime' else ref[key]}")
    if extra:
        lines.append(textwrap.dedent(extra).strip())
    lines.append("---")
    return "\n".join(lines) + "\n"


def _q(text: str) -> str:
    # Backslashes pass through: callers write YAML escapes (\\n, \\u2028) on purpose.
    return '"' + text.replace('"', '\\"') + '"'


@pytest.fixture
def write_items(tmp_path: Path):
    """Write ``{relative path: text or bytes}`` under a fresh folder and return it."""

    def write(files: dict[str, str | bytes]) -> Path:
        root = tmp_path / "content"
        for rel, body in files.items():
            path = root / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(body, bytes):
                path.write_bytes(body)
            else:
                path.write_text(body, encoding="utf-8")
        root.mkdir(exist_ok=True)
        return root

    return write


@pytest.fixture(autouse=True)
def _private_cache(tmp_path_factory, monkeypatch):
    """Keep every test's parse cache out of the user's cache folder."""
    monkeypatch.setenv("STORYGRAPH_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))


def fast_or_fallback(request, monkeypatch, module, attribute: str, package: str, fallback: str) -> str:
    """For a fixture with params ``[package, fallback]``: on ``fallback``, set the module's
    optional import ``attribute`` to None (the code's own fallback); on ``package``, skip
    when it is not installed."""
    if request.param == fallback:
        monkeypatch.setattr(module, attribute, None)
    elif getattr(module, attribute) is None:
        pytest.skip(f"{package} is not installed")
    return request.param


@pytest.fixture(params=["yaml-rs", "pyyaml"])
def yaml_backend(request, monkeypatch):
    """Run a test with the fast parser and again with the PyYAML fallback."""
    import storygraph.parse as parse

    return fast_or_fallback(request, monkeypatch, parse, "yaml_rs", "yaml-rs", "pyyaml")
