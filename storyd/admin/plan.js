// The admin page's story plan (GET plan): protagonist, cast, places, central question, one
// beat per chapter (aired ones marked) and the possible endings — written and stored before
// chapter 1 airs, so the operator reads it while chapter 1 is being written. `planView` is
// in plan_view.js (pure); `planElement` builds the DOM with textContent only, never HTML.
import { el } from "/admin/dom.js";
import { planView } from "/admin/plan_view.js";

/** The plan block for `reply` (see planView). */
export function planElement(reply) {
  const v = planView(reply);
  return el("div", { class: "plan" },
    el("div", { class: "title", text: v.heading }),
    el("dl", {}, ...v.lines.flatMap((l) => [
      el("dt", { class: l.aired ? "aired" : "", text: l.label }),
      el("dd", { class: l.aired ? "aired" : "", text: l.text })])),
    v.repairs ? el("div", { class: "muted", text: `completed by storyd: ${v.repairs}` }) : null);
}
