// The form that adds or changes one Action Rule: a built-in's parameters as fields generated from
// `GET /api/v1/rules/builtins`, or a custom Rhai script in the CodeMirror editor, checked by
// `POST /api/v1/rules/compile` while typing and before saving so errors show at their line.

import { createRuleEditor, showErrors, textOf } from './vendor/rule-editor.js';
import { hoursEditor } from './rules-hours.js';
import { h, field, setFieldError, failureText, scriptError, say, statusLine } from './rules-kit.js';

const CUSTOM = '';
const STARTER = '// Answer show(), hide(), away() or no_opinion(); see rules/README.md.\nif visitor.visits > 1 { show() } else { no_opinion() }\n';

/** Human labels of the built-ins' parameters (their descriptions are shown as hints). */
const PARAM_LABELS = {
  spec: 'Opening hours', timezone: 'Time zone', when_closed: 'When closed', seconds: 'Seconds on the page',
  visit: 'From visit number', only_that_visit: 'Only on that visit', group: 'Agent group',
};
const ONE_OF_LABELS = { hide: 'Hide the widget', away: 'Show the offline form (away)', no_opinion: 'No opinion' };

/**
 * Renders the form into `host`. `rule` is null to add one. `onSaved(rule)` runs after a save,
 * `onCancel()` when an edit is abandoned.
 */
export function ruleForm(host, { api, builtins, zones, rule, onSaved, onCancel }) {
  const editing = Boolean(rule);
  const title = h('h2', { id: 'rule-form-title' }, editing ? `Change “${rule.name}”` : 'Add a rule');
  const status = statusLine('rule-form-status');

  const kind = h('select', { 'data-testid': 'rule-kind', disabled: editing },
    builtins.map((b) => h('option', { value: b.key }, b.name)),
    h('option', { value: CUSTOM }, 'Custom script (Rhai)'));
  kind.value = editing ? (rule.builtin && builtins.some((b) => b.key === rule.builtin) ? rule.builtin : CUSTOM) : builtins[0]?.key ?? CUSTOM;
  const kindField = field('Kind', kind);
  const name = field('Name', h('input', { type: 'text', maxlength: 100, required: true, 'data-testid': 'rule-name', value: rule?.name ?? '' }));
  const enabled = field('Enabled', h('input', { type: 'checkbox', 'data-testid': 'rule-form-enabled', checked: rule ? rule.enabled : true }));
  const body = h('div', { class: 'rule-form-body' });
  let current = null; // { params(), script(), fields: {name: field}, check() }

  const drawBody = () => {
    const key = kind.value;
    if (!editing && name.input.value === '' || name.input.dataset.auto === '1') {
      name.input.value = key === CUSTOM ? 'Custom rule' : builtins.find((b) => b.key === key)?.name ?? '';
      name.input.dataset.auto = '1';
    }
    current = key === CUSTOM
      ? customBody(body, api, editing ? rule : null)
      : builtinBody(body, builtins.find((b) => b.key === key), zones, editing ? rule.params : null);
  };
  kind.addEventListener('change', drawBody);
  name.input.addEventListener('input', () => { name.input.dataset.auto = '0'; });
  drawBody();

  const save = async (event) => {
    event.preventDefault();
    setFieldError(name, '');
    Object.values(current.fields).forEach((f) => setFieldError(f, ''));
    say(status, '');
    const custom = kind.value === CUSTOM;
    let params;
    try {
      params = current.params();
    } catch (e) {
      setFieldError(current.fields.params, e.message);
      return;
    }
    if (custom && !(await current.check())) {
      say(status, 'The script does not compile; the error is marked in the editor.', 'error');
      return;
    }
    const payload = { name: name.input.value, enabled: enabled.input.checked, params };
    if (custom) payload.script = current.script();
    else payload.builtin = kind.value;
    if (editing) payload.position = rule.position;
    try {
      const saved = editing
        ? await api('PUT', `/api/v1/rules/${rule.id}`, payload)
        : await api('POST', '/api/v1/rules', payload);
      say(status, `Saved “${saved.name}”.`);
      onSaved?.(saved);
    } catch (err) {
      const at = scriptError(err);
      if (at && custom) current.mark(at);
      const target = err.field === 'name' ? name : current.fields[err.field] || current.fields.params;
      if (target && !at) setFieldError(target, failureText(err));
      say(status, failureText(err), 'error');
    }
  };

  const form = h('form', { class: 'rule-form', 'aria-labelledby': 'rule-form-title', 'data-testid': 'rule-form', novalidate: true, onsubmit: save },
    title,
    h('div', { class: 'field-row' }, kindField.wrap, name.wrap, enabled.wrap),
    body,
    h('div', { class: 'form-actions' },
      h('button', { type: 'submit', class: 'primary', 'data-testid': 'rule-save' }, editing ? 'Save changes' : 'Add rule'),
      editing ? h('button', { type: 'button', onclick: () => onCancel?.() }, 'Cancel') : null),
    status);
  host.replaceChildren(form);
  return form;
}

