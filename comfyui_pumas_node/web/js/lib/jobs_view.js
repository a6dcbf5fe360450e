// The list of running/finished jobs with per-file, per-stage progress, in a collapsible "Activity"
// section that is hidden while there is nothing to show.

import { h, setChildren } from "./dom.js";
import { describeProgress, percent } from "./format.js";
import { createFold } from "./fold.js";

/**
 * Build the jobs view bound to a JobTracker.
 * @param {import("./jobs.js").JobTracker} jobs
 * @param {{open?: object}} [state] - module-scope panel state; `open.activity` remembers whether the
 *   section is expanded (default true).
 * @returns {{el: HTMLElement, destroy(): void}}
 */
export function createJobsView(jobs, state = {}) {
  const list = h("div", { class: "pumas-jobs", role: "status", "aria-live": "polite" });
  const clear = h("button", { type: "button", class: "pumas-btn pumas-small", onclick: () => jobs.clearFinished() }, "Clear finished");
  const fold = createFold({ key: "activity", title: "Activity", open: state.open || (state.open = {}), defaultOpen: true,
    cls: "pumas-section pumas-jobs-section", label: "Activity" });
  fold.body.append(list, h("div", { class: "pumas-bar pumas-end" }, clear));
  const el = fold.el;

  function paint(all) {
    el.hidden = all.length === 0;
    const running = all.filter((j) => j.state === "running").length;
    const failed = all.filter((j) => j.state === "failed").length;
    fold.setTitle("Activity",
      running ? h("span", { class: "pumas-count" }, `${running} running`) : null,
      failed ? h("span", { class: "pumas-count pumas-job-failed" }, `${failed} failed`) : null);
    clear.hidden = running === all.length;
    setChildren(list, all.slice(0, 30).map((j) => {
      const pct = percent(j.progress);
      const text = j.state === "failed" ? `${j.label}: ${j.error}` : `${j.label} — ${describeProgress(j.progress)}`;
      const bar = j.state === "running"
        ? h("progress", { max: "100", "aria-label": `${j.label} progress`, ...(pct === null ? {} : { value: String(pct) }) })
        : null;
      return h("div", { class: `pumas-job pumas-job-${j.state}`, title: text, dataset: { stage: (j.progress && j.progress.stage) || "" } },
        h("span", { class: "pumas-job-text" }, text), bar);
    }));
  }

  const unsubscribe = jobs.subscribe(paint);
  paint(jobs.list());
  return { el, destroy: unsubscribe };
}
