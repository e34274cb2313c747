// Settings → API tokens: create one with scopes and an expiry (the secret shown once), the list
// (scopes, created, expires, last used, revoked) and revoking with a confirmation. On
// /api/v1/auth/token(s).

import {
  call, checkboxes, confirm, enumOf, ensureStyles, failureText, field, h, header, say, secretBox,
  showFieldError, statusLine, table, when,
} from "./settings-kit.js";

export async function render(main, ctx) {
  ensureStyles();
  const scopes = await enumOf(ctx, "Scope");
  const status = statusLine(ctx, "tokens-status");
  const secrets = h(ctx, "div", { class: "secret-slot" });
  const list = h(ctx, "div", { "data-testid": "token-list" });
  const page = { ctx, scopes, status, secrets, list };
  main.append(
    header(ctx, "API tokens", "Tokens let other systems call the REST API. The admin scope holds every other one."),
    status,
    createForm(page),
    secrets,
    h(ctx, "h2", {}, "Tokens"),
    list);
  await loadList(page);
}

function createForm(page) {
  const { ctx } = page;
  const name = field(ctx, "token-name", "Name", h(ctx, "input", { type: "text", required: "", maxlength: "100", "data-testid": "token-name", autocomplete: "off" }),
    "What uses it, e.g. “CRM sync”.");
  const scopes = checkboxes(ctx, "token-scope", "Scopes", page.scopes, new Set(), "token-scopes");
  const expires = field(ctx, "token-expires", "Expires on", h(ctx, "input", { type: "date", "data-testid": "token-expires" }),
    "Empty: never. It stops working at the end of that day, your time.");
  const submit = h(ctx, "button", { type: "submit", class: "primary", "data-testid": "token-create" }, "Create token");
  const form = h(ctx, "form", { class: "settings-form", novalidate: "", "aria-labelledby": "token-create-title", "data-testid": "token-form" },
    h(ctx, "h2", { id: "token-create-title" }, "Create a token"),
    name.node, scopes.node, expires.node,
    h(ctx, "div", { class: "settings-actions" }, submit));
  const fields = { name, scopes, expires_at: expires };
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    say(page.status, "");
    const body = { name: name.control.value.trim(), scopes: scopes.values() };
    if (expires.control.value) {
      body.expires_at = new Date(expires.control.value + "T23:59:59").toISOString();
    }
    submit.disabled = true;
    try {
      const created = await call(ctx, "POST", "/auth/token", body);
      showFieldError(fields, null);
      form.reset();
      const box = secretBox(ctx, "Token “" + created.name + "”", created.token, "token-secret");
      page.secrets.replaceChildren(box.node);
      box.focus();
      await loadList(page);
    } catch (err) {
      if (!showFieldError(fields, err)) { say(page.status, failureText(err), "error"); }
    } finally {
      submit.disabled = false;
    }
  });
  return form;
}

async function loadList(page) {
  const { ctx } = page;
  let tokens;
  try {
    tokens = await call(ctx, "GET", "/auth/tokens");
  } catch (err) {
    say(page.status, failureText(err), "error");
    return;
  }
  if (!tokens.length) {
    page.list.replaceChildren(h(ctx, "p", { class: "muted" }, "No tokens yet."));
    return;
  }
  page.list.replaceChildren(table(ctx, "API tokens",
    ["Name", "Scopes", "Created", "Expires", "Last used", "State", ""],
    tokens.map((t) => row(page, t)), "token-table"));
}

function stateOf(token) {
  if (token.revoked_at) { return "revoked"; }
  if (token.expires_at && new Date(token.expires_at) <= new Date()) { return "expired"; }
  return "active";
}

function row(page, token) {
  const { ctx } = page;
  const state = stateOf(token);
  let action = null;
  if (state !== "revoked") {
    action = h(ctx, "button", { type: "button", class: "danger", "data-testid": "token-revoke", "aria-label": "Revoke " + token.name }, "Revoke");
    action.addEventListener("click", async () => {
      if (!await confirm(ctx, "Revoke the token “" + token.name + "”? Everything that uses it stops working at once.", "Revoke")) { return; }
      try {
        await call(ctx, "DELETE", "/auth/tokens/" + token.id);
        say(page.status, "Revoked “" + token.name + "”.", "ok");
        await loadList(page);
      } catch (err) {
        say(page.status, failureText(err), "error");
      }
    });
  }
  return h(ctx, "tr", { "data-testid": "token-row", "data-id": token.id, "data-state": state },
    h(ctx, "td", {}, h(ctx, "span", { "data-testid": "token-row-name" }, token.name), h(ctx, "br", {}), h(ctx, "code", { class: "muted" }, token.prefix + "…")),
    h(ctx, "td", {}, token.scopes.map((s) => h(ctx, "code", { class: "tag" }, s))),
    h(ctx, "td", {}, when(ctx, token.created_at)),
    h(ctx, "td", {}, token.expires_at ? when(ctx, token.expires_at) : h(ctx, "span", { class: "muted" }, "never")),
    h(ctx, "td", {}, token.last_used_at ? when(ctx, token.last_used_at) : h(ctx, "span", { class: "muted" }, "not yet")),
    h(ctx, "td", {}, h(ctx, "span", { class: "badge " + state, "data-testid": "token-state" }, state),
      token.revoked_at ? h(ctx, "span", { class: "muted" }, " ", when(ctx, token.revoked_at)) : null),
    h(ctx, "td", { class: "actions" }, action));
}
