// Unit tests of the overlay's pure view models (node --test tests/js/).
import test from "node:test";
import assert from "node:assert/strict";
import * as V from "../../overlay/view.js";
import { strings, langCode, htmlLang, TABLES } from "../../overlay/i18n.js";
import { backoffMs } from "../../overlay/socket.js";

const en = strings("en");
const de = strings("de");
const long = (k) => `${k.toUpperCase()}: ${"follow the lantern bearer into the flooded crypt ".repeat(3)}`.slice(0, 110);
const choices = [..."abcdef"].map((key) => ({ key, text: long(key) }));
const voting = (over = {}) => ({ round_id: 3, choices, counts: [1, 5, 5, 0, 2, 0], voters: 13,
  ends_at: 100_000, duration_ms: 60_000, open: true, ...over });
const snap = (over = {}) => ({ state: "voting", server_time_ms: 50_000, session_id: 1, language: "English",
  chapter: { number: 2, title: "The Crypt", text: "x", sentences: ["One.", "Two."], choices },
  voting: voting(), overlay: {}, ...over });

test("countdown: seconds, minutes, fraction from duration_ms, urgency", () => {
  assert.deepEqual(V.countdown(voting(), 40_000), { visible: true, text: "1:00", fraction: 1, urgent: false });
  const c = V.countdown(voting(), 91_000);
  assert.equal(c.text, "9"); assert.ok(c.urgent); assert.ok(Math.abs(c.fraction - 0.15) < 1e-9);
  assert.equal(V.countdown(voting(), 99_001).text, "1");
});

test("countdown: never a stale 0 — hidden when disconnected, closed or long past the deadline", () => {
  assert.equal(V.countdown(voting(), 90_000, { conn: "down" }).visible, false);
  assert.equal(V.countdown(voting({ open: false }), 90_000).visible, false);
  assert.equal(V.countdown(voting(), 100_500).text, "0");          // the close is on its way
  assert.equal(V.countdown(voting(), 102_000).visible, false);     // it is not: stop showing 0
});

test("fields: the typed events' names (server_time_ms, duration_ms), never the old ones", () => {
  assert.equal(V.FIELDS.serverMs({ server_time_ms: 5 }), 5);
  assert.equal(V.FIELDS.serverMs({ server_time: 6 }), null);
  assert.equal(V.FIELDS.narrationMs({ duration_ms: 2500 }), 2500);
  assert.equal(V.FIELDS.narrationMs({ duration: 2.5 }), null);
  assert.equal(V.FIELDS.narrationMs({}), null);
  assert.equal(V.FIELDS.endsMs({ ends_at_ms: 30_000 }), null);
});

test("countdown from the round's ends_at, also without a duration", () => {
  const v = { round_id: 1, ends_at: 30_000, open: true };
  const c = V.countdown(v, 20_000, { startMs: 10_000 });
  assert.equal(c.text, "10"); assert.equal(c.fraction, 0.5);
});

test("bars: percentages, every leader tied at the top marked, nobody leads at zero", () => {
  assert.deepEqual(V.bars([1, 5, 5, 0]).map((b) => [b.pct, b.leader]),
    [[9, false], [45, true], [45, true], [0, false]]);
  assert.ok(V.bars([0, 0, 0]).every((b) => !b.leader && b.pct === 0));
  assert.equal(V.bars([2], 3).length, 3);
});

test("vote model: chips, call to action only while open, headline and tie-break after", () => {
  const open = V.voteModel(snap(), "open", en);
  assert.deepEqual(open.choices.map((c) => c.chip), ["!a", "!b", "!c", "!d", "!e", "!f"]);
  assert.equal(open.cta, "Type !a – !f in chat");
  assert.equal(open.headline, "What happens next?");
  assert.equal(open.voters, "13 voters");
  assert.ok(open.choices.every((c) => c.text.length === 110));   // never shortened
  const s = snap({ state: "result", voting: voting({ open: false, ends_at: null, winner: 1,
    tie_break: "random", tied: [1, 2] }) });
  const closed = V.voteModel(s, "closed", en);
  assert.equal(closed.cta, "");
  assert.equal(closed.headline, "B wins!");
  assert.equal(closed.note, "Tie between B / C — Tie — decided by a random draw");
  assert.deepEqual(closed.choices.map((c) => c.winner), [false, true, false, false, false, false]);
  assert.ok(closed.choices.every((c) => !c.leader));
  const german = V.voteModel(s, "closed", de);
  assert.equal(german.headline, "B gewinnt!");
  const early = snap({ state: "result", voting: voting({ open: false, ends_at: null, winner: 1,
    early: true }) });
  assert.equal(V.voteModel(early, "closed", en).note, "decided! A clear lead closed the vote early");
  assert.equal(V.voteModel(early, "closed", de).note, "entschieden! Klarer Vorsprung, früh beendet");
  assert.equal(V.voteModel(snap(), "open", de).voters, "13 Stimmen");
  const many = V.voteModel(snap({ voting: voting({ counts: [1234567, 1], voters: 1234568 }) }), "open", de);
  assert.equal(many.voters, "1.234.568 Stimmen");
  assert.equal(many.choices[0].countText, "1.234.567");
  assert.equal(V.voteModel(snap({ voting: voting({ counts: [1234567], voters: 1234567 }) }), "open", en).voters,
    "1,234,567 voters");
});

