// The graph view: sigma.js draws the shown stories' articles, laid out by ForceAtlas2
// (graphology-layout-forceatlas2, the algorithm Gephi uses), run for a fixed number of
// iterations in small slices so the page stays responsive while the layout settles.
import Graph from "graphology";
import Sigma from "sigma";
import forceAtlas2 from "graphology-layout-forceatlas2";
import FA2_DEFAULTS from "graphology-layout-forceatlas2/defaults.js";
import iterate from "graphology-layout-forceatlas2/iterate.js";
import { assignLayoutChanges, graphToByteArrays } from "graphology-layout-forceatlas2/helpers.js";
import { count, cut } from "./format.js";

// Opaque (pre-mixed with the white background): sigma blends premultiplied, so a translucent
// colour comes out washed towards cyan. Same colours as the legend in report.css.
const EDGE_COLORS = ["#b9c5d8", "#efbd84", "#c2a9e0"];
const DIMMED_NODE = "#e3e6eb";
const LABEL_CHARS = 42;
const MAX_LABELS = 24;
const SLICE_MS = 30;
const GOLDEN_ANGLE = Math.PI * (3 - Math.sqrt(5));
const NO_GRAPH = { select() {}, filter() {}, reset() {} };

/**
 * Draw the first data.graph.stories stories into container and lay them out.
 * onSelect(storyIndex|null, nodeIndex|null) is called on clicks; onReady(nodes, layoutMs,
 * paintedPixels) once the layout is done (at once with 0 nodes when nothing can be drawn).
 * Returns { select(storyIndex|null), filter(Set of story indices|null), reset() }.
 */
export function createGraph(container, status, data, onSelect, onReady) {
  const graph = buildGraph(data);
  if (graph.order === 0) {
    status.textContent = data.stories.length ? "No story fits in the graph view (see the note above)." : "No articles.";
    onReady(0);
    return NO_GRAPH;
  }
  // Edges of big graphs stay hidden while the layout runs: drawing tens of thousands of them
  // at every progress update would slow the layout down on machines without a GPU.
  // `focus` is the set of stories whose edges show: the selected one, or the filter's matches.
  const state = { selected: null, matches: null, focus: null, hideEdges: graph.size > 10000 };
  const placed = []; // label boxes drawn in the current frame
  let renderer;
  try {
    renderer = new Sigma(graph, container, rendererSettings(graph, state, placed));
  } catch (error) {
    status.textContent = `The graph view needs WebGL, which this browser does not offer (${error.message}).`;
    onReady(0);
    return NO_GRAPH;
  }
  // Label spots are free again at the start of every frame.
  renderer.on("beforeRender", () => (placed.length = 0));
  renderer.on("clickNode", ({ node }) => onSelect(graph.getNodeAttribute(node, "story"), Number(node)));
  renderer.on("clickStage", () => onSelect(null, null));
  runLayout(graph, status, (ms) => {
    state.hideEdges = false;
    renderer.refresh();
    onReady(graph.order, ms, paintedPixels(renderer));
  });

  return {
    select(storyIndex) {
      state.selected = storyIndex;
      state.focus = storyIndex !== null ? new Set([storyIndex]) : state.matches;
      renderer.refresh();
      if (storyIndex === null) return;
      if (storyIndex >= data.graph.stories) {
        status.textContent = "That story is not in the graph view (see the note above).";
        return;
      }
      status.textContent = "";
      focus(renderer, data.stories[storyIndex].members.map(String));
    },
    filter(matches) {
      state.matches = matches;
      if (state.selected === null) state.focus = matches;
      renderer.refresh();
    },
    reset() {
      renderer.getCamera().animatedReset({ duration: 300 });
    },
  };
}

function buildGraph(data) {
  const graph = new Graph({ type: "undirected", multi: false, allowSelfLoops: false });
  let laid = 0;
  const radius = (n) => 12 * Math.sqrt(n);
  data.stories.slice(0, data.graph.stories).forEach((story, s) => {
    // Stories start on a sunflower spiral, largest in the middle, each as a small disc of its
    // articles: ForceAtlas2 then only has to separate them, and the same data always gives the
    // same start (no Math.random), hence the same layout.
    const centre = radius(laid + story.members.length / 2);
    const cx = centre * Math.cos(s * GOLDEN_ANGLE);
    const cy = centre * Math.sin(s * GOLDEN_ANGLE);
    laid += story.members.length;
    // The headline goes first: labels are drawn in graph order and the first one wins a spot.
    const members = [story.headline, ...story.members.filter((m) => m !== story.headline)];
    members.forEach((nodeIndex, j) => {
      const jitter = seeded(nodeIndex);
      const r = 4 * Math.sqrt(j + jitter);
      const angle = j * GOLDEN_ANGLE + jitter;
      graph.addNode(String(nodeIndex), {
        x: cx + r * Math.cos(angle),
        y: cy + r * Math.sin(angle),
        story: s,
        headline: nodeIndex === story.headline && story.members.length > 1,
        color: story.color,
        label: cut(data.nodes[nodeIndex][0], LABEL_CHARS),
      });
    });
  });
  for (const [a, b, kind, weight] of data.graph.edges) {
    graph.addEdge(String(a), String(b), { kind, weight, color: EDGE_COLORS[kind], size: 0.6 });
  }
  sizeNodes(graph, data);
  return graph;
}

