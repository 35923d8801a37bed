// storyd admin page (ES module; no build step, no CDN).
//
// Theory of operation: the admin socket (/ws/admin, authorised by the HttpOnly cookie set when
// the page was opened with ?token=) delivers a full snapshot on connect and after every
// transition; the page redraws its live parts from it. live.js owns the connection (the shared
// overlay/socket.js client), view.js turns server data into what to show (pure, unit-tested),
// and this file only touches the DOM. Commands go through the REST API (fetch with the same
// cookie). Every server-provided string is set with textContent, never as HTML.
import { cameoCard } from "/admin/cameos.js";
import { createConfigForm } from "/admin/config_form.js";
import { afterShow } from "/admin/aftershow.js";
import { el } from "/admin/dom.js";
import { openAdminSocket } from "/admin/live.js";
import { planElement } from "/admin/plan.js";
import {
  chatSourceView, controls, providerView, serverTimeMs, sessionChapters, tally, voteRows,
  voterRows, votersLine, voteTimer,
} from "/admin/view.js";

const API = "/api/interactive-story";
const $ = (id) => document.getElementById(id);
const state = { snap: null, themes: [], picked: null, config: null, offset: 0 };
const nowMs = () => Date.now() + (state.offset || 0);

// ---------- API ----------
async function api(method, path, body) {
  const opts = { method, credentials: "same-origin", headers: {} };
  if (body !== undefined) {
    opts.headers["Content-Type"] = "application/json";
    opts.body = JSON.stringify(body);
  }
  const r = await fetch(API + path, opts);
  let data = null;
  try { data = await r.json(); } catch { data = null; }
  if (r.status === 401) $("login").hidden = false;
  if (!r.ok) {
    const err = new Error((data && data.error && data.error.message) || `HTTP ${r.status}`);
    err.detail = data && data.error;
    throw err;
  }
  return data;
}

function toast(message, isError) {
  const t = $("toast");
  t.textContent = message;
  t.classList.toggle("error", Boolean(isError));
  t.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { t.hidden = true; }, 5000);
}

async function command(path, body, okText) {
  try {
    await api("POST", path, body || {});
    if (okText) toast(okText);
  } catch (e) { toast(e.message, true); }
}

// ---------- live status ----------
function render(s) {
  state.snap = s;
  const server = serverTimeMs(s);
  if (server != null) state.offset = server - Date.now();
  const pill = $("st-state");
  pill.textContent = s.state;
  pill.dataset.state = s.state;
  $("st-chapter").textContent = s.chapter_number ? `chapter ${s.chapter_number}${s.max_chapters ? ` / ${s.max_chapters}` : ""}` : "";
  $("st-theme").textContent = [s.theme_name, s.authored && `“${s.authored.title}”`].filter(Boolean).join(" · ");
  $("st-mode").hidden = !s.test_mode;
  $("notice").hidden = !(s.notice || s.language_notice);
  $("notice").textContent = [s.notice, s.language_notice].filter(Boolean).join(" · ");
  const ch = s.chapter;
  $("now-title").textContent = ch ? ch.title : "No story running";
  $("now-text").textContent = ch ? ch.text : "";
  const img = $("now-image");
  if (ch && typeof ch.image_url === "string" && ch.image_url.startsWith("/")) { img.src = ch.image_url; img.hidden = false; }
  else img.hidden = true;
  renderVotes(s.voting);
  renderChoiceControls(s.choices || []);
  applyControls();
  renderChat(s.chat || []);
}

function applyControls() {
  const images = !state.config || !state.config.images || state.config.images.enabled !== false;
  const c = controls(state.snap, { imagesEnabled: images });
  $("btn-close").disabled = !c.close;
  $("btn-next").disabled = !c.next;
  $("next-choice").disabled = !c.next;
  $("btn-finish").disabled = !c.finish;
  $("btn-finish-now").disabled = !c.finish;
  $("btn-end").disabled = !c.end;
  $("btn-regen").disabled = !c.regen;
  $("btn-start").disabled = !c.start && !$("force").checked;
  for (const b of $("vote-buttons").querySelectorAll("button")) b.disabled = !c.vote;
  for (const b of $("manual-buttons").querySelectorAll("button")) b.disabled = !c.manual;
}

function renderChat(sources) {
  const list = $("chat-sources");
  if (!sources.length) { list.replaceChildren(el("li", { class: "muted", text: "no chat source" })); return; }
  list.replaceChildren(...sources.map((c) => {
    const v = chatSourceView(c, nowMs());
    return el("li", { class: v.tone },
      el("span", { class: "prov-name", text: v.name }),
      el("span", { class: "pill prov-diag", text: v.stateText }),
      v.detail ? el("span", { class: "muted", text: v.detail }) : null,
      el("div", { class: "muted prov-msg", text: v.figures }));
  }));
}

