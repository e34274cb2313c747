/*! Natter chat widget, rendered by the WebChat plugin. Speaks protocol v1 on /ws/visitor. */
(function (boot) {
  'use strict';
  var win = window, doc = document;
  // Loaded twice on one page: the first copy owns the widget.
  if (!boot || win.Natter) return;

  var cfg = boot.config, t = boot.i18n, ctx = boot.ctx || {};
  var PROTOCOL = 1, MAX_BODY = 4000;

  // Endpoints: where the browser really fetched this script from wins; the render context covers inlining.
  var script = doc.currentScript, src = null;
  try { src = script && script.src ? new URL(script.src, location.href) : null; } catch (e) { src = null; }
  var site = (src && src.searchParams.get('site')) || ctx.site_key || '';
  var base = src ? new URL('.', src).href.replace(/\/$/, '') : (ctx.base_url || '');
  var wsUrl = (src ? base.replace(/^http/, 'ws') + '/ws/visitor' : ctx.ws_url || '') +
    '?site=' + encodeURIComponent(site);

  // More languages (`translations`): the first of the visitor's languages the admin added, unless the
  // main one comes first; `&lang=` on the script URL chooses instead.
  (function chooseLanguage() {
    var offered = cfg.translations || {}, labels = boot.languages || {};
    var forced = src && src.searchParams.get('lang');
    var wanted = forced ? [forced] : (win.navigator.languages || [win.navigator.language || '']);
    for (var i = 0; i < wanted.length; i++) {
      var code = String(wanted[i] || '').toLowerCase().split('-')[0];
      if (code === cfg.language) return;
      if (offered[code] && labels[code]) {
        Object.keys(offered[code]).forEach(function (k) { cfg[k] = offered[code][k]; });
        cfg.language = code;
        t = labels[code];
        return;
      }
    }
  })();

  // localStorage may be missing or throw (private modes, sandboxed frames): the widget then forgets on reload.
  var prefix = 'natter:' + site + ':';
  function load(key, fallback) {
    try { var v = win.localStorage.getItem(prefix + key); return v === null ? fallback : JSON.parse(v); }
    catch (e) { return fallback; }
  }
  function save(key, value) {
    try { win.localStorage.setItem(prefix + key, JSON.stringify(value)); } catch (e) { /* storage full or off */ }
  }

  function uuid() {
    var c = win.crypto;
    if (c.randomUUID) return c.randomUUID();
    var b = c.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 15) | 64;
    b[8] = (b[8] & 63) | 128;
    var x = Array.prototype.map.call(b, function (n) { return (n + 256).toString(16).slice(1); }).join('');
    return x.slice(0, 8) + '-' + x.slice(8, 12) + '-' + x.slice(12, 16) + '-' + x.slice(16, 20) + '-' + x.slice(20);
  }

  var s = {
    ws: null, ready: false, welcomed: false, stopped: false, attempt: 0, retry: 0,
    visitorId: load('visitor', null) || uuid(),
    conversationId: null, lastSeq: 0, readSent: 0, seenEl: null,
    outbox: load('outbox', []), open: false, visible: true, away: false, unread: 0,
    // The server sends mail (`welcome.mail`): the offline form and transcripts work.
    mail: false,
    presence: { online: 0, available: 0 },
    typingSentAt: 0, typingIdle: 0, peerTyping: 0, pinger: 0, lastFrameAt: 0,
    // Why the server closed the socket (e.g. it fell behind), shown while reconnecting.
    closeReason: '', resendLater: 0
  };

  // ---- DOM: every text goes in through textContent, never as markup ----
  function h(tag, attrs, kids) {
    var el = doc.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === 'text') el.textContent = attrs[k]; else el.setAttribute(k, attrs[k]);
    });
    (kids || []).forEach(function (kid) { el.appendChild(kid); });
    return el;
  }
  function icon(d) {
    var ns = 'http://www.w3.org/2000/svg', svg = doc.createElementNS(ns, 'svg'), p = doc.createElementNS(ns, 'path');
    svg.setAttribute('viewBox', '0 0 24 24');
    svg.setAttribute('aria-hidden', 'true');
    svg.setAttribute('focusable', 'false');
    p.setAttribute('d', d);
    svg.appendChild(p);
    return svg;
  }
  var CHAT = 'M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z';
  var CLOSE = 'M6 6l12 12M18 6L6 18';
  var SEND = 'M3 11l18-8-8 18-2-8z';

  var host = h('natter-widget', { 'data-natter': '' });
  var root = host.attachShadow({ mode: 'open' });
  var style = h('style', { text: boot.css });
  var title = h('h2', { id: 'natter-title', text: cfg.title });
  var closeBtn = h('button', { id: 'natter-close', 'data-testid': 'natter-close', type: 'button',
    'aria-label': t.close }, [icon(CLOSE)]);
  var status = h('p', { id: 'natter-status', 'data-testid': 'natter-status', role: 'status' });
  var list = h('ol', { id: 'natter-messages', 'data-testid': 'natter-messages', role: 'log',
    'aria-live': 'polite', 'aria-label': cfg.title, tabindex: '0' });
  var typing = h('p', { id: 'natter-typing', 'data-testid': 'natter-typing', text: t.typing });
  var input = h('textarea', { id: 'natter-input', 'data-testid': 'natter-input', rows: '1',
    maxlength: String(MAX_BODY), placeholder: cfg.placeholder, 'aria-label': cfg.placeholder });
  var sendBtn = h('button', { id: 'natter-send', 'data-testid': 'natter-send', type: 'submit',
    'aria-label': t.send }, [icon(SEND)]);
  var form = h('form', { id: 'natter-form' }, [input, sendBtn]);
  var panel = h('section', { id: 'natter-window', 'data-testid': 'natter-window', role: 'dialog',
    'aria-labelledby': 'natter-title' }, [h('header', {}, [title, closeBtn]), status, list, typing, form]);
  var badge = h('span', { class: 'badge', 'data-testid': 'natter-unread', 'aria-hidden': 'true' });
  var chatIcon = icon(CHAT), closeIcon = icon(CLOSE);
  var launcher = h('button', { id: 'natter-launcher', 'data-testid': 'natter-launcher', type: 'button',
    'aria-label': t.open, 'aria-expanded': 'false', 'aria-controls': 'natter-window' },
  cfg.launcher === 'tab' ? [h('span', { class: 'label', text: cfg.title }), badge] : [chatIcon, closeIcon, badge]);
  var frame = h('div', { class: 'natter', 'data-position': cfg.position, 'data-launcher': cfg.launcher },
    [panel, launcher]);
  // The colours are custom properties on each top-level box of the shadow root (the window and the
  // co-browse consent question), so every part reads the same ones.
  function paint(el) {
    el.style.setProperty('--natter-color', cfg.color);
    el.style.setProperty('--natter-on-color', boot.on_color);
    return el;
  }
  paint(frame);
  panel.hidden = typing.hidden = status.hidden = badge.hidden = true;
  // SVG elements have no `hidden` property; the attribute works through the stylesheet's [hidden] rule.
  closeIcon.setAttribute('hidden', '');
  root.appendChild(style);
  root.appendChild(frame);
  if (cfg.greeting) list.appendChild(h('li', { 'data-author': 'system', 'data-greeting': '' }, [text(cfg.greeting)]));

  function text(body) { return h('p', { class: 'body', text: body }); }

  // ---- messages ----
  function find(id, clientId) {
    var items = list.children;
    for (var i = 0; i < items.length; i++) {
      var d = items[i].dataset;
      if ((id && d.id === id) || (clientId && d.clientId === clientId)) return items[i];
    }
    return null;
  }
  // Stored messages keep seq order; unsent ones (no seq yet) stay at the end.
  function place(li, seq) {
    var items = list.children;
    for (var i = 0; i < items.length; i++) {
      var d = items[i].dataset;
      if ('greeting' in d) continue;
      if (!d.seq || (seq && Number(d.seq) > seq)) { list.insertBefore(li, items[i]); return; }
    }
    list.appendChild(li);
  }
  function bubble(kind, body, name) {
    var li = h('li', { 'data-author': kind }, [text(body)]);
    if (kind === 'agent' && name) li.insertBefore(h('span', { class: 'who', text: name }), li.firstChild);
    return li;
  }
  function mark(li, m) {
    li.dataset.id = m.id;
    li.dataset.seq = String(m.seq);
    li.dataset.status = 'sent';
    if (m.created_at) li.title = new Date(m.created_at).toLocaleString(cfg.language);
  }
  function scrollDown() { list.scrollTop = list.scrollHeight; }

  function onMessage(m) {
    track(m.conversation_id);
    if (m.seq > s.lastSeq) s.lastSeq = m.seq;
    var kind = (m.author && m.author.kind) || 'system';
    var li = find(m.id, m.client_id);
    if (li) { li.remove(); } else { li = bubble(kind, m.body, m.author && m.author.name); }
    mark(li, m);
    place(li, m.seq);
    if (m.client_id) dropFromOutbox(m.client_id);
    if (kind === 'agent') {
      showPeerTyping(false);
      if (!s.open) { s.unread++; badge.textContent = String(s.unread); badge.hidden = false; }
    }
    scrollDown();
    markRead();
  }
  function onAck(a) {
    track(a.conversation_id);
    var li = find(a.id, a.client_id);
    if (li) { li.remove(); mark(li, a); place(li, a.seq); }
    dropFromOutbox(a.client_id);
  }
  // A new conversation numbers its messages from 1 again.
  function track(conversationId) {
    if (conversationId && conversationId !== s.conversationId) {
      if (s.conversationId) s.lastSeq = s.readSent = 0;
      s.conversationId = conversationId;
      renderStatus();
    }
  }
  function onRead(r) {
    if (r.reader !== 'agent') return;
    var last = null;
    Array.prototype.forEach.call(list.children, function (li) {
      if (li.dataset.author === 'visitor' && Number(li.dataset.seq) <= r.seq) { li.dataset.read = 'true'; last = li; }
    });
    if (!last) return;
    if (s.seenEl) s.seenEl.remove();
    s.seenEl = h('span', { class: 'meta', text: t.seen });
    last.appendChild(s.seenEl);
  }
  function markRead() {
    if (s.open && doc.visibilityState === 'visible' && s.lastSeq > s.readSent && send({ type: 'read', seq: s.lastSeq })) {
      s.readSent = s.lastSeq;
    }
  }

  // ---- sending, with a queue that outlives the connection and the page ----
  function submit() {
    var body = input.value.trim();
    if (!body) return;
    var m = { client_id: uuid(), body: body.slice(0, MAX_BODY) };
    s.outbox.push(m);
    save('outbox', s.outbox);
    var li = bubble('visitor', m.body);
    li.dataset.clientId = m.client_id;
    li.dataset.status = 'pending';
    list.appendChild(li);
    scrollDown();
    input.value = '';
    typingStopped();
    if (s.ready) send({ type: 'message', client_id: m.client_id, body: m.body });
  }
  function pendingBubbles() {
    s.outbox.forEach(function (m) {
      if (find(null, m.client_id)) return;
      var li = bubble('visitor', m.body);
      li.dataset.clientId = m.client_id;
      li.dataset.status = 'pending';
      list.appendChild(li);
    });
  }
  function dropFromOutbox(clientId) {
    var before = s.outbox.length;
    s.outbox = s.outbox.filter(function (m) { return m.client_id !== clientId; });
    if (s.outbox.length !== before) save('outbox', s.outbox);
  }
  // Same client_id on every resend: the server stores a message once and acks duplicates.
  function flush() {
    s.outbox.forEach(function (m) { send({ type: 'message', client_id: m.client_id, body: m.body }); });
  }

  // ---- typing, both ways ----
  function typingInput() {
    if (!input.value.trim()) { typingStopped(); return; }
    var now = Date.now();
    if (now - s.typingSentAt > 3000 && send({ type: 'typing', active: true })) s.typingSentAt = now;
    clearTimeout(s.typingIdle);
    s.typingIdle = setTimeout(typingStopped, 4000);
  }
  function typingStopped() {
    clearTimeout(s.typingIdle);
    if (s.typingSentAt) { s.typingSentAt = 0; send({ type: 'typing', active: false }); }
  }
  function showPeerTyping(active) {
    clearTimeout(s.peerTyping);
    typing.hidden = !active;
    // A lost "stopped typing" frame must not leave the indicator on forever.
    if (active) s.peerTyping = setTimeout(function () { typing.hidden = true; }, 10000);
  }

  // ---- connection ----
  function send(frame) {
    if (!s.ws || s.ws.readyState !== 1) return false;
    s.ws.send(JSON.stringify(frame));
    return true;
  }
  // The page vouches for a signed-in customer with the site backend's HMAC (README: "Identifying a
  // visitor"); only the id and that proof leave the page.
  function customerIdentity() {
    var c = window.NatterSettings && window.NatterSettings.customer;
    if (!c || typeof c.id !== 'string' || typeof c.hash !== 'string') return null;
    return { id: c.id, hash: c.hash };
  }

  function connect() {
    clearTimeout(s.retry);
    if (s.stopped || s.ws || !site) return;
    var ws;
    try { ws = new WebSocket(wsUrl); } catch (e) { reconnectLater(); return; }
    s.ws = ws;
    ws.onopen = function () {
      s.lastFrameAt = Date.now();
      var hello = { type: 'hello', v: PROTOCOL, visitor_id: s.visitorId,
        page: { url: location.href, title: doc.title, referrer: doc.referrer }, last_seq: s.lastSeq,
        language: String(win.navigator.language || '') };
      var who = customerIdentity();
      if (who) hello.customer = who;
      send(hello);
    };
    ws.onmessage = function (e) {
      var f;
      try { f = JSON.parse(e.data); } catch (err) { return; }
      s.lastFrameAt = Date.now();
      if (f && typeof f.type === 'string' && handlers[f.type]) handlers[f.type](f);
    };
    ws.onclose = function (e) {
      if (s.ws !== ws) return;
      s.ws = null;
      s.ready = false;
      s.closeReason = (e && e.reason) || '';
      clearInterval(s.pinger);
      showPeerTyping(false);
      renderStatus();
      reconnectLater();
    };
  }
  // Exponential back-off with jitter, so a restarting server is not hit by every visitor at once.
  function reconnectLater() {
    if (s.stopped) return;
    var delay = Math.min(30000, 500 * Math.pow(2, s.attempt++));
    s.retry = setTimeout(connect, delay / 2 + Math.random() * delay / 2);
  }
  function reconnectNow() {
    if (!s.ws && !s.stopped) { s.attempt = 0; connect(); }
  }
  function keepAlive() {
    clearInterval(s.pinger);
    s.pinger = setInterval(function () {
      // Nothing heard for a minute: the connection is dead even if the browser has not noticed.
      if (Date.now() - s.lastFrameAt > 60000 && s.ws) { s.ws.close(); return; }
      send({ type: 'ping' });
    }, 25000);
  }

  var handlers = {
    welcome: function (w) {
      s.ready = s.welcomed = true;
      s.attempt = 0;
      s.closeReason = '';
      if (w.visitor_id) { s.visitorId = w.visitor_id; save('visitor', w.visitor_id); }
      if (w.conversation && w.conversation.status === 'open') track(w.conversation.id);
      if (w.presence) s.presence = w.presence;
      s.mail = w.mail === true;
      renderStatus();
      keepAlive();
      flush();
      markRead();
    },
    message: onMessage,
    ack: onAck,
    typing: function (f) { if (f.author && f.author.kind === 'agent') showPeerTyping(!!f.active); },
    read: onRead,
    presence: function (p) { s.presence = { online: p.online, available: p.available }; renderStatus(); },
    conversation: function (f) {
      var c = f.conversation;
      if (c && c.status === 'closed' && c.id === s.conversationId) {
        list.appendChild(h('li', { 'data-author': 'system' }, [text(t.closed)]));
        s.conversationId = null;
        s.lastSeq = s.readSent = 0;
        scrollDown();
        renderStatus();
      }
    },
    // Sent by the server's visibility rules; hides the launcher, never a chat the visitor has open.
    // `away`: visible, but a rule says the team is away, so the offline form replaces the chat.
    visibility: function (f) {
      s.away = f.away === true;
      setVisible(f.visible !== false);
      renderStatus();
    },
    error: function (e) {
      if (e.code === 'unsupported_version') { s.stopped = true; renderStatus(); return; }
      if (!e.client_id) return;
      // Refused for now, not for good: it stays queued and goes again (same client_id) a bit later.
      if (e.code === 'rate_limited') {
        if (!s.resendLater) s.resendLater = setTimeout(function () { s.resendLater = 0; flush(); }, 20000);
        return;
      }
      var li = find(null, e.client_id);
      if (li) { li.dataset.status = 'failed'; li.appendChild(h('span', { class: 'meta', text: t.failed })); }
      dropFromOutbox(e.client_id);
    },
    // An admin stored a new configuration: this copy gives way to the newly rendered one.
    widget_config: function (f) { replaceWith(f.version); },
    pong: function () {}
  };

  // ---- co-browsing: the consent question lives here; the recorder script is fetched only once the
  // visitor agreed, so pages without a session never load it ----
  var cob = { session: null, ctl: null, prompt: null, replaceWith: null };
  function cobrowseClosePrompt() {
    if (cob.prompt && cob.prompt.parentNode) cob.prompt.parentNode.removeChild(cob.prompt);
    cob.prompt = null;
  }
  function cobrowseAsk(f) {
    if (cob.ctl) return;
    cobrowseClosePrompt();
    cob.session = f.session_id;
    var allow = h('button', { type: 'button', class: 'cb-allow', 'data-testid': 'natter-cobrowse-allow', text: 'Allow' });
    var decline = h('button', { type: 'button', 'data-testid': 'natter-cobrowse-decline', text: 'Decline' });
    cob.prompt = paint(h('div', { class: 'cb-consent', role: 'alertdialog', 'aria-live': 'assertive',
      'data-testid': 'natter-cobrowse-consent' }, [h('p', { text: f.consent_text }),
      h('div', { class: 'cb-actions' }, [decline, allow])]));
    root.appendChild(cob.prompt);
    decline.addEventListener('click', function () {
      send({ type: 'cobrowse_consent', session_id: f.session_id, granted: false });
      cobrowseClosePrompt();
      cob.session = null;
    });
    allow.addEventListener('click', function () {
      cobrowseClosePrompt();
      send({ type: 'cobrowse_consent', session_id: f.session_id, granted: true });
      cobrowseLoad(f);
    });
  }
  function cobrowseLoad(f) {
    function go() {
      if (cob.session !== f.session_id || !win.NatterCobrowse || cob.ctl) return;
      cob.ctl = win.NatterCobrowse.start({ sessionId: f.session_id, send: send, allowControl: !!f.allow_control,
        texts: { active: 'An agent sees this page', grant: 'Let the agent control', revoke: 'Take back control',
          end: 'End' },
        onStop: function () { cob.ctl = null; cob.session = null; afterCobrowse(); } });
    }
    if (win.NatterCobrowse) { go(); return; }
    var tag = doc.createElement('script');
    tag.src = base + '/cobrowse/recorder.js';
    tag.async = true;
    tag.onload = go;
    (doc.head || doc.body).appendChild(tag);
  }
  // A new configuration that arrived during a session is applied once it is over.
  function afterCobrowse() {
    var version = cob.replaceWith;
    cob.replaceWith = null;
    if (version !== null && !cob.session) replaceWith(version);
  }
  function cobrowseFrame(f) {
    if (f.type === 'cobrowse_request') { cobrowseAsk(f); return; }
    if (f.session_id !== cob.session) return;
    if (f.type === 'cobrowse_state' && (f.status === 'ended' || f.status === 'declined')) {
      cobrowseClosePrompt();
      var ctl = cob.ctl;
      cob.ctl = null;
      cob.session = null;
      if (ctl) ctl.handle({ type: 'cobrowse_ended' });
      afterCobrowse();
      return;
    }
    if (cob.ctl) cob.ctl.handle(f);
  }
  ['cobrowse_request', 'cobrowse_state', 'cobrowse_snapshot', 'cobrowse_control'].forEach(function (type) {
    handlers[type] = cobrowseFrame;
  });

  // Nobody can chat: no agent is available, or the rules say the team is away (even if agents are).
  // Then the widget offers one thing, never both (README, "Nobody online"): the offline form when the
  // server takes it (mail is on) and the configuration keeps it, or else chat that says it will be
  // answered later. A conversation already open goes on as chat either way.
  function nobodyToChat() { return s.away || !s.presence.available; }
  function renderStatus() {
    var message = '', formShown = !!offline && offline.shown();
    if (s.stopped) message = t.unavailable;
    else if (s.welcomed && !s.ready) message = t.reconnecting + (s.closeReason ? ' (' + s.closeReason + ')' : '');
    else if (s.ready && nobodyToChat()) message = formShown ? cfg.offline_text : t.answer_later;
    status.textContent = message;
    status.hidden = !message;
    status.dataset.state = s.stopped ? 'stopped' : !s.ready ? 'offline' : nobodyToChat() ? 'away' : 'online';
    status.dataset.offer = s.ready && nobodyToChat() ? (formShown ? 'form' : 'later') : '';
    form.hidden = formShown;
    if (offline) offline.update();
    if (transcript) transcript.update();
  }

  // ---- offline form: nobody can chat, so a message goes to the site's inbox by email ----
  // While nobody can chat, the server takes the form and the visitor has no open conversation, the
  // form replaces the chat input; what it sends is stored as a conversation like any other and mailed
  // to the inbox. Once sent, the conversation goes on as chat.
  function offlineForm() {
    if (!cfg.offline_form) return null;
    var sent = false, busy = false;
    function field(id, label, control) {
      control.id = 'natter-offline-' + id;
      control.setAttribute('data-testid', 'natter-offline-' + id);
      control.required = true;
      return h('label', { 'for': control.id }, [h('span', { text: label }), control]);
    }
    var name = h('input', { type: 'text', maxlength: '100', autocomplete: 'name' });
    var email = h('input', { type: 'email', maxlength: '254', autocomplete: 'email' });
    var message = h('textarea', { rows: '4', maxlength: String(MAX_BODY) });
    var note = h('p', { class: 'offline-note', 'data-testid': 'natter-offline-note', role: 'status' });
    var button = h('button', { type: 'submit', 'data-testid': 'natter-offline-send', text: cfg.offline_send_label });
    var box = h('form', { id: 'natter-offline', 'data-testid': 'natter-offline' }, [
      field('name', cfg.offline_name_label, name), field('email', cfg.offline_email_label, email),
      field('message', cfg.offline_message_label, message), note, button]);
    box.hidden = true;
    panel.insertBefore(box, form);
    box.addEventListener('submit', function (e) {
      e.preventDefault();
      if (busy) return;
      busy = true;
      note.textContent = '';
      var body = { site: site, visitor_id: s.visitorId, name: name.value, email: email.value,
        message: message.value, page_url: location.href, language: cfg.language, client_id: uuid() };
      win.fetch(base + '/api/v1/widget/offline-messages', { method: 'POST',
        headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
        .then(function (r) { return r.json().then(function (j) { return { ok: r.ok, j: j }; }); })
        .then(function (res) {
          busy = false;
          if (!res.ok) { note.textContent = (res.j && res.j.error && res.j.error.message) || t.failed; return; }
          sent = true;
          list.appendChild(h('li', { 'data-author': 'system', 'data-testid': 'natter-offline-sent' },
            [text(cfg.offline_sent_text)]));
          track(res.j.conversation_id);
          scrollDown();
          renderStatus();
        }, function () { busy = false; note.textContent = t.failed; });
    });
    function shown() { return !sent && s.ready && s.mail && nobodyToChat() && !s.conversationId; }
    function update() { box.hidden = !shown(); }
    return { update: update, shown: shown, focus: function () { name.focus(); } };
  }
  var offline = offlineForm();

  // ---- transcript: while the visitor has a conversation (and the server mails), they can have it
  // mailed to them ----
  // It goes to the address given in the conversation (the offline form's). Without one the server
  // answers 409 and the widget asks for an address, which then becomes the conversation's: the
  // server refuses any other afterwards (422), so this cannot mail arbitrary addresses.
  function transcriptControl() {
    var busy = false, asking = false;
    var ask = h('button', { type: 'button', id: 'natter-transcript-open', 'data-testid': 'natter-transcript-open',
      text: cfg.transcript_label });
    var email = h('input', { type: 'email', id: 'natter-transcript-email', 'data-testid': 'natter-transcript-email',
      maxlength: '254', autocomplete: 'email', required: 'required' });
    var sendIt = h('button', { type: 'submit', 'data-testid': 'natter-transcript-send', text: cfg.transcript_send_label });
    var address = h('form', { id: 'natter-transcript-form', 'data-testid': 'natter-transcript-form' }, [
      h('label', { 'for': email.id }, [h('span', { text: cfg.transcript_email_label }), email]), sendIt]);
    var note = h('p', { class: 'transcript-note', 'data-testid': 'natter-transcript-note', role: 'status' });
    var bar = h('div', { id: 'natter-transcript', 'data-testid': 'natter-transcript' }, [ask, address, note]);
    bar.hidden = address.hidden = true;
    panel.insertBefore(bar, form);
    function say(textValue, state) { note.textContent = textValue; note.dataset.state = state; }
    function request(withEmail) {
      if (busy || !s.conversationId) return;
      busy = true;
      say('', '');
      var body = { site: site, visitor_id: s.visitorId, conversation_id: s.conversationId, language: cfg.language };
      if (withEmail) body.email = email.value;
      win.fetch(base + '/api/v1/widget/transcripts', { method: 'POST',
        headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
        .then(function (r) {
          busy = false;
          if (r.status === 202) { asking = false; say(cfg.transcript_sent_text, 'sent'); }
          else if (r.status === 409) { asking = true; }
          else if (r.status === 422) { say(cfg.transcript_invalid_text, 'invalid'); }
          else if (r.status === 429) { say(cfg.transcript_limited_text, 'limited'); }
          else { say(t.failed, 'failed'); }
          update();
          if (asking) email.focus();
        }, function () { busy = false; say(t.failed, 'failed'); });
    }
    ask.addEventListener('click', function () { request(false); });
    address.addEventListener('submit', function (e) { e.preventDefault(); request(true); });
    function update() {
      bar.hidden = !s.ready || !s.mail || !s.conversationId;
      address.hidden = !asking;
    }
    return { update: update };
  }
  var transcript = cfg.transcript_label ? transcriptControl() : null;

  // ---- open, close, visibility ----
  // `restoring`: reopened after a page load, so the host page keeps its focus.
  function open(restoring) {
    if (s.open) return;
    s.open = true;
    save('open', true);
    panel.hidden = false;
    frame.setAttribute('data-open', '');
    launcher.setAttribute('aria-expanded', 'true');
    launcher.setAttribute('aria-label', t.close);
    chatIcon.setAttribute('hidden', '');
    closeIcon.removeAttribute('hidden');
    s.unread = 0;
    badge.hidden = true;
    scrollDown();
    if (restoring !== true) {
      if (offline && offline.shown()) offline.focus(); else input.focus();
    }
    markRead();
  }
  function close() {
    if (!s.open) return;
    var hadFocus = root.activeElement !== null;
    s.open = false;
    save('open', false);
    panel.hidden = true;
    frame.removeAttribute('data-open');
    launcher.setAttribute('aria-expanded', 'false');
    launcher.setAttribute('aria-label', t.open);
    closeIcon.setAttribute('hidden', '');
    chatIcon.removeAttribute('hidden');
    typingStopped();
    launcher.hidden = !s.visible;
    if (hadFocus && s.visible) launcher.focus();
  }
  function toggle() { if (s.open) close(); else open(); }
  function setVisible(visible) {
    s.visible = visible;
    host.dataset.visible = String(visible);
    launcher.hidden = !visible && !s.open;
  }

  launcher.addEventListener('click', toggle);
  closeBtn.addEventListener('click', close);
  form.addEventListener('submit', function (e) { e.preventDefault(); submit(); input.focus(); });
  input.addEventListener('input', typingInput);
  input.addEventListener('keydown', function (e) {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) { e.preventDefault(); submit(); }
  });
  frame.addEventListener('keydown', function (e) {
    if (e.key === 'Escape' && s.open) { e.stopPropagation(); close(); }
  });
  doc.addEventListener('visibilitychange', function () {
    if (doc.visibilityState === 'visible') { reconnectNow(); markRead(); }
  });
  win.addEventListener('online', reconnectNow);

  var warned = false;
  win.Natter = Object.freeze({
    version: boot.version,
    open: function () { open(); },
    close: close,
    toggle: toggle,
    // Identity verification (signed visitor claims) arrives in a later release; calling it now is harmless.
    identify: function () {
      if (!warned && win.console) win.console.warn('Natter.identify is not available yet; ignored.');
      warned = true;
    }
  });

  // ---- a new configuration: load the newly rendered widget.js and hand over to it ----
  // The conversation, the unsent queue and the open state live in localStorage, so the new copy picks
  // them up as after a page load; what the visitor was typing is handed over the same way. This copy
  // stays on screen until the new one ran, and comes back if it cannot be loaded.
  function replaceWith(version) {
    if (!src || s.stopped) return; // an inlined copy cannot fetch itself again
    if (cob.session) { cob.replaceWith = version; return; }
    var api = win.Natter, hadFocus = root.activeElement === input;
    s.stopped = true;
    clearTimeout(s.retry);
    clearInterval(s.pinger);
    typingStopped();
    save('draft', { text: input.value, focus: hadFocus });
    var ws = s.ws;
    s.ws = null;
    s.ready = false;
    if (ws) ws.close();
    delete win.Natter;
    var next = new URL(src.href);
    next.searchParams.set('v', String(version));
    var tag = doc.createElement('script');
    tag.src = next.href;
    tag.async = true;
    tag.onload = function () { host.remove(); tag.remove(); };
    tag.onerror = function () {
      tag.remove();
      save('draft', null);
      win.Natter = api;
      s.stopped = false;
      reconnectNow();
    };
    (doc.head || doc.body).appendChild(tag);
  }

  function mount() {
    doc.body.appendChild(host);
    pendingBubbles();
    var draft = load('draft', null);
    if (draft) {
      save('draft', null);
      input.value = String(draft.text || '');
    }
    if (load('open', false)) open(!(draft && draft.focus));
    connect();
  }
  if (doc.body) mount(); else doc.addEventListener('DOMContentLoaded', mount);
})(__NATTER_BOOT__);
