// Home: the pages of the caller's role.
import { NAV, el, start, t } from "./common.js";

const who = await start();
if (who) {
  const links = NAV[who.role] ?? [];
  document.getElementById("main").append(el("section", { class: "card" }, el("h1", {}, t("welcome")),
    el("ul", { class: "pages" }, ...links.map((p) => el("li", {}, el("a", { href: `/${p}`, class: "big" }, t(p)))))));
  document.body.dataset.ready = "true";
}
