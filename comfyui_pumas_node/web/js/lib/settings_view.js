// Settings (GET/POST /pumas/settings, kept by the core in <state>/config.json): library location
// (with "Move library here…" → POST /pumas/relocate), import roots (add with the folder browser or a
// typed path; remove), default import mode, online lookups on/off.

import { confirmInline, h, setChildren } from "./dom.js";
import { jobIdOf } from "./client.js";
import { createFold } from "./fold.js";
import { IMPORT_MODE_HELP } from "./format.js";

/**
 * Shared settings store: one GET per panel, listeners notified on every change.
 * @param {object} client - lib/client.js
 * @returns {{get(): object|null, load(): Promise<object>, save(changes: object): Promise<object>,
 *   addRoot(path: string): Promise<object>, subscribe(fn): () => void}}
 */
export function createSettingsStore(client) {
  let current = null;
  let pending = null;
  const listeners = new Set();
  const emit = () => { for (const fn of listeners) { try { fn(current); } catch (e) { console.warn(e); } } };
  const store = {
    get: () => current,
    async load() {
      if (!pending) pending = client.get("/pumas/settings").then((s) => { current = s; emit(); return s; }).finally(() => { pending = null; });
      return pending;
    },
    async save(changes) { current = await client.post("/pumas/settings", changes); emit(); return current; },
    async addRoot(path) {
      const s = current || await store.load();
      const roots = s.import_roots_configured ? [...s.import_roots] : [...(s.import_roots || [])];
      if (!roots.includes(path)) roots.push(path);
      return store.save({ import_roots: roots });
    },
    subscribe(fn) { listeners.add(fn); return () => listeners.delete(fn); },
  };
  return store;
}

/**
 * Build the settings section.
 * @param {{client, jobs, notify, state, settings: ReturnType<typeof createSettingsStore>, onLibraryChanged: () => void}} ctx
 * @returns {{el: HTMLElement, open(): void, refresh(): Promise<void>, destroy(): void}}
 */
