// Import: by server path (with a folder browser confined to the import roots) and by dropping
// desktop files (streamed to POST /pumas/upload). Pickle formats need an explicit acknowledgement.

import { h, setChildren } from "./dom.js";
import { IMPORT_MODE_HELP, isPickleName } from "./format.js";
import { jobIdOf } from "./client.js";
import { createFold } from "./fold.js";

const PICKLE_CODE = "pickle_not_accepted";

/** True when an error (HTTP error or a job's failed entry) is the server's pickle refusal. */
/** Names of entries in an import result's `failed` list that the server refused as pickles. */
export function pickleRefusals(result) {
  const failed = (result && Array.isArray(result.failed)) ? result.failed : [];
  return failed.filter((f) => f && (f.code === PICKLE_CODE || isPickleRefusal(f.error)));
}

export function isPickleRefusal(err) {
  if (!err) return false;
  const code = err.code || (err.body && err.body.code) || (err.errorObj && err.errorObj.code);
  return code === PICKLE_CODE;
}

/**
 * Build the import view.
 * @param {{client, jobs, notify, state, getMode: () => string}} ctx
 *   state.pending: null | {kind: "path"|"files", paths?: string[], files?: File[], names: string[]};
 *   state.open.import: the section is expanded (default true; a pickle question re-opens it).
 * @returns {{el, handleFiles(files: File[]): void, destroy(): void}}
 */
