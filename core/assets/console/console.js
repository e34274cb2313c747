// Natter agent console: a plain page over /ws/agent (protocol: core/docs/protocol.md).
// Message text is only ever placed with textContent, never parsed as HTML.
(function () {
  "use strict";

  const PROTOCOL = 1;
  /// Conversations whose newest message is fetched for the list preview after a (re)connect.
  const PREVIEW_LIMIT = 200;
  const TYPING_SEND_EVERY_MS = 3000;
  const TYPING_IDLE_MS = 4000;
  const TYPING_SHOWN_MS = 10000;

  const state = {
    me: null,
    agents: new Map(),          // id -> agent
    conversations: new Map(),   // id -> summary
    messages: new Map(),        // id -> [message] ordered by seq
    lastSeq: new Map(),         // id -> highest seq received (the resume point)
    loaded: new Set(),          // ids whose whole history was asked for
    activity: new Map(),        // id -> time of the newest message
    pending: new Map(),         // client_id -> {conversation_id, body, created_at, status, error}
    seen: {},                   // id -> highest seq the agent has looked at (kept per agent)
    visitorRead: new Map(),     // id -> seq the visitor has read up to
    typing: new Map(),          // id -> timer hiding the indicator
    visitorShown: null,         // visitor id whose page, browser and language the details pane shows
    current: null,
    wantedStatus: "available",
    counts: null,
  };
  let socket = null;
  let welcomed = false;
  let retry = 0;
  let reconnectTimer = null;
  let typingSentAt = 0;
  let typingIdle = null;

  const $ = (id) => document.getElementById(id);

  // ---- helpers -------------------------------------------------------------------------------

  function el(tag, attrs, text) {
    const node = document.createElement(tag);
    Object.keys(attrs || {}).forEach((k) => {
      if (k === "class") { node.className = attrs[k]; } else { node.setAttribute(k, attrs[k]); }
    });
    if (text !== undefined) { node.textContent = text; }
    return node;
  }

  function uuid() {
    if (window.crypto && crypto.randomUUID) { return crypto.randomUUID(); }
    return "xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx".replace(/[xy]/g, (ch) => {
      const r = Math.random() * 16 | 0;
      return (ch === "x" ? r : (r & 3 | 8)).toString(16);
    });
  }

  /// The end of a UUID: ids here are UUIDv7, whose first digits are a timestamp shared by
  /// everything created around the same time; the last ones are random.
  function shortId(id) { return (id || "").slice(-8); }

  function visitorName(c) { return "Visitor " + shortId(c ? c.visitor_id : ""); }

  /// A stable hue per id, so the same visitor keeps the same avatar colour.
  function hue(id) {
    let h = 0;
    for (let i = 0; i < (id || "").length; i++) { h = (h * 31 + id.charCodeAt(i)) % 360; }
    return h;
  }

  function paintAvatar(node, id, letter) {
    node.textContent = letter;
    node.style.background = "hsl(" + hue(id) + " 55% 92%)";
    node.style.color = "hsl(" + hue(id) + " 45% 32%)";
  }

  function clock(iso) {
    const d = new Date(iso);
    const today = new Date();
    const time = d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
    if (d.toDateString() === today.toDateString()) { return time; }
    return d.toLocaleDateString([], { month: "short", day: "numeric" }) + " " + time;
  }

  function ago(iso) {
    if (!iso) { return ""; }
    const s = Math.max(0, (Date.now() - new Date(iso).getTime()) / 1000);
    if (s < 45) { return "now"; }
    if (s < 3600) { return Math.round(s / 60) + "m"; }
    if (s < 86400) { return Math.round(s / 3600) + "h"; }
    return Math.round(s / 86400) + "d";
  }

  function agentName(id) {
    if (!id) { return "Nobody"; }
    if (state.me && id === state.me.id) { return "You"; }
    const a = state.agents.get(id);
    return a ? a.name : "Agent " + shortId(id);
  }

  function lastActivity(c) {
    return state.activity.get(c.id) || c.updated_at || c.created_at;
  }

  function isUnread(c) {
    return c.id !== state.current && c.last_seq > (state.seen[c.id] || 0);
  }

  function loadSeen() {
    try {
      state.seen = JSON.parse(localStorage.getItem("natter.console.seen." + state.me.id) || "{}");
    } catch (_) { state.seen = {}; }
  }

  function markSeen(id, seq) {
    if (!state.me || (state.seen[id] || 0) >= seq) { return; }
    state.seen[id] = seq;
    try { localStorage.setItem("natter.console.seen." + state.me.id, JSON.stringify(state.seen)); } catch (_) { /* private mode */ }
  }

  function loginUrl() {
    return "/agent/login?next=" + encodeURIComponent("/agent/" + location.hash);
  }

  function fromHash() {
    const m = /conversation=([0-9a-f-]{36})/.exec(location.hash);
    return m ? m[1] : null;
  }

  // ---- HTTP (session cookie) -----------------------------------------------------------------

  async function getJson(path) {
    const r = await fetch(path, { credentials: "same-origin", headers: { accept: "application/json" } });
    if (r.status === 401) { location.replace(loginUrl()); throw new Error("signed out"); }
    if (!r.ok) { throw new Error(path + " answered " + r.status); }
    return r.json();
  }

  async function loadAgents() {
    try {
      const list = await getJson("/agent/api/agents");
      state.agents = new Map(list.map((a) => [a.id, a]));
      renderAll();
    } catch (_) { /* the list stays as it was; assigning to yourself still works */ }
  }

  // ---- socket --------------------------------------------------------------------------------

  function setConnection(kind, text) {
    const node = $("connection");
    node.dataset.state = kind;
    node.textContent = text;
  }

  function connect() {
    clearTimeout(reconnectTimer);
    const url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/ws/agent";
    welcomed = false;
    socket = new WebSocket(url);
    socket.onopen = () => {
      const resume = [];
      state.lastSeq.forEach((seq, id) => resume.push({ conversation_id: id, last_seq: seq }));
      send({ type: "hello", v: PROTOCOL, resume: resume });
    };
    socket.onmessage = (e) => {
      let frame;
      try { frame = JSON.parse(e.data); } catch (_) { return; }
      handle(frame);
    };
    socket.onclose = () => {
      setConnection("reconnecting", "Reconnecting…");
      // A refused upgrade looks like any other drop: ask whether the session is still good.
      getJson("/agent/api/me").then(() => {
        const delay = Math.min(30000, 500 * Math.pow(2, retry++)) * (0.5 + Math.random() / 2);
        reconnectTimer = setTimeout(connect, delay);
      }, () => {
        reconnectTimer = setTimeout(connect, 5000);
      });
    };
  }

  function send(frame) {
    if (socket && socket.readyState === WebSocket.OPEN) {
      socket.send(JSON.stringify(frame));
      return true;
    }
    return false;
  }

  function handle(f) {
    switch (f.type) {
      case "welcome": onWelcome(f); break;
      case "conversation": onConversation(f.conversation); break;
      case "message": onMessage(f); break;
      case "ack": onAck(f); break;
      case "typing": onTyping(f); break;
      case "read":
        if (f.reader === "visitor") {
          state.visitorRead.set(f.conversation_id, Math.max(state.visitorRead.get(f.conversation_id) || 0, f.seq));
          if (f.conversation_id === state.current) { renderMessages(); }
        }
        break;
      case "presence":
        state.counts = f;
        renderCounts();
        loadAgents();
        break;
      case "error": onError(f); break;
      case "visitor": fillVisitor(f); break;
      default:
        // Co-browse frames go to the co-browse panel (cobrowse.js).
        if (f.type.indexOf("cobrowse_") === 0 && window.NatterConsoleCobrowse) { window.NatterConsoleCobrowse.handle(f); }
        break;
    }
  }

  function onWelcome(f) {
    welcomed = true;
    retry = 0;
    // `visitor` frames sent while the socket was down are lost: ask again for the one on screen.
    state.visitorShown = null;
    setConnection("connected", "Connected");
    state.me = f.agent;
    renderMe();
    const open = new Map(f.conversations.map((c) => [c.id, c]));
    // Conversations closed while we were away drop out of the list (the one on screen stays).
    state.conversations.forEach((c, id) => {
      if (!open.has(id)) {
        if (id === state.current) { open.set(id, c); } else { state.conversations.delete(id); }
      }
    });
    open.forEach((c, id) => state.conversations.set(id, c));
    if (state.wantedStatus !== f.agent.status && state.wantedStatus === "away") {
      send({ type: "status", status: "away" });
    } else {
      state.wantedStatus = f.agent.status === "away" ? "away" : "available";
    }
    renderPresence();
    const wanted = state.current || fromHash();
    let previews = 0;
    state.conversations.forEach((c) => {
      if (!state.lastSeq.has(c.id) && c.last_seq > 0 && previews < PREVIEW_LIMIT && c.id !== wanted) {
        previews++;
        send({ type: "sync", conversation_id: c.id, after_seq: Math.max(0, c.last_seq - 1) });
      }
    });
    // Focus the reply box on arrival, not on every reconnect.
    if (wanted) { open_(wanted, { focus: !state.current }); }
    // Replies typed while offline (or not acknowledged before the drop) go again, same client_id:
    // the server stores each once.
    state.pending.forEach((p, clientId) => {
      if (p.status === "pending") {
        send({ type: "message", conversation_id: p.conversation_id, client_id: clientId, body: p.body });
      }
    });
    renderAll();
    loadAgents();
  }

  function onConversation(c) {
    const known = state.conversations.get(c.id);
    state.conversations.set(c.id, c);
    if (!known && !state.activity.has(c.id)) { state.activity.set(c.id, c.updated_at); }
    if (c.status !== "open" && c.id !== state.current) { state.conversations.delete(c.id); }
    renderList();
    if (c.id === state.current) { renderHead(); renderDetails(); }
  }

  function onMessage(m) {
    const list = state.messages.get(m.conversation_id) || [];
    if (!list.some((x) => x.seq === m.seq)) {
      list.push(m);
      list.sort((a, b) => a.seq - b.seq);
      state.messages.set(m.conversation_id, list);
    }
    if (m.client_id && state.pending.has(m.client_id)) { state.pending.delete(m.client_id); }
    state.lastSeq.set(m.conversation_id, Math.max(state.lastSeq.get(m.conversation_id) || 0, m.seq));
    const previous = state.activity.get(m.conversation_id);
    if (!previous || previous < m.created_at) { state.activity.set(m.conversation_id, m.created_at); }
    const c = state.conversations.get(m.conversation_id);
    if (c && m.seq > c.last_seq) { c.last_seq = m.seq; }
    if (m.author.kind === "agent" && state.me && m.author.id === state.me.id) { markSeen(m.conversation_id, m.seq); }
    if (m.conversation_id === state.current) {
      markSeen(m.conversation_id, m.seq);
      if (m.author.kind === "visitor") {
        hideTyping(m.conversation_id);
        if (document.visibilityState !== "hidden") {
          send({ type: "read", conversation_id: m.conversation_id, seq: m.seq });
        }
      }
      renderMessages();
      renderDetails();
    }
    renderList();
  }

  function onAck(f) {
    const p = state.pending.get(f.client_id);
    if (!p) { return; }
    const stored = (state.messages.get(f.conversation_id) || []).some((m) => m.seq === f.seq);
    if (stored) { state.pending.delete(f.client_id); } else { p.status = "sent"; p.seq = f.seq; }
    if (f.conversation_id === state.current) { renderMessages(); }
  }

  function onTyping(f) {
    if (f.author.kind !== "visitor") { return; }
    clearTimeout(state.typing.get(f.conversation_id));
    if (f.active) {
      state.typing.set(f.conversation_id, setTimeout(() => hideTyping(f.conversation_id), TYPING_SHOWN_MS));
    } else {
      state.typing.delete(f.conversation_id);
    }
    renderTyping();
  }

  function hideTyping(id) {
    clearTimeout(state.typing.get(id));
    state.typing.delete(id);
    renderTyping();
  }

  function onError(f) {
    if (f.client_id && state.pending.has(f.client_id)) {
      const p = state.pending.get(f.client_id);
      p.status = "failed";
      p.error = f.message;
      if (p.conversation_id === state.current) { renderMessages(); }
      return;
    }
    notice(f.message);
  }

  function notice(text) {
    const n = $("chat-notice");
    n.textContent = text;
    n.hidden = !text;
  }

  // ---- actions -------------------------------------------------------------------------------

  function open_(id, opts) {
    const changed = state.current !== id;
    state.current = id;
    if (location.hash !== "#conversation=" + id) { history.replaceState(null, "", "#conversation=" + id); }
    if (!state.loaded.has(id)) {
      state.loaded.add(id);
      send({ type: "sync", conversation_id: id, after_seq: 0 });
    }
    const c = state.conversations.get(id);
    const newest = Math.max(c ? c.last_seq : 0, state.lastSeq.get(id) || 0);
    markSeen(id, newest);
    if (newest > 0) { send({ type: "read", conversation_id: id, seq: newest }); }
    if (changed) { notice(""); $("messages").textContent = ""; $("reply-input").value = ""; }
    renderAll();
    if (!opts || opts.focus !== false) { $("reply-input").focus(); }
  }

  function sendReply() {
    const input = $("reply-input");
    const body = input.value.trim();
    const c = state.conversations.get(state.current);
    if (!body || !state.current || (c && c.status !== "open")) { return; }
    const clientId = uuid();
    state.pending.set(clientId, {
      conversation_id: state.current, body: body, created_at: new Date().toISOString(), status: "pending",
    });
    send({ type: "message", conversation_id: state.current, client_id: clientId, body: body });
    stopTyping();
    input.value = "";
    renderMessages();
  }

  function retryPending(clientId) {
    const p = state.pending.get(clientId);
    if (!p) { return; }
    p.status = "pending";
    p.error = null;
    send({ type: "message", conversation_id: p.conversation_id, client_id: clientId, body: p.body });
    renderMessages();
  }

  function typed() {
    if (!state.current) { return; }
    const now = Date.now();
    if (now - typingSentAt > TYPING_SEND_EVERY_MS) {
      typingSentAt = now;
      send({ type: "typing", conversation_id: state.current, active: true });
    }
    clearTimeout(typingIdle);
    typingIdle = setTimeout(stopTyping, TYPING_IDLE_MS);
  }

  function stopTyping() {
    clearTimeout(typingIdle);
    if (typingSentAt && state.current) {
      send({ type: "typing", conversation_id: state.current, active: false });
    }
    typingSentAt = 0;
  }

  function setStatus(status) {
    state.wantedStatus = status;
    try { localStorage.setItem("natter.console.status", status); } catch (_) { /* private mode */ }
    send({ type: "status", status: status });
    if (state.me) { state.me.status = status; }
    renderPresence();
  }

  function assign(agentId) {
    if (!state.current) { return; }
    notice("");
    send({ type: "assign", conversation_id: state.current, agent_id: agentId });
  }

  // ---- rendering -----------------------------------------------------------------------------

  function renderAll() {
    renderList();
    renderChat();
    renderCounts();
    if (window.NatterConsoleCobrowse) { window.NatterConsoleCobrowse.render(); }
  }

  function renderMe() {
    $("me-name").textContent = state.me.name;
    $("me-email").textContent = state.me.email;
    $("admin-link").hidden = state.me.role !== "admin";
    paintAvatar($("me-avatar"), state.me.id, (state.me.name || "?").charAt(0).toUpperCase());
  }

  function renderPresence() {
    const available = state.wantedStatus !== "away";
    const b = $("presence");
    b.setAttribute("aria-checked", available ? "true" : "false");
    b.dataset.status = available ? "available" : "away";
    $("presence-label").textContent = available ? "Available" : "Away";
    b.title = available ? "You get new chats. Click to go away." : "You are away. Click to become available.";
  }

  function renderCounts() {
    if (!state.counts) { return; }
    const n = state.counts.online;
    $("presence-counts").textContent = n + (n === 1 ? " agent" : " agents") + " online, " + state.counts.available + " available";
  }

  function renderList() {
    const groups = { queue: [], mine: [], others: [] };
    state.conversations.forEach((c) => {
      if (c.status !== "open" && c.id !== state.current) { return; }
      if (!c.assignee_id) { groups.queue.push(c); } else if (state.me && c.assignee_id === state.me.id) { groups.mine.push(c); } else { groups.others.push(c); }
    });
    // The queue drains in arrival order; assigned conversations show the liveliest first.
    groups.queue.sort((a, b) => (a.created_at < b.created_at ? -1 : 1));
    const newestFirst = (a, b) => (lastActivity(a) < lastActivity(b) ? 1 : -1);
    groups.mine.sort(newestFirst);
    groups.others.sort(newestFirst);
    fillList($("list-queue"), groups.queue);
    fillList($("list-mine"), groups.mine);
    fillList($("list-others"), groups.others);
    const open = groups.queue.length + groups.mine.length + groups.others.length;
    $("open-count").textContent = String(open);
    let unread = 0;
    state.conversations.forEach((c) => { if (c.status === "open" && isUnread(c)) { unread++; } });
    document.title = (unread ? "(" + unread + ") " : "") + "Natter · Agent console";
  }

  /// Puts `nodes` into `parent` in this order, moving only what is out of place (a moved node loses
  /// focus, and a node replaced under the pointer loses the click) and dropping the rest.
  function reconcile(parent, nodes) {
    let before = parent.firstChild;
    nodes.forEach((n) => {
      if (n !== before) { parent.insertBefore(n, before); } else { before = before.nextSibling; }
    });
    while (before) {
      const next = before.nextSibling;
      before.remove();
      before = next;
    }
  }

  function fillList(ul, items) {
    const focused = document.activeElement && document.activeElement.dataset ? document.activeElement.dataset.conversationId : null;
    const old = new Map();
    Array.prototype.forEach.call(ul.children, (li) => old.set(li.dataset.conversationId, li));
    const nodes = items.map((c) => {
      const messages = state.messages.get(c.id) || [];
      const last = messages[messages.length - 1];
      const unread = isUnread(c);
      const b = el("button", {
        type: "button",
        class: "conv" + (unread ? " unread" : "") + (c.status !== "open" ? " closed" : ""),
        "data-testid": "conversation-item",
        "data-conversation-id": c.id,
        "data-unread": unread ? "true" : "false",
        "aria-current": c.id === state.current ? "true" : "false",
      });
      const avatar = el("span", { class: "avatar", "aria-hidden": "true" });
      paintAvatar(avatar, c.visitor_id, "V");
      const main = el("span", { class: "conv-main" });
      main.appendChild(el("span", { class: "conv-title" }, visitorName(c)));
      let preview = last ? (last.author.kind === "agent" ? (last.author.id === (state.me && state.me.id) ? "You: " : (last.author.name || "Agent") + ": ") : "") + last.body : (c.last_seq ? "…" : "No messages yet");
      if (c.status !== "open") { preview = "Closed · " + preview; }
      main.appendChild(el("span", { class: "conv-preview" }, preview));
      const side = el("span", { class: "conv-side" });
      const t = lastActivity(c);
      side.appendChild(el("time", { datetime: t || "" }, ago(t)));
      if (unread) { side.appendChild(el("span", { class: "unread-dot", "data-testid": "unread" }, "New")); }
      b.appendChild(avatar);
      b.appendChild(main);
      b.appendChild(side);
      b.setAttribute("aria-label", visitorName(c) + (unread ? ", unread" : "") + ", " + preview);
      b.addEventListener("click", () => open_(c.id));
      const li = el("li", { "data-conversation-id": c.id });
      li.appendChild(b);
      // Unchanged entries keep their node.
      const previous = old.get(c.id);
      return previous && previous.innerHTML === li.innerHTML ? previous : li;
    });
    reconcile(ul, nodes);
    if (focused && document.activeElement === document.body) {
      const again = ul.querySelector('[data-conversation-id="' + focused + '"] button');
      if (again) { again.focus(); }
    }
    const empty = document.querySelector('[data-empty-for="' + ul.id + '"]');
    if (empty) { empty.hidden = items.length > 0; }
  }

  function renderChat() {
    const has = !!state.current;
    $("chat").hidden = !has;
    $("details").hidden = !has;
    $("empty").hidden = has;
    if (!has) { return; }
    renderHead();
    renderMessages();
    renderTyping();
    renderDetails();
  }

  function renderHead() {
    const c = state.conversations.get(state.current);
    $("chat-title").textContent = c ? visitorName(c) : "Conversation";
    paintAvatar($("chat-avatar"), c ? c.visitor_id : state.current, "V");
    const open = !c || c.status === "open";
    const badge = $("chat-status");
    badge.textContent = c ? (open ? "Open" : "Closed") : "Loading";
    badge.dataset.status = c ? c.status : "";
    const mine = c && state.me && c.assignee_id === state.me.id;
    $("chat-assignee").textContent = c ? (c.assignee_id ? "Assigned to " + (mine ? "you" : agentName(c.assignee_id)) : "Waiting in the queue") : "";
    $("assign-me").disabled = !c || !open || (state.me && c.assignee_id === state.me.id);
    $("close").disabled = !c || !open;
    const select = $("assign-select");
    select.disabled = !c || !open;
    const options = [{ value: "", label: c && c.assignee_id ? "Back to the queue" : "Assign to…" }];
    state.agents.forEach((a) => {
      options.push({ value: a.id, label: a.name + (state.me && a.id === state.me.id ? " (you)" : "") + " · " + a.status });
    });
    const assignee = c && c.assignee_id ? c.assignee_id : "";
    const signature = JSON.stringify([options, assignee]);
    // Rebuilt only when something changed, so an agent picking a colleague is not interrupted.
    if (select.dataset.signature !== signature) {
      select.dataset.signature = signature;
      select.textContent = "";
      options.forEach((o) => select.appendChild(el("option", { value: o.value }, o.label)));
      select.value = assignee;
    }
    $("reply-input").disabled = !open;
    $("reply-input").placeholder = open ? "Write a reply…" : "This conversation is closed.";
    document.querySelector("#reply button[type=submit]").disabled = !open;
  }

  /// A reply keeps its node from "Sending…" to stored: keyed by client_id when it has one.
  function messageKey(item) { return item.client_id ? "c" + item.client_id : "s" + item.seq; }

  /// Updates the message list in place: nodes for messages already shown are kept, so screen
  /// readers announce only what is new.
  function renderMessages() {
    const ol = $("messages");
    const id = state.current;
    const stored = state.messages.get(id) || [];
    const items = stored.map((m) => ({
      seq: m.seq, kind: m.author.kind, mine: m.author.kind === "agent" && state.me && m.author.id === state.me.id,
      name: m.author.kind === "visitor" ? "Visitor" : (m.author.kind === "system" ? "" : (m.author.name || "Agent")),
      body: m.body, at: m.created_at, status: "sent", client_id: m.client_id,
    }));
    state.pending.forEach((p, clientId) => {
      if (p.conversation_id !== id) { return; }
      if (p.seq && stored.some((m) => m.seq === p.seq)) { return; }
      items.push({ seq: null, kind: "agent", mine: true, name: state.me ? state.me.name : "You", body: p.body, at: p.created_at, status: p.status, error: p.error, client_id: clientId });
    });
    const read = state.visitorRead.get(id) || 0;
    let lastSeenMine = null;
    items.forEach((it) => { if (it.mine && it.seq && it.seq <= read) { lastSeenMine = it.seq; } });
    const existing = new Map();
    Array.prototype.forEach.call(ol.children, (li) => existing.set(li.dataset.key, li));
    const atBottom = ol.scrollHeight - ol.scrollTop - ol.clientHeight < 40;
    const nodes = items.map((it) => {
      const key = messageKey(it);
      let li = existing.get(key);
      if (!li) { li = messageNode(it); li.dataset.key = key; }
      updateMessageNode(li, it, it.seq && it.seq === lastSeenMine);
      return li;
    });
    reconcile(ol, nodes);
    if (atBottom || items.length && items[items.length - 1].mine) { ol.scrollTop = ol.scrollHeight; }
  }

  function messageNode(it) {
    const li = el("li", { class: "msg", "data-testid": "message", "data-author": it.kind });
    if (it.mine) { li.classList.add("mine"); }
    const meta = el("div", { class: "msg-meta" });
    if (it.name) { meta.appendChild(el("span", { class: "msg-author", "data-testid": "message-author" }, it.name)); }
    meta.appendChild(el("time", { datetime: it.at }, clock(it.at)));
    li.appendChild(meta);
    li.appendChild(el("div", { class: "msg-body", "data-testid": "message-body" }, it.body));
    li.appendChild(el("div", { class: "msg-state", "data-testid": "message-state" }));
    return li;
  }

  function updateMessageNode(li, it, seen) {
    if (it.seq) { li.dataset.seq = String(it.seq); }
    if (it.client_id) { li.dataset.clientId = it.client_id; }
    li.dataset.status = it.status;
    const stateNode = li.querySelector(".msg-state");
    stateNode.textContent = "";
    if (it.status === "pending") {
      stateNode.textContent = "Sending…";
    } else if (it.status === "failed") {
      stateNode.textContent = "Not sent: " + (it.error || "error") + " ";
      const retryButton = el("button", { type: "button", class: "link", "data-testid": "message-retry" }, "Retry");
      retryButton.addEventListener("click", () => retryPending(it.client_id));
      stateNode.appendChild(retryButton);
    } else if (seen) {
      stateNode.textContent = "Seen";
    }
    stateNode.hidden = !stateNode.textContent;
  }

  function renderTyping() {
    $("typing").hidden = !state.typing.has(state.current);
  }

  function renderDetails() {
    const c = state.conversations.get(state.current);
    const set = (id, text, title) => { $(id).textContent = text; if (title) { $(id).title = title; } };
    if (!c) {
      ["detail-customer", "detail-name", "detail-email", "detail-labels", "detail-visitor", "detail-page", "detail-browser", "detail-language", "detail-status", "detail-assignee", "detail-started", "detail-activity", "detail-count"].forEach((id) => set(id, "—"));
      state.visitorShown = null;
      return;
    }
    set("detail-customer", shortId(c.customer_id), c.customer_id);
    renderCustomer(c.customer_id);
    set("detail-visitor", shortId(c.visitor_id), c.visitor_id);
    renderVisitor(c.visitor_id);
    set("detail-status", c.status === "open" ? "Open" : "Closed");
    set("detail-assignee", c.assignee_id ? agentName(c.assignee_id) : "Queue");
    set("detail-started", clock(c.created_at));
    set("detail-activity", clock(lastActivity(c)));
    set("detail-count", String(Math.max(c.last_seq, state.lastSeq.get(c.id) || 0)));
  }

  // Name, email and labels come from the integrator (customer tagging); asked for once per
  // conversation shown, so a label added meanwhile shows on the next visit to the conversation.
  async function renderCustomer(customerId) {
    const fill = (customer) => {
      if (state.conversations.get(state.current)?.customer_id !== customerId) { return; }
      const name = [customer.firstname, customer.lastname].filter(Boolean).join(" ");
      $("detail-name").textContent = name || "—";
      $("detail-email").textContent = customer.email || "—";
      const labels = $("detail-labels");
      labels.replaceChildren(...customer.labels.map((l) => el("span", { class: "label", "data-testid": "customer-label" }, l)));
      if (!customer.labels.length) { labels.textContent = "—"; }
    };
    fill({ firstname: null, lastname: null, email: null, labels: [] });
    try {
      fill(await getJson("/agent/api/customers/" + encodeURIComponent(customerId)));
    } catch (e) {
      // The details pane stays usable without them.
    }
  }

  // Where the visitor is now: asked for when a conversation is shown, then kept current by the
  // socket's `visitor` frames (sent while the visitor has an open conversation).
  async function renderVisitor(visitorId) {
    if (state.visitorShown === visitorId) { return; }
    state.visitorShown = visitorId;
    fillVisitor({ visitor_id: visitorId, online: false, loading: true });
    try {
      fillVisitor(await getJson("/agent/api/visitors/" + encodeURIComponent(visitorId)));
    } catch (e) {
      // The details pane stays usable without it.
    }
  }

  function fillVisitor(v) {
    if (state.visitorShown !== v.visitor_id) { return; }
    const page = $("detail-page");
    page.textContent = "";
    page.removeAttribute("title");
    page.dataset.online = String(!!v.online);
    if (v.loading) {
      page.textContent = "…";
    } else if (!v.online) {
      page.textContent = "Not on the site now";
    } else if (v.page_url) {
      // Shown as text: the address is the visitor's to write, so it is never made a live link here.
      page.title = v.page_url;
      if (v.page_title) { page.appendChild(el("span", { "data-testid": "detail-page-title" }, v.page_title)); }
      page.appendChild(el("span", { class: "detail-url muted", "data-testid": "detail-page-url" }, v.page_url));
    } else {
      page.textContent = "—";
    }
    $("detail-browser").textContent = (v.online && v.browser) || "—";
    $("detail-language").textContent = (v.online && v.language) || "—";
  }

  // ---- wiring --------------------------------------------------------------------------------

  $("reply").addEventListener("submit", (e) => { e.preventDefault(); sendReply(); });
  $("reply-input").addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      sendReply();
    }
  });
  $("reply-input").addEventListener("input", typed);
  $("presence").addEventListener("click", () => setStatus(state.wantedStatus === "away" ? "available" : "away"));
  $("assign-me").addEventListener("click", () => { if (state.me) { assign(state.me.id); } });
  $("assign-select").addEventListener("change", (e) => assign(e.target.value || null));
  $("close").addEventListener("click", () => {
    if (state.current) { notice(""); send({ type: "close", conversation_id: state.current }); }
  });
  $("logout").addEventListener("click", async () => {
    try {
      await fetch("/agent/logout", { method: "POST", credentials: "same-origin", headers: { accept: "application/json" } });
    } finally {
      if (socket) { socket.onclose = null; socket.close(); }
      location.replace("/agent/login");
    }
  });
  // Arrow keys move between conversations in the list.
  document.querySelector(".sidebar").addEventListener("keydown", (e) => {
    if (e.key !== "ArrowDown" && e.key !== "ArrowUp") { return; }
    const buttons = Array.from(document.querySelectorAll(".conv"));
    const at = buttons.indexOf(document.activeElement);
    if (at < 0) { return; }
    e.preventDefault();
    const next = buttons[Math.min(buttons.length - 1, Math.max(0, at + (e.key === "ArrowDown" ? 1 : -1)))];
    next.focus();
  });
  window.addEventListener("hashchange", () => {
    const id = fromHash();
    if (id && id !== state.current) { open_(id); }
  });
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible" && state.current) {
      const seq = state.lastSeq.get(state.current) || 0;
      if (seq) { send({ type: "read", conversation_id: state.current, seq: seq }); }
    }
  });
  window.addEventListener("online", () => { if (!welcomed) { retry = 0; connect(); } });
  setInterval(renderList, 30000);

  // What the co-browse panel (cobrowse.js) needs of the console.
  window.NatterConsole = { send: send, current: () => state.current, notice: notice };

  try { state.wantedStatus = localStorage.getItem("natter.console.status") === "away" ? "away" : "available"; } catch (_) { /* private mode */ }
  renderPresence();
  getJson("/agent/api/me").then((me) => {
    state.me = me;
    loadSeen();
    renderMe();
    connect();
  }, () => { /* redirected to sign-in */ });
})();
