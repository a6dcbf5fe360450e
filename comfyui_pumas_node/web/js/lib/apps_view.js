// Registered ComfyUI installs (GET /pumas/apps), "Sync now" (POST /pumas/sync → job) and, for
// `pumas serve`, registering an install by folder path (POST /pumas/apps {path}).

import { h, setChildren } from "./dom.js";
import { createFold } from "./fold.js";
import { localTime } from "./format.js";
import { openSyncPreview } from "./sync_preview.js";

function appLine(a) {
  const version = a.version ? ` (ComfyUI ${a.version})` : "";
  const when = localTime(a.last_sync_at);
  const synced = when ? `last sync ${when}` : "never synced";
  return h("li", { class: "pumas-app", dataset: { appId: a.app_id || "" } },
    h("span", { class: "pumas-mono" }, String(a.root || a.app_id)), version,
    h("span", { class: "pumas-note" }, ` — ${synced}`));
}

/**
 * Build the installs view (a collapsible section shown inside the health section).
 * @param {{client, jobs, notify, onSynced: () => void, state?: {open?: object}}} ctx
 *   state.open.installs remembers whether the section is expanded (default true).
 * @returns {{el: HTMLElement, refresh(): Promise<void>, destroy(): void}}
 */
export function createAppsView(ctx) {
  const { client, jobs } = ctx;
  const list = h("div", { class: "pumas-apps-list" }, h("span", { class: "pumas-note" }, "Loading installs…"));
  const pathInput = h("input", { type: "text", class: "pumas-grow pumas-app-path", placeholder: "/path/to/ComfyUI",
    "aria-label": "ComfyUI folder to register", onkeydown: (e) => { if (e.key === "Enter") add(); } });
  const error = h("div", { class: "pumas-job-failed pumas-app-error", hidden: true });
  const syncBtn = h("button", { type: "button", class: "pumas-btn pumas-sync-btn",
    title: "Link every library model into the registered installs", onclick: () => sync() }, "Sync now");
  const state = ctx.state || {};
  const fold = createFold({ key: "installs", title: "ComfyUI installs", open: state.open || (state.open = {}), defaultOpen: true,
    cls: "pumas-apps", label: "ComfyUI installs", onOpen: () => refresh() });
  fold.body.append(
    list,
    h("div", { class: "pumas-bar" }, pathInput,
      h("button", { type: "button", class: "pumas-btn pumas-app-add", onclick: () => add() }, "Register")),
    error,
    h("div", { class: "pumas-bar" }, syncBtn));
  const el = fold.el;
  let seq = 0;

  async function refresh() {
    const mine = ++seq;
    try {
      const body = await client.get("/pumas/apps");
      if (mine !== seq) return;
      const apps = (body && Array.isArray(body.apps)) ? body.apps : [];
      fold.setTitle("ComfyUI installs", h("span", { class: "pumas-count" }, String(apps.length)));
      setChildren(list, apps.length ? h("ul", null, apps.map(appLine))
        : h("span", { class: "pumas-note" }, "No ComfyUI install registered yet."));
      syncBtn.disabled = !apps.length;
    } catch (err) {
      if (mine === seq) setChildren(list, h("span", { class: "pumas-job-failed" }, `Could not list installs: ${err.message}`));
    }
  }

  async function add() {
    const path = pathInput.value.trim();
    error.hidden = true;
    if (!path) return;
    try {
      const body = await client.post("/pumas/apps", { path });
      pathInput.value = "";
      ctx.notify("success", "Pumas", `Registered ${(body.app && body.app.root) || path}`);
      await refresh();
    } catch (err) {
      error.textContent = err.message;
      error.hidden = false;
    }
  }

  async function sync() {
    // preview first (nothing changes), then apply with the user's choice per conflict
    await openSyncPreview({ client, jobs, notify: ctx.notify }, { onApplied: () => { refresh(); ctx.onSynced(); } });
  }

  return { el, refresh, destroy() { seq += 1; } };
}
