// Model details: identity (trust, upstream match, confirmation), safety, hashes, links, overrides
// (lib/overrides_view.js), manual edits, incomplete sets (download missing shards), pending lookups, delete.
// Reads the real metadata.json keys (see lib/identity.js) plus GET /pumas/models/{id}'s `path`,
// `links` and `phantom_files`.

import { confirmInline, copyText, h, setChildren } from "./dom.js";
import { jobIdOf } from "./client.js";
import { MODEL_TYPES, formatBytes, hashId, modelName } from "./format.js";
import {
  badges, confirmSection, evidenceSection, identityRows, incompleteSection, longId, pendingSection, phantomSection,
  pickleSection, row, warningsSection,
} from "./details_sections.js";
import { overridesSection } from "./overrides_view.js";

function linkText(l) {
  if (typeof l === "string") return l;
  const where = l.link_path || l.path || "";
  const app = l.app_name || l.app_id || "";
  const key = l.folder_key ? ` [${l.folder_key}]` : "";
  return `${app ? `${app}: ` : ""}${where}${key}`;
}

/** Text with line-break opportunities (<wbr>) after "_", ".", "-" and "/" so long file names wrap at word-ish bounds. */
function breakable(text) {
  return String(text).split(/(?<=[_.\-/])/).flatMap((part, i) => (i ? [h("wbr"), part] : [part]));
}

/**
 * Build the details view.
 * @param {{client, jobs, notify, isOffline: () => boolean, onChanged: () => void, onDeleted: (id) => void,
 *   onReplaced: (oldId, newId) => void, refreshCombos: () => void, onClose?: () => void}} ctx
 *   `onClose` runs when the user closes the details (the × button); the section is then hidden.
 * @returns {{el: HTMLElement, show(modelId: string|null): Promise<void>, current(): string|null, destroy(): void}}
 */
