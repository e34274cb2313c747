// Settings → Mail: the delivery log (every mail with its state, and each attempt's SMTP code and
// error on demand) and "send test mail", which queues a mail through the same outbox. On
// /api/v1/mail/*.

import {
  call, ensureStyles, failureText, field, h, header, refreshWhile, say, showFieldError, statusLine,
  table, when,
} from "./settings-kit.js";

const LOG_PAGE = 100;
/// How often the log refreshes while a mail in it is still on its way.
const LOG_REFRESH_MS = 1000;
const STATES = ["pending", "retrying", "sent", "failed"];

export async function render(main, ctx) {
  ensureStyles();
  const status = statusLine(ctx, "mail-status");
  const log = h(ctx, "div", { "data-testid": "mail-log" });
  const page = { ctx, status, log, filter: "", open: new Set() };
  main.append(
    header(ctx, "Mail", "Every mail the server sends (offline messages, transcripts, agent notifications, tests) and how its delivery went."),
    status,
    testForm(page),
    h(ctx, "h2", {}, "Delivery log"),
    logTools(page),
    log);
  await loadLog(page);
}

function testForm(page) {
  const { ctx } = page;
  const to = field(ctx, "mail-test-to", "Send to", h(ctx, "input", { type: "email", required: "", autocomplete: "email", "data-testid": "mail-test-to" }),
    "The mail goes through the outbox like any other, and shows in the log below.");
  if (ctx.me && ctx.me.email) { to.control.value = ctx.me.email; }
  const submit = h(ctx, "button", { type: "submit", class: "primary", "data-testid": "mail-test-send" }, "Send test mail");
  const form = h(ctx, "form", { class: "settings-form", novalidate: "", "aria-labelledby": "mail-test-title", "data-testid": "mail-test-form" },
    h(ctx, "h2", { id: "mail-test-title" }, "Test mail"),
    to.node,
    h(ctx, "div", { class: "settings-actions" }, submit));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    submit.disabled = true;
    try {
      await call(ctx, "POST", "/mail/test", { to: to.control.value.trim() });
      showFieldError({ to }, null);
      say(page.status, "Test mail queued to " + to.control.value.trim() + ".", "ok");
      await loadLog(page);
      watch(page);
    } catch (err) {
      if (!showFieldError({ to }, err)) { say(page.status, failureText(err), "error"); }
    } finally {
      submit.disabled = false;
    }
  });
  return form;
}

function logTools(page) {
  const { ctx } = page;
  const select = h(ctx, "select", { id: "mail-filter", "data-testid": "mail-filter" },
    h(ctx, "option", { value: "" }, "every state"),
    STATES.map((s) => h(ctx, "option", { value: s }, s)));
  select.addEventListener("change", () => { page.filter = select.value; loadLog(page); });
  const refresh = h(ctx, "button", { type: "button", "data-testid": "mail-refresh" }, "Refresh");
  refresh.addEventListener("click", () => loadLog(page));
  return h(ctx, "div", { class: "settings-actions" },
    h(ctx, "label", { for: "mail-filter" }, "Show"), select, refresh);
}

/// Keeps the log fresh while a mail is pending or retrying.
function watch(page) {
  refreshWhile(page.log, LOG_REFRESH_MS,
    () => Boolean(page.log.querySelector('[data-state="pending"], [data-state="retrying"]')),
    () => loadLog(page));
}

async function loadLog(page) {
  const { ctx } = page;
  let answer;
  try {
    answer = await call(ctx, "GET", "/mail/deliveries?limit=" + LOG_PAGE + (page.filter ? "&state=" + page.filter : ""));
  } catch (err) {
    say(page.status, failureText(err), "error");
    page.log.replaceChildren();
    return;
  }
  if (!answer.items.length) {
    page.log.replaceChildren(h(ctx, "p", { class: "muted", "data-testid": "mail-empty" }, "No mail yet."));
    return;
  }
  const rows = [];
  for (const mail of answer.items) {
    rows.push(row(page, mail));
    if (page.open.has(mail.id)) { rows.push(await attemptsRow(page, mail)); }
  }
  page.log.replaceChildren(table(ctx, "Mail deliveries",
    ["Created", "Kind", "To", "Subject", "State", "Attempts", "Last answer", ""], rows, "mail-table"));
}

function row(page, mail) {
  const { ctx } = page;
  const open = page.open.has(mail.id);
  const toggle = h(ctx, "button", { type: "button", "aria-expanded": String(open), "data-testid": "mail-attempts-toggle", "aria-label": (open ? "Hide" : "Show") + " the attempts of the mail to " + mail.to }, open ? "Hide attempts" : "Attempts");
  toggle.addEventListener("click", () => {
    if (open) { page.open.delete(mail.id); } else { page.open.add(mail.id); }
    loadLog(page).then(() => {
      const again = page.log.querySelector('[data-mail-id="' + mail.id + '"] [data-testid=mail-attempts-toggle]');
      if (again) { again.focus(); }
    });
  });
  const answer = [mail.last_code === null ? null : String(mail.last_code), mail.last_error].filter(Boolean).join(" · ");
  return h(ctx, "tr", { "data-testid": "mail-row", "data-mail-id": mail.id, "data-kind": mail.kind, "data-state": mail.state },
    h(ctx, "td", {}, when(ctx, mail.created_at)),
    h(ctx, "td", {}, h(ctx, "code", { class: "tag" }, mail.kind)),
    h(ctx, "td", { class: "break", "data-testid": "mail-to" }, mail.to),
    h(ctx, "td", { class: "break" }, mail.subject),
    h(ctx, "td", {}, h(ctx, "span", { class: "badge " + mail.state, "data-testid": "mail-state" }, mail.state)),
    h(ctx, "td", {}, mail.attempts),
    h(ctx, "td", { class: "break" }, answer),
    h(ctx, "td", { class: "actions" }, toggle));
}

async function attemptsRow(page, mail) {
  const { ctx } = page;
  let content;
  try {
    const answer = await call(ctx, "GET", "/mail/deliveries/" + mail.id + "/attempts");
    content = answer.items.length
      ? table(ctx, "Attempts of the mail to " + mail.to, ["#", "Time", "Duration", "SMTP code", "Outcome", "Error"],
        answer.items.map((a) => h(ctx, "tr", { "data-testid": "mail-attempt" },
          h(ctx, "td", {}, a.number),
          h(ctx, "td", {}, when(ctx, a.started_at)),
          h(ctx, "td", {}, a.duration_ms + " ms"),
          h(ctx, "td", { "data-testid": "mail-attempt-code" }, a.code === null ? "no answer" : String(a.code)),
          h(ctx, "td", { "data-testid": "mail-attempt-outcome" }, a.outcome),
          h(ctx, "td", { class: "break" }, a.error || ""))), "mail-attempts")
      : h(ctx, "p", { class: "muted" }, "Not attempted yet.");
  } catch (err) {
    content = h(ctx, "p", { class: "field-error" }, failureText(err));
  }
  return h(ctx, "tr", { class: "subrow", "data-testid": "mail-attempts-row" }, h(ctx, "td", { colspan: "8" }, content));
}
