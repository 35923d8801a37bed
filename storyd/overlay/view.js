// The overlay's view models: pure functions from the server's state to what to show
// (ES module; no DOM, no clock of its own: time comes in as an argument). main.js draws
// what these return; tests/js/ checks them with `node --test`.
//
// Wire field names are read only in FIELDS below, so a renamed event field is a one-line
// change here. The names are the typed events' and snapshot's (storyd/core/events.py,
// storyd/core/snapshot.py; docs/events.md): every time is epoch ms, named `*_ms` (`ends_at`
// kept). Older names are not read.

import { strings, langCode } from "./i18n.js";

const num = (x) => (typeof x === "number" && Number.isFinite(x) ? x : null);
const pick = (o, ...names) => {
  if (!o) return undefined;
  for (const n of names) if (o[n] !== undefined && o[n] !== null) return o[n];
  return undefined;
};

// ---------- field access: the one place that knows the wire names ----------
export const FIELDS = {
  serverMs: (snap) => num(pick(snap, "server_time_ms")),
  endsMs: (v) => num(pick(v, "ends_at")),
  durationMs: (v) => num(pick(v, "duration_ms")),
  roundId: (v) => pick(v, "round_id"),
  counts: (v) => (Array.isArray(pick(v, "counts")) ? v.counts.map((n) => Number(n) || 0) : []),
  voters: (v) => Number(pick(v, "voters")) || 0,
  winner: (v) => num(pick(v, "winner")),
  tieBreak: (v) => pick(v, "tie_break") || null,
  tied: (v) => (Array.isArray(pick(v, "tied")) ? v.tied : []),
  early: (v) => Boolean(pick(v, "early")),
  extended: (v) => Boolean(pick(v, "extended")),
  open: (v) => Boolean(pick(v, "open")),
  choices: (o) => (Array.isArray(pick(o, "choices")) ? o.choices : []),
  imageUrl: (ch) => pick(ch, "image_url") || null,
  audioUrl: (o) => pick(o, "audio_url") || null,
  sentences: (ch) => {
    const s = pick(ch, "sentences");
    return Array.isArray(s) && s.length ? s.map(String) : [String(pick(ch, "text") || "")];
  },
  narrationIndex: (n) => num(pick(n, "index")),
  narrationChapter: (n) => num(pick(n, "chapter")),
  narrationKind: (n) => pick(n, "kind") || "sentence",
  narrationMs: (n) => num(pick(n, "duration_ms")),
  generatingChapter: (g) => num(pick(g, "chapter")),
  progress: (g) => num(pick(g, "progress")),
  // false while a chapter has been written for under a second (no card yet); no
  // `generating` view at all (the writing has not begun) shows the card too
  generatingWaiting: (g) => pick(g, "waiting") !== false,
  // the winner's text so far while it streams in (complete sentences only), or ""
  preview: (g) => { const p = pick(g, "preview"); return typeof p === "string" ? p.trim() : ""; },
  language: (snap) => pick(snap, "language") || "",
};

export const KEYS = "abcdef";
export const STYLES = ["panels", "storybook", "lowerthird"];
export const LAYOUTS = ["landscape", "portrait"];
export const SIZES = ["1920x1080", "1280x720", "2560x1440", "3840x2160", "1080x1920", "720x1280"];

/** URL parameter first, then `[overlay]` from the snapshot, then the default. The layout
 *  without `?layout=` (and with `[overlay] layout = "auto"`, the default) follows the page's
 *  own aspect ratio (`aspect` = width / height): taller than wide is portrait. */
export function settingsOf(params, overlay = {}, aspect = 16 / 9) {
  const choose = (name, allowed, fallback) => {
    const q = params.get ? params.get(name) : params[name];
    if (allowed.includes(q)) return q;
    if (allowed.includes(overlay[name])) return overlay[name];
    return fallback;
  };
  return {
    layout: choose("layout", LAYOUTS, aspect < 1 ? "portrait" : "landscape"),
    style: choose("style", STYLES, "panels"),
    size: choose("size", SIZES, ""),
  };
}

export function stringsFor(snap) {
  return strings(langCode(FIELDS.language(snap)));
}

