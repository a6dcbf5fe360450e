// ComfyUI entry point of the Pumas panel (loaded as /extensions/<pack>/pumas_panel.js).
// Everything else lives in ./lib/ (pure modules). No extension URL is hard-coded.
// Settings (library location, import roots, default import mode, lookups) are kept by the Pumas core
// (GET/POST /pumas/settings) and edited in the panel's Settings section, so the CLI, `pumas serve`
// and ComfyUI all see the same values.

import { app } from "../../scripts/app.js";
import { api } from "../../scripts/api.js";
import { createPanel } from "./lib/panel.js";

let panel = null;

app.registerExtension({
  name: "pumas.library.panel",
  async setup() {
    if (panel) return;
    panel = createPanel({ app, api });
    api.addEventListener("pumas.progress", panel.onProgress);
    app.extensionManager.registerSidebarTab(panel.tab);
  },
});