test("vote model: live counts from vote-update replace the snapshot's", () => {
  const m = V.voteModel(snap(), "open", en, { counts: [0, 0, 0, 0, 0, 4], voters: 1 });
  assert.deepEqual(m.choices.map((c) => c.leader), [false, false, false, false, false, true]);
  assert.equal(m.voters, "1 voter");
  assert.equal(V.voteModel(snap({ overlay: { show_voters: false } }), "open", en).voters, "");
});

test("vote phase: choices show while read out, before the vote opens", () => {
  const presenting = snap({ state: "presenting", voting: null });
  assert.equal(V.votePhase(presenting, 1), null);
  assert.equal(V.votePhase(presenting, 2), "preview");
  assert.equal(V.votePhase(snap(), -1), "open");
  assert.equal(V.votePhase(snap({ state: "idle", chapter: null }), 5), null);
  const preview = V.voteModel(presenting, "preview", en);
  assert.equal(preview.cta, ""); assert.equal(preview.voters, ""); assert.equal(preview.headline, "Get ready to vote");
});

test("cards: waiting, writing, the end, notice; in German", () => {
  assert.equal(V.cardModel(snap({ state: "idle" }), en).title, "A new story begins soon");
  assert.equal(V.cardModel(snap({ state: "generating", generating: { chapter: 3, progress: 2 } }), de).title,
    "Kapitel 3 wird geschrieben…");
  assert.equal(V.cardModel(snap({ state: "generating", generating: { chapter: 3, progress: 2 } }), en).progress, 1);
  assert.equal(V.cardModel(snap({ state: "ended" }), de).title, "Ende");
  assert.equal(V.cardModel(snap({ state: "generating", notice: "x" }), en).title, "The story continues in a moment…");
  // an operator notice (a full disk) while a vote runs never hides the story from viewers
  assert.equal(V.cardModel(snap({ notice: "the disk is full" }), en), null);
  assert.equal(V.cardModel(snap(), en), null);
  // the server says when a chapter has taken long enough to show "writing…"
  assert.equal(V.cardModel(snap({ state: "generating", generating: { chapter: 3, waiting: false } }), en), null);
  assert.equal(V.cardModel(snap({ state: "generating", generating: { chapter: 3, waiting: true } }), en).kind, "generating");
  assert.equal(V.cardModel(null, en).title, "Connecting to the story…");
});

test("card gate: shows for at least 1.5 s or not at all", () => {
  let g = V.cardGate({}, true, 0);
  assert.equal(g.visible, false); assert.equal(g.recheckMs, V.CARD_DELAY_MS);
  assert.equal(V.cardGate(g.gate, false, 300).visible, false);     // a 0.3 s flash never shows
  g = V.cardGate(g.gate, true, 400);
  assert.equal(g.visible, true);
  const after = V.cardGate(g.gate, false, 500);
  assert.equal(after.visible, true); assert.equal(after.recheckMs, 1400);
  assert.equal(V.cardGate(after.gate, false, 1900).visible, false);
});

test("caption pieces: long sentences split, every word kept, unbroken scripts too", () => {
  const words = Array.from({ length: 100 }, (_, i) => `w${i}`).join(" ");
  const pieces = V.captionPieces(["Short one.", words, "x".repeat(600)], 40, 260);
  assert.equal(pieces[0].text, "Short one.");
  const mid = pieces.filter((p) => p.sentence === 1);
  assert.ok(mid.every((p) => p.text.split(" ").length <= 40));
  assert.equal(mid.map((p) => p.text).join(" "), words);
  const cjk = pieces.filter((p) => p.sentence === 2);
  assert.ok(cjk.every((p) => p.text.length <= 260));
  assert.equal(cjk.map((p) => p.text).join(""), "x".repeat(600));
  assert.deepEqual(V.piecesOf(pieces, 1), [1, mid.length]);
  assert.equal(V.piecesOf(pieces, 9), null);
});

