// storyd overlay (OBS browser source): draws what view.js decides. ES module, no build.
//
// Theory of operation: the server is the truth. Every `story:state` is a full snapshot and
// render() redraws from it (changing only what differs, so a resync after a reconnect does
// not jump); small events (vote-update, narration, image-updated) patch the view between
// snapshots. Every story or viewer string goes through textContent, never innerHTML.
// The stage is laid out at 1920×1080 (or 1080×1920) and scaled to the window as a whole, so
// every size looks alike; font sizes below are stage pixels, i.e. "px at 1080p".
// Fitting: the chapter is a caption of pieces (≤ 40 words) that scrolls in step with the
// narration, earlier pieces giving way; the vote panel sizes to its content and its font
// steps down from the configured size to the 28 px floor until six long choices fit.

import { connect } from "./socket.js";
import { htmlLang } from "./i18n.js";
import * as V from "./view.js";
import { renderCast } from "./cast.js";

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const API = "/api/interactive-story";
const BASES = { landscape: [1920, 1080], portrait: [1080, 1920] };
const FLOOR_PX = 28;        // the smallest story/choice text at 1080p
const EMERGENCY_PX = 18;    // only for input beyond the spec (e.g. six 400-character choices)
const SAFETY_MS = 45000;    // presenting without narration events this long: show everything

const view = {
  snap: null, offset: 0, conn: "connecting", fresh: true, settings: null,
  chapterKey: null, pieces: [], cur: -1, capStart: 0, narrated: -1, pieceTimers: [],
  safety: null, voteKey: null, live: null, roundStart: {}, tied: {}, gate: {}, gateTimer: null,
  lastCard: null, t: V.stringsFor(null), audioOn: params.get("audio") !== "0",
};

const show = (el, on) => { el.hidden = !on; };
const text = (el, s) => { const v = s == null ? "" : String(s); if (el.textContent !== v) el.textContent = v; };
const now = () => Date.now() + view.offset;

// ---------- stage, style, language ----------
function applySettings(snap) {
  const overlay = (snap && snap.overlay) || {};
  const s = V.settingsOf(params, overlay, window.innerWidth / Math.max(1, window.innerHeight));
  view.settings = s;
  const stage = $("stage");
  for (const l of V.LAYOUTS) stage.classList.toggle(l, l === s.layout);
  for (const st of V.STYLES) stage.classList.toggle(`style-${st}`, st === s.style);
  const root = document.documentElement.style;
  const set = (name, value) => { if (value) root.setProperty(name, value); else root.removeProperty(name); };
  set("--font", overlay.font);
  set("--font-size", overlay.font_size ? `${Number(overlay.font_size)}px` : "");
  set("--text", overlay.text_color);
  set("--accent", overlay.accent);
  set("--panel", overlay.panel);
  view.t = V.stringsFor(snap);
  document.documentElement.lang = htmlLang(snap && V.FIELDS.language(snap)) || "en";
  scale();
}

function scale() {
  const [bw, bh] = BASES[view.settings ? view.settings.layout : "landscape"];
  const k = Math.min(window.innerWidth / bw, window.innerHeight / bh) || 1;
  document.documentElement.style.setProperty("--scale", String(k));
}
// a resized source may change orientation (no ?layout=): the layout is chosen again
window.addEventListener("resize", () => { applySettings(view.snap); view.capStart = 0; layoutAll(); });

function basePx() {
  return Math.max(FLOOR_PX, parseFloat(getComputedStyle($("stage")).fontSize) || 34);
}

// ---------- picture ----------
function setImage(url) {
  const img = $("image");
  const frame = $("picture");
  const safe = V.safeUrl(url);
  if (!safe) { img.removeAttribute("src"); frame.classList.add("empty"); return; }
  if (img.getAttribute("src") === safe) return;
  frame.classList.add("empty");
  img.onload = () => frame.classList.remove("empty");
  img.onerror = () => frame.classList.add("empty");
  img.src = safe;
}

// ---------- caption ----------
function buildCaption(ch) {
  const p = $("chapter-text");
  view.pieces = V.captionPieces(V.FIELDS.sentences(ch));
  p.replaceChildren(...view.pieces.map((piece) => {
    const span = document.createElement("span");
    span.className = "s";
    span.textContent = piece.text + " ";
    return span;
  }));
  const head = V.chapterHead(ch, view.t);
  text($("chapter-kicker"), head.kicker);
  text($("chapter-title"), head.title);
  view.cur = -1; view.capStart = 0;
}

