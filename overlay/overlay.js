// storyd overlay (OBS browser source). Plain JS, no build, no CDN.
//
// Theory of operation: the server is the truth. Every `story:state` is a full snapshot and
// render() redraws everything from it, so a reconnect or a lost event heals by itself.
// Small events (vote-update, narration, image-updated) patch the current view between
// snapshots. Every story or viewer string goes through textContent, never innerHTML.
// The socket reconnects with capped, jittered backoff and sends a ping every 10 s; if no
// message arrives for 25 s the socket is presumed dead and replaced.
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);
  const params = new URLSearchParams(location.search);
  const BASES = { landscape: [1920, 1080], portrait: [1080, 1920] };
  const SIZES = ["1280x720", "1920x1080", "2560x1440", "3840x2160", "720x1280", "1080x1920"];
  const API = "/api/interactive-story";

  const view = {
    snap: null, offset: 0, counts: [], voters: 0, roundId: null,
    chapterKey: null, shown: 0, revealTimer: null, fresh: true, titleTimer: null,
    lastMessage: Date.now(), audioOn: params.get("audio") !== "0", starts: {},
  };

  // ---------- layout and style ----------
  function layoutOf(overlay) {
    const q = params.get("layout");
    const layout = q === "portrait" || q === "landscape" ? q : (overlay.layout || "landscape");
    const size = SIZES.includes(params.get("size")) ? params.get("size") : (overlay.size || "");
    return { layout, size };
  }

  function applyOverlay(overlay) {
    const { layout } = layoutOf(overlay);
    const stage = $("stage");
    stage.classList.toggle("portrait", layout === "portrait");
    stage.classList.toggle("landscape", layout !== "portrait");
    const root = document.documentElement.style;
    if (overlay.font) root.setProperty("--font", overlay.font);
    if (overlay.font_size) root.setProperty("--font-size", `${Number(overlay.font_size)}px`);
    if (overlay.text_color) root.setProperty("--text", overlay.text_color);
    if (overlay.accent) root.setProperty("--accent", overlay.accent);
    if (overlay.panel) root.setProperty("--panel", overlay.panel);
    fit();
  }

  function fit() {
    const portrait = $("stage").classList.contains("portrait");
    const [bw, bh] = BASES[portrait ? "portrait" : "landscape"];
    const scale = Math.min(window.innerWidth / bw, window.innerHeight / bh) || 1;
    document.documentElement.style.setProperty("--scale", String(scale));
  }
  window.addEventListener("resize", fit);

  // Shrink a box's font until its content fits (never below 55 %).
  function shrinkToFit(el) {
    el.style.fontSize = "";
    let pct = 100;
    while (el.scrollHeight > el.clientHeight + 1 && pct > 55) {
      pct -= 5;
      el.style.fontSize = `${pct}%`;
    }
  }

  // ---------- helpers ----------
  const show = (el, on) => { el.hidden = !on; };
  const text = (el, s) => { el.textContent = s == null ? "" : String(s); };
  const now = () => Date.now() + view.offset;
  const safeUrl = (u) => (typeof u === "string" && u.startsWith("/") && !u.startsWith("//") ? u : null);
  const words = (s) => String(s).split(/\s+/).filter(Boolean).length;

  function setImage(url) {
    const img = $("image");
    const safe = safeUrl(url);
    const frame = $("picture");
    if (!safe) {
      img.removeAttribute("src"); img.dataset.empty = ""; frame.classList.add("empty");
      return;
    }
    if (img.getAttribute("src") !== safe) {
      frame.classList.add("empty");                          // placeholder until it arrives
      img.onload = () => { frame.classList.remove("empty"); delete img.dataset.empty; };
      img.onerror = () => { frame.classList.add("empty"); img.dataset.empty = ""; };
      img.src = safe;
    }
    delete img.dataset.empty;
  }

  function card(kind, kicker, title, sub, progress) {
    const c = $("card");
    c.className = `card panel ${kind}`;
    text($("card-kicker"), kicker);
    text($("card-title"), title);
    text($("card-sub"), sub);
    show($("card-spinner"), kind === "generating");
    show($("card-progress"), progress != null);
    if (progress != null) $("card-progress-fill").style.width = `${Math.round(progress * 100)}%`;
    show(c, true);
  }

  // ---------- chapter text and reveal ----------
  function buildText(ch) {
    const p = $("chapter-text");
    p.replaceChildren();
    const sentences = ch.sentences && ch.sentences.length ? ch.sentences : [ch.text || ""];
    sentences.forEach((s, i) => {
      const span = document.createElement("span");
      span.className = "s";
      span.textContent = (i ? " " : "") + s;
      p.appendChild(span);
    });
    text($("chapter-kicker"), ch.closing ? "Final chapter" : `Chapter ${ch.number}`);
    text($("chapter-title"), ch.title);
    view.shown = 0;
  }

  function revealUpTo(n) {
    const spans = $("chapter-text").children;
    view.shown = Math.max(view.shown, Math.min(n, spans.length));
    for (let i = 0; i < spans.length; i++) spans[i].classList.toggle("shown", i < view.shown);
    shrinkToFit($("text-panel"));
  }
  const revealAll = () => { clearTimeout(view.revealTimer); revealUpTo(Infinity); };

  function startReveal(ch, overlay) {
    clearTimeout(view.revealTimer);
    const wps = Number(overlay.reveal_words_per_second || 0);
    if (overlay.reveal === "full" || wps <= 0) { revealAll(); return; }
    const hasAudio = view.audioOn && (ch.audio_urls || []).some(Boolean);
    const sentences = ch.sentences || [];
    const step = () => {
      if (view.shown >= sentences.length) return;
      revealUpTo(view.shown + 1);
      const next = sentences[view.shown];
      // with narration the server paces the reveal; the timer is only a safety net
      const secs = next ? words(next) / wps + (hasAudio ? 4 : 0) : 0;
      if (next) view.revealTimer = setTimeout(step, secs * 1000);
    };
    if (hasAudio) view.revealTimer = setTimeout(step, (words(sentences[0] || "") / wps + 4) * 1000);
    else step();
  }

  function narrate(data) {
    if (!view.snap || !view.snap.chapter || data.chapter !== view.snap.chapter.number) return;
    const reveal = () => {
      if (data.kind !== "choices") {
        revealUpTo(Number(data.index) + 1);
        clearTimeout(view.revealTimer);
      }
    };
    const url = safeUrl(data.audio_url);
    if (!view.audioOn || !url) { reveal(); return; }
    const audio = $("narration");
    audio.onplay = reveal;
    audio.src = url;
    audio.play().catch(reveal);     // autoplay refused: keep the text moving anyway
  }

  // ---------- votes ----------
  function buildChoices(choices) {
    const list = $("choices");
    list.replaceChildren();
    for (const c of choices) {
      const li = document.createElement("li");
      li.className = "choice";
      li.dataset.key = c.key;
      const bar = document.createElement("div"); bar.className = "bar";
      const badge = document.createElement("div"); badge.className = "badge";
      badge.textContent = c.key;
      const t = document.createElement("div"); t.className = "text"; t.textContent = c.text;
      const num = document.createElement("div"); num.className = "num";
      li.append(bar, badge, t, num);
      list.appendChild(li);
    }
    const keys = choices.map((c) => `!${c.key}`);
    text($("vote-how"), keys.length ? `type ${keys.join(" / ")} in chat` : "");
  }

  function paintCounts() {
    const counts = view.counts;
    const total = counts.reduce((a, b) => a + b, 0);
    const items = $("choices").children;
    for (let i = 0; i < items.length; i++) {
      const n = counts[i] || 0;
      const pct = total ? Math.round((n / total) * 100) : 0;
      items[i].querySelector(".bar").style.width = `${pct}%`;
      const num = items[i].querySelector(".num");
      num.textContent = String(n);
      const p = document.createElement("span"); p.className = "pct"; p.textContent = `${pct}%`;
      num.appendChild(p);
    }
    const showVoters = !view.snap || !view.snap.overlay || view.snap.overlay.show_voters !== false;
    text($("vote-voters"), showVoters ? `${view.voters} ${view.voters === 1 ? "voter" : "voters"}` : "");
  }

  // When did the countdown with this deadline start? The snapshot's VotingView has only
  // `ends_at`; `duration_ms` is used when the server sends it. Otherwise the moment
  // `story:voting-started` arrived (server-clock corrected) is the start; it is kept in
  // sessionStorage so a reloaded overlay (OBS "refresh when active") still drains the bar
  // from the right width. A mid-round first visit starts the bar full.
  const roundKey = (roundId, endsAt) => `storyd:round:${roundId}:${endsAt}`;
  function rememberStart(key, start) {
    view.starts[key] = start;
    try { sessionStorage.setItem(key, String(start)); } catch { /* private mode: memory only */ }
  }
  function roundStartOf(v) {
    if (typeof v.duration_ms === "number" && v.duration_ms > 0) return v.ends_at - v.duration_ms;
    const key = roundKey(v.round_id, v.ends_at);
    let start = view.starts[key];
    if (!start) { try { start = Number(sessionStorage.getItem(key)) || null; } catch { start = null; } }
    if (!start) { start = now(); rememberStart(key, start); }
    return start;
  }

  function tick() {
    const v = view.snap && view.snap.voting;
    const panel = $("vote-panel");
    if (!v || !v.open || !v.ends_at) return;
    const left = Math.max(0, v.ends_at - now());
    const secs = Math.ceil(left / 1000);
    text($("countdown-num"), secs >= 60 ? `${Math.floor(secs / 60)}:${String(secs % 60).padStart(2, "0")}` : String(secs));
    const total = Math.max(1000, v.ends_at - (view.roundStart || now()));
    $("countdown-fill").style.width = `${Math.min(100, (left / total) * 100)}%`;
    panel.classList.toggle("urgent", secs <= 10);
  }
  setInterval(tick, 250);

  const TIE = { random: "Tie — decided by a random draw", first: "Tie — the first choice wins",
                extend: "Tie — the vote was extended", forced: "Choice picked by the host" };

  function paintResult(v) {
    const items = $("choices").children;
    for (let i = 0; i < items.length; i++) items[i].classList.toggle("winner", i === v.winner);
    const res = $("vote-result");
    const note = v.winner == null ? "" : (TIE[v.tie_break] || (v.early ? "Clear lead — vote closed early" : ""));
    text(res, note);
    show(res, Boolean(note));
  }

  // ---------- the whole view ----------
  function render(snap) {
    const prev = view.snap;
    view.snap = snap;
    view.offset = snap.server_time_ms - Date.now();
    const overlay = snap.overlay || {};
    applyOverlay(overlay);
    const st = snap.state;
    const ch = snap.chapter;
    $("stage").dataset.state = st;
    show($("card"), false);

    // picture and chapter
    show($("picture"), Boolean(ch));
    setImage(ch && ch.image_url);
    if (ch) {
      const key = `${snap.session_id}:${ch.number}`;
      if (key !== view.chapterKey) {
        view.chapterKey = key;
        buildText(ch);
        if (!view.fresh && st === "presenting") {
          startReveal(ch, overlay);
          showTitleCard(ch);
        } else if (st === "presenting" && snap.narration && snap.narration.chapter === ch.number) {
          revealUpTo(Number(snap.narration.index) + 1);   // joined mid-chapter: catch up only
        } else revealAll();
      }
      if (st !== "presenting") revealAll();
    } else view.chapterKey = null;
    show($("text-panel"), Boolean(ch) && st !== "idle");
    if (ch && st !== "idle") shrinkToFit($("text-panel"));   // measurable only once shown

    // votes
    const v = snap.voting;
    const panel = $("vote-panel");
    const showVotes = st === "voting" || st === "result" || (st === "generating" && v && v.winner != null);
    if (v && ch && showVotes) {
      if (!prev || !prev.voting || prev.voting.round_id !== v.round_id || $("choices").children.length !== v.choices.length) {
        buildChoices(v.choices);
      }
      if (view.roundId !== v.round_id || view.endsAt !== v.ends_at) {
        view.roundStart = roundStartOf(v);
        view.endsAt = v.ends_at;
      }
      view.counts = v.counts.slice();
      view.voters = v.voters;
      view.roundId = v.round_id;
      text($("vote-call"), v.open ? "What happens next?" : "The audience decided");
      panel.classList.toggle("closed", !v.open);
      panel.classList.remove("urgent");
      paintCounts();
      paintResult(v);
      show(panel, true);
      tick();
    } else show(panel, false);

    // cards
    if (snap.notice) card("notice", "", "The story continues in a moment…", "", null);
    else if (st === "idle") card("waiting", snap.theme_name || "", "A new story begins soon", "Vote in chat to decide what happens", null);
    else if (st === "generating" || st === "finishing") {
      const g = snap.generating || {};
      const n = g.chapter || (snap.chapter_number || 0) + 1;
      const p = typeof g.progress === "number" ? Math.max(0, Math.min(1, g.progress)) : null;
      card("generating", snap.theme_name || "", st === "finishing" ? "Writing the final chapter…" : `Writing chapter ${n}…`, snap.title || "", p);
    } else if (st === "ended") card("end", snap.theme_name || "", "The End", "Thanks for playing along!", null);
    view.fresh = false;
  }

  function showTitleCard(ch) {
    clearTimeout(view.titleTimer);
    text($("title-chapter"), ch.closing ? "Final chapter" : `Chapter ${ch.number}`);
    text($("title-text"), ch.title);
    show($("title-card"), true);
    view.titleTimer = setTimeout(() => show($("title-card"), false), 4000);
  }

  function onEvent(msg) {
    const d = msg.data || {};
    switch (msg.event) {
      case "story:state": render(d); break;
      case "story:vote-update":
        if (d.round_id == null || d.round_id === view.roundId) {
          view.counts = (d.counts || []).slice();
          view.voters = d.voters || 0;
          paintCounts();
        }
        break;
      case "story:voting-started":
        if (d.round_id != null && d.ends_at) {
          const start = typeof d.duration_ms === "number" ? d.ends_at - d.duration_ms : now();
          rememberStart(roundKey(d.round_id, d.ends_at), start);
        }
        break;
      case "story:narration": narrate(d); break;
      case "story:image-updated": setImage(d.image_url); break;
      case "story:chapter-ready": break;   // the state that follows starts the reveal
      default: break;
    }
  }

  // ---------- connection ----------
  let ws = null, backoff = 500, downSince = null;
  function connect() {
    const proto = location.protocol === "https:" ? "wss:" : "ws:";
    const sock = new WebSocket(`${proto}//${location.host}/ws/overlay`);
    ws = sock;
    sock.onopen = () => { view.lastMessage = Date.now(); };
    sock.onmessage = (e) => {
      view.lastMessage = Date.now();
      let msg;
      try { msg = JSON.parse(e.data); } catch { return; }
      if (msg.event === "story:state") { backoff = 500; downSince = null; show($("conn"), false); }
      try { onEvent(msg); } catch (err) { console.error("overlay render failed", err); }
    };
    sock.onclose = () => {
      if (ws !== sock) return;
      ws = null;
      downSince = downSince || Date.now();
      view.fresh = true;   // the next snapshot resyncs without replaying reveals
      const wait = backoff * (0.75 + Math.random() * 0.5);
      backoff = Math.min(backoff * 2, 15000);
      setTimeout(connect, wait);
    };
  }
  setInterval(() => {
    if (downSince && Date.now() - downSince > 3000) show($("conn"), true);
    if (!ws || ws.readyState !== WebSocket.OPEN) return;
    if (Date.now() - view.lastMessage > 25000) { ws.close(); return; }
    ws.send(JSON.stringify({ event: "ping" }));
  }, 10000);

  // First paint from the URL alone, so OBS never shows a blank frame while connecting.
  applyOverlay({});
  card("waiting", "", "Connecting to the story…", "", null);
  fetch(`${API}/status`).then((r) => (r.ok ? r.json() : null)).then((s) => { if (s && !view.snap) render(s); }).catch(() => {});
  connect();
})();
