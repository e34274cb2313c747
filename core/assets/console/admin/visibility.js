// The visibility page of the admin console (`#/visibility`): the REST overrides in force (add,
// remove) and what one visitor sees now and why (`GET /api/v1/visibility/decide`).

import { showDecision } from './rules-test.js';
import { h, useStyles, field, setFieldError, failureText, say, statusLine, localTime } from './rules-kit.js';

const ID_LABELS = {
  site: ['Site key', 'Empty: the first site.'],
  customer: ['Customer id', 'The customer\'s UUID.'],
  visitor: ['Visitor id', 'The id the widget keeps for the browser (a UUID).'],
};

export async function render(main, ctx) {
  useStyles();
  const { api } = ctx;
  const status = statusLine('overrides-status');
  const table = h('tbody', { 'data-testid': 'override-list' });

  const reload = async () => {
    const overrides = await api('GET', '/api/v1/visibility');
    table.replaceChildren(...overrides.map(row));
    if (!overrides.length) table.append(h('tr', {}, h('td', { colspan: 5, class: 'muted' }, 'No override in force: the rules decide.')));
  };

  const remove = async (o) => {
    try {
      const query = new URLSearchParams({ scope: o.scope, id: o.id });
      await api('DELETE', `/api/v1/visibility?${query}`);
      await reload();
      say(status, `Removed the ${o.scope} override.`);
      form.querySelector('select')?.focus();
    } catch (err) {
      say(status, failureText(err), 'error');
    }
  };

  function row(o) {
    return h('tr', { 'data-testid': 'override-row', 'data-scope': o.scope, 'data-target': o.id },
      h('td', {}, o.scope),
      h('td', { class: 'mono' }, o.id),
      h('td', { 'data-testid': 'override-action' }, o.action),
      h('td', {}, o.until ? localTime(o.until) : 'until removed'),
      h('td', {}, h('button', { type: 'button', class: 'danger', 'data-testid': 'override-remove',
        'aria-label': `Remove the ${o.scope} override for ${o.id}`, onclick: () => remove(o) }, 'Remove')));
  }

  // Adding an override.
  const scope = field('For', h('select', { 'data-testid': 'override-scope' },
    ['site', 'customer', 'visitor'].map((s) => h('option', { value: s }, s[0].toUpperCase() + s.slice(1)))));
  const target = field(ID_LABELS.site[0], h('input', { type: 'text', 'data-testid': 'override-id' }), ID_LABELS.site[1]);
  const action = field('Widget', h('select', { 'data-testid': 'override-action-input' },
    h('option', { value: 'hide' }, 'Hide'), h('option', { value: 'show' }, 'Show')));
  const until = field('Until', h('input', { type: 'datetime-local', step: 60, 'data-testid': 'override-until' }), 'Empty: until removed.');
  scope.input.addEventListener('change', () => {
    const [label, hint] = ID_LABELS[scope.input.value];
    target.wrap.querySelector('label').textContent = label;
    target.wrap.querySelector('.field-hint').textContent = hint;
  });
  const add = async (event) => {
    event.preventDefault();
    [target, until].forEach((f) => setFieldError(f, ''));
    const body = { scope: scope.input.value, action: action.input.value };
    if (target.input.value.trim()) body.id = target.input.value.trim();
    if (until.input.value) {
      const at = new Date(until.input.value);
      if (Number.isNaN(at.getTime())) { setFieldError(until, 'Give a date and time.'); return; }
      body.until = at.toISOString();
    }
    try {
      const saved = await api('PUT', '/api/v1/visibility', body);
      await reload();
      say(status, `The widget is now ${saved.action === 'show' ? 'shown' : 'hidden'} for ${saved.scope} ${saved.id}.`);
    } catch (err) {
      const f = err.field === 'until' ? until : err.field === 'id' ? target : null;
      if (f) setFieldError(f, failureText(err));
      say(status, failureText(err), 'error');
    }
  };
  const form = h('form', { class: 'override-form', 'aria-labelledby': 'override-add-title', onsubmit: add, novalidate: true },
    h('h2', { id: 'override-add-title' }, 'Add an override'),
    h('p', { class: 'muted' }, 'An override decides over every rule: a visitor\'s beats their customer\'s, which beats the site\'s. Setting one again replaces it.'),
    h('div', { class: 'field-grid' }, scope.wrap, target.wrap, action.wrap, until.wrap),
    h('div', { class: 'form-actions' }, h('button', { type: 'submit', class: 'primary', 'data-testid': 'override-add' }, 'Add override')));

  // What a visitor sees.
  const visitor = field('Visitor id', h('input', { type: 'text', 'data-testid': 'decide-visitor' }), 'The id the widget keeps for the browser.');
  const result = h('div', { class: 'test-result', 'data-testid': 'decide-result', 'aria-live': 'polite' });
  const decide = async (event) => {
    event.preventDefault();
    setFieldError(visitor, '');
    const id = visitor.input.value.trim();
    try {
      const answer = await api('GET', `/api/v1/visibility/decide?${new URLSearchParams({ visitor: id })}`);
      showDecision(result, answer.decision, null);
      const c = answer.context;
      result.prepend(h('p', { class: 'muted', 'data-testid': 'decide-context' },
        answer.connected ? 'Connected now' : 'Not connected (page facts unknown)',
        ` · ${c.visitor.visits} visit(s) · ${c.visitor.seconds_on_page} s on the page`,
        c.visitor.url ? ` · ${c.visitor.url}` : '',
        ` · ${localTime(c.now)} (${c.timezone})`,
        answer.decision.override ? ` · override: ${answer.decision.override.scope} ${answer.decision.override.action}` : ''));
    } catch (err) {
      setFieldError(visitor, err.status === 404 ? 'No visitor with this id.' : failureText(err));
      result.replaceChildren();
    }
  };

  main.replaceChildren(h('div', { class: 'rules-page' },
    h('h1', {}, 'Visibility'),
    h('section', { class: 'panel', 'aria-labelledby': 'overrides-title' },
      h('h2', { id: 'overrides-title' }, 'Overrides in force'),
      h('div', { class: 'table-scroll' }, h('table', { class: 'overrides' },
        h('thead', {}, h('tr', {}, ['For', 'Target', 'Widget', 'Until', ''].map((t) => h('th', { scope: 'col' }, t)))),
        table)),
      status),
    h('section', { class: 'panel' }, form),
    h('section', { class: 'panel' }, h('form', { class: 'decide-form', 'aria-labelledby': 'decide-title', onsubmit: decide, novalidate: true },
      h('h2', { id: 'decide-title' }, 'What does a visitor see now, and why?'),
      h('div', { class: 'field-grid' }, visitor.wrap),
      h('div', { class: 'form-actions' }, h('button', { type: 'submit', class: 'primary', 'data-testid': 'decide-run' }, 'Check')),
      result))));
  await reload();
}
