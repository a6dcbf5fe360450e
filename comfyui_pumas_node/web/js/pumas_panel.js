// ComfyUI entry point of the Pumas Library panel (loaded as /extensions/<pack>/pumas_panel.js).
// Everything else lives in ./lib/ (pure modules). No extension URL is hard-coded.

import { app } from "../../scripts/app.js";
import { api } from "../../scripts/api.js";
import { createPanel } from "./lib/panel.js";

let panel = null;

app.registerExtension({
  name: "pumas.library.panel",
  settings: [
    { id: "Pumas.ImportMode", name: "Default import mode", type: "combo", options: ["auto", "copy", "move"],
      defaultValue: "auto", category: ["Pumas", "Import", "Mode"],
      tooltip: "auto moves within the same drive and copies across drives" },
  ],
  async setup() {
    if (panel) return;
    panel = createPanel({ app, api });
    api.addEventListener("pumas.progress", panel.onProgress);
    app.extensionManager.registerSidebarTab(panel.tab);
  },
});
