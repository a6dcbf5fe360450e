// The library list: debounced search, sort, filters (type on the server; base model, trust, linked,
// needs attention on the loaded models), and a windowed list of rows with a thumbnail.

import { h, setChildren } from "./dom.js";
import { MODEL_TYPES, formatBytes, matchLabel, modelName, trustBadge } from "./format.js";
import { isIncomplete } from "./identity.js";
import { LINKS, SORTS, TRUSTS, applyView, attentionReason, baseModels, filtering } from "./filters.js";
import { createSearch } from "./search.js";
import { VirtualList } from "./virtual_list.js";

export const PAGE_SIZE = 500;   // models per GET /pumas/models page

/** PrimeIcons glyph per model type (the thumbnail when a model has no preview image). */
const TYPE_ICONS = {
  checkpoint: "pi-box", diffusion_model: "pi-box", lora: "pi-sliders-h", vae: "pi-images", text_encoder: "pi-align-left",
  clip_vision: "pi-eye", controlnet: "pi-sitemap", upscale_model: "pi-expand", embedding: "pi-tag", llm: "pi-comments",
  audio_encoder: "pi-volume-up",
};

/** Short type label shown in the thumbnail when the icon font is not loaded (`pumas serve`). */
const TYPE_ABBR = {
  checkpoint: "CKPT", diffusion_model: "UNET", lora: "LoRA", vae: "VAE", text_encoder: "TE", clip_vision: "CLIP",
  controlnet: "CN", upscale_model: "UP", embedding: "EMB", llm: "LLM", audio_encoder: "AUD",
};

function thumb(m, client) {
  const glyph = h("i", { class: `pi ${TYPE_ICONS[m.model_type] || "pi-file"} pumas-glyph`, "aria-hidden": "true" });
  const abbr = TYPE_ABBR[m.model_type] || "?";
  if (!m.has_preview || !client) return h("span", { class: "pumas-thumb", dataset: { abbr } }, glyph);
  const img = h("img", { class: "pumas-thumb-img", alt: "", loading: "lazy", decoding: "async",
    src: client.url(`/pumas/models/${encodeURIComponent(m.model_id)}/preview`) });
  const box = h("span", { class: "pumas-thumb", dataset: { abbr } }, img);
  img.addEventListener("error", () => box.replaceChildren(glyph), { once: true });
  return box;
}

function makeRenderRow(client, problemIds) {
  return (row, m) => {
    const trust = trustBadge(m.trust);
    const name = modelName(m);
    const size = formatBytes(m.size_bytes);
    const missing = Array.isArray(m.missing_files) ? m.missing_files.length : 0;
    const attention = attentionReason(m, problemIds());
    setChildren(row,
      thumb(m, client),
      h("div", { class: "pumas-row-main" },
        h("div", { class: "pumas-row-line" },
          h("span", { class: "pumas-row-name", title: name }, name),
          attention ? h("i", { class: "pi pi-exclamation-triangle pumas-attention", title: `Needs attention: ${attention}`, "aria-hidden": "true" }) : null,
          m.security_tier === "pickle" ? h("span", { class: "pumas-badge pumas-mini pumas-tier-pickle", title: "Pickle format: can run code when loaded" }, "pickle") : null,
          isIncomplete(m) ? h("span", { class: "pumas-badge pumas-mini pumas-incomplete",
            title: missing ? `Incomplete set: ${missing} file(s) missing` : "Incomplete set" }, "partial") : null,
          m.pending_online_lookup ? h("span", { class: "pumas-badge pumas-mini pumas-pending", title: "Online lookup pending" }, "lookup") : null),
        h("div", { class: "pumas-row-sub" },
          h("span", { class: "pumas-chip pumas-chip-type", title: "Type" }, m.model_type || "unknown"),
          m.base_model ? h("span", { class: "pumas-chip pumas-chip-base", title: "Base model" }, m.base_model) : null,
          h("span", { class: "pumas-row-size" }, size),
          h("span", { class: `pumas-trust-dot ${trust.cls}`, title: `Identity: ${trust.label}, ${matchLabel(m.match_source)}`,
            dataset: { trust: m.trust || "none" } }))));
    row.setAttribute("aria-label", `${name}, ${m.model_type || "unknown"}${m.base_model ? `, ${m.base_model}` : ""}, ${size}, identity ${trust.label}${attention ? `, needs attention: ${attention}` : ""}${m.pending_online_lookup ? ", lookup pending" : ""}`);
  };
}

/**
 * Build the library view.
 * @param {{client, state, onSelect: (model) => void, notify, problemIds?: () => Set<string>}} ctx
 *   state (module scope, survives re-mounts): {query, type, models, exhausted, selectedId, view}
 *   where view = {sort, base, trust, links, attention} (lib/filters.js).
 * @returns {{el: HTMLElement, reload(): void, destroy(): void}}
 */
