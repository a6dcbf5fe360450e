// "Bring in models from this ComfyUI": the adoption wizard (scan → plan → adopt, with cancel, resume
// and undo). Routes: POST /pumas/adopt/plan, /apply, /cancel, /undo; GET /pumas/adopt/journals.

import { confirmInline, h, setChildren } from "./dom.js";
import { jobIdOf } from "./client.js";
import { createFold } from "./fold.js";
import { formatBytes } from "./format.js";

const ACTION_LABELS = {
  move: "move in", copy: "copy in", link_duplicate: "duplicate → link", link_existing: "already in library → link",
  refuse: "left in place", skip: "already a link",
};

/** "12 s" / "3 min" / "1.5 h" for an estimate in seconds. */
export function formatSeconds(s) {
  if (!(s >= 0)) return "?";
  if (s < 90) return `${Math.max(1, Math.round(s))} s`;
  if (s < 5400) return `${Math.round(s / 60)} min`;
  return `${(s / 3600).toFixed(1)} h`;
}

/** One-line summary of a plan document (the dry-run JSON). */
export function planSummary(doc) {
  const t = doc.totals || {};
  return `${t.files ?? doc.files.length} files (${formatBytes(t.bytes || 0)}) as ${t.models ?? "?"} models · ` +
    `${(doc.duplicates || []).length} duplicate groups, ${formatBytes(doc.reclaimable_bytes || 0)} reclaimable · ` +
    `about ${formatSeconds(doc.estimated_seconds)}`;
}

/**
 * Build the wizard section.
 * @param {{client, jobs, notify, state, onAdopted: () => void}} ctx
 * @returns {{el: HTMLElement, refresh(): Promise<void>, destroy(): void}}
 */
export function createAdoptView(ctx) {
  const { client, jobs, state } = ctx;
  const fold = createFold({ key: "adopt", title: "Bring in models from this ComfyUI", open: state.open || (state.open = {}),
    cls: "pumas-adopt pumas-section", label: "Bring in models from this ComfyUI", onOpen: () => refresh() });
  const out = h("div", { class: "pumas-adopt-body", "aria-live": "polite" });
  const error = h("div", { class: "pumas-job-failed", hidden: true });
  const actions = h("div", { class: "pumas-bar" });
  let plan = null, running = null, seq = 0;

  const fail = (err) => { error.textContent = err.message || String(err); error.hidden = false; };

  async function scan() {
    error.hidden = true;
    setChildren(out, h("div", { class: "pumas-note" }, "Scanning model folders…"));
    try {
      plan = await client.post("/pumas/adopt/plan", {});
      paint();
    } catch (err) { plan = null; fail(err); paint(); }
  }

  function track(label, body, onDone) {
    const job = jobs.add(label, "adopt", null, { onDone, onFail: () => { running = null; refresh(); } });
    jobs.settle(job, body, jobIdOf(body));
    running = job.state === "running" ? job : null;
    paint();
  }

  async function adopt() {
    if (!await confirmInline(actions, "Move these files into the library and leave links in their place?", "Adopt")) return;
    try {
      const body = await client.post("/pumas/adopt/apply", {});
      track("Adopt models", body, (job) => { running = null; plan = null; ctx.onAdopted(); report(job.result); refresh(); });
    } catch (err) { fail(err); }
  }

  async function resume(id) {
    try {
      const body = await client.post("/pumas/adopt/apply", { resume: true, journal_id: id });
      track("Resume adoption", body, (job) => { running = null; ctx.onAdopted(); report(job.result); refresh(); });
    } catch (err) { fail(err); }
  }

  async function undo(id) {
    if (!await confirmInline(actions, "Put every file back where it was and remove the models this adoption added?", "Undo")) return;
    try {
      const body = await client.post("/pumas/adopt/undo", { journal_id: id });
      track("Undo adoption", body, (job) => {
        running = null; ctx.onAdopted();
        const r = job.result || {};
        ctx.notify(r.errors && r.errors.length ? "error" : "success", "Model Library",
          `Restored ${r.restored || 0} files${r.errors && r.errors.length ? `; ${r.errors.length} problems` : ""}`);
        refresh();
      });
    } catch (err) { fail(err); }
  }

  async function cancel() {
    if (!running || !running.serverId) return;
    try { await client.post("/pumas/adopt/cancel", { job: running.serverId }); } catch (err) { fail(err); }
  }

  function report(r) {
    if (!r) return;
    ctx.notify(r.failed && r.failed.length ? "warn" : "success", "Model Library",
      `Adopted ${r.linked} files: ${(r.models_created || []).length} new models, ${r.duplicates_linked} duplicates ` +
      `(${formatBytes(r.reclaimed_bytes || 0)} reclaimed)${r.state !== "complete" ? ` — ${r.state}, resumable` : ""}`);
  }

  function paint(journals) {
    const rows = [];
    if (plan) {
      rows.push(h("div", { class: "pumas-adopt-summary" }, planSummary(plan)));
      const files = plan.files || [];
      rows.push(h("ul", { class: "pumas-adopt-files" }, files.slice(0, 50).map((f) =>
        h("li", { title: f.library_path || f.reason || "" },
          h("span", { class: `pumas-adopt-action pumas-adopt-${f.action}` }, ACTION_LABELS[f.action] || f.action), " ",
          f.path, " ", h("span", { class: "pumas-note" }, formatBytes(f.size)))),
        files.length > 50 ? h("li", { class: "pumas-note" }, `… and ${files.length - 50} more`) : null));
    }
    for (const j of journals || []) {
      if (j.state === "interrupted" || j.state === "cancelled") {
        rows.push(h("div", { class: "pumas-bar" }, h("span", { class: "pumas-grow" }, `Adoption ${j.journal_id} is ${j.state}.`),
          h("button", { type: "button", class: "pumas-btn pumas-adopt-resume", onclick: () => resume(j.journal_id) }, "Resume"),
          h("button", { type: "button", class: "pumas-btn pumas-adopt-undo", onclick: () => undo(j.journal_id) }, "Undo")));
      } else if (j.state === "complete") {
        rows.push(h("div", { class: "pumas-bar" },
          h("span", { class: "pumas-grow pumas-note" }, `Last adoption: ${j.linked} files linked, ${formatBytes(j.reclaimed_bytes || 0)} reclaimed.`),
          h("button", { type: "button", class: "pumas-btn pumas-adopt-undo", onclick: () => undo(j.journal_id) }, "Undo")));
      }
    }
    setChildren(actions,
      h("button", { type: "button", class: "pumas-btn pumas-adopt-scan", disabled: Boolean(running), onclick: scan }, plan ? "Re-scan" : "Scan"),
      plan && (plan.totals || {}).files ? h("button", { type: "button", class: "pumas-btn pumas-primary pumas-adopt-apply",
        disabled: Boolean(running), onclick: adopt }, "Adopt") : null,
      running ? h("button", { type: "button", class: "pumas-btn pumas-adopt-cancel", onclick: cancel }, "Cancel") : null);
    setChildren(out, rows.length ? rows : h("div", { class: "pumas-note" },
      "Move the models of your ComfyUI installs into the library; each file is replaced by a link with the same name, so workflows keep working. Undo puts everything back."));
  }

  async function refresh() {
    const mine = ++seq;
    try {
      const body = await client.get("/pumas/adopt/journals");
      if (mine === seq) paint((body && body.journals || []).slice(0, 1));
    } catch (err) { if (mine === seq) { fail(err); paint(); } }
  }

  setChildren(fold.body, out, error, actions);
  paint();
  return { el: fold.el, refresh, destroy() { seq += 1; } };
}