/** Fields for a built-in's parameters, from its `ParamSpec`s. */
function builtinBody(body, builtin, zones, stored) {
  const values = { ...builtin.default_params, ...(stored || {}) };
  const fields = {};
  const readers = {};
  const nodes = [h('p', { class: 'muted' }, builtin.description)];
  for (const p of builtin.params) {
    const label = PARAM_LABELS[p.name] || p.name;
    const value = values[p.name];
    const kind = p.kind.type;
    if (kind === 'opening_hours') {
      const editor = hoursEditor(value);
      const holder = field(label, h('span', { hidden: true }));
      holder.wrap.replaceChildren(editor.node, holder.error);
      holder.input = editor.node;
      fields[p.name] = holder;
      readers[p.name] = editor.spec;
      nodes.push(holder.wrap);
      continue;
    }
    let input;
    if (kind === 'bool') {
      input = h('input', { type: 'checkbox', checked: Boolean(value) });
      readers[p.name] = () => input.checked;
    } else if (kind === 'integer') {
      input = h('input', { type: 'number', min: p.kind.min, step: 1, value: value ?? p.kind.min });
      readers[p.name] = () => {
        const n = Number(input.value);
        if (input.value === '' || !Number.isInteger(n)) throw new Error(`${label}: give a whole number`);
        return n;
      };
    } else if (kind === 'one_of') {
      input = h('select', {}, p.kind.values.map((v) => h('option', { value: v }, ONE_OF_LABELS[v] || v)));
      input.value = value;
      readers[p.name] = () => input.value;
    } else if (kind === 'timezone') {
      input = zoneSelect(zones, value, "The site's time zone");
      readers[p.name] = () => input.value;
    } else {
      input = h('input', { type: 'text', value: value ?? '' });
      readers[p.name] = () => input.value;
    }
    input.dataset.testid = `param-${p.name}`;
    const f = field(label, input, p.description);
    fields[p.name] = f;
    nodes.push(f.wrap);
  }
  fields.params = fields[builtin.params[0]?.name] || { error: h('p'), input: h('span') };
  body.replaceChildren(...nodes);
  return {
    fields,
    params: () => Object.fromEntries(Object.entries(readers).map(([k, read]) => [k, read()])),
  };
}

/** A `<select>` of every IANA zone; `empty` labels the "" choice, if any. */
export function zoneSelect(zones, value, empty) {
  const select = h('select', {},
    empty ? h('option', { value: '' }, empty) : null,
    zones.map((z) => h('option', { value: z }, z)));
  select.value = value || (empty ? '' : 'UTC');
  return select;
}

/** The CodeMirror editor for a custom script, with its parameters as JSON. */
function customBody(body, api, rule) {
  const host = h('div', { class: 'rule-editor', 'data-testid': 'rule-editor' });
  const label = h('span', { class: 'editor-label', id: 'rule-editor-label' }, 'Script (Rhai)');
  const problem = h('p', { class: 'field-error', role: 'alert', 'data-testid': 'script-error', hidden: true });
  const hint = h('p', { class: 'muted', id: 'rule-editor-hint' },
    'Compile errors are marked at their line as you type. Tab indents; press Escape, then Tab, to leave the editor.');
  const params = field('Parameters (JSON object)',
    h('textarea', { rows: 2, 'data-testid': 'rule-params', value: JSON.stringify(rule?.params ?? {}) }),
    'The script reads them as params.name.');
  body.replaceChildren(h('div', { class: 'field' }, label, hint, host, problem), params.wrap);

  const show = (errors) => {
    const first = errors[0];
    problem.hidden = !first;
    problem.textContent = first ? `Line ${first.line}, column ${first.column}: ${first.message}` : '';
    host.dataset.errorLine = first ? String(first.line) : '';
  };
  const compile = async (text) => {
    try {
      await api('POST', '/api/v1/rules/compile', { script: text });
      show([]);
      return [];
    } catch (err) {
      const at = scriptError(err);
      const errors = at ? [at] : [];
      show(errors);
      return errors;
    }
  };
  const view = createRuleEditor(host, { doc: rule?.script ?? STARTER, label: 'Script (Rhai)', check: compile });
  return {
    fields: { params, script: { input: host, error: problem } },
    script: () => textOf(view),
    params: () => {
      let value;
      try { value = JSON.parse(params.input.value || '{}'); } catch { throw new Error('must be a JSON object, like {"min": 2}'); }
      if (!value || typeof value !== 'object' || Array.isArray(value)) throw new Error('must be a JSON object, like {"min": 2}');
      return value;
    },
    check: async () => {
      const errors = await compile(textOf(view));
      showErrors(view, errors);
      return errors.length === 0;
    },
    mark: (at) => { show([at]); showErrors(view, [at]); },
  };
}
