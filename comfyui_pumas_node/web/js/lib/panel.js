// Composes the Pumas panel (sections and model actions are listed in lib/sections.js). State lives at module scope so re-mounting the sidebar tab
// (render() runs on every mount) shows the same search, selection and jobs.

import { h } from "./dom.js";
import { createClient } from "./client.js";
import { JobTracker } from "./jobs.js";
import { notify as toast } from "./toast.js";
import { installStyles } from "./styles.js";
import { createLibraryView } from "./library_view.js";
import { createDetailsView } from "./details_view.js";
import { pickleRefusals } from "./import_view.js";
import { modelIdsWithProblems } from "./health_view.js";
import { createAppsView } from "./apps_view.js";
import { createSettingsStore } from "./settings_view.js";
import { importSummary } from "./import_summary.js";
import { MODEL_ACTIONS, SECTIONS } from "./sections.js";

/** Job kinds whose completion changes what ComfyUI's model dropdowns should list. */
const COMBO_KINDS = new Set(["import", "upload", "download", "sync", "rebuild", "health", "adopt"]);
/** Job kinds whose result is an import report ({imported, skipped, failed}). */
const IMPORT_KINDS = new Set(["import", "upload", "download"]);

/** Module-scope UI state (plain data; nothing runs at import). */
export const state = {
  query: "", type: "", models: [], exhausted: false, selectedId: null,
  health: null, healthError: "", offline: false, network: "",
  importPath: "", mode: "", pending: null,
  open: {},   // collapsible sections: {import, activity, health, installs} → expanded (see lib/fold.js)
};

/**
 * Create the panel controller (once, in the extension's setup()).
 * @param {{app: object, api: object}} deps - ComfyUI's `app` and `api`.
 * @returns {{tab: object, onProgress(e: CustomEvent): void, jobs: JobTracker}}
 *   `tab` is the object for app.extensionManager.registerSidebarTab.
 */
