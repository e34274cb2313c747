// The test runner: a context written by hand (agents, local time and zone, seconds on page,
// visits, customer labels) sent to `POST /api/v1/rules/test`, and the decision with each rule's
// answer and reason.

import { zoneSelect } from './rules-form.js';
import { h, field, setFieldError, failureText } from './rules-kit.js';

const ANSWERS = { show: 'show', hide: 'hide', away: 'away', no_opinion: 'no opinion' };

export function testRunner(host, { api, zones }) {
  const number = (testid, value, min) => h('input', { type: 'number', min, step: 1, value, 'data-testid': testid });
  const online = field('Agents online', number('test-online', 1, 0));
  const available = field('Agents available', number('test-available', 1, 0));
  const now = new Date();
  const localNow = new Date(now.getTime() - now.getTimezoneOffset() * 60000).toISOString().slice(0, 16);
  const when = field('Local date and time', h('input', { type: 'datetime-local', step: 60, value: localNow, 'data-testid': 'test-local-time' }),
    'Read in the time zone below.');
  const browserZone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  const zone = field('Time zone', zoneSelect(zones, zones.includes(browserZone) ? browserZone : 'UTC'), 'The site\'s time zone, as the visitor\'s rules see it.');
  zone.input.dataset.testid = 'test-timezone';
  const seconds = field('Seconds on the page', number('test-seconds', 30, 0));
  const visits = field('Visit number', number('test-visits', 1, 1), '1 on a first visit.');
  const labels = field('Customer labels', h('input', { type: 'text', 'data-testid': 'test-labels', placeholder: 'vip, trial' }),
    'Comma-separated; leave empty for an anonymous visitor.');
  const result = h('div', { class: 'test-result', 'data-testid': 'test-result', 'aria-live': 'polite' });

  const run = async (event) => {
    event.preventDefault();
    setFieldError(when, '');
    const labelList = labels.input.value.split(',').map((s) => s.trim()).filter(Boolean);
    const context = {
      timezone: zone.input.value,
      agents: { online: Number(online.input.value) || 0, available: Number(available.input.value) || 0 },
      visitor: {
        seconds_on_page: Number(seconds.input.value) || 0,
        visits: Number(visits.input.value) || 1,
        customer: labelList.length ? { id: 'test-customer', labels: labelList } : null,
      },
    };
    const body = { context };
    if (when.input.value) body.local_time = when.input.value.length === 16 ? `${when.input.value}:00` : when.input.value;
    try {
      showDecision(result, await api('POST', '/api/v1/rules/test', body));
    } catch (err) {
      if (err.field === 'local_time') setFieldError(when, failureText(err));
      result.replaceChildren(h('p', { class: 'field-error', role: 'alert' }, failureText(err)));
    }
  };

  host.replaceChildren(h('form', { class: 'test-runner', 'aria-labelledby': 'test-runner-title', onsubmit: run, novalidate: true },
    h('h2', { id: 'test-runner-title' }, 'Test the rules'),
    h('p', { class: 'muted' }, 'Runs the saved rules against a situation you describe. Overrides are left out.'),
    h('div', { class: 'field-grid' }, online.wrap, available.wrap, when.wrap, zone.wrap, seconds.wrap, visits.wrap, labels.wrap),
    h('div', { class: 'form-actions' }, h('button', { type: 'submit', class: 'primary', 'data-testid': 'test-run' }, 'Run test')),
    result));
}

/** The decision, then each rule with its answer and why. */
export function showDecision(result, d, reasons = d.reasons) {
  const verdict = !d.visible ? 'Hidden' : d.away ? 'Visible, away (offline form instead of chat)' : 'Visible';
  const by = d.decided_by || {};
  const who = by.kind === 'rule' ? `the rule “${by.name}”`
    : by.kind === 'override' ? `the ${by.scope} override` : 'the default (no rule had an opinion)';
  const items = (d.rules || []).map((r, i) => h('li', { 'data-testid': 'test-rule', 'data-answer': r.answer, 'data-enabled': String(r.enabled) },
    h('strong', {}, r.name), ': ',
    h('span', { class: 'answer', 'data-answer': r.answer }, r.enabled ? ANSWERS[r.answer] || r.answer : 'disabled'),
    reasons?.[i] ? h('span', { class: 'reason', 'data-testid': 'test-reason' }, ` — ${reasons[i]}`) : null,
    r.error && !reasons ? h('span', { class: 'reason' }, ` — ${r.error}`) : null));
  result.replaceChildren(
    h('p', { class: 'verdict', 'data-testid': 'test-verdict', 'data-visible': String(d.visible) }, verdict),
    h('p', { 'data-testid': 'test-decided-by' }, `Decided by ${who}.`),
    d.recheck_after_secs != null ? h('p', { class: 'muted' }, `Asks again in ${d.recheck_after_secs} s.`) : null,
    items.length ? h('ol', { class: 'test-rules', 'data-testid': 'test-rules' }, items) : h('p', { class: 'muted' }, 'No rules.'));
}
