// The list of running/finished jobs with per-file, per-stage progress.

import { h, setChildren } from "./dom.js";
import { describeProgress, percent } from "./format.js";

/**
 * Build the jobs view bound to a JobTracker.
 * @param {import("./jobs.js").JobTracker} jobs
 * @returns {{el: HTMLElement, destroy(): void}}
 */
export function createJobsView(jobs) {
  const list = h("div", { class: "pumas-jobs", role: "status", "aria-live": "polite" });
  const clear = h("button", { type: "button", class: "pumas-btn", onclick: () => jobs.clearFinished() }, "Clear finished");
  const el = h("section", { class: "pumas-section pumas-jobs-section", "aria-label": "Activity", hidden: true },
    h("div", { class: "pumas-bar" }, h("h4", { class: "pumas-grow" }, "Activity"), clear), list);

  function paint(all) {
    el.hidden = all.length === 0;
    setChildren(list, all.slice(0, 30).map((j) => {
      const pct = percent(j.progress);
      const text = j.state === "failed" ? `${j.label}: ${j.error}` : `${j.label} — ${describeProgress(j.progress)}`;
      const bar = j.state === "running"
        ? h("progress", { max: "100", "aria-label": `${j.label} progress`, ...(pct === null ? {} : { value: String(pct) }) })
        : null;
      return h("div", { class: `pumas-job pumas-job-${j.state}`, dataset: { stage: (j.progress && j.progress.stage) || "" } }, text, bar);
    }));
  }

  const unsubscribe = jobs.subscribe(paint);
  paint(jobs.list());
  return { el, destroy: unsubscribe };
}
