// Settings → API → WebHooks: the endpoints (URL, events, enabled), adding one (its signing secret
// shown once), editing, rotating the secret, deleting, and each endpoint's delivery log with every
// attempt and a redeliver button. On /api/v1/webhooks.

import {
  call, checkboxes, confirm, enumOf, ensureStyles, failureText, field, h, header, refreshWhile, say,
  secretBox, showFieldError, statusLine, table, when,
} from "./settings-kit.js";

/// Deliveries shown per endpoint, newest event first.
const LOG_PAGE = 50;
/// How often an open log refreshes while a delivery is still on its way.
const LOG_REFRESH_MS = 1000;

export async function render(main, ctx) {
  ensureStyles();
  const events = await enumOf(ctx, "EventType");
  const status = statusLine(ctx, "webhooks-status");
  const secrets = h(ctx, "div", { class: "secret-slot" });
  const list = h(ctx, "div", { "data-testid": "webhook-list" });
  const detail = h(ctx, "section", { class: "settings-panel", "aria-labelledby": "webhook-detail-title", "data-testid": "webhook-detail" });
  detail.hidden = true;

  const page = { ctx, events, status, secrets, list, detail, selected: null };
  main.append(
    header(ctx, "WebHooks", "Endpoints that receive conversation events, signed with their own secret (Standard Webhooks)."),
    status,
    addForm(page),
    secrets,
    h(ctx, "h2", {}, "Endpoints"),
    list,
    detail);
  await loadList(page);
}

function addForm(page) {
  const { ctx } = page;
  const url = field(ctx, "webhook-url", "URL", h(ctx, "input", { type: "url", required: "", placeholder: "https://example.com/natter", "data-testid": "webhook-url", autocomplete: "off" }),
    "http or https, no user name or password in it.");
  const events = checkboxes(ctx, "webhook-event", "Events", page.events, new Set(), "webhook-events");
  const enabled = h(ctx, "input", { type: "checkbox", id: "webhook-enabled", "data-testid": "webhook-enabled" });
  enabled.checked = true;
  const submit = h(ctx, "button", { type: "submit", class: "primary", "data-testid": "webhook-add" }, "Add endpoint");
  const form = h(ctx, "form", { class: "settings-form", novalidate: "", "aria-labelledby": "webhook-add-title", "data-testid": "webhook-form" },
    h(ctx, "h2", { id: "webhook-add-title" }, "Add an endpoint"),
    url.node,
    events.node,
    h(ctx, "div", { class: "check" }, enabled, h(ctx, "label", { for: "webhook-enabled" }, "Enabled")),
    h(ctx, "div", { class: "settings-actions" }, submit));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    submit.disabled = true;
    say(page.status, "");
    try {
      const created = await call(ctx, "POST", "/webhooks", {
        url: url.control.value.trim(), events: events.values(), enabled: enabled.checked,
      });
      showFieldError({ url, events }, null);
      form.reset();
      enabled.checked = true;
      showSecret(page, "Signing secret of " + created.url, created.secret);
      await loadList(page);
    } catch (err) {
      if (!showFieldError({ url, events }, err)) { say(page.status, failureText(err), "error"); }
    } finally {
      submit.disabled = false;
    }
  });
  return form;
}

function showSecret(page, label, secret) {
  const box = secretBox(page.ctx, label, secret, "webhook-secret");
  page.secrets.replaceChildren(box.node);
  box.focus();
}

async function loadList(page) {
  const { ctx } = page;
  let endpoints;
  try {
    endpoints = await call(ctx, "GET", "/webhooks");
  } catch (err) {
    say(page.status, failureText(err), "error");
    return;
  }
  if (!endpoints.length) {
    page.list.replaceChildren(h(ctx, "p", { class: "muted", "data-testid": "webhook-empty" }, "No endpoints yet."));
  } else {
    page.list.replaceChildren(table(ctx, "Webhook endpoints", ["URL", "Events", "State", ""],
      endpoints.map((endpoint) => row(page, endpoint)), "webhook-table"));
  }
  if (page.selected) {
    const still = endpoints.find((e) => e.id === page.selected);
    if (still) { showDetail(page, still); } else { closeDetail(page); }
  }
}

