// Batches (方案对比): many what-if variants of the stored week solved in parallel, and their
// comparison table. A grid form (caregivers added at each station 0..N × demand factors),
// the list of batches, and for the batch shown each variant's progress and the table
// (baseline first, every KPI with its difference to the baseline), the table as CSV or Excel,
// and publishing a variant (an ordinary plan).
import { api, el, lang, say, showError, start, t, token } from "./common.js";

// The table's KPI columns: key, label, digits, whether more is better (for the colour of the
// difference) and how the value is shown.
const KPIS = [
  ["caregivers", "caregivers", 0, null],
  ["planned_share", "plannedShare", 1, true, (v) => v * 100],
  ["unassigned", "unassigned", 0, false],
  ["travel_minutes", "travelMinutes", 0, false],
  ["overtime_minutes", "overtimeMinutes", 0, false],
  ["distinct_caregivers_per_request", "perRequest", 2, false],
  ["utilisation_mean", "utilisation", 1, null, (v) => v * 100],
  ["households_outside_15min", "outside15", 0, false],
  ["staff_cost_yuan", "staffCost", 0, null],
];
const ACTIVE = ["draft", "running"];
// A draft variant or batch waits for a worker: shown as queued.
const state = (status) => t(status === "draft" ? "queued" : status);

const who = await start();
if (who) {
  const main = document.getElementById("main");
  const name = el("input", { id: "batch-name", value: "" });
  const most = el("input", { id: "batch-add", type: "number", min: 0, max: 5, value: 1 });
  const factors = el("input", { id: "batch-demand", value: "1.0, 1.2", placeholder: "1.0, 1.2" });
  const limit = el("input", { id: "batch-limit", type: "number", min: 1, max: 3600, value: 10 });
  const solver = el("select", { id: "batch-solver" }, el("option", { value: "ours" }, "ours"), el("option", { value: "greedy" }, "greedy"));
  const listBody = el("tbody");
  const detail = el("div", { id: "batch-detail" });
  let shown = null;
  let timer = null;

  const field = (label, input) => el("div", { class: "field" }, el("label", { for: input.id }, t(label)), input);
  const form = el("form", { class: "row-form", id: "batch-form" }, field("batchName", name), field("addEach", most),
    field("demandFactors", factors), field("timeLimit", limit), field("solver", solver),
    el("button", { type: "submit", id: "start-batch" }, t("startBatch")));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const scale = factors.value.split(/[,\s，]+/).filter(Boolean).map(Number);
    const grid = { add_caregivers: { station: "each", count: `0..${Math.max(0, Number(most.value) || 0)}` } };
    if (scale.length) grid.scale_demand = scale;
    try {
      const batch = await api("/batches", { method: "POST", body: { name: name.value, grid, time_limit: Number(limit.value), solver: solver.value } });
      say(`${t("started")}: #${batch.id} ${batch.name}`, "ok");
      await list();
      await show(batch.id);
    } catch (exc) { showError(exc); }
  });

  async function list() {
    const batches = await api("/batches");
    listBody.replaceChildren(...batches.map((b) => el("tr", { "data-batch": b.id, class: b.id === shown ? "lit" : "" },
      el("td", {}, b.id), el("td", {}, b.name), el("td", { "data-status": b.status }, state(b.status)),
      el("td", {}, new Date(b.created_at).toLocaleString(lang === "en" ? "en-GB" : "zh-CN")), el("td", {}, `${b.parameters.time_limit}s · ${b.parameters.engine?.kind ?? ""}`),
      el("td", {}, el("button", { type: "button", class: "show", onclick: () => show(b.id) }, t("show"))))));
  }

  const fmt = (v, digits) => (v === null || v === undefined ? "–" : Number(v).toFixed(digits));
  const unassigned = (row) => Object.entries(row).filter(([k]) => k.startsWith("unassigned_")).reduce((s, [, v]) => s + (v ?? 0), 0);
  const valueOf = (row, key, view) => {
    if (row.status !== "done") return null;
    const v = key === "unassigned" ? unassigned(row) : row[key];
    return v === null || v === undefined ? null : view ? view(v) : v;
  };

  function table(batch) {
    const rows = batch.rows;
    const base = rows.find((r) => r.variant === "baseline" && r.status === "done") ?? rows.find((r) => r.status === "done");
    const plans = new Map(batch.variants.map((v) => [v.variant, v]));
    const head = el("tr", {}, el("th", {}, t("variant")), el("th", {}, t("status")),
      ...KPIS.map(([, label]) => el("th", { class: "num" }, t(label))), el("th", {}, ""));
    const body = rows.map((row) => {
      const plan = plans.get(row.variant);
      const cells = KPIS.map(([key, , digits, better, view]) => {
        const v = valueOf(row, key, view);
        const b = base && base !== row ? valueOf(base, key, view) : null;
        const cell = el("td", { class: "num", "data-kpi": key }, fmt(v, digits));
        if (v !== null && b !== null) {
          const d = v - b;
          const kind = Math.abs(d) < 1e-9 || better === null ? "same" : (d > 0) === better ? "better" : "worse";
          cell.append(el("span", { class: `diff ${kind}` }, ` ${d >= 0 ? "+" : "−"}${Math.abs(d).toFixed(digits)}`));
        }
        return cell;
      });
      const publish = plan && plan.status === "done" && batch.week_start
        ? el("button", { type: "button", class: "publish", "data-plan": plan.plan_id, onclick: () => publishPlan(plan.plan_id) }, t("publish"))
        : el("span", { class: "hint" }, plan?.status === "published" ? t("published") : "");
      return el("tr", { "data-variant": row.variant, class: row === base ? "baseline" : "" },
        el("td", {}, row.variant), el("td", { title: row.error ?? "" }, state(row.status)), ...cells,
        el("td", {}, plan ? el("span", { class: "hint" }, `#${plan.plan_id} `) : "", publish));
    });
    return el("div", { class: "scroll" }, el("table", { id: "batch-table" }, el("thead", {}, head), el("tbody", {}, ...body)));
  }

  function render(batch) {
    const progress = batch.variants.map((v) => el("li", { "data-variant": v.variant, "data-status": v.status },
      el("span", { class: "variant-name" }, v.variant),
      el("progress", { max: 1, value: ["done", "published"].includes(v.status) ? 1 : v.progress }),
      el("span", { class: "variant-status" }, `${state(v.status)} ${Math.round((["done", "published"].includes(v.status) ? 1 : v.progress) * 100)}%`),
      el("span", { class: "hint" }, v.message ?? "")));
    const running = ACTIVE.includes(batch.status);
    detail.dataset.status = batch.status;
    detail.replaceChildren(
      el("div", { class: "toolbar" }, el("h2", {}, `#${batch.id} ${batch.name}`),
        el("span", { id: "batch-status", "data-status": batch.status }, `${state(batch.status)} ${batch.message ?? ""}`),
        el("span", { class: "spacer" }),
        el("button", { type: "button", id: "cancel-batch", disabled: !running, onclick: () => cancel(batch.id) }, t("cancel")),
        el("button", { type: "button", id: "download-csv", disabled: !batch.rows.length, onclick: () => download(batch.id, "csv") }, t("downloadCsv")),
        el("button", { type: "button", id: "download-xlsx", disabled: !batch.rows.length, onclick: () => download(batch.id, "xlsx") }, t("downloadXlsx"))),
      el("h3", {}, t("variants")),
      el("ul", { id: "batch-variants", class: "variants" }, ...progress),
      el("h3", {}, `${t("comparisonTable")} (${t("diffToBaseline")})`),
      batch.rows.length ? table(batch) : el("p", { class: "hint" }, t("noRowsYet")));
  }

  async function show(id) {
    clearTimeout(timer);
    shown = id;
    try {
      const batch = await api(`/batches/${id}`);
      if (shown !== id) return;
      render(batch);
      for (const tr of listBody.querySelectorAll("tr")) tr.classList.toggle("lit", Number(tr.dataset.batch) === id);
      if (ACTIVE.includes(batch.status)) timer = setTimeout(() => show(id), 700);
      else await list();
    } catch (exc) { showError(exc); }
  }

  async function cancel(id) {
    try {
      await api(`/batches/${id}`, { method: "DELETE" });
      await show(id);
    } catch (exc) { showError(exc); }
  }

  async function publishPlan(planId) {
    try {
      const p = await api(`/plans/${planId}/publish`, { method: "POST" });
      say(`${t("published")}: #${p.id} v${p.version} ${p.name}`, "ok");
      if (shown) await show(shown);
    } catch (exc) { showError(exc); }
  }

  // Fetched with the token and saved from a blob: a plain link cannot carry the header.
  async function download(id, kind) {
    try {
      const response = await fetch(`/api/v1/batches/${id}/comparison.${kind}`, { headers: { Authorization: `Bearer ${token()}` } });
      if (!response.ok) {
        const data = await response.json().catch(() => null);
        throw new Error(data?.error?.message ?? `HTTP ${response.status}`);
      }
      const file = `batch-${id}.${kind}`;
      const url = URL.createObjectURL(await response.blob());
      const link = el("a", { href: url, download: file, hidden: true });
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10000);
      say(`${t("downloaded")}: ${file}`, "ok");
    } catch (exc) { showError(exc); }
  }

  main.append(el("div", { class: "toolbar" }, el("h1", {}, t("batches"))),
    el("section", { class: "card" }, el("h2", {}, t("newBatch")), form, el("p", { class: "hint" }, t("batchHint"))),
    el("section", { class: "card" }, el("h2", {}, t("batchList")),
      el("div", { class: "scroll short" }, el("table", { id: "batches" }, el("thead", {}, el("tr", {},
        ...["id", "batchName", "status", "createdAt", "settingsShort", ""].map((k) => el("th", {}, k ? t(k) : "")))), listBody))),
    el("section", { class: "card" }, detail));
  try {
    await list();
    const first = listBody.querySelector("tr");
    if (first) await show(Number(first.dataset.batch));
    document.body.dataset.ready = "true";
  } catch (exc) { showError(exc); document.body.dataset.ready = "error"; }
}
