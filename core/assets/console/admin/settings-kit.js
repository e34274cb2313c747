// Pieces the settings sections share (webhooks, tokens, mail, agents, audit): REST calls under
// /api/v1, error lines, secrets shown once with a copy button, a confirm dialog, dates, the enums
// of the served OpenAPI document. Every text from the server or the admin goes in as text
// (`el` makes text nodes, inputs get `.value`), never as HTML.

const V1 = "/api/v1";
const STYLESHEET = "/agent/admin/settings.css";

/// `ctx.api` on a path under /api/v1: answers the parsed JSON or throws the `ApiFailure`.
export function call(ctx, method, path, body) {
  return body === undefined ? ctx.api(method, V1 + path) : ctx.api(method, V1 + path, body);
}

/// The sections' own styles, linked once (the page's policy allows this server's stylesheets only).
export function ensureStyles() {
  if (document.querySelector("link[data-settings-styles]")) { return; }
  const link = document.createElement("link");
  link.rel = "stylesheet";
  link.href = STYLESHEET;
  link.setAttribute("data-settings-styles", "");
  document.head.appendChild(link);
}

/// `ctx.el` (the shell's DOM builder: strings become text nodes; null, false and arrays are
/// fine as children), called with the section's context first.
export function h(ctx, tag, attrs, ...children) {
  return ctx.el(tag, attrs || {}, ...children);
}

/// The section's heading and one line that says what it is for.
export function header(ctx, title, intro) {
  return h(ctx, "header", { class: "settings-head" },
    h(ctx, "h1", { id: "section-title", tabindex: "-1" }, title),
    intro ? h(ctx, "p", { class: "muted" }, intro) : null);
}

/// A line for what went wrong (or went right), read out when it changes.
export function statusLine(ctx, testid) {
  const node = h(ctx, "p", { class: "settings-status", role: "status", "aria-live": "polite", "data-testid": testid });
  node.hidden = true;
  return node;
}

/// Shows `text` in a status line; `kind` is "error" or "ok".
export function say(node, text, kind) {
  node.textContent = text;
  node.dataset.kind = kind || "ok";
  node.hidden = !text;
}

/// The words for a failed call: the server's message, or why the call did not reach it.
export function failureText(err) {
  if (err && err.code === "mail_disabled") {
    return "Mail is not configured on this server: set smtp_url in [mail] and restart.";
  }
  if (err && err.message) { return err.message; }
  return "The request failed: " + String(err);
}

/// A labelled input: the label, the control and the line under it where that field's error goes.
export function field(ctx, id, label, control, hint) {
  control.id = id;
  const error = h(ctx, "p", { class: "field-error", id: id + "-error", "data-testid": id + "-error" });
  error.hidden = true;
  control.setAttribute("aria-describedby", id + "-error" + (hint ? " " + id + "-hint" : ""));
  return {
    node: h(ctx, "div", { class: "settings-field" },
      h(ctx, "label", { for: id }, label),
      control,
      hint ? h(ctx, "p", { class: "muted field-hint", id: id + "-hint" }, hint) : null,
      error),
    control,
    error,
  };
}

