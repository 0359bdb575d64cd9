/* intentdesk widget: the incident banner — active high-severity notices in the customer's
   language, fetched from /v1/notices/active and refreshed every minute, shown at the top of
   the panel in a polite live region (read out when it changes, never interrupting). DOM API
   only (CSP: no inline styles or scripts). */
(function (ns) {
  "use strict";

  var REFRESH_MS = 60000;
  var LABELS = {
    en: "Service notice", ko: "서비스 공지", zh: "服务公告", ja: "サービスのお知らせ"
  };

  /** Fetches and shows the notices above `before` inside `panel`. */
  function Banner(panel, before, settings) {
    this.url = settings.server + "/v1/notices/active?lang=" + encodeURIComponent(settings.locale);
    this.label = LABELS[settings.locale] || LABELS.en;
    this.el = document.createElement("div");
    this.el.className = "idw-banner";
    this.el.setAttribute("role", "status");
    this.el.setAttribute("aria-live", "polite");
    this.el.hidden = true;
    panel.insertBefore(this.el, before);
    this.shown = "";
    var self = this;
    this.refresh();
    setInterval(function () { self.refresh(); }, REFRESH_MS);
  }

  Banner.prototype.refresh = function () {
    var self = this;
    if (!window.fetch) return;
    fetch(this.url, { credentials: "omit" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (doc) { if (doc) self.render(doc.notices || []); })
      .catch(function () { /* keep what is shown; the next refresh retries */ });
  };

  Banner.prototype.render = function (notices) {
    var key = JSON.stringify(notices.map(function (n) { return [n.id, n.text]; }));
    if (key === this.shown) return;  // unchanged: do not make screen readers repeat it
    this.shown = key;
    while (this.el.firstChild) this.el.removeChild(this.el.firstChild);
    var label = this.label;
    var el = this.el;
    notices.forEach(function (n) {
      var item = document.createElement("p");
      item.className = "idw-banner-item";
      item.setAttribute("data-notice", n.id);
      var strong = document.createElement("strong");
      strong.textContent = label + ": ";
      item.appendChild(strong);
      item.appendChild(document.createTextNode(n.text));
      el.appendChild(item);
    });
    this.el.hidden = notices.length === 0;
  };

  ns.Banner = Banner;
})(window.IntentDeskWidget = window.IntentDeskWidget || {});