function clearPieceTimers() { view.pieceTimers.forEach(clearTimeout); view.pieceTimers = []; }

function revealTo(piece) {
  const next = Math.min(view.pieces.length - 1, Math.max(view.cur, piece));
  if (next === view.cur) return;
  view.cur = next;
  layoutCaption();
}

/** Narration of sentence i: show its first piece now, later pieces by their word share. */
function revealSentence(i, durationMs) {
  clearPieceTimers();
  const range = V.piecesOf(view.pieces, i);
  if (!range) return;
  revealTo(range[0]);
  const texts = view.pieces.slice(range[0], range[1] + 1).map((p) => p.text);
  V.pieceOffsets(texts, durationMs || 0).forEach((at, k) => {
    if (k) view.pieceTimers.push(setTimeout(() => revealTo(range[0] + k), at));
  });
}

function layoutCaption() {
  const panel = $("text-panel");
  const box = $("caption");
  if (panel.hidden || view.cur < 0 || !box.clientHeight) {   // not laid out: measure later
    paintPieces(Math.min(view.capStart, Math.max(0, view.cur)), view.cur);
    return;
  }
  const fits = (a, b) => { paintPieces(a, b); return box.scrollHeight <= box.clientHeight + 1 && box.scrollWidth <= box.clientWidth + 1; };
  panel.classList.remove("no-title");
  $("chapter-text").style.fontSize = "";
  if (!fits(view.cur, view.cur)) panel.classList.add("no-title");        // a huge title gives way
  for (let px = basePx(); !fits(view.cur, view.cur) && px > EMERGENCY_PX; px -= 2) {
    $("chapter-text").style.fontSize = `${px - 2}px`;                   // beyond-spec input only
  }
  view.capStart = V.captionStart(view.capStart, view.cur, fits);
  paintPieces(view.capStart, view.cur);
}

function paintPieces(a, b) {
  const spans = $("chapter-text").children;
  for (let i = 0; i < spans.length; i++) {
    const on = i >= a && i <= b;
    if (spans[i].hidden === on) spans[i].hidden = !on;
    spans[i].classList.toggle("newest", i === b);
  }
}

// ---------- votes ----------
function buildChoices(model) {
  const list = $("choices");
  list.replaceChildren(...model.choices.map((c) => {
    const li = document.createElement("li");
    li.className = "choice";
    li.dataset.key = c.key;
    const bar = document.createElement("div"); bar.className = "bar";
    const chip = document.createElement("div"); chip.className = "chip"; chip.textContent = c.chip;
    const t = document.createElement("div"); t.className = "text"; t.dir = "auto"; t.textContent = c.text;
    const num = document.createElement("div"); num.className = "num";
    li.append(bar, chip, t, num);
    return li;
  }));
}

function paintVotes(model) {
  const items = $("choices").children;
  model.choices.forEach((c, i) => {
    const li = items[i];
    if (!li) return;
    li.querySelector(".bar").style.width = `${c.pct}%`;
    const num = li.querySelector(".num");
    if (model.phase === "preview") num.replaceChildren();
    else {
      const count = document.createElement("span"); count.className = "count"; count.textContent = c.countText;
      num.replaceChildren(`${c.pct}%`, count);
    }
    li.classList.toggle("leader", c.leader);
    li.classList.toggle("winner", c.winner);
  });
  text($("vote-voters"), model.voters);
}

function renderVotes(snap) {
  const phase = V.votePhase(snap, view.narrated);
  const panel = $("vote-panel");
  $("stage").classList.toggle("has-votes", Boolean(phase));
  if (!phase) { show(panel, false); panel.dataset.phase = ""; view.voteKey = null; return; }
  const v = snap.voting;
  const roundId = v ? V.FIELDS.roundId(v) : null;
  if (view.live && view.live.roundId !== roundId) view.live = null;
  const withTie = v && !V.FIELDS.tied(v).length && view.tied[roundId]
    ? { ...snap, voting: { ...v, tied: view.tied[roundId] } } : snap;
  const model = V.voteModel(withTie, phase, view.t, phase === "open" ? view.live : null);
  const key = JSON.stringify([snap.session_id, model.choices.map((c) => [c.key, c.text])]);
  if (key !== view.voteKey) { buildChoices(model); view.voteKey = key; }
  panel.dataset.phase = phase;
  text($("vote-call"), model.headline);
  text($("vote-cta"), model.cta);
  show($("vote-cta"), Boolean(model.cta));
  text($("vote-result"), model.note);
  show($("vote-result"), Boolean(model.note));
  paintVotes(model);
  if (v && roundId != null && V.FIELDS.endsMs(v) != null && !view.roundStart[roundId]) view.roundStart[roundId] = now();
  show(panel, true);
  tick();
}

