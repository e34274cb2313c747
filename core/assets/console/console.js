// Natter agent console: a plain page over /ws/agent (protocol: core/docs/protocol.md).
// Message text is only ever placed with textContent, never parsed as HTML.
(function () {
  "use strict";
  var PROTOCOL = 1;
  var conversations = new Map(); // id -> summary
  var lastSeq = new Map();       // id -> highest seq received
  var messages = new Map();      // id -> [message]
  var pending = new Map();       // client_id -> {conversation_id, body}
  var current = null;
  var me = null;
  var socket = null;
  var retry = 0;

  var $ = function (id) { return document.getElementById(id); };

  function fromHash() {
    var m = /conversation=([0-9a-f-]{36})/.exec(location.hash);
    return m ? m[1] : null;
  }

  function connect() {
    var url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/ws/agent";
    socket = new WebSocket(url);
    socket.onopen = function () {
      retry = 0;
      $("connection").textContent = "connected";
      var resume = [];
      lastSeq.forEach(function (seq, id) { resume.push({ conversation_id: id, last_seq: seq }); });
      send({ type: "hello", v: PROTOCOL, resume: resume });
    };
    socket.onmessage = function (e) {
      var frame;
      try { frame = JSON.parse(e.data); } catch (_) { return; }
      handle(frame);
    };
    socket.onclose = function (e) {
      $("connection").textContent = e.code === 1006 && !me ? "not signed in: open your agent chat link again" : "reconnecting…";
      var delay = Math.min(30000, 500 * Math.pow(2, retry++)) * (0.5 + Math.random() / 2);
      setTimeout(connect, delay);
    };
  }

  function send(frame) {
    if (socket && socket.readyState === WebSocket.OPEN) { socket.send(JSON.stringify(frame)); return true; }
    return false;
  }

  function handle(f) {
    switch (f.type) {
      case "welcome":
        me = f.agent;
        $("me").textContent = me.name + " <" + me.email + ">";
        $("status").value = me.status === "away" ? "away" : "available";
        f.conversations.forEach(function (c) { conversations.set(c.id, c); });
        renderList();
        var wanted = current || fromHash();
        if (wanted) { open(wanted); }
        pending.forEach(function (p, clientId) {
          send({ type: "message", conversation_id: p.conversation_id, client_id: clientId, body: p.body });
        });
        break;
      case "conversation":
        conversations.set(f.conversation.id, f.conversation);
        renderList();
        if (current === f.conversation.id) { renderHead(); }
        break;
      case "message":
        addMessage(f);
        break;
      case "ack":
        pending.delete(f.client_id);
        break;
      case "typing":
        if (f.conversation_id === current && f.author.kind === "visitor") { $("typing").hidden = !f.active; }
        break;
      case "error":
        $("connection").textContent = "error: " + f.message;
        if (f.client_id) { pending.delete(f.client_id); }
        break;
    }
  }

  function addMessage(m) {
    var list = messages.get(m.conversation_id) || [];
    if (list.some(function (x) { return x.seq === m.seq; })) { return; }
    list.push(m);
    list.sort(function (a, b) { return a.seq - b.seq; });
    messages.set(m.conversation_id, list);
    lastSeq.set(m.conversation_id, Math.max(lastSeq.get(m.conversation_id) || 0, m.seq));
    var c = conversations.get(m.conversation_id);
    if (c) { c.last_seq = Math.max(c.last_seq, m.seq); }
    if (m.conversation_id === current) {
      renderMessages();
      if (m.author.kind === "visitor") {
        $("typing").hidden = true;
        send({ type: "read", conversation_id: current, seq: m.seq });
      }
    } else { renderList(); }
  }

  function renderList() {
    var ul = $("conversations");
    ul.textContent = "";
    conversations.forEach(function (c) {
      if (c.status !== "open" && c.id !== current) { return; }
      var li = document.createElement("li");
      var b = document.createElement("button");
      b.type = "button";
      b.dataset.conversation = c.id;
      b.setAttribute("aria-current", c.id === current ? "true" : "false");
      var seen = lastSeq.get(c.id) || 0;
      if (c.last_seq > seen && c.id !== current) { b.className = "unread"; }
      var who = c.assignee_id ? (me && c.assignee_id === me.id ? "assigned to you" : "assigned") : "unassigned";
      b.textContent = "Visitor " + c.visitor_id.slice(0, 8) + " · " + who + (c.status === "closed" ? " · closed" : "");
      b.onclick = function () { open(c.id); };
      li.appendChild(b);
      ul.appendChild(li);
    });
  }

  function open(id) {
    current = id;
    location.hash = "conversation=" + id;
    $("chat").hidden = false;
    $("empty").hidden = true;
    send({ type: "sync", conversation_id: id, after_seq: lastSeq.get(id) || 0 });
    renderHead();
    renderMessages();
    renderList();
    $("reply-input").focus();
  }

  function renderHead() {
    var c = conversations.get(current);
    $("chat-title").textContent = "Visitor " + (c ? c.visitor_id.slice(0, 8) : "");
    $("chat-meta").textContent = c ? c.status + (c.assignee_id ? " · assigned" : " · unassigned") : "";
    $("close").disabled = !c || c.status !== "open";
  }

  function renderMessages() {
    var ol = $("messages");
    ol.textContent = "";
    (messages.get(current) || []).forEach(function (m) {
      var li = document.createElement("li");
      li.dataset.author = m.author.kind;
      li.dataset.seq = m.seq;
      li.textContent = m.body;
      ol.appendChild(li);
    });
    ol.scrollTop = ol.scrollHeight;
  }

  function uuid() {
    if (window.crypto && crypto.randomUUID) { return crypto.randomUUID(); }
    return "xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx".replace(/[xy]/g, function (ch) {
      var r = Math.random() * 16 | 0; return (ch === "x" ? r : (r & 3 | 8)).toString(16);
    });
  }

  $("reply").addEventListener("submit", function (e) {
    e.preventDefault();
    var body = $("reply-input").value.trim();
    if (!body || !current) { return; }
    var clientId = uuid();
    pending.set(clientId, { conversation_id: current, body: body });
    send({ type: "message", conversation_id: current, client_id: clientId, body: body });
    $("reply-input").value = "";
  });
  var typingSent = 0;
  $("reply-input").addEventListener("keydown", function (e) {
    if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); $("reply").requestSubmit(); return; }
    if (current && Date.now() - typingSent > 2000) {
      typingSent = Date.now();
      send({ type: "typing", conversation_id: current, active: true });
    }
  });
  $("status").addEventListener("change", function () { send({ type: "status", status: $("status").value }); });
  $("assign-me").addEventListener("click", function () {
    if (current && me) { send({ type: "assign", conversation_id: current, agent_id: me.id }); }
  });
  $("close").addEventListener("click", function () {
    if (current) { send({ type: "close", conversation_id: current }); }
  });
  window.addEventListener("hashchange", function () { var id = fromHash(); if (id && id !== current) { open(id); } });

  connect();
})();
