// Health badge (green/yellow/red from GET /pumas/health) with details: each problem says why and
// what fixes it; Repair / Clean (confirmed with a count) report what they fixed and what remains.

import { confirmInline, h, setChildren } from "./dom.js";
import { jobIdOf } from "./client.js";
import { createFold } from "./fold.js";
import { HEALTH_SECTIONS, fixableCounts, fixedBy, itemSubject, nextStep, problemTotal, summarizeResult } from "./health_items.js";

const LABELS = { healthy: "Healthy", warnings: "Warnings", errors: "Errors" };
const FIXER_LABEL = { repair: "Repair", clean: "Clean", rebuild: "Rebuild index" };

function problemCount(hb) {
  const n = problemTotal(hb);
  return n ? `${n} problem${n === 1 ? "" : "s"}` : (LABELS[hb.status] || String(hb.status || ""));
}

/** Model ids named by a health body (broken links, phantom models): the list's "needs attention" filter uses them. */
export function modelIdsWithProblems(hb) {
  const ids = new Set();
  for (const key of ["broken_links", "phantom_models"]) {
    for (const it of (hb && Array.isArray(hb[key]) ? hb[key] : [])) if (it && it.model_id) ids.add(it.model_id);
  }
  return ids;
}

function itemRow(key, it, fallback) {
  const reason = it && typeof it === "object" && it.reason ? it.reason : "";
  const by = fixedBy(key, it);
  return h("li", { class: "pumas-health-item" },
    h("div", { class: "pumas-health-subject", title: itemSubject(it) }, itemSubject(it)),
    reason ? h("div", { class: "pumas-note" }, reason) : null,
    h("div", { class: "pumas-health-next" },
      h("span", { class: `pumas-badge pumas-mini pumas-fixer-${by || "manual"}` }, by ? FIXER_LABEL[by] || by : "Needs you"),
      " ", nextStep(key, it, fallback)));
}

/**
 * Build the health view.
 * @param {{client, jobs, notify, state, apps?: {el, refresh}, onLibraryChanged: () => void}} ctx
 *   state.health: the last GET /pumas/health body or null; state.healthResult: the last Repair/Clean
 *   summary ({label, fixed, fixedCount, notFixed}) shown until the next one.
 * @returns {{badge: HTMLElement, el: HTMLElement, refresh(): Promise<void>, open(): void, destroy(): void}}
 */
