// Small helpers shared by the Action Rules and visibility pages of the admin console: a DOM
// builder that only ever makes text nodes from strings, the pages' stylesheet, and reading the
// API's error answers.

import { el } from './dom.js';

/**
 * `h('button', { class: 'primary', onclick: fn, 'data-testid': 'x' }, 'Save')`: the shell's DOM builder
 * (`dom.js`, strings always become text, never HTML), with `value` and `checked` set as properties, the
 * way the rule forms read them back.
 */
export function h(tag, attrs = {}, ...children) {
  const { value, checked, ...rest } = attrs || {};
  const node = el(tag, rest, ...children);
  for (const [name, set] of [['value', value], ['checked', checked]]) {
    if (set !== false && set !== null && set !== undefined) node[name] = set;
  }
  return node;
}

/** Adds the pages' stylesheet once (a file of the same origin, so the CSP allows it). */
export function useStyles() {
  if (document.querySelector('link[data-rules-css]')) return;
  const link = h('link', { rel: 'stylesheet', href: new URL('./rules.css', import.meta.url).href, 'data-rules-css': true });
  document.head.append(link);
}

let ids = 0;
/** A document-unique id for labels and descriptions. */
export function uid(prefix) {
  ids += 1;
  return `${prefix}-${ids}`;
}

/** A labelled field: `{ wrap, input, error }`, the error line tied to the input for screen readers. */
export function field(label, input, hint) {
  if (!input.id) input.id = uid('f');
  const error = h('p', { class: 'field-error', id: uid('err'), hidden: true, 'data-testid': 'field-error' });
  const hintNode = hint ? h('p', { class: 'field-hint muted', id: uid('hint') }, hint) : null;
  input.setAttribute('aria-describedby', [hintNode?.id, error.id].filter(Boolean).join(' '));
  const isCheck = input.type === 'checkbox';
  const labelNode = h('label', { for: input.id }, label);
  const wrap = h('div', { class: isCheck ? 'field field-check' : 'field' },
    isCheck ? [input, labelNode] : [labelNode, input], hintNode, error);
  return { wrap, input, error };
}

/** Shows `message` under a field made by `field`, or clears it. */
export function setFieldError(f, message) {
  f.error.textContent = message || '';
  f.error.hidden = !message;
  if (message) f.input.setAttribute('aria-invalid', 'true');
  else f.input.removeAttribute('aria-invalid');
}

/** The sentence to show for a failed call. */
export function failureText(err) {
  if (err && err.message) return err.message;
  return 'The server could not be reached.';
}

/** Where a `script_invalid` answer puts the error: `{ line, column, message }` or null. */
export function scriptError(err) {
  if (!err || err.code !== 'script_invalid') return null;
  const detail = err.body?.error || err.detail || {};
  let line = err.line ?? detail.line;
  let column = err.column ?? detail.column;
  const text = String(err.message || '');
  const found = text.match(/line (\d+), column (\d+):\s*(.*)$/s);
  if ((line == null || column == null) && found) {
    line = Number(found[1]);
    column = Number(found[2]);
  }
  if (line == null) return null;
  return { line: Number(line), column: Number(column || 1), message: found ? found[3] : text };
}

/** A live region for "saved" and "failed" notes. */
export function statusLine(testid) {
  return h('p', { class: 'status-line', role: 'status', 'aria-live': 'polite', 'data-testid': testid });
}

/** Writes into a status line; `kind` is `ok` or `error`. */
export function say(line, text, kind = 'ok') {
  line.textContent = text;
  line.dataset.kind = kind;
}

/** An RFC 3339 instant as the admin's local date and time. */
export function localTime(iso) {
  if (!iso) return '';
  const at = new Date(iso);
  return Number.isNaN(at.getTime()) ? iso : at.toLocaleString();
}
