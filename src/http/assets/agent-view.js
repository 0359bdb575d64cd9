// intentdesk agent workspace: rendering (ticket lists, ticket pane, transcript, stats).
// DOM API only (CSP: no inline styles or scripts).

export const $ = (id) => document.getElementById(id);

export function h(tag, attrs = {}, children = []) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "text") el.textContent = v;
    else if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children) if (c) el.append(c);
  return el;
}

const PRIORITIES = ["low", "normal", "high", "urgent"];
export const priorityName = (p) => (typeof p === "number" ? PRIORITIES[p] || "normal" : p || "normal");
export const ticketId = (t) => t.ticket_id || t.id;
const LANGS = { ko: "Korean", en: "English", zh: "Chinese", ja: "Japanese" };
export const langName = (l) => LANGS[l] || l || "?";

export function ago(ms) {
  if (!ms) return "";
  const s = Math.max(0, Math.round((Date.now() - ms) / 1000));
  if (s < 60) return s + " s";
  if (s < 3600) return Math.round(s / 60) + " min";
  return Math.floor(s / 3600) + " h " + Math.round((s % 3600) / 60) + " min";
}

function secs(s) {
  if (s === null || s === undefined) return "–";
  return s < 60 ? Math.round(s) + " s" : Math.round(s / 60) + " min";
}

/** One ticket row: a real button that opens the ticket. */
export function ticketRow(t, { selected, unread, onOpen, showAgent }) {
  const id = ticketId(t);
  const pr = priorityName(t.priority);
  const label = h("span", { class: "t-top" }, [
    h("span", { class: "prio prio-" + pr, text: pr }),
    h("strong", { text: id }),
    h("span", { class: "muted small", text: t.state === "waiting" ? "waiting " + ago(t.waiting_since_ms || t.created_at_ms) : (showAgent && t.agent ? "→ " + t.agent : "") }),
    unread ? h("span", { class: "unread", "aria-label": unread + " unread", text: String(unread) }) : null,
  ]);
  const sub = h("span", { class: "t-sub" }, [
    h("span", { class: "tag", text: t.intent }),
    h("span", { class: "tag", text: (t.language || "?").toUpperCase() }),
  ]);
  const first = h("span", { class: "t-first", text: t.first_line || "" });
  return h("li", {}, [
    h("button", {
      type: "button", class: "ticket-row" + (selected ? " selected" : ""), "data-ticket": id,
      "aria-current": selected ? "true" : null, onclick: () => onOpen(id),
    }, [label, sub, first]),
  ]);
}

export function renderList(ul, counter, tickets, opts) {
  ul.replaceChildren(...tickets.map((t) => ticketRow(t, { ...opts, selected: ticketId(t) === opts.current, unread: opts.unreadOf ? opts.unreadOf(t) : 0 })));
  if (!tickets.length) ul.append(h("li", { class: "none muted", text: "Nothing here" }));
  counter.textContent = String(tickets.length);
}

/** A transcript line from an event ({seq, at_ms, type, text, agent?}). */
export function transcriptLine(ev) {
  const who = ev.type === "customer_message" ? "Customer"
    : ev.type === "agent_message" ? (ev.agent || "Agent")
    : "Bot";
  const cls = ev.type === "customer_message" ? "from-customer" : ev.type === "agent_message" ? "from-agent" : "from-bot";
  const kind = ["customer_message", "agent_message", "bot_message"].includes(ev.type) ? "" : " system";
  const time = ev.at_ms ? new Date(ev.at_ms).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }) : "";
  return h("div", { class: "line " + cls + kind, "data-seq": ev.seq != null ? String(ev.seq) : null }, [
    h("div", { class: "line-meta" }, [h("span", { class: "who", text: who }), h("span", { text: time })]),
    h("div", { class: "line-text", text: ev.text || ev.type }),
  ]);
}

export function renderDetails(dl, details, onCopy) {
  const entries = Object.entries(details || {});
  dl.replaceChildren();
  if (!entries.length) { dl.append(h("p", { class: "muted", text: "No details collected." })); return; }
  for (const [k, v] of entries) {
    const value = typeof v === "string" ? v : JSON.stringify(v);
    dl.append(h("div", { class: "detail" }, [
      h("dt", { text: k.replace(/_/g, " ") }),
      h("dd", {}, [
        h("code", { text: value }),
        h("button", { type: "button", class: "btn small copy", "aria-label": "Copy " + k.replace(/_/g, " "), text: "Copy", onclick: (e) => onCopy(value, e.currentTarget) }),
      ]),
    ]));
  }
}

export function renderStats(s) {
  $("s-queue").textContent = String(s.queue_length ?? "–");
  $("s-wait").textContent = s.estimated_wait_minutes != null ? s.estimated_wait_minutes + " min" : "–";
  $("s-oldest").textContent = secs(s.oldest_waiting_seconds);
  const agents = (s.agents || []).filter((a) => a.online).map((a) => `${a.name || a.agent} ${a.load}/${a.capacity}`);
  $("s-agents").textContent = String(s.agents_online ?? agents.length) + (agents.length ? " · " + agents.join(", ") : "");
  const today = s.today || {};
  $("s-deflection").textContent = today.deflection_rate == null ? "–" : Math.round(today.deflection_rate * 100) + " %";
  $("s-rating").textContent = today.average_rating == null ? "–" : today.average_rating.toFixed(1) + " ★ (" + today.ratings + ")";
  $("s-rating").dataset.ratings = String(today.ratings ?? 0);
}