export const safeUrl = (u) => (typeof u === "string" && u.startsWith("/") && !u.startsWith("//") ? u : null);

// ---------- countdown and bars ----------
const STALE_MS = 1500;   // past the deadline this long with no close: hide, never a stale "0"

/** What the countdown shows at `nowMs` (server clock). `conn` is the socket state; while
 *  it is not "open" the countdown stops (hidden). `startMs` is when the round's bar started
 *  when the round has no `duration_ms`. */
export function countdown(v, nowMs, { conn = "open", startMs = null } = {}) {
  const ends = v ? FIELDS.endsMs(v) : null;
  if (!v || !FIELDS.open(v) || ends == null || conn !== "open") {
    return { visible: false, text: "", fraction: 0, urgent: false };
  }
  const left = ends - nowMs;
  if (left < -STALE_MS) return { visible: false, text: "", fraction: 0, urgent: false };
  const secs = Math.ceil(Math.max(0, left) / 1000);
  const text = secs >= 60 ? `${Math.floor(secs / 60)}:${String(secs % 60).padStart(2, "0")}` : String(secs);
  const dur = FIELDS.durationMs(v);
  const total = Math.max(1000, dur && dur > 0 ? dur : ends - (startMs == null ? nowMs : startMs));
  const fraction = Math.max(0, Math.min(1, left / total));
  return { visible: true, text, fraction, urgent: secs <= 10 };
}

/** Bars: count, whole percent and whether the row leads (all rows tied at the top lead). */
export function bars(counts, n = counts.length) {
  const c = Array.from({ length: n }, (_, i) => Number(counts[i]) || 0);
  const total = c.reduce((a, b) => a + b, 0);
  const top = Math.max(0, ...c);
  return c.map((count) => ({
    count,
    pct: total ? Math.round((count / total) * 100) : 0,
    leader: top > 0 && count === top,
  }));
}

const keyOf = (c, i) => String((c && c.key) || KEYS[i] || String(i + 1)).toLowerCase();

/** Which vote view, if any: "preview" (choices read out before the vote opens), "open",
 *  "closed" (result), or null. `narrated` is the index of the last narrated line. */
export function votePhase(snap, narrated = -1) {
  const st = snap && snap.state;
  const v = snap && snap.voting;
  const ch = snap && snap.chapter;
  if (!ch) return null;
  if (v && (st === "voting" || st === "result")) return FIELDS.open(v) ? "open" : "closed";
  if (v && (st === "generating" || st === "finishing") && FIELDS.winner(v) != null) return "closed";
  if (st === "presenting" && FIELDS.choices(ch).length && narrated >= FIELDS.sentences(ch).length) return "preview";
  return null;
}

/** Everything the vote panel shows, from the snapshot plus live counts (vote-update). */
export function voteModel(snap, phase, t, live = null) {
  const v = snap.voting;
  const ch = snap.chapter || {};
  const source = phase === "preview" || !v ? FIELDS.choices(ch) : FIELDS.choices(v);
  const counts = live ? live.counts : v ? FIELDS.counts(v) : [];
  const voters = live ? live.voters : v ? FIELDS.voters(v) : 0;
  const b = bars(counts, source.length);
  const winner = phase === "closed" && v ? FIELDS.winner(v) : null;
  const choices = source.map((c, i) => ({
    key: keyOf(c, i),
    chip: `!${keyOf(c, i)}`,
    text: String((c && c.text) || ""),
    count: b[i].count,
    countText: t.num(b[i].count),
    pct: b[i].pct,
    leader: phase === "open" && b[i].leader,
    winner: winner === i,
  }));
  const first = choices.length ? choices[0].chip : "";
  const last = choices.length ? choices[choices.length - 1].chip : "";
  let headline = phase === "open" ? t.next : phase === "preview" ? t.comingUp : t.decided;
  let note = "";
  if (phase === "closed" && winner != null && choices[winner]) {
    headline = t.wins(choices[winner].key.toUpperCase());
    const tb = FIELDS.tieBreak(v);
    const tied = FIELDS.tied(v).map((i) => (choices[i] ? choices[i].key.toUpperCase() : "")).filter(Boolean);
    if (tb && t[`tie_${tb}`]) note = t[`tie_${tb}`];
    else if (FIELDS.early(v)) note = t.early;
    if (tb && tb !== "forced" && tied.length > 1) note = `${t.tied(tied.join(" / "))} — ${note || ""}`.replace(/ — $/, "");
  } else if (phase === "open" && v && FIELDS.extended(v)) note = t.extended;
  const showVoters = !snap.overlay || snap.overlay.show_voters !== false;
  return {
    phase,
    headline,
    cta: phase === "open" && choices.length ? t.cta(first, last) : "",
    choices,
    voters: phase !== "preview" && showVoters ? t.voters(voters) : "",
    note,
  };
}

