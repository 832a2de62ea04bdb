// Entry point of the storygraph report: reads the embedded JSON and wires the story list,
// the graph and the timeline together so that selecting a story anywhere shows it everywhere.
// The selected story is kept in the address as #story=<id>, so a link can open the page on it.
import { createGraph } from "./graph.js";
import { createList } from "./list.js";
import { createTimeline } from "./timeline.js";

function start() {
  const data = JSON.parse(document.getElementById("storygraph-data").textContent);
  const search = document.getElementById("story-search");
  const graphBox = document.getElementById("graph");
  const byId = new Map(data.stories.map((story, i) => [story.id, i]));
  let list = null;
  let graph = null;
  let timeline = null;

  const filter = (query) => graph.filter(list.filter(query));
  const select = (storyIndex, nodeIndex) => {
    // A story hidden by the filter cannot be shown in the list: clear the filter first.
    if (storyIndex !== null && list.isHidden(storyIndex)) {
      search.value = "";
      filter("");
    }
    list.select(storyIndex, nodeIndex);
    graph.select(storyIndex);
    timeline.select(storyIndex);
    const id = storyIndex === null ? "" : data.stories[storyIndex].id;
    graphBox.dataset.selectedStory = id;
    remember(id);
  };

  list = createList(data, select);
  document.body.dataset.listReady = String(data.stories.length);
  timeline = createTimeline(document.getElementById("timeline"), data, select);
  graph = createGraph(graphBox, document.getElementById("graph-status"), data, select, (n, ms, pixels) => {
    // Tests and scripts wait for these: nodes drawn, layout time, pixels the nodes painted.
    graphBox.dataset.graphReady = String(n);
    if (ms !== undefined) graphBox.dataset.layoutMs = String(ms);
    if (pixels !== undefined) graphBox.dataset.graphPixels = String(pixels);
    // Only now can the camera move to a story named in the address.
    const wanted = /^#story=(s[0-9a-f]+)$/.exec(location.hash);
    if (wanted && byId.has(wanted[1])) select(byId.get(wanted[1]), null);
  });

  let pending = null;
  search.addEventListener("input", () => {
    clearTimeout(pending);
    pending = setTimeout(() => filter(search.value), 120);
  });
  document.getElementById("reset-view").addEventListener("click", () => {
    search.value = "";
    filter("");
    select(null, null);
    graph.reset();
  });
}

function remember(id) {
  try {
    history.replaceState(null, "", id ? `#story=${id}` : location.pathname + location.search);
  } catch {
    // Some browsers refuse history changes on file:// pages; the hash is only a convenience.
  }
}

start();
