// Caregiver's phone page (护理员): today's visits in order; accept or refuse; check in and
// out with the phone's position, retried safely (the same key for every retry of one check).
import { api, el, localToday, say, serviceName, showError, start, t } from "./common.js";

const who = await start();
if (who) {
  const main = document.getElementById("main");
  const list = el("ol", { class: "visits", id: "visits" });
  main.append(el("h1", {}, `${t("today")} · ${localToday()}`), list);
  const caregiver = who.caregiver_id ?? new URLSearchParams(location.search).get("caregiver");

  function position() {
    return new Promise((resolve, reject) => {
      if (!navigator.geolocation) { reject(new Error("no geolocation")); return; }
      navigator.geolocation.getCurrentPosition((p) => resolve(p.coords), reject, { enableHighAccuracy: true, timeout: 15000 });
    });
  }

  function keyOf(order, kind) {
    const name = `check:${order}:${kind}`;
    let key = localStorage.getItem(name);
    if (!key) {
      key = `${caregiver}-${order}-${kind}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
      localStorage.setItem(name, key);
    }
    return key;
  }

  async function check(order, kind) {
    let coords;
    try { coords = await position(); } catch (exc) { showError(exc); return; }
    const body = { lat: coords.latitude, lon: coords.longitude, coord_system: "wgs84", time: new Date().toISOString(), idempotency_key: keyOf(order.id, kind) };
    for (let attempt = 0; attempt < 4; attempt += 1) {
      try {
        await api(`/work-orders/${order.id}/${kind}`, { method: "POST", body });
        say(`${t(kind === "check-in" ? "checkIn" : "checkOut")} ✓ #${order.id}`, "ok");
        await load();
        return;
      } catch (exc) {
        if (exc.status && exc.status < 500) { showError(exc); return; }
        say(t("retrying"), "warn");
        await new Promise((r) => setTimeout(r, 1000 * (attempt + 1)));
      }
    }
  }

  async function act(order, action, body) {
    try {
      await api(`/work-orders/${order.id}/${action}`, { method: "POST", body });
      await load();
    } catch (exc) { showError(exc); }
  }

  function card(o) {
    const h = o.household;
    const buttons = [];
    if (["created", "dispatched"].includes(o.status)) {
      const reason = el("input", { class: "reason", "aria-label": t("reason"), placeholder: t("reason") });
      buttons.push(el("button", { type: "button", class: "accept", onclick: () => act(o, "accept") }, t("accept")));
      buttons.push(el("span", { class: "refuse-box" }, reason, el("button", { type: "button", class: "refuse", onclick: () => act(o, "refuse", { reason: reason.value || "-" }) }, t("refuse"))));
    }
    if (o.status === "accepted") buttons.push(el("button", { type: "button", class: "check-in", onclick: () => check(o, "check-in") }, t("checkIn")));
    if (o.status === "checked_in") buttons.push(el("button", { type: "button", class: "check-out", onclick: () => check(o, "check-out") }, t("checkOut")));
    return el("li", { class: `visit card status-${o.status}`, "data-order": o.id },
      el("div", { class: "when" }, el("strong", {}, o.start ?? "–"), ` ${serviceName(o.service)}`, el("span", { class: "badge" }, t(o.status))),
      el("div", {}, h.name, h.phone ? [" · ", el("a", { href: `tel:${h.phone}` }, h.phone)] : ""),
      el("div", {}, h.address),
      el("div", {}, `${t("window")}: ${o.window ? `${o.window.from}–${o.window.to}` : "–"}`),
      (o.notes || h.notes) ? el("div", { class: "notes" }, `${t("notes")}: ${o.notes || h.notes}`) : "",
      el("a", { href: `geo:${h.lat},${h.lon}?q=${h.lat},${h.lon}`, class: "nav-link" }, t("navigate")),
      el("div", { class: "actions" }, ...buttons));
  }

  async function load() {
    try {
      const orders = await api(`/caregivers/${encodeURIComponent(caregiver)}/assignments?date=${localToday()}`);
      list.replaceChildren(...orders.filter((o) => o.status !== "cancelled").map(card));
      if (!orders.length) list.replaceChildren(el("li", {}, t("none")));
      document.body.dataset.ready = "true";
    } catch (exc) { showError(exc); document.body.dataset.ready = "error"; }
  }
  if (caregiver) {
    await load();
  } else {  // an admin's token speaks for no caregiver: /phone?caregiver=C001
    list.replaceChildren(el("li", { class: "card" }, "/phone?caregiver=C001"));
    document.body.dataset.ready = "true";
  }
}
