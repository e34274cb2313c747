// The admin pages' shell: who is signed in, the navigation, and one module per section
// (`<section>.js`, exporting `render(main, ctx)`), loaded when its link is followed.

import { api, ApiFailure } from "/agent/admin/api.js";
import { el } from "/agent/admin/dom.js";

const SECTIONS = ["widget", "rules", "visibility", "webhooks", "tokens", "plugins", "mail", "agents", "audit"];

const main = document.getElementById("admin-main");
const nav = document.getElementById("admin-nav");
let me = null;

async function start() {
  document.getElementById("logout").addEventListener("click", signOut);
  try {
    const response = await fetch("/agent/api/me", { credentials: "same-origin", headers: { accept: "application/json" } });
    if (response.status === 401) { window.location.assign("/agent/login"); return; }
    me = await response.json();
  } catch (_) {
    show(el("p", { class: "form-error", role: "alert" }, "The server cannot be reached."));
    return;
  }
  document.getElementById("me-name").textContent = me.name;
  document.getElementById("me-email").textContent = me.email;
  if (me.role !== "admin") {
    show(el("section", { class: "admin-card", "data-testid": "not-admin" },
      el("h1", {}, "You need the admin role"),
      el("p", {}, "These pages configure the server. Ask an admin to give your account the admin role."),
      el("p", {}, el("a", { href: "/agent/" }, "Back to conversations"))));
    return;
  }
  nav.hidden = false;
  window.addEventListener("hashchange", route);
  route();
}

async function route() {
  const wanted = (window.location.hash.match(/^#\/([a-z-]+)/) || [])[1];
  const section = SECTIONS.includes(wanted) ? wanted : SECTIONS[0];
  for (const link of nav.querySelectorAll("a[data-section]")) {
    if (link.dataset.section === section) {
      link.setAttribute("aria-current", "page");
    } else {
      link.removeAttribute("aria-current");
    }
  }
  main.replaceChildren(el("p", { class: "muted" }, "Loading…"));
  main.dataset.section = section;
  let module;
  try {
    module = await import("/agent/admin/" + section + ".js");
  } catch (_) {
    show(el("p", { class: "muted" }, "This page is not available on this server."));
    return;
  }
  if (main.dataset.section !== section) return; // another link was followed meanwhile
  main.replaceChildren();
  try {
    await module.render(main, { api, me, el, ApiFailure });
  } catch (e) {
    main.appendChild(el("p", { class: "form-error", role: "alert" }, e && e.message ? e.message : String(e)));
  }
  main.focus({ preventScroll: true });
}

function show(node) {
  main.replaceChildren(node);
}

async function signOut() {
  try {
    await fetch("/agent/logout", { method: "POST", credentials: "same-origin", headers: { accept: "application/json" } });
  } finally {
    window.location.assign("/agent/login");
  }
}

start();