export function createHealthView(ctx) {
  const { client, jobs, state } = ctx;
  const dot = h("span", { class: "pumas-dot", "aria-hidden": "true" });
  const text = h("span", null, "Checking…");
  const fold = createFold({ key: "health", title: "Health", open: state.open || (state.open = {}),
    cls: "pumas-health-details pumas-section", label: "Library health", onOpen: () => { if (ctx.apps) ctx.apps.refresh(); } });
  const open = () => { fold.setOpen(true); paint(); fold.el.scrollIntoView({ block: "nearest" }); };
  const badge = h("button", { type: "button", class: "pumas-health", "aria-expanded": "false",
    onclick: () => {
      const closedDetails = ctx.onBadge ? ctx.onBadge() : false;   // the details drawer hides the sections
      if (state.open.health && !closedDetails) { fold.setOpen(false); paint(); } else open();
    } }, dot, text);
  fold.el.addEventListener("toggle", () => badge.setAttribute("aria-expanded", fold.el.open ? "true" : "false"));
  let seq = 0;

  function resultBox() {
    const r = state.healthResult;
    if (!r) return null;
    return h("div", { class: "pumas-callout pumas-health-result", role: "status" },
      h("strong", null, `${r.label}: fixed ${r.fixedCount}, not fixed ${r.notFixed.length}`),
      r.fixed.length ? h("ul", null, r.fixed.slice(0, 20).map((f) => h("li", null, f.subject, f.reason ? ` (${f.reason})` : ""))) : null,
      r.notFixed.length ? h("div", null, h("div", { class: "pumas-note" }, "Not fixed:"),
        h("ul", { class: "pumas-not-fixed" }, r.notFixed.slice(0, 20).map((f) => h("li", null, f.subject, f.reason ? `: ${f.reason}` : "")))) : null);
  }

  function paint() {
    const hb = state.health;
    const status = hb && LABELS[hb.status] ? hb.status : "unknown";
    badge.className = `pumas-health pumas-health-${status}`;
    text.textContent = hb ? (LABELS[hb.status] || String(hb.status)) : (state.healthError ? "Health unavailable" : "Checking…");
    badge.setAttribute("aria-label", `Library health: ${text.textContent}. Show details`);
    badge.setAttribute("aria-expanded", state.open.health ? "true" : "false");
    fold.setTitle("Health", h("span", { class: `pumas-count pumas-health-${status}` }, h("span", { class: "pumas-dot", "aria-hidden": "true" }),
      hb ? problemCount(hb) : ""));
    const counts = fixableCounts(hb);
    const actions = h("div", { class: "pumas-bar" },
      h("button", { type: "button", class: "pumas-btn pumas-repair-btn", disabled: Boolean(hb) && !counts.repair,
        title: "Re-create broken links of models that are still in the library (never deletes anything)",
        onclick: () => run("/pumas/health/repair", "Repair", "health") },
      h("i", { class: "pi pi-wrench", "aria-hidden": "true" }), ` Repair${hb ? ` (${counts.repair})` : ""}`),
      h("button", { type: "button", class: "pumas-btn pumas-clean-btn", disabled: Boolean(hb) && !counts.clean,
        title: "Remove dead and orphaned links and forget missing installs (model files are never touched)",
        onclick: () => clean(actions, counts.clean) },
      h("i", { class: "pi pi-trash", "aria-hidden": "true" }), ` Clean${hb ? ` (${counts.clean})` : ""}…`),
      h("button", { type: "button", class: "pumas-btn pumas-rebuild-btn", title: "Recreate the index from every metadata.json",
        onclick: () => rebuild(actions) }, h("i", { class: "pi pi-database", "aria-hidden": "true" }), " Rebuild index…"),
      h("button", { type: "button", class: "pumas-btn", title: "Check again", onclick: () => refresh() },
        h("i", { class: "pi pi-refresh", "aria-hidden": "true" }), " Re-check"));
    const parts = HEALTH_SECTIONS.map(([key, label, fallback]) => {
      const items = hb && Array.isArray(hb[key]) ? hb[key] : [];
      if (!items.length) return null;
      return h("div", { class: "pumas-health-group", dataset: { key } }, h("h4", null, `${label} (${items.length})`),
        h("ul", null, items.slice(0, 20).map((it) => itemRow(key, it, fallback)),
          items.length > 20 ? h("li", { class: "pumas-note" }, `… and ${items.length - 20} more`) : null));
    });
    setChildren(fold.body,
      state.healthError ? h("div", { class: "pumas-job-failed" }, state.healthError) : null,
      resultBox(),
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
    if (ctx.onHealth) ctx.onHealth(state.health);
  }

  function report(label, result) {
    const s = summarizeResult(result);
    state.healthResult = { label, ...s };
    const rest = s.notFixed.length;
    ctx.notify(rest ? "warn" : "success", `${label} finished`,
      `Fixed ${s.fixedCount}${rest ? `; ${rest} not fixed: ${s.notFixed.slice(0, 3).map((f) => `${f.subject}${f.reason ? ` (${f.reason})` : ""}`).join("; ")}${rest > 3 ? " …" : ""}` : ""}`);
  }

  async function run(route, label, kind) {
    const fixes = kind === "health";   // Repair / Clean: report what was fixed instead of a generic toast
    const job = jobs.add(label, kind, null, { quiet: fixes,
      onDone: (j) => { if (fixes) report(label, j.result); refresh(); ctx.onLibraryChanged(); }, onFail: () => refresh() });
    try {
      const body = await client.post(route, {});
      jobs.settle(job, body, jobIdOf(body));
    } catch (err) {
      jobs.finish(job, "failed", err);
      ctx.notify("error", `${label} failed`, err.message);
    }
  }

  async function clean(host, n) {
    const ok = await confirmInline(host, `Clean ${n} problem${n === 1 ? "" : "s"}? Dead and orphaned links are removed and missing installs forgotten. Model files are not touched.`, "Clean");
    if (ok) run("/pumas/health/clean", "Clean", "health");
  }

  async function rebuild(host) {
    const ok = await confirmInline(host, "Rebuild the index from every metadata.json? Search is unavailable while it runs.", "Rebuild");
    if (ok) run("/pumas/rebuild", "Rebuild index", "rebuild");
  }

  paint();
  return { badge, el: fold.el, refresh, open, destroy() { seq += 1; } };
}