function tick() {
  const snap = view.snap;
  const v = snap && snap.voting;
  const phase = snap ? V.votePhase(snap, view.narrated) : null;
  const c = V.countdown(phase === "open" ? v : null, now(), {
    conn: view.conn, startMs: v ? view.roundStart[V.FIELDS.roundId(v)] : null });
  $("vote-panel").classList.toggle("urgent", c.urgent);
  $("countdown").classList.toggle("off", !c.visible);
  $("countdown-bar").classList.toggle("off", !c.visible);
  text($("countdown-num"), c.text);
  $("countdown-fill").style.width = `${(c.fraction * 100).toFixed(1)}%`;
}
setInterval(tick, 250);

/** Step the vote panel's font from the configured size down to the floor until it fits. */
function fitVotes() {
  const panel = $("vote-panel");
  if (panel.hidden) return;
  const stage = $("stage").getBoundingClientRect();
  const k = parseFloat(document.documentElement.style.getPropertyValue("--scale")) || 1;
  const over = () => {
    const r = panel.getBoundingClientRect();
    return panel.scrollHeight > panel.clientHeight + 1 || r.bottom > stage.top + stage.height - 30 * k
      || [...panel.querySelectorAll(".choice .text")].some((e) => e.scrollWidth > e.clientWidth + 1);
  };
  let px = basePx();
  panel.style.fontSize = `${px}px`;
  while (over() && px > FLOOR_PX) { px -= 1; panel.style.fontSize = `${px}px`; }
  while (over() && px > EMERGENCY_PX) { px -= 1; panel.style.fontSize = `${px}px`; }
}

function layoutAll() { fitVotes(); layoutCaption(); fitRecap(); }

// ---------- cards ----------
function renderCard(snap) {
  const model = V.cardModel(snap, view.t);
  const wanted = Boolean(model);
  // "writing…" shows for ≥ 1.5 s or not at all; other cards show at once
  const gated = !model || model.kind === "generating";
  let visible = wanted;
  if (gated) {
    const g = V.cardGate(view.gate, wanted && model.kind === "generating", Date.now());
    view.gate = g.gate;
    visible = g.visible;
    clearTimeout(view.gateTimer);
    if (g.recheckMs != null) view.gateTimer = setTimeout(() => renderCard(view.snap), g.recheckMs + 5);
  } else view.gate = {};
  const m = model || (visible ? view.lastCard : null);
  if (!visible || !m) { show($("card"), false); return; }
  view.lastCard = m;
  const c = $("card");
  c.className = `card panel ${m.kind}`;
  text($("card-kicker"), m.kicker);
  text($("card-title"), m.title);
  text($("card-sub"), m.sub);
  show($("card-spinner"), m.kind === "generating");
  show($("card-progress"), m.progress != null);
  if (m.progress != null) $("card-progress-fill").style.width = `${Math.round(m.progress * 100)}%`;
  show(c, true);
}

// ---------- recap: the story's path as a branch map, after it ended ----------
const SVG_NS = "http://www.w3.org/2000/svg";

function svgEl(name, attrs, content) {
  const e = document.createElementNS(SVG_NS, name);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (content != null) e.textContent = content;   // text only, never markup
  return e;
}