// ---------- streaming ----------
/** While the winner's chapter is still being written (it was not ready at the close), the
 *  sentences that have arrived, as a chapter to show; null when there is nothing to show. */
export function streamingChapter(snap) {
  if (!snap || (snap.state !== "generating" && snap.state !== "finishing")) return null;
  const g = snap.generating || {};
  const text = FIELDS.preview(g);
  if (!text) return null;
  const n = FIELDS.generatingChapter(g) || (snap.chapter_number || 0) + 1;
  // split as the server splits (storyd/core/narration.py): a stop, its closing quotes, a capital
  const sentences = text.split(/(?<=[.!?…]["'”’»“)]*)\s+(?=["'“‘«„‚(]?[\p{Lu}0-9])/u).filter(Boolean);
  return { number: n, title: "", text, sentences, choices: [], streaming: true };
}

// ---------- cards ----------
/** The centred card over the stage (waiting, writing, notice, the end), or null. */
export function cardModel(snap, t) {
  if (!snap) return { kind: "waiting", kicker: "", title: t.connecting, sub: "", progress: null };
  const st = snap.state;
  // the calm card covers only a wait for a chapter: an operator notice (say, a full disk)
  // while a chapter airs or a vote runs must not hide the story from viewers
  if (snap.notice && (st === "generating" || st === "finishing")) return { kind: "notice", kicker: "", title: t.notice, sub: "", progress: null };
  if (st === "idle") return { kind: "waiting", kicker: snap.theme_name || "", title: t.waiting, sub: t.waitingSub, progress: null };
  if (st === "generating" || st === "finishing") {
    const g = snap.generating || {};
    if (FIELDS.preview(g)) return null;   // the text streaming in is on screen instead
    if (!FIELDS.generatingWaiting(g)) return null;
    const n = FIELDS.generatingChapter(g) || (snap.chapter_number || 0) + 1;
    const p = FIELDS.progress(g);
    return {
      kind: "generating", kicker: snap.theme_name || "",
      title: st === "finishing" ? t.writingFinal : t.writing(n), sub: snap.title || "",
      progress: p == null ? null : Math.max(0, Math.min(1, p)),
    };
  }
  if (st === "ended") return { kind: "end", kicker: snap.theme_name || "", title: t.theEnd, sub: t.thanks, progress: null };
  return null;
}

// ---------- recap ----------
/** The recap card after a story ended (snapshot `recap`), while `[overlay] recap_seconds`
 *  (default 12; 0 = off) have not passed since `ended_at_ms`; null otherwise. */
export function recapModel(snap, nowMs, t) {
  const r = snap && snap.state === "ended" ? snap.recap : null;
  if (!r || !Array.isArray(r.nodes) || !r.nodes.length) return null;
  const secs = num((snap.overlay || {}).recap_seconds);
  const seconds = secs == null ? 12 : secs;
  const ended = num(r.ended_at_ms);
  if (seconds <= 0 || (ended != null && nowMs >= ended + seconds * 1000)) return null;
  const cast = (r.cast || []).map((c) => (c.cameo ? `${c.name} (${t.cameo})` : String(c.name || "")))
    .filter(Boolean);
  const voters = (r.voters || []).map((v) => `${v.name} ${t.num(v.ballots)}`);
  const endings = t.endings || {};
  return {
    kicker: [t.recap, r.theme_name].filter(Boolean).join(" · "),
    title: String(r.title || ""),
    logline: String(r.logline || ""),
    // how it ended and how long it ran: the line that still says something when a story
    // knows no cast (an authored story names no characters)
    ending: [Object.hasOwn(endings, r.ending) ? endings[r.ending] : "", t.chapters(r.nodes.length)]
      .filter(Boolean).join(" · "),
    cast: cast.length ? t.starring(cast.join(", ")) : "",
    voters: voters.length ? t.topVoters(voters.join(" · ")) : "",
    nodes: r.nodes.map((n) => ({
      number: Number(n.number) || 0,
      title: String(n.title || ""),
      chosen: num(n.chosen),
      choices: Number(n.choices) || 0,
      written: Array.isArray(n.written) ? n.written : [],
      label: num(n.chosen) == null ? "" : `${KEYS[n.chosen].toUpperCase()}${n.share == null ? "" : ` ${Math.round(n.share * 100)}%`}`,
    })),
    until: ended == null ? null : ended + seconds * 1000,
  };
}

/** Where the map's nodes go in a w×h box: rows that snake (left to right, then back), node
 *  radius r; every node, its stubs and its label stay inside the box. */
export function mapLayout(n, w, h, minDx = 96, minDy = 76) {
  if (!n || w <= 0 || h <= 0) return { points: [], r: 0, perRow: 0, dy: 0, top: 0, labels: false, numbers: false };
  const rowsMax = Math.max(1, Math.floor(h / minDy));
  const perRow = Math.max(1, Math.min(n, Math.max(Math.floor(w / minDx), Math.ceil(n / rowsMax))));
  const rows = Math.ceil(n / perRow);
  const dx = w / perRow;
  const dy = Math.min(h / rows, 260);
  const r = Math.max(6, Math.min(30, dx * 0.2, dy * 0.18));
  const top = (h - rows * dy) / 2;   // centred in the box: no band on top of a blank card
  const points = [];
  for (let i = 0; i < n; i++) {
    const row = Math.floor(i / perRow);
    const col = row % 2 ? perRow - 1 - (i % perRow) : i % perRow;
    points.push({ x: dx * (col + 0.5), y: top + dy * row + dy * 0.45 });
  }
  // a crowded map keeps its shape and drops what would not fit: shares, then numbers
  return { points, r, perRow, dy, top, labels: dx >= 64 && dy * 0.55 >= r + 30, numbers: r >= 12 };
}

export const TITLE_LINE = 26;   // px at 1080p: one line of a chapter title under a map node

/** The map with each chapter's title under its node (and its share), or null where the
 *  titles would not get two lines of at least 150 px: nodes spread wider and rows taller than
 *  mapLayout's, `titles` = {width, height, top}: the title box, `top` below the node's
 *  centre. A title ends inside its row, above the stubs of the row below. */
export function titledMapLayout(n, w, h) {
  if (!n) return null;
  const L = mapLayout(n, w, h, 260, 220);
  const width = w / L.perRow - 16;
  const top = L.r + 34;                           // below the node and its share label
  const lines = Math.floor((L.dy * 0.55 - top) / TITLE_LINE);
  if (width < 150 || lines < 2) return null;
  return { ...L, titles: { width, height: lines * TITLE_LINE, top } };
}

export const CARD_DELAY_MS = 400;    // a card wanted for less than this never shows
export const CARD_MIN_MS = 1500;     // once shown, a card stays at least this long

/** "At least 1.5 s or not at all": gate is {since, shownAt} (start with {}). Returns the
 *  next gate, whether the card is visible and when to look again (ms from now, or null). */
export function cardGate(gate, wanted, nowMs) {
  if (wanted) {
    const since = gate.since == null ? nowMs : gate.since;
    if (gate.shownAt != null) return { gate: { since, shownAt: gate.shownAt }, visible: true, recheckMs: null };
    if (nowMs - since >= CARD_DELAY_MS) return { gate: { since, shownAt: nowMs }, visible: true, recheckMs: null };
    return { gate: { since, shownAt: null }, visible: false, recheckMs: since + CARD_DELAY_MS - nowMs };
  }
  if (gate.shownAt != null && nowMs - gate.shownAt < CARD_MIN_MS) {
    return { gate, visible: true, recheckMs: gate.shownAt + CARD_MIN_MS - nowMs };
  }
  return { gate: {}, visible: false, recheckMs: null };
}

// ---------- chapter caption ----------
export function chapterHead(ch, t) {
  if (!ch) return { kicker: "", title: "" };
  return { kicker: ch.closing ? t.finalChapter : t.chapter(ch.number), title: String(ch.title || "") };
}

/** Split sentences into caption pieces of at most `maxWords` words (or `maxChars` for text
 *  without spaces): [{sentence, text}]. A sentence longer than one screen is read piece by
 *  piece; every piece still fits. The pieces of one sentence are about equally long (a
 *  45-word sentence is 23 + 22 words, never 40 + a lone 5-word tail that would sit alone on
 *  screen), and a piece ends after a comma, semicolon, colon or dash when one comes near its
 *  share. */
export function captionPieces(sentences, maxWords = 40, maxChars = 260) {
  const out = [];
  sentences.forEach((raw, sentence) => {
    const s = String(raw).trim();
    if (!s) return;
    const words = s.split(/\s+/);
    if (words.length <= maxWords && s.length <= maxChars) { out.push({ sentence, text: s }); return; }
    const parts = [];   // the words, a "word" longer than a piece (no spaces) cut in chunks
    for (const w of words) for (let i = 0; i < w.length; i += maxChars) parts.push(w.slice(i, i + maxChars));
    const need = (n, chars) => Math.max(1, Math.ceil(n / maxWords), Math.ceil(chars / (maxChars + 1)));
    const soft = /[,;:\u2013\u2014]["'\u201d\u2019\u00bb)]*$/;
    let rest = parts.reduce((a, p) => a + p.length + 1, 0);
    let i = 0;
    while (i < parts.length) {
      const m = need(parts.length - i, rest);   // pieces still needed for the rest
      const share = rest / m;
      // the longest piece the limits allow, then where to end it: at the share, or at a
      // comma/dash within 30 % of the share (if the rest still fits in the other pieces)
      let hard = i;
      let len = parts[i].length + 1;
      const cum = [len];
      while (hard + 1 < parts.length && hard + 1 - i < maxWords && len + parts[hard + 1].length <= maxChars) {
        hard += 1; len += parts[hard].length + 1; cum.push(len);
      }
      let end = hard;
      if (m > 1) {
        end = i + Math.max(0, cum.findIndex((c) => c >= share));
        if (cum[end - i] < share) end = hard;
        let best = Infinity;
        for (let j = i; j <= hard; j++) {
          const c = cum[j - i];
          const off = Math.abs(c - share);
          if (off <= 0.3 * share && off < best && soft.test(parts[j])
              && need(parts.length - j - 1, rest - c) <= m - 1) { best = off; end = j; }
        }
      }
      out.push({ sentence, text: parts.slice(i, end + 1).join(" ") });
      rest -= cum[end - i];
      i = end + 1;
    }
  });
  return out;
}

/** Pieces of sentence `sentence`: [first, last] indexes into `pieces` (or null). */
export function piecesOf(pieces, sentence) {
  let first = -1;
  let last = -1;
  pieces.forEach((p, i) => { if (p.sentence === sentence) { if (first < 0) first = i; last = i; } });
  return first < 0 ? null : [first, last];
}

/** The first piece to show so that piece `current` is fully visible: keep `start` while
 *  pieces start..current fit, else let the earlier ones give way (scroll by pieces).
 *  `fits(a, b)` measures pieces a..b. */
export function captionStart(start, current, fits) {
  let s = start > current ? 0 : Math.max(0, start);
  while (s < current && !fits(s, current)) s += 1;
  return s;
}

/** When piece k of a sentence starts, in ms after the sentence starts (by word share). */
export function pieceOffsets(pieceTexts, durationMs) {
  const w = pieceTexts.map((p) => Math.max(1, p.split(/\s+/).length));
  const total = w.reduce((a, b) => a + b, 0);
  let acc = 0;
  return w.map((n) => { const at = (acc / total) * durationMs; acc += n; return Math.round(at); });
}
