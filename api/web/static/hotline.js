// Hotline desk (热线派单): find or enter the caller, ask for options, preview, confirm (409
// re-asks); a caregiver's absence; re-dispatch of refused orders.
import { bd09ToWgs84, gcj02ToWgs84 } from "./coords.js";
import { SERVICES, api, el, hhmm, localMinute, localToday, say, serviceName, showError, start, t } from "./common.js";
import { drawDay, loadDay } from "./day.js";

const who = await start();
if (who) {
  const main = document.getElementById("main");
  const date = el("input", { type: "date", id: "date", value: localToday() });
  const nowInput = el("input", { type: "time", id: "now", value: hhmm(Math.min(localMinute(), 23 * 60)) });
  const query = el("input", { id: "search", type: "search", placeholder: t("searchHint") });
  const found = el("ul", { class: "found", id: "found" });
  const chosen = el("p", { id: "chosen" });
  let household = null;
  const callerName = el("input", { id: "caller-name" });
  const callerPhone = el("input", { id: "caller-phone" });
  const callerAddress = el("input", { id: "caller-address" });
  const callerLat = el("input", { id: "caller-lat", inputmode: "decimal" });
  const callerLon = el("input", { id: "caller-lon", inputmode: "decimal" });
  const system = el("select", { id: "caller-system" }, ...["wgs84", "gcj02", "bd09"].map((v) => el("option", { value: v }, v.toUpperCase())));
  const service = el("select", { id: "service" }, ...Object.keys(SERVICES).map((k) => el("option", { value: k, selected: k === "welfare_visit" }, serviceName(k))));
  const urgency = el("select", { id: "urgency" }, ...["normal", "urgent", "emergency"].map((u) => el("option", { value: u }, t(u))));
  const options = el("div", { id: "options" });
  const mapBox = el("div", { class: "map-box", id: "map" });
  const timelineBox = el("div", { class: "timeline-box", id: "timeline" });
  let day = null;
  let lastCall = null;

  const field = (label, input) => el("div", { class: "field" }, el("label", { for: input.id }, t(label)), input);
  const searchForm = el("form", { class: "row-form" }, field("search", query), el("button", { type: "submit", id: "search-button" }, t("search")));
  searchForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const list = await api(`/lookup/households?q=${encodeURIComponent(query.value)}`);
      found.replaceChildren(...list.map((h) => el("li", {}, el("button", { type: "button", class: "pick", "data-household": h.id, onclick: () => {
        household = h;
        chosen.textContent = `${t("chosen")}: ${h.name} (${h.id}) ${h.address} ${h.phone ?? ""}`;
      } }, [h.name, h.address, h.phone].filter(Boolean).join(" · ")))));
      if (!list.length) found.replaceChildren(el("li", {}, t("none")));
    } catch (exc) { showError(exc); }
  });
  const newCaller = el("details", { id: "new-caller" }, el("summary", {}, t("newCaller")),
    field("name", callerName), field("phoneNo", callerPhone), field("address", callerAddress),
    field("lat", callerLat), field("lon", callerLon), field("coords", system));
  newCaller.addEventListener("toggle", () => { if (newCaller.open) { household = null; chosen.textContent = t("newCaller"); } });
  const askForm = el("form", { class: "row-form", id: "ask-form" }, field("service", service), field("urgency", urgency), field("date", date), field("now", nowInput),
    el("button", { type: "submit", id: "ask" }, t("ask")));
  askForm.addEventListener("submit", (event) => { event.preventDefault(); ask().catch(showError); });

  function callBody() {
    const body = { service: service.value, urgency: urgency.value, date: date.value, now: nowInput.value };
    if (household) body.household = household.id;
    else body.caller = { name: callerName.value || "?", address: callerAddress.value, phone: callerPhone.value || null, lat: Number(callerLat.value), lon: Number(callerLon.value), coord_system: system.value };
    return body;
  }

  function callPosition() {
    if (household) return [household.lat, household.lon];
    const lat = Number(callerLat.value);
    const lon = Number(callerLon.value);
    if (system.value === "gcj02") return gcj02ToWgs84(lat, lon);
    if (system.value === "bd09") return bd09ToWgs84(lat, lon);
    return [lat, lon];
  }

  async function redraw(preview = null) {
    day = day && day.date === date.value ? day : await loadDay(date.value);
    drawDay(mapBox, timelineBox, day, { preview, only: preview ? [preview.caregiver] : null });
    document.body.dataset.ready = "true";
  }

  async function ask() {
    lastCall = callBody();
    const answer = await api("/work-orders", { method: "POST", body: lastCall });
    showOptions(answer);
  }

  function showOptions(answer, confirmPath = `/work-orders/${answer.work_order}/confirm`) {
    const [lat, lon] = answer.household ? callPosition() : [0, 0];
    const list = answer.options.map((o) => {
      const preview = { caregiver: o.caregiver, position: o.position, order: { start: o.start, end: o.end, lat, lon }, moved: o.moved };
      return el("li", { class: "option", "data-option": o.option },
        el("strong", {}, `${o.caregiver} ${o.caregiver_name}`),
        ` ${t("eta")} ${o.eta} · ${o.start}–${o.end} · ${t("addedTravel")} ${o.added_travel} · ${t("moved")} ${o.moved.length}`,
        el("button", { type: "button", class: "preview", onclick: () => redraw(preview).catch(showError) }, t("preview")),
        el("button", { type: "button", class: "confirm", onclick: () => confirm(confirmPath, o) }, t("confirm")));
    });
    options.replaceChildren(el("h2", {}, `${t("options")} · #${answer.work_order ?? ""}`),
      answer.message ? el("p", {}, answer.message) : "", el("ol", {}, ...list));
  }

  async function confirm(path, option) {
    try {
      const done = await api(path, { method: "POST", body: { caregiver: option.caregiver, option: option.option } });
      say(`${t("confirmed")}: #${done.work_order.id} → ${done.work_order.caregiver} ${done.work_order.start} (v${done.plan_version})`, "ok");
      options.replaceChildren(el("p", { id: "confirmed" }, `${t("confirmed")} #${done.work_order.id}`));
      day = null;
      await redraw();
      loadRefused().catch(showError);
    } catch (exc) {
      if (exc.status === 409 && lastCall && path.endsWith("/confirm") && !path.includes("redispatch")) {
        say(t("changed"), "warn");
        day = null;
        await ask();
      } else if (exc.status === 409) {
        say(t("changed"), "warn");
        loadRefused().catch(showError);
      } else {
        showError(exc);
      }
    }
  }

  // Absence
  const absentId = el("input", { id: "absent-id", placeholder: "C001" });
  const absentNow = el("input", { id: "absent-now", type: "time", value: nowInput.value });
  const absenceResult = el("div", { id: "absence-result" });
  const absenceForm = el("form", { class: "row-form" }, field("caregiver", absentId), field("now", absentNow), el("button", { type: "submit", id: "absent" }, t("absent")));
  absenceForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const r = await api(`/caregivers/${encodeURIComponent(absentId.value)}/absence`, { method: "POST", body: { date: date.value, now: absentNow.value } });
      absenceResult.replaceChildren(el("p", {}, `${t("reassigned")}: ${r.reassigned.length} · ${t("notKept")}: ${r.not_kept.length} · v${r.plan_version}`));
      day = null;
      await redraw();
    } catch (exc) { showError(exc); }
  });

  // Refused orders
  const refusedList = el("ul", { id: "refused-list" });
  async function loadRefused() {
    const page = await api(`/work-orders?date=${date.value}&status=refused&limit=50`);
    refusedList.replaceChildren(...page.items.map((o) => el("li", {}, `#${o.id} ${o.caregiver ?? ""} ${o.start ?? ""} ${serviceName(o.service)} ${o.household.name} (${o.refuse_reason}) `,
      el("button", { type: "button", onclick: async () => {
        try {
          lastCall = null;
          const r = await api(`/work-orders/${o.id}/redispatch`, { method: "POST", body: { now: nowInput.value } });
          household = o.household;
          showOptions({ ...r, work_order: o.id, household: o.household.id }, `/work-orders/${o.id}/redispatch/confirm`);
        } catch (exc) { showError(exc); }
      } }, t("redispatchBtn")))));
    if (!page.items.length) refusedList.replaceChildren(el("li", {}, t("none")));
  }

  main.append(el("div", { class: "toolbar" }, el("h1", {}, t("hotline"))),
    el("div", { class: "grid" },
      el("section", { class: "card" }, el("h2", {}, t("household")), searchForm, found, chosen, newCaller, askForm, options),
      el("section", { class: "card" }, el("h2", {}, t("map")), mapBox)),
    el("section", { class: "card" }, el("h2", {}, t("timeline")), timelineBox),
    el("div", { class: "grid" },
      el("section", { class: "card" }, el("h2", {}, t("absence")), absenceForm, absenceResult),
      el("section", { class: "card" }, el("h2", {}, t("redispatch")), refusedList)));
  date.addEventListener("change", () => { day = null; redraw().catch(showError); loadRefused().catch(showError); });
  try {
    await redraw();
    await loadRefused();
  } catch (exc) { showError(exc); }
}
