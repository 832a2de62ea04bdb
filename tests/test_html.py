"""The HTML report: self-contained, escaped, deterministic, capped graph; rendered by headless Chromium.

The browser tests run Debian's ``chromium`` (CI installs it) on the written page and read the
DOM it ends with: one ``data-story-id`` element per story, and ``data-graph-ready`` /
``data-graph-pixels`` on ``#graph`` once ForceAtlas2 has finished and the nodes were painted.
Screenshots are kept under ``tests/artifacts/`` (git-ignored) for a person to look at.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import shutil
import subprocess
from importlib import resources
from pathlib import Path

import pytest
from click.testing import CliRunner
from lxml import html as lxml_html

import storygraph
import storygraph.export.html as html_export
from storygraph.cli import main
from storygraph.export import render
from storygraph.export.html import graph_stories, html_bytes, page_data, script_json

from conftest import FIXTURES, ROOT, item, needs_shared

ARTIFACTS = ROOT / "tests" / "artifacts"
HOSTILE_TITLE = (
    "</script><script>document.body.setAttribute('data-pwned', '1')</script>"
    "<img src=x onerror=\"document.body.setAttribute('data-pwned', '2')\" id=\"pwned\"> & co"
)
HOSTILE_EXCERPT = "<!-- x --> \\u2028 \\u2029 <b>bold</b>"  # YAML escapes: U+2028 and U+2029


@pytest.fixture(scope="module")
def result():
    return storygraph.cluster(FIXTURES)


@pytest.fixture(scope="module")
def page(result):
    return html_bytes(result).decode("utf-8")


@pytest.fixture
def hostile(write_items):
    """A tiny corpus whose titles and excerpts hold markup and characters that break scripts."""
    related = [{"title": "x", "webUrl": "https://example.com/b"}]
    root = write_items({
        "a.md": item(HOSTILE_TITLE, "https://example.com/a", excerpt=HOSTILE_EXCERPT, related=related),
        "b.md": item("Second <i>story</i> item", "https://example.com/b", excerpt=HOSTILE_EXCERPT,
                     related=[{"webUrl": "https://example.com/a"}]),
        "c.md": item("Unrelated third article about weather", "https://example.com/c", published="2024-03-09T10:00:00Z"),
    })
    return storygraph.cluster(root)


def _data(text: str) -> dict:
    match = re.search(r'<script type="application/json" id="storygraph-data">(.*?)</script>', text, re.S)
    assert match, "no data block"
    return json.loads(match.group(1))


# --- without a browser --------------------------------------------------------------------------

def test_page_loads_nothing_from_the_network(page):
    tree = lxml_html.fromstring(page)
    for element in tree.iter("script", "link", "img", "iframe", "object", "embed", "source"):
        for attribute in ("src", "href", "data"):
            value = element.get(attribute) or ""
            assert not re.match(r"\s*(https?:)?//", value), f"<{element.tag} {attribute}={value!r}>"
    assert [s.get("src") for s in tree.iter("script")] == [None, None]  # data and bundle, both inline
    assert not tree.xpath("//link[@rel='stylesheet']")
    assert "@import" not in page and "url(http" not in page
    csp = tree.xpath("//meta[@http-equiv='Content-Security-Policy']/@content")[0]
    assert "default-src 'none'" in csp


def test_csp_lets_exactly_the_bundle_run(page):
    csp = lxml_html.fromstring(page).xpath("//meta[@http-equiv='Content-Security-Policy']/@content")[0]
    bundle = resources.files("storygraph").joinpath("report/bundle.min.js").read_text(encoding="utf-8")
    digest = base64.b64encode(hashlib.sha256(bundle.encode("utf-8")).digest()).decode()
    assert f"script-src 'sha256-{digest}'" in csp
    assert f"<script>{bundle}</script>" in page


def test_bundle_is_committed_with_its_build_script():
    report = resources.files("storygraph").joinpath("report")
    bundle = report.joinpath("bundle.min.js").read_text(encoding="utf-8")
    assert "sigma" in bundle.splitlines()[0] and len(bundle) > 50_000
    assert not re.search(r"</script|<!--", bundle, re.I)
    assert report.joinpath("THIRD_PARTY_LICENSES.txt").is_file()
    package = json.loads((ROOT / "report-src" / "package.json").read_text())
    versions = {**package["dependencies"], **package["devDependencies"]}
    assert all(re.fullmatch(r"\d+\.\d+\.\d+", v) for v in versions.values()), versions  # exact pins
    assert (ROOT / "report-src" / "package-lock.json").is_file() and (ROOT / "report-src" / "build.sh").is_file()


def test_data_block_matches_page_data(result, page):
    data = _data(page)
    assert data == json.loads(json.dumps(page_data(result)))
    assert len(data["stories"]) == len(result.stories)
    assert [len(s["members"]) for s in data["stories"]] == [s.size for s in result.stories]


def test_markup_in_titles_stays_text(hostile):
    text = html_bytes(hostile).decode("utf-8")
    # The only script elements are the two the template opens; the title cannot open or close one.
    assert text.count("<script") == 2 and text.count("</script>") == 2
    assert "<img" not in text and "<!-- x" not in text and "<b>bold" not in text
    assert "\u2028" not in text and "\u2029" not in text
    data = _data(text)
    titles = [row[0] for row in data["nodes"]]
    assert HOSTILE_TITLE in titles  # the exact text, restored by the JSON parser
    excerpts = [s["excerpt"] for s in data["stories"]]
    assert any("<!-- x -->" in e and "\u2028" in e for e in excerpts)


def test_weak_members_come_last_with_their_similarity(write_items):
    # four articles share their words; a fifth shares none but every one of them lists it as related
    refs = [{"title": "Bakery wins award", "webUrl": "https://town.com/bakery", "publishedDateTime": "2024-04-03T02:00:00Z"}]
    files = {f"q{i}.md": item(f"Earthquake hits Taiwan coast {i}", f"https://news{i}.com/quake",
                              published=f"2024-04-03T0{i}:00:00Z", related=refs) for i in range(4)}
    files["bakery.md"] = item("Bakery wins pastry award", "https://town.com/bakery", published="2024-04-03T01:00:00Z")
    result = storygraph.cluster(write_items(files), related_weight=0.5)
    [story] = [s for s in result.stories if s.size == 5]
    data = page_data(result)
    page_story = data["stories"][result.stories.index(story)]
    assert page_story["cohesion"] == story.cohesion
    similarity = [data["nodes"][i][5] for i in page_story["members"]]
    assert similarity == [round(result.similarity_of(i), 6) for i in page_story["members"]]
    weak = [value < html_export.WEAK_SHARE * story.cohesion for value in similarity]
    assert weak == [False] * 4 + [True]  # the related-only member, listed last
    assert result.nodes[page_story["members"][-1]].title == "Bakery wins pastry award"
    assert sorted(page_story["members"]) == sorted(story.members)


def test_script_json_escapes_breakouts():
    text = script_json({"t": "</script><!--&\u2028\u2029>"})
    assert text == '{"t":"\\u003c/script\\u003e\\u003c!--\\u0026\\u2028\\u2029\\u003e"}'
    assert json.loads(text) == {"t": "</script><!--&\u2028\u2029>"}


def test_graph_takes_whole_largest_stories_up_to_the_limit():
    assert graph_stories([5, 3, 3, 1], 8) == (2, 8)
    assert graph_stories([5, 3, 3, 1], 100) == (4, 12)
    assert graph_stories([5, 3, 1], 7) == (1, 5)  # stops at the first story that does not fit
    assert graph_stories([9, 1], 5) == (0, 0)
    assert graph_stories([], 5) == (0, 0)


def test_capped_graph_keeps_every_story_in_the_list(result):
    capped = storygraph.cluster(FIXTURES, report_max_nodes=40)
    text = html_bytes(capped).decode("utf-8")
    data = _data(text)
    shown, nodes = graph_stories([s.size for s in capped.stories], 40)
    assert 0 < shown < len(capped.stories)
    assert data["graph"]["stories"] == shown and data["graph"]["nodes"] == nodes <= 40
    assert len(data["stories"]) == len(capped.stories)  # the list holds them all
    in_graph = {m for story in data["stories"][:shown] for m in story["members"]}
    assert len(in_graph) == nodes
    assert data["graph"]["edges"] and all(a in in_graph and b in in_graph for a, b, *_ in data["graph"]["edges"])
    note = lxml_html.fromstring(text).get_element_by_id("graph-note").text_content()
    assert note == (f"Graph shows the {shown} largest stories ({nodes} of {len(capped.nodes)} articles); "
                    f"the list holds all {len(capped.stories)} stories.")
    # Uncapped, the note is empty (and hidden) and the graph holds every edge.
    full = _data(html_bytes(result).decode("utf-8"))
    assert full["graph"]["note"] == "" and len(full["graph"]["edges"]) == len(result.edges)


def test_graph_note_when_no_story_fits_and_for_no_articles(tmp_path):
    none_fit = _data(html_bytes(storygraph.cluster(FIXTURES, report_max_nodes=1)).decode("utf-8"))
    assert none_fit["graph"]["stories"] == 0 and none_fit["graph"]["edges"] == []
    assert none_fit["graph"]["note"].startswith("Graph shows no story: the largest has ")
    (tmp_path / "empty").mkdir()
    empty = _data(html_bytes(storygraph.cluster(tmp_path / "empty")).decode("utf-8"))
    assert empty["stories"] == [] and empty["nodes"] == [] and empty["graph"]["note"] == ""


def test_same_result_gives_identical_bytes(result):
    first = html_bytes(result)
    assert html_bytes(result) == first
    assert html_bytes(storygraph.cluster(FIXTURES)) == first
    assert render(result, "html") == first


def test_cli_writes_html(tmp_path):
    out = tmp_path / "stories.html"
    res = CliRunner().invoke(main, ["cluster", str(FIXTURES), "-o", str(out), "-q", "--report-max-nodes", "30"])
    assert res.exit_code == 0, res.output
    text = out.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>") and "Graph shows the" in text


# --- in headless Chromium -----------------------------------------------------------------------

def _chromium() -> str:
    path = shutil.which("chromium")
    if not path:
        pytest.skip("no 'chromium' on PATH: install Debian's chromium (CI's .ci/run does) to run the browser tests")
    return path


def _browse(tmp_path: Path, page: Path, *, screenshot: Path | None = None, fragment: str = "") -> str:
    """The DOM headless Chromium ends with (or, with ``screenshot``, the PNG it writes)."""
    command = [
        _chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--enable-unsafe-swiftshader",
        "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--hide-scrollbars", "--window-size=1400,900",
        f"--user-data-dir={tmp_path / 'chromium-profile'}",
        # Virtual time runs timers instantly while the page is idle, and stops while the layout computes.
        "--virtual-time-budget=30000",
    ]
    command += [f"--screenshot={screenshot}"] if screenshot else ["--dump-dom"]
    command.append(page.resolve().as_uri() + fragment)
    run = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    return run.stdout


def _rendered(dom: str) -> tuple[int, int, int]:
    """(story elements, nodes drawn, pixels painted) read from a dumped DOM."""
    tree = lxml_html.fromstring(dom)
    graph = tree.get_element_by_id("graph")
    return (len(tree.xpath("//*[@data-story-id]")), int(graph.get("data-graph-ready", "-1")),
            int(graph.get("data-graph-pixels", "-1")))


def _check_page(tmp_path: Path, result, name: str) -> str:
    page = tmp_path / f"{name}.html"
    result.write(page)
    dom = _browse(tmp_path, page)
    stories, drawn, pixels = _rendered(dom)
    assert stories == len(result.stories)
    data = page_data(result)
    assert drawn == data["graph"]["nodes"] > 0
    assert pixels > 20 * drawn, "the nodes layer painted (almost) nothing"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / f"report-{name}.png"
    _browse(tmp_path, page, screenshot=shot)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000
    return dom


def test_browser_renders_fixture_report(tmp_path, result):
    dom = _check_page(tmp_path, result, "fixtures")
    tree = lxml_html.fromstring(dom)
    first = tree.xpath("//*[@data-story-id]")[0]
    assert first.get("data-story-id") == result.stories[0].id
    assert result.nodes[result.stories[0].headline].title in first.text_content()
    assert len(tree.xpath("//svg//rect[@class='bar']")) > 0  # the timeline drew


def test_browser_shows_titles_as_text(tmp_path, hostile):
    page = tmp_path / "hostile.html"
    hostile.write(page)
    dom = _browse(tmp_path, page)
    tree = lxml_html.fromstring(dom)
    assert not tree.xpath("//*[@id='pwned']") and tree.body.get("data-pwned") is None
    assert HOSTILE_TITLE in [a.text_content() for a in tree.xpath("//*[@data-story-id]//h2/a")]
    assert _rendered(dom)[0] == len(hostile.stories)


def test_browser_selects_story_named_in_address(tmp_path, result):
    page = tmp_path / "select.html"
    result.write(page)
    story = result.stories[1]
    tree = lxml_html.fromstring(_browse(tmp_path, page, fragment=f"#story={story.id}"))
    assert tree.get_element_by_id("graph").get("data-selected-story") == story.id
    selected = tree.xpath("//*[@data-story-id][contains(@class, 'selected')]")
    assert [e.get("data-story-id") for e in selected] == [story.id]
    assert tree.xpath("//svg//rect[contains(@class, 'selected')]")  # and in the timeline


def test_browser_capped_graph_lists_every_story(tmp_path):
    capped = storygraph.cluster(FIXTURES, report_max_nodes=40)
    page = tmp_path / "capped.html"
    capped.write(page)
    stories, drawn, _ = _rendered(_browse(tmp_path, page))
    assert stories == len(capped.stories)
    assert drawn == graph_stories([s.size for s in capped.stories], 40)[1]


def test_browser_copes_with_no_articles(tmp_path):
    (tmp_path / "empty").mkdir()
    page = tmp_path / "empty.html"
    storygraph.cluster(tmp_path / "empty").write(page)
    dom = _browse(tmp_path, page)
    assert _rendered(dom)[:2] == (0, 0)
    tree = lxml_html.fromstring(dom)
    assert tree.get_element_by_id("graph-status").text_content() == "No articles."


@pytest.mark.slow
def test_browser_renders_diablo4_report(tmp_path):
    corpus = needs_shared("corpus/smartable-diablo4")
    _chromium()
    _check_page(tmp_path, storygraph.cluster(corpus), "diablo4")
