// Formatting and DOM helpers. Every piece of data reaches the page through textContent or
// an attribute value, never through markup, so a title holding "<script>" stays text.

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** Create an element with an optional class and text content. */
export function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

/** A link to an article, or a plain span when the URL is not http(s) (never "javascript:"). */
export function link(url, text) {
  if (typeof url === "string" && /^https?:\/\//i.test(url)) {
    const a = el("a", null, text);
    a.href = url;
    a.target = "_blank";
    a.rel = "noopener noreferrer";
    return a;
  }
  return el("span", null, text);
}

/** Milliseconds since the epoch for an ISO date, or null. */
export function time(iso) {
  if (!iso) return null;
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? null : ms;
}

/** "5 Mar 2023" in UTC, the zone of the data, so the page reads the same everywhere. */
export function formatDate(ms, withYear = true) {
  const d = new Date(ms);
  const text = `${d.getUTCDate()} ${MONTHS[d.getUTCMonth()]}`;
  return withYear ? `${text} ${d.getUTCFullYear()}` : text;
}

/** "5 – 28 Mar 2023"-style span of two ISO dates; "" when undated. */
export function formatSpan(firstIso, lastIso) {
  const first = time(firstIso);
  const last = time(lastIso);
  if (first === null && last === null) return "";
  if (first === null || last === null) return formatDate(first ?? last);
  const a = new Date(first);
  const b = new Date(last);
  if (formatDate(first) === formatDate(last)) return formatDate(first);
  const sameYear = a.getUTCFullYear() === b.getUTCFullYear();
  return `${formatDate(first, !sameYear)} – ${formatDate(last)}`;
}

/** Month label for axis ticks: "Mar 2023". */
export function formatMonth(ms) {
  const d = new Date(ms);
  return `${MONTHS[d.getUTCMonth()]} ${d.getUTCFullYear()}`;
}

/** 12345 -> "12,345", independent of the browser's locale. */
export function count(n) {
  return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}

/** "1 article" / "2 articles". */
export function plural(n, word) {
  return `${count(n)} ${word}${n === 1 ? "" : "s"}`;
}

/** Cut text to a label length with an ellipsis. */
export function cut(text, max) {
  return text.length <= max ? text : `${text.slice(0, max - 1).trimEnd()}…`;
}
