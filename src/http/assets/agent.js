// intentdesk agent workspace: the one store object and the wiring of sign-in, presence, the
// three lists (Waiting, Mine, All open), the ticket pane and the supervisor strip.
import { api, token, Feed } from "./agent-api.js";
import { initNotices } from "./agent-notices.js";
import { $, h, renderList, renderDetails, renderStats, transcriptLine, priorityName, ticketId, langName } from "./agent-view.js";

const store = {
  me: null,          // {agent, name, online, capacity, load}
  tickets: [],       // TicketSummary for every open ticket
  agents: [],        // from the queue frame / stats
  current: null,     // open ticket id
  ticket: null,      // its detail
  shown: new Set(),  // seqs in the open transcript
  unread: {},        // ticket id -> customer messages not yet seen
  feed: null,
  newCount: 0,
};
const baseTitle = document.title;

async function signIn(t) {
  token.set(t);
  try {
    store.me = await api("GET", "/v1/agent/me");
  } catch (e) {
    token.clear();
    $("signin-error").textContent = e.status === 401 ? "That token is not valid." : "Sign-in failed: " + e.message;
    return;
  }
  $("signin").hidden = true;
  $("app").hidden = false;
  renderMe();
  store.feed = new Feed(onFrame, (s) => {
    $("feed-state").textContent = s === "online" ? "Live" : "Reconnecting…";
    $("feed-state").classList.toggle("off", s !== "online");
  });
  store.feed.start();
  refreshTickets();
  refreshStats();
  setInterval(refreshStats, 15000);
  initNotices();
}

function renderMe() {
  const me = store.me;
  $("me").textContent = me.name || me.agent;
  $("online").setAttribute("aria-pressed", String(me.online));
  $("online").textContent = me.online ? "Online" : "Offline";
  $("online").classList.toggle("on", me.online);
  $("capacity").value = me.capacity;
}

async function setPresence(online, capacity) {
  try {
    await api("POST", "/v1/agent/presence", { online, capacity });
    store.me = await api("GET", "/v1/agent/me");
    renderMe();
  } catch (e) { notice("Could not change presence: " + e.message); }
}

async function refreshTickets() {
  try { onTickets((await api("GET", "/v1/agent/tickets")).tickets); } catch (e) { /* the feed brings them */ }
}

let statsTimer = null;
function refreshStats(soon) {
  if (soon) { clearTimeout(statsTimer); statsTimer = setTimeout(() => refreshStats(), 300); return; }
  api("GET", "/v1/agent/stats").then((s) => { store.agents = s.agents || []; renderStats(s); renderTransferTargets(); }).catch(() => {});
}

function notice(text) {
  const n = $("notice");
  n.textContent = text;
  n.hidden = !text;
}

function titleBadge() {
  document.title = store.newCount ? `(${store.newCount}) ${baseTitle}` : baseTitle;
}

function onFrame(f) {
  switch (f.type) {
    case "tickets": onTickets(f.tickets); refreshStats(true); break;
    case "queue": if (f.agents) store.agents = f.agents; refreshStats(true); break;
    case "assigned": {
      const id = ticketId(f.ticket);
      if (id !== store.current) { store.newCount++; titleBadge(); }
      notice(`New ticket assigned to you: ${id} (${f.ticket.intent}, ${langName(f.ticket.language)})` + (f.by === "transfer" ? " — transferred" : ""));
      refreshTickets();
      break;
    }
    case "unassigned":
      if (f.ticket_id === store.current) openTicket(store.current);
      refreshTickets();
      break;
    case "conversation_event": onConversationEvent(f); break;
    default: break;
  }
}

function onTickets(list) {
  store.tickets = list || [];
  for (const t of store.tickets) if (t.unread != null && ticketId(t) !== store.current) store.unread[ticketId(t)] = t.unread;
  renderLists();
  if (store.current && store.ticket && !store.tickets.some((t) => ticketId(t) === store.current)) {
    openTicket(store.current); // resolved or handed back: show its final state
  } else if (store.current) {
    const t = store.tickets.find((x) => ticketId(x) === store.current);
    if (t && store.ticket && (t.state !== store.ticket.state || t.agent !== agentOf(store.ticket))) openTicket(store.current);
  }
}

const agentOf = (t) => t.agent ?? t.agent_id ?? null;

function renderLists() {
  const me = store.me && store.me.agent;
  const waiting = store.tickets.filter((t) => t.state === "waiting");
  const mine = store.tickets.filter((t) => t.state === "assigned" && t.agent === me);
  const others = store.tickets.filter((t) => t.state === "assigned" && t.agent !== me);
  const opts = { current: store.current, onOpen: openTicket };
  renderList($("list-mine"), $("n-mine"), mine, { ...opts, unreadOf: (t) => store.unread[ticketId(t)] || 0 });
  renderList($("list-waiting"), $("n-waiting"), waiting, opts);
  renderList($("list-all"), $("n-all"), others, { ...opts, showAgent: true });
}

function onConversationEvent(f) {
  if (f.ticket_id === store.current) {
    appendLine({ ...f.event, seq: f.seq ?? f.event.seq });
  } else if (f.event && f.event.type === "customer_message") {
    store.unread[f.ticket_id] = (store.unread[f.ticket_id] || 0) + 1;
    renderLists();
  }
}

