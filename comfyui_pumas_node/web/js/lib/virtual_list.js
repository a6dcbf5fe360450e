// A windowed (virtualised) list: only the rows in view (plus a small overscan) exist in the DOM,
// so 10,000+ models scroll smoothly. Fixed row height; rows are recycled.

import { h } from "./dom.js";

/**
 * @param {{rowHeight?: number, overscan?: number, label?: string,
 *          renderRow: (row: HTMLElement, item: any, index: number) => void,
 *          keyOf?: (item) => string, onSelect?: (item, index) => void, onNearEnd?: () => void}} opts
 *   rowHeight in CSS pixels (default 44); overscan in rows (default 6).
 */
export class VirtualList {
  constructor(opts) {
    this.opts = opts;
    this.rowHeight = opts.rowHeight || 44;
    this.overscan = opts.overscan ?? 6;
    this.items = [];
    this.selectedKey = null;
    this.rows = new Map(); // index -> row element
    this.frame = 0;
    this.spacer = h("div", { class: "pumas-vlist-spacer" });
    this.el = h("div", {
      class: "pumas-vlist", role: "listbox", tabindex: "0", "aria-label": opts.label || "Models",
      onscroll: () => this.schedule(), onkeydown: (e) => this.onKey(e),
    }, this.spacer);
    this.resizeObserver = typeof ResizeObserver === "function" ? new ResizeObserver(() => this.schedule()) : null;
    if (this.resizeObserver) this.resizeObserver.observe(this.el);
  }

  /** Replace the items (keeps scroll position unless `resetScroll`). */
  setItems(items, resetScroll = false) {
    this.items = items;
    this.spacer.style.height = `${items.length * this.rowHeight}px`;
    for (const row of this.rows.values()) row.remove();
    this.rows.clear();
    if (resetScroll) this.el.scrollTop = 0;
    this.render();
  }

  /** Mark the item with this key as selected (aria-selected). */
  select(key) {
    this.selectedKey = key;
    for (const [i, row] of this.rows) this.paintSelected(row, this.items[i]);
  }

  keyOf(item) { return this.opts.keyOf ? this.opts.keyOf(item) : item && item.model_id; }

  paintSelected(row, item) {
    const on = item !== undefined && this.keyOf(item) === this.selectedKey;
    row.setAttribute("aria-selected", on ? "true" : "false");
    row.classList.toggle("pumas-selected", on);
  }

  schedule() {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => { this.frame = 0; this.render(); });
  }

  /** Render the visible window now. */
  render() {
    const height = this.el.clientHeight || 400;
    const top = this.el.scrollTop;
    const first = Math.max(0, Math.floor(top / this.rowHeight) - this.overscan);
    const last = Math.min(this.items.length - 1, Math.ceil((top + height) / this.rowHeight) + this.overscan);
    for (const [i, row] of this.rows) {
      if (i < first || i > last) { row.remove(); this.rows.delete(i); }
    }
    for (let i = first; i <= last; i += 1) {
      if (this.rows.has(i)) continue;
      const item = this.items[i];
      const row = h("div", {
        class: "pumas-row", role: "option", id: `pumas-row-${i}`,
        "aria-posinset": i + 1, "aria-setsize": this.items.length,
        style: `top:${i * this.rowHeight}px;height:${this.rowHeight}px`,
        onclick: () => this.choose(i),
      });
      this.opts.renderRow(row, item, i);
      this.paintSelected(row, item);
      this.spacer.appendChild(row);
      this.rows.set(i, row);
    }
    if (this.opts.onNearEnd && this.items.length && last >= this.items.length - 20) this.opts.onNearEnd();
  }

  choose(i) {
    const item = this.items[i];
    if (item === undefined) return;
    this.select(this.keyOf(item));
    this.el.setAttribute("aria-activedescendant", `pumas-row-${i}`);
    if (this.opts.onSelect) this.opts.onSelect(item, i);
  }

  onKey(e) {
    if (!this.items.length || !["ArrowDown", "ArrowUp", "Home", "End"].includes(e.key)) return;
    e.preventDefault();
    const cur = this.items.findIndex((it) => this.keyOf(it) === this.selectedKey);
    let next = cur;
    if (e.key === "ArrowDown") next = Math.min(this.items.length - 1, cur + 1);
    if (e.key === "ArrowUp") next = Math.max(0, cur - 1);
    if (e.key === "Home") next = 0;
    if (e.key === "End") next = this.items.length - 1;
    this.scrollToIndex(next);
    this.choose(next);
  }

  /** Scroll so that row `i` is visible. */
  scrollToIndex(i) {
    const y = i * this.rowHeight;
    const height = this.el.clientHeight || 400;
    if (y < this.el.scrollTop) this.el.scrollTop = y;
    else if (y + this.rowHeight > this.el.scrollTop + height) this.el.scrollTop = y + this.rowHeight - height;
    this.render();
  }

  /** Drop observers and timers. */
  destroy() {
    if (this.frame) cancelAnimationFrame(this.frame);
    this.frame = 0;
    if (this.resizeObserver) this.resizeObserver.disconnect();
  }
}
