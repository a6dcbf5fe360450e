// HTTP client for the /pumas routes, over ComfyUI's api.fetchApi (which prefixes "/api").

/** Error from a /pumas route: `.status` (HTTP), `.code` (server's error code), `.message`. */
export class PumasHttpError extends Error {
  constructor(message, status, code, body) {
    super(message);
    this.name = "PumasHttpError";
    this.status = status;
    this.code = code || "";
    this.body = body || null;
  }
}

async function parse(resp, route) {
  const text = await resp.text();
  let body = null;
  try { body = text ? JSON.parse(text) : null; } catch { body = null; }
  if (!resp.ok) {
    const msg = (body && body.error) || text.slice(0, 200) || `${resp.status} ${resp.statusText}`;
    throw new PumasHttpError(msg, resp.status, body && body.code, body);
  }
  if (body === null && text) throw new PumasHttpError(`${route}: response is not JSON`, resp.status, "bad_response");
  return body;
}

/** The job id in a long-work response, or null when the response is a final result. */
export function jobIdOf(body) {
  if (!body || typeof body !== "object") return null;
  return body.job_id || body.job || (body.state || body.status ? body.id : null) || null;
}

/**
 * Build a client.
 * @param {object} api - ComfyUI `api` (needs fetchApi; apiURL optional).
 * @returns {{get, post, upload, url}}
 */
export function createClient(api) {
  const url = (route) => (typeof api.apiURL === "function" ? api.apiURL(route) : `/api${route}`);

  /** GET a route with query params (undefined/"" values dropped) → parsed JSON. */
  async function get(route, params) {
    let full = route;
    if (params) {
      const qs = new URLSearchParams();
      for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== "") qs.set(k, String(v));
      const s = qs.toString();
      if (s) full += `?${s}`;
    }
    const resp = await api.fetchApi(full, { method: "GET" });
    return parse(resp, route);
  }

  /** POST JSON to a route → parsed JSON. */
  async function post(route, body = {}) {
    const resp = await api.fetchApi(route, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });
    return parse(resp, route);
  }

  /**
   * Stream a File to POST /pumas/upload with XHR (fetch has no upload progress).
   * @param {File} file
   * @param {{acceptPickle?: boolean, modelType?: string, onProgress?: (sent:number,total:number)=>void}} opts
   * @returns {{promise: Promise<object>, abort: () => void}}
   */
  function upload(file, opts = {}) {
    const xhr = new XMLHttpRequest();
    const promise = new Promise((resolve, reject) => {
      xhr.open("POST", url("/pumas/upload"));
      xhr.setRequestHeader("Content-Type", "application/octet-stream");
      xhr.setRequestHeader("X-Pumas-Filename", encodeURIComponent(file.name));
      if (opts.acceptPickle) xhr.setRequestHeader("X-Pumas-Accept-Pickle", "1");
      if (opts.modelType) xhr.setRequestHeader("X-Pumas-Type", opts.modelType);
      if (api.user) xhr.setRequestHeader("Comfy-User", api.user);
      xhr.upload.onprogress = (e) => opts.onProgress && opts.onProgress(e.loaded, e.lengthComputable ? e.total : file.size);
      xhr.onerror = () => reject(new PumasHttpError(`upload of ${file.name} failed: network error`, 0, "network"));
      xhr.onabort = () => reject(new PumasHttpError(`upload of ${file.name} cancelled`, 0, "aborted"));
      xhr.onload = () => {
        const resp = new Response(xhr.responseText, { status: xhr.status || 599, statusText: xhr.statusText });
        parse(resp, "/pumas/upload").then(resolve, reject);
      };
      xhr.send(file);
    });
    return { promise, abort: () => xhr.abort() };
  }

  return { get, post, upload, url };
}