function renderVotes(v, counts, voters) {
  const list = $("now-votes");
  const rows = voteRows(v, counts);
  list.replaceChildren(...rows.map((r) => {
    const bar = el("div", { class: "bar" });
    bar.style.width = `${r.pct}%`;
    return el("li", { class: r.winner ? "winner" : "" }, bar,
      el("span", { text: `${r.key.toUpperCase()}  ${r.text}` }),
      el("span", { class: "n", text: `${r.count} · ${r.pct}%` }));
  }));
  $("now-voters").textContent = v ? `${tally(counts || v.counts, rows.length)} · ${votersLine(v, voters)}` : "";
}

function renderChoiceControls(choices) {
  const sig = JSON.stringify(choices);
  if (renderChoiceControls.sig === sig) return;
  renderChoiceControls.sig = sig;
  const sel = $("next-choice");
  sel.replaceChildren(el("option", { value: "", text: "the vote winner" }));
  const votes = $("vote-buttons"), manual = $("manual-buttons");
  votes.replaceChildren();
  manual.replaceChildren();
  for (const c of choices) {
    sel.append(el("option", { value: c.key, text: `${c.key.toUpperCase()}: ${c.text}` }));
    votes.append(el("button", { type: "button", text: `Vote !${c.key}`, onclick: () => {
      const viewer = $("vote-viewer").value.trim() || "tester";
      command("/vote", { viewer, choice: c.key });
    } }));
    manual.append(el("button", { type: "button", class: "ghost", text: `Continue with ${c.key.toUpperCase()}`,
      onclick: () => command("/next-chapter", { choice: c.key }, `continuing with ${c.key.toUpperCase()}`) }));
  }
}

function tick() {
  tick.n = (tick.n || 0) + 1;   // the plan: read again every 2 s while it is stale
  if (tick.n % 4 === 0 && planStale(state.snap)) loadPlan();
  $("st-timer").textContent = voteTimer(state.snap, nowMs());
}

// ---------- event log ----------
function logEvent(name, data) {
  const log = $("log");
  let detail = "";
  if (name === "story:error") detail = data.message;
  else if (name === "story:vote-update") detail = `${tally(data.counts)} (${data.voters} voters)`;
  else if (name === "story:state") detail = data.state;
  else if (name === "story:command-result") detail = data.ok ? `${data.command}: ok` : `${data.command}: ${data.error && data.error.message}`;
  else detail = JSON.stringify(data).slice(0, 200);
  const time = new Date().toLocaleTimeString();
  log.prepend(el("li", { class: name === "story:error" ? "error" : "", text: `${time}  ${name}  ${detail}` }));
  while (log.children.length > 300) log.lastChild.remove();
}

// ---------- socket ----------
let lastVoteLog = 0;
function onEvent(msg) {
  const d = msg.data || {};
  if (msg.event === "story:state") { render(d); cameos.onSnapshot(d); }
  else if (msg.event === "story:vote-update" && state.snap && state.snap.voting) renderVotes(state.snap.voting, d.counts, d.voters);
  if (msg.event !== "story:vote-update" || Date.now() - lastVoteLog > 2000) {
    if (msg.event === "story:vote-update") lastVoteLog = Date.now();
    logEvent(msg.event, d);
  }
  if (msg.event === "story:chapter-ready" || msg.event === "story:ended") { loadMemory(); loadSessions(); loadVoters(); }
}
function onState(s) {
  $("conn").classList.toggle("on", s === "open");
  if (s === "down" && !state.snap) checkLogin();
}
async function checkLogin() { try { await api("GET", "/config"); } catch { /* banner shown on 401 */ } }

// ---------- themes ----------
function renderThemes(list) {
  const box = $("themes");
  box.replaceChildren();
  for (const t of list) {
    const sw = el("span", { class: "swatch" });
    for (const c of t.palette || []) { const i = el("i"); i.style.background = c; sw.append(i); }
    box.append(el("button", { type: "button", class: `theme${state.picked === t.id ? " picked" : ""}`,
      onclick: () => { state.picked = state.picked === t.id ? null : t.id; renderThemes(list); } },
      el("strong", { text: t.name }), el("small", { text: t.tone }), sw));
  }
}
function shuffle() {
  const pool = state.themes.slice();
  for (let i = pool.length - 1; i > 0; i--) { const j = Math.floor(Math.random() * (i + 1)); [pool[i], pool[j]] = [pool[j], pool[i]]; }
  renderThemes(pool.slice(0, 5));
}

