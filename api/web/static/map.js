// The map: web-mercator SVG of stations, households and routes on a plain background with a
// scale bar; optionally a tile layer (URL template with {z}/{x}/{y}) in the coordinate system
// its provider uses: points are converted for display only.
import { forDisplay } from "./coords.js";
import { el, t } from "./common.js";

export const COLOURS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
  "#17becf", "#bcbd22", "#7f7f7f", "#393b79", "#637939", "#8c6d31", "#843c39", "#7b4173"];

export function colourOf(index) {
  return COLOURS[index % COLOURS.length];
}

export function mapSettings() {
  try {
    return { tiles: "", system: "wgs84", ...JSON.parse(localStorage.getItem("map") || "{}") };
  } catch {
    return { tiles: "", system: "wgs84" };
  }
}

function project(lat, lon) {
  const x = (lon + 180) / 360;
  const s = Math.sin((lat * Math.PI) / 180);
  const y = 0.5 - Math.log((1 + s) / (1 - s)) / (4 * Math.PI);
  return [x, y];
}

// Draw into `holder`: {stations, households, routes: [{id, colour, points: [[lat, lon]...], orders}],
// marks: [{lat, lon, colour, label}]}. Returns {highlight(id)}.
export function drawMap(holder, layers, { width = 640, height = 420 } = {}) {
  const settings = mapSettings();
  const system = settings.tiles ? settings.system : "wgs84";
  const shown = (lat, lon) => project(...forDisplay(lat, lon, system));
  // The view fits `focus` (points [lat, lon]) when given, else everything drawn.
  const all = layers.focus?.length ? layers.focus.map(([lat, lon]) => ({ lat, lon }))
    : [...layers.stations, ...layers.households, ...(layers.marks ?? [])];
  let [x0, y0, x1, y1] = [1, 1, 0, 0];
  for (const p of all) {
    const [x, y] = shown(p.lat, p.lon);
    x0 = Math.min(x0, x); x1 = Math.max(x1, x); y0 = Math.min(y0, y); y1 = Math.max(y1, y);
  }
  if (x1 < x0) { x0 = 0.8; x1 = 0.8001; y0 = 0.3; y1 = 0.3001; }
  const pad = layers.focus?.length ? 40 : 20;
  const span = Math.max((x1 - x0) / (width - 2 * pad), (y1 - y0) / (height - 2 * pad), 1e-9);
  const cx = (x0 + x1) / 2;
  const cy = (y0 + y1) / 2;
  const px = (lat, lon) => {
    const [x, y] = shown(lat, lon);
    return [width / 2 + (x - cx) / span, height / 2 + (y - cy) / span];
  };
  const svg = el("svg", { class: "map", viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": t("map") });
  svg.append(el("rect", { x: 0, y: 0, width, height, fill: "#f4f1ea" }));
  if (settings.tiles) {
    const zoom = Math.max(0, Math.min(19, Math.floor(Math.log2(1 / (span * 256)))));
    const n = 2 ** zoom;
    const size = 1 / n / span;
    const left = cx - (width / 2) * span;
    const top = cy - (height / 2) * span;
    for (let tx = Math.floor(left * n); tx <= Math.floor((left + width * span) * n); tx += 1) {
      for (let ty = Math.floor(top * n); ty <= Math.floor((top + height * span) * n); ty += 1) {
        const href = settings.tiles.replace("{z}", zoom).replace("{x}", tx).replace("{y}", ty);
        svg.append(el("image", { href, x: (tx / n - left) / span, y: (ty / n - top) / span, width: size, height: size }));
      }
    }
  }
  const routeLayer = el("g", { class: "routes" });
  const byOrder = new Map();
  for (const route of layers.routes) {
    const points = route.points.map((p) => px(p[0], p[1]).map((v) => v.toFixed(1)).join(",")).join(" ");
    const line = el("polyline", { points, fill: "none", stroke: route.colour, "stroke-width": 2, "stroke-opacity": 0.75, "data-caregiver": route.id, class: route.dashed ? "preview" : "" });
    routeLayer.append(line);
  }
  svg.append(routeLayer);
  const households = el("g", { class: "households" });
  for (const h of layers.households) {
    const [x, y] = px(h.lat, h.lon);
    const dot = el("circle", { cx: x.toFixed(1), cy: y.toFixed(1), r: 2.5, fill: h.colour ?? "#666", "data-household": h.id });
    if (h.order) byOrder.set(h.order, dot);
    households.append(dot);
  }
  svg.append(households);
  const stations = el("g", { class: "stations" });
  for (const s of layers.stations) {
    const [x, y] = px(s.lat, s.lon);
    stations.append(el("rect", { x: x - 6, y: y - 6, width: 12, height: 12, fill: "#222", stroke: "#fff", "stroke-width": 2 }, el("title", {}, s.name ?? s.id)));
    stations.append(el("text", { x: x + 8, y: y + 4, class: "label" }, s.id));
  }
  svg.append(stations);
  for (const m of layers.marks ?? []) {
    const [x, y] = px(m.lat, m.lon);
    svg.append(el("circle", { cx: x, cy: y, r: 8, fill: "none", stroke: m.colour ?? "#d62728", "stroke-width": 3, class: "mark" }));
  }
  // Scale bar: metres per pixel at the centre latitude.
  const centreLat = (Math.atan(Math.sinh(Math.PI * (1 - 2 * cy))) * 180) / Math.PI;
  const metresPerPx = span * 40075016.686 * Math.cos((centreLat * Math.PI) / 180);
  const target = metresPerPx * 100;
  const nice = [50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000].find((m) => m >= target / 2) ?? 50000;
  const barPx = nice / metresPerPx;
  svg.append(el("g", { class: "scale" },
    el("rect", { x: 10, y: height - 26, width: barPx + 12, height: 20, fill: "#ffffffcc" }),
    el("line", { x1: 16, y1: height - 12, x2: 16 + barPx, y2: height - 12, stroke: "#000", "stroke-width": 2 }),
    el("text", { x: 18, y: height - 15, class: "label" }, nice >= 1000 ? `${nice / 1000} km` : `${nice} m`)));
  holder.replaceChildren(svg);
  let lit = null;
  return {
    svg,
    highlight(orderId) {
      if (lit) { lit.setAttribute("r", 2.5); lit.classList.remove("lit"); }
      lit = byOrder.get(orderId) ?? null;
      if (lit) { lit.setAttribute("r", 7); lit.classList.add("lit"); lit.parentNode.append(lit); }
    },
    px,
  };
}

// A small form for the tile layer (stored in localStorage; the page redraws on save).
export function settingsForm(onSave) {
  const s = mapSettings();
  const url = el("input", { id: "tiles", type: "url", value: s.tiles, placeholder: "https://…/{z}/{x}/{y}.png" });
  const system = el("select", { id: "tile-system" },
    ...["wgs84", "gcj02", "bd09"].map((v) => el("option", { value: v, selected: v === s.system }, v.toUpperCase())));
  const form = el("details", { class: "settings" }, el("summary", {}, t("settings")),
    el("label", { for: "tiles" }, t("tiles")), url,
    el("label", { for: "tile-system" }, t("tileCoords")), system,
    el("button", { type: "button", onclick: () => {
      localStorage.setItem("map", JSON.stringify({ tiles: url.value.trim(), system: system.value }));
      onSave();
    } }, t("save")));
  return form;
}
