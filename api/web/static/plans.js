// Planner's workbench (规划工作台): plans and versions, a job or what-if with live progress
// and cancel, two plans compared side by side (KPIs, per station, two maps), publish; the
// visiting ledger (探访台账: 月探访率, misses, households, the map by status) and the month's
// settlement (结算) with its Excel workbook.
import { api, el, localToday, say, showError, start, t, token } from "./common.js";
import { colourOf, drawMap, settingsForm } from "./map.js";

const who = await start();
if (who) {
  const main = document.getElementById("main");
  const tableBody = el("tbody");
  const selectA = el("select", { id: "compare-a", "aria-label": "A" });
  const selectB = el("select", { id: "compare-b", "aria-label": "B" });
  const comparison = el("div", { id: "comparison" });
  const bar = el("progress", { id: "job-progress", max: 1, value: 0 });
  const barText = el("span", { id: "job-status" });
  const cancel = el("button", { type: "button", id: "cancel-job", disabled: true }, t("cancel"));
  const name = el("input", { id: "job-name", value: "" });
  const solver = el("select", { id: "job-solver" }, el("option", { value: "greedy" }, "greedy"), el("option", { value: "ours" }, "ours"));
  const limit = el("input", { id: "job-limit", type: "number", min: 1, max: 3600, value: 10 });
  const scale = el("input", { id: "job-scale", type: "number", step: "0.1", min: "0.1", value: "1" });
  const add = el("input", { id: "job-add", placeholder: "S01:2" });
  const remove = el("input", { id: "job-remove", placeholder: "C001,C002" });
  const circleBox = el("div", { id: "circle" });
  let master = null;
  let running = null;

  const field = (label, input) => el("div", { class: "field" }, el("label", { for: input.id }, t(label)), input);
  const form = el("form", { class: "row-form", id: "job-form" }, field("name", name), field("solver", solver), field("timeLimit", limit),
    field("scaleDemand", scale), field("addCaregivers", add), field("removeCaregivers", remove),
    el("button", { type: "submit", id: "start-job" }, t("startJob")));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const modifications = {};
    if (Number(scale.value) !== 1) modifications.scale_demand = Number(scale.value);
    if (add.value.trim()) {
      modifications.add_caregivers = add.value.split(",").map((part) => {
        const [station, count] = part.trim().split(":");
        const template = master?.caregivers.find((c) => c.station === station)?.id;
        return { station, count: Number(count || 1), template };
      });
    }
    if (remove.value.trim()) modifications.remove_caregivers = remove.value.split(",").map((s) => s.trim());
    try {
      const job = await api("/plans", { method: "POST", body: { name: name.value, solver: solver.value, time_limit: Number(limit.value), modifications } });
      running = job.id;
      cancel.disabled = false;
      poll();
      await list();
    } catch (exc) { showError(exc); }
  });
  cancel.addEventListener("click", async () => {
    if (running) await api(`/plans/${running}`, { method: "DELETE" }).catch(showError);
  });

  async function poll() {
    if (!running) return;
    try {
      const job = await api(`/plans/${running}`);
      bar.value = job.status === "done" || job.status === "published" ? 1 : job.progress;
      barText.textContent = `#${job.id} ${t(job.status)} ${Math.round(bar.value * 100)}% ${job.message ?? ""}`;
      barText.dataset.status = job.status;
      if (["running", "queued", "draft"].includes(job.status)) {
        setTimeout(poll, 500);
      } else {
        running = null;
        cancel.disabled = true;
        await list();
      }
    } catch (exc) { showError(exc); }
  }

  async function list() {
    const plans = await api("/plans");
    tableBody.replaceChildren(...plans.map((p) => el("tr", { "data-plan": p.id },
      el("td", {}, p.id), el("td", {}, p.version), el("td", {}, p.name), el("td", {}, t(p.status)), el("td", {}, p.week_start ?? ""),
      el("td", {}, el("progress", { max: 1, value: p.progress })),
      el("td", {}, p.kpis?.travel_minutes ?? ""), el("td", {}, p.kpis?.planned_visits ?? ""),
      el("td", {}, p.status === "done" ? el("button", { type: "button", class: "publish", "data-plan": p.id, onclick: () => publish(p.id) }, t("publish")) : ""))));
    const usable = plans.filter((p) => ["done", "published"].includes(p.status));
    const fill = (select, pick) => {
      const old = select.value;
      select.replaceChildren(...usable.map((p) => el("option", { value: p.id }, `#${p.id} v${p.version} ${p.name} (${t(p.status)})`)));
      select.value = old && usable.some((p) => String(p.id) === old) ? old : String(pick?.id ?? "");
    };
    fill(selectA, usable.find((p) => p.status === "published") ?? usable[0]);
    fill(selectB, usable[0]);
  }

  async function publish(id) {
    try {
      const p = await api(`/plans/${id}/publish`, { method: "POST" });
      say(`${t("published")}: #${p.id} v${p.version}`, "ok");
      await list();
    } catch (exc) { showError(exc); }
  }

  function perStation(doc) {
    const station = new Map(master.caregivers.map((c) => [c.id, c.station]));
    const counts = new Map();
    for (const r of doc?.routes ?? []) {
      const s = station.get(r.caregiver) ?? "?";
      counts.set(s, (counts.get(s) ?? 0) + r.stops.length);
    }
    return counts;
  }

  function planMap(holder, doc) {
    const homes = new Map(master.households.map((h) => [h.id, h]));
    const stations = new Map(master.stations.map((s) => [s.id, s]));
    const caregivers = new Map(master.caregivers.map((c) => [c.id, c]));
    const ids = [...new Set((doc?.routes ?? []).map((r) => r.caregiver))].sort();
    const routes = [];
    const firstDay = doc?.routes?.[0]?.date ?? doc?.routes?.[0]?.day;
    for (const r of doc?.routes ?? []) {
      if ((r.date ?? r.day) !== firstDay) continue;
      const s = stations.get(caregivers.get(r.caregiver)?.station);
      const pts = r.stops.map((x) => homes.get(x.household)).filter(Boolean).map((h) => [h.lat, h.lon]);
      if (s) { pts.unshift([s.lat, s.lon]); pts.push([s.lat, s.lon]); }
      routes.push({ id: r.caregiver, colour: colourOf(ids.indexOf(r.caregiver)), points: pts });
    }
    drawMap(holder, { stations: [...stations.values()], households: master.households, routes }, { width: 480, height: 360 });
  }

  async function compare() {
    try {
      const [c, a, b] = await Promise.all([
        api(`/plans/compare?a=${selectA.value}&b=${selectB.value}`),
        api(`/plans/${selectA.value}`), api(`/plans/${selectB.value}`)]);
      const fmt = (v) => (v === null || v === undefined ? "–" : Number.isInteger(v) ? v : v.toFixed(3));
      const sa = perStation(a.document);
      const sb = perStation(b.document);
      const stations = [...new Set([...sa.keys(), ...sb.keys()])].sort();
      const mapA = el("div", { class: "map-box" });
      const mapB = el("div", { class: "map-box" });
      comparison.replaceChildren(
        el("table", { id: "kpis" }, el("thead", {}, el("tr", {}, el("th", {}, t("kpi")), el("th", {}, `A #${c.a.id}`), el("th", {}, `B #${c.b.id}`), el("th", {}, t("difference")))),
          el("tbody", {}, ...c.kpis.map((k) => el("tr", { class: k.difference ? "changed" : "" }, el("td", {}, k.name), el("td", {}, fmt(k.a)), el("td", {}, fmt(k.b)), el("td", {}, fmt(k.difference)))))),
        el("h3", {}, `${t("perStation")} (${t("visits")})`),
        el("table", { id: "stations" }, el("thead", {}, el("tr", {}, el("th", {}, t("station")), el("th", {}, "A"), el("th", {}, "B"), el("th", {}, t("difference")))),
          el("tbody", {}, ...stations.map((s) => el("tr", {}, el("td", {}, s), el("td", {}, sa.get(s) ?? 0), el("td", {}, sb.get(s) ?? 0), el("td", {}, (sb.get(s) ?? 0) - (sa.get(s) ?? 0)))))),
        el("div", { class: "grid two" }, el("div", {}, el("h3", {}, `A #${c.a.id}`), mapA), el("div", {}, el("h3", {}, `B #${c.b.id}`), mapB)));
      planMap(mapA, a.document);
      planMap(mapB, b.document);
    } catch (exc) { showError(exc); }
  }

  async function showCircle() {
    try {
      const c = await api(`/circle?date=${localToday()}`);
      const outside = new Set(c.outside.map((o) => o.id));
      const mapBox = el("div", { class: "map-box" });
      const share = (v) => `${(v.share * 100).toFixed(1)}% (${v.inside}/${v.households})`;
      circleBox.replaceChildren(
        el("p", { id: "circle-district" }, `${c.minutes} min · ${share(c.district)}`),
        el("table", {}, el("tbody", {}, ...c.stations.map((s) => el("tr", {}, el("td", {}, s.area), el("td", {}, share(s)))))),
        mapBox);
      drawMap(mapBox, {
        stations: master.stations,
        households: master.households.map((h) => ({ ...h, colour: outside.has(h.id) ? "#d62728" : "#2ca02c" })),
        routes: [],
      }, { width: 480, height: 360 });
    } catch (exc) { showError(exc); }
  }


  // The visiting ledger: the month's rate per district, street and station, the misses with
  // their reasons, the households (sortable by overdue days, filtered by class) and the map.
  const ledgerOn = el("input", { id: "ledger-on", type: "date", value: localToday() });
  const ledgerMonth = el("input", { id: "ledger-month", type: "month", value: localToday().slice(0, 7) });
  const ledgerClass = el("select", { id: "ledger-class" }, el("option", { value: "" }, t("all")));
  const ledgerBox = el("div", { id: "ledger" });
  const ledgerRows = el("tbody");
  const sortButton = el("button", { type: "button", id: "ledger-sort", class: "sort", "aria-pressed": "true" });
  let ledgerData = null;
  let overdueFirst = true;
  const STATUS_COLOURS = { onTime: "#2ca02c", overdue: "#ff7f0e", missed: "#d62728" };
  const percent = (r) => `${(r.rate * 100).toFixed(1)}%`;
  const ratio = (r) => `${r.met}/${r.households}`;

  function ledgerStatus(row, missed) {
    if (missed.has(row.household)) return "missed";
    return row.overdue_days > 0 ? "overdue" : "onTime";
  }

  function drawLedgerRows() {
    if (!ledgerData) return;
    const missed = new Set(ledgerData.month_rate.misses.map((m) => m.household));
    const rows = ledgerData.households.filter((h) => !ledgerClass.value || h.class === ledgerClass.value);
    rows.sort((a, b) => (overdueFirst ? b.overdue_days - a.overdue_days : a.overdue_days - b.overdue_days) || a.household.localeCompare(b.household));
    sortButton.textContent = `${t("overdueDays")} ${overdueFirst ? "▼" : "▲"}`;
    sortButton.setAttribute("aria-pressed", String(overdueFirst));
    ledgerRows.replaceChildren(...rows.map((h) => {
      const status = ledgerStatus(h, missed);
      return el("tr", { "data-household": h.household, "data-status": status, class: h.overdue_days > 0 ? "overdue" : "" },
        el("td", {}, h.household), el("td", {}, h.name), el("td", {}, h.class_name || h.class),
        el("td", {}, h.last_visit ?? "–"), el("td", {}, h.by ?? "–"), el("td", {}, h.next_due),
        el("td", { class: "num" }, h.overdue_days), el("td", {}, el("span", { class: `key key-${status}` }, t(status))));
    }));
  }

  async function showLedger() {
    try {
      const query = new URLSearchParams({ on: ledgerOn.value || localToday() });
      if (ledgerMonth.value) query.set("month", ledgerMonth.value);
      const data = await api(`/visits?${query}`);
      ledgerData = data;
      const rate = data.month_rate;
      const classes = new Map(data.households.map((h) => [h.class, h.class_name || h.class]));
      const picked = ledgerClass.value;
      ledgerClass.replaceChildren(el("option", { value: "" }, t("all")),
        ...[...classes].sort().map(([id, label]) => el("option", { value: id }, label)));
      ledgerClass.value = classes.has(picked) ? picked : "";
      const group = (kind, entries) => entries.map(([k, r]) => el("tr", { "data-level": kind },
        el("td", {}, t(kind)), el("td", {}, k), el("td", { class: "num" }, percent(r)), el("td", { class: "num" }, ratio(r))));
      const mapBox = el("div", { class: "map-box", id: "ledger-map" });
      ledgerBox.replaceChildren(
        el("p", { id: "ledger-district", class: "headline" }, `${t("monthRate")} ${rate.month} · ${t("district")} ${percent(rate.district)} (${ratio(rate.district)})`),
        el("div", { class: "grid two" },
          el("div", {},
            el("table", { id: "ledger-rates" }, el("thead", {}, el("tr", {}, el("th", {}, t("level")), el("th", {}, t("groupName")), el("th", { class: "num" }, t("share")), el("th", { class: "num" }, t("met")))),
              el("tbody", {}, ...group("district", [["–", rate.district]]), ...group("street", Object.entries(rate.streets)), ...group("station", Object.entries(rate.stations)))),
            el("h3", {}, `${t("misses")} (${rate.misses.length})`),
            rate.misses.length
              ? el("ul", { id: "ledger-misses", class: "misses" }, ...rate.misses.map((m) => el("li", { "data-household": m.household },
                el("strong", {}, m.household), ` ${m.period[0]}–${m.period[1]}: `, m.text)))
              : el("p", { id: "ledger-misses", class: "hint" }, t("none"))),
          el("div", {},
            el("div", { class: "legend" }, ...["onTime", "overdue", "missed"].map((k) => el("span", { class: `key key-${k}` }, t(k))),
              el("span", { class: "key key-outside" }, t("notInProgramme"))),
            mapBox)),
        el("h3", {}, t("households")),
        el("div", { class: "row-form" }, el("div", { class: "field" }, el("label", { for: "ledger-class" }, `${t("filter")}: ${t("klass")}`), ledgerClass)),
        el("div", { class: "scroll" }, el("table", { id: "ledger-households" },
          el("thead", {}, el("tr", {}, ...["id", "name", "klass", "lastVisit", "by", "nextDue"].map((k) => el("th", {}, t(k))),
            el("th", { class: "num", "aria-sort": overdueFirst ? "descending" : "ascending" }, sortButton), el("th", {}, t("status")))),
          ledgerRows)));
      drawLedgerRows();
      const missed = new Set(rate.misses.map((m) => m.household));
      const status = new Map(data.households.map((h) => [h.household, ledgerStatus(h, missed)]));
      drawMap(mapBox, {
        stations: master.stations,
        households: master.households.map((h) => ({ ...h, colour: STATUS_COLOURS[status.get(h.id)] ?? "#b0b7bf" })),
        routes: [],
      }, { width: 480, height: 360 });
      ledgerBox.dataset.ready = "true";
    } catch (exc) { showError(exc); }
  }
  ledgerClass.addEventListener("change", drawLedgerRows);
  sortButton.addEventListener("click", () => {
    overdueFirst = !overdueFirst;
    sortButton.closest("th")?.setAttribute("aria-sort", overdueFirst ? "descending" : "ascending");
    drawLedgerRows();
  });

  // The month's settlement: totals and per station in yuan, and the workbook (fetched with the
  // token and saved from a blob: a plain link cannot carry the Authorization header).
  const settleMonth = el("input", { id: "settle-month", type: "month", value: localToday().slice(0, 7) });
  const settleBox = el("div", { id: "settlement" });
  const yuan = (fen) => (fen / 100).toFixed(2);
  const MONEY = ["planned", "subsidy", "family", "payable", "withheld"];

  async function showSettlement() {
    try {
      const s = await api(`/settlement?month=${encodeURIComponent(settleMonth.value)}`);
      const cells = (x) => MONEY.map((k) => el("td", { class: "num" }, yuan(x[`${k}_fen`])));
      settleBox.replaceChildren(
        el("dl", { id: "settle-totals", class: "totals" }, ...MONEY.flatMap((k) => [el("dt", {}, `${t(k)} (${t("yuan")})`), el("dd", { "data-total": k }, yuan(s.totals[`${k}_fen`]))]),
          el("dt", {}, t("lines")), el("dd", { "data-total": "lines" }, s.totals.lines)),
        el("div", { class: "scroll" }, el("table", { id: "settle-stations" },
          el("thead", {}, el("tr", {}, el("th", {}, t("station")), el("th", { class: "num" }, t("lines")), ...MONEY.map((k) => el("th", { class: "num" }, `${t(k)} (${t("yuan")})`)))),
          el("tbody", {}, ...s.stations.map((x) => el("tr", { "data-station": x.key }, el("td", {}, x.key), el("td", { class: "num" }, x.lines), ...cells(x)))),
          el("tfoot", {}, el("tr", {}, el("th", {}, t("totals")), el("th", { class: "num" }, s.totals.lines), ...cells(s.totals))))));
      settleBox.dataset.ready = "true";
    } catch (exc) { showError(exc); }
  }

  async function downloadWorkbook() {
    try {
      const month = settleMonth.value;
      const response = await fetch(`/api/v1/settlement.xlsx?month=${encodeURIComponent(month)}`, { headers: { Authorization: `Bearer ${token()}` } });
      if (!response.ok) {
        const data = await response.json().catch(() => null);
        throw new Error(data?.error?.message ?? `HTTP ${response.status}`);
      }
      const url = URL.createObjectURL(await response.blob());
      const link = el("a", { href: url, download: `settlement-${month}.xlsx`, hidden: true });
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10000);
      say(`${t("downloaded")}: settlement-${month}.xlsx`, "ok");
    } catch (exc) { showError(exc); }
  }

  main.append(el("div", { class: "toolbar" }, el("h1", {}, t("plans")), settingsForm(() => compare())),
    el("section", { class: "card" }, el("h2", {}, t("plansList")),
      el("table", { id: "plans" }, el("thead", {}, el("tr", {}, ...["id", "version", "name", "status", "week", "progress", "travel", "visits", ""].map((k) => el("th", {}, k ? t(k) : "")))), tableBody)),
    el("section", { class: "card" }, el("h2", {}, t("newJob")), form, el("div", { class: "job" }, bar, barText, cancel)),
    el("section", { class: "card" }, el("h2", {}, t("compare")), el("div", { class: "row-form" }, selectA, selectB,
      el("button", { type: "button", id: "compare", onclick: compare }, t("compare"))), comparison),
    el("section", { class: "card" }, el("h2", {}, t("circle")), el("button", { type: "button", id: "show-circle", onclick: showCircle }, t("showCircle")), circleBox),
    el("section", { class: "card", id: "ledger-card" }, el("h2", {}, t("ledger")),
      el("form", { class: "row-form", id: "ledger-form", onsubmit: (event) => { event.preventDefault(); showLedger(); } },
        el("div", { class: "field" }, el("label", { for: "ledger-on" }, t("date")), ledgerOn),
        el("div", { class: "field" }, el("label", { for: "ledger-month" }, t("month")), ledgerMonth),
        el("button", { type: "submit", id: "show-ledger" }, t("show"))), ledgerBox),
    el("section", { class: "card", id: "settlement-card" }, el("h2", {}, t("settlement")),
      el("form", { class: "row-form", id: "settle-form", onsubmit: (event) => { event.preventDefault(); showSettlement(); } },
        el("div", { class: "field" }, el("label", { for: "settle-month" }, t("month")), settleMonth),
        el("button", { type: "submit", id: "show-settlement" }, t("show")),
        el("button", { type: "button", id: "download-settlement", onclick: downloadWorkbook }, t("download"))), settleBox));
  try {
    master = await api(`/console/places?on=${localToday()}`);
    await Promise.all([list(), showLedger(), showSettlement()]);
    document.body.dataset.ready = "true";
  } catch (exc) { showError(exc); document.body.dataset.ready = "error"; }
}
