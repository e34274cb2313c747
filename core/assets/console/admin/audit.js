// Settings → Audit log: every configuration change, newest first (when, who, what, on what, the
// answer), a page at a time with an "Older" button. On GET /api/v1/audit?limit=&before=.

import { call, ensureStyles, failureText, h, header, say, statusLine, table, when } from "./settings-kit.js";

const PAGE = 50;

export async function render(main, ctx) {
  ensureStyles();
  const status = statusLine(ctx, "audit-status");
  const body = h(ctx, "tbody", { "data-testid": "audit-rows" });
  const older = h(ctx, "button", { type: "button", "data-testid": "audit-older" }, "Older");
  const empty = h(ctx, "p", { class: "muted", "data-testid": "audit-empty" }, "No changes recorded yet.");
  empty.hidden = true;
  const page = { ctx, status, body, older, empty, before: null };
  older.addEventListener("click", () => loadPage(page, true));
  main.append(
    header(ctx, "Audit log", "Every change made to the configuration, by an admin in this console or with an API token."),
    status,
    h(ctx, "div", { class: "table-wrap" },
      h(ctx, "table", { class: "settings-table", "data-testid": "audit-table" },
        h(ctx, "caption", { class: "visually-hidden" }, "Audit log, newest first"),
        h(ctx, "thead", {}, h(ctx, "tr", {}, ["When", "Who", "Action", "Target", "Status"].map((c) => h(ctx, "th", { scope: "col" }, c)))),
        body)),
    empty,
    h(ctx, "div", { class: "settings-actions" }, older));
  await loadPage(page, false);
}

async function loadPage(page, more) {
  const { ctx } = page;
  const query = "?limit=" + PAGE + (more && page.before ? "&before=" + encodeURIComponent(page.before) : "");
  page.older.disabled = true;
  let answer;
  try {
    answer = await call(ctx, "GET", "/audit" + query);
  } catch (err) {
    say(page.status, failureText(err), "error");
    page.older.disabled = false;
    return;
  }
  const entries = answer || [];
  const firstNew = entries.length ? row(ctx, entries[0]) : null;
  page.body.append(...(firstNew ? [firstNew] : []), ...entries.slice(1).map((e) => row(ctx, e)));
  // The next page: entries older than the oldest one shown.
  if (entries.length) { page.before = entries[entries.length - 1].at; }
  page.empty.hidden = page.body.children.length > 0;
  const full = entries.length === PAGE && page.before;
  page.older.hidden = !full;
  page.older.disabled = !full;
  // Keyboard users who asked for more land on the first row that came.
  if (more && firstNew) {
    firstNew.tabIndex = -1;
    firstNew.focus();
  }
}

function who(ctx, actor) {
  const kind = actor && actor.kind ? actor.kind : "unknown";
  return h(ctx, "span", {}, h(ctx, "span", { class: "muted" }, kind + " "), h(ctx, "span", { "data-testid": "audit-who-label" }, (actor && actor.label) || ""));
}

function row(ctx, entry) {
  return h(ctx, "tr", { "data-testid": "audit-row", "data-id": entry.id, "data-actor-kind": entry.actor ? entry.actor.kind : "" },
    h(ctx, "td", {}, when(ctx, entry.at)),
    h(ctx, "td", { class: "break", "data-testid": "audit-who" }, who(ctx, entry.actor)),
    h(ctx, "td", { "data-testid": "audit-action" }, h(ctx, "code", {}, entry.action)),
    h(ctx, "td", { class: "break", "data-testid": "audit-target" }, h(ctx, "code", {}, entry.target)),
    h(ctx, "td", { "data-testid": "audit-status" }, String(entry.status)));
}
