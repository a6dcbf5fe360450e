// Model details: identity (trust, upstream match, confirmation), safety, hashes, links, manual
// edits, incomplete sets (download missing shards), pending lookups, delete.
// Reads the real metadata.json keys (see lib/identity.js) plus GET /pumas/models/{id}'s `path`,
// `links` and `phantom_files`.

import { confirmInline, h, setChildren } from "./dom.js";
import { jobIdOf } from "./client.js";
import { MODEL_TYPES, formatBytes, hashId, modelName } from "./format.js";
import {
  badges, confirmSection, evidenceSection, identityRows, incompleteSection, pendingSection, phantomSection,
  pickleSection, row, warningsSection,
} from "./details_sections.js";

function linkText(l) {
  if (typeof l === "string") return l;
  const where = l.link_path || l.path || "";
  const app = l.app_name || l.app_id || "";
  const key = l.folder_key ? ` [${l.folder_key}]` : "";
  return `${app ? `${app}: ` : ""}${where}${key}`;
}

/**
 * Build the details view.
 * @param {{client, jobs, notify, isOffline: () => boolean, onChanged: () => void, onDeleted: (id) => void,
 *   onReplaced: (oldId, newId) => void, refreshCombos: () => void}} ctx
 * @returns {{el: HTMLElement, show(modelId: string|null): Promise<void>, current(): string|null, destroy(): void}}
 */
export function createDetailsView(ctx) {
  const el = h("section", { class: "pumas-details pumas-section", "aria-label": "Model details", "aria-live": "polite" },
    h("span", { class: "pumas-note" }, "Select a model to see its details."));
  let seq = 0;
  let shown = null;

  async function show(modelId) {
    const mine = ++seq;
    shown = modelId || null;
    if (!modelId) { setChildren(el, h("span", { class: "pumas-note" }, "Select a model to see its details.")); return; }
    setChildren(el, h("span", { class: "pumas-note" }, "Loading…"));
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

  function render(m) {
    const hashes = m.hashes || {};
    const links = Array.isArray(m.links) ? m.links : [];
    const typeSelect = h("select", { "aria-label": "Model type", class: "pumas-edit-type" },
      MODEL_TYPES.map((t) => h("option", { value: t }, t)));
    typeSelect.value = MODEL_TYPES.includes(m.model_type) ? m.model_type : "unknown";
    const actions = h("div", { class: "pumas-bar" },
      typeSelect,
      h("button", { type: "button", class: "pumas-btn", onclick: () => saveType(m, typeSelect.value) }, "Set type (manual)"),
      m.match_source !== "manual"
        ? h("button", { type: "button", class: "pumas-btn pumas-manual-btn", title: "Keep this identity: online lookups will not change it",
          onclick: () => act.markManual(m) }, "Mark as manual") : null,
      h("button", { type: "button", class: "pumas-btn pumas-danger", "aria-label": `Delete ${modelName(m)}`, onclick: () => remove(m, actions) }, "Delete…"));
    setChildren(el,
      h("h3", { class: "pumas-details-name" }, modelName(m)),
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
        row("BLAKE3", hashId("blake3", hashes.blake3)),
        row("SHA-256", hashId("sha256", hashes.sha256)),
        row("Model id", m.model_id),
        row("Folder", m.path)),
      h("h4", null, `Linked in (${links.length})`),
      links.length
        ? h("ul", { class: "pumas-links" }, links.map((l) => h("li", { class: l.exists === false ? "pumas-phantom" : null },
          linkText(l), l.exists === false ? " (missing)" : null)))
        : h("div", { class: "pumas-note" }, "Not linked into any install yet."),
      evidenceSection(m),
      actions);
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
      ctx.notify("success", "Model Library", `${modelName(m)} is now ${type} (manual)`);
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
      ctx.notify("success", "Model Library", `Deleted ${modelName(m)}`);
      ctx.onDeleted(m.model_id);
      ctx.refreshCombos();
    } catch (err) { ctx.notify("error", `Could not delete ${modelName(m)}`, err.message); }
  }

  return { el, show, current: () => shown, destroy() { seq += 1; } };
}