test("caption pieces of one sentence are about equal, never a lone short tail", () => {
  // a real model's 45-word sentence: 40 + 5 left "names nobody dares to answer." alone on screen
  const long = "It is late when Ayşe finally finds a cracked silver key, wrapped in oilcloth and "
    + "hidden under the floorboards of the Glass Market of Üsküdar, exactly where the letter said "
    + "it would be, and somewhere below, the water whispers old names nobody dares to answer.";
  const pieces = V.captionPieces([long], 40, 260);
  assert.equal(pieces.length, 2);
  assert.equal(pieces.map((p) => p.text).join(" "), long);
  const sizes = pieces.map((p) => p.text.split(" ").length);
  assert.ok(Math.min(...sizes) >= 15, `balanced: ${sizes}`);
  assert.match(pieces[0].text, /[,]$/);                     // ends at a comma near the middle
  // 100 plain words: three pieces of 33–34, none over the limit
  const words = Array.from({ length: 100 }, (_, i) => `w${i}`);
  const three = V.captionPieces([words.join(" ")], 40, 260).map((p) => p.text.split(" ").length);
  assert.deepEqual(three.length, 3);
  assert.ok(three.every((n) => n >= 30 && n <= 40), `${three}`);
  // by characters too: 70 long words (> 260 characters) split evenly
  const wide = Array.from({ length: 30 }, () => "lighthouse").join(" ");
  const byChars = V.captionPieces([wide], 40, 260).map((p) => p.text.length);
  assert.ok(byChars.every((n) => n <= 260) && Math.min(...byChars) >= 100, `${byChars}`);
});

test("caption start: earlier pieces give way so the current one is fully visible", () => {
  const fitsThree = (a, b) => b - a < 3;
  assert.equal(V.captionStart(0, 1, fitsThree), 0);
  assert.equal(V.captionStart(0, 5, fitsThree), 3);
  assert.equal(V.captionStart(4, 5, fitsThree), 4);       // kept while it fits
  assert.equal(V.captionStart(9, 2, fitsThree), 0);       // a resync never starts past current
  assert.equal(V.captionStart(0, 4, () => false), 4);     // only the current one fits
  assert.deepEqual(V.pieceOffsets(["a b", "c d e f", "g g"], 8000), [0, 2000, 6000]);
});

test("settings: URL first, then [overlay], then defaults; unknown values ignored", () => {
  const q = new URLSearchParams("style=storybook&layout=portrait&size=1x1");
  assert.deepEqual(V.settingsOf(q, { style: "lowerthird", size: "1280x720" }),
    { layout: "portrait", style: "storybook", size: "1280x720" });
  assert.deepEqual(V.settingsOf(new URLSearchParams("style=evil"), { style: "lowerthird" }),
    { layout: "landscape", style: "lowerthird", size: "" });
  assert.equal(V.settingsOf(new URLSearchParams(""), {}).style, "panels");
});

test("layout: without ?layout= (config \"auto\") the aspect ratio decides; ?layout= forces", () => {
  const none = new URLSearchParams("");
  assert.equal(V.settingsOf(none, { layout: "auto" }, 1080 / 1920).layout, "portrait");
  assert.equal(V.settingsOf(none, { layout: "auto" }, 1920 / 1080).layout, "landscape");
  assert.equal(V.settingsOf(none, {}, 720 / 1280).layout, "portrait");
  assert.equal(V.settingsOf(none, {}, 1).layout, "landscape");          // square: landscape
  assert.equal(V.settingsOf(new URLSearchParams("layout=landscape"), {}, 0.5).layout, "landscape");
  assert.equal(V.settingsOf(new URLSearchParams("layout=portrait"), {}, 2).layout, "portrait");
  assert.equal(V.settingsOf(none, { layout: "portrait" }, 2).layout, "portrait"); // config forces
});

