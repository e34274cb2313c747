/*! Natter co-browse recorder, served by the co-browse plugin. Loaded by the widget only after the visitor
 * agreed; records the page with rrweb (bundled above), masks sensitive fields before anything leaves the
 * browser, and carries out the agent's pointer, highlights and (only when granted) remote control. */
(function (cfg, rr) {
  'use strict';
  var win = window, doc = document;
  if (!rr || !rr.record || win.NatterCobrowse) return;
  var record = rr.record;

  // Built-in masks: password fields, payment-card fields by autocomplete and common names, the opt-in
  // attribute, and the admin's selectors. The widget and this script's own UI are never recorded.
  var CARD = /card|ccnum|cc-num|cc_num|cvv|cvc|csc|cc-exp|cc_exp|iban|passw/i;
  var MASK = ['[data-natter-mask]'].concat(cfg.mask_selectors || []).join(',');
  var BLOCK = 'natter-widget,[data-natter-cobrowse-ui]';

  function matches(el, sel) {
    try { return !!(el && el.closest && el.closest(sel)); } catch (e) { return true; }
  }
  function sensitive(el) {
    if (!el || el.nodeType !== 1) return false;
    var type = (el.getAttribute('type') || '').toLowerCase();
    var auto = (el.getAttribute('autocomplete') || '').toLowerCase();
    return type === 'password' || /(^|\s)cc-/.test(auto) || /password/.test(auto) ||
      CARD.test(el.getAttribute('name') || '') || CARD.test(el.id || '') || matches(el, MASK);
  }

  function start(opts) {
    var send = opts.send, sessionId = opts.sessionId, buffer = [], size = 0, timer = 0;
    var granted = false, stopped = false;
    function flush() {
      clearTimeout(timer);
      timer = 0;
      if (!buffer.length) return;
      send({ type: 'cobrowse_events', session_id: sessionId, events: buffer });
      buffer = [];
      size = 0;
    }
    var stopRecording = record({
      emit: function (event) {
        if (stopped) return;
        buffer.push(event);
        size += JSON.stringify(event).length;
        // Snapshots go out at once; small changes are batched for a tenth of a second.
        if (size > 32768 || event.type === 2) flush();
        else if (!timer) timer = setTimeout(flush, 100);
      },
      maskAllInputs: true,
      maskInputFn: function (text, el) { return sensitive(el) ? '*'.repeat(text.length) : text; },
      maskTextSelector: MASK,
      blockSelector: BLOCK,
      sampling: { mousemove: 50, scroll: 150 },
      slimDOMOptions: { script: true, comment: true, headFavicon: true, headWhitespace: true }
    });

    // ---- what the visitor sees: a bar with the session's state, the agent's pointer ----
    var ui = doc.createElement('div');
    ui.setAttribute('data-natter-cobrowse-ui', '');
    var shadow = ui.attachShadow({ mode: 'open' });
    var css = doc.createElement('style');
    css.textContent = '.bar{position:fixed;left:50%;top:8px;transform:translateX(-50%);z-index:2147483647;' +
      'background:#111827;color:#fff;font:14px/1.4 system-ui,sans-serif;border-radius:8px;padding:6px 10px;' +
      'display:flex;gap:8px;align-items:center;box-shadow:0 2px 8px rgba(0,0,0,.3)}' +
      'button{font:inherit;border:0;border-radius:6px;padding:3px 8px;cursor:pointer}' +
      '.end{background:#dc2626;color:#fff}.pointer{position:fixed;width:16px;height:16px;margin:-8px 0 0 -8px;' +
      'border-radius:50%;background:rgba(220,38,38,.8);border:2px solid #fff;z-index:2147483647;pointer-events:none;display:none}' +
      '.mark{position:fixed;border:3px solid #f59e0b;border-radius:4px;z-index:2147483646;pointer-events:none;display:none}';
    var bar = doc.createElement('div');
    bar.className = 'bar';
    bar.setAttribute('data-testid', 'natter-cobrowse-bar');
    var label = doc.createElement('span');
    label.textContent = opts.texts.active;
    var control = doc.createElement('button');
    control.type = 'button';
    control.setAttribute('data-testid', 'natter-cobrowse-control');
    var end = doc.createElement('button');
    end.type = 'button';
    end.className = 'end';
    end.setAttribute('data-testid', 'natter-cobrowse-end');
    end.textContent = opts.texts.end;
    var pointer = doc.createElement('div');
    pointer.className = 'pointer';
    pointer.setAttribute('data-testid', 'natter-cobrowse-pointer');
    var mark = doc.createElement('div');
    mark.className = 'mark';
    bar.appendChild(label);
    if (opts.allowControl) bar.appendChild(control);
    bar.appendChild(end);
    [css, bar, pointer, mark].forEach(function (n) { shadow.appendChild(n); });
    doc.body.appendChild(ui);

    function renderControl() {
      control.textContent = granted ? opts.texts.revoke : opts.texts.grant;
      control.dataset.granted = String(granted);
    }
    renderControl();
    control.addEventListener('click', function () {
      granted = !granted;
      renderControl();
      send({ type: 'cobrowse_control_grant', session_id: sessionId, granted: granted });
    });
    end.addEventListener('click', function () {
      send({ type: 'cobrowse_end', session_id: sessionId });
      stop();
    });

    function node(id) {
      var n = record.mirror.getNode(id);
      return n && n.nodeType === 1 ? n : null;
    }
    var markTimer = 0;
    function act(f) {
      var el;
      if (f.action === 'pointer') {
        pointer.style.display = 'block';
        pointer.style.left = f.x + 'px';
        pointer.style.top = f.y + 'px';
        return;
      }
      if (f.action === 'highlight' && (el = node(f.id))) {
        var r = el.getBoundingClientRect();
        mark.style.cssText = 'display:block;left:' + (r.left - 4) + 'px;top:' + (r.top - 4) + 'px;width:' +
          (r.width + 2) + 'px;height:' + (r.height + 2) + 'px';
        clearTimeout(markTimer);
        markTimer = setTimeout(function () { mark.style.display = 'none'; }, 3000);
        return;
      }
      // Everything below changes the visitor's page: only with their grant, never in a masked field, and
      // never on the widget or this bar.
      if (!granted) return;
      if (f.action === 'scroll') { win.scrollTo(Number(f.x) || 0, Number(f.y) || 0); return; }
      el = node(f.id);
      if (!el || sensitive(el) || matches(el, BLOCK)) return;
      if (f.action === 'click') {
        if (el.focus) el.focus();
        el.click();
      } else if (f.action === 'input' && 'value' in el && typeof f.text === 'string') {
        el.value = f.text;
        el.dispatchEvent(new Event('input', { bubbles: true }));
        el.dispatchEvent(new Event('change', { bubbles: true }));
      }
    }

    function stop() {
      if (stopped) return;
      flush();
      stopped = true;
      if (stopRecording) stopRecording();
      if (ui.parentNode) ui.parentNode.removeChild(ui);
      if (opts.onStop) opts.onStop();
    }

    return {
      // Frames the widget hands over from the visitor socket.
      handle: function (f) {
        if (f.type === 'cobrowse_snapshot') record.takeFullSnapshot(true);
        else if (f.type === 'cobrowse_control') act(f);
        else if (f.type === 'cobrowse_state') { granted = !!f.control; renderControl(); }
        else if (f.type === 'cobrowse_ended') stop();
      },
      stop: stop
    };
  }

  win.NatterCobrowse = { start: start };
})(__NATTER_COBROWSE_CONFIG__, typeof rrwebRecord === 'undefined' ? null : rrwebRecord);
