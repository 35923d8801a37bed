// "In this story: …" — the viewers the story has written in (cameos), shown as text only.
//
// The snapshot's `cameos` lists them (joined viewers whose name an aired chapter contains;
// one who leaves or is removed drops out at once). Names are viewer-chosen and untrusted:
// they are set with textContent, each in its own element with dir="auto" (an RTL name never
// reorders its neighbours), and at most MAX_SHOWN appear, the rest as "+N".

import { langCode } from "./i18n.js";

export const MAX_SHOWN = 3;
const LABEL = { en: "In this story:", de: "In dieser Geschichte:" };

/** What the roster shows for a snapshot: null when there is nothing to show. */
export function castModel(snap) {
  const names = (snap && Array.isArray(snap.cameos) ? snap.cameos : [])
    .filter((n) => typeof n === "string" && n.trim() !== "");
  if (!names.length || !snap.chapter || snap.state === "idle") return null;
  return {
    label: LABEL[langCode(snap.language)] || LABEL.en,
    names: names.slice(0, MAX_SHOWN),
    more: Math.max(names.length - MAX_SHOWN, 0),
  };
}

/** Paint the roster into `el` (a container element of the page). */
export function renderCast(el, snap) {
  const m = castModel(snap);
  el.hidden = m === null;
  const key = m === null ? "" : JSON.stringify(m);
  if (el.dataset.key === key) return;
  el.dataset.key = key;
  el.replaceChildren();
  if (m === null) return;
  const doc = el.ownerDocument;
  const label = doc.createElement("span");
  label.className = "cast-label";
  label.textContent = m.label;
  el.append(label);
  for (const name of m.names) {
    const item = doc.createElement("bdi");
    item.className = "cast-name";
    item.dir = "auto";
    item.textContent = name;
    el.append(item);
  }
  if (m.more) {
    const more = doc.createElement("span");
    more.className = "cast-more";
    more.textContent = `+${m.more}`;
    el.append(more);
  }
}