test("language: names and codes, German complete, English fills gaps, <html lang>", () => {
  assert.equal(langCode("German"), "de"); assert.equal(langCode("de-AT"), "de");
  assert.equal(langCode("Klingon"), "en"); assert.equal(langCode(undefined), "en");
  assert.deepEqual(Object.keys(TABLES.de).sort(), Object.keys(TABLES.en).sort());
  for (const [k, v] of Object.entries(strings("de"))) {
    if (typeof v === "string") assert.ok(v.length, k);
  }
  assert.equal(htmlLang("German"), "de"); assert.equal(htmlLang("French"), "fr");
  assert.equal(htmlLang("pt-BR"), "pt-BR"); assert.equal(htmlLang(""), "en");
  assert.equal(V.stringsFor({ language: "Deutsch" }).theEnd, "Ende");
});

test("socket backoff: doubles from 250 ms, capped at 2 s on localhost, 5 s elsewhere", () => {
  assert.deepEqual([0, 1, 2, 3, 4, 10].map((n) => backoffMs(n, "127.0.0.1:8080")), [250, 500, 1000, 2000, 2000, 2000]);
  assert.equal(backoffMs(10, "localhost"), 2000);
  assert.equal(backoffMs(10, "[::1]:8080"), 2000);
  assert.equal(backoffMs(10, "obs.lan:8080"), 5000);
});

test("urls: only same-origin paths become image or audio sources", () => {
  assert.equal(V.safeUrl("/media/a.png"), "/media/a.png");
  for (const bad of ["//evil/x", "javascript:alert(1)", "http://x/y", null, 3]) assert.equal(V.safeUrl(bad), null);
});

test("streaming: the winner's text so far is shown as it arrives, instead of the card", () => {
  const g = { what: "chapter", chapter: 3, waiting: true, preview: "The gate opened. “Run!” she said." };
  const s = snap({ state: "generating", chapter_number: 2, generating: g, voting: null });
  const ch = V.streamingChapter(s);
  assert.equal(ch.number, 3);
  assert.deepEqual(ch.sentences, ["The gate opened.", "“Run!” she said."]);
  assert.equal(V.cardModel(s, en), null);            // no "writing…" card over the text
  // nothing streamed yet: the calm card, no text
  const waiting = snap({ state: "generating", generating: { chapter: 3, waiting: true }, voting: null });
  assert.equal(V.streamingChapter(waiting), null);
  assert.equal(V.cardModel(waiting, en).kind, "generating");
  // once the chapter airs, the real chapter is shown (no preview outside generating)
  assert.equal(V.streamingChapter(snap({ state: "presenting", generating: g })), null);
});

test("recap: shown after the end for recap_seconds, then gone; 0 turns it off", () => {
  const t = V.stringsFor({ language: "English" });
  const recap = { title: "The Gate — Fantasy story", logline: "Mira crossed.", theme_name: "Fantasy",
    ended_at_ms: 1000, cast: [{ name: "Mira" }, { name: "amy", cameo: true }],
    voters: [{ name: "Amy", ballots: 5, wins: 3 }],
    nodes: [{ number: 1, chosen: 1, choices: 3, share: 0.625, written: [0] },
      { number: 2, chosen: null, choices: 0, share: null, closing: true }] };
  const snap = { state: "ended", recap, overlay: { recap_seconds: 12 } };
  const m = V.recapModel(snap, 5000, t);
  assert.equal(m.title, recap.title);
  assert.equal(m.cast, "Starring Mira, amy (cameo)");
  assert.equal(m.voters, "Top voters: Amy 5");
  assert.deepEqual(m.nodes.map((n) => n.label), ["B 63%", ""]);
  assert.equal(m.until, 13000);
  assert.equal(V.recapModel(snap, 13000, t), null);                        // time is up
  assert.equal(V.recapModel({ ...snap, overlay: { recap_seconds: 0 } }, 5000, t), null);
  assert.equal(V.recapModel({ ...snap, state: "idle" }, 5000, t), null);
  assert.notEqual(V.recapModel({ ...snap, overlay: {} }, 5000, t), null);  // default 12 s
  // German: who voted most, said as a German streamer would ("die fleißigsten Stimmen" read
  // as "the most hard-working voices")
  const g = V.recapModel({ ...snap, language: "Deutsch" }, 5000, V.stringsFor({ language: "Deutsch" }));
  assert.equal(g.voters, "Am fleißigsten abgestimmt: Amy 5");
  assert.equal(g.cast, "Mit Mira, amy (Gastauftritt)");
});

