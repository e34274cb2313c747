// Plugins: every loaded plugin with its version, kind, capabilities asked and granted, health and why
// it was disabled (with a button that takes it back into service), and the configuration of integration
// and co-browse plugins as forms generated from each plugin's JSON Schema, validated by the plugin.

import { schemaForm, problemsOf, useFormStyles } from "/agent/admin/schema-form.js";

/** Where a plugin kind's configuration lives; the widget has its own page. */
function configPath(plugin) {
  if (plugin.kind === "integration") return "/api/v1/plugins/" + encodeURIComponent(plugin.name) + "/config";
  if (plugin.kind === "cobrowse") return "/api/v1/cobrowse/config";
  return null;
}

export async function render(main, { api, el }) {
  useFormStyles();
  const plugins = await api("GET", "/api/v1/plugins");
  main.appendChild(el("h1", {}, "Plugins"));
  main.appendChild(el("p", { class: "muted" },
    "Capabilities are granted in the server's configuration file ([plugins.grants]); settings are checked by each plugin when you save."));
  const list = el("div", { class: "plugin-list", "data-testid": "plugin-list" });
  main.appendChild(list);
  for (const plugin of plugins) list.appendChild(card(plugin));

  function card(plugin) {
    const node = el("section", { class: "admin-card plugin-card", "data-testid": "plugin", "data-plugin": plugin.name,
      "aria-labelledby": "plugin-" + plugin.name + "-name" });
    fill(node, plugin);
    return node;
  }

  function fill(node, plugin) {
    const disabled = plugin.status === "disabled";
    const head = el("div", { class: "plugin-head" },
      el("h2", { id: "plugin-" + plugin.name + "-name" }, plugin.name),
      el("span", { class: "plugin-badge" }, plugin.kind),
      el("span", { class: "plugin-version" }, "v" + plugin.version),
      el("span", { class: "plugin-status", "data-testid": "plugin-status", "data-state": plugin.status },
        disabled ? "Disabled" : "Active"));
    const facts = el("dl", { class: "plugin-facts" },
      fact("Description", plugin.description || "—"),
      fact("Source", plugin.source + (plugin.replaces_builtin ? " (replaces the built-in one)" : "")),
      fact("Plugin API", plugin.api_version),
      fact("Capabilities", capabilities(plugin)),
      fact("Health", plugin.calls + " calls, " + plugin.failures + " failed" +
        (plugin.consecutive_failures ? ", " + plugin.consecutive_failures + " in a row" : "") +
        (plugin.last_failure ? ". Last failure: " + plugin.last_failure : "")));
    const parts = [head, facts];
    if (disabled) {
      const enable = el("button", { type: "button", class: "primary", "data-testid": "plugin-enable" }, "Re-enable");
      const note = el("p", { class: "save-status", role: "status" });
      enable.addEventListener("click", async () => {
        enable.disabled = true;
        try {
          await api("POST", "/api/v1/plugins/" + encodeURIComponent(plugin.name) + "/enable");
          const fresh = (await api("GET", "/api/v1/plugins")).find((p) => p.name === plugin.name);
          if (fresh) fill(node, fresh);
        } catch (failure) {
          note.textContent = failure.message;
          enable.disabled = false;
        }
      });
      parts.push(el("div", { class: "plugin-disabled", role: "note", "data-testid": "plugin-disabled-reason" },
        el("p", {}, "Disabled" + (plugin.disabled_at ? " since " + new Date(plugin.disabled_at).toLocaleString() : "") +
          ": " + (plugin.disabled_reason || "no reason recorded")), enable, note));
    }
    const path = configPath(plugin);
    if (path) {
      const slot = el("div", { class: "plugin-config", "data-testid": "plugin-config" }, el("p", { class: "muted" }, "Loading settings…"));
      parts.push(el("h3", {}, "Settings"), slot);
      settings(slot, plugin, path);
    } else if (plugin.kind === "widget") {
      parts.push(el("p", {}, el("a", { href: "#/widget" }, "Appearance and texts are on the Widget page.")));
    }
    node.replaceChildren(...parts);
  }

  function fact(name, value) {
    return [el("dt", {}, name), el("dd", {}, value)];
  }

  function capabilities(plugin) {
    if (!plugin.capabilities_asked.length) return "asks for none";
    const granted = new Set(plugin.capabilities_granted);
    return el("ul", { class: "plugin-caps" }, plugin.capabilities_asked.map((cap) =>
      el("li", { "data-granted": String(granted.has(cap)) }, el("code", {}, cap), granted.has(cap) ? " granted" : " asked, not granted")));
  }

  async function settings(slot, plugin, path) {
    let current;
    try {
      current = await api("GET", path);
    } catch (failure) {
      slot.replaceChildren(el("p", { class: "form-error", role: "alert" }, failure.message));
      return;
    }
    const status = el("p", { class: "save-status", role: "status", "data-testid": "plugin-config-status" });
    const form = schemaForm({ schema: current.schema || {}, config: current.config || {}, stored: current.stored || {},
      id: "plugin-" + plugin.name, onInput: () => { status.textContent = ""; } });
    const hasFields = Object.keys((current.schema && current.schema.properties) || {}).length > 0;
    const save = el("button", { type: "submit", class: "primary", "data-testid": "plugin-config-save" }, "Save settings");
    const formNode = el("form", { novalidate: true, "aria-label": plugin.name + " settings", "data-plugin": plugin.name },
      form.node, hasFields ? el("div", { class: "form-actions" }, save, status) : null);
    formNode.addEventListener("submit", async (event) => {
      event.preventDefault();
      const draft = form.read();
      if (draft.problems) { focus(form.showErrors(draft.problems)); return; }
      save.disabled = true;
      status.textContent = "Saving…";
      try {
        const saved = await api("PUT", path, draft.document);
        await settings(slot, plugin, path);
        const fresh = slot.querySelector("[data-testid=plugin-config-status]");
        if (fresh) { fresh.textContent = "Saved (version " + saved.version + ")."; fresh.dataset.state = "saved"; }
      } catch (failure) {
        save.disabled = false;
        status.textContent = failure.status === 422 ? "Not saved: check the marked fields." : failure.message;
        status.dataset.state = "error";
        focus(form.showErrors(problemsOf(failure)));
      }
    });
    slot.replaceChildren(formNode);
  }
}

function focus(input) {
  if (input) input.focus();
}
