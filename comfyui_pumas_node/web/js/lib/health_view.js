// Health badge (green/yellow/red from GET /pumas/health) with details, Clean / Repair, Rebuild index.

import { confirmInline, h, setChildren } from "./dom.js";
import { jobIdOf } from "./client.js";
import { createFold } from "./fold.js";

const LABELS = { healthy: "Healthy", warnings: "Warnings", errors: "Errors" };
const SECTIONS = [
  ["broken_links", "Broken links"], ["orphaned_links", "Orphaned links"],
  ["ghost_apps", "Missing ComfyUI installs"], ["phantom_models", "Phantom models"],
];

/** "3 problems" / "OK" for the section title. */
function problemCount(hb) {
  const n = SECTIONS.reduce((sum, [key]) => sum + (Array.isArray(hb[key]) ? hb[key].length : 0), 0);
  return n ? `${n} problem${n === 1 ? "" : "s"}` : (LABELS[hb.status] || String(hb.status || ""));
}

function describe(item) {
  if (item === null || item === undefined) return "";
  if (typeof item !== "object") return String(item);
  return String(item.path || item.link_path || item.comfyui_dir || item.model_id || item.name || JSON.stringify(item));
}

/**
 * Build the health view.
 * @param {{client, jobs, notify, state, apps?: {el, refresh}, onLibraryChanged: () => void}} ctx
 *   `apps` (lib/apps_view.js) is shown at the end of the details and refreshed when they open.
 *   state.health: the last GET /pumas/health body or null; state.open.health: the collapsible
 *   section is expanded (the header badge toggles it too).
 * @returns {{badge: HTMLElement, el: HTMLElement, refresh(): Promise<void>, destroy(): void}}
 */
export function createHealthView(ctx) {
  const { client, jobs, state } = ctx;
  const dot = h("span", { class: "pumas-dot", "aria-hidden": "true" });
  const text = h("span", null, "Checking…");
  const fold = createFold({ key: "health", title: "Health", open: state.open || (state.open = {}),
    cls: "pumas-health-details pumas-section", label: "Library health", onOpen: () => { if (ctx.apps) ctx.apps.refresh(); } });
  const badge = h("button", { type: "button", class: "pumas-health", "aria-expanded": "false",
    onclick: () => {
      fold.setOpen(!state.open.health); paint();
      if (state.open.health) fold.el.scrollIntoView({ block: "nearest" });
    } }, dot, text);
  fold.el.addEventListener("toggle", () => badge.setAttribute("aria-expanded", fold.el.open ? "true" : "false"));
  const el = fold.el;
  let seq = 0;

  function paint() {
    const hb = state.health;
    const status = hb && LABELS[hb.status] ? hb.status : "unknown";
    badge.className = `pumas-health pumas-health-${status}`;
    text.textContent = hb ? (LABELS[hb.status] || String(hb.status)) : (state.healthError ? "Health unavailable" : "Checking…");
    badge.setAttribute("aria-label", `Library health: ${text.textContent}. Show details`);
    badge.setAttribute("aria-expanded", state.open.health ? "true" : "false");
    fold.setTitle("Health", h("span", { class: `pumas-count pumas-health-${status}` }, h("span", { class: "pumas-dot", "aria-hidden": "true" }),
      hb ? problemCount(hb) : ""));
    const actions = h("div", { class: "pumas-bar" },
      h("button", { type: "button", class: "pumas-btn pumas-clean-btn", onclick: () => run("/pumas/health/clean", "Clean", "health") }, "Clean"),
      h("button", { type: "button", class: "pumas-btn pumas-repair-btn", onclick: () => run("/pumas/health/repair", "Repair", "health") }, "Repair"),
      h("button", { type: "button", class: "pumas-btn pumas-rebuild-btn", onclick: () => rebuild(actions) }, "Rebuild index…"),
      h("button", { type: "button", class: "pumas-btn", onclick: () => refresh() }, "Re-check"));
    const parts = SECTIONS.map(([key, label]) => {
      const items = hb && Array.isArray(hb[key]) ? hb[key] : [];
      if (!items.length) return null;
      return h("div", null, h("h4", null, `${label} (${items.length})`),
        h("ul", null, items.slice(0, 20).map((it) => h("li", null, describe(it))),
          items.length > 20 ? h("li", { class: "pumas-note" }, `… and ${items.length - 20} more`) : null));
    });
    setChildren(fold.body,
      state.healthError ? h("div", { class: "pumas-job-failed" }, state.healthError) : null,
      hb && hb.status === "healthy" ? h("div", { class: "pumas-note" }, "No problems found.") : null,
      parts, actions, ctx.apps ? ctx.apps.el : null);
  }

  async function refresh() {
    const mine = ++seq;
    try {
      const body = await client.get("/pumas/health");
      if (mine !== seq) return;
      state.health = body; state.healthError = "";
    } catch (err) {
      if (mine !== seq) return;
      state.health = null; state.healthError = `Health check failed: ${err.message}`;
    }
    paint();
  }

  async function run(route, label, kind) {
    const job = jobs.add(label, kind, null, { onDone: () => { refresh(); ctx.onLibraryChanged(); }, onFail: () => refresh() });
    try {
      const body = await client.post(route, {});
      const id = jobIdOf(body);
      jobs.settle(job, body, id);
    } catch (err) {
      jobs.finish(job, "failed", err);
      ctx.notify("error", `${label} failed`, err.message);
    }
  }

  async function rebuild(host) {
    const ok = await confirmInline(host, "Rebuild the index from every metadata.json? Search is unavailable while it runs.", "Rebuild");
    if (ok) run("/pumas/rebuild", "Rebuild index", "rebuild");
  }

  paint();
  return { badge, el, refresh, destroy() { seq += 1; } };
}
