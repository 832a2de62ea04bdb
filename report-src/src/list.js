// The story list: one <li data-story-id> per story, largest first, with a text filter.
import { count, el, formatDate, formatSpan, link, plural, time } from "./format.js";

const PROVIDERS_SHOWN = 6;
// A member whose cosine to the story's centroid is under this share of the story's cohesion is "weak".
const WEAK_SHARE = 0.5;

/**
 * Render every story into #story-list.
 * onSelect(storyIndex, nodeIndex|null) is called when a story card is clicked.
 * Returns { select(storyIndex|null, nodeIndex|null), filter(query) -> Set|null, isHidden(i) }.
 */
export function createList(data, onSelect) {
  const root = document.getElementById("story-list");
  const counter = document.getElementById("story-count");
  const items = data.stories.map((story, i) => storyItem(data, story, i));
  const fragment = document.createDocumentFragment();
  items.forEach((item) => fragment.append(item));
  root.append(fragment);
  counter.textContent = storyCount(items.length);

  root.addEventListener("keydown", (event) => {
    // Keyboard users select a focused story with Enter or Space, like a button.
    const item = event.target.classList.contains("story") ? event.target : null;
    if (!item || (event.key !== "Enter" && event.key !== " ")) return;
    event.preventDefault();
    onSelect(Number(item.dataset.index), null);
  });
  root.addEventListener("click", (event) => {
    const item = event.target.closest(".story");
    // Links open the article and the summary toggles its list; neither selects.
    if (!item || event.target.closest("a, summary")) return;
    const row = event.target.closest("[data-node]");
    onSelect(Number(item.dataset.index), row ? Number(row.dataset.node) : null);
  });

  let haystacks = null;
  let current = null;
  return {
    select(storyIndex, nodeIndex) {
      if (current) current.classList.remove("selected");
      root.querySelectorAll(".articles li.current").forEach((li) => li.classList.remove("current"));
      current = storyIndex === null ? null : items[storyIndex];
      if (!current) return;
      current.classList.add("selected");
      let target = current;
      if (nodeIndex !== null && nodeIndex !== undefined) {
        const details = current.querySelector("details");
        if (details) details.open = true;
        fillArticles(data, current);
        target = current.querySelector(`[data-node="${nodeIndex}"]`) || current;
        if (target !== current) target.classList.add("current");
      }
      if (!fullyVisible(target, root)) target.scrollIntoView({ block: "center" });
    },
    filter(query) {
      const terms = query.toLowerCase().split(/\s+/).filter(Boolean);
      if (!terms.length) {
        items.forEach((item) => (item.hidden = false));
        counter.textContent = storyCount(items.length);
        return null;
      }
      haystacks = haystacks || data.stories.map((story) => haystack(data, story));
      const matches = new Set();
      haystacks.forEach((text, i) => {
        const hit = terms.every((term) => text.includes(term));
        items[i].hidden = !hit;
        if (hit) matches.add(i);
      });
      counter.textContent = `${count(matches.size)} of ${storyCount(items.length)}`;
      return matches;
    },
    isHidden(i) {
      return Boolean(items[i] && items[i].hidden);
    },
  };
}

function storyItem(data, story, index) {
  const [title, url] = data.nodes[story.headline];
  const size = story.members.length;
  const item = el("li", "story");
  item.dataset.storyId = story.id;
  item.dataset.index = String(index);
  item.tabIndex = 0;
  item.style.setProperty("--story-color", story.color);

  const heading = el("h2");
  // An editor's title (overrides "titles") names the story; the headline's own title stays its link's text.
  heading.append(link(url, story.title || title));
  if (story.corrected) heading.append(" ", el("span", "corrected", "corrected"));
  // With --previous: new and grown stories are marked, and "is:changed" (or is:new, is:grown) filters to them.
  if (story.change) heading.append(" ", el("span", `change ${story.change}`, story.change));
  item.append(heading, meta(data, story, index));
  if (story.title) item.append(el("p", "headline", title));
  if (story.excerpt) item.append(el("p", "excerpt", story.excerpt));
  if (story.keywords.length) {
    const keywords = el("ul", "keywords");
    story.keywords.forEach((word) => keywords.append(el("li", null, word)));
    item.append(keywords);
  }
  if (size > 1) {
    item.append(providers(story.providers));
    const details = el("details");
    details.append(el("summary", null, `Show the ${plural(size, "article")}`));
    // Article rows are built on first opening: thousands of rows nobody opens cost time.
    details.addEventListener("toggle", () => details.open && fillArticles(data, item));
    item.append(details);
  }
  return item;
}

function meta(data, story, index) {
  const size = story.members.length;
  const line = el("p", "meta");
  line.append(el("span", "size", plural(size, "article")));
  const parts = [];
  if (size > 1) parts.push(`cohesion ${story.cohesion.toFixed(2)}`);
  const span = formatSpan(story.first, story.last);
  if (span) parts.push(span);
  if (size === 1) {
    const provider = data.providers[data.nodes[story.headline][2]];
    if (provider) parts.push(provider);
  } else {
    parts.push(plural(story.providers.length, "provider"));
  }
  if (parts.length) line.append(` · ${parts.join(" · ")}`);
  if (index >= data.graph.stories) line.append(" · ", el("span", "off-graph", "not in graph view"));
  return line;
}

function providers(names) {
  const shown = names.slice(0, PROVIDERS_SHOWN).join(", ");
  const more = names.length > PROVIDERS_SHOWN ? ` +${names.length - PROVIDERS_SHOWN} more` : "";
  const line = el("p", "providers", shown + more);
  if (more) line.title = names.join(", ");
  return line;
}

function fillArticles(data, item) {
  const details = item.querySelector("details");
  if (!details || details.querySelector(".articles")) return;
  const story = data.stories[Number(item.dataset.index)];
  const list = el("ol", "articles");
  story.members.forEach((nodeIndex) => list.append(articleRow(data, nodeIndex, story)));
  details.append(list);
}

function articleRow(data, nodeIndex, story) {
  const [title, url, provider, published, inCorpus, similarity] = data.nodes[nodeIndex];
  const row = el("li");
  row.dataset.node = String(nodeIndex);
  row.append(link(url, title));
  const by = [data.providers[provider], published ? formatDate(time(published)) : "undated"].filter(Boolean);
  if (!inCorpus) by.push("linked only");
  row.append(el("span", "by", ` — ${by.join(", ")}`));
  // Weak members (listed last by the page data) are greyed: why they are here is least clear.
  if (similarity < WEAK_SHARE * story.cohesion) row.classList.add("weak");
  row.title = `similarity to the story ${similarity.toFixed(2)} (story cohesion ${story.cohesion.toFixed(2)})`;
  return row;
}

function haystack(data, story) {
  const titles = story.members.map((i) => data.nodes[i][0]);
  const change = story.change ? `is:${story.change} is:changed` : "";
  return [story.id, story.title || "", change, ...story.keywords, ...story.providers, ...titles].join("\n").toLowerCase();
}

function storyCount(n) {
  return `${count(n)} ${n === 1 ? "story" : "stories"}`;
}

function fullyVisible(node, scroller) {
  const box = node.getBoundingClientRect();
  const view = scroller.getBoundingClientRect();
  return box.top >= view.top && box.bottom <= view.bottom;
}
