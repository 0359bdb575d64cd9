/* intentdesk widget: the DOM — launcher, panel, history (role="log"), bubbles, choices,
   ticket card, rating form, composer. Builds elements with the DOM API only (CSP: no
   inline styles or scripts); every class is prefixed idw- so a host page is not touched. */
(function (ns) {
  "use strict";

  var MAX_CHARS = 2000;
  var COUNTER_FROM = 1800;
  var SVG = "http://www.w3.org/2000/svg";

  function h(tag, attrs, children) {
    var el = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      var v = attrs[k];
      if (v === null || v === undefined || v === false) return;
      if (k === "text") el.textContent = v;
      else if (k.slice(0, 2) === "on") el.addEventListener(k.slice(2), v);
      else el.setAttribute(k, v === true ? "" : v);
    });
    (children || []).forEach(function (c) { if (c) el.appendChild(c); });
    return el;
  }

  function icon(path, size) {
    var svg = document.createElementNS(SVG, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("width", size || 24);
    svg.setAttribute("height", size || 24);
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    var p = document.createElementNS(SVG, "path");
    p.setAttribute("d", path);
    p.setAttribute("fill", "currentColor");
    svg.appendChild(p);
    return svg;
  }
  var ICONS = {
    chat: "M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H8l-4 4V6a2 2 0 0 1 2-2zm3 6v2h2v-2H7zm4 0v2h2v-2h-2zm4 0v2h2v-2h-2z",
    close: "M18.3 5.7 12 12l6.3 6.3-1.4 1.4L10.6 13.4 4.3 19.7 2.9 18.3 9.2 12 2.9 5.7 4.3 4.3l6.3 6.3 6.3-6.3z",
    send: "M3 20.5 21 12 3 3.5v6.6L15 12 3 13.9z",
    download: "M12 3v10.2l3.6-3.6 1.4 1.4-6 6-6-6 1.4-1.4 3.6 3.6V3h2zM5 19h14v2H5z",
    star: "M12 2.5l2.9 6.1 6.6.8-4.9 4.6 1.3 6.6L12 17.3l-5.9 3.3 1.3-6.6-4.9-4.6 6.6-.8z"
  };

  function displayName(agent) {
    return agent ? agent.charAt(0).toUpperCase() + agent.slice(1) : "";
  }

  function timeOf(ms) {
    try {
      return new Date(ms).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
    } catch (e) { return ""; }
  }

  /** The whole widget inside `root`. `actions`: send(text), rate(ticket, score, comment), download(), opened(). */
  function View(root, opts, actions) {
    this.root = root;
    this.t = ns.i18n.STRINGS[opts.locale];
    this.opts = opts;
    this.actions = actions;
    this.tickets = {};    // ticket id -> card elements
    this.unread = 0;
    this.isOpen = false;
    this.build();
  }

  View.prototype.build = function () {
    var t = this.t, self = this;
    this.root.classList.add("idw-root");
    this.root.setAttribute("lang", this.opts.locale);
    if (this.opts.color) this.root.style.setProperty("--idw-accent", this.opts.color);

    this.badge = h("span", { "class": "idw-badge", "aria-hidden": "true", hidden: true });
    this.launcher = h("button", {
      type: "button", "class": "idw-launcher", "aria-expanded": "false",
      "aria-controls": "idw-panel", "aria-label": t.open,
      onclick: function () { self.toggle(); }
    }, [icon(ICONS.chat, 28), this.badge]);

    this.status = h("p", { "class": "idw-subtitle", text: t.subtitle_connecting });
    this.downloadBtn = h("button", {
      type: "button", "class": "idw-icon-btn idw-download", "aria-label": t.download, title: t.download,
      onclick: function () { self.actions.download(); }
    }, [icon(ICONS.download, 20)]);
    var closeBtn = h("button", {
      type: "button", "class": "idw-icon-btn idw-close", "aria-label": t.close, title: t.close,
      onclick: function () { self.close(); self.launcher.focus(); }
    }, [icon(ICONS.close, 20)]);
    var header = h("header", { "class": "idw-header" }, [
      h("div", { "class": "idw-avatar", "aria-hidden": "true" }, [icon(ICONS.chat, 20)]),
      h("div", { "class": "idw-heading" }, [
        h("h2", { "class": "idw-title", id: "idw-title", text: this.opts.title || t.title }),
        this.status
      ]),
      this.downloadBtn, closeBtn
    ]);

    this.log = h("div", {
      "class": "idw-log", role: "log", "aria-live": "polite", "aria-relevant": "additions",
      "aria-label": t.log_label, tabindex: "0"
    });
    this.log.appendChild(this.bubble("idw-from-bot", t.bot, t.welcome, null, null, true));
    this.typing = h("div", { "class": "idw-typing", hidden: true, "aria-hidden": "true" },
      [h("span"), h("span"), h("span")]);
    this.notice = h("div", { "class": "idw-notice", role: "alert", hidden: true });

    this.input = h("textarea", {
      id: "idw-input", "class": "idw-input", rows: "1", placeholder: t.placeholder,
      "aria-describedby": "idw-hint idw-counter"
    });
    this.input.addEventListener("keydown", function (e) {
      if (e.key === "Enter" && !e.shiftKey && !e.isComposing) { e.preventDefault(); self.submit(); }
    });
    this.input.addEventListener("input", function () { self.onInput(); });
    this.counter = h("span", { id: "idw-counter", "class": "idw-counter", "aria-live": "polite" });
    this.sendBtn = h("button", {
      type: "submit", "class": "idw-send", "aria-label": t.send, title: t.send
    }, [icon(ICONS.send, 20)]);
    var form = h("form", { "class": "idw-composer", onsubmit: function (e) { e.preventDefault(); self.submit(); } }, [
      h("label", { "for": "idw-input", "class": "idw-sr", text: t.input_label }),
      this.input, this.sendBtn
    ]);
    var foot = h("div", { "class": "idw-foot" }, [
      h("span", { id: "idw-hint", "class": "idw-hint", text: t.hint }), this.counter
    ]);

    this.panel = h("section", {
      id: "idw-panel", "class": "idw-panel", role: "dialog", "aria-labelledby": "idw-title", hidden: true
    }, [header, this.log, this.typing, this.notice, form, foot]);
    this.panel.addEventListener("keydown", function (e) {
      if (e.key === "Escape") { self.close(); self.launcher.focus(); }
    });
    this.root.appendChild(this.panel);
    this.root.appendChild(this.launcher);
    this.onInput();
  };

  View.prototype.open = function () {
    this.isOpen = true;
    this.panel.hidden = false;
    this.root.classList.add("idw-open");
    this.launcher.setAttribute("aria-expanded", "true");
    this.setUnread(0);
    this.actions.opened();
    this.scroll();
    this.input.focus();
  };
  View.prototype.close = function () {
    this.isOpen = false;
    this.panel.hidden = true;
    this.root.classList.remove("idw-open");
    this.launcher.setAttribute("aria-expanded", "false");
  };
  View.prototype.toggle = function () { if (this.isOpen) this.close(); else this.open(); };

  View.prototype.setUnread = function (n) {
    this.unread = n;
    this.badge.textContent = n > 99 ? "99+" : String(n);
    this.badge.hidden = n === 0;
    this.launcher.setAttribute("aria-label", n ? this.t.open + " — " + this.t.unread(n) : this.t.open);
  };

  View.prototype.setStatus = function (status) {
    var t = this.t;
    this.status.textContent = status === "online" ? t.subtitle_online
      : status === "connecting" ? t.subtitle_connecting : t.subtitle_reconnecting;
    this.root.classList.toggle("idw-offline", status !== "online");
    if (status === "online" && this.notice.dataset.kind === "connection") this.showNotice(null);
    if (status === "reconnecting") this.showNotice(t.err_connection, "connection");
  };

  View.prototype.showNotice = function (text, kind) {
    this.notice.textContent = text || "";
    this.notice.hidden = !text;
    this.notice.dataset.kind = kind || "";
  };

  View.prototype.showError = function (frame) {
    var t = this.t;
    var code = frame.code || "";
    var text = code === "message_too_long" ? (frame.text || t.err_message_too_long)
      : code === "rate_limited" ? t.err_rate_limited(frame.retry_after_secs)
      : code === "overloaded" ? t.err_overloaded
      : (frame.text || t.err_generic);
    this.showNotice(text, code || "error");
    this.typing.hidden = true;
  };

  View.prototype.onInput = function () {
    var n = this.input.value.length;
    this.input.style.height = "auto";
    this.input.style.height = Math.min(120, this.input.scrollHeight) + "px";
    this.counter.textContent = n >= COUNTER_FROM ? this.t.counter(n, MAX_CHARS) : "";
    this.counter.classList.toggle("idw-over", n > MAX_CHARS);
    this.sendBtn.disabled = n > MAX_CHARS;
  };

  View.prototype.submit = function () {
    var text = this.input.value.trim();
    if (!text) return;
    if (text.length > MAX_CHARS) { this.showNotice(this.t.err_message_too_long, "message_too_long"); return; }
    this.input.value = "";
    this.onInput();
    if (this.notice.dataset.kind !== "connection") this.showNotice(null);
    this.actions.send(text);
    // The bot answers at once; a person in the queue or on the ticket does not "type" here.
    this.typing.hidden = !!this.log.querySelector(".idw-ticket:not(.idw-ticket-done)");
    this.scroll();
  };

  View.prototype.scroll = function () {
    var log = this.log;
    requestAnimationFrame(function () { log.scrollTop = log.scrollHeight; });
  };

  View.prototype.bubble = function (cls, who, text, seq, at, intro) {
    var meta = h("div", { "class": "idw-meta" }, [
      h("span", { "class": "idw-who", text: who }),
      at ? h("time", { "class": "idw-time", datetime: new Date(at).toISOString(), text: timeOf(at) }) : null
    ]);
    var el = h("div", { "class": "idw-msg " + cls + (intro ? " idw-intro" : "") }, [
      meta, h("div", { "class": "idw-text", text: text })
    ]);
    if (seq !== null && seq !== undefined) el.dataset.seq = String(seq);
    return el;
  };

  View.prototype.append = function (el) {
    this.log.appendChild(el);
    this.scroll();
  };

  /** Renders one stored event; returns whether it counts as unread (from the other side). */
  View.prototype.render = function (ev, state) {
    var t = this.t, self = this;
    if (ev.type !== "customer_message") this.typing.hidden = true;
    switch (ev.type) {
      case "customer_message":
        this.append(this.bubble("idw-from-customer", t.you, ev.text, ev.seq, ev.at_ms));
        return false;
      case "bot_message":
        this.disableChoices();
        var b = this.bubble("idw-from-bot", t.bot, ev.text, ev.seq, ev.at_ms);
        var choices = ev.choices || [];
        if (ev.did_this_help && !choices.length) choices = [{ id: "yes", label: t.yes }, { id: "no", label: t.no }];
        if (choices.length) b.appendChild(this.choices(choices, ev.did_this_help));
        this.append(b);
        return true;
      case "ticket_opened":
      case "queue_position":
        this.ticketCard(ev);
        if (ev.type === "ticket_opened") this.append(this.bubble("idw-from-bot", t.bot, ev.text, ev.seq, ev.at_ms));
        return ev.type === "ticket_opened";
      case "agent_joined":
        this.ticketCard(ev);
        this.append(h("div", { "class": "idw-event", "data-seq": String(ev.seq) }, [
          h("span", { "class": "idw-avatar-sm", "aria-hidden": "true", text: displayName(ev.agent).charAt(0) }),
          h("span", { text: ev.text || t.ticket_assigned(displayName(ev.agent)) })
        ]));
        return true;
      case "agent_message":
        var a = this.bubble("idw-from-agent", displayName(ev.agent) + " · " + t.agent_suffix, ev.text, ev.seq, ev.at_ms);
        a.insertBefore(h("span", { "class": "idw-avatar-sm", "aria-hidden": "true", text: displayName(ev.agent).charAt(0) }), a.firstChild);
        this.append(a);
        return true;
      case "resolved":
      case "handed_back":
        this.ticketCard(ev);
        this.append(this.bubble("idw-from-bot", t.bot, ev.text, ev.seq, ev.at_ms));
        return true;
      case "rating_request":
        var r = this.bubble("idw-from-bot", t.bot, ev.text, ev.seq, ev.at_ms);
        r.appendChild(this.ratingForm(ev.ticket_id || String(ev.seq), state.rated));
        this.append(r);
        return true;
      default:
        if (ev.text) this.append(this.bubble("idw-from-bot", t.bot, ev.text, ev.seq, ev.at_ms));
        return false;
    }
  };

  View.prototype.disableChoices = function () {
    Array.prototype.forEach.call(this.log.querySelectorAll(".idw-choices button"), function (b) {
      b.disabled = true;
    });
  };

  View.prototype.choices = function (choices, helpful) {
    var self = this;
    var group = h("div", { "class": "idw-choices" + (helpful ? " idw-helpful" : ""), role: "group",
      "aria-label": helpful ? this.t.helpful_q : null });
    choices.forEach(function (c) {
      group.appendChild(h("button", {
        type: "button", "class": "idw-choice", "data-choice": c.id, text: c.label,
        onclick: function () {
          Array.prototype.forEach.call(group.querySelectorAll("button"), function (b) { b.disabled = true; });
          this.classList.add("idw-picked");
          self.actions.send(c.id);
          self.typing.hidden = false;
        }
      }));
    });
    return group;
  };

  View.prototype.ticketCard = function (ev) {
    var t = this.t, id = ev.ticket_id;
    if (!id) return;
    var card = this.tickets[id];
    if (!card) {
      card = {
        pos: h("dd", { "class": "idw-pos" }), wait: h("dd", { "class": "idw-wait" }),
        state: h("p", { "class": "idw-ticket-state", role: "status" })
      };
      card.el = h("div", { "class": "idw-ticket", "data-ticket": id }, [
        h("div", { "class": "idw-ticket-head" }, [
          h("span", { "class": "idw-ticket-label", text: t.ticket }),
          h("strong", { "class": "idw-ticket-id", text: id })
        ]),
        card.rows = h("dl", { "class": "idw-ticket-rows" }, [
          h("div", {}, [h("dt", { text: t.position }), card.pos]),
          h("div", {}, [h("dt", { text: t.wait }), card.wait])
        ]),
        card.state
      ]);
      this.tickets[id] = card;
      this.append(card.el);
    }
    if (ev.position !== undefined) {
      card.pos.textContent = "#" + ev.position;
      card.wait.textContent = t.minutes(ev.wait_minutes);
    }
    this.agentActive = ev.type === "agent_joined" || (this.agentActive && ev.type !== "resolved" && ev.type !== "handed_back");
    if (ev.type === "agent_joined") {
      card.rows.hidden = true;
      card.state.textContent = t.ticket_assigned(displayName(ev.agent));
      card.el.classList.add("idw-ticket-active");
    }
    if (ev.type === "resolved" || ev.type === "handed_back") {
      card.rows.hidden = true;
      card.state.textContent = ev.type === "resolved" ? t.ticket_resolved : "";
      card.el.classList.remove("idw-ticket-active");
      card.el.classList.add("idw-ticket-done");
    }
  };

  View.prototype.ratingForm = function (key, rated) {
    var t = this.t, self = this, score = 0;
    var form = h("form", { "class": "idw-rating", "aria-label": t.rate_title });
    if (rated[key]) {
      form.appendChild(h("p", { "class": "idw-rated", text: t.rate_thanks }));
      return form;
    }
    var stars = h("div", { "class": "idw-stars", role: "group", "aria-label": t.rate_title });
    var buttons = [];
    for (var i = 1; i <= 5; i++) {
      (function (n) {
        var b = h("button", {
          type: "button", "class": "idw-star", "data-score": String(n), "aria-label": t.star(n),
          "aria-pressed": "false",
          onclick: function () {
            score = n;
            buttons.forEach(function (x, j) {
              x.setAttribute("aria-pressed", j + 1 === n ? "true" : "false");
              x.classList.toggle("idw-lit", j < n);
            });
            submit.disabled = false;
          }
        }, [icon(ICONS.star, 26)]);
        buttons.push(b);
        stars.appendChild(b);
      })(i);
    }
    var cid = "idw-comment-" + key;
    var comment = h("textarea", { id: cid, "class": "idw-comment", rows: "2", placeholder: t.comment_placeholder, maxlength: "1000" });
    var submit = h("button", { type: "submit", "class": "idw-rate-send", disabled: true, text: t.rate_send });
    form.appendChild(stars);
    form.appendChild(h("label", { "for": cid, "class": "idw-sr", text: t.comment_label }));
    form.appendChild(comment);
    form.appendChild(submit);
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      if (!score) return;
      self.actions.rate(key, score, comment.value.trim());
      while (form.firstChild) form.removeChild(form.firstChild);
      form.appendChild(h("p", { "class": "idw-rated", role: "status", text: t.rate_thanks }));
    });
    return form;
  };

  View.prototype.clear = function () {
    Array.prototype.forEach.call(this.log.querySelectorAll("[data-seq], .idw-ticket"), function (el) {
      el.parentNode.removeChild(el);
    });
    this.tickets = {};
    this.setUnread(0);
  };

  ns.View = View;
})(window.IntentDeskWidget = window.IntentDeskWidget || {});
