// Forms generated from a plugin's JSON Schema: one labelled control per property (string, number,
// integer, boolean, enum, array of strings, nested object), the schema's description as help text, and
// the plugin's 422 shown at the field it names. Every text goes in as text, never as markup.

import { el } from "/agent/admin/dom.js";

let styled = false;

/** The forms' stylesheet, added once (the pages' policy allows only stylesheets of this server). */
export function useFormStyles() {
  if (styled) return;
  styled = true;
  document.head.appendChild(el("link", { rel: "stylesheet", href: "/agent/admin/forms.css" }));
}

/** A colour property: a string that must be `#rrggbb`. */
function isColour(schema) {
  return schema.type === "string" && typeof schema.pattern === "string" && schema.pattern.includes("[0-9a-fA-F]{6}");
}

/** The property's type, `null` taken out of a list such as `["string", "null"]`. */
function typeOf(schema) {
  if (Array.isArray(schema.enum)) return "enum";
  const type = Array.isArray(schema.type) ? schema.type.find((t) => t !== "null") : schema.type;
  if (type === "array" && schema.items && schema.items.type === "string") return "strings";
  if (type === "object") {
    if (schema.properties) return "object";
    const each = schema.additionalProperties;
    return each && typeof each === "object" && each.properties ? "map" : "json";
  }
  return type || "json";
}

/** A property name as a label: `offline_text` → "Offline text". */
export function labelOf(name, schema) {
  if (schema && typeof schema.title === "string" && schema.title) return schema.title;
  const words = name.replace(/_/g, " ");
  return words.charAt(0).toUpperCase() + words.slice(1);
}

function same(a, b) {
  return JSON.stringify(a) === JSON.stringify(b);
}

/**
 * Builds the form's fields.
 * - `schema`: the plugin's JSON Schema (an object with `properties`).
 * - `config`: the values in force (defaults filled in); `stored`: what was stored, so fields the admin
 *   never set stay out of the document (and keep following the plugin's defaults).
 * - `id`: a prefix for element ids and test hooks; `groups`: optional `[{ title, fields: [names] }]`
 *   to lay the top-level properties out in fieldsets (the rest follow under "Other settings"; a group
 *   without a title puts its fields in the form itself).
 * - `onInput`: called on every change.
 * - `prefix` (for the forms of a map's entries): the entry's path, e.g. `translations.de.`, so ids, test
 *   hooks and error paths are whole; `omitEmpty`: an empty text is left out (the plugin's default).
 * Returns `{ node, read, showErrors, clearErrors, placeError }`; `read()` gives `{ document }` or
 * `{ problems }` (a field whose text is not valid JSON).
 */
