// The cameo roster's view model (overlay/cast.js): what "In this story: …" shows.
import test from "node:test";
import assert from "node:assert/strict";
import { castModel, MAX_SHOWN } from "../../overlay/cast.js";

const chapter = { number: 2, title: "T", text: "x", sentences: ["x"], choices: [] };
const snap = (over = {}) => ({ state: "voting", language: "English", chapter, cameos: [], ...over });

test("cast: nothing without cameos, without a chapter, or when idle", () => {
  assert.equal(castModel(snap()), null);
  assert.equal(castModel(snap({ cameos: ["Ann"], chapter: null })), null);
  assert.equal(castModel(snap({ cameos: ["Ann"], state: "idle" })), null);
  assert.equal(castModel(null), null);
  assert.equal(castModel(snap({ cameos: "Ann" })), null);             // not a list
});

test("cast: label in the story language, names as given, the rest counted", () => {
  assert.deepEqual(castModel(snap({ cameos: ["Ann", "Bo"] })),
    { label: "In this story:", names: ["Ann", "Bo"], more: 0 });
  assert.equal(castModel(snap({ cameos: ["Ann"], language: "German" })).label, "In dieser Geschichte:");
  const many = Array.from({ length: MAX_SHOWN + 3 }, (_, i) => `V${i}`);
  const m = castModel(snap({ cameos: many }));
  assert.equal(m.names.length, MAX_SHOWN); assert.equal(m.more, 3);
  assert.deepEqual(castModel(snap({ cameos: ["<b>x</b>", "", 7, "Ann"] })).names, ["<b>x</b>", "Ann"]);
});