function row(page, endpoint) {
  const { ctx } = page;
  const manage = h(ctx, "button", { type: "button", "data-testid": "webhook-manage", "aria-label": "Manage " + endpoint.url }, "Manage");
  manage.addEventListener("click", () => showDetail(page, endpoint, true));
  return h(ctx, "tr", { "data-testid": "webhook-row", "data-id": endpoint.id },
    h(ctx, "td", { class: "break", "data-testid": "webhook-row-url" }, endpoint.url),
    h(ctx, "td", {}, endpoint.events.map((e) => h(ctx, "code", { class: "tag" }, e))),
    h(ctx, "td", {}, stateBadge(ctx, endpoint)),
    h(ctx, "td", { class: "actions" }, manage));
}

function stateBadge(ctx, endpoint) {
  if (endpoint.enabled) { return h(ctx, "span", { class: "badge ok", "data-testid": "webhook-state" }, "Enabled"); }
  return h(ctx, "span", { class: "badge off", "data-testid": "webhook-state", title: endpoint.disabled_reason || "" },
    endpoint.disabled_reason ? "Disabled: " + endpoint.disabled_reason : "Disabled");
}

function closeDetail(page) {
  page.selected = null;
  page.detail.hidden = true;
  page.detail.replaceChildren();
}

function showDetail(page, endpoint, focus) {
  const { ctx } = page;
  page.selected = endpoint.id;
  const title = h(ctx, "h2", { id: "webhook-detail-title", tabindex: "-1" }, "Endpoint ", h(ctx, "span", { class: "break" }, endpoint.url));
  const log = h(ctx, "div", { "data-testid": "delivery-log" });
  page.detail.replaceChildren(
    title,
    editForm(page, endpoint),
    dangerRow(page, endpoint),
    h(ctx, "h3", {}, "Delivery log"),
    logTools(page, endpoint, log),
    log);
  page.detail.hidden = false;
  loadLog(page, endpoint, log);
  if (focus) { title.focus(); }
}

function editForm(page, endpoint) {
  const { ctx } = page;
  const events = checkboxes(ctx, "webhook-edit-event", "Events", page.events, new Set(endpoint.events), "webhook-edit-events");
  const enabled = h(ctx, "input", { type: "checkbox", id: "webhook-edit-enabled", "data-testid": "webhook-edit-enabled" });
  enabled.checked = endpoint.enabled;
  const save = h(ctx, "button", { type: "submit", class: "primary", "data-testid": "webhook-save" }, "Save");
  const form = h(ctx, "form", { class: "settings-form", novalidate: "", "aria-label": "Edit endpoint" },
    endpoint.disabled_reason ? h(ctx, "p", { class: "notice" }, "The server disabled this endpoint: " + endpoint.disabled_reason + ". Enabling it resumes its pending deliveries.") : null,
    events.node,
    h(ctx, "div", { class: "check" }, enabled, h(ctx, "label", { for: "webhook-edit-enabled" }, "Enabled")),
    h(ctx, "div", { class: "settings-actions" }, save));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    save.disabled = true;
    try {
      await call(ctx, "PATCH", "/webhooks/" + endpoint.id, { events: events.values(), enabled: enabled.checked });
      say(page.status, "Saved.", "ok");
      await loadList(page);
    } catch (err) {
      if (!showFieldError({ events }, err)) { say(page.status, failureText(err), "error"); }
    } finally {
      save.disabled = false;
    }
  });
  return form;
}

