/*! Acme Help Tab: example Natter widget. Minimal on purpose: no resume, no typing, no read marks. */
(function (boot) {
  'use strict';
  if (window.Natter) return;
  var doc = document, ws = null, retry = 1000, mine = {};
  var visitorKey = 'acme:' + boot.site_key + ':visitor';
  function el(tag, attrs, kids) {
    var node = doc.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === 'text') node.textContent = attrs[k]; else node.setAttribute(k, attrs[k]);
    });
    (kids || []).forEach(function (kid) { node.appendChild(kid); });
    return node;
  }
  var host = el('acme-help-tab'), root = host.attachShadow({ mode: 'open' });
  var list = el('ol', { 'aria-live': 'polite', role: 'log' });
  var input = el('input', { 'aria-label': boot.label, maxlength: '4000' });
  var form = el('form', {}, [input, el('button', { type: 'submit', text: '→', 'aria-label': 'Send' })]);
  var panel = el('div', { id: 'acme-panel', role: 'dialog', 'aria-label': boot.label }, [list, form]);
  var tab = el('button', { id: 'acme-tab', type: 'button', 'aria-expanded': 'false', text: boot.label });
  var frame = el('div', { class: 'acme', 'data-side': boot.side }, [tab, panel]);
  frame.style.setProperty('--acme-accent', boot.accent);
  panel.hidden = true;
  root.appendChild(el('style', { text: boot.css }));
  root.appendChild(frame);

  function toggle() {
    panel.hidden = !panel.hidden;
    tab.setAttribute('aria-expanded', String(!panel.hidden));
    if (!panel.hidden) input.focus();
  }
  function show(kind, body) { list.appendChild(el('li', { 'data-author': kind, text: body })); list.scrollTop = 1e9; }
  function stored() { try { return localStorage.getItem(visitorKey); } catch (e) { return null; } }

  function connect() {
    ws = new WebSocket(boot.ws_url + '?site=' + encodeURIComponent(boot.site_key));
    ws.onopen = function () {
      ws.send(JSON.stringify({ type: 'hello', v: 1, visitor_id: stored(),
        page: { url: location.href, title: doc.title, referrer: doc.referrer } }));
    };
    ws.onmessage = function (e) {
      var f;
      try { f = JSON.parse(e.data); } catch (x) { return; }
      if (f.type === 'welcome') { retry = 1000; try { localStorage.setItem(visitorKey, f.visitor_id); } catch (x) {} }
      // Own messages were shown when sent; the server's copy of them is skipped.
      if (f.type === 'message' && !mine[f.client_id]) show(f.author.kind, f.body);
    };
    ws.onclose = function () { ws = null; setTimeout(connect, retry = Math.min(retry * 2, 30000)); };
  }

  tab.addEventListener('click', toggle);
  frame.addEventListener('keydown', function (e) { if (e.key === 'Escape' && !panel.hidden) { toggle(); tab.focus(); } });
  form.addEventListener('submit', function (e) {
    e.preventDefault();
    var body = input.value.trim();
    if (!body || !ws || ws.readyState !== 1) return;
    var id = crypto.randomUUID();
    mine[id] = true;
    ws.send(JSON.stringify({ type: 'message', client_id: id, body: body }));
    show('visitor', body);
    input.value = '';
  });
  window.Natter = Object.freeze({ open: function () { if (panel.hidden) toggle(); }, close: function () { if (!panel.hidden) toggle(); }, toggle: toggle });
  doc.body.appendChild(host);
  connect();
})(__ACME_BOOT__);
