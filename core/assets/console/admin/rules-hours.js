// The opening-hours editor: a week of intervals and a list of holidays, turned into the spec the
// `opening_hours` rule reads (grammar in rules/README.md) and back. A stored spec that uses more of
// the grammar than this form can show (date ranges, yearly dates, special hours) is edited as text.

import { h, uid } from './rules-kit.js';

export const DAYS = [
  ['mon', 'Monday'], ['tue', 'Tuesday'], ['wed', 'Wednesday'], ['thu', 'Thursday'],
  ['fri', 'Friday'], ['sat', 'Saturday'], ['sun', 'Sunday'],
];
const DAY_KEYS = DAYS.map(([key]) => key);

/** `{ days: { mon: [['09:00','17:00']], … }, holidays: ['2026-12-25'] }` as a spec. */
export function toSpec(model) {
  const parts = [];
  let i = 0;
  while (i < DAY_KEYS.length) {
    const hours = model.days[DAY_KEYS[i]] || [];
    let j = i;
    while (j + 1 < DAY_KEYS.length && same(model.days[DAY_KEYS[j + 1]] || [], hours)) j += 1;
    if (hours.length) {
      const days = i === j ? DAY_KEYS[i] : `${DAY_KEYS[i]}-${DAY_KEYS[j]}`;
      parts.push(`${days} ${hours.map(([from, to]) => `${from}-${to}`).join(', ')}`);
    }
    i = j + 1;
  }
  const holidays = model.holidays.filter(Boolean);
  if (holidays.length) parts.push(`${holidays.join(', ')} closed`);
  return parts.length ? parts.join('; ') : 'closed';
}

function same(a, b) {
  return a.length === b.length && a.every(([f, t], k) => f === b[k][0] && t === b[k][1]);
}

/** The model of a spec this form can show, or null. */
export function fromSpec(spec) {
  const model = { days: Object.fromEntries(DAY_KEYS.map((d) => [d, []])), holidays: [] };
  const text = String(spec || '').trim();
  if (!text) return model;
  for (const raw of text.split(';')) {
    const part = raw.trim().toLowerCase();
    if (!part) continue;
    const m = part.match(/^(.*?)\s*((?:\d{1,2}:\d{2}\s*-\s*\d{1,2}:\d{2}\s*,?\s*)+|closed|off)$/);
    if (!m) return null;
    const selectors = m[1].trim();
    const closed = m[2] === 'closed' || m[2] === 'off';
    const intervals = closed ? [] : m[2].split(',').map((s) => s.trim()).filter(Boolean)
      .map((s) => s.split('-').map((t) => pad(t.trim())));
    if (/^\d{4}-\d{2}-\d{2}(\s*,\s*\d{4}-\d{2}-\d{2})*$/.test(selectors)) {
      if (!closed) return null;
      model.holidays.push(...selectors.split(',').map((s) => s.trim()));
      continue;
    }
    const days = selectors ? weekdays(selectors) : DAY_KEYS;
    if (!days) return null;
    for (const day of days) model.days[day] = intervals.map((pair) => [...pair]);
  }
  return model;
}

function pad(time) {
  return time.length === 4 ? `0${time}` : time;
}

function weekdays(selectors) {
  const out = [];
  for (const token of selectors.split(',').map((s) => s.trim())) {
    const [from, to] = token.split('-').map((s) => s.trim());
    const a = DAY_KEYS.indexOf(from);
    const b = to === undefined ? a : DAY_KEYS.indexOf(to);
    if (a < 0 || b < 0) return null;
    for (let k = a; ; k = (k + 1) % 7) {
      out.push(DAY_KEYS[k]);
      if (k === b) break;
    }
  }
  return out;
}

/**
 * The form for `spec`; `onChange(spec)` runs on every edit. Returns `{ node, spec() }`.
 */
export function hoursEditor(spec, onChange) {
  const model = fromSpec(spec);
  if (!model) return textEditor(spec, onChange, 'These hours use more of the grammar than the form shows; edit them as text.');
  const preview = h('output', { class: 'hours-preview', 'data-testid': 'hours-spec' });
  const changed = () => {
    preview.textContent = toSpec(model);
    onChange?.(toSpec(model));
  };

  const week = h('div', { class: 'hours-week' });
  const drawWeek = () => {
    week.replaceChildren(...DAYS.map(([key, name]) => dayRow(model, key, name, () => { drawWeek(); changed(); }, changed)));
  };
  drawWeek();

  const holidayList = h('ul', { class: 'hours-holidays', 'data-testid': 'hours-holidays' });
  const drawHolidays = () => {
    holidayList.replaceChildren(...model.holidays.map((date, index) => {
      const id = uid('holiday');
      const input = h('input', { type: 'date', id, value: date, required: true,
        oninput: (e) => { model.holidays[index] = e.target.value; changed(); } });
      return h('li', {}, h('label', { for: id }, `Holiday ${index + 1}`), input,
        h('button', { type: 'button', class: 'ghost', 'aria-label': `Remove holiday ${index + 1}`,
          onclick: () => { model.holidays.splice(index, 1); drawHolidays(); changed(); } }, 'Remove'));
    }));
  };
  drawHolidays();
  const addHoliday = h('button', { type: 'button', 'data-testid': 'add-holiday',
    onclick: () => { model.holidays.push(''); drawHolidays(); changed(); holidayList.querySelector('li:last-child input')?.focus(); } },
  'Add a holiday');

  const node = h('fieldset', { class: 'hours-editor' },
    h('legend', {}, 'Opening hours'),
    h('p', { class: 'muted' }, 'Days without intervals are closed. An interval that ends before it starts runs past midnight.'),
    week,
    h('h4', {}, 'Holidays (closed all day)'),
    holidayList, addHoliday,
    h('p', { class: 'muted' }, 'As text: ', preview));
  preview.textContent = toSpec(model);
  return { node, spec: () => toSpec(model) };
}

function dayRow(model, key, name, redraw, changed) {
  const hours = model.days[key];
  const items = hours.map((pair, index) => {
    const time = (which, label) => h('input', {
      type: 'time', value: pair[which], required: true, 'aria-label': `${name} interval ${index + 1} ${label}`,
      'data-testid': `hours-${key}-${index}-${which === 0 ? 'from' : 'to'}`,
      oninput: (e) => { pair[which] = e.target.value; changed(); },
    });
    return h('span', { class: 'hours-interval' }, time(0, 'opens'), '–', time(1, 'closes'),
      h('button', { type: 'button', class: 'ghost', 'aria-label': `Remove ${name} interval ${index + 1}`,
        onclick: () => { hours.splice(index, 1); redraw(); } }, '×'));
  });
  const add = h('button', { type: 'button', class: 'ghost', 'aria-label': `Add an interval on ${name}`,
    onclick: () => { const last = hours[hours.length - 1]; hours.push(last ? [last[1], '23:59'] : ['09:00', '17:00']); redraw(); } },
  '+ interval');
  return h('div', { class: 'hours-day', 'data-day': key },
    h('span', { class: 'hours-day-name' }, name),
    h('span', { class: 'hours-intervals' }, items.length ? items : h('span', { class: 'muted' }, 'closed')),
    add);
}

function textEditor(spec, onChange, note) {
  const id = uid('spec');
  const input = h('input', { type: 'text', id, value: spec || '', 'data-testid': 'hours-spec-text',
    oninput: (e) => onChange?.(e.target.value) });
  const node = h('fieldset', { class: 'hours-editor' }, h('legend', {}, 'Opening hours'),
    h('p', { class: 'muted' }, note), h('label', { for: id }, 'Hours'), input);
  return { node, spec: () => input.value };
}
