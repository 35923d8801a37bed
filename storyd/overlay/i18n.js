// The overlay's UI strings by language (ES module, pure data plus two lookups).
//
// A story's language arrives as the snapshot's `language` ("English", "German", "de", …).
// `langCode` maps it to a table key; `strings(code)` gives that table with English filling
// any key a table lacks, so a partial new language never shows a blank. To add a language:
// add a table below (every key of `en`) and its names to NAMES.

const en = {
  next: "What happens next?",
  decided: "The audience decided",
  cta: (first, last) => `Type ${first} – ${last} in chat`,
  num: (n) => Number(n).toLocaleString("en"),
  voters: (n) => `${Number(n).toLocaleString("en")} ${n === 1 ? "voter" : "voters"}`,
  wins: (key) => `${key} wins!`,
  comingUp: "Get ready to vote",
  tie_random: "Tie — decided by a random draw",
  tie_first: "Tie — the first choice wins",
  tie_extend: "Tie — the vote was extended",
  tie_forced: "Picked by the host",
  tied: (keys) => `Tie between ${keys}`,
  early: "decided! A clear lead closed the vote early",
  extended: "Tie — extra time!",
  chapter: (n) => `Chapter ${n}`,
  finalChapter: "Final chapter",
  waiting: "A new story begins soon",
  waitingSub: "Vote in chat to decide what happens",
  writing: (n) => `Writing chapter ${n}…`,
  writingFinal: "Writing the final chapter…",
  notice: "The story continues in a moment…",
  theEnd: "The End",
  thanks: "Thanks for playing along!",
  recap: "The story you told",
  starring: (names) => `Starring ${names}`,
  cameo: "cameo",
  topVoters: (list) => `Top voters: ${list}`,
  endings: { triumph: "A triumphant ending", bittersweet: "A bittersweet ending",
    tragedy: "A tragic ending", open: "An open ending" },
  chapters: (n) => `${Number(n).toLocaleString("en")} ${n === 1 ? "chapter" : "chapters"}`,
  connecting: "Connecting to the story…",
  reconnecting: "Reconnecting…",
};

const de = {
  next: "Wie geht es weiter?",
  decided: "Das Publikum hat entschieden",
  cta: (first, last) => `Tippt ${first} – ${last} in den Chat`,
  num: (n) => Number(n).toLocaleString("de"),
  voters: (n) => `${Number(n).toLocaleString("de")} ${n === 1 ? "Stimme" : "Stimmen"}`,
  wins: (key) => `${key} gewinnt!`,
  comingUp: "Gleich wird abgestimmt",
  tie_random: "Gleichstand — das Los hat entschieden",
  tie_first: "Gleichstand — die erste Wahl gewinnt",
  tie_extend: "Gleichstand — die Abstimmung wurde verlängert",
  tie_forced: "Vom Host gewählt",
  tied: (keys) => `Gleichstand zwischen ${keys}`,
  early: "entschieden! Klarer Vorsprung, früh beendet",
  extended: "Gleichstand — Nachspielzeit!",
  chapter: (n) => `Kapitel ${n}`,
  finalChapter: "Letztes Kapitel",
  waiting: "Gleich beginnt eine neue Geschichte",
  waitingSub: "Im Chat entscheidet ihr, wie es weitergeht",
  writing: (n) => `Kapitel ${n} wird geschrieben…`,
  writingFinal: "Das letzte Kapitel wird geschrieben…",
  notice: "Gleich geht es weiter…",
  theEnd: "Ende",
  thanks: "Danke fürs Mitspielen!",
  recap: "Eure Geschichte",
  starring: (names) => `Mit ${names}`,
  cameo: "Gastauftritt",
  topVoters: (list) => `Am fleißigsten abgestimmt: ${list}`,
  endings: { triumph: "Ein triumphales Ende", bittersweet: "Ein bittersüßes Ende",
    tragedy: "Ein tragisches Ende", open: "Ein offenes Ende" },
  chapters: (n) => `${Number(n).toLocaleString("de")} Kapitel`,
  connecting: "Verbinde mit der Geschichte…",
  reconnecting: "Verbindung wird wiederhergestellt…",
};

export const TABLES = { en, de };

// language names and codes (lower case) → table key
const NAMES = {
  en: "en", english: "en", englisch: "en",
  de: "de", german: "de", deutsch: "de",
};

/** "German" / "de-AT" / "Deutsch" → "de"; anything unknown → "en". */
export function langCode(language) {
  const s = String(language || "").trim().toLowerCase();
  if (NAMES[s]) return NAMES[s];
  const base = s.split(/[-_\s]/)[0];
  return NAMES[base] || "en";
}

// `<html lang>` tags for languages that have no table (yet): fonts and hyphenation still fit
const TAGS = {
  french: "fr", spanish: "es", italian: "it", dutch: "nl", polish: "pl", portuguese: "pt",
  turkish: "tr", japanese: "ja", chinese: "zh", arabic: "ar", hebrew: "he", russian: "ru",
};

/** The `<html lang>` value for a story language: a BCP 47 tag as given ("de-AT"), else
 *  the tag for a known language name, else the table key ("en"). */
export function htmlLang(language) {
  const s = String(language || "").trim();
  if (/^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$/.test(s)) return s;
  const lower = s.toLowerCase();
  return NAMES[lower] || TAGS[lower] || langCode(s);
}

export function strings(code) {
  return { ...en, ...(TABLES[code] || {}) };
}
