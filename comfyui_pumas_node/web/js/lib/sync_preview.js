// "Sync now" with a preview: POST /pumas/sync/preview (a dry run, nothing changes) → a dialog with
// summary cards, capped lists, a conflicts table with a choice per row and apply-to-all → POST
// /pumas/sync {resolutions: {link_path: "skip"|"backup"|"rename"}} as a job.

import { jobIdOf } from "./client.js";
import { h, setChildren } from "./dom.js";

const LIST_CAP = 30;
const CHOICES = [
  ["skip", "Skip"],
  ["backup", "Back up & link"],
  ["rename", "Keep both"],
];
const REASONS = {
  file_exists: "A file of yours is there",
  linked_to_different_source: "A link to another file is there",
  already_linked: "Already linked (not by Pumas)",
};
const CHOICE_HELP = "Skip: leave it. Back up & link: your file becomes <name>.pumas-backup (never deleted), "
  + "then Pumas links. Keep both: Pumas links under another name.";

const CSS = `
.pumas-dialog-backdrop{position:fixed;inset:0;background:rgba(0,0,0,.55);z-index:10000;display:flex;
  align-items:center;justify-content:center;padding:12px;box-sizing:border-box}
.pumas-dialog{background:var(--comfy-menu-bg,#202020);color:var(--fg-color,#ddd);border:1px solid var(--border-color,#444);
  border-radius:8px;max-width:min(760px,100%);max-height:100%;width:100%;display:flex;flex-direction:column;
  box-sizing:border-box;font-size:13px}
.pumas-dialog header,.pumas-dialog footer{padding:10px 12px;display:flex;gap:8px;align-items:center;flex-wrap:wrap}
.pumas-dialog header{border-bottom:1px solid var(--border-color,#444);font-weight:600}
.pumas-dialog footer{border-top:1px solid var(--border-color,#444);justify-content:flex-end}
.pumas-dialog .pumas-dialog-body{overflow:auto;padding:10px 12px;min-height:0}
.pumas-cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(110px,1fr));gap:6px;margin-bottom:8px}
.pumas-card{border:1px solid var(--border-color,#444);border-radius:6px;padding:6px 8px}
.pumas-card b{display:block;font-size:18px}
.pumas-card.pumas-warn{border-color:#c98a00}
.pumas-conflicts{width:100%;border-collapse:collapse}
.pumas-conflicts td,.pumas-conflicts th{padding:4px;border-bottom:1px solid var(--border-color,#333);text-align:left;
  vertical-align:top;overflow-wrap:anywhere}
.pumas-plan-list{margin:4px 0 8px 16px;padding:0;overflow-wrap:anywhere}
`;

function ensureStyle() {
  if (document.getElementById("pumas-sync-preview-css")) return;
  document.head.appendChild(h("style", { id: "pumas-sync-preview-css" }, CSS));
}

function card(label, n, warn) {
  return h("div", { class: `pumas-card${warn && n ? " pumas-warn" : ""}`, dataset: { card: label } },
    h("b", null, String(n)), label);
}

/** A list of at most LIST_CAP lines, then "… and N more". */
export function cappedList(items, line, cap = LIST_CAP) {
  const shown = items.slice(0, cap).map((it) => h("li", null, line(it)));
  if (items.length > cap) shown.push(h("li", { class: "pumas-note" }, `… and ${items.length - cap} more`));
  return h("ul", { class: "pumas-plan-list" }, shown);
}

function shortPath(p) {
  const parts = String(p || "").split(/[\\/]/).filter(Boolean);
  return parts.slice(-3).join("/");
}

function choiceSelect(value, onChange, label) {
  const sel = h("select", { class: "pumas-choice", "aria-label": label, title: CHOICE_HELP, onchange: () => onChange(sel.value) },
    CHOICES.map(([v, text]) => h("option", { value: v }, text)));
  sel.value = value;
  return sel;
}

/**
 * Preview a sync, let the user choose per conflict, then apply.
 * @param {{client, jobs, notify}} ctx
 * @param {{appId?: string, onApplied?: (body) => void}} [opts]
 * @returns {Promise<"applied"|"cancelled"|"failed">}
 */