// ---------- memory, voters, providers, sessions ----------
const entity = (x) => (typeof x === "string" ? x : Array.isArray(x) ? x.join(": ") : [x.name, x.note].filter(Boolean).join(" — "));
async function loadMemory() {
  try {
    const m = await api("GET", "/memory");
    const box = $("memory");
    box.replaceChildren();
    const mem = m.memory || {};
    const groups = [["Characters", mem.characters], ["Places", mem.locations], ["Items", mem.items],
      ["Events", mem.events], ["Choices taken", m.path]];
    for (const [title, items] of groups) {
      box.append(el("div", {}, el("h3", { text: title }),
        el("ul", {}, ...((items || []).map((x) => el("li", { text: entity(x) }))))));
    }
    const last = m.last_prompt;
    $("memory-context").textContent = [m.context || "", last ? JSON.stringify(last, null, 2) : ""].filter(Boolean).join("\n\n---\n\n");
  } catch { /* not logged in or no story */ }
}
const planShown = { key: "" };
async function loadPlan() {
  try {
    const reply = await api("GET", "/plan");
    planShown.key = reply.plan ? `${reply.session_id}:${reply.aired}:${reply.plan.beats.length}`
      : reply.authored ? `${reply.session_id}:${reply.aired}:authored` : "";   // nothing to wait for
    $("plan").replaceChildren(planElement(reply));
    if (reply.plan) $("extend-n").value = String(Math.max(reply.plan.beats.length, reply.aired + 1));
  } catch { /* not logged in */ }
}
function planStale(s) {   // a new story, a new chapter, a longer plan: read it again
  return s && s.session_id != null && !planShown.key.startsWith(`${s.session_id}:${s.chapter_number}:`);
}
async function loadVoters() {
  try {
    const rows = voterRows(await api("GET", "/top-voters?limit=15"));
    $("voters").tBodies[0].replaceChildren(...rows.map((r) => el("tr", {},
      el("td", { text: r.name }), el("td", { class: "muted", text: `${r.platform} · ${r.id}` }),
      el("td", { text: r.ballots }))));
  } catch { /* ignore */ }
}
async function testProviders() {
  const list = $("providers");
  const button = $("btn-providers");
  button.disabled = true;
  list.replaceChildren(el("li", { class: "muted", text: "testing…" }));
  try {
    const rows = (await api("GET", "/providers")).map(providerView);
    list.replaceChildren(...rows.map((r) => el("li", { class: r.tone },
      el("span", { class: "prov-name", text: r.name }),
      el("span", { class: "pill prov-diag", text: r.diagnosis }),
      el("span", { class: "muted", text: r.latency }),
      r.message ? el("div", { class: "muted prov-msg", text: r.message }) : null)));
  } catch (e) {
    list.replaceChildren(el("li", { class: "bad", text: e.message }));
  } finally { button.disabled = false; }
}
async function loadSessions() {
  try {
    const rows = await api("GET", "/sessions?limit=30");
    $("sessions").replaceChildren(...rows.map((s) => el("li", {}, el("button", { type: "button",
      text: `#${s.id} ${s.theme || ""} · ${s.chapters != null ? s.chapters : "?"} ch · ${s.status || ""}`,
      onclick: () => showSession(s.id) }))));
  } catch { /* ignore */ }
}
async function showSession(id) {
  const box = $("session-detail");
  try {
    const s = await api("GET", `/session/${id}`);
    const links = el("div", { class: "row" }, ...["md", "html", "twee", "json"].map((f) =>
      el("a", { href: `${API}/export/${id}?format=${f}`, target: "_blank", rel: "noopener", text: `export ${f}` })));
    const chapters = sessionChapters(s).map((c) => el("div", { class: "chapter" },
      el("div", { class: "title", text: `${c.number}. ${c.title}` }),
      el("p", { text: c.text }),
      el("ol", { type: "a" }, ...c.choices.map((x) => el("li", { class: x.chosen ? "winner" : "", text: x.text }))),
      el("div", { class: "muted", text: c.result })));
    const recap = s.recap ? el("div", { class: "muted" }, el("p", { text: `${s.recap.logline} (${s.recap.ending} ending)` }),
      el("ul", {}, ...(s.recap.moments || []).map((m) => el("li", { text: m })))) : null;
    box.replaceChildren(...[el("h3", { text: `Session #${id} · ${s.theme || ""} · ${s.language || ""}` }), links,
      recap, s.plan ? el("details", {}, el("summary", { text: "Story plan" }),
        planElement({ session_id: id, plan: s.plan, aired: (s.chapters || []).length })) : null,
      afterShow(id, api, API), ...chapters].filter(Boolean));   // replaceChildren writes null as "null"
  } catch (e) { box.replaceChildren(el("p", { text: e.message })); }
}

