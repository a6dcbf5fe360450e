// The library list: debounced search, type filter, and a windowed list of models.

import { h, setChildren } from "./dom.js";
import { MODEL_TYPES, formatBytes, matchLabel, modelName, trustBadge } from "./format.js";
import { isIncomplete } from "./identity.js";
import { createSearch } from "./search.js";
import { VirtualList } from "./virtual_list.js";

export const PAGE_SIZE = 500;   // models per GET /pumas/models page

function renderRow(row, m) {
  const trust = trustBadge(m.trust);
  const name = modelName(m);
  const sub = [m.model_type, m.file_format, formatBytes(m.size_bytes)].filter(Boolean).join(" · ");
  const missing = Array.isArray(m.missing_files) ? m.missing_files.length : 0;
  setChildren(row,
    h("div", { class: "pumas-row-line" },
      h("span", { class: `pumas-trust-dot ${trust.cls}`, title: `${trust.label}: ${matchLabel(m.match_source)}`,
        dataset: { trust: m.trust || "none" } }),
      h("span", { class: "pumas-row-name", title: name }, name),
      m.security_tier === "pickle" ? h("span", { class: "pumas-badge pumas-mini pumas-tier-pickle", title: "Pickle format: can run code when loaded" }, "pickle") : null,
      isIncomplete(m) ? h("span", { class: "pumas-badge pumas-mini pumas-incomplete",
        title: missing ? `Incomplete set: ${missing} file(s) missing` : "Incomplete set" }, "partial") : null,
      m.pending_online_lookup ? h("span", { class: "pumas-badge pumas-mini pumas-pending", title: "Online lookup pending" }, "lookup") : null),
    h("div", { class: "pumas-row-sub", title: sub }, sub));
  row.setAttribute("aria-label", `${name}, ${trust.label}${isIncomplete(m) ? ", incomplete set" : ""}${m.pending_online_lookup ? ", lookup pending" : ""}, ${sub}`);
}

/**
 * Build the library view.
 * @param {{client, state, onSelect: (model) => void, notify}} ctx
 *   state (module scope, survives re-mounts): {query, type, models, exhausted, selectedId}.
 * @returns {{el: HTMLElement, reload(): void, destroy(): void}}
 */
export function createLibraryView(ctx) {
  const { client, state } = ctx;
  let loadingMore = false;
  const count = h("span", { class: "pumas-note pumas-count-note", "aria-live": "polite" });
  const list = new VirtualList({
    label: "Models in the library",
    renderRow,
    onSelect: (m) => { state.selectedId = m.model_id; ctx.onSelect(m); },
    onNearEnd: () => loadMore(),
  });

  function showModels(models, reset) {
    state.models = models;
    list.setItems(models, reset);
    list.select(state.selectedId);
    const more = state.exhausted ? "" : "+";
    count.textContent = models.length ? `${models.length}${more} model${models.length === 1 && !more ? "" : "s"}` : (state.query ? "No matches" : "Library is empty");
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
      ctx.notify("error", "Model Library", `Could not load more models: ${err.message}`);
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

  const el = h("div", { class: "pumas-library" },
    h("div", { class: "pumas-bar" }, input),
    h("div", { class: "pumas-bar pumas-nowrap-bar" }, typeSelect, count),
    list.el);

  if (state.models.length) showModels(state.models, false);

  return {
    el,
    /** Re-run the current query now (after imports, deletes, rebuilds). */
    reload() { search.update(state.query, state.type, true); },
    /** Highlight a model in the list. */
    select(id) { list.select(id); },
    destroy() { search.cancel(); list.destroy(); },
  };
}