export async function openSyncPreview(ctx, opts = {}) {
  ensureStyle();
  const body = h("div", { class: "pumas-dialog-body" }, h("span", { class: "pumas-note" }, "Checking what a sync would do…"));
  const apply = h("button", { type: "button", class: "pumas-btn pumas-primary pumas-sync-apply", disabled: true }, "Apply");
  const cancel = h("button", { type: "button", class: "pumas-btn pumas-sync-cancel" }, "Cancel");
  const dialog = h("div", { class: "pumas-dialog", role: "dialog", "aria-modal": "true", "aria-label": "Sync preview" },
    h("header", null, "Sync preview — nothing changes until you apply"), body, h("footer", null, cancel, apply));
  const backdrop = h("div", { class: "pumas-dialog-backdrop pumas-sync-preview" }, dialog);
  document.body.appendChild(backdrop);
  const close = () => backdrop.remove();
  const payload = opts.appId ? { app_id: opts.appId } : {};
  let preview;
  try {
    preview = await ctx.client.post("/pumas/sync/preview", payload);
  } catch (err) {
    setChildren(body, h("div", { class: "pumas-job-failed" }, `Preview failed: ${err.message}`));
    return new Promise((resolve) => { cancel.onclick = () => { close(); resolve("failed"); }; });
  }
  const conflicts = Array.isArray(preview.conflicts) ? preview.conflicts : [];
  const planned = Array.isArray(preview.planned) ? preview.planned : [];
  const choices = new Map(conflicts.map((c) => [c.link_path, "skip"]));
  const selects = [];
  const by = (action) => planned.filter((p) => p.action === action);
  const rows = conflicts.map((c) => {
    const sel = choiceSelect("skip", (v) => choices.set(c.link_path, v), `Choice for ${c.link_path}`);
    selects.push(sel);
    return h("tr", { dataset: { linkPath: c.link_path } },
      h("td", { title: c.link_path }, shortPath(c.link_path)),
      h("td", { title: c.message || "" }, REASONS[c.reason] || c.reason || ""), h("td", null, sel));
  });
  const all = choiceSelect("skip", (v) => { for (const s of selects) s.value = v; for (const k of choices.keys()) choices.set(k, v); },
    "Apply to all conflicts");
  setChildren(body,
    h("div", { class: "pumas-cards" },
      card("to create", preview.created || 0), card("already correct", preview.already_correct || 0),
      card("conflicts", conflicts.length, true), card("broken to remove", preview.removed_broken || 0),
      card("stale to remove", preview.removed_stale || 0)),
    (preview.warnings || []).length ? h("div", { class: "pumas-note pumas-sync-warnings" },
      cappedList(preview.warnings, (w) => w, 5)) : null,
    conflicts.length ? [
      h("div", { class: "pumas-bar" }, h("span", null, "Conflicts — apply to all: "), all),
      h("table", { class: "pumas-conflicts" }, h("thead", null, h("tr", null, h("th", null, "Link"), h("th", null, "In the way"),
        h("th", null, "Choice"))), h("tbody", null, rows.slice(0, 200))),
      rows.length > 200 ? h("div", { class: "pumas-note" }, `… and ${rows.length - 200} more (they follow “apply to all”)`) : null,
    ] : null,
    by("create").length ? [h("div", null, "New links"), cappedList(by("create"), (p) => shortPath(p.link_path), 10)] : null,
    by("remove_stale").concat(by("remove_broken")).length
      ? [h("div", null, "Links to remove"), cappedList(by("remove_stale").concat(by("remove_broken")),
        (p) => `${shortPath(p.link_path)} (${p.action === "remove_stale" ? "no rule matches any more" : "broken"})`)] : null,
    (preview.errors || []).length ? cappedList(preview.errors, (e) => (typeof e === "string" ? e : e.error), 10) : null);
  apply.disabled = false;
  return new Promise((resolve) => {
    cancel.onclick = () => { close(); resolve("cancelled"); };
    apply.onclick = async () => {
      apply.disabled = true;
      const resolutions = Object.fromEntries(choices);
      const job = ctx.jobs.add("Sync", "sync", null, { onDone: (b) => opts.onApplied && opts.onApplied(b) });
      close();
      try {
        const res = await ctx.client.post("/pumas/sync", { ...payload, resolutions });
        ctx.jobs.settle(job, res, jobIdOf(res));
        resolve("applied");
      } catch (err) {
        ctx.jobs.finish(job, "failed", err);
        resolve("failed");
      }
    };
  });
}