// ---------- config form (config_form.js) ----------
const configForm = createConfigForm({
  form: $("config-form"), save: $("btn-config-save"), message: $("config-msg"), api,
  onSaved(cfg) { state.config = cfg; applyControls(); updateOverlayUrl(); },
});

// ---------- overlay URL and preview ----------
function updateOverlayUrl() {
  const style = $("ov-style").value;
  const q = [$("ov-layout").value, style ? `style=${encodeURIComponent(style)}` : ""].filter(Boolean).join("&");
  const url = `${location.origin}/overlay/${q ? `?${q}` : ""}`;
  $("ov-url").value = url;
  const ov = (state.config && state.config.overlay) || {};
  const params = new URLSearchParams(q);
  const portrait = (params.get("layout") || ov.layout) === "portrait";
  const [w, h] = portrait ? [1080, 1920] : [1920, 1080];
  const box = $("preview-box");
  box.classList.toggle("portrait", portrait);
  const frame = $("preview");
  frame.width = String(w);
  frame.height = String(h);
  const scale = () => { frame.style.transform = `scale(${box.clientWidth / w})`; box.style.height = `${(box.clientWidth / w) * h}px`; };
  if (frame.dataset.src !== url) { frame.dataset.src = url; frame.src = `/overlay/?${q || ""}${q ? "&" : ""}audio=0`; }
  scale();
  window.onresize = scale;
}
$("ov-layout").addEventListener("change", updateOverlayUrl);
$("ov-style").addEventListener("change", updateOverlayUrl);
$("btn-copy").addEventListener("click", async () => {
  try { await navigator.clipboard.writeText($("ov-url").value); toast("overlay URL copied"); }
  catch { $("ov-url").select(); document.execCommand("copy"); toast("overlay URL copied"); }
});

const cameos = cameoCard({ api, toast, $ });

// ---------- buttons ----------
$("btn-start").addEventListener("click", () => {
  const body = { force: $("force").checked };
  if (state.picked) body.theme = state.picked;
  const outline = $("outline").value.trim();
  const language = $("language").value.trim();
  const story = $("story-file").value.trim() || $("story").value;
  if (outline) body.outline = outline;
  if (language) body.language = language;
  if (story) body.story = story;
  command("/start", body, "story starting…");
});
$("force").addEventListener("change", applyControls);
$("btn-close").addEventListener("click", () => command("/close", {}, "vote closed"));
$("btn-next").addEventListener("click", () => {
  const choice = $("next-choice").value;
  command("/next-chapter", choice ? { choice } : {}, "next chapter…");
});
$("btn-finish").addEventListener("click", () => command("/finish", {}, "the next chapter will be the last"));
$("btn-finish-now").addEventListener("click", () => command("/finish", { now: true }, "the closing chapter comes now"));
$("btn-end").addEventListener("click", () => { if (confirm("End the story now?")) command("/end", {}, "story ended"); });
$("btn-regen").addEventListener("click", () => command("/regenerate-image", {}, "new picture on its way"));
$("btn-shuffle").addEventListener("click", shuffle);
$("btn-all").addEventListener("click", () => renderThemes(state.themes));
$("btn-memory").addEventListener("click", loadMemory);
$("btn-plan").addEventListener("click", loadPlan);
$("btn-extend").addEventListener("click", async () => {
  const chapters = Number($("extend-n").value);
  await command("/extend", { chapters }, `the story now runs to ${chapters} chapters`);
  loadPlan();
});
$("btn-voters").addEventListener("click", loadVoters);
$("btn-sessions").addEventListener("click", loadSessions);
$("btn-providers").addEventListener("click", testProviders);
$("btn-log-clear").addEventListener("click", () => $("log").replaceChildren());

// ---------- start ----------
applyControls();   // nothing is pressable before the first snapshot
setInterval(tick, 500);
try { state.themes = await api("GET", "/themes"); shuffle(); } catch (e) { toast(e.message, true); }
try {   // the shipped authored stories (Twee): played as written, no model
  for (const st of await api("GET", "/stories")) {
    $("story").append(el("option", { value: st.id, text: `${st.title} — ${st.language}, ${st.theme_name || st.theme}` }));
  }
} catch { /* none */ }
try {
  const [config, schema] = await Promise.all([api("GET", "/config"), api("GET", "/config/schema")]);
  state.config = config;
  configForm.render(schema, config);
  applyControls();
  if (state.config.story && !$("language").value) $("language").placeholder = state.config.story.language || "English";
} catch { /* 401 shows the login banner */ }
updateOverlayUrl();
loadMemory(); loadVoters(); loadSessions();
openAdminSocket({ onEvent, onState });
// chat health changes between story transitions: refresh that card every 5 s
setInterval(async () => {
  try { renderChat((await api("GET", "/status")).chat || []); } catch { /* offline */ }
}, 5000);
