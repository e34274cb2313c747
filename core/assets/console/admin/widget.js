// Widget appearance: colour, position, launcher, language and texts (more languages can be added, each
// with its own texts), edited in a form generated from
// the WebChat plugin's schema, with a live preview of the draft (a sample page that loads the widget
// as the plugin renders it) and saving through the plugin's validation, errors at their fields.

import { schemaForm, problemsOf, useFormStyles } from "/agent/admin/schema-form.js";

const GROUPS = [
  { title: "Appearance", fields: ["color", "position", "launcher", "language"] },
  { title: "Texts", fields: ["title", "greeting", "placeholder", "offline_text", "offline_reply"] },
  { title: "Offline form", fields: ["offline_form", "offline_name_label", "offline_email_label",
    "offline_message_label", "offline_send_label", "offline_sent_text"] },
  { title: "Transcript", fields: ["transcript_label", "transcript_email_label", "transcript_send_label",
    "transcript_sent_text", "transcript_invalid_text", "transcript_limited_text"] },
  { title: null, fields: ["translations"] },
];

/** How long typing pauses before the preview follows. */
const PREVIEW_DELAY_MS = 350;

export async function render(main, { api, el }) {
  useFormStyles();
  let current = await api("GET", "/api/v1/widget/config");
  main.appendChild(el("h1", {}, "Widget"));
  main.appendChild(el("p", { class: "muted" },
    "How the chat widget looks on your pages. The preview follows your changes; visitors see them once saved, on pages already open too."));

  const status = el("p", { class: "save-status", role: "status", "data-testid": "widget-status" });
  const previewNote = el("p", { class: "field-help", "data-testid": "preview-state" }, "");
  const languages = (current.schema.properties.language || {}).enum || [];
  const previewLanguage = el("select", { id: "preview-language", "data-testid": "preview-language" },
    el("option", { value: "" }, "the visitor's browser"), languages.map((code) => el("option", { value: code }, code)));
  previewLanguage.addEventListener("change", () => { previewed = null; preview(); });
  const frame = el("iframe", { class: "widget-preview", title: "Preview of the widget on a sample page",
    "data-testid": "widget-preview" });
  const save = el("button", { type: "submit", class: "primary", "data-testid": "widget-save" }, "Save");
  const layout = el("div", { class: "widget-layout" });
  main.appendChild(layout);

  let form;
  let timer = 0;
  let previewed = null;

  function build() {
    form = schemaForm({ schema: current.schema, config: current.config, stored: current.stored,
      id: "widget", groups: GROUPS, onInput: () => { status.textContent = ""; schedulePreview(); } });
    const formNode = el("form", { class: "admin-card widget-form", novalidate: true, "data-testid": "widget-form",
      "aria-label": "Widget settings" }, form.node, el("div", { class: "form-actions" }, save, status));
    formNode.addEventListener("submit", (event) => { event.preventDefault(); saveDraft(); });
    const side = el("section", { class: "admin-card widget-preview-card", "aria-label": "Preview" },
      el("h2", {}, "Preview"),
      el("div", { class: "field preview-language" }, el("label", { for: "preview-language" }, "Show the language of"), previewLanguage),
      frame, previewNote);
    layout.replaceChildren(formNode, side);
  }

  function schedulePreview() {
    clearTimeout(timer);
    timer = setTimeout(preview, PREVIEW_DELAY_MS);
  }

  /** Renders the draft: the plugin validates it first, so a bad value is marked before saving. */
  async function preview() {
    const draft = form.read();
    if (draft.problems) { form.showErrors(draft.problems); return; }
    const text = JSON.stringify(draft.document);
    const lang = previewLanguage.value;
    if (text + lang === previewed) return;
    const response = await fetch("/api/v1/widget/preview?config=" + encodeURIComponent(text),
      { credentials: "same-origin" }).catch(() => null);
    if (!response) { previewNote.textContent = "The preview cannot reach the server."; return; }
    if (response.status === 422) {
      const body = await response.json().catch(() => ({}));
      form.showErrors(problemsOf({ status: 422, ...(body.error || {}) }));
      previewNote.textContent = "The preview shows the last valid draft.";
      previewNote.dataset.state = "invalid";
      return;
    }
    if (!response.ok) { previewNote.textContent = "The preview is unavailable (" + response.status + ")."; return; }
    form.clearErrors();
    previewed = text + lang;
    previewNote.textContent = "Not saved yet: only you see this.";
    previewNote.dataset.state = "draft";
    frame.src = "/agent/admin/preview?config=" + encodeURIComponent(text) + (lang ? "&lang=" + encodeURIComponent(lang) : "");
  }

  async function saveDraft() {
    clearTimeout(timer);
    const draft = form.read();
    if (draft.problems) { focus(form.showErrors(draft.problems)); return; }
    save.disabled = true;
    status.textContent = "Saving…";
    try {
      current = await api("PUT", "/api/v1/widget/config", draft.document);
    } catch (failure) {
      status.textContent = failure.status === 422 ? "Not saved: check the marked fields." : failure.message;
      status.dataset.state = "error";
      focus(form.showErrors(problemsOf(failure)));
      return;
    } finally {
      save.disabled = false;
    }
    build();
    status.textContent = "Saved (version " + current.version + "). Open widgets update now.";
    status.dataset.state = "saved";
    previewed = null;
    await preview();
    previewNote.textContent = "Saved: this is what visitors see.";
    previewNote.dataset.state = "saved";
  }

  build();
  await preview();
  previewNote.textContent = current.version ? "What visitors see now." : "What visitors see now (the defaults).";
  previewNote.dataset.state = "saved";
}

function focus(input) {
  if (input) input.focus();
}
