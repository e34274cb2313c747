/* Natter agent console: the co-browse panel. Asks the visitor to share their page, shows the live replay
 * (the co-browse plugin's viewer, /cobrowse/viewer.js), points and, once the visitor granted it, controls.
 * Talks through the console's socket (window.NatterConsole).
 *
 * The replay runs in a frame of its own (/agent/replay): the visitor's page needs its inline styles,
 * which the console's Content-Security-Policy refuses; the frame's policy allows them, and only them. */
(function () {
  "use strict";

  const $ = (id) => document.getElementById(id);
  const sessions = new Map(); // conversation id → the session as the server last described it
  let viewer = null;
  let viewerFor = null;
  let frame = null;
  let seenSnapshot = false;
  let mode = "point";

  const STATUS = {
    requested: "Waiting for the visitor to agree…",
    active: "You see the visitor's page. Click to highlight.",
    declined: "The visitor declined.",
    ended: "Co-browsing ended."
  };

  const HINT_ASK = "To control the page, the visitor must allow it: ask them to press “Let the agent control” on the bar at the top of their page.";
  const HINT_OFF = "Remote control is turned off in the co-browse settings (allow_remote_control): you can point and highlight only.";

  function consoleApi() { return window.NatterConsole; }
  function current() { const c = consoleApi(); return c ? c.current() : null; }
  function send(frame) { const c = consoleApi(); return c ? c.send(frame) : false; }

  function closeViewer() {
    if (viewer) { viewer.close(); }
    if (frame && frame.parentNode) { frame.parentNode.removeChild(frame); }
    viewer = null;
    viewerFor = null;
    frame = null;
    seenSnapshot = false;
  }

  function openViewer(id) {
    if (viewerFor === id) { return; }
    closeViewer();
    viewerFor = id;
    frame = document.createElement("iframe");
    frame.src = "/agent/replay";
    frame.title = "The visitor's page";
    frame.className = "cobrowse-frame";
    frame.setAttribute("data-testid", "cobrowse-frame");
    const opened = frame;
    frame.addEventListener("load", () => {
      const inner = opened.contentWindow;
      if (frame !== opened || viewerFor !== id || !inner || !inner.NatterCobrowseViewer) { return; }
      viewer = inner.NatterCobrowseViewer.open(inner.document.body, (control) => {
        send({ type: "cobrowse_control", conversation_id: id, control: control });
      });
      viewer.mode(mode);
      // Whatever was recorded before this viewer opened is gone: start from a fresh snapshot.
      send({ type: "cobrowse_snapshot", conversation_id: id });
    });
    $("cobrowse-view").appendChild(frame);
  }

  function render() {
    const id = current();
    const view = id ? sessions.get(id) : null;
    const status = view ? view.status : "none";
    const start = $("cobrowse");
    const panel = $("cobrowse-panel");
    if (!start || !panel) { return; }
    start.dataset.state = status;
    start.disabled = status === "requested" || status === "active";
    panel.hidden = !view;
    panel.dataset.status = status;
    panel.dataset.control = String(!!(view && view.control));
    let text = view ? STATUS[view.status] || "" : "";
    if (view && view.status === "active" && view.control) { text = "The visitor lets you control the page."; }
    $("cobrowse-status").textContent = text;
    const canControl = !!(view && view.status === "active" && view.control);
    if (!canControl && mode === "control") { setMode("point"); }
    $("cobrowse-mode").disabled = !canControl;
    // A disabled button says nothing by itself: tell the agent who can enable it, or that nobody can.
    const hint = $("cobrowse-hint");
    hint.hidden = !(view && view.status === "active" && !view.control);
    hint.textContent = view && view.control_allowed === false ? HINT_OFF : HINT_ASK;
    $("cobrowse-end").hidden = !(view && (view.status === "requested" || view.status === "active"));
    if (view && view.status === "active") { openViewer(id); } else { closeViewer(); }
  }

  function setMode(next) {
    mode = next;
    $("cobrowse-mode").setAttribute("aria-pressed", String(mode === "control"));
    if (viewer) { viewer.mode(mode); }
  }

  function handle(f) {
    switch (f.type) {
      case "cobrowse_state":
        sessions.set(f.conversation_id, f);
        render();
        break;
      case "cobrowse_events":
        if (!viewer || viewerFor !== f.conversation_id) { break; }
        // The replay starts at a snapshot (meta 4, full snapshot 2); what came before it cannot be applied.
        viewer.add(f.events.filter((e) => {
          if (e.type === 4 || e.type === 2) { seenSnapshot = true; }
          return seenSnapshot;
        }).map((e) => Object.assign({}, e, { timestamp: Date.now() })));
        break;
      default: break;
    }
  }

  document.addEventListener("DOMContentLoaded", () => {
    $("cobrowse").addEventListener("click", () => {
      const id = current();
      if (id) { send({ type: "cobrowse_request", conversation_id: id }); }
    });
    $("cobrowse-end").addEventListener("click", () => {
      const id = current();
      if (id) { send({ type: "cobrowse_end", conversation_id: id }); }
    });
    $("cobrowse-mode").addEventListener("click", () => setMode(mode === "control" ? "point" : "control"));
  });

  window.NatterConsoleCobrowse = {
    handle: handle,
    render: render,
    // For the console's own checks and tests: the replayed document, and a node's id in it.
    viewer: () => viewer
  };
})();
