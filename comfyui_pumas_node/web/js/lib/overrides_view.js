// The "Overrides" block of the model details: edits the model's overrides.json through
// GET/POST /pumas/models/{id}/overrides — ComfyUI versions (a PEP 440 specifier), extra tags, link name,
// sub-folder. Save sends the whole form (blank fields are dropped; all blank removes the file), Clear
// sends {}; the server validates, writes and re-links the model into every install, and its answer
// says what that sync did. A 400 (e.g. an invalid specifier) is shown inline with the server's message.

import { h, setChildren } from "./dom.js";

const count = (v) => (Array.isArray(v) ? v.length : Number(v) || 0);

/**
 * What re-linking one model did, in one line ("Links updated: 1 created, 1 removed.") plus why an
 * install does not take it (unmapped reasons), conflicts and errors.
 * @param {object} sync - the `sync` of POST /pumas/models/{id}/overrides (`apps` = number of installs).
 * @returns {string}
 */
export function syncSummary(sync) {
  if (!sync || !count(sync.apps)) return "Saved. No ComfyUI install is registered, so no link changed.";
  const parts = [`${count(sync.created)} created`, `${count(sync.removed_stale) + count(sync.removed_broken)} removed`];
  if (count(sync.repointed)) parts.push(`${count(sync.repointed)} re-pointed`);
  if (count(sync.already_correct)) parts.push(`${count(sync.already_correct)} already correct`);
  const lines = [`Links updated: ${parts.join(", ")}.`];
  const reasons = (sync.unmapped || []).map((u) => u && u.reason).filter(Boolean);
  if (reasons.length) lines.push(`Not linked: ${[...new Set(reasons)].join("; ")}.`);
  if (count(sync.conflicts)) lines.push(`${count(sync.conflicts)} conflict(s) left: preview them with Sync now.`);
  for (const e of sync.errors || []) lines.push(`Error: ${typeof e === "string" ? e : e.error || JSON.stringify(e)}`);
  return lines.join(" ");
}

/** The overrides object for the form values (blank fields left out). */
export function overridesFrom({ comfyui, tags, linkName, subfolder }) {
  const out = {};
  if (comfyui.trim()) out.versions = { comfyui: comfyui.trim() };
  const list = tags.split(",").map((t) => t.trim()).filter(Boolean);
  if (list.length) out.tags = list;
  if (linkName.trim()) out.link_name = linkName.trim();
  if (subfolder.trim()) out.subfolder = subfolder.trim();
  return out;
}

/**
 * Build the block (a closed disclosure that loads the overrides when opened).
 * @param {object} m - the model (GET /pumas/models/{id}).
 * @param {{client, memo: object, onSaved: () => void}} ctx - `memo` is kept by the details view across
 *   re-renders: `memo[model_id] = {open, message}` re-opens the block and shows the last save's result
 *   after `onSaved` re-rendered the details (whose links list changed).
 * @returns {HTMLElement}
 */
export function overridesSection(m, ctx) {
  const route = `/pumas/models/${encodeURIComponent(m.model_id)}/overrides`;
  const memo = ctx.memo[m.model_id] || (ctx.memo[m.model_id] = { open: false, message: "" });
  const shownMessage = memo.message;   // the last save's result is shown once, by the block built after it
  memo.message = "";
  let loaded = false;                  // fetched once, when first opened
  const field = (cls, label, placeholder, hint) => {
    const input = h("input", { type: "text", class: `pumas-ov-input ${cls}`, placeholder, "aria-label": label,
      spellcheck: "false", autocomplete: "off" });
    return { input, el: h("label", { class: "pumas-ov-field" }, h("span", { class: "pumas-ov-label" }, label), input,
      hint ? h("span", { class: "pumas-note" }, hint) : null) };
  };
  const f = {
    comfyui: field("pumas-ov-comfyui", "ComfyUI versions", "<0.3.60",
      "PEP 440, e.g. <0.3.60 or >=0.3.40,<0.4; blank = every version"),
    tags: field("pumas-ov-tags", "Extra tags", "style, ink", "comma separated; used by mapping rules"),
    linkName: field("pumas-ov-link-name", "Link name", m.official_name || "", null),
    subfolder: field("pumas-ov-subfolder", "Subfolder", "e.g. styles/ink", "inside its ComfyUI folder: loras/styles/ink"),
  };
  const error = h("div", { class: "pumas-ov-error pumas-job-failed", role: "alert", hidden: true });
  const result = h("div", { class: "pumas-ov-result pumas-note", role: "status", hidden: !shownMessage }, shownMessage);
  const save = h("button", { type: "button", class: "pumas-btn pumas-primary pumas-ov-save", title: "Write overrides.json and re-link this model",
    onclick: () => send(overridesFrom(Object.fromEntries(Object.entries(f).map(([k, v]) => [k, v.input.value])))) },
  h("i", { class: "pi pi-save", "aria-hidden": "true" }), " Save");
  const clear = h("button", { type: "button", class: "pumas-btn pumas-ov-clear", title: "Remove overrides.json and re-link this model",
    onclick: () => send({}) }, h("i", { class: "pi pi-eraser", "aria-hidden": "true" }), " Clear");
  const form = h("div", { class: "pumas-ov-form" },
    h("div", { class: "pumas-note" }, "Kept in overrides.json beside the model; applied to every install at once."),
    Object.values(f).map((x) => x.el), error, h("div", { class: "pumas-bar" }, save, clear), result);
  const el = h("details", { class: "pumas-overrides", open: memo.open },
    h("summary", null, "Overrides"), form);

  function fill(ov) {
    const o = ov && typeof ov === "object" ? ov : {};
    f.comfyui.input.value = (o.versions && typeof o.versions.comfyui === "string") ? o.versions.comfyui : "";
    f.tags.input.value = Array.isArray(o.tags) ? o.tags.join(", ") : "";
    f.linkName.input.value = typeof o.link_name === "string" ? o.link_name : "";
    f.subfolder.input.value = typeof o.subfolder === "string" ? o.subfolder : "";
  }

  function showError(text) {
    setChildren(error, text || "");
    error.hidden = !text;
  }

  async function load() {
    showError("");
    try {
      const body = await ctx.client.get(route);
      fill(body.overrides);
      if (body.error) showError(`overrides.json is invalid (sync leaves this model's links as they are): ${body.error}`);
    } catch (err) { showError(`Could not load the overrides: ${err.message}`); }
  }

  async function send(body) {
    save.disabled = clear.disabled = true;
    showError("");
    result.hidden = true;
    try {
      const res = await ctx.client.post(route, body);
      fill(res.overrides);
      memo.message = syncSummary(res.sync);
      setChildren(result, memo.message);
      result.hidden = false;
      ctx.onSaved();
    } catch (err) {
      showError(err.status === 400 ? err.message : `Could not save: ${err.message}`);
    } finally { save.disabled = clear.disabled = false; }
  }

  el.addEventListener("toggle", () => {
    memo.open = el.open;
    if (el.open && !loaded) { loaded = true; load(); }
  });
  return el;
}
