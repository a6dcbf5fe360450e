// Debounced search with stale-response discard (pure logic; timers injectable for tests).

/**
 * Create a search controller.
 * @param {(query: {q: string, type: string}) => Promise<any>} fetcher - runs one search.
 * @param {(result: any, query: object) => void} onResult - called only for the newest request.
 * @param {{delayMs?: number, onError?: (err, query) => void, onStart?: (query) => void}} [opts]
 *   delayMs: debounce delay in milliseconds (default 300).
 * @returns {{update(q, type, immediate?): void, flush(): void, cancel(): void, seq(): number}}
 */
export function createSearch(fetcher, onResult, opts = {}) {
  const delayMs = opts.delayMs ?? 300;
  let timer = null;
  let seq = 0;          // sequence number of the newest request sent
  let pending = null;

  function run() {
    timer = null;
    if (!pending) return;
    const query = pending;
    pending = null;
    const mine = ++seq;
    if (opts.onStart) opts.onStart(query);
    Promise.resolve()
      .then(() => fetcher(query))
      .then((result) => { if (mine === seq) onResult(result, query); },
        (err) => { if (mine === seq && opts.onError) opts.onError(err, query); });
  }

  return {
    /** Schedule a search; `immediate` skips the debounce (used for the type filter). */
    update(q, type, immediate = false) {
      pending = { q: String(q || "").trim(), type: type || "" };
      if (timer) clearTimeout(timer);
      timer = immediate ? null : setTimeout(run, delayMs);
      if (immediate) run();
    },
    flush() { if (timer) { clearTimeout(timer); run(); } },
    /** Drop the pending timer and make every in-flight response stale. */
    cancel() { if (timer) clearTimeout(timer); timer = null; pending = null; seq += 1; },
    seq: () => seq,
  };
}
