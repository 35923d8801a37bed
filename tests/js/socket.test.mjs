// overlay/socket.js against a fake WebSocket and node's mocked timers and clock.
import test from "node:test";
import assert from "node:assert/strict";

globalThis.location = { protocol: "http:", host: "127.0.0.1:8080" };

class FakeSocket {
  static all = [];
  static OPEN = 1;
  constructor(url) { this.url = url; this.readyState = 0; this.sent = []; FakeSocket.all.push(this); }
  send(text) { this.sent.push(JSON.parse(text)); }
  close() { this.readyState = 3; if (this.onclose) this.onclose(); }
  // server side
  open() { this.readyState = 1; this.onopen(); }
  message(obj) { this.onmessage({ data: typeof obj === "string" ? obj : JSON.stringify(obj) }); }
  drop() { this.readyState = 3; this.onclose(); }
}
globalThis.WebSocket = FakeSocket;

const { connect, PING_MS, DEAD_MS } = await import("../../overlay/socket.js");

function setup(t) {
  FakeSocket.all = [];
  t.mock.timers.enable({ apis: ["setInterval", "setTimeout", "Date"], now: 1_000_000 });
  const events = [];
  const states = [];
  const warn = t.mock.method(console, "warn", () => {});
  const sock = connect("/ws/overlay", { onEvent: (m) => events.push(m), onState: (s) => states.push(s) });
  return { sock, events, states, warn };
}

test("connects, reports states, passes events on, swallows pongs and junk", (t) => {
  const { sock, events, states, warn } = setup(t);
  const ws = FakeSocket.all[0];
  assert.equal(ws.url, "ws://127.0.0.1:8080/ws/overlay");
  ws.open();
  ws.message({ event: "story:state", data: { state: "idle" } });
  ws.message({ event: "pong", data: {} });
  ws.message("not json");
  ws.message([1, 2]);
  assert.deepEqual(events.map((e) => e.event), ["story:state"]);
  assert.deepEqual(states, ["open"]);
  assert.equal(sock.state, "open");
  assert.equal(warn.mock.callCount(), 1);          // warned once, not per message
  sock.close();
});

test("a drop is reported at once; retries back off to a 2 s cap on localhost", (t) => {
  const { sock, states } = setup(t);
  FakeSocket.all[0].open();
  FakeSocket.all[0].drop();
  assert.deepEqual(states, ["open", "down"]);
  const gaps = [];
  for (let i = 0; i < 6; i++) {
    const before = FakeSocket.all.length;
    let waited = 0;
    while (FakeSocket.all.length === before) { t.mock.timers.tick(50); waited += 50; }
    gaps.push(waited);
    FakeSocket.all.at(-1).drop();                    // refused again
  }
  assert.ok(gaps[0] <= 300, gaps);
  assert.ok(gaps.every((g) => g <= 2000 + 50), gaps);   // never more than 2 s apart
  assert.ok(gaps.at(-1) >= 2000 * 0.7, gaps);
  t.mock.timers.tick(2500);
  FakeSocket.all.at(-1).open();
  assert.equal(sock.state, "open");
  sock.close();
});

test("one ping timer for the client's life, not one per reconnect", (t) => {
  const { sock } = setup(t);
  for (let i = 0; i < 5; i++) {                      // five reconnects
    const ws = FakeSocket.all.at(-1);
    ws.open();
    ws.drop();
    t.mock.timers.tick(2500);
  }
  const ws = FakeSocket.all.at(-1);
  ws.open();
  t.mock.timers.tick(PING_MS);
  assert.deepEqual(ws.sent, [{ event: "ping" }]);    // exactly one ping per period
  ws.message({ event: "pong", data: {} });
  t.mock.timers.tick(PING_MS);
  assert.equal(ws.sent.length, 2);
  sock.close();
  t.mock.timers.tick(PING_MS * 3);
  assert.equal(ws.sent.length, 2);                   // closed: the timer is gone
  assert.equal(FakeSocket.all.at(-1), ws);           // and no reconnect
});

test("a silent socket (no pongs) is presumed dead and replaced", (t) => {
  const { sock, states } = setup(t);
  const ws = FakeSocket.all[0];
  ws.open();
  t.mock.timers.tick(DEAD_MS + PING_MS);
  assert.equal(ws.readyState, 3);
  assert.deepEqual(states, ["open", "down"]);
  t.mock.timers.tick(2500);
  assert.equal(FakeSocket.all.length, 2);
  sock.close();
});
