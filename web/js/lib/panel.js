// Composes the Model Library panel. State lives at module scope so re-mounting the sidebar tab
// (render() runs on every mount) shows the same search, selection and jobs.

import { h } from "./dom.js";
import { createClient } from "./client.js";
import { JobTracker } from "./jobs.js";
import { notify as toast } from "./toast.js";
import { installStyles } from "./styles.js";
import { createLibraryView } from "./library_view.js";
import { createDetailsView } from "./details_view.js";
import { createImportView, pickleRefusals } from "./import_view.js";
import { createHealthView } from "./health_view.js";
import { createAppsView } from "./apps_view.js";
import { createJobsView } from "./jobs_view.js";
import { createAdoptView } from "./adopt_view.js";

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
  const notify = (sev, summary, detail) => toast(app, sev, summary, detail);
  let mounted = null;        // {views, root} while the tab is shown

  const refreshCombos = () => {
    try { const p = app.refreshComboInNodes && app.refreshComboInNodes(); if (p && p.catch) p.catch(() => {}); } catch (e) { console.warn(e); }
  };

  const jobs = new JobTracker({ client, onFinished: (job) => {
    if (job.state === "done") {
      const r = job.result || {};
      if (IMPORT_KINDS.has(job.kind)) {
        const n = Array.isArray(r.imported) ? r.imported.length : 0;
        const skipped = Array.isArray(r.skipped) ? r.skipped.length : 0;
        const failed = Array.isArray(r.failed) ? r.failed : [];
        const refused = pickleRefusals(r).length;
        if (failed.length > refused) notify("error", `${job.label}: ${failed.length} failed`, failed.map((f) => `${f.path}: ${f.error}`).join("\n"));
        else if (refused) notify("warn", job.label, "Pickle files need your confirmation.");
        else notify("success", "Model Library", `Imported ${n} model(s)${skipped ? `, ${skipped} already in the library` : ""}`);
      } else if (job.kind === "lookup") {
        const updated = Array.isArray(r.updated) ? r.updated.length : 0;
        const pending = Array.isArray(r.pending) ? r.pending.length : 0;
        notify(pending ? "warn" : "success", "Model Library",
          `Lookup finished: ${updated} updated${pending ? `, ${pending} still pending (hosts unreachable)` : ""}`);
      } else notify("success", "Model Library", `${job.label} finished`);
      if (COMBO_KINDS.has(job.kind)) refreshCombos();
      if (mounted) { mounted.views.library.reload(); if (!IMPORT_KINDS.has(job.kind)) mounted.views.health.refresh(); }
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
    } catch { state.offline = false; }
    note.hidden = !state.offline;
    note.title = state.network || "";
  }

  function render(el) {
    if (mounted) unmount();
    installStyles(el.ownerDocument || document);
    const offlineNote = h("div", { class: "pumas-offline", role: "note", hidden: !state.offline }, "Using cached data (offline)");
    const reloadLibrary = () => mounted && mounted.views.library.reload();
    const apps = createAppsView({ client, jobs, notify, state, onSynced: () => { refreshCombos(); reloadLibrary(); } });
    const health = createHealthView({ client, jobs, notify, state, apps, onLibraryChanged: reloadLibrary });
    const details = createDetailsView({
      client, jobs, notify, refreshCombos, isOffline: () => state.offline,
      onChanged: reloadLibrary,
      onReplaced: (oldId, newId) => { if (state.selectedId === oldId) state.selectedId = newId; details.show(newId); reloadLibrary(); },
      onDeleted: (id) => { if (state.selectedId === id) state.selectedId = null; details.show(null); mounted && mounted.views.library.reload(); },
      onClose: () => { state.selectedId = null; if (mounted) mounted.views.library.select(null); },
    });
    const library = createLibraryView({ client, state, notify, onSelect: (m) => details.show(m.model_id) });
    const importer = createImportView({ client, jobs, notify, state, getMode: () => settingGet(app, "Pumas.ImportMode") });
    const jobsView = createJobsView(jobs, state);
    const adopt = createAdoptView({ client, jobs, notify, state, onAdopted: () => { refreshCombos(); reloadLibrary(); } });
    // A full-height column: header, the list (takes the free space), the selected model's details,
    // then the collapsible sections (Import / Activity / Health with Installs), each scrolling on its own.
    const root = h("div", { class: "pumas-panel", "aria-label": "Pumas model library" },
      h("div", { class: "pumas-bar pumas-head" }, h("h3", { class: "pumas-grow pumas-title" }, "Model Library"), health.badge),
      offlineNote, library.el, details.el,
      h("div", { class: "pumas-sections" }, importer.el, adopt.el, jobsView.el, health.el));
    // Dropping desktop files anywhere on the panel uploads them.
    let depth = 0;
    const onDragEnter = (e) => { if (hasFiles(e)) { depth += 1; root.classList.add("pumas-dragging"); e.preventDefault(); } };
    const onDragOver = (e) => { if (hasFiles(e)) { e.preventDefault(); e.dataTransfer.dropEffect = "copy"; } };
    const onDragLeave = () => { depth = Math.max(0, depth - 1); if (!depth) root.classList.remove("pumas-dragging"); };
    const onDrop = (e) => {
      if (!hasFiles(e)) return;
      e.preventDefault(); e.stopPropagation();
      depth = 0; root.classList.remove("pumas-dragging");
      importer.handleFiles(e.dataTransfer.files);
    };
    root.addEventListener("dragenter", onDragEnter);
    root.addEventListener("dragover", onDragOver);
    root.addEventListener("dragleave", onDragLeave);
    root.addEventListener("drop", onDrop);
    el.replaceChildren(root);
    el.classList.add("pumas-host");   // the host gets a definite height, so the list can fill the sidebar
    mounted = { root, host: el, views: { health, apps, details, library, importer, jobsView, adopt } };
    loadStatus(offlineNote);
    health.refresh();
    if (state.open.health && state.open.installs) apps.refresh();
    if (state.open.adopt) adopt.refresh();
    if (!state.models.length) library.reload();
    if (state.selectedId) details.show(state.selectedId);
  }

  function unmount() {
    if (!mounted) return;
    for (const v of Object.values(mounted.views)) { try { v.destroy(); } catch (e) { console.warn(e); } }
    mounted.root.remove();          // its DOM listeners go with it
    mounted.host.classList.remove("pumas-host");
    mounted = null;
  }

  const tab = {
    id: "pumas-library", title: "Model Library", tooltip: "Pumas model library", icon: "pi pi-database",
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
