// Pure view-model functions of the admin page: server data in, what to show out. No DOM, no
// fetch, no clock (the time is passed in), so `node --test tests/js/` checks them.
//
// Field access to the server's objects happens here and nowhere else: the snapshot, chat
// health, providers, voters and the config schema (wire contract: docs/events.md; the types
// in storyd/core/snapshot.py and storyd/core/replies.py). Times on the wire are epoch ms named
// *_ms; older names are not read.

export const KEYS = "abcdef";
export const MASK = "********";
const LIVE = ["generating", "presenting", "voting", "result", "finishing"];

const num = (v) => (typeof v === "number" && Number.isFinite(v) ? v : null);

/** The server's clock in epoch ms when the snapshot was made (null when unknown). */
export function serverTimeMs(snap) {
  return num(snap && snap.server_time_ms);
}

/** `a 4 · b 3 · c 0` — counts with the letters viewers type. */
export function tally(counts, n = 0) {
  const c = Array.isArray(counts) ? counts.slice() : [];
  while (c.length < n) c.push(0);
  return c.map((v, i) => `${KEYS[i] || i} ${v || 0}`).join(" · ");
}

/**
 * Which buttons may be pressed in this state (mirrors the server's state machine, so a
 * button is never offered that the daemon would refuse). After a story ended nothing but
 * "start" is enabled: no vote buttons, no "Regenerate picture".
 */
export function controls(snap, { imagesEnabled = true } = {}) {
  const state = (snap && snap.state) || "idle";
  const voting = (snap && snap.voting) || null;
  const open = Boolean(voting && voting.open && state === "voting");
  const live = LIVE.includes(state);
  const hasChapter = Boolean(snap && snap.chapter);
  const advance = ["presenting", "voting", "result"].includes(state);
  return {
    close: open,
    next: advance,
    manual: advance,
    finish: ["generating", "presenting", "voting", "result"].includes(state),
    end: live,
    regen: live && hasChapter && imagesEnabled,
    vote: open,
    start: !live,          // with "replace a running story" ticked, start is allowed anyway
  };
}

/** One row per choice: key, text, count, percentage, winner mark. */
export function voteRows(voting, counts) {
  if (!voting || !Array.isArray(voting.choices)) return [];
  const c = Array.isArray(counts) ? counts : (voting.counts || []);
  const total = c.reduce((a, b) => a + (b || 0), 0);
  return voting.choices.map((choice, i) => ({
    key: String(choice.key || KEYS[i] || i),
    text: String(choice.text || ""),
    count: c[i] || 0,
    pct: total ? Math.round((100 * (c[i] || 0)) / total) : 0,
    winner: !voting.open && voting.winner === i,
  }));
}

/** `12 voters · closed · tie-break: random` under the bars. */
export function votersLine(voting, voters) {
  if (!voting) return "";
  const n = voters != null ? voters : (voting.voters || 0);
  const tie = voting.tie_break ? ` · tie-break: ${voting.tie_break}` : "";
  return `${n} voter${n === 1 ? "" : "s"}${voting.open ? "" : " · closed"}${tie}`;
}

/** Seconds left in the vote, or null when no vote is open. */
export function secondsLeft(snap, nowMs) {
  const v = snap && snap.voting;
  if (!v || !v.open || num(v.ends_at) == null) return null;
  return Math.max(0, Math.ceil((v.ends_at - nowMs) / 1000));
}

/**
 * The vote's timer line: the announced end (the overlay's countdown) and, with
 * `[voting] stream_delay`, the real close (`closes_at`): ballots are taken until then.
 */
