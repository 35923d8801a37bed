// The admin page's view models (admin/view.js): `node --test tests/js/`.
import assert from "node:assert/strict";
import { test } from "node:test";

import {
  changesFrom, chatSourceView, configFields, controls, platformOf, providerView, secondsLeft,
  sections, serverTimeMs, sessionChapters, tally, voteRows, voterRows, votersLine, voteTimer,
} from "../../admin/view.js";

const CHOICES = [{ key: "a", text: "Stairs" }, { key: "b", text: "Door" }, { key: "c", text: "Wait" }];

test("tally labels counts with letters and pads missing choices", () => {
  assert.equal(tally([4, 3, 0]), "a 4 · b 3 · c 0");
  assert.equal(tally([2], 3), "a 2 · b 0 · c 0");
  assert.equal(tally(undefined), "");
});

test("buttons follow the state machine; after the end only start is left", () => {
  const voting = { state: "voting", chapter: { title: "x" }, voting: { open: true, choices: CHOICES } };
  assert.deepEqual(controls(voting), {
    close: true, next: true, manual: true, finish: true, end: true, regen: true, vote: true, start: false });
  const ended = { state: "ended", chapter: { title: "The End" }, voting: { open: false, choices: CHOICES } };
  assert.deepEqual(controls(ended), {
    close: false, next: false, manual: false, finish: false, end: false, regen: false, vote: false, start: true });
  const closed = { ...voting, state: "result", voting: { open: false, choices: CHOICES } };
  const c = controls(closed);
  assert.equal(c.vote, false);
  assert.equal(c.close, false);
  assert.equal(c.next, true);
  assert.equal(controls({ state: "generating", chapter: null }).regen, false);
  assert.equal(controls({ state: "generating", chapter: null }).next, false);
  assert.equal(controls(voting, { imagesEnabled: false }).regen, false);
  assert.equal(controls(null).start, true);
});

test("vote rows: percentages, the winner only once closed", () => {
  const v = { open: false, winner: 1, choices: CHOICES, counts: [1, 3, 0], voters: 4 };
  assert.deepEqual(voteRows(v).map((r) => [r.key, r.count, r.pct, r.winner]),
    [["a", 1, 25, false], ["b", 3, 75, true], ["c", 0, 0, false]]);
  assert.deepEqual(voteRows({ ...v, open: true }, [0, 0, 0]).map((r) => r.pct), [0, 0, 0]);
  assert.equal(votersLine(v), "4 voters · closed");
  assert.equal(votersLine({ ...v, open: true, tie_break: "random" }, 1), "1 voter · tie-break: random");
  assert.deepEqual(voteRows(null), []);
});

test("time: server clock in ms, seconds left of an open vote", () => {
  assert.equal(serverTimeMs({ server_time_ms: 1_700_000_000_000 }), 1_700_000_000_000);
  assert.equal(serverTimeMs({ server_time: 5 }), null);     // the old name is not read
  const snap = { voting: { open: true, ends_at: 10_500 } };
  assert.equal(secondsLeft(snap, 1_000), 10);
  assert.equal(secondsLeft(snap, 20_000), 0);
  assert.equal(secondsLeft({ voting: { open: false, ends_at: 10_500 } }, 1_000), null);
});

test("the timer shows the announced end and, with a stream delay, the real close", () => {
  const plain = { voting: { open: true, ends_at: 10_500, closes_at: 10_500 } };
  assert.equal(voteTimer(plain, 1_000), "vote ends in 10 s");
  const at = new Date(2026, 0, 1, 20, 0, 8).getTime();
  const delayed = { voting: { open: true, ends_at: at - 8_000, closes_at: at } };
  assert.equal(voteTimer(delayed, at - 18_000),
    "vote ends in 10 s · ballots until 20:00:08 (+8 s stream delay)");
  assert.equal(voteTimer(delayed, at - 3_000), "countdown over · ballots for 3 s more (stream delay 8 s)");
  assert.equal(voteTimer({ voting: { open: false, ends_at: 1, closes_at: 2 } }, 0), "");
  assert.equal(voteTimer({}, 0), "");
});

