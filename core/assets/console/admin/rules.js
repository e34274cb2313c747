// The Action Rules page of the admin console (`#/rules`): the rules in the order they run
// (move up/down, also Alt+Arrow keys; enable/disable; change; delete), the form that adds or
// changes one, and the test runner.

import { ruleForm } from './rules-form.js';
import { testRunner } from './rules-test.js';
import { h, useStyles, failureText, say, statusLine } from './rules-kit.js';

export async function render(main, ctx) {
  useStyles();
  const { api } = ctx;
  const [rules, builtins, zones] = await Promise.all([
    api('GET', '/api/v1/rules'),
    api('GET', '/api/v1/rules/builtins'),
    api('GET', '/api/v1/rules/timezones'),
  ]);
  const names = Object.fromEntries(builtins.map((b) => [b.key, b]));
  const status = statusLine('rules-status');
  const list = h('ol', { class: 'rule-list', 'data-testid': 'rule-list', 'aria-labelledby': 'rules-title' });
  const formHost = h('section', { class: 'panel', 'aria-label': 'Rule form' });
  const testHost = h('section', { class: 'panel', 'aria-label': 'Test runner' });
  let current = rules;

  const reload = async (focus) => {
    current = await api('GET', '/api/v1/rules');
    draw(focus);
  };

  const openForm = (rule) => {
    ruleForm(formHost, {
      api, builtins, zones, rule,
      onSaved: async (saved) => { await reload(); say(status, `Saved “${saved.name}”.`); openForm(null); },
      onCancel: () => openForm(null),
    });
    if (rule) formHost.querySelector('input, select')?.focus();
  };

  const move = async (index, by, focusWhich) => {
    const to = index + by;
    if (to < 0 || to >= current.length) return;
    const ids = current.map((r) => r.id);
    [ids[index], ids[to]] = [ids[to], ids[index]];
    try {
      current = await api('PUT', '/api/v1/rules/order', { ids });
      draw({ id: ids[to], which: focusWhich });
      say(status, `Moved “${current[to].name}” to place ${to + 1}.`);
    } catch (err) {
      say(status, failureText(err), 'error');
    }
  };

  const setEnabled = async (rule, enabled) => {
    const payload = { name: rule.name, script: rule.script, params: rule.params, position: rule.position, enabled };
    if (rule.builtin) payload.builtin = rule.builtin;
    try {
      await api('PUT', `/api/v1/rules/${rule.id}`, payload);
      await reload({ id: rule.id, which: 'enabled' });
      say(status, `“${rule.name}” is ${enabled ? 'enabled' : 'disabled'}.`);
    } catch (err) {
      say(status, failureText(err), 'error');
      draw();
    }
  };

  const remove = async (rule) => {
    try {
      await api('DELETE', `/api/v1/rules/${rule.id}`);
      await reload();
      say(status, `Deleted “${rule.name}”.`);
      list.querySelector('button') ? list.querySelector('button').focus() : null;
    } catch (err) {
      say(status, failureText(err), 'error');
    }
  };

  function summary(rule) {
    const builtin = rule.builtin && names[rule.builtin];
    if (!builtin) return 'Custom script';
    const params = Object.entries(rule.params || {})
      .filter(([, v]) => v !== '' && v !== null)
      .map(([k, v]) => `${k}: ${typeof v === 'string' ? v : JSON.stringify(v)}`);
    return params.length ? `${builtin.name} — ${params.join(' · ')}` : builtin.name;
  }

  function row(rule, index) {
    const enabled = h('input', { type: 'checkbox', id: `rule-enabled-${rule.id}`, checked: rule.enabled, 'data-testid': 'rule-enabled',
      onchange: (e) => setEnabled(rule, e.target.checked) });
    const actions = h('div', { class: 'rule-actions' },
      h('span', { class: 'field-check' }, enabled, h('label', { for: enabled.id }, 'Enabled')),
      h('button', { type: 'button', 'data-testid': 'rule-up', 'data-which': 'up', 'aria-label': `Move “${rule.name}” up`, disabled: index === 0,
        onclick: () => move(index, -1, 'up') }, '↑ Up'),
      h('button', { type: 'button', 'data-testid': 'rule-down', 'data-which': 'down', 'aria-label': `Move “${rule.name}” down`, disabled: index === current.length - 1,
        onclick: () => move(index, 1, 'down') }, '↓ Down'),
      h('button', { type: 'button', 'data-testid': 'rule-edit', 'aria-label': `Change “${rule.name}”`, onclick: () => openForm(rule) }, 'Change'),
      h('button', { type: 'button', class: 'danger', 'data-testid': 'rule-delete', 'aria-label': `Delete “${rule.name}”`,
        onclick: (e) => confirmDelete(e.currentTarget, rule) }, 'Delete'));
    return h('li', { class: 'rule-row', 'data-testid': 'rule-row', 'data-rule-id': rule.id, 'data-enabled': String(rule.enabled),
      onkeydown: (e) => {
        if (!e.altKey || (e.key !== 'ArrowUp' && e.key !== 'ArrowDown')) return;
        e.preventDefault();
        move(index, e.key === 'ArrowUp' ? -1 : 1, e.target.dataset?.which || 'up');
      } },
    h('span', { class: 'rule-place', 'aria-hidden': 'true' }, String(index + 1)),
    h('div', { class: 'rule-text' },
      h('span', { class: 'rule-name', 'data-testid': 'rule-name-text' }, rule.name),
      h('span', { class: 'muted rule-summary' }, summary(rule), rule.enabled ? '' : ' (disabled)')),
    actions);
  }

  function confirmDelete(button, rule) {
    const holder = button.parentElement;
    const yes = h('button', { type: 'button', class: 'danger', 'data-testid': 'rule-delete-confirm', onclick: () => remove(rule) }, `Delete “${rule.name}”`);
    const no = h('button', { type: 'button', onclick: () => draw({ id: rule.id, which: 'delete' }) }, 'Keep');
    holder.replaceChildren(h('span', { role: 'alert' }, 'Delete this rule?'), yes, no);
    yes.focus();
  }

  function draw(focus) {
    list.replaceChildren(...current.map(row));
    if (!current.length) list.append(h('li', { class: 'muted' }, 'No rules yet: the widget shows for everyone.'));
    if (focus) {
      const target = list.querySelector(`[data-rule-id="${focus.id}"] ${focus.which === 'enabled' ? 'input' : `[data-testid=rule-${focus.which}]`}`);
      if (target && !target.disabled) target.focus();
      else list.querySelector(`[data-rule-id="${focus.id}"] button:not(:disabled)`)?.focus();
    }
  }

  main.replaceChildren(h('div', { class: 'rules-page' },
    h('h1', {}, 'Action Rules'),
    h('p', { class: 'muted' }, 'Rules decide whether the chat widget shows for a visitor. They run in this order: any rule answering hide hides the widget, then away, then show.'),
    h('section', { class: 'panel', 'aria-labelledby': 'rules-title' },
      h('h2', { id: 'rules-title' }, 'Rules, in the order they run'),
      h('p', { class: 'muted', id: 'rules-keys' }, 'Alt+↑ and Alt+↓ move the rule whose control has focus.'),
      list, status),
    formHost,
    testHost));
  draw();
  openForm(null);
  testRunner(testHost, { api, zones });
}