export function createDetailsView(ctx) {
  // A drawer over the list (below the panel header, so Health stays reachable): head, a body that
  // scrolls, and a footer with the actions that never scrolls away.
  const el = h("section", { class: "pumas-details pumas-drawer", role: "dialog", "aria-label": "Model details", "aria-live": "polite", hidden: true,
    onkeydown: (e) => { if (e.key === "Escape") close(); } });
  let seq = 0;
  let shown = null;
  const overridesMemo = {};   // per model: the Overrides block's open state and last save result

  async function show(modelId) {
    const mine = ++seq;
    const same = shown === (modelId || null);
    shown = modelId || null;
    el.hidden = !modelId;
    if (ctx.onVisible) ctx.onVisible(Boolean(modelId));
    if (!modelId) { el.replaceChildren(); return; }
    if (!same || !el.querySelector(".pumas-details-name")) setChildren(el, h("span", { class: "pumas-note" }, "Loading…"));
    try {
      const m = await ctx.client.get(`/pumas/models/${encodeURIComponent(modelId)}`);
      if (mine === seq) render(m);
    } catch (err) {
      if (mine === seq) setChildren(el, h("span", { class: "pumas-job-failed" }, `Could not load ${modelId}: ${err.message}`));
    }
  }

  const act = {
    confirm: (m) => edit(m, { match_source: "manual", trust: "high" }, "Match confirmed"),
    reject: (m) => edit(m, { huggingface: null, civitai: null, trust: "none", match_source: "manual" }, "Match removed"),
    markManual: (m) => edit(m, { match_source: "manual" }, "Marked as manual: lookups will not change it"),
    downloadMissing: (m) => runJob(m, `/pumas/models/${encodeURIComponent(m.model_id)}/download-missing`, {},
      `Download missing shards of ${modelName(m)}`, "download", (result) => {
        const next = result && result.imported && result.imported[0];
        if (next && result.replaced) ctx.onReplaced(m.model_id, next.model_id);
      }),
    lookup: (m) => runJob(m, "/pumas/lookup", { model_ids: [m.model_id] }, `Look up ${modelName(m)}`, "lookup"),
  };

  const copy = async (text, label) => {
    if (await copyText(text)) ctx.notify("info", "Copied", `${label}: ${text}`);
    else ctx.notify("warn", "Could not copy", text);
  };

  function close() { show(null); if (ctx.onClose) ctx.onClose(); }

  function render(m) {
    const hashes = m.hashes || {};
    const links = Array.isArray(m.links) ? m.links : [];
    const typeSelect = h("select", { "aria-label": "Model type", class: "pumas-edit-type" },
      MODEL_TYPES.map((t) => h("option", { value: t }, t)));
    typeSelect.value = MODEL_TYPES.includes(m.model_type) ? m.model_type : "unknown";
    const extra = (ctx.modelActions || []).filter((a) => !a.visible || a.visible(m)).map((a) =>
      h("button", { type: "button", class: `pumas-btn pumas-action-${a.id}`, title: a.title || a.label,
        onclick: () => a.run(m, { client: ctx.client, jobs: ctx.jobs, notify: ctx.notify, refresh: () => show(m.model_id) }) },
      a.icon ? h("i", { class: a.icon, "aria-hidden": "true" }) : null, a.icon ? ` ${a.label}` : a.label));
    const actions = h("div", { class: "pumas-drawer-actions" },
      h("div", { class: "pumas-bar pumas-type-row" }, typeSelect,
        h("button", { type: "button", class: "pumas-btn", title: "Set the type by hand (lookups will not change it)",
          onclick: () => saveType(m, typeSelect.value) }, "Set type (manual)")),
      h("div", { class: "pumas-bar" },
        m.match_source !== "manual"
          ? h("button", { type: "button", class: "pumas-btn pumas-manual-btn", title: "Keep this identity: online lookups will not change it",
            onclick: () => act.markManual(m) }, "Mark as manual") : null,
        extra,
        h("button", { type: "button", class: "pumas-btn pumas-danger", "aria-label": `Delete ${modelName(m)}`, title: "Delete the model, its files and its links",
          onclick: () => remove(m, actions) }, h("i", { class: "pi pi-trash", "aria-hidden": "true" }), " Delete…")));
    const body = h("div", { class: "pumas-drawer-body" },
      badges(m),
      pickleSection(m),
      confirmSection(m, act),
      incompleteSection(m, act),
      pendingSection(m, act, ctx.isOffline()),
      phantomSection(m),
      warningsSection(m),
      h("dl", null,
        row("Cleaned name", m.cleaned_name !== m.official_name ? m.cleaned_name : ""),
        row("Type", m.model_type),
        row("Family", m.family),
        row("Format", [m.format, m.file_format].filter(Boolean).join(" / ")),
        identityRows(m),
        row("Variant", m.variant),
        row("Size", formatBytes(m.size_bytes)),
        row("Files", Array.isArray(m.files) && m.files.length > 1 ? String(m.files.length) : ""),
        row("BLAKE3", longId(hashId("blake3", hashes.blake3), "BLAKE3", copy), true),
        row("SHA-256", longId(hashId("sha256", hashes.sha256), "SHA-256", copy), true),
        row("Model id", longId(m.model_id, "model id", copy), true),
        row("Folder", longId(m.path, "folder path", copy), true)),
      h("h4", null, `Linked in (${links.length})`),
      links.length
        ? h("ul", { class: "pumas-links" }, links.map((l) => h("li", { class: l.exists === false ? "pumas-phantom" : null, title: linkText(l) },
          linkText(l), l.exists === false ? " (missing)" : null)))
        : h("div", { class: "pumas-note" }, "Not linked into any install yet."),
      overridesSection(m, { client: ctx.client, memo: overridesMemo, onSaved: () => {
        ctx.onChanged();
        ctx.refreshCombos();
        if (shown === m.model_id) show(m.model_id);
      } }),
      evidenceSection(m));
    setChildren(el,
      h("div", { class: "pumas-details-head" },
        h("h3", { class: "pumas-details-name", title: modelName(m) }, breakable(modelName(m))),
        h("button", { type: "button", class: "pumas-btn pumas-small pumas-details-close", title: "Close details (Esc)",
          "aria-label": "Close details", onclick: close }, h("i", { class: "pi pi-times", "aria-hidden": "true" }), " Close")),
      body, actions);
  }

  async function edit(m, changes, message) {
    try {
      await ctx.client.post(`/pumas/models/${encodeURIComponent(m.model_id)}/metadata`, changes);
      ctx.notify("success", modelName(m), message);
      ctx.onChanged();
      if (shown === m.model_id) await show(m.model_id);
    } catch (err) { ctx.notify("error", `Could not update ${modelName(m)}`, err.message); }
  }

  async function runJob(m, route, body, label, kind, onResult) {
    const job = ctx.jobs.add(label, kind, null, {
      onDone: (j) => {
        if (onResult) onResult(j.result);
        else if (shown === m.model_id) show(m.model_id);
        ctx.onChanged();
      },
    });
    try {
      const res = await ctx.client.post(route, body);
      ctx.jobs.settle(job, res, jobIdOf(res));
    } catch (err) {
      ctx.jobs.finish(job, "failed", err);
    }
  }

  async function saveType(m, type) {
    try {
      await ctx.client.post(`/pumas/models/${encodeURIComponent(m.model_id)}/metadata`, { model_type: type });
      ctx.notify("success", "Pumas", `${modelName(m)} is now ${type} (manual)`);
      ctx.onChanged();
      ctx.refreshCombos();
      await show(m.model_id);
    } catch (err) { ctx.notify("error", "Could not change the type", err.message); }
  }

  async function remove(m, host) {
    const links = Array.isArray(m.links) ? m.links.length : 0;
    const ok = await confirmInline(host, `Delete ${modelName(m)} and its ${links} link(s)? The files are removed from the library.`, "Delete");
    if (!ok) return;
    try {
      await ctx.client.post(`/pumas/models/${encodeURIComponent(m.model_id)}/delete`, {});
      ctx.notify("success", "Pumas", `Deleted ${modelName(m)}`);
      ctx.onDeleted(m.model_id);
      ctx.refreshCombos();
    } catch (err) { ctx.notify("error", `Could not delete ${modelName(m)}`, err.message); }
  }

  return { el, show, current: () => shown, destroy() { seq += 1; } };
}
