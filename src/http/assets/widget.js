/* intentdesk: the embeddable customer chat widget. One <script> tag on any page:
 *
 *   <script src="https://desk.example.com/widget.js" data-server="https://desk.example.com"
 *           data-locale="auto" data-title="Support" data-color="#1d4ed8" defer></script>
 *
 * data-server: base URL of intentdesk (default: this script's own origin);
 * data-locale: ko | en | zh | ja | auto (the browser's language; others fall back to en);
 * data-title: the panel's title; data-color: the accent colour.
 * It renders into the element with id "intentdesk-widget" (created if absent), loads its
 * parts (strings, socket, view) and its stylesheet from the same server as classic scripts
 * (no CORS needed for them), shows active high-severity incident notices as a banner
 * (GET /v1/notices/active: list the host page's origin in --cors-origin), and exposes
 * window.IntentDesk = {open, close, toggle, reset}.
 */
(function () {
  "use strict";
  var me = document.currentScript;
  if (!me) return;
  var ns = window.IntentDeskWidget = window.IntentDeskWidget || {};
  if (ns.loaded) return;
  ns.loaded = true;

  var origin = new URL(me.src, document.baseURI).origin;
  var settings = {
    server: (me.getAttribute("data-server") || origin).replace(/\/+$/, ""),
    locale: me.getAttribute("data-locale") || "auto",
    title: me.getAttribute("data-title") || "",
    color: me.getAttribute("data-color") || ""
  };
  var assets = origin + "/assets/";
  var parts = ["widget-i18n.js", "widget-socket.js", "widget-view.js", "widget-banner.js"];

  var css = document.createElement("link");
  css.rel = "stylesheet";
  css.href = assets + "widget.css";
  document.head.appendChild(css);

  var left = parts.length;
  parts.forEach(function (name) {
    var s = document.createElement("script");
    s.src = assets + name;
    s.async = false;  // run in the listed order
    s.onload = function () { if (--left === 0) start(); };
    s.onerror = function () { console.error("intentdesk widget: could not load " + s.src); };
    document.head.appendChild(s);
  });

  function start() {
    settings.locale = ns.i18n.pickLocale(settings.locale);
    var root = document.getElementById("intentdesk-widget");
    if (!root) {
      root = document.createElement("div");
      root.id = "intentdesk-widget";
      document.body.appendChild(root);
    }
    var socket, view, unread = 0;
    view = new ns.View(root, settings, {
      send: function (text) { socket.sendMessage(text); },
      rate: function (key, score, comment) {
        var frame = { type: "rating", score: score };
        if (comment) frame.comment = comment;
        socket.send(frame);
        socket.markRated(key, score);
      },
      download: function () {
        var url = socket.transcriptUrl();
        if (!url) return;
        var a = document.createElement("a");
        a.href = url;
        a.download = "";
        a.rel = "noopener";
        document.body.appendChild(a);
        a.click();
        a.remove();
      },
      opened: function () {
        unread = 0;
        if (socket.maxSeq) socket.markRead(socket.maxSeq);
      }
    });
    new ns.Banner(view.panel, view.log, settings);
    socket = new ns.ChatSocket(settings.server, {
      onEvent: function (ev) {
        var counts = view.render(ev, socket.state);
        if (view.isOpen) socket.markRead(ev.seq);
        else if (counts && ev.seq > (socket.state.read_seq || 0)) view.setUnread(++unread);
      },
      onStatus: function (s) { view.setStatus(s); },
      onError: function (frame) { view.showError(frame); },
      onReset: function () { unread = 0; view.clear(); }
    });
    socket.connect();
    window.IntentDesk = {
      open: function () { view.open(); },
      close: function () { view.close(); },
      toggle: function () { view.toggle(); },
      /** Forgets the conversation (e.g. on log-out) and starts a new one. */
      reset: function () { socket.reset(); },
      settings: settings
    };
    root.dataset.ready = "true";
  }
})();