test("chat source health reads the *_ms fields, never the older seconds fields", () => {
  const now = Date.UTC(2026, 10, 29, 10, 0, 30);
  const v = chatSourceView({ source: "twitch", room: "#show", state: "connected",
    last_event_at_ms: now - 4_000, rate: 2.345, votes_accepted: 7, votes_invalid: 1,
    reconnects: 2, dropped: 3 }, now);
  assert.equal(v.name, "twitch (#show)");
  assert.equal(v.tone, "ok");
  assert.equal(v.figures, "last event 4 s ago · 2.3 msg/s · votes 7 ok / 1 invalid · 2 reconnects · 3 dropped");
  const backing = chatSourceView({ source: "tiktok", state: "backing_off",
    last_event_at_ms: now - 61_000, retry_at_ms: now + 5_000, dropped: 5 }, now);
  assert.match(backing.stateText, /^backing off until \d\d:\d\d:\d\d$/);
  assert.match(backing.figures, /^last event 61 s ago .* 5 dropped$/);
  const old = chatSourceView({ source: "tiktok", state: "backing_off", last_event_at: (now - 61_000) / 1000,
    retry_at: (now + 5_000) / 1000, drops: 5 }, now);
  assert.equal(old.stateText, "backing off");
  assert.match(old.figures, /^last event no events yet .* 0 dropped$/);
  assert.equal(chatSourceView({ source: "x", state: "failed" }, now).tone, "bad");
  assert.match(chatSourceView({ source: "x", state: "waiting_for_live" }, now).figures, /no events yet/);
});

test("voters are keyed by id with their platform; providers show latency", () => {
  const rows = voterRows([{ viewer_id: "7001", name: "Lea32", ballots: 3 },
    { viewer_id: "twitch:lea", name: "Lea32", ballots: 2 }, { viewer_id: "demo-4", name: "" }]);
  assert.deepEqual(rows.map((r) => [r.id, r.platform, r.name]),
    [["7001", "tiktok", "Lea32"], ["twitch:lea", "twitch", "Lea32"], ["demo-4", "demo", "demo-4"]]);
  assert.equal(platformOf({ viewer_id: "x", platform: "youtube" }), "youtube");
  assert.equal(platformOf({ viewer_id: "bob" }), "local");
  assert.deepEqual(providerView({ provider: "sf", ok: false, diagnosis: "bad key", latency: 0.2104, message: "HTTP 401" }),
    { name: "sf", diagnosis: "bad key", tone: "bad", latency: "210 ms", message: "HTTP 401" });
  assert.equal(providerView({ provider: "o", ok: true, latency: 0.006 }).latency, "6 ms");
  assert.equal(providerView({ provider: "o", ok: true, latency_ms: 6 }).latency, "");
});

test("a stored session: letters, winner, the closing chapter is the end", () => {
  const chapters = sessionChapters({ chapters: [
    { number: 1, title: "Pier", text: "t", choices: ["Dance", "Run"], chosen: 0,
      vote: { counts: [9, 4], voters: 13, winner: 0, tie_break: null } },
    { number: 2, title: "Home", text: "u", choices: [], closing: true, chosen: null, vote: null }] });
  assert.equal(chapters[0].result, "a 9 · b 4 · 13 voters · a won");
  assert.deepEqual(chapters[0].choices.map((c) => [c.key, c.chosen]), [["a", true], ["b", false]]);
  assert.equal(chapters[1].result, "the end");
});

