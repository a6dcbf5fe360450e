// Panel CSS, using ComfyUI's theme variables (with fallbacks for the standalone page).

const CSS = `
.pumas-panel{--p-bg:var(--comfy-menu-bg,#202020);--p-bg2:var(--comfy-input-bg,#2b2b2b);--p-fg:var(--fg-color,#ddd);
 --p-dim:var(--descrip-text,#999);--p-border:var(--border-color,#4e4e4e);--p-err:var(--error-text,#ff4444);
 display:flex;flex-direction:column;gap:8px;height:100%;min-height:0;overflow-y:auto;box-sizing:border-box;padding:8px;
 background:var(--p-bg);color:var(--p-fg);font-size:13px;font-family:inherit}
.pumas-panel *{box-sizing:border-box}
.pumas-panel h3{margin:0;font-size:14px;font-weight:600}
.pumas-panel h4{margin:6px 0 2px;font-size:12px;font-weight:600;color:var(--p-dim);text-transform:uppercase}
.pumas-bar{display:flex;gap:6px;align-items:center;flex-wrap:wrap}
.pumas-library{display:flex;flex-direction:column;gap:4px;flex:1 0 300px;min-height:300px}
.pumas-grow{flex:1 1 auto;min-width:0}
.pumas-panel input[type=text],.pumas-panel input[type=search],.pumas-panel select{background:var(--p-bg2);color:var(--p-fg);
 border:1px solid var(--p-border);border-radius:4px;padding:4px 6px;font:inherit}
.pumas-btn{background:var(--comfy-menu-secondary-bg,var(--p-bg2));color:var(--p-fg);border:1px solid var(--p-border);
 border-radius:4px;padding:3px 8px;cursor:pointer;font:inherit}
.pumas-btn:hover{filter:brightness(1.2)}
.pumas-btn:disabled{opacity:.5;cursor:default}
.pumas-danger{border-color:var(--p-err);color:var(--p-err)}
.pumas-note{color:var(--p-dim);font-size:12px}
.pumas-offline{color:#e0b000;font-size:12px}
.pumas-vlist{position:relative;overflow-y:auto;flex:1 1 auto;min-height:200px;border:1px solid var(--p-border);border-radius:4px}
.pumas-vlist:focus{outline:1px solid var(--p-border)}
.pumas-vlist-spacer{position:relative;width:100%}
.pumas-row{position:absolute;left:0;right:0;padding:4px 8px;border-bottom:1px solid var(--p-border);cursor:pointer;overflow:hidden}
.pumas-row:hover{background:var(--p-bg2)}
.pumas-row.pumas-selected{background:var(--p-bg2);outline:1px solid var(--p-dim)}
.pumas-row-name{white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
.pumas-row-sub{color:var(--p-dim);font-size:11px;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
.pumas-badge{display:inline-block;border-radius:8px;padding:0 6px;font-size:11px;border:1px solid var(--p-border);margin-right:4px}
.pumas-trust-verified,.pumas-tier-safe{border-color:#3a9d5d;color:#5fd38a}
.pumas-trust-high{border-color:#3a7bd5;color:#7fb2ff}
.pumas-trust-low,.pumas-tier-unknown,.pumas-incomplete{border-color:#c09000;color:#e0b000}
.pumas-trust-none{color:var(--p-dim)}
.pumas-tier-pickle{border-color:var(--p-err);color:var(--p-err)}
.pumas-health{display:inline-flex;align-items:center;gap:4px;cursor:pointer;background:none;border:1px solid var(--p-border);border-radius:10px;padding:1px 8px;color:var(--p-fg);font:inherit}
.pumas-dot{width:9px;height:9px;border-radius:50%;background:#777;display:inline-block}
.pumas-health-healthy .pumas-dot{background:#3fb950}.pumas-health-warnings .pumas-dot{background:#d29922}
.pumas-health-errors .pumas-dot{background:#f85149}
.pumas-section{border:1px solid var(--p-border);border-radius:4px;padding:6px 8px}
.pumas-details dl{display:grid;grid-template-columns:max-content 1fr;gap:2px 8px;margin:4px 0}
.pumas-details dt{color:var(--p-dim)}.pumas-details dd{margin:0;word-break:break-all}
.pumas-drop{border:2px dashed var(--p-border);border-radius:6px;padding:10px;text-align:center;color:var(--p-dim)}
.pumas-panel.pumas-dragging .pumas-drop{border-color:var(--p-fg);color:var(--p-fg)}
.pumas-warning{border:1px solid var(--p-err);color:var(--p-err);border-radius:4px;padding:6px;font-size:12px}
.pumas-warning label{display:flex;gap:6px;align-items:center;margin-top:4px;color:var(--p-fg)}
.pumas-jobs{display:flex;flex-direction:column;gap:4px}
.pumas-job{font-size:12px}.pumas-job progress{width:100%;height:6px}
.pumas-job-failed{color:var(--p-err)}
.pumas-browser{max-height:180px;overflow:auto;border:1px solid var(--p-border);border-radius:4px;margin-top:4px}
.pumas-browser button{display:block;width:100%;text-align:left;background:none;border:0;color:var(--p-fg);padding:2px 6px;cursor:pointer;font:inherit}
.pumas-browser button:hover{background:var(--p-bg2)}
.pumas-confirm{display:flex;gap:6px;align-items:center;flex-wrap:wrap;padding:4px;border:1px solid var(--p-err);border-radius:4px;margin-top:4px}
.pumas-link{color:#7fb2ff}
.pumas-badges{display:flex;flex-wrap:wrap;gap:4px 0;margin:2px 0}
.pumas-trust-dot{display:inline-block;width:8px;height:8px;border-radius:50%;margin-right:5px;vertical-align:middle;background:#666;border:0}
.pumas-trust-dot.pumas-trust-verified{background:#3fb950}.pumas-trust-dot.pumas-trust-high{background:#4c8dff}
.pumas-trust-dot.pumas-trust-low{background:#d29922}.pumas-trust-dot.pumas-trust-none{background:#666}
.pumas-pending{border-color:#8a63d2;color:#b79cf0}
.pumas-manual{border-color:var(--p-fg)}
.pumas-callout{border:1px solid var(--p-border);border-left:3px solid #d29922;border-radius:4px;padding:5px 8px;margin:6px 0;font-size:12px;display:flex;flex-direction:column;gap:4px}
.pumas-pending-box{border-left-color:#8a63d2;flex-direction:row;align-items:center;gap:6px}
.pumas-callout ul{margin:0;padding-left:18px}
.pumas-scan{border:1px solid var(--p-err);border-radius:4px;padding:4px 8px;margin:4px 0;font-size:12px}
.pumas-scan-title{color:var(--p-err);font-weight:600}.pumas-scan ul{margin:2px 0;padding-left:18px}
.pumas-scan-dangerous,.pumas-scan-error{color:var(--p-err)}.pumas-scan-suspicious{color:#e0b000}
.pumas-phantoms,.pumas-phantom{color:var(--p-err)}.pumas-phantoms{font-size:12px;margin:4px 0}
.pumas-phantoms ul{margin:2px 0;padding-left:18px}
.pumas-nowrap{white-space:nowrap;word-break:normal}
.pumas-mono{font-family:ui-monospace,Consolas,monospace;font-size:11px;word-break:break-all}
.pumas-word{background:var(--p-bg2);border-radius:3px;padding:0 4px;margin:0 4px 2px 0;display:inline-block;font-size:11px}
.pumas-evidence summary{cursor:pointer;color:var(--p-dim);font-size:12px}
.pumas-evidence ul,.pumas-warnings-list{margin:2px 0;padding-left:18px;font-size:12px}
.pumas-warnings-list{color:#e0b000}
.pumas-apps{margin-top:6px;border-top:1px solid var(--p-border);padding-top:4px;display:flex;flex-direction:column;gap:4px}
.pumas-apps ul{margin:0;padding-left:18px;font-size:12px}
`;

/** Insert the panel stylesheet once into `doc` (idempotent). */
export function installStyles(doc = document) {
  if (doc.getElementById("pumas-panel-style")) return;
  const style = doc.createElement("style");
  style.id = "pumas-panel-style";
  style.textContent = CSS;
  doc.head.appendChild(style);
}