export function createImportView(ctx) {
  const { client, jobs, state } = ctx;
  const pathInput = h("input", {
    type: "text", class: "pumas-grow pumas-import-path", placeholder: "Server path of a file or folder",
    "aria-label": "Path to import on the server", value: state.importPath || "",
    oninput: (e) => { state.importPath = e.target.value; },
    onkeydown: (e) => { if (e.key === "Enter") importPath(); },
  });
  const modeSelect = h("select", { "aria-label": "Import mode", class: "pumas-import-mode", title: IMPORT_MODE_HELP,
    onchange: (e) => { state.mode = e.target.value; } },
  h("option", { value: "auto" }, "auto"), h("option", { value: "copy" }, "copy"), h("option", { value: "move" }, "move"));
  modeSelect.value = state.mode || ctx.getMode() || "auto";
  if (!state.mode && ctx.whenMode) ctx.whenMode((m) => { if (!state.mode && m) modeSelect.value = m; });
  const browser = h("div", { class: "pumas-browser", hidden: true, role: "group", "aria-label": "Server folders" });
  const warning = h("div", { class: "pumas-pickle-slot" });
  const rootOffer = h("div", { class: "pumas-root-offer" });

  function renderWarning() {
    const p = state.pending;
    if (!p) { warning.replaceChildren(); return; }
    const ack = h("input", { type: "checkbox", class: "pumas-pickle-ack", id: "pumas-pickle-ack" });
    const go = h("button", { type: "button", class: "pumas-btn pumas-danger pumas-pickle-go", disabled: true,
      onclick: () => { if (ack.checked) confirmPending(); } }, "Import anyway");
    ack.addEventListener("change", () => { go.disabled = !ack.checked; });
    setChildren(warning, h("div", { class: "pumas-warning", role: "alert" },
      h("strong", null, "Pickle format: "),
      `${p.names.join(", ")} can run arbitrary code when loaded. Import only files from sources you trust.`,
      h("label", { for: "pumas-pickle-ack" }, ack, "I understand the risks"),
      h("div", { class: "pumas-bar" }, go,
        h("button", { type: "button", class: "pumas-btn", onclick: () => { state.pending = null; renderWarning(); } }, "Cancel"))));
  }

  function ask(pending) { state.pending = pending; renderWarning(); fold.setOpen(true); }

  function confirmPending() {
    const p = state.pending;
    state.pending = null;
    renderWarning();
    if (!p) return;
    if (p.kind === "path") startPathImport(p.paths, true);
    else uploadAll(p.files, true);
  }

  function importPath() {
    const path = pathInput.value.trim();
    if (!path) { ctx.notify("warn", "Pumas", "Enter a path on the server to import."); return; }
    rootOffer.replaceChildren();
    if (isPickleName(path)) { ask({ kind: "path", paths: [path], names: [path.split(/[\\/]/).pop()] }); return; }
    startPathImport([path], false);
  }

  async function startPathImport(paths, acceptPickle) {
    const label = `Import ${paths.map((p) => p.split(/[\\/]/).pop()).join(", ")}`;
    const job = jobs.add(label, "import", null, { paths, acceptPickle,
      onDone: (j) => {
        const refused = acceptPickle ? [] : pickleRefusals(j.result);
        if (refused.length) ask({ kind: "path", paths: refused.map((f) => f.path), names: refused.map((f) => String(f.path).split(/[\\/]/).pop()) });
      },
      onFail: (j) => { if (!acceptPickle && isPickleRefusal(j)) ask({ kind: "path", paths, names: paths.map((p) => p.split(/[\\/]/).pop()) }); } });
    try {
      const body = await client.post("/pumas/import", { paths, mode: modeSelect.value, accept_pickle: acceptPickle || undefined });
      const id = jobIdOf(body);
      jobs.settle(job, body, id);
    } catch (err) {
      jobs.finish(job, "failed", err);
      const offer = outsideRoots(err, paths[0], () => startPathImport(paths, acceptPickle));
      if (offer) setChildren(rootOffer, offer);
    }
  }

  /**
   * For a 403 "outside the import roots": a callout offering to add the folder to the import roots
   * (`path` itself when `isFolder`, else the folder of a path whose last part has a file extension),
   * then `retry()`. Returns null for any other error.
   */
  function outsideRoots(err, path, retry, isFolder = false) {
    if (!err || !(err.status === 403 || err.code === "path_not_allowed") || !path || !ctx.addImportRoot) return null;
    const clean = String(path).replace(/(.)[\\/]+$/, "$1");
    const last = clean.split(/[\\/]/).pop();
    const target = !isFolder && /\.[A-Za-z0-9]{1,12}$/.test(last) ? (clean.slice(0, clean.length - last.length - 1) || "/") : clean;
    const box = h("div", { class: "pumas-callout pumas-add-root", role: "alert" },
      h("span", null, `${target} is not in your import roots.`),
      h("button", { type: "button", class: "pumas-btn pumas-primary pumas-add-root-btn", onclick: async () => {
        try {
          await ctx.addImportRoot(target);
          box.remove();
          ctx.notify("success", "Pumas", `Added ${target} to the import roots`);
          retry();
        } catch (e2) { ctx.notify("error", "Could not add the import root", e2.message); }
      } }, h("i", { class: "pi pi-plus", "aria-hidden": "true" }), " Add this folder to import roots"));
    return box;
  }

  /** Files dropped on the panel: ask first when any is a pickle format. */
  function handleFiles(files) {
    const list = [...files].filter((f) => f && f.name);
    if (!list.length) return;
    const pickles = list.filter((f) => isPickleName(f.name));
    if (pickles.length) { ask({ kind: "files", files: list, names: pickles.map((f) => f.name) }); return; }
    uploadAll(list, false);
  }

  async function uploadAll(files, acceptPickle) {
    for (const file of files) await uploadOne(file, acceptPickle);   // one at a time: disks prefer it
  }

  async function uploadOne(file, acceptPickle) {
    const job = jobs.add(`Upload ${file.name}`, "upload", null, {
      onFail: (j) => { if (!acceptPickle && isPickleRefusal(j)) ask({ kind: "files", files: [file], names: [file.name] }); },
    });
    jobs.update(job, { stage: "uploading", file: file.name, bytes_done: 0, bytes_total: file.size });
    try {
      const up = client.upload(file, { acceptPickle, onProgress: (sent, total) =>
        jobs.update(job, { stage: "uploading", file: file.name, bytes_done: sent, bytes_total: total }) });
      const body = await up.promise;
      const id = jobIdOf(body);
      jobs.settle(job, body, id);
    } catch (err) {
      jobs.finish(job, "failed", err);
    }
  }

  async function browse(path) {
    browser.hidden = false;
    setChildren(browser, h("span", { class: "pumas-note" }, "Loading…"));
    try {
      const body = await client.get("/pumas/browse", { path: path || undefined });
      const entries = (body && body.entries) || [];
      const up = body && body.parent ? h("button", { type: "button", "aria-label": "Parent folder", onclick: () => browse(body.parent) },
        h("i", { class: "pi pi-arrow-up", "aria-hidden": "true" }), " ..") : null;
      setChildren(browser,
        body && body.path ? h("div", { class: "pumas-note" }, body.path) : h("div", { class: "pumas-note" }, "Import roots"),
        up,
        entries.length ? null : h("div", { class: "pumas-note" }, "Nothing here."),
        entries.map((e) => h("button", {
          type: "button", class: e.is_dir ? "pumas-dir" : "pumas-file", title: e.path,
          "aria-label": `${e.is_dir ? "Folder" : "File"} ${e.name}`,
          onclick: () => { pathInput.value = e.path; state.importPath = e.path; if (e.is_dir) browse(e.path); },
        }, h("i", { class: e.is_dir ? "pi pi-folder" : "pi pi-file", "aria-hidden": "true" }), ` ${e.name}`)));
    } catch (err) {
      setChildren(browser, h("span", { class: "pumas-job-failed" }, `Cannot browse ${path || "the import roots"}: ${err.message}`),
        outsideRoots(err, path, () => browse(path), true));
    }
  }

  const fold = createFold({ key: "import", title: "Import", open: state.open || (state.open = {}), defaultOpen: true,
    cls: "pumas-import pumas-section", label: "Import models" });
  // Where path imports may come from (the settings' import roots), with a way to change them.
  const rootsLine = h("div", { class: "pumas-roots-line pumas-note" });
  const paintRoots = (st) => {
    const roots = (st && Array.isArray(st.import_roots)) ? st.import_roots : [];
    setChildren(rootsLine, h("strong", { class: "pumas-roots-heading" }, "Import roots"), ": ",
      h("span", { class: "pumas-roots-list", title: roots.join("\n") }, roots.length ? roots.join(", ") : "none yet"),
      ctx.openSettings ? h("button", { type: "button", class: "pumas-btn pumas-small pumas-edit-roots", onclick: () => ctx.openSettings() }, "Edit…") : null);
  };
  const unsubscribe = ctx.whenSettings ? ctx.whenSettings(paintRoots) : () => {};
  paintRoots(null);
  fold.body.append(
    h("div", { class: "pumas-bar" }, pathInput),
    h("div", { class: "pumas-bar" },
      modeSelect,
      h("button", { type: "button", class: "pumas-btn pumas-browse-btn", title: "Browse the server's import folders",
        onclick: () => (browser.hidden ? browse(pathInput.value.trim()) : (browser.hidden = true)) },
      h("i", { class: "pi pi-folder-open", "aria-hidden": "true" }), " Browse…"),
      h("button", { type: "button", class: "pumas-btn pumas-primary pumas-import-btn", onclick: importPath },
        h("i", { class: "pi pi-download", "aria-hidden": "true" }), " Import")),
    rootsLine,
    browser,
    rootOffer,
    warning,
    h("div", { class: "pumas-drop", "aria-label": "Drop model files here to upload them" }, "Drop model files here"));
  const el = fold.el;
  renderWarning();
  return { el, handleFiles, destroy() { unsubscribe(); } };
}
