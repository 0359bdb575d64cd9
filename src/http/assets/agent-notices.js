// intentdesk agent workspace: the supervisor's incident notices — the form (intents from the
// catalog, coins, networks, keywords, severity, expiry, a text per language with the missing
// languages named), the list of active and recent notices with their counters, and edit /
// extend / resolve. DOM API only (CSP: no inline styles or scripts).
import { api } from "./agent-api.js";
import { $, h } from "./agent-view.js";

const LANGS = [["ko", "Korean"], ["en", "English"], ["zh", "Chinese"], ["ja", "Japanese"]];
const EXPIRIES = [[30, "30 min"], [60, "1 hour"], [120, "2 hours"], [240, "4 hours"], [480, "8 hours"],
  [1440, "24 hours"], [4320, "3 days"], [10080, "7 days"]];
const REFRESH_MS = 30000;

const state = { intents: [], notices: [], editing: null, resolving: null };

const list = (text) => text.split(",").map((s) => s.trim()).filter(Boolean);

/** Builds the panel once the agent is signed in; the Notices button toggles it. */
export function initNotices() {
  const panel = $("notices");
  $("notices-toggle").addEventListener("click", () => {
    panel.hidden = !panel.hidden;
    $("notices-toggle").setAttribute("aria-expanded", String(!panel.hidden));
    if (!panel.hidden) { refresh(); $("n-intents").focus(); }
  });
  $("n-expires").replaceChildren(...EXPIRIES.map(([m, label]) =>
    h("option", { value: String(m), selected: m === 120, text: label })));
  $("n-texts").replaceChildren(...LANGS.map(([code, name]) => h("div", { class: "n-lang" }, [
    h("label", { for: "n-text-" + code, class: "field-label", text: name + " (" + code + ")" + (code === "en" ? " — required, the fallback" : "") }),
    h("textarea", { id: "n-text-" + code, rows: "2", lang: code, "data-lang": code, oninput: showMissing }),
  ])));
  $("n-form").addEventListener("submit", (e) => { e.preventDefault(); submit(); });
  $("n-cancel").addEventListener("click", () => resetForm());
  showMissing();
  refresh();
  setInterval(() => { if (!panel.hidden) refresh(); }, REFRESH_MS);
}

function texts() {
  const out = {};
  for (const [code] of LANGS) {
    const v = $("n-text-" + code).value.trim();
    if (v) out[code] = v;
  }
  return out;
}

function showMissing() {
  const given = texts();
  const missing = LANGS.filter(([code]) => !given[code]).map(([, name]) => name);
  $("n-missing").textContent = missing.length
    ? "Missing: " + missing.join(", ") + (given.en ? " — these customers will read the English text." : "")
    : "All four languages written.";
  $("n-missing").classList.toggle("warn", missing.length > 0);
}

async function refresh() {
  try {
    const doc = await api("GET", "/v1/notices");
    if (!state.intents.length) {
      state.intents = doc.intents;
      $("n-intents").replaceChildren(...doc.intents.map((i) => h("option", {
        value: i.id, text: i.id + (i.security ? " (security: shown as information only)" : ""), title: i.description,
      })));
    }
    state.notices = doc.notices;
    renderList();
  } catch (e) { say("Could not load notices: " + e.message); }
}

function say(text) { $("n-error").textContent = text || ""; }

function body() {
  return {
    intents: [...$("n-intents").selectedOptions].map((o) => o.value),
    coins: list($("n-coins").value),
    networks: list($("n-networks").value),
    keywords: list($("n-keywords").value),
    text: texts(),
    severity: $("n-severity").value,
    expires_in_minutes: Number($("n-expires").value),
  };
}

async function submit() {
  say("");
  try {
    if (state.resolving) {
      const n = await api("POST", `/v1/notices/${state.resolving}/resolve`, { text: texts() });
      done(`${n.id} resolved; the closing text reached ${n.pushed_to} waiting customer(s).`);
    } else if (state.editing) {
      const b = body();
      // Languages emptied in the form are removed.
      for (const [code] of LANGS) if (!(code in b.text)) b.text[code] = "";
      const n = await api("PATCH", `/v1/notices/${state.editing}`, b);
      done(`${n.id} updated.`);
    } else {
      const n = await api("POST", "/v1/notices", body());
      done(`${n.id} posted; ${n.pushed_to} customer(s) with an open ticket were told at once.`);
    }
  } catch (e) { say(e.message); }
}

