// Model details: identity, hashes, trust, links, manual type edit, delete.

import { confirmInline, h, setChildren } from "./dom.js";
import { MODEL_TYPES, formatBytes, hashId, modelName, tierBadge, trustBadge } from "./format.js";

function safeUrl(url) {
  try {
    const u = new URL(String(url));
    return u.protocol === "https:" || u.protocol === "http:" ? u.href : null;
  } catch { return null; }
}

function row(label, value) {
  if (value === undefined || value === null || value === "") return null;
  return [h("dt", null, label), h("dd", null, value)];
}

function evidenceOf(m) {
  const ev = (m.identification && m.identification.evidence) || m.evidence || [];
  return Array.isArray(ev) ? ev : [];
}

function upstream(m) {
  const up = m.upstream || m.remote || {};
  const hf = m.hf_repo || up.hf_repo || up.repo_id;
  const hfUrl = m.hf_url || up.hf_url || (hf ? `https://huggingface.co/${hf}` : null);
  const civ = m.civitai_url || up.civitai_url ||
    (m.civitai_model_id || up.civitai_model_id ? `https://civitai.com/models/${m.civitai_model_id || up.civitai_model_id}` : null);
  return { hf, hfUrl: hfUrl && safeUrl(hfUrl), civUrl: civ && safeUrl(civ) };
}

function linkText(l) {
  if (typeof l === "string") return l;
  const where = l.path || l.link_path || l.target || "";
  const app = l.app_name || l.app_id || "";
  const status = l.status && l.status !== "ok" ? ` (${l.status})` : "";
  return `${app ? `${app}: ` : ""}${where}${status}`;
}

/**
 * Build the details view.
 * @param {{client, notify, onChanged: () => void, onDeleted: (id) => void, refreshCombos: () => void}} ctx
 * @returns {{el: HTMLElement, show(modelId: string|null): Promise<void>, destroy(): void}}
 */
export function createDetailsView(ctx) {
  const el = h("section", { class: "pumas-details pumas-section", "aria-label": "Model details", "aria-live": "polite" },
    h("span", { class: "pumas-note" }, "Select a model to see its details."));
  let seq = 0;

  async function show(modelId) {
    const mine = ++seq;
    if (!modelId) { setChildren(el, h("span", { class: "pumas-note" }, "Select a model to see its details.")); return; }
    setChildren(el, h("span", { class: "pumas-note" }, "Loading…"));
    try {
      const m = await ctx.client.get(`/pumas/models/${encodeURIComponent(modelId)}`);
      if (mine === seq) render(m);
    } catch (err) {
      if (mine === seq) setChildren(el, h("span", { class: "pumas-job-failed" }, `Could not load ${modelId}: ${err.message}`));
    }
  }

  function render(m) {
    const trust = trustBadge(m.trust);
    const tier = tierBadge(m.security_tier);
    const hashes = m.hashes || {};
    const up = upstream(m);
    const links = Array.isArray(m.links) ? m.links : [];
    const evidence = evidenceOf(m);
    const typeSelect = h("select", { "aria-label": "Model type", class: "pumas-edit-type" },
      MODEL_TYPES.map((t) => h("option", { value: t }, t)));
    typeSelect.value = MODEL_TYPES.includes(m.model_type) ? m.model_type : "unknown";
    const actions = h("div", { class: "pumas-bar" },
      typeSelect,
      h("button", { type: "button", class: "pumas-btn", onclick: () => saveType(m, typeSelect.value) }, "Set type (manual)"),
      h("button", { type: "button", class: "pumas-btn pumas-danger", "aria-label": `Delete ${modelName(m)}`, onclick: () => remove(m, actions) }, "Delete…"));
    setChildren(el,
      h("h3", { class: "pumas-details-name" }, modelName(m)),
      h("div", null,
        h("span", { class: `pumas-badge ${trust.cls}`, title: `match: ${m.match_source || "none"}` }, trust.label),
        h("span", { class: `pumas-badge ${tier.cls}` }, tier.label),
        m.match_source === "manual" ? h("span", { class: "pumas-badge" }, "Manual") : null,
        m.complete === false ? h("span", { class: "pumas-badge pumas-incomplete" }, "Incomplete set") : null),
      h("dl", null,
        row("Cleaned name", m.cleaned_name !== m.official_name ? m.cleaned_name : ""),
        row("Type", m.model_type),
        row("Family", m.family),
        row("Format", [m.format, m.file_format].filter(Boolean).join(" / ")),
        row("Base model", m.base_model),
        row("Precision", m.precision),
        row("Size", formatBytes(m.size_bytes)),
        row("BLAKE3", hashId("blake3", hashes.blake3)),
        row("SHA-256", hashId("sha256", hashes.sha256)),
        row("Model id", m.model_id),
        row("Folder", m.path),
        row("Missing", Array.isArray(m.missing) && m.missing.length ? m.missing.join(", ") : ""),
        row("HuggingFace", up.hfUrl ? h("a", { href: up.hfUrl, target: "_blank", rel: "noopener noreferrer", class: "pumas-link" }, up.hf || up.hfUrl) : ""),
        row("CivitAI", up.civUrl ? h("a", { href: up.civUrl, target: "_blank", rel: "noopener noreferrer", class: "pumas-link" }, "Model page") : "")),
      h("h4", null, `Linked in (${links.length})`),
      links.length ? h("ul", { class: "pumas-links" }, links.map((l) => h("li", null, linkText(l)))) : h("div", { class: "pumas-note" }, "Not linked into any install yet."),
      evidence.length ? h("details", null, h("summary", null, "Identification details"),
        h("ul", null, evidence.map((e) => h("li", null, String(e))))) : null,
      actions);
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

  return { el, show, destroy() { seq += 1; } };
}