export function voteTimer(snap, nowMs) {
  const v = snap && snap.voting;
  if (!v || !v.open || num(v.ends_at) == null) return "";
  const left = Math.max(0, Math.ceil((v.ends_at - nowMs) / 1000));
  const closes = num(v.closes_at);
  if (closes == null || closes <= v.ends_at) return `vote ends in ${left} s`;
  const more = Math.max(0, Math.ceil((closes - nowMs) / 1000));
  const delay = Math.round((closes - v.ends_at) / 1000);
  return nowMs < v.ends_at
    ? `vote ends in ${left} s · ballots until ${clock(closes)} (+${delay} s stream delay)`
    : `countdown over · ballots for ${more} s more (stream delay ${delay} s)`;
}

function clock(ms) {
  const d = new Date(ms);
  const two = (n) => String(n).padStart(2, "0");
  return `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`;
}

/**
 * A chat source's health for the "Chat sources" card.
 * nowMs: the server's clock now (Date.now() + the snapshot's offset).
 */
export function chatSourceView(c, nowMs) {
  const state = String(c.state || "?");
  let stateText = state.replace(/_/g, " ");
  const retryAt = num(c.retry_at_ms);
  if (state === "backing_off" && retryAt != null) stateText += ` until ${clock(retryAt)}`;
  const last = num(c.last_event_at_ms);
  const age = last != null ? `${Math.max(0, Math.round((nowMs - last) / 1000))} s ago` : "no events yet";
  const figures = [
    `last event ${age}`,
    `${Number(c.rate || 0).toFixed(1)} msg/s`,
    `votes ${c.votes_accepted || 0} ok / ${c.votes_invalid || 0} invalid`,
    `${c.reconnects || 0} reconnects`,
    `${c.dropped || 0} dropped`,
  ].join(" · ");
  const name = c.room ? `${c.source} (${c.room})` : String(c.source || "?");
  const tone = state === "connected" ? "ok" : state === "failed" ? "bad" : "";
  return { name, stateText, tone, detail: c.detail ? String(c.detail) : "", figures };
}

/** A provider probe row: name, diagnosis, latency text, message. */
export function providerView(r) {
  const latency = num(r.latency) != null ? r.latency * 1000 : null;   // seconds
  return {
    name: String(r.provider || "?"),
    diagnosis: String(r.diagnosis || (r.ok ? "ok" : "error")),
    tone: r.ok ? "ok" : "bad",
    latency: latency != null ? `${Math.round(latency)} ms` : "",
    message: r.message ? String(r.message) : "",
  };
}

/** The chat platform of a viewer: the row's own, else from the id's form. */
export function platformOf(row) {
  if (row.platform) return String(row.platform);
  const id = String(row.viewer_id || "");
  if (id.includes(":")) return id.split(":", 1)[0];
  if (id.startsWith("demo-")) return "demo";
  return /^\d+$/.test(id) ? "tiktok" : "local";
}

/** Top voters keyed by viewer id (two viewers may share a name), with their platform. */
export function voterRows(rows) {
  return (rows || []).map((r) => ({
    id: String(r.viewer_id || "?"),
    platform: platformOf(r),
    name: String(r.name || r.viewer_id || "?"),
    ballots: r.ballots || 0,
    wins: r.wins || 0,
  }));
}

/** The chapter list of a stored session for the History card. */
export function sessionChapters(session) {
  return (session.chapters || []).map((c) => {
    const choices = (c.choices || []).map((x, i) => ({
      key: KEYS[i] || String(i), text: typeof x === "string" ? x : String(x.text || ""),
      chosen: c.chosen === i,
    }));
    const v = c.vote;
    let result = "";
    if (c.closing) result = "the end";
    else if (v) {
      result = `${tally(v.counts, choices.length)} · ${v.voters || 0} voters`;
      if (v.winner != null) result += ` · ${KEYS[v.winner]} won`;
      if (v.forced) result += " (forced)";
      else if (v.tie_break) result += ` (tie-break: ${v.tie_break})`;
    } else if (c.chosen != null) result = `${KEYS[c.chosen]} chosen by the operator`;
    return { number: c.number, title: String(c.title || ""), text: String(c.text || ""), choices, result };
  });
}

// ---------------------------------------------------------------- the config form

