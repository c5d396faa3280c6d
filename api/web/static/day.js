// The day of the published plan: the master data (stations, households), every caregiver's
// work orders in visiting order and the plan's leave/back/rest times; drawn on map + timeline.
import { api, localMinute, localToday } from "./common.js";
import { colourOf, drawMap } from "./map.js";
import { drawTimeline } from "./timeline.js";

const DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

export async function loadDay(date) {
  const [master, routes, inForce] = await Promise.all([
    api(`/console/places?on=${date}`),
    api(`/routes?date=${date}`),
    api(`/plans/in-force?from=${date}`).catch(() => []),
  ]);
  let planRoutes = [];
  if (inForce.length) {
    const plan = await api(`/plans/${inForce[0].plan_id}`);
    const code = DAYS[(new Date(`${date}T12:00:00Z`).getUTCDay() + 6) % 7];
    planRoutes = (plan.document?.routes ?? []).filter((r) => (r.date ? r.date === date : r.day === code));
  }
  return { date, master, routes, planRoutes };
}

// Draw the day; `preview` = {caregiver, order: {start, end, lat, lon}, moved: [{work_order, start_after}]}.
export function drawDay(mapHolder, timelineHolder, day, { onSelect = () => {}, preview = null, only = null } = {}) {
  const stations = new Map(day.master.stations.map((s) => [s.id, s]));
  const caregivers = new Map(day.master.caregivers.map((c) => [c.id, c]));
  const planned = new Map(day.planRoutes.map((r) => [r.caregiver, r]));
  const ids = [...new Set([...Object.keys(day.routes), ...planned.keys()])].sort();
  const households = [];
  const routes = [];
  const rows = [];
  const shownIds = only ? ids.filter((id) => only.includes(id)) : ids;
  for (const id of ids) {
    const orders = (day.routes[id] ?? []).filter((o) => o.status !== "cancelled");
    const colour = colourOf(ids.indexOf(id));
    const home = stations.get(caregivers.get(id)?.station);
    const points = [];
    if (home) points.push([home.lat, home.lon]);
    for (const o of orders) {
      points.push([o.household.lat, o.household.lon]);
      households.push({ id: o.household.id, lat: o.household.lat, lon: o.household.lon, colour, order: o.id });
    }
    if (home) points.push([home.lat, home.lon]);
    if (points.length > 2) routes.push({ id, colour, points });
    if (!shownIds.includes(id)) continue;
    const plan = planned.get(id);
    let rowOrders = orders.map((o) => ({ id: o.id, arrival: o.arrival, start: o.start, end: o.end, late: o.late }));
    if (preview && preview.caregiver === id) {
      const moved = new Map(preview.moved.map((m) => [m.work_order, m.delay]));
      rowOrders = rowOrders.map((o) => (moved.has(o.id) ? { ...o, arrival: shift(o.arrival, moved.get(o.id)), start: shift(o.start, moved.get(o.id)), end: shift(o.end, moved.get(o.id)) } : o));
      rowOrders.push({ id: "preview", start: preview.order.start, end: preview.order.end, preview: true });
    }
    rows.push({
      id,
      label: `${id} ${caregivers.get(id)?.name ?? ""}`,
      leave: plan?.leave ?? null,
      back: plan?.back ?? null,
      rest: plan?.break ? [plan.break.start, plan.break.end] : null,
      orders: rowOrders,
    });
  }
  const known = new Set(households.map((h) => h.id));
  for (const h of day.master.households) {
    if (!known.has(h.id)) households.push({ id: h.id, lat: h.lat, lon: h.lon, colour: "#aaa" });
  }
  const marks = [];
  let focus = null;
  if (preview) {
    marks.push({ lat: preview.order.lat, lon: preview.order.lon, colour: "#ff7f0e" });
    for (const r of routes) if (r.id !== preview.caregiver) r.colour = "#d0d4da";
    const at = routes.findIndex((r) => r.id === preview.caregiver);
    if (at >= 0) {
      const [route] = routes.splice(at, 1);
      routes.push(route);
      const points = route.points.slice();
      points.splice(Math.min(points.length - 1, (preview.position ?? points.length) + 1), 0, [preview.order.lat, preview.order.lon]);
      routes.push({ id: "preview", colour: "#ff7f0e", points, dashed: true });
      focus = points;
    }
  }
  const map = drawMap(mapHolder, { stations: [...stations.values()], households, routes, marks, focus });
  const now = day.date === localToday() ? localMinute() : null;
  const timeline = drawTimeline(timelineHolder, rows, { now, onSelect });
  return { map, timeline };
}

function shift(value, delay) {
  if (!value) return value;
  const [h, m] = value.split(":").map(Number);
  const total = h * 60 + m + delay;
  return `${String(Math.floor(total / 60)).padStart(2, "0")}:${String(total % 60).padStart(2, "0")}`;
}
