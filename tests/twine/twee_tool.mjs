// Test helper: Extwee (a real Twee 3 parser and Twine 2 compiler) over storyd's Twee export.
//   node twee_tool.mjs parse STORY.twee            -> JSON: the story as Extwee reads it
//   node twee_tool.mjs compile STORY.twee FORMAT.js OUT.html
//                                                  -> Twine 2 HTML with that story format,
//                                                     read back with Extwee's HTML parser
import { readFileSync, writeFileSync } from "node:fs";
import { parseTwee, parseStoryFormat, compileTwine2HTML, parseTwine2HTML } from "extwee";

const [, , cmd, file, formatFile, out] = process.argv;
const story = parseTwee(readFileSync(file, "utf8"));
const view = (s) => ({
  name: s.name, ifid: s.IFID, format: s.format, formatVersion: s.formatVersion, start: s.start,
  passages: s.passages.map((p) => ({ name: p.name, tags: p.tags, text: p.text })),
});

if (cmd === "parse") {
  process.stdout.write(JSON.stringify(view(story)));
} else if (cmd === "compile") {
  const format = parseStoryFormat(readFileSync(formatFile, "utf8"));
  story.format = format.name;
  story.formatVersion = format.version;
  const html = compileTwine2HTML(story, format);
  writeFileSync(out, html);
  const back = parseTwine2HTML(html);
  process.stdout.write(JSON.stringify(view(back.story || back)));
} else {
  process.stderr.write("usage: parse FILE | compile FILE FORMAT.js OUT.html\n");
  process.exit(2);
}
