// The timeline: one bar per story from its first to its last article, for the largest
// dated stories, drawn as SVG (each bar has a <title> tooltip set as text).
import { count, cut, formatDate, formatMonth, formatSpan, plural, time } from "./format.js";

const SVG = "http://www.w3.org/2000/svg";
const MAX_ROWS = 30;
const DAY = 86400000;
const MARGIN = { left: 10, right: 10, top: 18, bottom: 18 };

/**
 * Draw the timeline into container; onSelect(storyIndex) on a click on a bar.
 * Returns { select(storyIndex|null) }.
 */
export function createTimeline(container, data, onSelect) {
  const rows = data.stories
    .map((story, i) => ({ i, story, first: time(story.first), last: time(story.last) }))
    .filter((row) => row.story.members.length > 1 && row.first !== null && row.last !== null)
    .slice(0, MAX_ROWS)
    // The largest stories, in the order they started: rows read as a chronology.
    .sort((a, b) => a.first - b.first || a.i - b.i);
  let selected = null;
  const draw = () => {
    container.replaceChildren(render(container, data, rows, onSelect));
    mark(container, selected);
  };
  draw();
  let pending = null;
  window.addEventListener("resize", () => {
    clearTimeout(pending);
    pending = setTimeout(draw, 150);
  });
  return {
    select(storyIndex) {
      selected = storyIndex;
      mark(container, selected);
    },
  };
}

function render(container, data, rows, onSelect) {
  const width = Math.max(container.clientWidth, 200);
  const height = Math.max(container.clientHeight, 80);
  const svg = svgEl("svg", { width, height, viewBox: `0 0 ${width} ${height}` });
  const caption = rows.length
    ? `Timeline: the ${rows.length === 1 ? "largest story" : `${count(rows.length)} largest stories`} with 2+ dated articles, first to last article, by start; grey: all articles over time`
    : "Timeline: no story has two or more dated articles";
  svg.append(text(caption, MARGIN.left, 12, "title"));
  if (!rows.length) return svg;

  let start = Math.min(...rows.map((r) => r.first));
  let end = Math.max(...rows.map((r) => r.last));
  if (end - start < DAY) {
    start -= DAY / 2;
    end += DAY / 2;
  }
  const plotWidth = width - MARGIN.left - MARGIN.right;
  const x = (ms) => MARGIN.left + ((ms - start) / (end - start)) * plotWidth;
  const rowHeight = (height - MARGIN.top - MARGIN.bottom) / rows.length;
  svg.append(axis(start, end, x, height));
  svg.append(coverage(data, start, end, x, plotWidth, height));
  rows.forEach((row, k) => {
    const x0 = x(row.first);
    const bar = svgEl("rect", {
      class: "bar",
      x: x0,
      y: MARGIN.top + k * rowHeight + rowHeight * 0.15,
      width: Math.max(x(row.last) - x0, 4),
      height: Math.max(rowHeight * 0.7, 1),
      rx: Math.min(2, rowHeight * 0.3),
      fill: row.story.color,
    });
    bar.dataset.timelineStory = String(row.i);
    const [title] = data.nodes[row.story.headline];
    const tip = svgEl("title", {});
    tip.textContent = `${title}\n${plural(row.story.members.length, "article")}, ${formatSpan(row.story.first, row.story.last)}`;
    bar.append(tip);
    bar.addEventListener("click", () => onSelect(row.i, null));
    svg.append(bar);
    if (rowHeight >= 11) svg.append(barLabel(title, x0, x(row.last), rowHeight, k, width));
  });
  return svg;
}

function barLabel(title, x0, x1, rowHeight, k, width) {
  // Beside the bar, on whichever side has more room; cut to fit.
  const right = width - MARGIN.right - x1 - 6;
  const left = x0 - MARGIN.left - 6;
  const room = Math.max(right, left);
  const label = text(cut(title, Math.max(8, Math.floor(room / 6))), 0, MARGIN.top + (k + 0.5) * rowHeight + 4, "bar-label");
  if (right >= left) label.setAttribute("x", String(x1 + 6));
  else {
    label.setAttribute("x", String(x0 - 6));
    label.setAttribute("text-anchor", "end");
  }
  return label;
}

function coverage(data, start, end, x, plotWidth, height) {
  // Articles per time bin behind the bars, on a square-root scale so quiet weeks still show:
  // it tells where the coverage was when the bars themselves are short.
  const bins = new Array(Math.max(1, Math.floor(plotWidth / 3))).fill(0);
  for (const row of data.nodes) {
    const t = time(row[3]);
    if (t === null || t < start || t > end) continue;
    bins[Math.min(bins.length - 1, Math.floor(((t - start) / (end - start)) * bins.length))]++;
  }
  const peak = Math.sqrt(Math.max(...bins, 1));
  const bottom = height - MARGIN.bottom;
  const scale = (height - MARGIN.top - MARGIN.bottom) / peak;
  const step = (end - start) / bins.length;
  let d = `M${x(start)},${bottom}`;
  bins.forEach((n, i) => {
    const y = bottom - Math.sqrt(n) * scale;
    d += `L${x(start + i * step)},${y}L${x(start + (i + 1) * step)},${y}`;
  });
  return svgEl("path", { class: "coverage", d: `${d}L${x(end)},${bottom}Z` });
}

function axis(start, end, x, height) {
  const group = svgEl("g", { class: "axis" });
  const ticks = tickTimes(start, end);
  const monthly = ticks.length > 1 && ticks[1] - ticks[0] >= 28 * DAY;
  for (const t of ticks) {
    const px = x(t);
    group.append(svgEl("line", { x1: px, x2: px, y1: MARGIN.top - 2, y2: height - MARGIN.bottom + 2 }));
    // Labels that would run off the right edge are left out (the line stays).
    if (px + 60 < x(end) + MARGIN.right) group.append(text(monthly ? formatMonth(t) : formatDate(t, false), px + 3, height - 5));
  }
  return group;
}

function tickTimes(start, end) {
  // About six ticks on whole days, weeks or months (UTC, like the data).
  const span = end - start;
  const steps = [1, 2, 7, 14].map((d) => d * DAY);
  const step = steps.find((s) => span / s <= 8);
  if (step) {
    const first = Math.ceil(start / step) * step;
    const out = [];
    for (let t = first; t <= end; t += step) out.push(t);
    return out;
  }
  const months = [1, 2, 3, 6, 12, 24, 60].find((m) => span / (m * 30.4 * DAY) <= 8) || 120;
  const d = new Date(start);
  let year = d.getUTCFullYear();
  let month = Math.ceil((d.getUTCMonth() + (d.getUTCDate() > 1 ? 1 : 0)) / months) * months;
  const out = [];
  for (;;) {
    const t = Date.UTC(year + Math.floor(month / 12), month % 12, 1);
    if (t > end) break;
    if (t >= start) out.push(t);
    month += months;
  }
  return out;
}

function mark(container, selected) {
  container.classList.toggle("dimmed", selected !== null);
  container.querySelectorAll(".bar").forEach((bar) => {
    bar.classList.toggle("selected", Number(bar.dataset.timelineStory) === selected);
  });
}

function text(content, x, y, className) {
  const node = svgEl("text", { x, y });
  if (className) node.setAttribute("class", className);
  node.textContent = content;
  return node;
}

function svgEl(tag, attrs) {
  const node = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, String(value));
  return node;
}
