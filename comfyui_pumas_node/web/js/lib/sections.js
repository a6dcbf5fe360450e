// The one place that lists what the panel shows below the model list (SECTIONS) and which extra
// buttons the model details offer (MODEL_ACTIONS). To add a section: write lib/<name>_view.js
// exporting `create<Name>View(ctx)` that returns {el, refresh?(), destroy()}, import it here and add
// an entry. To add a model action: add {id, label, icon: "pi pi-…", title?, visible?(model),
// run(model, {client, jobs, notify, refresh})} to MODEL_ACTIONS.

import { createAdoptView } from "./adopt_view.js";
import { createImportView } from "./import_view.js";
import { createJobsView } from "./jobs_view.js";
import { createHealthView } from "./health_view.js";
import { createSettingsView } from "./settings_view.js";
import { createWorkflowView } from "./workflow_view.js";

/**
 * Sections in display order. `create(ctx)` gets the panel context: {client, jobs, notify, state,
 * settings (lib/settings_view.js store), apps, refreshCombos, reloadLibrary, openSection(id), app}.
 * @type {{id: string, create: (ctx: object) => {el: HTMLElement, refresh?: () => any, destroy: () => void}}[]}
 */
export const SECTIONS = [
  { id: "import", create: (ctx) => createImportView({ ...ctx, addImportRoot: (p) => ctx.settings.addRoot(p),
    getMode: () => (ctx.settings.get() || {}).import_mode, whenMode: (fn) => ctx.settings.subscribe((s) => fn(s && s.import_mode)),
    whenSettings: (fn) => ctx.settings.subscribe(fn), openSettings: () => ctx.openSection("settings") }) },
  { id: "adopt", create: (ctx) => createAdoptView({ ...ctx, onAdopted: () => { ctx.refreshCombos(); ctx.reloadLibrary(); } }) },
  { id: "workflow", create: (ctx) => createWorkflowView(ctx) },
  { id: "activity", create: (ctx) => createJobsView(ctx.jobs, ctx.state) },
  { id: "health", create: (ctx) => createHealthView({ ...ctx, onLibraryChanged: ctx.reloadLibrary }) },
  { id: "settings", create: (ctx) => createSettingsView({ ...ctx, onLibraryChanged: ctx.libraryMoved }) },
];

/** Extra buttons in the model details footer (see the header comment). */
export const MODEL_ACTIONS = [];
