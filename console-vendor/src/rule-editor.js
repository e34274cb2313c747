// The Action Rule editor of the admin console: CodeMirror 6 with line numbers, Rhai highlighting
// and compile errors shown as lint markers. Bundled with CodeMirror into one ES module by
// scripts/build-console-vendor.sh; the console imports only what this file exports.

import { EditorState } from '@codemirror/state';
import {
  EditorView, keymap, lineNumbers, highlightActiveLine, highlightActiveLineGutter, drawSelection,
} from '@codemirror/view';
import { defaultKeymap, history, historyKeymap, indentWithTab } from '@codemirror/commands';
import {
  StreamLanguage, syntaxHighlighting, defaultHighlightStyle, bracketMatching, indentOnInput,
} from '@codemirror/language';
import { linter, lintGutter, setDiagnostics } from '@codemirror/lint';

const KEYWORDS = new Set([
  'let', 'const', 'if', 'else', 'switch', 'do', 'while', 'loop', 'until', 'for', 'in', 'break',
  'continue', 'return', 'throw', 'try', 'catch', 'fn', 'private', 'import', 'export', 'as',
  'global', 'this', 'is_def_var', 'is_def_fn',
]);
const ATOMS = new Set(['true', 'false']);
// The five names a rule sees and its answers (rules/README.md).
const BUILTINS = new Set([
  'agents', 'now', 'visitor', 'override', 'params', 'show', 'hide', 'away', 'no_opinion',
  'opening_hours', 'next_change_secs', 'recheck',
]);

// A small tokenizer for Rhai: comments, strings (also `back-ticked` ones), numbers, keywords,
// the rule API's names and operators.
const rhai = StreamLanguage.define({
  name: 'rhai',
  startState: () => ({ blockComment: false }),
  token(stream, state) {
    if (state.blockComment) {
      if (stream.skipTo('*/')) { stream.match('*/'); state.blockComment = false; } else { stream.skipToEnd(); }
      return 'comment';
    }
    if (stream.eatSpace()) return null;
    if (stream.match('//')) { stream.skipToEnd(); return 'comment'; }
    if (stream.match('/*')) { state.blockComment = true; return 'comment'; }
    const ch = stream.peek();
    if (ch === '"' || ch === '`' || ch === "'") {
      stream.next();
      let escaped = false;
      for (let c = stream.next(); c != null; c = stream.next()) {
        if (c === ch && !escaped) break;
        escaped = !escaped && c === '\\';
      }
      return 'string';
    }
    if (stream.match(/^\d[\d_]*(\.\d+)?([eE][+-]?\d+)?/)) return 'number';
    if (stream.match(/^[A-Za-z_][A-Za-z0-9_]*/)) {
      const word = stream.current();
      if (KEYWORDS.has(word)) return 'keyword';
      if (ATOMS.has(word)) return 'atom';
      if (BUILTINS.has(word)) return 'variableName.special';
      return 'variableName';
    }
    if (stream.match(/^(\?\?|\?\.|==|!=|<=|>=|&&|\|\||=>|\.\.=?|[-+*/%=<>!&|^?:])/)) return 'operator';
    stream.next();
    return null;
  },
  languageData: { commentTokens: { line: '//', block: { open: '/*', close: '*/' } } },
});

// The console's CSP has no 'unsafe-inline' for styles, and CodeMirror adds its styles with a
// <style> element when mounted in a document. Inside a shadow root it uses a constructed style
// sheet instead, which the CSP allows, so the editor lives in one (open, so tests can look in).
const theme = EditorView.theme({
  '&': { border: '1px solid #c7ccd4', borderRadius: '6px', background: '#fff', fontSize: '14px' },
  '&.cm-focused': { outline: '2px solid #2563eb', outlineOffset: '1px' },
  '.cm-scroller': { fontFamily: 'ui-monospace, SFMono-Regular, Menlo, Consolas, monospace', minHeight: '12rem' },
  '.cm-content': { minHeight: '12rem' },
});

/**
 * Makes an editor in a shadow root of `host`. `label` names it for screen readers; `onChange(text)` runs after
 * each edit; `check(text)` returns a promise of `[{ line, column, message }]` (1-based) and runs
 * when typing pauses, its answers shown as lint markers.
 */
export function createRuleEditor(host, { doc = '', label = 'Script', onChange, check } = {}) {
  const root = host.shadowRoot || host.attachShadow({ mode: 'open' });
  const parent = document.createElement('div');
  root.replaceChildren(parent);
  const extensions = [
    theme,
    lineNumbers(),
    highlightActiveLineGutter(),
    history(),
    drawSelection(),
    indentOnInput(),
    bracketMatching(),
    highlightActiveLine(),
    rhai,
    syntaxHighlighting(defaultHighlightStyle, { fallback: true }),
    lintGutter(),
    // Tab indents; Escape then Tab leaves the editor, so keyboard users are not trapped.
    keymap.of([...defaultKeymap, ...historyKeymap, indentWithTab]),
    EditorView.contentAttributes.of({ 'aria-label': label }),
    EditorView.updateListener.of((update) => {
      if (update.docChanged && onChange) onChange(update.state.doc.toString());
    }),
  ];
  if (check) {
    extensions.push(linter(async (view) => toDiagnostics(view.state, await check(view.state.doc.toString())),
      { delay: 400 }));
  }
  return new EditorView({ parent, root, state: EditorState.create({ doc, extensions }) });
}

/** Shows `errors` (`[{ line, column, message }]`, 1-based) on the editor now. */
export function showErrors(view, errors) {
  view.dispatch(setDiagnostics(view.state, toDiagnostics(view.state, errors)));
}

/** The editor's text. */
export function textOf(view) {
  return view.state.doc.toString();
}

/** Replaces the editor's text. */
export function setText(view, text) {
  view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: text } });
}

function toDiagnostics(state, errors) {
  return (errors || []).map(({ line, column, message }) => {
    const lineNo = Math.min(Math.max(1, line || 1), state.doc.lines);
    const at = state.doc.line(lineNo);
    const from = Math.min(at.from + Math.max(0, (column || 1) - 1), at.to);
    // Mark at least one character so the underline is visible even at the end of a line.
    const to = from < at.to ? from + 1 : from;
    return { from, to, severity: 'error', message: `line ${lineNo}, column ${column || 1}: ${message}` };
  });
}
