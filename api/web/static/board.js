// Day board (调度看板): date picker, map, timeline, queue with filters, details of a visit.
import { api, el, localToday, say, serviceName, showError, start, t } from "./common.js";
import { drawDay, loadDay } from "./day.js";
import { settingsForm } from "./map.js";

const who = await start();
if (who) {
  const main = document.getElementById("main");
  const dateInput = el("input", { type: "date", id: "date", value: new URLSearchParams(location.search).get("date") ?? localToday() });
  const mapBox = el("div", { class: "map-box", id: "map" });
  const timelineBox = el("div", { class: "timeline-box", id: "timeline" });
  const details = el("section", { class: "card details", id: "details", "aria-live": "polite" }, el("h2", {}, t("details")));
  const filter = el("select", { id: "queue-filter", "aria-label": t("filter") },
    ...["all", "open", "late", "refused", "flagged"].map((f) => el("option", { value: f }, t(f))));
  const queueBody = el("tbody");
  const queue = el("section", { class: "card queue" }, el("h2", {}, t("queue")), filter,
    el("table", { id: "queue" }, el("thead", {}, el("tr", {}, ...["id", "caregiver", "start", "service", "household", "status"].map((k) => el("th", {}, t(k))))), queueBody));
  main.append(
    el("div", { class: "toolbar" }, el("h1", {}, t("board")), el("label", { for: "date" }, t("date")), dateInput, settingsForm(() => load())),
    el("div", { class: "grid" }, el("section", { class: "card" }, el("h2", {}, t("map")), mapBox), details),
    el("section", { class: "card" }, el("h2", {}, t("timeline")), timelineBox),
    queue,
  );
  let drawn = null;
  let day = null;

  async function select(id) {
    drawn?.map.highlight(id);
    drawn?.timeline.highlight(id);
    for (const row of queueBody.children) row.classList.toggle("lit", row.dataset.order === String(id));
    try {
      const o = await api(`/work-orders/${id}`);
      const h = o.household;
      const history = [
        `${t("status")}: ${t(o.status)}`,
        o.checked_in_at && `${t("checkIn")}: ${new Date(o.checked_in_at).toLocaleString()}`,
        o.checked_out_at && `${t("checkOut")}: ${new Date(o.checked_out_at).toLocaleString()}`,
        o.refuse_reason && `${t("reason")}: ${o.refuse_reason}`,
        o.replaces && `← #${o.replaces}`,
        o.flags.length && `${t("flagged")}: ${o.flags.join(", ")}`,
        o.late && t("late"),
      ].filter(Boolean);
      details.replaceChildren(el("h2", {}, `${t("details")} #${o.id}`),
        el("dl", {},
          el("dt", {}, t("household")), el("dd", { id: "detail-household" }, `${h.name} (${h.id})`),
          el("dt", {}, t("address")), el("dd", {}, h.address),
          el("dt", {}, t("window")), el("dd", {}, o.window ? `${o.window.from}–${o.window.to}` : "–"),
          el("dt", {}, t("service")), el("dd", {}, `${serviceName(o.service)} ${o.start ?? ""}–${o.end ?? ""}`),
          el("dt", {}, t("caregiver")), el("dd", {}, o.caregiver ?? "–"),
          el("dt", {}, t("notes")), el("dd", {}, o.notes || h.notes || "–")),
        el("h3", {}, t("history")), el("ul", {}, ...history.map((line) => el("li", {}, line))));
    } catch (exc) {
      showError(exc);
    }
  }

  async function loadQueue() {
    const f = filter.value;
    const query = new URLSearchParams({ date: dateInput.value, limit: "200" });
    if (f === "open") query.set("status", "created,dispatched,accepted");
    if (f === "refused") query.set("status", "refused");
    if (f === "late") query.set("late", "true");
    if (f === "flagged") query.set("flagged", "true");
    const page = await api(`/work-orders?${query}`);
    queueBody.replaceChildren(...page.items.map((o) => {
      const row = el("tr", { tabindex: 0, "data-order": o.id, class: o.late ? "late" : "" },
        el("td", {}, o.id), el("td", {}, o.caregiver ?? "–"), el("td", {}, o.start ?? "–"),
        el("td", {}, serviceName(o.service)), el("td", {}, o.household.name), el("td", {}, t(o.status)));
      row.addEventListener("click", () => select(o.id));
      row.addEventListener("keydown", (event) => { if (event.key === "Enter") select(o.id); });
      return row;
    }));
  }

  async function load() {
    delete document.body.dataset.ready;
    say(t("loading"));
    try {
      day = await loadDay(dateInput.value);
      drawn = drawDay(mapBox, timelineBox, day, { onSelect: select });
      if (!Object.keys(day.routes).length) say(t("noPlan")); else say("");
      document.body.dataset.ready = "true";
      await loadQueue();
    } catch (exc) {
      showError(exc);
      document.body.dataset.ready = "error";
    }
  }
  dateInput.addEventListener("change", load);
  filter.addEventListener("change", () => loadQueue().catch(showError));
  await load();
}
