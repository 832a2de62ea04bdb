"""Shared test helpers: paths, and a writer for small news-item folders."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures" / "content"
TRUTH = ROOT / "fixtures" / "content.stories.tsv"
SHARED = ROOT.parent / "shared"


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


@pytest.fixture(params=["yaml-rs", "pyyaml"])
def yaml_backend(request, monkeypatch):
    """Run a test with the fast parser and again with the PyYAML fallback."""
    import storygraph.parse as parse

    if request.param == "pyyaml":
        monkeypatch.setattr(parse, "yaml_rs", None)
    elif parse.yaml_rs is None:
        pytest.skip("yaml-rs is not installed")
    return request.param
