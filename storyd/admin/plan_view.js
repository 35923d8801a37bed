// The admin page's story plan (GET plan) as lines of text: protagonist, cast, places, central
// question, one beat per chapter (aired ones marked), the possible endings. Pure (no DOM):
// node --test tests/js/admin_plan.test.mjs.

/** {heading, lines: [{label, text, aired}], repairs} for a GET plan answer. */
export function planView(reply) {
  if (!reply || reply.session_id == null) return { heading: "no story is running", lines: [], repairs: "" };
  const plan = reply.plan;
  if (!plan && reply.authored) {
    return { heading: `session #${reply.session_id}: “${reply.authored}” is an authored story: its passages are its plan · ${reply.aired || 0} chapters aired`, lines: [], repairs: "" };
  }
  if (!plan) return { heading: `session #${reply.session_id}: the plan is being written…`, lines: [], repairs: "" };
  const aired = reply.aired || 0;
  const planned = reply.planned_chapters || 0;
  const hero = plan.protagonist || {};
  const lines = [
    { label: "premise", text: plan.premise || "" },
    { label: "protagonist", text: [hero.name, hero.want && `wants ${hero.want}`, hero.flaw && `flaw: ${hero.flaw}`].filter(Boolean).join(" · ") },
    ...(plan.cast || []).map((c) => ({ label: c.role || "cast", text: [c.name, c.trait, c.want && `wants ${c.want}`].filter(Boolean).join(" · ") })),
    { label: "places", text: (plan.places || []).map((p) => p.name).join(" · ") },
    { label: "question", text: plan.central_question || "" },
    ...(plan.beats || []).map((b) => ({ label: `${b.chapter}. ${b.kind}`, text: b.summary, aired: b.chapter <= aired })),
    ...(plan.endings || []).map((e) => ({ label: "ending", text: e })),
  ];
  const length = planned ? `${aired} of ${planned} chapters aired` : `${aired} chapters aired (open-ended)`;
  return { heading: `${plan.title} · ${length}${plan.source ? ` · planned by ${plan.source}` : ""}`, lines,
    repairs: (plan.repairs || []).join(" · ") };
}