test("recap: a story without a cast (an authored one) says how it ended and names its chapters", () => {
  const t = V.stringsFor({ language: "English" });
  const recap = { title: "The Best Man's Trousers", logline: "Ned had one job.", theme_name: "Comedy",
    ending: "triumph", ended_at_ms: 1000, cast: [], voters: [],
    nodes: [{ number: 1, title: "The Fitting", chosen: 0, choices: 3, share: 0.5, written: [] },
      { number: 2, title: "Confetti", chosen: null, choices: 0, share: null, closing: true }] };
  const m = V.recapModel({ state: "ended", recap, overlay: {} }, 2000, t);
  assert.equal(m.cast, "");
  assert.equal(m.ending, "A triumphant ending · 2 chapters");
  assert.deepEqual(m.nodes.map((n) => n.title), ["The Fitting", "Confetti"]);
  const g = V.recapModel({ state: "ended", recap: { ...recap, ending: "bittersweet" }, overlay: {} }, 2000,
    V.stringsFor({ language: "Deutsch" }));
  assert.equal(g.ending, "Ein bittersüßes Ende · 2 Kapitel");
  const unknown = V.recapModel({ state: "ended", recap: { ...recap, ending: "", nodes: recap.nodes.slice(1) },
    overlay: {} }, 2000, t);
  assert.equal(unknown.ending, "1 chapter");                      // no kind: the count alone
  for (const code of Object.keys(TABLES)) {                        // every kind, every language
    for (const kind of ["triumph", "bittersweet", "tragedy", "open"]) assert.ok(strings(code).endings[kind]);
  }
});

test("recap map: room for chapter titles under the nodes, or none at all", () => {
  // a six-chapter story, landscape and portrait: every node gets a title box of two or more
  // lines, inside the map box and clear of the next row's stubs
  for (const [w, h] of [[1744, 560], [904, 1300], [904, 700]]) {
    const L = V.titledMapLayout(6, w, h);
    assert.ok(L, `${w}x${h}: titles fit`);
    assert.ok(L.titles.width >= 150 && L.titles.height >= 2 * V.TITLE_LINE);
    const rows = Math.ceil(6 / L.perRow);
    for (const p of L.points) {
      assert.ok(p.x - L.titles.width / 2 >= 0 && p.x + L.titles.width / 2 <= w, "title inside, across");
      const bottom = p.y + L.titles.top + L.titles.height;
      assert.ok(bottom <= L.top + rows * L.dy + 0.01 && bottom <= h + 0.01, "title inside, down");
    }
    if (rows > 1) {          // a title ends above the stubs of the node below it
      const below = L.points[L.perRow];
      assert.ok(L.points[0].y + L.titles.top + L.titles.height <= below.y - 1.5 * L.r);
    }
  }
  assert.equal(V.titledMapLayout(40, 1744, 300), null);      // forty chapters: numbers only
  assert.equal(V.titledMapLayout(6, 600, 140), null);        // a squeezed box: no titles
  assert.equal(V.titledMapLayout(0, 1744, 560), null);
});

test("recap map: forty chapters fit the box, rows snake, nodes and labels inside", () => {
  for (const [w, h] of [[1760, 300], [920, 700], [600, 140]]) {
    const L = V.mapLayout(40, w, h);
    assert.equal(L.points.length, 40);
    const bottom = L.top + Math.ceil(40 / L.perRow) * L.dy + 0.01;
    for (const p of L.points) {
      assert.ok(p.x - L.r >= 0 && p.x + L.r <= w, `x inside ${w}`);
      assert.ok(p.y - 1.5 * L.r >= L.top && p.y + L.r <= bottom && bottom <= h + 0.01);
      if (L.labels) assert.ok(p.y + L.r + 30 <= bottom);
    }
    assert.ok(L.labels === (w >= 900), `${w}x${h}: shares shown only where they fit`);
    assert.ok(Math.ceil(40 / L.perRow) * L.dy <= h + 0.01);
    if (L.perRow < 40) assert.ok(L.points[L.perRow].x > L.points[L.perRow + 1].x);  // back
  }
  assert.deepEqual(V.mapLayout(0, 100, 100).points, []);
  // eight chapters in a tall box (a portrait recap) sit in its middle, not in a band on top
  // of an empty card
  const tall = V.mapLayout(8, 940, 900);
  const mid = tall.points.reduce((a, p) => a + p.y, 0) / 8;
  assert.ok(Math.abs(mid - 450) < 60, `map centred: ${mid}`);
});
