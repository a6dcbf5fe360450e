// A collapsible panel section (<details>/<summary>) whose open/closed state is kept in the panel's
// module-scope state, so re-mounting the sidebar tab shows the sections as the user left them.

import { h, setChildren } from "./dom.js";

/**
 * Build a collapsible section.
 * @param {{key: string, title: string, open: object, defaultOpen?: boolean, cls?: string, label?: string,
 *          onOpen?: () => void}} opts
 *   `open` is the state object holding `open[key]` (boolean); a missing key means `defaultOpen` (false).
 *   `onOpen` runs each time the user (or code) opens the section.
 * @returns {{el: HTMLDetailsElement, body: HTMLElement, setTitle(...parts): void, setOpen(on: boolean): void}}
 */
export function createFold(opts) {
  const store = opts.open;
  if (typeof store[opts.key] !== "boolean") store[opts.key] = Boolean(opts.defaultOpen);
  const title = h("span", { class: "pumas-fold-title" }, opts.title);
  const summary = h("summary", { class: "pumas-fold-summary" }, title);
  const body = h("div", { class: "pumas-fold-body" });
  const el = h("details", { class: `pumas-fold ${opts.cls || ""}`.trim(), "aria-label": opts.label || opts.title,
    open: store[opts.key] }, summary, body);
  el.addEventListener("toggle", () => {
    const was = store[opts.key];
    store[opts.key] = el.open;
    if (el.open && !was && opts.onOpen) opts.onOpen();
  });
  return {
    el,
    body,
    /** Replace the summary text (strings and nodes, see dom.h). */
    setTitle: (...parts) => setChildren(title, ...parts),
    /** Open or close the section (remembered). */
    setOpen(on) {
      const was = store[opts.key];
      store[opts.key] = Boolean(on);
      el.open = Boolean(on);
      if (on && !was && opts.onOpen) opts.onOpen();
    },
  };
}