function dangerRow(page, endpoint) {
  const { ctx } = page;
  const rotate = h(ctx, "button", { type: "button", "data-testid": "webhook-rotate" }, "Rotate secret");
  rotate.addEventListener("click", async () => {
    if (!await confirm(ctx, "Make a new signing secret for " + endpoint.url + "? The old one stops working at once.", "Rotate secret")) { return; }
    try {
      const answer = await call(ctx, "POST", "/webhooks/" + endpoint.id + "/rotate-secret");
      showSecret(page, "New signing secret of " + endpoint.url, answer.secret);
    } catch (err) {
      say(page.status, failureText(err), "error");
    }
  });
  const remove = h(ctx, "button", { type: "button", class: "danger", "data-testid": "webhook-delete" }, "Delete endpoint");
  remove.addEventListener("click", async () => {
    if (!await confirm(ctx, "Delete " + endpoint.url + " and its delivery log?", "Delete")) { return; }
    try {
      await call(ctx, "DELETE", "/webhooks/" + endpoint.id);
      closeDetail(page);
      say(page.status, "Deleted.", "ok");
      await loadList(page);
    } catch (err) {
      say(page.status, failureText(err), "error");
    }
  });
  return h(ctx, "div", { class: "settings-actions" }, rotate, remove);
}

function logTools(page, endpoint, log) {
  const { ctx } = page;
  const refresh = h(ctx, "button", { type: "button", "data-testid": "delivery-refresh" }, "Refresh");
  refresh.addEventListener("click", () => loadLog(page, endpoint, log));
  return h(ctx, "div", { class: "settings-actions" }, refresh);
}

async function loadLog(page, endpoint, log) {
  const { ctx } = page;
  let deliveries;
  try {
    deliveries = await call(ctx, "GET", "/webhooks/" + endpoint.id + "/deliveries?limit=" + LOG_PAGE);
  } catch (err) {
    say(page.status, failureText(err), "error");
    return;
  }
  if (!deliveries.length) {
    log.replaceChildren(h(ctx, "p", { class: "muted", "data-testid": "delivery-empty" }, "Nothing sent to this endpoint yet."));
    return;
  }
  log.replaceChildren(...deliveries.map((d) => delivery(page, endpoint, log, d)));
}

function delivery(page, endpoint, log, d) {
  const { ctx } = page;
  const redeliver = h(ctx, "button", { type: "button", "data-testid": "delivery-redeliver", "aria-label": "Redeliver " + d.event_type + " " + d.event_id }, "Redeliver");
  redeliver.addEventListener("click", async () => {
    redeliver.disabled = true;
    try {
      await call(ctx, "POST", "/webhooks/" + endpoint.id + "/deliveries/" + d.id + "/redeliver");
      say(page.status, "Queued again with the same webhook-id.", "ok");
      await loadLog(page, endpoint, log);
      // Until the worker has sent it, the log has news to show.
      let open = true;
      refreshWhile(log, LOG_REFRESH_MS, () => open, async () => {
        await loadLog(page, endpoint, log);
        const now = log.querySelector('[data-delivery-id="' + d.id + '"]');
        open = Boolean(now && (now.dataset.state === "pending" || now.dataset.state === "retrying"));
      });
    } catch (err) {
      say(page.status, failureText(err), "error");
      redeliver.disabled = false;
    }
  });
  const attempts = d.attempts.length
    ? table(ctx, "Attempts", ["#", "Time", "Status", "Duration", "Error"], d.attempts.map((a) =>
      h(ctx, "tr", { "data-testid": "delivery-attempt" },
        h(ctx, "td", {}, a.number),
        h(ctx, "td", {}, when(ctx, a.started_at)),
        h(ctx, "td", { "data-testid": "attempt-status" }, a.status_code === null ? "no answer" : String(a.status_code)),
        h(ctx, "td", {}, a.duration_ms + " ms"),
        h(ctx, "td", { class: "break" }, a.error || ""))), "delivery-attempts")
    : h(ctx, "p", { class: "muted" }, "Not attempted yet.");
  return h(ctx, "article", { class: "delivery", "data-testid": "delivery", "data-delivery-id": d.id, "data-event-id": d.event_id, "data-state": d.state },
    h(ctx, "div", { class: "delivery-head" },
      h(ctx, "code", { class: "tag" }, d.event_type),
      h(ctx, "span", { class: "badge " + d.state, "data-testid": "delivery-state" }, d.state),
      when(ctx, d.created_at),
      h(ctx, "span", { class: "muted break" }, "webhook-id " + d.event_id),
      redeliver),
    attempts);
}
