// Extwee (npm `extwee`, an independent Twee 3 parser) reads each file named on the command line
// and compiles it to a published Twine 2 story; prints one JSON array: per file, what Extwee
// read (title, IFID, start, passages with tags and text) and every warning it printed.
// Run by tests/test_stories_shipped.py; install with `npm ci --prefix tests/twine`.
import { readFileSync } from 'node:fs';
import { parseTwee } from 'extwee';

const results = [];
for (const file of process.argv.slice(2)) {
  const warnings = [];
  const saved = { warn: console.warn, info: console.info, log: console.log, error: console.error };
  console.warn = console.info = console.log = console.error = (...args) => {
    warnings.push(args.map(String).join(' '));
  };
  try {
    const story = parseTwee(readFileSync(file, 'utf8'));
    const html = story.toTwine2HTML();
    results.push({
      file, ok: true, name: story.name, ifid: story.IFID, start: story.start,
      format: story.format, formatVersion: story.formatVersion, htmlBytes: html.length,
      passages: story.passages.map((p) => ({ name: p.name, tags: p.tags, text: p.text })),
      warnings,
    });
  } catch (error) {
    results.push({ file, ok: false, error: String(error), warnings });
  } finally {
    Object.assign(console, saved);
  }
}
process.stdout.write(JSON.stringify(results));
