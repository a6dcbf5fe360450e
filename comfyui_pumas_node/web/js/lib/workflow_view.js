// "Models of this workflow": resolve the graph open in ComfyUI (app.graph.serialize()) against the
// library — POST /pumas/resolve {workflow, confirmed?, download?} — list each reference with its status,
// then app.refreshComboInNodes() so the loaders list the linked models at once. Also writes identity back
// (POST /pumas/workflow/annotate → app.loadGraphData of the annotated graph).

import { h, setChildren } from "./dom.js";
import { jobIdOf } from "./client.js";
import { createFold } from "./fold.js";

const STATUS_TEXT = {
  present: "present", linked: "linked", missing: "missing", ambiguous: "confirm?", conflict: "conflict",
  hash_mismatch: "different file",
};

/**
 * Build the workflow section.
 * @param {{client, jobs, notify, app: object, refreshCombos: () => void, state?: {open?: object}}} ctx
 * @returns {{el: HTMLElement, resolve(extra?: object): Promise<void>, destroy(): void}}
 */
export function createWorkflowView(ctx) {
  const { client, jobs, app } = ctx;
  const state = ctx.state || {};
  const fold = createFold({ key: "workflow", title: "Models of this workflow", open: state.open || (state.open = {}),
    defaultOpen: false, cls: "pumas-workflow", label: "Models of this workflow" });
  const list = h("div", { class: "pumas-wf-list" });
  const summary = h("div", { class: "pumas-note pumas-wf-summary" });
  const resolveBtn = h("button", { type: "button", class: "pumas-btn pumas-wf-resolve",
    title: "Link the models this workflow names, at exactly the names it uses", onclick: () => resolve() },
  "Resolve models of this workflow");
  const downloadBtn = h("button", { type: "button", class: "pumas-btn pumas-wf-download", hidden: true,
    title: "Download the missing models that have a HuggingFace URL into the library, then link them",
    onclick: () => resolve({ download: true }) }, "Download missing");
  const annotateBtn = h("button", { type: "button", class: "pumas-btn pumas-wf-annotate",
    title: "Write each model's SHA-256 (and URL) into the workflow so it resolves anywhere", onclick: () => annotate() },
  "Write model hashes into workflow");
  fold.body.append(h("div", { class: "pumas-bar" }, resolveBtn, downloadBtn), summary, list,
    h("div", { class: "pumas-bar" }, annotateBtn));
  const confirmed = {};
  let seq = 0;

  function graph() {
    const g = app && app.graph;
    if (!g || typeof g.serialize !== "function") throw new Error("No workflow is open.");
    return g.serialize();
  }

  function rewriteWidget(ref) {
    // Only top-level nodes can be rewritten from here; subgraph definitions are edited inside the subgraph.
    const node = app.graph.getNodeById ? app.graph.getNodeById(Number(ref.node_id)) : null;
    const w = node && (node.widgets || []).find((x) => x.name === ref.input);
    if (!w) { ctx.notify("warn", "Model Library", `Cannot find ${ref.input} of node ${ref.node_id}`); return; }
    w.value = ref.rewrite_to;
    if (app.graph.setDirtyCanvas) app.graph.setDirtyCanvas(true, true);
    ctx.notify("success", "Model Library", `Node ${ref.node_id}: ${ref.input} is now ${ref.rewrite_to}`);
  }

  function refLine(ref) {
    const actions = [];
    if (ref.status === "ambiguous" && ref.model_id) {
      actions.push(h("button", { type: "button", class: "pumas-btn pumas-mini pumas-wf-confirm",
        title: `Link library model ${ref.model_id.slice(0, 12)} under this name`,
        onclick: () => { confirmed[ref.key] = ref.model_id; resolve(); } }, "Link this"));
    }
    if (ref.rewrite_to && ref.node_id && !ref.subgraph && ["present", "linked"].includes(ref.status)) {
      actions.push(h("button", { type: "button", class: "pumas-btn pumas-mini pumas-wf-rewrite",
        title: "A link cannot carry a Windows path here: use the path ComfyUI lists instead",
        onclick: () => rewriteWidget(ref) }, `Use ${ref.rewrite_to}`));
    }
    const how = ref.matched_by ? ` · by ${ref.matched_by}` : "";
    return h("li", { class: `pumas-wf-ref pumas-wf-${ref.status}`, dataset: { status: ref.status, key: ref.key || "" } },
      h("span", { class: "pumas-badge" }, STATUS_TEXT[ref.status] || ref.status),
      h("span", { class: "pumas-mono" }, `${ref.directory || "?"}/${ref.name}`),
      h("span", { class: "pumas-note" }, `${how}${ref.note ? ` — ${ref.note}` : ""}`),
      ref.status === "missing" && ref.url ? h("div", { class: "pumas-note pumas-mono" }, ref.url) : null,
      ...actions);
  }

  function show(result) {
    const refs = Array.isArray(result.references) ? result.references : [];
    const counts = {};
    for (const r of refs) counts[r.status] = (counts[r.status] || 0) + 1;
    fold.setTitle("Models of this workflow", h("span", { class: "pumas-count" }, String(refs.length)));
    summary.textContent = refs.length
      ? `${Object.entries(counts).map(([k, v]) => `${v} ${STATUS_TEXT[k] || k}`).join(", ")}; ${result.created || 0} link(s) created`
        + (result.downloaded ? `, ${result.downloaded} downloaded` : "")
      : "This workflow names no model files.";
    setChildren(list, refs.length ? h("ul", null, refs.map(refLine)) : null);
    downloadBtn.hidden = !refs.some((r) => r.status === "missing" && r.url);
    if ((result.created || 0) > 0 || (result.downloaded || 0) > 0) ctx.refreshCombos();
  }

  async function resolve(extra = {}) {
    const mine = ++seq;
    let workflow;
    try { workflow = graph(); } catch (err) { summary.textContent = err.message; return; }
    fold.setOpen(true);
    const body = { workflow, confirmed: { ...confirmed }, ...extra };
    summary.textContent = extra.download ? "Downloading missing models…" : "Resolving…";
    try {
      const res = await client.post("/pumas/resolve", body);
      const jobId = jobIdOf(res);
      if (jobId) {
        const job = jobs.add("Download workflow models", "resolve", null, {
          onDone: (j) => { if (mine === seq) show(j.result || {}); },
          onFail: (j) => { if (mine === seq) summary.textContent = `Download failed: ${j.error}`; } });
        jobs.settle(job, res, jobId);
      } else if (mine === seq) show(res);
    } catch (err) {
      if (mine === seq) summary.textContent = `Could not resolve: ${err.message}`;
    }
  }

  async function annotate() {
    let workflow;
    try { workflow = graph(); } catch (err) { summary.textContent = err.message; return; }
    try {
      const res = await client.post("/pumas/workflow/annotate", { workflow });
      if (res.annotated && typeof app.loadGraphData === "function") await app.loadGraphData(res.workflow);
      ctx.notify(res.annotated ? "success" : "info", "Model Library",
        `${res.annotated} model(s) annotated with SHA-256${res.skipped && res.skipped.length ? `, ${res.skipped.length} unknown` : ""}`);
    } catch (err) {
      ctx.notify("error", "Model Library", `Could not annotate: ${err.message}`);
    }
  }

  return { el: fold.el, resolve, destroy() { seq += 1; } };
}
