// storyd admin page. Plain JS, no build, no CDN.
//
// Theory of operation: the admin socket (/ws/admin, authorised by the HttpOnly cookie set
// when the page was opened with ?token=) delivers a full snapshot on connect and after every
// transition; the page redraws its live parts from it. Commands go through the REST API
// (fetch with the same cookie). Every server-provided string is set with textContent.
"use strict";

(() => {
  const API = "/api/interactive-story";
  const $ = (id) => document.getElementById(id);
  const el = (tag, props = {}, ...children) => {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(props)) {
      if (k === "text") e.textContent = v == null ? "" : String(v);
      else if (k === "class") e.className = v;
      else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v);
    }
    for (const c of children) if (c != null) e.append(c);
    return e;
  };
  const state = { snap: null, themes: [], picked: null, config: null, offset: 0 };

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
    state.offset = s.server_time_ms - Date.now();
    const pill = $("st-state");
    pill.textContent = s.state;
    pill.dataset.state = s.state;
    $("st-chapter").textContent = s.chapter_number ? `chapter ${s.chapter_number}${s.max_chapters ? ` / ${s.max_chapters}` : ""}` : "";
    $("st-theme").textContent = s.theme_name || "";
    $("notice").hidden = !s.notice;
    $("notice").textContent = s.notice || "";
    const ch = s.chapter;
    $("now-title").textContent = ch ? ch.title : "No story running";
    $("now-text").textContent = ch ? ch.text : "";
    const img = $("now-image");
    if (ch && typeof ch.image_url === "string" && ch.image_url.startsWith("/")) { img.src = ch.image_url; img.hidden = false; }
    else img.hidden = true;
    renderVotes(s.voting);
    const running = !["idle", "ended"].includes(s.state);
    const open = Boolean(s.voting && s.voting.open);
    $("btn-close").disabled = !open;
    $("btn-next").disabled = !running;
    $("btn-finish").disabled = !running;
    $("btn-end").disabled = !running;
    $("btn-regen").disabled = !ch;
    renderChoiceControls(s.choices || []);
    renderChat(s.chat || []);
  }

  // one line per chat source: state (and why), last event age, rate, votes, reconnects, drops
  function renderChat(sources) {
    const list = $("chat-sources");
    if (!sources.length) { list.replaceChildren(el("li", { class: "muted", text: "no chat source" })); return; }
    const now = Date.now() + (state.offset || 0);
    list.replaceChildren(...sources.map((c) => {
      const good = c.state === "connected";
      let st = String(c.state || "?").replace(/_/g, " ");
      if (c.state === "backing_off" && typeof c.retry_at_ms === "number") {
        st += ` until ${new Date(c.retry_at_ms - (state.offset || 0)).toLocaleTimeString()}`;
      }
      const age = typeof c.last_event_at_ms === "number" ? `${Math.max(0, Math.round((now - c.last_event_at_ms) / 1000))} s ago` : "no events yet";
      const figures = `last event ${age} · ${Number(c.rate || 0).toFixed(1)} msg/s · votes ${c.votes_accepted || 0} ok / ${c.votes_invalid || 0} invalid · ${c.reconnects || 0} reconnects · ${c.dropped || 0} dropped`;
      return el("li", { class: good ? "ok" : (c.state === "failed" ? "bad" : "") },
        el("span", { class: "prov-name", text: c.source }),
        el("span", { class: "pill prov-diag", text: st }),
        c.detail ? el("span", { class: "muted", text: c.detail }) : null,
        el("div", { class: "muted prov-msg", text: figures }));
    }));
  }

  function renderVotes(v, counts, voters) {
    const list = $("now-votes");
    list.replaceChildren();
    if (!v) { $("now-voters").textContent = ""; return; }
    const c = counts || v.counts;
    const total = c.reduce((a, b) => a + b, 0);
    v.choices.forEach((choice, i) => {
      const pct = total ? Math.round((100 * (c[i] || 0)) / total) : 0;
      const bar = el("div", { class: "bar" });
      bar.style.width = `${pct}%`;
      list.append(el("li", { class: i === v.winner ? "winner" : "" }, bar,
        el("span", { text: `${choice.key.toUpperCase()}  ${choice.text}` }),
        el("span", { class: "n", text: `${c[i] || 0} · ${pct}%` })));
    });
    const tie = v.tie_break ? ` · tie-break: ${v.tie_break}` : "";
    $("now-voters").textContent = `${voters != null ? voters : v.voters} voters${v.open ? "" : " · closed"}${tie}`;
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

  setInterval(() => {
    const v = state.snap && state.snap.voting;
    const t = $("st-timer");
    if (!v || !v.open || !v.ends_at) { t.textContent = ""; return; }
    const left = Math.max(0, Math.ceil((v.ends_at - (Date.now() + state.offset)) / 1000));
    t.textContent = `vote ends in ${left} s`;
  }, 500);

  // ---------- event log ----------
  function logEvent(name, data) {
    const log = $("log");
    let detail = "";
    if (name === "story:error") detail = data.message;
    else if (name === "story:vote-update") detail = `${(data.counts || []).join(" / ")} (${data.voters} voters)`;
    else if (name === "story:state") detail = data.state;
    else if (name === "story:command-result") detail = data.ok ? `${data.command}: ok` : `${data.command}: ${data.error && data.error.message}`;
    else detail = JSON.stringify(data).slice(0, 200);
    const time = new Date().toLocaleTimeString();
    log.prepend(el("li", { class: name === "story:error" ? "error" : "", text: `${time}  ${name}  ${detail}` }));
    while (log.children.length > 300) log.lastChild.remove();
  }

  // ---------- socket ----------
  let backoff = 500, lastVoteLog = 0;
  function connect() {
    const proto = location.protocol === "https:" ? "wss:" : "ws:";
    const ws = new WebSocket(`${proto}//${location.host}/ws/admin`);
    ws.onopen = () => { $("conn").classList.add("on"); backoff = 500; };
    ws.onmessage = (e) => {
      let msg;
      try { msg = JSON.parse(e.data); } catch { return; }
      const d = msg.data || {};
      if (msg.event === "pong") return;
      if (msg.event === "story:state") render(d);
      else if (msg.event === "story:vote-update" && state.snap && state.snap.voting) renderVotes(state.snap.voting, d.counts, d.voters);
      if (msg.event !== "story:vote-update" || Date.now() - lastVoteLog > 2000) {
        if (msg.event === "story:vote-update") lastVoteLog = Date.now();
        logEvent(msg.event, d);
      }
      if (msg.event === "story:chapter-ready" || msg.event === "story:ended") { loadMemory(); loadSessions(); loadVoters(); }
    };
    ws.onclose = (e) => {
      $("conn").classList.remove("on");
      if (e.code === 1006 && !state.snap) checkLogin();
      setTimeout(connect, backoff * (0.75 + Math.random() * 0.5));
      backoff = Math.min(backoff * 2, 15000);
    };
    setInterval(() => { if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ event: "ping" })); }, 15000);
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

  // ---------- memory, voters, sessions ----------
  const entity = (x) => (typeof x === "string" ? x : Array.isArray(x) ? x.join(": ") : [x.name, x.note].filter(Boolean).join(" — "));
  async function loadMemory() {
    try {
      const m = await api("GET", "/memory");
      const box = $("memory");
      box.replaceChildren();
      const mem = m.memory || {};
      const groups = [["Characters", mem.characters], ["Places", mem.locations], ["Items", mem.items],
        ["Events", mem.events], ["Choices taken", m.path || mem.path]];
      for (const [title, items] of groups) {
        box.append(el("div", {}, el("h3", { text: title }),
          el("ul", {}, ...((items || []).map((x) => el("li", { text: entity(x) }))))));
      }
      const last = m.last_prompt;
      $("memory-context").textContent = [m.context || "", last ? (typeof last === "string" ? last : JSON.stringify(last, null, 2)) : ""].filter(Boolean).join("\n\n---\n\n");
    } catch (e) { /* not logged in or no story */ }
  }
  async function loadVoters() {
    try {
      const rows = await api("GET", "/top-voters?limit=15");
      $("voters").tBodies[0].replaceChildren(...rows.map((r) =>
        el("tr", {}, el("td", { text: r.name || r.viewer_id || r.viewer }), el("td", { text: r.ballots }))));
    } catch (e) { /* ignore */ }
  }
  async function testProviders() {
    const list = $("providers");
    const button = $("btn-providers");
    button.disabled = true;
    list.replaceChildren(el("li", { class: "muted", text: "testing…" }));
    try {
      const rows = await api("GET", "/providers");
      list.replaceChildren(...rows.map((r) => {
        const ms = typeof r.latency === "number" ? `${Math.round(r.latency * 1000)} ms` : "";
        return el("li", { class: r.ok ? "ok" : "bad" },
          el("span", { class: "prov-name", text: r.provider }),
          el("span", { class: "pill prov-diag", text: r.diagnosis || (r.ok ? "ok" : "error") }),
          el("span", { class: "muted", text: ms }),
          r.message ? el("div", { class: "muted prov-msg", text: r.message }) : null);
      }));
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
    } catch (e) { /* ignore */ }
  }
  async function showSession(id) {
    const box = $("session-detail");
    try {
      const s = await api("GET", `/session/${id}`);
      const links = el("div", { class: "row" }, ...["md", "html", "twee", "json"].map((f) =>
        el("a", { href: `${API}/export/${id}?format=${f}`, target: "_blank", rel: "noopener", text: `export ${f}` })));
      const chapters = (s.chapters || []).map((c) => {
        const v = c.vote;
        const choices = (c.choices || []).map((x) => (typeof x === "string" ? x : x.text));
        const result = v ? `vote: ${(v.counts || []).join(" / ")} → ${v.winner != null ? "ABCDEF"[v.winner] : "?"}${v.tie_break ? ` (${v.tie_break})` : ""}${v.forced ? " (forced)" : ""}` : "";
        return el("div", { class: "chapter" }, el("div", { class: "title", text: `${c.number}. ${c.title || ""}` }),
          el("p", { text: c.text || c.content || "" }),
          el("ol", {}, ...choices.map((t) => el("li", { text: t }))), el("div", { class: "muted", text: result }));
      });
      box.replaceChildren(el("h3", { text: `Session #${id} · ${s.theme || ""} · ${s.language || ""}` }), links, ...chapters);
    } catch (e) { box.replaceChildren(el("p", { text: e.message })); }
  }

  // ---------- config form ----------
  function renderConfig(cfg) {
    const form = $("config-form");
    form.replaceChildren();
    const flat = [];
    const walk = (obj, prefix) => {
      for (const [k, v] of Object.entries(obj)) {
        const key = prefix ? `${prefix}.${k}` : k;
        if (v && typeof v === "object" && !Array.isArray(v)) walk(v, key);
        else flat.push([key, v]);
      }
    };
    walk(cfg, "");
    const sections = new Map();
    for (const [key, value] of flat) {
      const sec = key.split(".").slice(0, -1).join(".") || "general";
      if (!sections.has(sec)) sections.set(sec, el("fieldset", {}, el("legend", { text: sec })));
      let input;
      if (typeof value === "boolean") { input = el("input", { type: "checkbox" }); input.checked = value; }
      else if (typeof value === "number") { input = el("input", { type: "number", step: "any" }); input.value = String(value); }
      else { input = el("input", { type: "text" }); input.value = Array.isArray(value) ? JSON.stringify(value) : String(value == null ? "" : value); }
      input.dataset.key = key;
      input.dataset.kind = Array.isArray(value) ? "list" : typeof value;
      input.dataset.orig = input.type === "checkbox" ? String(input.checked) : input.value;
      input.addEventListener("input", () => input.classList.toggle("changed", current(input) !== input.dataset.orig));
      const err = el("div", { class: "field-error" });
      err.dataset.errorFor = key;
      sections.get(sec).append(el("label", {}, el("span", { text: key.split(".").pop() }), input, err));
    }
    for (const fs of sections.values()) form.append(fs);
  }
  const current = (i) => (i.type === "checkbox" ? String(i.checked) : i.value);
  function valueOf(input) {
    const k = input.dataset.kind;
    if (k === "boolean") return input.checked;
    if (k === "number") return input.value.trim() === "" ? input.value : Number(input.value);
    if (k === "list") { try { return JSON.parse(input.value); } catch { return input.value.split(",").map((s) => s.trim()).filter(Boolean); } }
    return input.value;
  }
  async function saveConfig() {
    const inputs = [...$("config-form").querySelectorAll("input")];
    const changes = {};
    for (const i of inputs) if (current(i) !== i.dataset.orig) changes[i.dataset.key] = valueOf(i);
    for (const e of $("config-form").querySelectorAll(".field-error")) e.textContent = "";
    for (const i of inputs) i.classList.remove("invalid");
    if (!Object.keys(changes).length) { $("config-msg").textContent = "nothing changed"; return; }
    try {
      const cfg = await api("POST", "/config", { changes });
      $("config-msg").textContent = `saved ${Object.keys(changes).length} change(s)`;
      renderConfig(cfg);
      updateOverlayUrl();
    } catch (e) {
      $("config-msg").textContent = e.message;
      const fields = (e.detail && e.detail.fields) || {};
      for (const [key, msg] of Object.entries(fields)) {
        const box = [...$("config-form").querySelectorAll(".field-error")].find((x) => x.dataset.errorFor === key);
        if (box) box.textContent = msg;
        const inp = inputs.find((x) => x.dataset.key === key);
        if (inp) inp.classList.add("invalid");
      }
    }
  }

  // ---------- overlay URL and preview ----------
  function updateOverlayUrl() {
    const q = $("ov-layout").value;
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
  $("btn-copy").addEventListener("click", async () => {
    try { await navigator.clipboard.writeText($("ov-url").value); toast("overlay URL copied"); }
    catch { $("ov-url").select(); document.execCommand("copy"); toast("overlay URL copied"); }
  });

  // ---------- buttons ----------
  $("btn-start").addEventListener("click", () => {
    const body = { force: $("force").checked };
    if (state.picked) body.theme = state.picked;
    const outline = $("outline").value.trim();
    const language = $("language").value.trim();
    if (outline) body.outline = outline;
    if (language) body.language = language;
    command("/start", body, "story starting…");
  });
  $("btn-close").addEventListener("click", () => command("/close", {}, "vote closed"));
  $("btn-next").addEventListener("click", () => {
    const choice = $("next-choice").value;
    command("/next-chapter", choice ? { choice } : {}, "next chapter…");
  });
  $("btn-finish").addEventListener("click", () => command("/finish", {}, "the next chapter will be the last"));
  $("btn-end").addEventListener("click", () => { if (confirm("End the story now?")) command("/end", {}, "story ended"); });
  $("btn-regen").addEventListener("click", () => command("/regenerate-image", {}, "new picture on its way"));
  $("btn-shuffle").addEventListener("click", shuffle);
  $("btn-all").addEventListener("click", () => renderThemes(state.themes));
  $("btn-memory").addEventListener("click", loadMemory);
  $("btn-voters").addEventListener("click", loadVoters);
  $("btn-sessions").addEventListener("click", loadSessions);
  $("btn-providers").addEventListener("click", testProviders);
  $("btn-config-save").addEventListener("click", saveConfig);
  $("btn-log-clear").addEventListener("click", () => $("log").replaceChildren());

  // ---------- start ----------
  (async () => {
    try { state.themes = await api("GET", "/themes"); shuffle(); } catch (e) { toast(e.message, true); }
    try {
      state.config = await api("GET", "/config");
      renderConfig(state.config);
      if (state.config.story && !$("language").value) $("language").placeholder = state.config.story.language || "English";
    } catch (e) { /* 401 shows the login banner */ }
    updateOverlayUrl();
    loadMemory(); loadVoters(); loadSessions();
    connect();
    // chat health changes between story transitions: refresh that card every 5 s
    setInterval(async () => {
      try { renderChat((await api("GET", "/status")).chat || []); } catch (e) { /* offline */ }
    }, 5000);
  })();
})();