function sizeNodes(graph, data) {
  // Size by degree as Gephi users expect, with smaller discs for bigger graphs so that dense
  // stories do not melt into one blob; each story's headline is its largest node.
  const scale = Math.min(1, Math.sqrt(300 / graph.order) + 0.35);
  const biggest = new Map();
  graph.forEachNode((node, attrs) => {
    const size = scale * Math.min(2 + 1.1 * Math.sqrt(graph.degree(node)), 10);
    graph.setNodeAttribute(node, "size", size);
    biggest.set(attrs.story, Math.max(biggest.get(attrs.story) || 0, size));
  });
  data.stories.slice(0, data.graph.stories).forEach((story, s) => {
    if (story.members.length > 1) graph.setNodeAttribute(String(story.headline), "size", biggest.get(s) + 1.5);
  });
}

function rendererSettings(graph, state, placed) {
  return {
    zIndex: true,
    labelFont: "system-ui, sans-serif",
    labelSize: 12,
    labelColor: { color: "#1d2330" },
    // Only forced labels (story headlines, or the selected story's articles) are drawn, each
    // only where it overlaps no label drawn before it in the same frame; hovering shows any title.
    labelRenderedSizeThreshold: Infinity,
    defaultDrawNodeLabel: (context, data, settings) => drawLabel(context, data, settings, placed),
    minCameraRatio: 0.02,
    maxCameraRatio: 4,
    hideEdgesOnMove: graph.size > 20000,
    nodeReducer: (node, attrs) => nodeLook(attrs, state),
    edgeReducer: (edge, attrs) => edgeLook(graph, edge, attrs, state),
  };
}

function nodeLook(attrs, state) {
  if (state.selected !== null) {
    if (attrs.story === state.selected) return { ...attrs, zIndex: 2, forceLabel: true };
    return { ...attrs, color: DIMMED_NODE, label: null, zIndex: 0 };
  }
  if (state.matches && !state.matches.has(attrs.story)) return { ...attrs, color: DIMMED_NODE, label: null, zIndex: 0 };
  return { ...attrs, zIndex: 1, forceLabel: attrs.headline };
}

function drawLabel(context, data, settings, placed) {
  if (!data.label || placed.length >= MAX_LABELS) return;
  const size = settings.labelSize;
  context.font = `${settings.labelWeight} ${size}px ${settings.labelFont}`;
  const width = context.measureText(data.label).width;
  const gap = data.size + 3;
  // Right of the node, else left, above or below it: the first spot inside the canvas that
  // overlaps no label already drawn in this frame; no spot, no label (hovering still shows it).
  const spots = [
    [data.x + gap, data.y],
    [data.x - gap - width, data.y],
    [data.x - width / 2, data.y - gap - size / 2],
    [data.x - width / 2, data.y + gap + size / 2],
  ];
  const canvasWidth = context.canvas.clientWidth;
  for (const [x, y] of spots) {
    const box = [x - 2, y - size / 2 - 3, x + width + 2, y + size / 2 + 3];
    if (box[0] < 0 || box[2] > canvasWidth) continue;
    if (placed.some((b) => b[0] < box[2] && box[0] < b[2] && b[1] < box[3] && box[1] < b[3])) continue;
    placed.push(box);
    // A white halo keeps the text readable over edges and nodes.
    context.lineJoin = "round";
    context.lineWidth = 3;
    context.strokeStyle = "rgba(255,255,255,0.9)";
    context.strokeText(data.label, x, y + size / 3);
    context.fillStyle = settings.labelColor.color;
    context.fillText(data.label, x, y + size / 3);
    return;
  }
}