function appendLine(ev) {
  if (ev.seq != null) {
    if (store.shown.has(ev.seq)) return;
    store.shown.add(ev.seq);
  }
  const log = $("t-transcript");
  log.append(transcriptLine(ev));
  log.scrollTop = log.scrollHeight;
}

async function openTicket(id) {
  let t;
  try { t = await api("GET", "/v1/agent/tickets/" + encodeURIComponent(id)); } catch (e) { notice("Could not open " + id + ": " + e.message); return; }
  store.current = id;
  store.ticket = t;
  store.unread[id] = 0;
  store.newCount = 0;
  titleBadge();
  renderTicket(t);
  renderLists();
}

function renderTicket(t) {
  const id = ticketId(t);
  const me = store.me.agent;
  const owner = agentOf(t);
  $("empty").hidden = true;
  $("ticket").hidden = false;
  $("t-title").textContent = id;
  const pr = priorityName(t.priority_name ?? t.priority);
  $("t-chips").replaceChildren(
    h("span", { class: "chip", text: `${t.intent} · ${Math.round((t.confidence || 0) * 100)} %` }),
    h("span", { class: "chip", text: langName(t.language) }),
    h("span", { class: "chip prio prio-" + pr, text: pr }),
    h("span", { class: "chip", text: t.state + (owner ? " · " + owner : "") }),
  );
  renderDetails($("t-details"), t.details, copy);
  store.shown = new Set();
  $("t-transcript").replaceChildren();
  for (const ev of Array.isArray(t.transcript) ? t.transcript : []) appendLine(ev);
  const notes = Array.isArray(t.notes) ? t.notes : [];
  $("t-notes").replaceChildren(...notes.map((n) => h("li", { text: (n.agent || n.agent_id ? (n.agent || n.agent_id) + ": " : "") + (n.text ?? String(n)) })));
  const mine = t.state === "assigned" && owner === me;
  $("a-claim").hidden = t.state !== "waiting";
  $("a-resolve").hidden = !mine;
  $("a-handback").hidden = !mine;
  $("reply-box").hidden = !mine;
  $("a-transfer").disabled = !mine;
  $("transfer-to").disabled = !mine;
  $("a-note").disabled = !(mine || t.state === "waiting");
  const s = t.suggested_reply;
  $("suggest").hidden = !(mine && s);
  $("suggest-text").textContent = s || "";
  renderTransferTargets();
}

function renderTransferTargets() {
  const sel = $("transfer-to");
  const me = store.me && store.me.agent;
  const keep = sel.value;
  const options = [h("option", { value: "", text: "Back to the queue" })];
  for (const a of store.agents) {
    const id = a.agent || a.id;
    if (id !== me && a.online) options.push(h("option", { value: id, text: `${a.name || id} (${a.load ?? a.active_tickets ?? 0}/${a.capacity})` }));
  }
  sel.replaceChildren(...options);
  if ([...sel.options].some((o) => o.value === keep)) sel.value = keep;
}

async function copy(value, button) {
  try {
    await navigator.clipboard.writeText(value);
    button.textContent = "Copied";
  } catch {
    button.textContent = "Copy failed";
  }
  setTimeout(() => { button.textContent = "Copy"; }, 1500);
}

async function act(method, path, body, done) {
  try {
    const r = await api(method, path, body);
    if (done) done(r);
  } catch (e) {
    notice(e.message);
  }
  if (store.current) openTicket(store.current);
  refreshTickets();
  refreshStats(true);
}

const tpath = (suffix) => "/v1/agent/tickets/" + encodeURIComponent(store.current) + suffix;

function sendReply() {
  const text = $("reply").value.trim();
  if (!text || !store.current) return;
  act("POST", tpath("/reply"), { text }, () => { $("reply").value = ""; });
}

function wire() {
  $("signin-form").addEventListener("submit", (e) => { e.preventDefault(); signIn($("token").value.trim()); });
  $("signout").addEventListener("click", () => { token.clear(); if (store.feed) store.feed.stop(); location.reload(); });
  $("online").addEventListener("click", () => setPresence(!store.me.online, Number($("capacity").value)));
  $("capacity").addEventListener("change", () => setPresence(store.me.online, Number($("capacity").value)));
  $("a-claim").addEventListener("click", () => act("POST", tpath("/claim")));
  $("a-resolve").addEventListener("click", () => act("POST", tpath("/resolve")));
  $("a-handback").addEventListener("click", () => act("POST", tpath("/handback")));
  $("a-transfer").addEventListener("click", () => {
    const to = $("transfer-to").value || null;
    act("POST", tpath("/transfer"), { to }, () => notice(`${store.current} transferred to ${to || "the queue"}.`));
  });
  $("a-note").addEventListener("click", () => {
    const text = $("note").value.trim();
    if (text) act("POST", tpath("/note"), { text }, () => { $("note").value = ""; });
  });
  $("a-reply").addEventListener("click", sendReply);
  $("reply").addEventListener("keydown", (e) => {
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) { e.preventDefault(); sendReply(); }
  });
  $("a-insert").addEventListener("click", () => {
    const r = $("reply");
    r.value = r.value ? r.value + "\n" + $("suggest-text").textContent : $("suggest-text").textContent;
    r.focus();
  });
  const saved = token.get();
  if (saved) signIn(saved);
}

wire();
