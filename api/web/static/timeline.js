// The timeline: one row per caregiver; travel, waiting, service, rest and late in distinct
// colours; a now-line. Bars are buttons for the keyboard (Tab, Enter selects).
import { el, hhmm, minutes, t } from "./common.js";

export const PARTS = { travel: "#9aa9bb", waiting: "#f2d16b", service: "#3b82c4", rest: "#7bc47f", late: "#d9443a", preview: "#ff7f0e" };

// rows: [{id, label, leave, back, rest: [from, to] | null, orders: [{id, arrival, start, end, late, preview}]}]
export function drawTimeline(holder, rows, { now = null, onSelect = () => {}, rowHeight = 18 } = {}) {
  let first = 8 * 60;
  let last = 18 * 60;
  for (const row of rows) {
    for (const o of row.orders) {
      const a = minutes(o.arrival ?? o.start);
      const e = minutes(o.end);
      if (a !== null) first = Math.min(first, a - 30);
      if (e !== null) last = Math.max(last, e + 30);
    }
  }
  first = Math.floor(first / 60) * 60;
  last = Math.ceil(last / 60) * 60;
  const labelW = 90;
  const width = 900;
  const top = 20;
  const height = top + rows.length * rowHeight + 6;
  const x = (m) => labelW + ((m - first) / (last - first)) * (width - labelW - 10);
  const svg = el("svg", { class: "timeline", viewBox: `0 0 ${width} ${height}`, width: "100%", role: "group", "aria-label": t("timeline") });
  for (let m = first; m <= last; m += 60) {
    svg.append(el("line", { x1: x(m), y1: top - 4, x2: x(m), y2: height, stroke: "#ddd" }));
    svg.append(el("text", { x: x(m) - 14, y: 12, class: "label" }, hhmm(m)));
  }
  const bars = new Map();
  rows.forEach((row, i) => {
    const y = top + i * rowHeight;
    const g = el("g", { class: "row", "data-caregiver": row.id });
    g.append(el("text", { x: 4, y: y + rowHeight - 5, class: "label" }, row.label));
    const bar = (from, to, part, extra = {}) => {
      if (from === null || to === null || to <= from) return null;
      const r = el("rect", { x: x(from).toFixed(1), y: y + 2, width: Math.max(1, x(to) - x(from)).toFixed(1), height: rowHeight - 5, fill: PARTS[part], class: `part-${part}`, ...extra },
        el("title", {}, `${t(part)} ${hhmm(from)}–${hhmm(to)}`));
      g.append(r);
      return r;
    };
    let previous = minutes(row.leave);
    for (const o of row.orders) {
      const arrival = minutes(o.arrival ?? o.start);
      const start = minutes(o.start);
      const end = minutes(o.end);
      if (previous !== null && arrival !== null && !o.preview) bar(previous, arrival, "travel");
      if (!o.preview) bar(arrival, start, "waiting");
      const part = o.preview ? "preview" : o.late ? "late" : "service";
      const r = bar(start, end, part, { tabindex: 0, role: "button", "data-order": o.id, "aria-label": `${row.label} ${o.start}–${o.end}` });
      if (r) {
        r.addEventListener("click", () => onSelect(o.id));
        r.addEventListener("keydown", (event) => {
          if (event.key === "Enter" || event.key === " ") { event.preventDefault(); onSelect(o.id); }
        });
        bars.set(o.id, r);
      }
      if (end !== null && !o.preview) previous = end;
    }
    if (previous !== null && row.back) bar(previous, minutes(row.back), "travel");
    if (row.rest) bar(minutes(row.rest[0]), minutes(row.rest[1]), "rest");
    svg.append(g);
  });
  if (now !== null && now >= first && now <= last) {
    svg.append(el("line", { x1: x(now), y1: top - 4, x2: x(now), y2: height, stroke: "#d62728", "stroke-width": 2, "stroke-dasharray": "4 3", class: "now-line" }));
  }
  const legend = el("div", { class: "legend" }, ...["travel", "waiting", "service", "rest", "late"].map((p) =>
    el("span", { class: `key key-${p}` }, t(p))));
  holder.replaceChildren(legend, svg);
  let lit = null;
  return {
    svg,
    highlight(id) {
      if (lit) lit.classList.remove("lit");
      lit = bars.get(id) ?? null;
      if (lit) lit.classList.add("lit");
    },
  };
}