export function createPanel({ app, api }) {
  const client = createClient(api);
  const settings = createSettingsStore(client);
  const notify = (sev, summary, detail) => toast(app, sev, summary, detail);
  let mounted = null;        // {views, root} while the tab is shown

  const refreshCombos = () => {
    try { const p = app.refreshComboInNodes && app.refreshComboInNodes(); if (p && p.catch) p.catch(() => {}); } catch (e) { console.warn(e); }
  };

  const jobs = new JobTracker({ client, onFinished: (job) => {
    if (job.state === "done") {
      const r = job.result || {};
      if (IMPORT_KINDS.has(job.kind)) {
        const refused = pickleRefusals(r).length;
        const sum = importSummary(r, refused);
        notify(sum.severity, refused ? `${job.label}: pickle files need your confirmation` : sum.summary, sum.detail);
      } else if (job.kind === "lookup") {
        const updated = Array.isArray(r.updated) ? r.updated.length : 0;
        const pending = Array.isArray(r.pending) ? r.pending.length : 0;
        notify(pending ? "warn" : "success", "Pumas",
          `Lookup finished: ${updated} updated${pending ? `, ${pending} still pending (hosts unreachable)` : ""}`);
      } else if (!(job.callbacks && job.callbacks.quiet)) notify("success", "Pumas", `${job.label} finished`);
      if (COMBO_KINDS.has(job.kind)) refreshCombos();
      if (mounted) { mounted.views.library.reload(); if (!IMPORT_KINDS.has(job.kind) && !(job.callbacks && job.callbacks.quiet)) mounted.views.health.refresh(); }
    } else if (!(job.errorObj && job.errorObj.code === "pickle_not_accepted")) {
      notify("error", `${job.label} failed`, job.error);
    }
  } });

  async function loadStatus(note) {
    try {
      const s = await client.get("/pumas/status");
      // GET /pumas/status: {"offline": bool, "network": {"online", "hosts", "message"}, "pending_lookups"}
      state.offline = Boolean(s && (s.offline === true || (s.network && s.network.online === false)));
      state.network = (s && s.network && s.network.message) || "";
      state.libraryError = "";
    } catch (err) {
      state.offline = false;
      // 503 library_offline / no_library / library_unavailable: say so instead of showing an empty library
      state.libraryError = err && err.status === 503 ? String(err.message || "library unavailable") : "";
    }
    note.hidden = !state.offline && !state.libraryError;
    note.classList.toggle("pumas-library-error", Boolean(state.libraryError));
    note.textContent = state.libraryError ? `Library unavailable: ${state.libraryError}` : "Using cached data (offline)";
    note.title = state.libraryError || state.network || "";
  }

  function render(el) {
    if (mounted) unmount();
    installStyles(el.ownerDocument || document);
    const offlineNote = h("div", { class: "pumas-offline", role: "note", hidden: !state.offline }, "Using cached data (offline)");
    const views = {};
    const reloadLibrary = () => views.library && views.library.reload();
    const apps = createAppsView({ client, jobs, notify, state, onSynced: () => { refreshCombos(); reloadLibrary(); } });
    const details = createDetailsView({
      client, jobs, notify, refreshCombos, isOffline: () => state.offline, modelActions: MODEL_ACTIONS,
      onChanged: reloadLibrary,
      onReplaced: (oldId, newId) => { if (state.selectedId === oldId) state.selectedId = newId; details.show(newId); reloadLibrary(); },
      onDeleted: (id) => { if (state.selectedId === id) state.selectedId = null; details.show(null); reloadLibrary(); },
      onClose: () => { state.selectedId = null; if (views.library) views.library.select(null); },
      onVisible: (on) => { if (mounted) mounted.root.classList.toggle("pumas-drawer-open", on); },
    });
    const ctx = {
      app, client, jobs, notify, state, settings, apps, refreshCombos, reloadLibrary,
      libraryMoved: () => { state.models = []; state.selectedId = null; details.show(null); reloadLibrary(); if (views.health) views.health.refresh(); },
      onBadge: () => {
        if (!state.selectedId && !details.current()) return false;
        details.show(null); state.selectedId = null; if (views.library) views.library.select(null);
        return true;
      },
      onHealth: () => { if (views.library) views.library.repaint(); },
      openSection: (id) => { const v = views[id]; if (v && v.open) v.open(); },
    };
    views.library = createLibraryView({ client, state, notify, onSelect: (m) => details.show(m.model_id),
      problemIds: () => modelIdsWithProblems(state.health) });
    views.details = details;
    views.apps = apps;
    for (const section of SECTIONS) {
      try { views[section.id] = section.create(ctx); } catch (e) { console.error(`[pumas] section ${section.id}:`, e); }
    }
    const health = views.health;
    // A full-height column: header, the list (takes the free space), then the collapsible sections
    // (lib/sections.js), which scroll together; the model details are a drawer over the list.
    const root = h("div", { class: "pumas-panel", "aria-label": "Pumas model library" },
      h("div", { class: "pumas-bar pumas-head" },
        h("i", { class: "pi pi-box pumas-logo", "aria-hidden": "true" }),
        h("h3", { class: "pumas-grow pumas-title" }, "Pumas"), health ? health.badge : null),
      offlineNote, views.library.el,
      h("div", { class: "pumas-sections" }, SECTIONS.map((s) => views[s.id] && views[s.id].el)),
      details.el);
    // Dropping desktop files anywhere on the panel uploads them.
    let depth = 0;
    const onDragEnter = (e) => { if (hasFiles(e)) { depth += 1; root.classList.add("pumas-dragging"); e.preventDefault(); } };
    const onDragOver = (e) => { if (hasFiles(e)) { e.preventDefault(); e.dataTransfer.dropEffect = "copy"; } };
    const onDragLeave = () => { depth = Math.max(0, depth - 1); if (!depth) root.classList.remove("pumas-dragging"); };
    const onDrop = (e) => {
      if (!hasFiles(e)) return;
      e.preventDefault(); e.stopPropagation();
      depth = 0; root.classList.remove("pumas-dragging");
      if (views.import) views.import.handleFiles(e.dataTransfer.files);
    };
    root.addEventListener("dragenter", onDragEnter);
    root.addEventListener("dragover", onDragOver);
    root.addEventListener("dragleave", onDragLeave);
    root.addEventListener("drop", onDrop);
    el.replaceChildren(root);
    markIconFont(root);
    el.classList.add("pumas-host");   // the host gets a definite height, so the list can fill the sidebar
    mounted = { root, host: el, views };
    root.classList.toggle("pumas-drawer-open", Boolean(state.selectedId));
    loadStatus(offlineNote);
    if (health) health.refresh();
    settings.load().catch(() => {});
    if (state.open.health && state.open.installs) apps.refresh();
    if (state.open.adopt && views.adopt && views.adopt.refresh) views.adopt.refresh();
    if (!state.models.length) views.library.reload();
    if (state.selectedId) details.show(state.selectedId);
  }

  function unmount() {
    if (!mounted) return;
    for (const v of Object.values(mounted.views)) { try { if (v && v.destroy) v.destroy(); } catch (e) { console.warn(e); } }
    mounted.root.remove();          // its DOM listeners go with it
    mounted.host.classList.remove("pumas-host");
    mounted = null;
  }

  const tab = {
    // Its own name: ComfyUI has a built-in "Model Library" tab (id "model-library") one icon away.
    id: "pumas-library", title: "Pumas", label: "Pumas", tooltip: "Pumas: your model library, links and health", icon: "pi pi-box",
    type: "custom", render, destroy: unmount,
  };
  return { tab, jobs, onProgress: (e) => jobs.onEvent(e && e.detail) };
}

function hasFiles(e) {
  const types = e.dataTransfer && e.dataTransfer.types;
  return Boolean(types && [...types].includes("Files"));
}

/** Read a setting through app.extensionManager.setting, or undefined. */
export function settingGet(app, id) {
  try { return app.extensionManager && app.extensionManager.setting ? app.extensionManager.setting.get(id) : undefined; } catch { return undefined; }
}

/** Add `pumas-no-icons` to the panel when PrimeIcons (ComfyUI's icon font) is not styled in this page
 *  (the standalone `pumas serve` page): thumbnails then show a short type label instead of a glyph. */
function markIconFont(root) {
  const probe = h("i", { class: "pi", style: "position:absolute;visibility:hidden" });
  root.appendChild(probe);
  const family = getComputedStyle(probe).fontFamily || "";
  probe.remove();
  root.classList.toggle("pumas-no-icons", !/primeicons/i.test(family));
}
