// Tracks long-running server jobs: progress from `pumas.progress` events, with a polling fallback
// on GET /pumas/jobs/{id} when no event arrived recently. No side effects until used.

const POLL_MS = 1000;       // polling period, milliseconds
const QUIET_MS = 1500;      // poll a job when no event arrived for this long, milliseconds

function stateOf(body) {
  const s = body && (body.state || body.status);
  if (s === "done" || s === "completed" || s === "succeeded" || s === "success") return "done";
  if (s === "failed" || s === "error" || s === "cancelled") return "failed";
  return "running";
}

/** A failed job body → Error carrying the server's `code`. */
function jobError(body) {
  const err = new Error(String((body && body.error) || "job failed"));
  err.code = (body && body.code) || "";
  return err;
}

/**
 * @param {{client: object, onFinished?: (job) => void}} opts
 *   onFinished(job) runs once when a job reaches "done" or "failed".
 */
export class JobTracker {
  constructor(opts) {
    this.client = opts.client;
    this.onFinished = opts.onFinished || (() => {});
    this.jobs = new Map();         // local key -> job
    this.listeners = new Set();
    this.timer = null;
    this.counter = 0;
  }

  /** Subscribe to changes; returns an unsubscribe function. */
  subscribe(fn) { this.listeners.add(fn); return () => this.listeners.delete(fn); }

  emit() { for (const fn of this.listeners) { try { fn(this.list()); } catch (e) { console.error(e); } } }

  /** All jobs, newest first. */
  list() { return [...this.jobs.values()].sort((a, b) => b.started - a.started); }

  /**
   * Start tracking. `serverId` may be null for client-side work (an upload in flight); attach it later.
   * @returns {object} the job record {key, serverId, label, kind, state, progress, result, error, then}
   */
  add(label, kind, serverId = null, callbacks = {}) {
    this.counter += 1;
    const job = {
      key: `j${this.counter}`, serverId, label, kind, state: "running", progress: { stage: "queued" },
      result: null, error: null, started: Date.now(), lastEvent: Date.now(), callbacks,
    };
    this.jobs.set(job.key, job);
    this.ensurePolling();
    this.emit();
    return job;
  }

  /** Attach the server's job id once known. */
  attach(job, serverId) { job.serverId = serverId; job.lastEvent = Date.now(); this.ensurePolling(); }

  /**
   * Apply a long-route response: a job id still running → attach and track; a finished job record
   * (`state` done/failed, as POST /pumas/upload returns) → finish; a plain result → done.
   */
  settle(job, body, serverId) {
    const st = body && (body.state || body.status) ? stateOf(body) : null;
    if (st === "done") this.finish(job, "done", body.result ?? body);
    else if (st === "failed") this.finish(job, "failed", jobError(body));
    else if (serverId) this.attach(job, serverId);
    else this.finish(job, "done", body);
  }

  /** Update client-side progress (e.g. upload bytes). */
  update(job, progress) { job.progress = progress; job.lastEvent = Date.now(); this.emit(); }

  /** Mark finished with a result (state "done") or an error message (state "failed"). */
  finish(job, state, payload) {
    if (job.state !== "running") return;
    job.state = state;
    if (state === "done") { job.result = payload ?? null; job.progress = { stage: "done" }; }
    else { job.error = payload instanceof Error ? payload.message : String(payload || "failed"); job.errorObj = payload; job.progress = { stage: "failed" }; }
    this.emit();
    try { this.onFinished(job); } catch (e) { console.error(e); }
    const cb = state === "done" ? job.callbacks.onDone : job.callbacks.onFail;
    if (cb) { try { cb(job); } catch (e) { console.error(e); } }
  }

  /** Forget finished jobs. */
  clearFinished() { for (const [k, j] of this.jobs) if (j.state !== "running") this.jobs.delete(k); this.emit(); }

  byServerId(id) { for (const j of this.jobs.values()) if (j.serverId && j.serverId === id) return j; return null; }

  /** Feed one `pumas.progress` event detail ({job, stage, ..., state?, result?, error?}). */
  onEvent(detail) {
    if (!detail || !detail.job) return;
    const job = this.byServerId(detail.job);
    if (!job || job.state !== "running") return;
    job.lastEvent = Date.now();
    const st = stateOf(detail);
    if (detail.state || detail.status) {
      if (st !== "running") { this.finish(job, st, st === "done" ? detail.result : jobError(detail)); return; }
    }
    if (detail.stage) job.progress = detail;
    this.emit();
  }

  ensurePolling() {
    if (this.timer) return;
    this.timer = setInterval(() => this.pollOnce(), POLL_MS);
  }

  /** Poll jobs that have been quiet; stops the timer when nothing runs. */
  async pollOnce() {
    const running = [...this.jobs.values()].filter((j) => j.state === "running");
    if (!running.length) { clearInterval(this.timer); this.timer = null; return; }
    const now = Date.now();
    await Promise.all(running.filter((j) => j.serverId && now - j.lastEvent >= QUIET_MS && !j.polling).map(async (job) => {
      job.polling = true;
      try {
        const body = await this.client.get(`/pumas/jobs/${encodeURIComponent(job.serverId)}`);
        const st = stateOf(body);
        if (st === "running") { if (body.progress) job.progress = body.progress; this.emit(); }
        else this.finish(job, st, st === "done" ? (body.result ?? body) : jobError(body));
      } catch (err) {
        if (err && err.status === 404) this.finish(job, "failed", `job ${job.serverId} is unknown to the server`);
      } finally { job.polling = false; }
    }));
  }

  /** Stop polling (jobs are kept). */
  stop() { if (this.timer) clearInterval(this.timer); this.timer = null; }
}
