// storyd's shared websocket client, used by the overlay and the admin page (ES module).
//
// API (the whole of it):
//
//   import { connect } from "/overlay/socket.js";
//   const sock = connect("/ws/overlay", {       // a path (same host) or a ws:// / wss:// URL
//     onEvent(msg) {},     // every decoded message {event, data} except the server's pongs
//     onState(state) {},   // "connecting" | "open" | "down"  (down: lost, retrying)
//   });
//   sock.send({event: "ping"});   // JSON-encodes; false when the socket is not open
//   sock.close();                 // stop for good (no reconnect)
//   sock.state                    // the last state given to onState
//
// Theory of operation: one WebSocket at a time. When it closes (or is presumed dead) the
// client reconnects after a backoff that starts at 250 ms and doubles, capped at 2 s on
// localhost (the daemon restarting on this machine) and 5 s elsewhere, less up to 30 % jitter
// (so the cap is a true ceiling: a restarted local daemon is found within 2 s).
// "down" is reported at once when an open socket closes, so pages can stop countdowns and
// show "reconnecting…" without waiting for the next try. Dead-socket detection: one ping
// timer sends {"event":"ping"} every PING_MS; the server answers every ping with a pong, so
// a socket that brought no message for DEAD_MS (a half-open TCP connection: a suspended
// laptop, a killed proxy) is closed and replaced. There is exactly one ping timer per
// connect(): it lives as long as the client and never piles up across reconnects.
// Messages that are not JSON objects are dropped (and logged once), never thrown.

export const PING_MS = 2500;
export const DEAD_MS = 6000;

/** The reconnect delay after `failures` failed tries in a row (pure; no jitter). */
export function backoffMs(failures, host) {
  const local = /^(localhost|127\.[0-9.]+|\[::1\]|::1)(:\d+)?$/.test(String(host || ""));
  const cap = local ? 2000 : 5000;
  return Math.min(cap, 250 * 2 ** Math.max(0, failures));
}

function wsUrl(url) {
  if (/^wss?:\/\//.test(url)) return url;
  const proto = location.protocol === "https:" ? "wss:" : "ws:";
  return `${proto}//${location.host}${url}`;
}

export function connect(url, { onEvent = () => {}, onState = () => {} } = {}) {
  let ws = null;
  let failures = 0;
  let lastMessage = Date.now();
  let retry = null;
  let stopped = false;
  let warned = false;
  const client = { state: "connecting", send, close };

  function setState(s) {
    if (client.state === s) return;
    client.state = s;
    try { onState(s); } catch (err) { console.error("socket onState failed", err); }
  }

  function open() {
    retry = null;
    if (stopped) return;
    let sock;
    try { sock = new WebSocket(wsUrl(url)); } catch (err) { lost(null); return; }
    ws = sock;
    sock.onopen = () => {
      if (ws !== sock) return;
      failures = 0;
      lastMessage = Date.now();
      setState("open");
    };
    sock.onmessage = (e) => {
      if (ws !== sock) return;
      lastMessage = Date.now();
      let msg;
      try { msg = JSON.parse(e.data); } catch { msg = null; }
      if (!msg || typeof msg !== "object" || typeof msg.event !== "string") {
        if (!warned) { console.warn("storyd socket: ignoring a message that is not an event"); warned = true; }
        return;
      }
      if (msg.event === "pong") return;
      try { onEvent(msg); } catch (err) { console.error("storyd socket: onEvent failed", err); }
    };
    sock.onclose = () => { if (ws === sock) lost(sock); };
    sock.onerror = () => { /* onclose follows */ };
  }

  function lost(sock) {
    if (sock) { sock.onopen = sock.onmessage = sock.onclose = sock.onerror = null; }
    ws = null;
    if (stopped) return;
    setState("down");
    const wait = backoffMs(failures, location.host) * (0.7 + Math.random() * 0.3);
    failures += 1;
    clearTimeout(retry);
    retry = setTimeout(open, wait);
  }

  function send(obj) {
    if (!ws || ws.readyState !== WebSocket.OPEN) return false;
    ws.send(JSON.stringify(obj));
    return true;
  }

  function close() {
    stopped = true;
    clearTimeout(retry);
    clearInterval(pinger);
    const sock = ws;
    ws = null;
    if (sock) { sock.onclose = null; sock.close(); }
  }

  const pinger = setInterval(() => {
    if (!ws || ws.readyState !== WebSocket.OPEN) return;
    if (Date.now() - lastMessage > DEAD_MS) {   // half-open: nothing came back, not even pongs
      const sock = ws;
      try { sock.close(); } catch { /* already closing */ }
      lost(sock);
      return;
    }
    send({ event: "ping" });
  }, PING_MS);

  open();
  return client;
}