export function createSettingsView(ctx) {
  const { client, settings, state } = ctx;
  const fold = createFold({ key: "settings", title: "Settings", open: state.open || (state.open = {}),
    cls: "pumas-settings pumas-section", label: "Pumas settings", onOpen: () => settings.load().catch(() => {}) });
  const libInput = h("input", { type: "text", class: "pumas-grow pumas-library-path", "aria-label": "Library location" });
  const rootInput = h("input", { type: "text", class: "pumas-grow pumas-root-path", placeholder: "Folder on the server",
    "aria-label": "Import root to add", onkeydown: (e) => { if (e.key === "Enter") addRoot(rootInput.value.trim()); } });
  const picker = h("div", { class: "pumas-picker", hidden: true, role: "group", "aria-label": "Pick an import root" });
  const libMsg = h("div", { class: "pumas-note pumas-library-msg", "aria-live": "polite" });
  let editedLib = false;
  libInput.addEventListener("input", () => { editedLib = true; libMsg.textContent = ""; });

  async function save(changes, done) {
    try { await settings.save(changes); if (done) ctx.notify("success", "Pumas", done); return true; } catch (err) {
      ctx.notify("error", "Settings not saved", err.message); return false;
    }
  }

  async function addRoot(path) {
    if (!path) { ctx.notify("warn", "Pumas", "Enter a folder path or pick one."); return; }
    try { await settings.addRoot(path); rootInput.value = ""; picker.hidden = true; ctx.notify("success", "Pumas", `Added ${path} to the import roots`); } catch (err) {
      ctx.notify("error", "Could not add the import root", err.message);
    }
  }

  async function pick(path) {
    picker.hidden = false;
    setChildren(picker, h("span", { class: "pumas-note" }, "Loading…"));
    try {
      const body = await client.get("/pumas/browse", { path: path || undefined });
      const dirs = ((body && body.entries) || []).filter((e) => e.is_dir);
      setChildren(picker,
        body && body.path ? h("div", { class: "pumas-bar pumas-nowrap-bar" },
          h("span", { class: "pumas-note pumas-grow", title: body.path }, body.path),
          h("button", { type: "button", class: "pumas-btn pumas-small", onclick: () => { rootInput.value = body.path; } }, "Use this folder")) : null,
        body && body.parent ? h("button", { type: "button", onclick: () => pick(body.parent) }, h("i", { class: "pi pi-arrow-up", "aria-hidden": "true" }), " ..") : null,
        dirs.map((e) => h("button", { type: "button", class: "pumas-dir", title: e.path, onclick: () => { rootInput.value = e.path; pick(e.path); } },
          h("i", { class: "pi pi-folder", "aria-hidden": "true" }), ` ${e.name}`)),
        dirs.length ? null : h("div", { class: "pumas-note" }, "No sub-folders."));
    } catch (err) {
      setChildren(picker, h("span", { class: "pumas-job-failed" }, `Cannot browse ${path || "the import roots"}: ${err.message}`));
    }
  }

  async function moveLibrary(s, host) {
    const target = libInput.value.trim();
    if (!target || target === s.library) { libMsg.textContent = "Type the folder the library now lives in."; return; }
    const ok = await confirmInline(host, `Move the library from ${s.library} to ${target}? Move the folder there first (Pumas does not copy it); this re-points every link and remembers the new location.`, "Move library");
    if (!ok) return;
    const job = ctx.jobs.add("Move library", "relocate", null, {
      onDone: async () => { if (await save({ library: target }, `Library is now ${target}`)) { editedLib = false; ctx.onLibraryChanged(); } },
    });
    try {
      const body = await client.post("/pumas/relocate", { old: s.library, new: target });
      ctx.jobs.settle(job, body, jobIdOf(body));
    } catch (err) { ctx.jobs.finish(job, "failed", err); }
  }

  function paint(s) {
    if (!s) { setChildren(fold.body, h("span", { class: "pumas-note" }, "Loading settings…")); return; }
    if (!editedLib) libInput.value = s.library || "";
    const roots = Array.isArray(s.import_roots) ? s.import_roots : [];
    const libActions = h("div", { class: "pumas-bar" },
      h("button", { type: "button", class: "pumas-btn pumas-use-library", title: "Use another (or a new, empty) library from now on",
        onclick: async () => {
          const target = libInput.value.trim();
          if (await save({ library: target }, `Library is now ${target}`)) { editedLib = false; ctx.onLibraryChanged(); }
        } }, "Use this library"),
      h("button", { type: "button", class: "pumas-btn pumas-move-library", title: "After moving the library folder: re-point links to the new place",
        onclick: () => moveLibrary(s, libActions) }, "Move library here…"));
    const modeSelect = h("select", { class: "pumas-default-mode", "aria-label": "Default import mode", title: IMPORT_MODE_HELP,
      onchange: (e) => save({ import_mode: e.target.value }, `Default import mode: ${e.target.value}`) },
    (s.import_modes || ["auto", "copy", "move"]).map((m) => h("option", { value: m }, m)));
    modeSelect.value = s.import_mode || "auto";
    const lookups = h("input", { type: "checkbox", id: "pumas-lookups", class: "pumas-lookups", checked: s.lookups !== false,
      onchange: (e) => save({ lookups: e.target.checked }, e.target.checked ? "Online lookups on" : "Offline: no online lookups") });
    setChildren(fold.body,
      h("h4", null, "Library location"),
      h("div", { class: "pumas-bar" }, libInput), libActions, libMsg,
      s.library_configured && s.library_configured !== s.library
        ? h("div", { class: "pumas-note" }, `config.json names ${s.library_configured}; PUMAS_LIBRARY or --library overrides it.`) : null,
      h("h4", { class: "pumas-roots-title" }, "Import roots"),
      h("div", { class: "pumas-note" }, s.import_roots_configured ? "Folders the panel may import from and browse." : "Defaults (ComfyUI models folders, Downloads) until you add one."),
      h("ul", { class: "pumas-roots" }, roots.map((r) => h("li", { class: "pumas-root" },
        h("span", { class: "pumas-grow pumas-mono", title: r }, r),
        h("button", { type: "button", class: "pumas-btn pumas-small pumas-remove-root", "aria-label": `Remove import root ${r}`, title: "Remove this import root",
          onclick: () => save({ import_roots: roots.filter((x) => x !== r) }, `Removed ${r}`) }, h("i", { class: "pi pi-times", "aria-hidden": "true" }), " Remove")))),
      h("div", { class: "pumas-bar" }, rootInput),
      h("div", { class: "pumas-bar" },
        h("button", { type: "button", class: "pumas-btn pumas-pick-root", onclick: () => (picker.hidden ? pick(rootInput.value.trim()) : (picker.hidden = true)) },
          h("i", { class: "pi pi-folder-open", "aria-hidden": "true" }), " Browse…"),
        h("button", { type: "button", class: "pumas-btn pumas-primary pumas-add-root-btn", onclick: () => addRoot(rootInput.value.trim()) },
          h("i", { class: "pi pi-plus", "aria-hidden": "true" }), " Add root")),
      picker,
      h("h4", null, "Import"),
      h("label", { class: "pumas-bar pumas-nowrap-bar" }, h("span", null, "Default mode"), modeSelect),
      h("div", { class: "pumas-note" }, s.import_mode_help || IMPORT_MODE_HELP),
      h("h4", null, "Online lookups"),
      h("label", { for: "pumas-lookups", class: "pumas-bar pumas-nowrap-bar" }, lookups, "Look models up on HuggingFace and CivitAI"),
      h("div", { class: "pumas-note" }, "Off = offline: models stay \"lookup pending\" until you turn it on."));
  }

  const unsubscribe = settings.subscribe(paint);
  paint(settings.get());
  return { el: fold.el, open() { fold.setOpen(true); fold.el.scrollIntoView({ block: "nearest" }); }, async refresh() { try { await settings.load(); } catch (err) { setChildren(fold.body, h("span", { class: "pumas-job-failed" }, `Settings unavailable: ${err.message}`)); } }, destroy() { unsubscribe(); } };
}
