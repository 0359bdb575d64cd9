// intentdesk agent workspace: the REST calls and the live feed (WebSocket with the token as a
// subprotocol, reconnect with back-off and catch-up by after_seq). Knows nothing of the DOM.
// The token lives in sessionStorage only: never in a URL, never logged.

const TOKEN_KEY = "intentdesk.agent.token";

export const token = {
  get: () => sessionStorage.getItem(TOKEN_KEY),
  set: (t) => sessionStorage.setItem(TOKEN_KEY, t),
  clear: () => sessionStorage.removeItem(TOKEN_KEY),
};

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/** One REST call with the bearer token; JSON in and out. */
export async function api(method, path, body) {
  const headers = { Authorization: "Bearer " + token.get() };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const r = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  if (r.status === 204) return null;
  const data = await r.json().catch(() => null);
  if (!r.ok) {
    const e = (data && data.error) || {};
    throw new ApiError(r.status, e.code || "http_" + r.status, e.message || "HTTP " + r.status);
  }
  return data;
}

function base64url(text) {
  const bytes = new TextEncoder().encode(text);
  let bin = "";
  bytes.forEach((b) => { bin += String.fromCharCode(b); });
  return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function backoff(n) {
  return Math.round(Math.min(30000, 500 * 2 ** n) * (0.5 + Math.random()));
}

/** The agent feed. `onFrame(frame)` for every frame, `onState("online"|"reconnecting")`. */
export class Feed {
  constructor(onFrame, onState) {
    this.onFrame = onFrame;
    this.onState = onState;
    this.afterSeq = 0;
    this.attempt = 0;
    this.ws = null;
    this.stopped = false;
  }

  start() {
    if (this.stopped) return;
    const proto = location.protocol === "https:" ? "wss:" : "ws:";
    const q = this.afterSeq ? "?after_seq=" + this.afterSeq : "";
    const ws = new WebSocket(proto + "//" + location.host + "/v1/agent/ws" + q,
      ["intentdesk.v1", "intentdesk.bearer." + base64url(token.get() || "")]);
    this.ws = ws;
    ws.onopen = () => { this.attempt = 0; this.onState("online"); };
    ws.onmessage = (m) => {
      let frame;
      try { frame = JSON.parse(m.data); } catch { return; }
      if (frame.type === "conversation_event" && frame.seq > this.afterSeq) this.afterSeq = frame.seq;
      this.onFrame(frame);
    };
    ws.onclose = () => {
      if (this.ws !== ws || this.stopped) return;
      this.onState("reconnecting");
      setTimeout(() => this.start(), backoff(this.attempt++));
    };
    clearInterval(this.pinger);
    this.pinger = setInterval(() => { if (ws.readyState === 1) ws.send('{"type":"ping"}'); }, 25000);
  }

  stop() {
    this.stopped = true;
    clearInterval(this.pinger);
    if (this.ws) this.ws.close();
  }
}