export function schemaForm({ schema, config, stored, id, groups, onInput, prefix = "", omitEmpty = false }) {
  const fields = [];
  const generalError = el("p", { class: "field-error", role: "alert", "data-testid": id + "-form-error", hidden: true });

  function control(path, name, prop, value, required) {
    const key = id + "-" + path.replace(/[^a-zA-Z0-9_-]/g, "-");
    const type = typeOf(prop);
    const help = prop.description ? el("p", { class: "field-help", id: key + "-help" }, prop.description) : null;
    const error = el("p", { class: "field-error", id: key + "-error", role: "alert", "data-testid": "field-error-" + path, hidden: true });
    const describedBy = [help ? key + "-help" : null, key + "-error"].filter(Boolean).join(" ");
    const common = { id: key, name: path, "aria-describedby": describedBy, "data-testid": "field-" + path, required: required || undefined };
    let input;
    let extra = null;
    let get;
    const changed = () => { if (onInput) onInput(path); };
    if (type === "object") {
      const legend = el("legend", {}, labelOf(name, prop), required ? " (required)" : "");
      const inner = el("fieldset", { class: "schema-group", "data-field": path }, legend, help);
      const childRequired = new Set(prop.required || []);
      for (const [child, childProp] of Object.entries(prop.properties || {})) {
        inner.appendChild(control(path + "." + child, child, childProp, value ? value[child] : undefined, childRequired.has(child)));
      }
      return inner;
    }
    if (type === "map") return mapControl(path, name, prop, value, required, key, help, error);
    if (type === "boolean") {
      input = el("input", { ...common, type: "checkbox", checked: value === true });
      get = () => input.checked;
      input.addEventListener("change", changed);
      const wrap = el("div", { class: "field field-check", "data-field": path },
        el("label", { for: key }, input, " ", labelOf(name, prop)), help, error);
      fields.push({ path, input, error, get, initial: value, wrap });
      return wrap;
    }
    if (type === "enum") {
      input = el("select", common, prop.enum.map((option) =>
        el("option", { value: String(option), selected: same(option, value) }, String(option))));
      get = () => prop.enum.find((option) => String(option) === input.value);
    } else if (type === "integer" || type === "number") {
      input = el("input", { ...common, type: "number", inputmode: type === "integer" ? "numeric" : "decimal",
        step: type === "integer" ? "1" : "any", min: prop.minimum, max: prop.maximum,
        value: value === undefined || value === null ? "" : String(value) });
      // Sent as typed: a value out of range or not a number is the plugin's to refuse, at this field.
      get = () => {
        const raw = input.value.trim();
        if (raw === "") return undefined;
        const n = Number(raw);
        return Number.isFinite(n) ? n : raw;
      };
    } else if (type === "strings") {
      input = el("textarea", { ...common, rows: "3" });
      input.value = Array.isArray(value) ? value.join("\n") : "";
      get = () => input.value.split("\n").map((line) => line.trim()).filter((line) => line !== "");
      extra = el("p", { class: "field-help" }, "One per line.");
    } else if (type === "json") {
      input = el("textarea", { ...common, rows: "3", spellcheck: "false", class: "mono" });
      input.value = value === undefined ? "" : JSON.stringify(value, null, 2);
      get = () => {
        const raw = input.value.trim();
        if (raw === "") return undefined;
        try { return JSON.parse(raw); } catch (_) { throw new FieldProblem(path, "is not valid JSON"); }
      };
      extra = el("p", { class: "field-help" }, "As JSON.");
    } else {
      const long = (prop.maxLength || 0) >= 200;
      input = long
        ? el("textarea", { ...common, rows: "3", maxlength: prop.maxLength })
        : el("input", { ...common, type: "text", maxlength: prop.maxLength });
      input.value = value === undefined || value === null ? "" : String(value);
      get = () => input.value;
      if (isColour(prop)) {
        // The picker and the text field show the same value; the text field is what is sent.
        const picker = el("input", { type: "color", id: key + "-picker", "aria-label": labelOf(name, prop) + " picker",
          "data-testid": "field-" + path + "-picker", value: /^#[0-9a-fA-F]{6}$/.test(input.value) ? input.value : "#000000" });
        picker.addEventListener("input", () => { input.value = picker.value; changed(); });
        input.addEventListener("input", () => { if (/^#[0-9a-fA-F]{6}$/.test(input.value)) picker.value = input.value.toLowerCase(); });
        extra = picker;
      }
    }
    input.addEventListener("input", changed);
    const row = extra && extra.tagName === "INPUT" ? el("div", { class: "colour-row" }, extra, input) : input;
    const wrap = el("div", { class: "field", "data-field": path },
      el("label", { for: key }, labelOf(name, prop), required ? " (required)" : ""),
      row, help, extra && extra.tagName !== "INPUT" ? extra : null, error);
    fields.push({ path, input, error, get, initial: value, wrap });
    return wrap;
  }

  /**
   * An object whose keys the admin chooses (`additionalProperties` with its own properties, keys from
   * `propertyNames.enum` when the schema lists them), e.g. the widget's texts per language: one fieldset
   * per key with a form of its own, a remove button on each, and a chooser to add one.
   */
  function mapControl(path, name, prop, value, required, key, help, error) {
    const choices = prop.propertyNames && Array.isArray(prop.propertyNames.enum) ? prop.propertyNames.enum.map(String) : null;
    const entries = new Map();
    const list = el("div", { class: "map-entries" });
    const chooser = choices
      ? el("select", { id: key + "-add", "data-testid": "add-" + path + "-key" })
      : el("input", { id: key + "-add", type: "text", "data-testid": "add-" + path + "-key" });
    const add = el("button", { type: "button", "data-testid": "add-" + path }, "Add");
    const storedMap = storedAt(relative(path)) || {};
    function refreshChooser() {
      if (!choices) return;
      chooser.replaceChildren(...choices.filter((k) => !entries.has(k)).map((k) => el("option", { value: k }, k)));
      add.disabled = chooser.options.length === 0;
    }
    function addEntry(entryKey, entryValue, entryStored) {
      const sub = schemaForm({ schema: prop.additionalProperties, config: entryValue || {}, stored: entryStored || {},
        id: key + "-" + entryKey, onInput, prefix: path + "." + entryKey + ".", omitEmpty: true });
      const remove = el("button", { type: "button", class: "ghost", "data-testid": "remove-" + path + "-" + entryKey },
        "Remove " + entryKey);
      const node = el("fieldset", { class: "schema-group map-entry", "data-field": path + "." + entryKey, "data-key": entryKey },
        el("legend", {}, entryKey), el("p", { class: "field-help" }, "Left empty, a text is the widget's own in this language."),
        sub.node, remove);
      remove.addEventListener("click", () => {
        entries.delete(entryKey);
        node.remove();
        refreshChooser();
        add.focus();
        changed();
      });
      entries.set(entryKey, { sub, node });
      list.appendChild(node);
      refreshChooser();
      return sub;
    }
    const changed = () => { if (onInput) onInput(path); };
    for (const [entryKey, entryValue] of Object.entries(value || {})) addEntry(entryKey, entryValue, storedMap[entryKey]);
    refreshChooser();
    add.addEventListener("click", () => {
      const entryKey = chooser.value.trim();
      if (!entryKey || entries.has(entryKey)) return;
      addEntry(entryKey, {}, {});
      const first = entries.get(entryKey).node.querySelector("input, textarea, select");
      if (first) first.focus();
      changed();
    });
    const wrap = el("fieldset", { class: "schema-group", "data-field": path },
      el("legend", {}, labelOf(name, prop), required ? " (required)" : ""), help, list,
      el("div", { class: "map-add" }, el("label", { for: key + "-add" }, "Add"), chooser, add), error);
    fields.push({
      path, input: chooser, error, wrap, initial: value,
      get: () => {
        const out = {};
        for (const [entryKey, entry] of entries) {
          const read = entry.sub.read();
          if (read.problems) throw new FieldProblems(read.problems);
          out[entryKey] = read.document;
        }
        return out;
      },
      clear: () => { for (const entry of entries.values()) entry.sub.clearErrors(); },
      place: (problem) => {
        const rest = problem.field.slice(path.length + 1);
        const entry = entries.get(rest.split(".")[0]);
        return entry && rest.includes(".") ? entry.sub.placeError(problem) : null;
      },
    });
    return wrap;
  }

  const properties = schema.properties || {};
  const required = new Set(schema.required || []);
  const node = el("div", { class: "schema-form" }, generalError);
  const placed = new Set();
  for (const group of groups || []) {
    const names = group.fields.filter((name) => name in properties);
    if (!names.length) continue;
    // A group without a title: its fields go straight into the form (a map has its own fieldset).
    const set = group.title ? el("fieldset", { class: "schema-group" }, el("legend", {}, group.title)) : node;
    for (const name of names) {
      placed.add(name);
      set.appendChild(control(prefix + name, name, properties[name], config[name], required.has(name)));
    }
    if (set !== node) node.appendChild(set);
  }
  const rest = Object.keys(properties).filter((name) => !placed.has(name));
  if (rest.length) {
    const set = groups && groups.length ? el("fieldset", { class: "schema-group" }, el("legend", {}, "Other settings")) : node;
    for (const name of rest) set.appendChild(control(prefix + name, name, properties[name], config[name], required.has(name)));
    if (set !== node) node.appendChild(set);
  }
  if (!Object.keys(properties).length) {
    node.appendChild(el("p", { class: "muted" }, "This plugin has no settings."));
  }

  /** A path without this form's prefix: where it sits in this form's document. */
  function relative(path) {
    return path.slice(prefix.length);
  }

  /** The stored value at a path of this form's document, or undefined. */
  function storedAt(path) {
    let at = stored || {};
    for (const part of path.split(".")) {
      if (at === null || typeof at !== "object" || !(part in at)) return undefined;
      at = at[part];
    }
    return at;
  }

  /** Was this path part of the stored document? */
  function wasStored(path) {
    return storedAt(relative(path)) !== undefined;
  }

  function read() {
    const document = {};
    const problems = [];
    for (const field of fields) {
      let value;
      try { value = field.get(); } catch (e) {
        if (e instanceof FieldProblem) { problems.push({ field: e.field, message: e.message }); continue; }
        if (e instanceof FieldProblems) { problems.push(...e.problems); continue; }
        throw e;
      }
      if (value === undefined) continue;
      if (omitEmpty && value === "") continue;
      // Untouched and never stored: left out, so the plugin's default keeps applying.
      if (!wasStored(field.path) && same(value, field.initial)) continue;
      const parts = relative(field.path).split(".");
      let at = document;
      for (const part of parts.slice(0, -1)) at = at[part] = at[part] || {};
      at[parts[parts.length - 1]] = value;
    }
    return problems.length ? { problems } : { document };
  }

  function clearErrors() {
    generalError.hidden = true;
    generalError.textContent = "";
    for (const field of fields) {
      field.error.hidden = true;
      field.error.textContent = "";
      field.input.removeAttribute("aria-invalid");
      if (field.clear) field.clear();
    }
  }

  /** Shows one problem at the field its path names (`mask_selectors.1` → `mask_selectors`); the control, or null. */
  function placeError(problem) {
    const path = problem.field || "";
    const field = fields
      .filter((f) => path === f.path || path.startsWith(f.path + "."))
      .sort((a, b) => b.path.length - a.path.length)[0];
    if (!field) return null;
    if (field.place) {
      const inner = field.place(problem);
      if (inner) return inner;
    }
    const sub = path === field.path ? "" : " (" + path.slice(field.path.length + 1) + ")";
    field.error.textContent = (field.error.textContent ? field.error.textContent + " " : "") + capitalise(problem.message) + sub;
    field.error.hidden = false;
    field.input.setAttribute("aria-invalid", "true");
    return field.input;
  }

  /** Puts each problem at the field its path names (`mask_selectors.1` → `mask_selectors`); the rest above the form. */
  function showErrors(problems) {
    clearErrors();
    let first = null;
    const general = [];
    for (const problem of problems) {
      const placed = placeError(problem);
      if (!placed) { general.push(problem.field ? problem.field + ": " + problem.message : problem.message); continue; }
      if (!first) first = placed;
    }
    if (general.length) {
      generalError.textContent = general.join(" ");
      generalError.hidden = false;
    }
    return first;
  }

  return { node, read, showErrors, clearErrors, placeError };
}

class FieldProblems extends Error {
  constructor(problems) {
    super("invalid entries");
    this.problems = problems;
  }
}

class FieldProblem extends Error {
  constructor(field, message) {
    super(message);
    this.field = field;
  }
}

function capitalise(text) {
  return text ? text.charAt(0).toUpperCase() + text.slice(1) : text;
}

/** The problems of a failed save: every field the server named, or the one error it sent. */
export function problemsOf(failure) {
  if (Array.isArray(failure.fields) && failure.fields.length) return failure.fields;
  return [{ field: failure.status === 422 ? failure.field || "" : "", message: failure.message }];
}
