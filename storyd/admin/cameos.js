// The admin page's cameo card: who joined the story on air, and the operator's remove.
//
// The snapshot's `audience` (counters, names offered to the next chapter) refreshes the
// summary; the list comes from GET cameos (viewer ids are admin-only) whenever those counters
// change, and on Refresh. "Remove" takes a viewer out of every later chapter (POST
// cameo/remove); it asks first. Names are viewer-chosen: set with textContent only.
import { el } from "/admin/dom.js";
import { audienceSummary } from "/admin/view.js";

export function cameoCard({ api, toast, $ }) {
  let key = null;
  async function load() {
    try {
      const rows = await api("GET", "/cameos");
      $("cameos").tBodies[0].replaceChildren(...rows.map((r) => el("tr", {},
        el("td", { text: r.name, dir: "auto" }),
        el("td", { class: "muted", text: r.status }),
        el("td", { text: (r.chapters || []).join(", ") || "–" }),
        el("td", {}, r.status === "removed" ? null : el("button", {
          type: "button", class: "ghost small", text: "Remove",
          onclick: () => remove(r.name),
        })))));
    } catch { /* not logged in */ }
  }
  async function remove(name) {
    if (!confirm(`Take "${name}" out of every later chapter?`)) return;
    try {
      const r = await api("POST", "/cameo/remove", { name });
      toast(`removed: ${(r.removed || []).join(", ")}`);
    } catch (e) { toast(e.message, true); }
    load();
  }
  function onSnapshot(s) {
    const a = s.audience || null;
    $("cameos-summary").textContent = audienceSummary(a, s.cameos);
    const now = JSON.stringify([s.session_id, a && [a.joined, a.leaves, a.removed], s.cameos]);
    if (now !== key) { key = now; load(); }
  }
  $("btn-cameos").addEventListener("click", load);
  return { load, onSnapshot };
}
