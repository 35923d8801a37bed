// The admin page's config form: one control per key, by the schema's type (GET config/schema):
// checkbox (bool), select (enum), checkboxes (multi), a list editor (list), number inputs, text
// and password (secret) inputs; the key's comment from storyd.toml as help below each field.
// Values are checked and turned into changes by view.js (changesFrom); the server validates
// them all again and answers per-field messages, shown next to the fields.
import { el } from "/admin/dom.js";
import { changesFrom, configFields, sections } from "/admin/view.js";

export function createConfigForm({ form, save, message, api, onSaved }) {
  let schema = null, config = null, fields = [];

  function listEditor(field) {
    const box = el("div", { class: "list-editor" });
    box.dataset.key = field.key;
    const items = el("div", { class: "list-items" });
    const add = (value) => {
      const input = el("input", { type: "text", "aria-label": `${field.key} item` });
      input.value = value;
      input.addEventListener("input", markChanged);
      items.append(el("div", { class: "list-item" }, input,
        el("button", { type: "button", class: "ghost small", text: "remove", "aria-label": "remove",
          onclick: (e) => { e.currentTarget.parentElement.remove(); markChanged(); } })));
    };
    for (const v of Array.isArray(field.value) ? field.value : []) add(String(v));
    box.append(items, el("button", { type: "button", class: "ghost small", text: "add",
      onclick: () => { add(""); markChanged(); } }));
    return box;
  }

  function control(field) {
    let c;
    switch (field.type) {
      case "bool":
        c = el("input", { type: "checkbox" });
        c.checked = Boolean(field.value);
        break;
      case "enum":
        c = el("select", {}, ...field.options.map((o) => el("option", { value: o, text: o })));
        c.value = String(field.value);
        break;
      case "multi":
        c = el("div", { class: "multi" }, ...field.options.map((o) => {
          const box = el("input", { type: "checkbox", value: o });
          box.checked = Array.isArray(field.value) && field.value.includes(o);
          return el("label", { class: "inline" }, box, o);
        }));
        break;
      case "list":
        return listEditor(field);
      case "int":
      case "float":
        c = el("input", { type: "number", step: field.type === "int" ? "1" : "any" });
        c.value = String(field.value);
        break;
      case "map":
        c = el("input", { type: "text", readonly: "readonly", title: "edit this one in the config file" });
        c.value = JSON.stringify(field.value || {});
        break;
      default:
        c = el("input", { type: field.type === "secret" ? "password" : "text", autocomplete: "off" });
        c.value = field.value == null ? "" : String(field.value);
    }
    c.dataset.key = field.key;
    c.addEventListener(field.type === "enum" || field.type === "bool" ? "change" : "input", markChanged);
    if (field.type === "multi") c.addEventListener("change", markChanged);
    return c;
  }

  function readInputs() {
    const out = {};
    for (const c of form.querySelectorAll("[data-key]")) {
      const f = fields.find((x) => x.key === c.dataset.key);
      if (!f) continue;
      if (f.type === "bool") out[f.key] = c.checked;
      else if (f.type === "multi") out[f.key] = [...c.querySelectorAll("input:checked")].map((x) => x.value);
      else if (f.type === "list") out[f.key] = [...c.querySelectorAll(".list-item input")].map((x) => x.value);
      else out[f.key] = c.value;
    }
    return out;
  }

  function markChanged() {
    const { changes, errors } = changesFrom(fields, readInputs());
    const edited = { ...changes, ...errors };   // a bad entry is an edit too: Save shows why
    for (const c of form.querySelectorAll("[data-key]")) {
      c.closest(".field").classList.toggle("changed", c.dataset.key in edited);
    }
    save.disabled = !Object.keys(edited).length;
  }

  function render(newSchema, newConfig) {
    schema = newSchema;
    config = newConfig;
    form.replaceChildren();
    if (!schema || !config) return;
    fields = configFields(schema, config);
    for (const [name, group] of sections(fields)) {
      const fs = el("fieldset", {}, el("legend", { text: name }));
      for (const f of group) {
        const id = `cfg-${f.key.replace(/[^A-Za-z0-9_-]/g, "-")}`;
        const c = control(f);
        const target = c.matches("input, select") ? c : c.querySelector("input");
        if (target) target.id = id;
        const err = el("div", { class: "field-error" });
        err.dataset.errorFor = f.key;
        fs.append(el("div", { class: "field" },
          el("label", { for: id, text: f.label }), c,
          f.help ? el("div", { class: "help", text: f.help }) : null, err));
      }
      form.append(fs);
    }
    save.disabled = true;
  }

  async function saveChanges() {
    for (const e of form.querySelectorAll(".field-error")) e.textContent = "";
    const { changes, errors } = changesFrom(fields, readInputs());
    const showErrors = (fields) => {
      for (const [key, msg] of Object.entries(fields)) {
        const box = [...form.querySelectorAll(".field-error")].find((x) => x.dataset.errorFor === key);
        if (box) box.textContent = msg;
      }
    };
    if (Object.keys(errors).length) { showErrors(errors); message.textContent = "fix the marked fields"; return; }
    if (!Object.keys(changes).length) { message.textContent = "nothing changed"; return; }
    try {
      const saved = await api("POST", "/config", { changes });
      render(schema, saved);
      message.textContent = `saved ${Object.keys(changes).length} change(s)`;
      onSaved(saved);
    } catch (e) {
      message.textContent = e.message;
      showErrors((e.detail && e.detail.fields) || {});
    }
  }

  save.addEventListener("click", saveChanges);
  return { render };
}