const SCHEMA = { fields: [
  { key: "voting.duration", type: "int", options: [], help: "seconds per vote", default: 60 },
  { key: "voting.tie_break", type: "enum", options: ["random", "first", "extend"], help: "on a tie", default: "random" },
  { key: "voting.early_close", type: "bool", options: [], help: "close early", default: false },
  { key: "story.reveal_words_per_second", type: "float", options: [], help: "pace", default: 2.5 },
  { key: "chat.sources", type: "multi", options: ["local", "demo", "tiktok"], help: "", default: ["local"] },
  { key: "safety.blocklist", type: "list", options: [], help: "extra words", default: [] },
  { key: "providers.*.api_key", type: "secret", options: [], help: "the key", default: "" },
  { key: "providers.*.headers", type: "map", options: [], help: "headers", default: {} },
] };
const CONFIG = { voting: { duration: 45, tie_break: "random", early_close: false },
  story: { reveal_words_per_second: 2.5 }, chat: { sources: ["local"] }, safety: { blocklist: ["x"] },
  providers: { sf: { api_key: "********", headers: {} } } };

test("config fields: values in effect, one set per provider, grouped by section", () => {
  const fields = configFields(SCHEMA, CONFIG);
  assert.deepEqual(fields.map((f) => [f.key, f.value]), [
    ["voting.duration", 45], ["voting.tie_break", "random"], ["voting.early_close", false],
    ["story.reveal_words_per_second", 2.5], ["chat.sources", ["local"]], ["safety.blocklist", ["x"]],
    ["providers.sf.api_key", "********"], ["providers.sf.headers", {}]]);
  assert.equal(fields[0].help, "seconds per vote");
  assert.equal(fields.find((f) => f.type === "map").editable, false);
  assert.deepEqual(sections(fields).map(([name, fs]) => [name, fs.length]),
    [["voting", 3], ["story", 1], ["chat", 1], ["safety", 1], ["providers.sf", 2]]);
  assert.deepEqual(configFields(SCHEMA, { ...CONFIG, providers: {} }).filter((f) => f.key.startsWith("providers")), []);
});

test("changes: typed, only what differs, masked secrets kept, bad numbers caught", () => {
  const fields = configFields(SCHEMA, CONFIG);
  const same = { "voting.duration": "45", "voting.tie_break": "random", "voting.early_close": false,
    "story.reveal_words_per_second": "2.5", "chat.sources": ["local"], "safety.blocklist": ["x"],
    "providers.sf.api_key": "********" };
  assert.deepEqual(changesFrom(fields, same), { changes: {}, errors: {} });
  const edited = { ...same, "voting.duration": "90", "voting.tie_break": "extend", "voting.early_close": true,
    "chat.sources": ["local", "tiktok"], "safety.blocklist": ["x", " y ", ""], "providers.sf.api_key": "sk-new" };
  assert.deepEqual(changesFrom(fields, edited).changes, { "voting.duration": 90, "voting.tie_break": "extend",
    "voting.early_close": true, "chat.sources": ["local", "tiktok"], "safety.blocklist": ["x", "y"],
    "providers.sf.api_key": "sk-new" });
  const bad = changesFrom(fields, { ...same, "voting.duration": "4.5", "story.reveal_words_per_second": "fast",
    "voting.tie_break": "coin", "chat.sources": ["irc"] });
  assert.deepEqual(bad.errors, { "voting.duration": "a whole number is needed",
    "story.reveal_words_per_second": "a number is needed", "voting.tie_break": "one of random, first, extend",
    "chat.sources": "unknown: irc" });
  assert.deepEqual(bad.changes, {});
});

test("cameo summary: on/off, joined, offered, the cast and the counters that are not zero", async () => {
  const { audienceSummary } = await import("../../admin/view.js");
  assert.equal(audienceSummary(null, []), "");
  const a = { cameos: true, join_command: "!join", leave_command: "!leave", joined: 3,
    offered: ["Ann", "Bo"], leaves: 1, removed: 0, refused: 2, dropped: 0 };
  assert.equal(audienceSummary(a, ["Ann"]),
    "on (!join / !leave) · 3 joined · offered next: Ann, Bo · in this story: Ann · leaves 1, refused 2");
  assert.match(audienceSummary({ ...a, cameos: false, offered: [] }, []), /^off \(\[audience\] cameos\) · 3 joined/);
});