function drawMap(nodes) {
  const box = $("recap-map-box");
  const svg = $("recap-map");
  const w = Math.floor(box.clientWidth);
  const h = Math.floor(box.clientHeight);
  svg.setAttribute("width", w); svg.setAttribute("height", h);
  svg.setAttribute("viewBox", `0 0 ${w} ${h}`);
  const L = V.titledMapLayout(nodes.length, w, h) || V.mapLayout(nodes.length, w, h);
  const parts = [];
  L.points.slice(1).forEach((p, i) => {
    const a = L.points[i];
    if (Math.abs(a.y - p.y) < 1) {
      parts.push(svgEl("line", { class: "path", x1: a.x, y1: a.y, x2: p.x, y2: p.y }));
      return;
    }
    // down to the next row: a curve out to the side, clear of the labels under the node
    const k = (Math.floor(i / L.perRow) % 2 ? -1 : 1) * (w / L.perRow) * 0.55;
    parts.push(svgEl("path", { class: "path",
      d: `M${a.x} ${a.y} C${a.x + k} ${a.y} ${p.x + k} ${p.y} ${p.x} ${p.y}` }));
  });
  nodes.forEach((n, i) => {
    const { x, y } = L.points[i];
    const others = [];
    for (let j = 0; j < n.choices; j++) if (j !== n.chosen) others.push(j);
    others.forEach((j, k) => {          // the roads not taken: stubs fanning upwards
      const a = Math.PI * (0.17 + (0.66 * (k + 1)) / (others.length + 1));
      parts.push(svgEl("line", { class: `stub${n.written.includes(j) ? " written" : ""}`,
        x1: x, y1: y, x2: x + Math.cos(a) * L.r * 1.5, y2: y - Math.sin(a) * L.r * 1.5 }));
    });
  });
  nodes.forEach((n, i) => {
    const { x, y } = L.points[i];
    parts.push(svgEl("circle", { class: "node", cx: x, cy: y, r: L.r }));
    if (L.numbers) parts.push(svgEl("text", { class: "num", x, y, "font-size": Math.max(16, Math.round(L.r * 0.9)) }, String(n.number)));
    if (n.label && L.labels) parts.push(svgEl("text", { class: "share", x, y: y + L.r + 22, "font-size": 20 }, n.label));
  });
  svg.replaceChildren(...parts);
  drawTitles(nodes, L);
}

/** Each chapter's title under its node, where the layout made room (titledMapLayout); a
 *  title that would not fit its box takes every title away: all or none, never cut. */
function drawTitles(nodes, L) {
  const box = $("recap-titles");
  box.replaceChildren();
  if (!L.titles) return;
  const { width, height, top } = L.titles;
  const labels = nodes.map((n, i) => {
    const e = document.createElement("div");
    e.dir = "auto";
    e.textContent = n.title;       // text only, never markup
    Object.assign(e.style, { left: `${L.points[i].x - width / 2}px`, top: `${L.points[i].y + top}px`,
      width: `${width}px`, maxHeight: `${height}px` });
    return e;
  });
  box.replaceChildren(...labels);
  if (labels.some((e) => e.scrollHeight > e.clientHeight + 1)) box.replaceChildren();
}

function renderRecap(snap) {
  const model = V.recapModel(snap, now(), view.t);
  const panel = $("recap");
  clearTimeout(view.recapTimer);
  $("stage").classList.toggle("recap-on", Boolean(model));
  if (!model) { show(panel, false); return false; }
  if (model.until != null) view.recapTimer = setTimeout(recapOver, Math.max(0, model.until - now()) + 30);
  text($("recap-kicker"), model.kicker);
  text($("recap-title"), model.title);
  text($("recap-logline"), model.logline);
  text($("recap-ending"), model.ending);
  text($("recap-cast"), model.cast);
  text($("recap-voters"), model.voters);
  show($("recap-cast"), Boolean(model.cast));
  show($("recap-voters"), Boolean(model.voters));
  show(panel, true);
  view.recapNodes = model.nodes;
  fitRecap();
  return true;
}

/** The recap's time is up: the end card (or what the state shows) takes its place. Not a
 *  render(): that would take the old snapshot's server time as new. */
function recapOver() {
  if (!view.snap) return;
  if (!renderRecap(view.snap)) renderCard(view.snap);
  layoutAll();
}

/** The recap's font steps down from the configured size to the floor until the title,
 *  logline, cast and voters leave the map room (≥ 140 px at 1080p). */
function fitRecap() {
  const panel = $("recap");
  if (panel.hidden || !view.recapNodes) return;
  const over = () => panel.scrollHeight > panel.clientHeight + 1 || $("recap-map-box").clientHeight < 140;
  let px = basePx();
  panel.style.fontSize = `${px}px`;
  while (over() && px > FLOOR_PX) { px -= 1; panel.style.fontSize = `${px}px`; }
  while (over() && px > EMERGENCY_PX) { px -= 1; panel.style.fontSize = `${px}px`; }
  drawMap(view.recapNodes);
}