export function createLibraryView(ctx) {
  const { client, state } = ctx;
  const problemIds = ctx.problemIds || (() => new Set());
  state.view = state.view || { sort: "name", base: "", trust: "", links: "", attention: false };
  let loadingMore = false;
  let shown = [];
  const count = h("span", { class: "pumas-note pumas-count-note", "aria-live": "polite" });
  const list = new VirtualList({
    label: "Models in the library",
    renderRow: makeRenderRow(client, problemIds),
    onSelect: (m) => { state.selectedId = m.model_id; ctx.onSelect(m); },
    onNearEnd: () => loadMore(),
  });

  function showModels(models, reset) {
    state.models = models;
    shown = applyView(models, state.view, problemIds());
    list.setItems(shown, reset);
    list.select(state.selectedId);
    fillBases();
    const more = state.exhausted ? "" : "+";
    const total = `${models.length}${more}`;
    count.textContent = !models.length ? (state.query ? "No matches" : "Library is empty")
      : filtering(state.view) ? `${shown.length} of ${total}` : `${total} model${models.length === 1 && !more ? "" : "s"}`;
  }

  const fetchPage = (q, offset) => client.get("/pumas/models", {
    q: q.q || undefined, type: q.type || undefined, limit: PAGE_SIZE, offset: q.q ? undefined : offset,
  });

  const search = createSearch((q) => fetchPage(q, 0), (body) => {
    const models = (body && body.models) || [];
    state.exhausted = Boolean(state.query) || models.length < PAGE_SIZE ||
      (typeof body.total === "number" && models.length >= body.total);
    showModels(models, true);
  }, {
    delayMs: 300,
    onStart: () => { count.textContent = "Searching…"; },
    onError: (err) => { count.textContent = `Could not load models: ${err.message}`; },
  });

  async function loadMore() {
    if (state.exhausted || loadingMore || state.query) return;
    loadingMore = true;
    const seqAtStart = search.seq();
    try {
      const body = await fetchPage({ q: "", type: state.type }, state.models.length);
      if (seqAtStart !== search.seq()) return;      // a newer search replaced the list: stale page
      const seen = new Set(state.models.map((m) => m.model_id));
      const fresh = ((body && body.models) || []).filter((m) => !seen.has(m.model_id));
      if (fresh.length < PAGE_SIZE) state.exhausted = true;
      if (fresh.length) showModels(state.models.concat(fresh), false);
      else showModels(state.models, false);
    } catch (err) {
      state.exhausted = true;
      ctx.notify("error", "Pumas", `Could not load more models: ${err.message}`);
    } finally { loadingMore = false; }
  }

  const input = h("input", {
    type: "search", class: "pumas-grow pumas-search", placeholder: "Search models…",
    "aria-label": "Search models", value: state.query,
    oninput: (e) => { state.query = e.target.value; search.update(state.query, state.type); },
    onkeydown: (e) => { if (e.key === "Enter") search.flush(); },
  });
  const typeSelect = h("select", {
    class: "pumas-type-filter", "aria-label": "Filter by model type",
    onchange: (e) => { state.type = e.target.value; search.update(state.query, state.type, true); },
  }, h("option", { value: "" }, "All types"), MODEL_TYPES.map((t) => h("option", { value: t }, t)));
  typeSelect.value = state.type;
  const viewSelect = (key, options, label, cls) => {
    const el = h("select", { class: cls, "aria-label": label,
      onchange: (e) => { state.view[key] = e.target.value; showModels(state.models, true); } },
    options.map(([v, t]) => h("option", { value: v }, t)));
    el.value = state.view[key] || "";
    return el;
  };
  const sortSelect = viewSelect("sort", SORTS.map(([v, t]) => [v, `Sort: ${t}`]), "Sort models", "pumas-sort");
  const baseSelect = viewSelect("base", [["", "Any base model"]], "Filter by base model", "pumas-base-filter");
  const trustSelect = viewSelect("trust", TRUSTS, "Filter by identity trust", "pumas-trust-filter");
  const linkSelect = viewSelect("links", LINKS, "Filter by linked or not", "pumas-link-filter");
  const attention = h("input", { type: "checkbox", class: "pumas-attention-filter", id: "pumas-attention-filter", checked: state.view.attention,
    onchange: (e) => { state.view.attention = e.target.checked; showModels(state.models, true); } });
  function fillBases() {
    const want = state.view.base;
    const bases = baseModels(state.models);
    if (want && !bases.includes(want)) bases.unshift(want);
    setChildren(baseSelect, h("option", { value: "" }, "Any base model"), bases.map((b) => h("option", { value: b }, b)));
    baseSelect.value = want || "";
  }
  const filterBox = h("details", { class: "pumas-filters", open: filtering(state.view) || undefined },
    h("summary", { class: "pumas-note" }, h("i", { class: "pi pi-filter", "aria-hidden": "true" }), " Filters"),
    h("div", { class: "pumas-filter-grid" }, baseSelect, trustSelect, linkSelect,
      h("label", { for: "pumas-attention-filter", class: "pumas-bar pumas-nowrap-bar pumas-note" }, attention, "Needs attention")));

  const el = h("div", { class: "pumas-library" },
    h("div", { class: "pumas-bar" }, input),
    h("div", { class: "pumas-bar pumas-nowrap-bar" }, typeSelect, sortSelect),
    h("div", { class: "pumas-bar pumas-nowrap-bar" }, filterBox, count),
    list.el);

  if (state.models.length) showModels(state.models, false);

  return {
    el,
    /** Re-run the current query now (after imports, deletes, rebuilds). */
    reload() { search.update(state.query, state.type, true); },
    /** Re-apply sort and filters (health problems changed). */
    repaint() { showModels(state.models, false); },
    /** Highlight a model in the list. */
    select(id) { list.select(id); },
    destroy() { search.cancel(); list.destroy(); },
  };
}
