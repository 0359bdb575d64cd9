/* intentdesk widget: the chat WebSocket, resume (conversation id + last seq in localStorage)
   and reconnection with exponential back-off and jitter. Knows nothing of the DOM. */
(function (ns) {
  "use strict";

  var KEY = "intentdesk.widget.v1";

  function load() {
    try { return JSON.parse(localStorage.getItem(KEY)) || {}; } catch (e) { return {}; }
  }
  function save(s) {
    try { localStorage.setItem(KEY, JSON.stringify(s)); } catch (e) { /* private mode: no resume */ }
  }

  /** Back-off before reconnect attempt `n` (0-based): 0.5 s doubling to 30 s, with ±50 % jitter. */
  function backoff(n) {
    var base = Math.min(30000, 500 * Math.pow(2, n));
    return Math.round(base * (0.5 + Math.random()));
  }

  /** A fresh client_message_id: the server stores a message once per id, however often it is sent. */
  function messageId() {
    if (window.crypto && typeof window.crypto.randomUUID === "function") return window.crypto.randomUUID();
    var rnd = "";
    for (var i = 0; i < 4; i++) rnd += Math.floor(Math.random() * 0x100000000).toString(36);
    return "m-" + Date.now().toString(36) + "-" + rnd;
  }

  /**
   * One chat connection. `handlers`: onEvent(event) for every stored event (each seq once),
   * onStatus("connecting"|"online"|"reconnecting"), onError(frame), onReset().
   */
  function ChatSocket(server, handlers) {
    this.server = server.replace(/\/+$/, "");
    this.h = handlers;
    this.state = load();            // {conversation_id, last_seq, read_seq, rated: {ticket: score}}
    this.state.rated = this.state.rated || {};
    this.seen = {};                 // seq -> true: dedupe across replays and reconnects
    this.maxSeq = 0;                // highest seq received in this page
    this.attempt = 0;
    this.ws = null;
    this.outbox = [];
    this.pending = [];              // message frames sent but not yet answered, oldest first
    this.timer = null;
    this.pinger = null;
    this.stopped = false;
  }

  ChatSocket.prototype.url = function () {
    var base = this.server.replace(/^http/, "ws") + "/v1/chat/ws";
    if (!this.state.conversation_id) return base;
    // On page load maxSeq is 0, so the whole history is replayed (and deduped by seq);
    // after a dropped socket only what was missed.
    return base + "?conversation_id=" + encodeURIComponent(this.state.conversation_id) +
      "&after_seq=" + this.maxSeq;
  };

  ChatSocket.prototype.connect = function () {
    var self = this;
    if (self.stopped) return;
    self.h.onStatus(self.attempt === 0 && !self.everOpen ? "connecting" : "reconnecting");
    var ws;
    try { ws = new WebSocket(self.url()); } catch (e) { self.retry(); return; }
    self.ws = ws;
    var opened = false;
    ws.onopen = function () { opened = true; };
    ws.onmessage = function (m) {
      var frame;
      try { frame = JSON.parse(m.data); } catch (e) { return; }
      self.onFrame(frame);
    };
    ws.onclose = function (ev) {
      if (self.ws !== ws) return;
      self.ws = null;
      clearInterval(self.pinger);
      if (self.stopped) return;
      if (!opened) self.failedResumes = (self.failedResumes || 0) + 1;
      self.h.onStatus("reconnecting", ev.code);
      self.retry();
    };
  };

  ChatSocket.prototype.retry = function () {
    var self = this;
    clearTimeout(self.timer);
    // A conversation the server no longer knows (404 before the upgrade) must not keep us
    // reconnecting forever: after a few refused attempts, ask over REST and start afresh.
    if (self.state.conversation_id && self.failedResumes >= 3) {
      self.checkConversation();
    }
    self.timer = setTimeout(function () { self.connect(); }, backoff(self.attempt++));
  };

  ChatSocket.prototype.checkConversation = function () {
    var self = this;
    var id = self.state.conversation_id;
    fetch(self.server + "/v1/conversations/" + encodeURIComponent(id) + "/events?after_seq=0")
      .then(function (r) {
        if (r.status === 404 && self.state.conversation_id === id) self.reset();
      })
      .catch(function () { /* offline: keep trying */ });
    self.failedResumes = 0;
  };

  ChatSocket.prototype.onFrame = function (frame) {
    var self = this;
    if (frame.type === "welcome") {
      self.everOpen = true;
      self.attempt = 0;
      self.failedResumes = 0;
      self.state.conversation_id = frame.conversation_id;
      save(self.state);
      self.h.onStatus("online");
      clearInterval(self.pinger);
      self.pinger = setInterval(function () { self.send({ type: "ping" }); }, 25000);
      // Messages whose answer was lost with the old socket go again with the same id:
      // the server answers a repeated id with the first outcome, never a second message.
      self.pending.forEach(function (f) { self.ws.send(JSON.stringify(f)); });
      var queued = self.outbox;
      self.outbox = [];
      queued.forEach(function (f) { self.send(f); });
      return;
    }
    if (frame.type === "pong") return;
    if (frame.type === "error") { self.pending.shift(); self.h.onError(frame); return; }
    if (frame.type === "customer_message" && !self.seen[frame.seq]) self.pending.shift();
    if (typeof frame.seq !== "number" || self.seen[frame.seq]) return;
    self.seen[frame.seq] = true;
    if (frame.seq > self.maxSeq) self.maxSeq = frame.seq;
    if (!self.state.last_seq || frame.seq > self.state.last_seq) {
      self.state.last_seq = frame.seq;
      save(self.state);
    }
    self.h.onEvent(frame);
  };

  /** Sends a customer message with a new client_message_id, again after a reconnect until answered. */
  ChatSocket.prototype.sendMessage = function (text) {
    var frame = { type: "message", text: text, client_message_id: messageId() };
    this.pending.push(frame);
    if (this.ws && this.ws.readyState === 1) this.ws.send(JSON.stringify(frame));
  };

  /** Sends a frame now, or as soon as the socket is back. */
  ChatSocket.prototype.send = function (frame) {
    if (this.ws && this.ws.readyState === 1) {
      this.ws.send(JSON.stringify(frame));
      return true;
    }
    if (frame.type !== "ping") this.outbox.push(frame);
    return false;
  };

  ChatSocket.prototype.markRead = function (seq) {
    if (!this.state.read_seq || seq > this.state.read_seq) {
      this.state.read_seq = seq;
      save(this.state);
    }
  };

  ChatSocket.prototype.markRated = function (ticket, score) {
    this.state.rated[ticket] = score;
    save(this.state);
  };

  /** Forgets the conversation and starts a new one. */
  ChatSocket.prototype.reset = function () {
    this.state = { rated: {} };
    save(this.state);
    this.seen = {};
    this.maxSeq = 0;
    this.h.onReset();
    if (this.ws) { var ws = this.ws; this.ws = null; ws.close(); }
    this.attempt = 0;
    this.connect();
  };

  ChatSocket.prototype.transcriptUrl = function () {
    var id = this.state.conversation_id;
    return id ? this.server + "/v1/conversations/" + encodeURIComponent(id) +
      "/transcript?format=text&download=1" : null;
  };

  ns.ChatSocket = ChatSocket;
  ns.backoff = backoff;
})(window.IntentDeskWidget = window.IntentDeskWidget || {});