function edgeLook(graph, edge, attrs, state) {
  if (state.hideEdges) return { ...attrs, hidden: true };
  if (!state.focus) return attrs;
  const [a, b] = graph.extremities(edge);
  const inside = state.focus.has(graph.getNodeAttribute(a, "story")) || state.focus.has(graph.getNodeAttribute(b, "story"));
  return inside ? { ...attrs, zIndex: 1 } : { ...attrs, hidden: true };
}

function runLayout(graph, status, done) {
  // iterate() needs every setting, so start from the package defaults and the package's
  // suggestions (strong gravity keeps the many single-article stories near the rest).
  // "Dissuade hubs" and a larger scaling spread each story out instead of melting it into a
  // disc (chosen by looking at the diablo4 corpus); Barnes-Hut ("approximate repulsion" in
  // Gephi) once the exact O(n²) repulsion gets slow.
  const settings = {
    ...FA2_DEFAULTS,
    ...forceAtlas2.inferSettings(graph),
    outboundAttractionDistribution: true,
    scalingRatio: 40,
    barnesHutOptimize: graph.order > 1000,
  };
  const matrices = graphToByteArrays(graph, (edge, attrs) => attrs.weight);
  // A fixed number of iterations from a fixed start: the same data gives the same layout.
  // Iterations run in slices of about SLICE_MS so the page stays responsive; slicing cannot
  // change the result, as the ForceAtlas2 state lives on in `matrices` between slices.
  const total = graph.order > 3000 ? 300 : graph.order > 800 ? 400 : 600;
  let doneIterations = 0;
  const started = performance.now();
  // Showing progress (positions, status text) makes the browser draw a frame, which costs
  // ~150 ms with software WebGL: show it every `every` ms, and so that drawing takes at most
  // a fifth of the time (the wait after a shown slice measures the frame).
  let every = 250;
  let lastShown = started;
  let shownAt = null;
  const step = () => {
    const sliceStart = performance.now();
    if (shownAt !== null) every = Math.max(every, 5 * (sliceStart - shownAt));
    shownAt = null;
    do {
      iterate(settings, matrices.nodes, matrices.edges);
      doneIterations++;
    } while (doneIterations < total && performance.now() - sliceStart < SLICE_MS);
    if (doneIterations >= total) {
      assignLayoutChanges(graph, matrices.nodes, null);
      status.textContent = "";
      done(Math.round(performance.now() - started));
      return;
    }
    const now = performance.now();
    if (now - lastShown > every) {
      assignLayoutChanges(graph, matrices.nodes, null);
      status.textContent = `Laying out ${count(graph.order)} articles (ForceAtlas2): ${Math.floor((100 * doneIterations) / total)}%`;
      lastShown = shownAt = now;
    }
    setTimeout(step, 0);
  };
  setTimeout(step, 0);
}

function paintedPixels(renderer) {
  // How many pixels the node layer painted, read straight after a synchronous render (the
  // drawing buffer is cleared only once the frame is shown): lets a test see that WebGL drew.
  // webGLContexts is sigma's own (unlisted) map of its layers' contexts.
  const gl = renderer.webGLContexts && renderer.webGLContexts.nodes;
  if (!gl) return -1;
  const pixels = new Uint8Array(gl.drawingBufferWidth * gl.drawingBufferHeight * 4);
  gl.bindFramebuffer(gl.FRAMEBUFFER, null);
  gl.readPixels(0, 0, gl.drawingBufferWidth, gl.drawingBufferHeight, gl.RGBA, gl.UNSIGNED_BYTE, pixels);
  let painted = 0;
  for (let i = 3; i < pixels.length; i += 4) if (pixels[i]) painted++;
  return painted;
}

function focus(renderer, nodes) {
  // Centre the camera on the story's nodes, zoomed so that they fill about half the view.
  let minX = Infinity, minY = Infinity, maxX = -Infinity, maxY = -Infinity;
  for (const node of nodes) {
    const d = renderer.getNodeDisplayData(node);
    if (!d) continue;
    minX = Math.min(minX, d.x); maxX = Math.max(maxX, d.x);
    minY = Math.min(minY, d.y); maxY = Math.max(maxY, d.y);
  }
  if (minX === Infinity) return;
  const extent = Math.max(maxX - minX, maxY - minY);
  const ratio = Math.min(1, Math.max(0.08, extent * 2));
  renderer.getCamera().animate({ x: (minX + maxX) / 2, y: (minY + maxY) / 2, ratio }, { duration: 400 });
}

function seeded(n) {
  // mulberry32 of the node index: a fixed pseudo-random number in [0, 1).
  let t = (n + 0x6d2b79f5) | 0;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
