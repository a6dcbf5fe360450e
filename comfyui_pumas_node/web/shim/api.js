// Standalone shim of ComfyUI's `api` (scripts/api.js) for `pumas serve`.
// Provides what web/js/README.md lists: fetchApi, apiURL, addEventListener/removeEventListener
// (events arrive over the /api/pumas/ws websocket as {"type", "data"}, like ComfyUI's /ws).

class PumasApi extends EventTarget {
  constructor() {
    super();
    this.api_base = "";
    this.user = undefined;
    this.socket = null;
    this._connect();
  }

  apiURL(route) {
    return `${this.api_base}/api${route}`;
  }

  fetchApi(route, options = {}) {
    return fetch(this.apiURL(route), { cache: "no-cache", ...options });
  }

  _connect() {
    const proto = location.protocol === "https:" ? "wss:" : "ws:";
    const ws = new WebSocket(`${proto}//${location.host}${this.api_base}/api/pumas/ws`);
    this.socket = ws;
    ws.addEventListener("message", (msg) => {
      let parsed;
      try { parsed = JSON.parse(msg.data); } catch { return; }
      if (parsed && typeof parsed.type === "string") {
        this.dispatchEvent(new CustomEvent(parsed.type, { detail: parsed.data }));
      }
    });
    ws.addEventListener("close", () => setTimeout(() => this._connect(), 2000));
  }
}

export const api = new PumasApi();
