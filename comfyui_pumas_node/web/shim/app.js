// Standalone shim of ComfyUI's `app` (scripts/app.js) for `pumas serve`.
// Provides what web/js/README.md lists: registerExtension (+ init/setup on start),
// extensionManager.registerSidebarTab / toast / setting, refreshComboInNodes (no-op).

const extensions = [];
const defaults = {};
const tabs = [];
let active = null;

function toastNode(severity, summary, detail, life) {
  const box = document.getElementById("pumas-toasts");
  if (!box) return;
  const node = document.createElement("div");
  node.className = "pumas-toast";
  node.dataset.severity = severity || "info";
  const title = document.createElement("strong");
  title.textContent = summary || "";
  node.append(title);
  if (detail) {
    const body = document.createElement("div");
    body.textContent = String(detail);
    node.append(body);
  }
  box.append(node);
  setTimeout(() => node.remove(), life || 4000);
}

const toast = {
  add({ severity, summary, detail, life } = {}) { toastNode(severity, summary, detail, life); },
  success(title, opts = {}) { toastNode("success", title, opts.description); },
  error(title, opts = {}) { toastNode("error", title, opts.description); },
  info(title, opts = {}) { toastNode("info", title, opts.description); },
  warning(title, opts = {}) { toastNode("warn", title, opts.description); },
  remove() {},
  removeAll() { document.getElementById("pumas-toasts")?.replaceChildren(); },
  addAlert(msg) { toastNode("warn", String(msg)); },
};

const KEY = (id) => `pumas.setting.${id}`;
const setting = {
  get(id) {
    const raw = localStorage.getItem(KEY(id));
    if (raw === null) return defaults[id];
    try { return JSON.parse(raw); } catch { return defaults[id]; }
  },
  async set(id, value) { localStorage.setItem(KEY(id), JSON.stringify(value)); },
};

function show(tab) {
  const main = document.getElementById("pumas-main");
  if (!main) return;
  if (active && active !== tab) active.destroy?.();
  active = tab;
  const el = document.createElement("div");
  el.className = "pumas-tab-host";
  main.replaceChildren(el);
  for (const b of document.querySelectorAll("#pumas-tabs button")) {
    b.setAttribute("aria-selected", String(b.dataset.tab === tab.id));
  }
  tab.render(el);
}

const extensionManager = {
  toast,
  setting,
  registerSidebarTab(tab) {
    if (tabs.some((t) => t.id === tab.id)) throw new Error(`Sidebar tab ${tab.id} already registered`);
    tabs.push(tab);
    const btn = document.createElement("button");
    btn.type = "button";
    btn.setAttribute("role", "tab");
    btn.dataset.tab = tab.id;
    btn.textContent = tab.title || tab.id;
    btn.title = tab.tooltip || "";
    btn.addEventListener("click", () => show(tab));
    document.getElementById("pumas-tabs")?.append(btn);
    if (!active) show(tab);
  },
  unregisterSidebarTab(id) {
    const i = tabs.findIndex((t) => t.id === id);
    if (i < 0) return;
    const [tab] = tabs.splice(i, 1);
    if (active === tab) { tab.destroy?.(); active = null; document.getElementById("pumas-main")?.replaceChildren(); }
    document.querySelector(`#pumas-tabs button[data-tab="${CSS.escape(id)}"]`)?.remove();
  },
  getSidebarTabs() { return [...tabs]; },
};

export const app = {
  extensionManager,
  registerExtension(ext) {
    if (!ext || !ext.name) throw new Error("Extensions must have a 'name' property.");
    if (extensions.some((e) => e.name === ext.name)) throw new Error(`Extension named '${ext.name}' already registered.`);
    extensions.push(ext);
    for (const s of ext.settings || []) defaults[s.id] = s.defaultValue;
  },
  async refreshComboInNodes() {},
  async __start() {
    for (const ext of extensions) await ext.init?.(app);
    for (const ext of extensions) await ext.setup?.(app);
  },
};
