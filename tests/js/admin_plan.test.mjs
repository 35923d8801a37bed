// The admin page's story plan view (admin/plan_view.js): `node --test tests/js/`.
import assert from "node:assert/strict";
import { test } from "node:test";

import { planView } from "../../admin/plan_view.js";

const PLAN = {
  title: "Ash and Tide", premise: "A ferrywoman crosses a burning sea.", source: "m",
  protagonist: { name: "Odile Marr", want: "bring her son home", flaw: "trusts nobody" },
  cast: [{ name: "Captain Grist", role: "antagonist", trait: "patient", want: "the ferry" }],
  places: [{ name: "Gull Rock", note: "" }, { name: "the Ember Sea", note: "burning" }],
  central_question: "Will Odile bring her son home?",
  beats: [{ chapter: 1, kind: "setup", summary: "She sets out." },
    { chapter: 2, kind: "resolution", summary: "She comes home." }],
  endings: ["Home.", "Lost."], repairs: ["overused name 'Elara' → 'Maud Fenner'"],
};

test("the plan reads as lines, aired beats marked, repairs named", () => {
  const v = planView({ session_id: 3, plan: PLAN, aired: 1, planned_chapters: 2 });
  assert.equal(v.heading, "Ash and Tide · 1 of 2 chapters aired · planned by m");
  assert.deepEqual(v.lines.find((l) => l.label === "protagonist").text,
    "Odile Marr · wants bring her son home · flaw: trusts nobody");
  assert.deepEqual(v.lines.filter((l) => l.aired).map((l) => l.text), ["She sets out."]);
  assert.equal(v.lines.find((l) => l.label === "question").text, "Will Odile bring her son home?");
  assert.equal(v.lines.find((l) => l.label === "places").text, "Gull Rock · the Ember Sea");
  assert.match(v.repairs, /Elara/);
});

test("no story, and a plan still being written", () => {
  assert.equal(planView({ session_id: null, plan: null }).heading, "no story is running");
  assert.match(planView({ session_id: 4, plan: null }).heading, /being written/);
});

test("an authored story: its passages are its plan, nothing is being written", () => {
  const v = planView({ session_id: 5, plan: null, aired: 3, authored: "Dead Air" });
  assert.equal(v.heading, "session #5: “Dead Air” is an authored story: its passages are its plan · 3 chapters aired");
  assert.deepEqual(v.lines, []);
});