// ---------- the whole view ----------
function render(snap) {
  view.snap = snap;
  const server = V.FIELDS.serverMs(snap);
  if (server != null) view.offset = server - Date.now();
  applySettings(snap);
  const st = snap.state;
  const streaming = V.streamingChapter(snap);   // the winner's chapter arriving sentence by sentence
  const ch = streaming || snap.chapter;
  $("stage").dataset.state = st;
  $("stage").classList.toggle("has-chapter", Boolean(ch));

  show($("picture"), Boolean(ch));
  setImage(ch && V.FIELDS.imageUrl(ch));
  if (ch) {
    const key = `${snap.session_id}:${ch.number}${streaming ? `:stream:${ch.text.length}` : ""}`;
    if (key !== view.chapterKey) {
      view.chapterKey = key;
      view.narrated = -1;
      clearPieceTimers();
      buildCaption(ch);
      const n = snap.narration;
      if (st === "presenting" && n && V.FIELDS.narrationChapter(n) === ch.number) {
        // joined mid-chapter: caught up below
      } else if (st === "presenting" && !view.fresh && (snap.overlay || {}).reveal !== "full") {
        armSafety();                                                  // narration paces it
      } else revealTo(Infinity);
    }
    const n = snap.narration;
    const idx = n && V.FIELDS.narrationChapter(n) === ch.number ? V.FIELDS.narrationIndex(n) : null;
    if (st === "presenting" && idx != null && idx > view.narrated) {   // a snapshot catches up
      view.narrated = idx;
      if (V.piecesOf(view.pieces, idx)) revealSentence(idx, 0); else revealTo(Infinity);
    }
    if (st !== "presenting") { clearPieceTimers(); revealTo(Infinity); }
  } else { view.chapterKey = null; view.pieces = []; }
  show($("text-panel"), Boolean(ch) && st !== "idle");
  renderVotes(snap);
  const recapShown = renderRecap(snap);
  if (recapShown) show($("card"), false);
  else renderCard(snap);
  renderCast($("cast"), recapShown ? null : snap);   // the recap card lists the cast itself
  layoutAll();
  view.fresh = false;
}

function armSafety() {
  clearTimeout(view.safety);
  view.safety = setTimeout(() => { revealTo(Infinity); view.narrated = Infinity; rerender(); }, SAFETY_MS);
}

function rerender() { if (view.snap) { renderVotes(view.snap); layoutAll(); } }

function narrate(d) {
  const snap = view.snap;
  if (!snap || !snap.chapter || V.FIELDS.narrationChapter(d) !== snap.chapter.number) return;
  const i = V.FIELDS.narrationIndex(d);
  if (i == null) return;
  armSafety();
  view.narrated = Math.max(view.narrated, i);
  const go = () => {
    if (V.FIELDS.narrationKind(d) === "choices") { revealTo(Infinity); rerender(); return; }
    revealSentence(i, V.FIELDS.narrationMs(d));
  };
  const url = V.safeUrl(V.FIELDS.audioUrl(d));
  if (!view.audioOn || !url) { go(); return; }
  const audio = $("narration");
  audio.onplay = go;
  audio.src = url;
  audio.play().catch(go);         // autoplay refused: keep the text moving anyway
}

function onEvent(msg) {
  const d = msg.data || {};
  switch (msg.event) {
    case "story:state":
      $("stage").dataset.conn = "open"; show($("conn"), false);
      render(d);
      break;
    case "story:vote-update": {
      const v = view.snap && view.snap.voting;
      const rid = V.FIELDS.roundId(d);
      if (v && (rid == null || rid === V.FIELDS.roundId(v))) {
        view.live = { roundId: V.FIELDS.roundId(v), counts: V.FIELDS.counts(d), voters: V.FIELDS.voters(d) };
        rerender();
      }
      break;
    }
    case "story:voting-started": {
      const rid = V.FIELDS.roundId(d);
      if (rid != null && !view.roundStart[rid]) view.roundStart[rid] = now();
      break;
    }
    case "story:voting-ended": {          // the tie (tied[]) is only in this event
      const rid = V.FIELDS.roundId(d);
      if (rid != null) view.tied[rid] = V.FIELDS.tied(d);
      rerender();
      break;
    }
    case "story:narration": narrate(d); break;
    case "story:image-updated": setImage(V.FIELDS.imageUrl(d)); break;
    default: break;
  }
}

function onState(state) {
  view.conn = state;
  $("stage").dataset.conn = state;
  if (state === "down") {
    view.fresh = true;                // the next snapshot resyncs without replaying reveals
    text($("conn-text"), view.t.reconnecting);
    show($("conn"), true);
  }
  tick();
}

// First paint from the URL alone, so OBS never shows a blank frame while connecting.
applySettings(null);
renderCard(null);
fetch(`${API}/status`).then((r) => (r.ok ? r.json() : null))
  .then((s) => { if (s && !view.snap) render(s); }).catch(() => {});
connect("/ws/overlay", { onEvent, onState });
// for tests and OBS debugging: the view models' inputs, read-only
window.storydOverlay = { get view() { return view; } };