function done(text) {
  resetForm();
  $("n-status").textContent = text;
  refresh();
}

function resetForm() {
  state.editing = null;
  state.resolving = null;
  $("n-form").reset();
  $("n-expires").value = "120";
  $("n-scope").hidden = false;
  $("n-form-title").textContent = "Post a notice";
  $("n-submit").textContent = "Post notice";
  $("n-cancel").hidden = true;
  say("");
  showMissing();
}

function edit(n) {
  resetForm();
  state.editing = n.id;
  for (const o of $("n-intents").options) o.selected = n.intents.includes(o.value);
  $("n-coins").value = n.coins.join(", ");
  $("n-networks").value = n.networks.join(", ");
  $("n-keywords").value = n.keywords.join(", ");
  $("n-severity").value = n.severity;
  for (const [code] of LANGS) $("n-text-" + code).value = n.texts[code] || "";
  $("n-form-title").textContent = `Edit ${n.id} (the expiry is set from now)`;
  $("n-submit").textContent = "Save changes";
  $("n-cancel").hidden = false;
  showMissing();
  $("n-intents").focus();
}

function resolve(n) {
  resetForm();
  state.resolving = n.id;
  $("n-scope").hidden = true;
  $("n-form-title").textContent = `Resolve ${n.id}: closing text for customers still waiting`;
  $("n-submit").textContent = "Resolve and tell customers";
  $("n-cancel").hidden = false;
  showMissing();
  $("n-text-en").focus();
}

async function extend(n, minutes) {
  const left = Math.max(0, Math.round((n.expires_at_ms - Date.now()) / 60000));
  try {
    await api("PATCH", `/v1/notices/${n.id}`, { expires_in_minutes: Math.min(10080, left + minutes) });
    $("n-status").textContent = `${n.id} extended by ${minutes} min.`;
    refresh();
  } catch (e) { say(e.message); }
}

const time = (ms) => new Date(ms).toLocaleString([], { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });

function renderList() {
  const items = state.notices.map((n) => {
    const scope = [n.intents.join(", "), n.coins.join("/"), n.networks.join("/"),
      n.keywords.length ? "keywords: " + n.keywords.join(", ") : ""].filter(Boolean).join(" · ");
    const when = n.status === "resolved" ? "resolved " + time(n.resolved_at_ms)
      : n.status === "expired" ? "expired " + time(n.expires_at_ms) : "until " + time(n.expires_at_ms);
    const actions = n.status === "active" ? [
      h("button", { type: "button", class: "btn small", text: "Edit", onclick: () => edit(n) }),
      h("button", { type: "button", class: "btn small", text: "Extend 1 h", title: `Extend ${n.id} by one hour`, onclick: () => extend(n, 60) }),
      h("button", { type: "button", class: "btn small primary", text: "Resolve", onclick: () => resolve(n) }),
    ] : [];
    return h("li", { class: "n-item", "data-notice": n.id }, [
      h("div", { class: "n-head" }, [
        h("strong", { text: n.id }),
        h("span", { class: "chip n-" + n.status, text: n.status }),
        h("span", { class: "chip sev-" + n.severity, text: n.severity }),
        h("span", { class: "muted small", text: when + " · by " + n.created_by }),
      ]),
      h("p", { class: "small", text: scope }),
      h("p", { class: "n-text", text: n.texts.en }),
      h("p", { class: "small n-counts", text: `shown ${n.shown} · answered ${n.answered} · still asked for a person ${n.asked_for_person}` +
        (n.missing_languages.length ? ` · missing: ${n.missing_languages.join(", ")}` : "") }),
      h("div", { class: "row end" }, actions),
    ]);
  });
  $("n-list").replaceChildren(...(items.length ? items : [h("li", { class: "muted", text: "No notice in the last 24 hours." })]));
}