function valueAt(config, key) {
  let v = config;
  for (const part of key.split(".")) {
    if (v == null || typeof v !== "object") return undefined;
    v = v[part];
  }
  return v;
}

/**
 * The form's fields, in the schema's order: one per config key, with the value in effect.
 * `providers.*.KEY` schema entries become one field per configured provider.
 * Field: {key, section, label, type, options, help, value, editable}.
 */
export function configFields(schema, config) {
  const out = [];
  const providers = Object.keys((config && config.providers) || {});
  for (const f of (schema && schema.fields) || []) {
    const keys = f.key.includes(".*.")
      ? providers.map((name) => f.key.replace(".*.", `.${name}.`))
      : [f.key];
    for (const key of keys) {
      const value = valueAt(config, key);
      const section = key.split(".").slice(0, -1).join(".") || "general";
      out.push({
        key, section, label: key.split(".").pop(), type: f.type, options: f.options || [],
        help: f.help || "", value: value === undefined ? f.default : value,
        editable: f.type !== "map",   // maps (headers, voices) are edited in the file
      });
    }
  }
  return out;
}

/** Fields grouped by section, in order: [[section, fields], …]. */
export function sections(fields) {
  const map = new Map();
  for (const f of fields) {
    if (!map.has(f.section)) map.set(f.section, []);
    map.get(f.section).push(f);
  }
  return [...map.entries()];
}

const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);

/**
 * The form's raw inputs → {changes, errors}. `inputs` maps a key to what its control holds:
 * bool → boolean, int/float/text/enum/secret → string, list/multi → array of strings.
 * Only values that differ from the field's value make a change; a secret left as the mask
 * is unchanged; numbers are checked here so a typo gets its message next to the field.
 */
export function changesFrom(fields, inputs) {
  const changes = {};
  const errors = {};
  for (const f of fields) {
    if (!f.editable || !(f.key in inputs)) continue;
    const raw = inputs[f.key];
    let value;
    switch (f.type) {
      case "bool": value = Boolean(raw); break;
      case "int":
      case "float": {
        const text = String(raw).trim();
        const n = Number(text);
        if (text === "" || !Number.isFinite(n)) { errors[f.key] = "a number is needed"; continue; }
        if (f.type === "int" && !Number.isInteger(n)) { errors[f.key] = "a whole number is needed"; continue; }
        value = n;
        break;
      }
      case "enum":
        if (!f.options.includes(raw)) { errors[f.key] = `one of ${f.options.join(", ")}`; continue; }
        value = raw;
        break;
      case "multi":
      case "list":
        value = (Array.isArray(raw) ? raw : []).map((s) => String(s).trim()).filter(Boolean);
        if (f.type === "multi") {
          const bad = value.filter((v) => !f.options.includes(v));
          if (bad.length) { errors[f.key] = `unknown: ${bad.join(", ")}`; continue; }
        }
        break;
      case "secret":
        if (raw === MASK) continue;
        value = String(raw);
        break;
      default:
        value = String(raw);
    }
    if (!same(value, f.value)) changes[f.key] = value;
  }
  return { changes, errors };
}

/** The cameo card's summary line from the snapshot's `audience` and `cameos`. */
export function audienceSummary(a, cast) {
  if (!a) return "";
  const parts = [a.cameos ? `on (${a.join_command} / ${a.leave_command})` : "off ([audience] cameos)",
    `${a.joined} joined`];
  if (a.waiting) parts.push(`${a.waiting} waiting for the next story`);
  if ((a.offered || []).length) parts.push(`offered next: ${a.offered.join(", ")}`);
  if ((cast || []).length) parts.push(`in this story: ${cast.join(", ")}`);
  const counts = ["leaves", "removed", "refused", "dropped"].filter((k) => a[k]).map((k) => `${k} ${a[k]}`);
  if (counts.length) parts.push(counts.join(", "));
  return parts.join(" · ");
}
