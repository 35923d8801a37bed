// The admin page after the show: a stored session's recap (the branch map as the shareable
// picture, both sizes to download) and its YouTube chapter list, from the story's start or
// from the stream's start the operator picks. Text only (textContent), never HTML.
import { el } from "/admin/dom.js";

/** The after-show block of session `id`; `api(method, path)` calls the admin API. */
export function afterShow(id, api, API) {
  const png = (size) => `${API}/sessions/${id}/recap.png?size=${size}`;
  const picture = el("img", { class: "recap", src: png("1920x1080"), alt: "the story's recap: its path as a branch map", loading: "lazy" });
  const links = el("div", { class: "row" },
    el("a", { href: png("1080x1920"), target: "_blank", rel: "noopener", text: "recap PNG 1080x1920" }),
    el("a", { href: png("1920x1080"), target: "_blank", rel: "noopener", text: "recap PNG 1920x1080" }));
  const since = el("input", { type: "datetime-local", step: "1", "aria-label": "stream start" });
  const list = el("pre", { class: "chapters" });
  const notes = el("div", { class: "muted" });
  const load = async () => {
    const t = since.value ? new Date(since.value).getTime() / 1000 : null;
    try {
      const r = await api("GET", `/sessions/${id}/chapters${t ? `?since=${t}` : ""}`);
      list.textContent = r.text || "(no chapter has aired)";
      notes.textContent = (r.notes || []).join(" · ");
    } catch (e) { list.textContent = ""; notes.textContent = e.message; }
  };
  since.addEventListener("change", load);
  load();
  return el("div", { class: "after-show" },
    el("h4", { text: "Recap" }), picture, links,
    el("h4", { text: "YouTube chapters" }),
    el("label", { class: "row" }, el("span", { text: "from the stream's start (empty: the story's start)" }), since),
    list, notes);
}