/// Puts a 422's message next to the field it names (`fields` maps API field names to `field()`
/// results); answers whether one took it.
export function showFieldError(fields, err) {
  Object.values(fields).forEach((f) => { f.error.hidden = true; f.control.removeAttribute("aria-invalid"); });
  const name = err && err.field ? String(err.field).split(/[.[]/)[0] : null;
  const target = name && fields[name];
  if (!target) { return false; }
  target.error.textContent = err.message;
  target.error.hidden = false;
  target.control.setAttribute("aria-invalid", "true");
  target.control.focus();
  return true;
}

/// Checkboxes in a fieldset, one per `{value, description}`; `checked` is the set of values ticked.
export function checkboxes(ctx, idPrefix, legend, options, checked, testid) {
  const boxes = new Map();
  const items = options.map((option, i) => {
    const id = idPrefix + "-" + i;
    const box = h(ctx, "input", { type: "checkbox", id, value: option.value, "data-testid": testid + "-" + option.value });
    box.checked = checked.has(option.value);
    boxes.set(option.value, box);
    return h(ctx, "div", { class: "check" },
      box,
      h(ctx, "label", { for: id }, h(ctx, "code", {}, option.value),
        option.description ? h(ctx, "span", { class: "muted" }, " " + option.description) : null));
  });
  const error = h(ctx, "p", { class: "field-error", "data-testid": testid + "-error" });
  error.hidden = true;
  const node = h(ctx, "fieldset", { class: "settings-checks", "data-testid": testid },
    h(ctx, "legend", {}, legend), items, error);
  return {
    node,
    error,
    // `showFieldError` focuses the control: the first box.
    control: boxes.size ? boxes.values().next().value : node,
    values: () => Array.from(boxes.entries()).filter(([, b]) => b.checked).map(([v]) => v),
  };
}

/// A `<time>` in the admin's locale, the exact instant in its `datetime` and tooltip.
export function when(ctx, iso) {
  if (!iso) { return h(ctx, "span", { class: "muted" }, "—"); }
  const date = new Date(iso);
  return h(ctx, "time", { datetime: iso, title: iso }, date.toLocaleString([], {
    year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", second: "2-digit",
  }));
}

/// A table that scrolls sideways on narrow screens instead of squeezing its columns.
export function table(ctx, caption, columns, rows, testid) {
  return h(ctx, "div", { class: "table-wrap" },
    h(ctx, "table", { class: "settings-table", "data-testid": testid },
      h(ctx, "caption", { class: "visually-hidden" }, caption),
      h(ctx, "thead", {}, h(ctx, "tr", {}, columns.map((c) => h(ctx, "th", { scope: "col" }, c)))),
      h(ctx, "tbody", {}, rows)));
}

/// A secret the server shows once, in a read-only field with a copy button. `label` says what it is.
export function secretBox(ctx, label, secret, testid) {
  const id = testid + "-value";
  const input = h(ctx, "input", { type: "text", id, readonly: "", class: "secret-value", "data-testid": id, spellcheck: "false", autocomplete: "off" });
  input.value = secret;
  input.readOnly = true;
  const copied = h(ctx, "span", { class: "muted", role: "status", "aria-live": "polite", "data-testid": testid + "-copied" });
  const copy = h(ctx, "button", { type: "button", "data-testid": testid + "-copy" }, "Copy");
  copy.addEventListener("click", async () => {
    copied.textContent = (await copyText(input)) ? "Copied." : "Select the text and copy it by hand.";
  });
  const done = h(ctx, "button", { type: "button", class: "ghost", "data-testid": testid + "-done" }, "I have saved it");
  const box = h(ctx, "div", { class: "secret-box", role: "group", "aria-labelledby": testid + "-label", "data-testid": testid },
    h(ctx, "p", { id: testid + "-label" }, h(ctx, "strong", {}, label)),
    h(ctx, "p", { class: "muted" }, "Shown this once: it is not stored in a form anyone can read back. Copy it now."),
    h(ctx, "div", { class: "secret-row" }, input, copy),
    h(ctx, "div", { class: "secret-row" }, copied, done));
  done.addEventListener("click", () => box.remove());
  return { node: box, focus: () => { input.focus(); input.select(); } };
}

async function copyText(input) {
  try {
    if (navigator.clipboard && window.isSecureContext) {
      await navigator.clipboard.writeText(input.value);
      return true;
    }
  } catch (_) { /* falls back to the selection below */ }
  input.focus();
  input.select();
  try { return document.execCommand("copy"); } catch (_) { return false; }
}

/// Asks before something that cannot be undone; resolves to whether the admin confirmed. A modal
/// `<dialog>`: focus stays in it, Escape cancels, and focus returns where it was.
export function confirm(ctx, question, action) {
  return new Promise((resolve) => {
    const back = document.activeElement;
    const yes = h(ctx, "button", { type: "button", class: "danger", "data-testid": "confirm-yes" }, action);
    const no = h(ctx, "button", { type: "button", "data-testid": "confirm-no" }, "Cancel");
    const dialog = h(ctx, "dialog", { class: "settings-dialog", "aria-labelledby": "confirm-question", "data-testid": "confirm" },
      h(ctx, "p", { id: "confirm-question" }, question),
      h(ctx, "div", { class: "settings-actions" }, no, yes));
    const finish = (answer) => {
      if (dialog.open) { dialog.close(); }
      dialog.remove();
      if (back && back.isConnected) { back.focus(); }
      resolve(answer);
    };
    yes.addEventListener("click", () => finish(true));
    no.addEventListener("click", () => finish(false));
    dialog.addEventListener("cancel", (e) => { e.preventDefault(); finish(false); });
    document.body.appendChild(dialog);
    dialog.showModal();
    no.focus();
  });
}

let schemas = null;

/// The values of an enum schema of the served OpenAPI document (`Scope`, `EventType`), each with
/// its description: the server's own list, so the pages never fall behind it.
export async function enumOf(ctx, name) {
  if (!schemas) {
    schemas = call(ctx, "GET", "/openapi.json").then((doc) => (doc && doc.components && doc.components.schemas) || {});
  }
  const schema = (await schemas)[name];
  const out = [];
  const walk = (s, description) => {
    if (!s) { return; }
    // A flat enum's description is the type's, not any one value's: it is not repeated next to each.
    if (Array.isArray(s.enum)) { s.enum.forEach((v) => out.push({ value: String(v), description: description || "" })); }
    (s.oneOf || s.anyOf || []).forEach((part) => walk(part, part.description));
  };
  walk(schema, "");
  return out;
}

/// Calls `load` again every `ms` while `node` is on the page and `more()` says there is more to see.
export function refreshWhile(node, ms, more, load) {
  const tick = async () => {
    if (!node.isConnected || !more()) { return; }
    try { await load(); } catch (_) { /* the next tick tries again */ }
    setTimeout(tick, ms);
  };
  setTimeout(tick, ms);
}
