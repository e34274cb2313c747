/*! Natter co-browse viewer, served by the co-browse plugin to the agent console. Replays the visitor's page
 * live with rrweb (bundled above); turns the agent's pointer and clicks on the replay into guidance and,
 * when the visitor granted it, remote control. */
(function (cfg, rr, css) {
  'use strict';
  var win = window, doc = document;
  if (!rr || !rr.Replayer || win.NatterCobrowseViewer) return;

  // The console's Content-Security-Policy allows no inline styles; a constructed sheet is not inline.
  try {
    var sheet = new CSSStyleSheet();
    sheet.replaceSync(css + '.natter-cb-stage{position:relative;overflow:auto}' +
      '.natter-cb-stage .replayer-wrapper{transform-origin:0 0}' +
      '.natter-cb-glass{position:absolute;inset:0;cursor:crosshair;z-index:2}');
    doc.adoptedStyleSheets = doc.adoptedStyleSheets.concat([sheet]);
  } catch (e) { /* an old browser: the replay works, less pretty */ }

  // `container`: an element of the console; `send(frame)`: to the agent socket. Returns what the console
  // hands frames to.
  function open(container, send) {
    var stage = doc.createElement('div');
    stage.className = 'natter-cb-stage';
    stage.setAttribute('data-testid', 'cobrowse-stage');
    container.appendChild(stage);
    var replayer = new rr.Replayer([], {
      root: stage, liveMode: true, mouseTail: false, UNSAFE_replayCanvas: false,
      // The replay never runs the visitor's scripts; the filter removed them anyway.
      insertStyleRules: []
    });
    replayer.startLive();
    var iframe = stage.querySelector('iframe');
    // A glass over the replay catches the agent's pointer: the replay itself takes no input.
    var glass = doc.createElement('div');
    glass.className = 'natter-cb-glass';
    glass.setAttribute('data-testid', 'cobrowse-glass');
    stage.appendChild(glass);
    var lastMove = 0, mode = 'point';

    function at(e) {
      var r = iframe.getBoundingClientRect();
      var scale = r.width / (iframe.offsetWidth || r.width || 1);
      return { x: (e.clientX - r.left) / scale, y: (e.clientY - r.top) / scale };
    }
    function nodeAt(p) {
      var d = iframe.contentDocument;
      var el = d && d.elementFromPoint(p.x, p.y);
      var id = el ? replayer.getMirror().getId(el) : -1;
      return id > 0 ? id : null;
    }
    glass.addEventListener('mousemove', function (e) {
      var now = Date.now();
      if (now - lastMove < 50) return;
      lastMove = now;
      var p = at(e);
      send({ action: 'pointer', x: Math.round(p.x), y: Math.round(p.y) });
    });
    glass.addEventListener('click', function (e) {
      var id = nodeAt(at(e));
      if (id) send({ action: mode === 'control' ? 'click' : 'highlight', id: id });
    });
    glass.addEventListener('wheel', function (e) {
      if (mode !== 'control') return;
      var w = iframe.contentWindow;
      send({ action: 'scroll', x: Math.round(w.scrollX + e.deltaX), y: Math.round(w.scrollY + e.deltaY) });
    }, { passive: true });

    return {
      // `events`: a batch the server forwarded, oldest first.
      add: function (events) {
        events.forEach(function (ev) { replayer.addEvent(ev); });
      },
      // `point` (clicks highlight) or `control` (clicks click; only after the visitor granted it).
      mode: function (m) { mode = m; stage.dataset.mode = m; },
      // What the replay shows, for tests and for the console's own checks.
      document: function () { return iframe.contentDocument; },
      // Types into the replayed field under id on the visitor's page (control only).
      input: function (id, text) { send({ action: 'input', id: id, text: text }); },
      idOf: function (el) { return replayer.getMirror().getId(el); },
      close: function () {
        try { replayer.destroy(); } catch (e) { /* already gone */ }
        if (stage.parentNode) stage.parentNode.removeChild(stage);
      }
    };
  }

  win.NatterCobrowseViewer = { open: open, config: cfg };
})(__NATTER_COBROWSE_CONFIG__, typeof rrwebReplay === 'undefined' ? null : rrwebReplay, __NATTER_COBROWSE_CSS__);
