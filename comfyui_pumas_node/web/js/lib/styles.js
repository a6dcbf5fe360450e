// Panel CSS, using ComfyUI's theme variables (with fallbacks for the standalone page).

const CSS = `
.pumas-host{height:100%;min-height:0;display:flex;flex-direction:column}
.pumas-panel{--p-bg2:var(--comfy-input-bg,#222);--p-bg3:var(--comfy-menu-secondary-bg,#303030);--p-fg:var(--fg-color,#ddd);
 --p-dim:var(--descrip-text,#999);--p-border:var(--border-color,#4e4e4e);--p-err:var(--error-text,#ff4444);
 --p-accent:var(--p-primary-color,#60a5fa);--p-hl:color-mix(in srgb,var(--p-accent) 16%,transparent);
 container:pumas/inline-size;display:flex;flex-direction:column;gap:6px;flex:1 1 auto;height:100%;min-height:0;
 overflow:hidden;box-sizing:border-box;padding:8px;color:var(--p-fg);font-size:13px;font-family:inherit;line-height:1.35}
.pumas-panel *{box-sizing:border-box}
.pumas-panel [hidden]{display:none !important}
.pumas-panel h3{margin:0;font-size:14px;font-weight:600}
.pumas-panel h4{margin:6px 0 2px;font-size:11px;font-weight:600;color:var(--p-dim);text-transform:uppercase;letter-spacing:.03em}
.pumas-title{text-transform:uppercase;font-size:13px !important;letter-spacing:.02em;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
.pumas-bar{display:flex;gap:6px;align-items:center;flex-wrap:wrap}
.pumas-head{flex:none;flex-wrap:nowrap}
.pumas-nowrap-bar{flex-wrap:nowrap}
.pumas-end{justify-content:flex-end}
.pumas-grow{flex:1 1 auto;min-width:0}
.pumas-panel input[type=text],.pumas-panel input[type=search],.pumas-panel select{background:var(--p-bg2);color:var(--p-fg);
 border:1px solid var(--p-border);border-radius:6px;padding:4px 8px;font:inherit;min-width:0;max-width:100%}
.pumas-panel input[type=text]:focus,.pumas-panel input[type=search]:focus,.pumas-panel select:focus{outline:none;border-color:var(--p-accent)}
.pumas-search{width:100%}
.pumas-type-filter{flex:1 1 auto;max-width:60% !important}
.pumas-count-note{flex:0 1 auto;white-space:nowrap;overflow:hidden;text-overflow:ellipsis;margin-left:auto}
.pumas-btn{background:var(--p-bg3);color:var(--p-fg);border:1px solid var(--p-border);
 border-radius:6px;padding:3px 8px;cursor:pointer;font:inherit;white-space:nowrap}
.pumas-btn:hover{filter:brightness(1.2)}
.pumas-btn:disabled{opacity:.5;cursor:default}
.pumas-btn:focus-visible{outline:1px solid var(--p-accent);outline-offset:1px}
.pumas-primary{border-color:var(--p-accent);color:var(--p-accent)}
.pumas-small{padding:0 6px;font-size:11px;line-height:18px}
.pumas-danger{border-color:var(--p-err);color:var(--p-err)}
.pumas-note{color:var(--p-dim);font-size:12px}
.pumas-offline{color:#e0b000;font-size:12px;flex:none}
.pumas-library{display:flex;flex-direction:column;gap:6px;flex:1 1 0;min-height:clamp(150px,38%,320px)}
.pumas-vlist{position:relative;overflow-y:auto;overflow-x:hidden;flex:1 1 0;min-height:88px;border:1px solid var(--p-border);border-radius:6px;background:var(--p-bg2)}
.pumas-vlist:focus{outline:none;border-color:var(--p-accent)}
.pumas-vlist-spacer{position:relative;width:100%}
.pumas-row{position:absolute;left:0;right:0;padding:4px 8px;border-bottom:1px solid color-mix(in srgb,var(--p-border) 60%,transparent);
 cursor:pointer;overflow:hidden;display:flex;flex-direction:column;justify-content:center;gap:1px}
.pumas-row:hover{background:var(--p-bg3)}
.pumas-row.pumas-selected{background:var(--p-hl);box-shadow:inset 3px 0 0 var(--p-accent)}
.pumas-row-line{display:flex;align-items:center;gap:4px;min-width:0}
.pumas-row-name{flex:1 1 auto;min-width:0;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
.pumas-row-sub{color:var(--p-dim);font-size:11px;white-space:nowrap;overflow:hidden;text-overflow:ellipsis;padding-left:13px}
.pumas-badge{display:inline-block;border-radius:8px;padding:0 6px;font-size:11px;border:1px solid var(--p-border);margin-right:4px;white-space:nowrap}
.pumas-badge.pumas-mini{flex:none;margin:0;padding:0 4px;font-size:10px;line-height:14px;border-radius:4px}
.pumas-trust-verified,.pumas-tier-safe{border-color:#3a9d5d;color:#5fd38a}
.pumas-trust-high{border-color:#3a7bd5;color:#7fb2ff}
.pumas-trust-low,.pumas-tier-unknown,.pumas-incomplete{border-color:#c09000;color:#e0b000}
.pumas-trust-none{color:var(--p-dim)}
.pumas-tier-pickle{border-color:var(--p-err);color:var(--p-err)}
.pumas-health{display:inline-flex;align-items:center;gap:4px;cursor:pointer;background:none;border:1px solid var(--p-border);
 border-radius:10px;padding:1px 8px;color:var(--p-fg);font:inherit;font-size:12px;flex:none;white-space:nowrap}
.pumas-dot{width:8px;height:8px;border-radius:50%;background:#777;display:inline-block;flex:none}
.pumas-health-healthy .pumas-dot{background:#3fb950}.pumas-health-warnings .pumas-dot{background:#d29922}
.pumas-health-errors .pumas-dot{background:#f85149}
.pumas-section{border:1px solid var(--p-border);border-radius:6px;padding:6px 8px}
.pumas-details{flex:0 1 auto;max-height:50%;min-height:110px;overflow-y:auto;overflow-x:hidden;overflow-wrap:anywhere}
.pumas-details-head{display:flex;align-items:flex-start;gap:6px;margin-bottom:2px}
.pumas-details-name{flex:1 1 auto;min-width:0;overflow-wrap:break-word}
.pumas-details-close{flex:none}
.pumas-details dl{display:grid;grid-template-columns:max-content minmax(0,1fr);gap:2px 8px;margin:4px 0;font-size:12px}
.pumas-details dt{color:var(--p-dim)}.pumas-details dd{margin:0;overflow-wrap:anywhere;min-width:0}
@container pumas (max-width:340px){
 .pumas-details dl{grid-template-columns:auto minmax(0,1fr)}
 .pumas-details dt.pumas-wide,.pumas-details dd.pumas-wide{grid-column:1 / -1}
 .pumas-details dt.pumas-wide{margin-top:3px}
 .pumas-details dd.pumas-wide{padding-left:6px}
 .pumas-details dt{white-space:nowrap}
}
.pumas-longid{display:flex;flex-wrap:wrap;align-items:flex-start;gap:2px 6px;min-width:0}
.pumas-longid-value{flex:1 1 auto;min-width:0}
.pumas-longid code,.pumas-longid-full{font-family:ui-monospace,Consolas,monospace;font-size:11px;overflow-wrap:anywhere;word-break:break-all}
.pumas-longid summary{cursor:pointer;list-style:none}
.pumas-longid summary::-webkit-details-marker{display:none}
.pumas-longid details[open] summary{display:none}
.pumas-longid-full{display:block}
.pumas-drop{border:2px dashed var(--p-border);border-radius:6px;padding:6px;text-align:center;color:var(--p-dim);font-size:12px}
.pumas-panel.pumas-dragging{outline:2px dashed var(--p-accent);outline-offset:-2px}
.pumas-panel.pumas-dragging .pumas-drop{border-color:var(--p-accent);color:var(--p-fg)}
.pumas-warning{border:1px solid var(--p-err);color:var(--p-err);border-radius:6px;padding:6px;font-size:12px;overflow-wrap:anywhere}
.pumas-warning label{display:flex;gap:6px;align-items:center;margin-top:4px;color:var(--p-fg)}
.pumas-sections{flex:0 1 auto;max-height:40%;min-height:0;overflow-y:auto;overflow-x:hidden;display:flex;flex-direction:column;gap:6px}
.pumas-sections:empty{display:none}
.pumas-fold{padding:0;flex:none}
.pumas-fold>summary{cursor:pointer;padding:5px 8px;font-size:11px;font-weight:600;color:var(--p-dim);text-transform:uppercase;
 letter-spacing:.03em;user-select:none;display:flex;align-items:center;gap:6px;list-style:none}
.pumas-fold>summary::-webkit-details-marker{display:none}
.pumas-fold>summary::before{content:"";width:0;height:0;border-left:5px solid currentColor;border-top:4px solid transparent;
 border-bottom:4px solid transparent;flex:none}
.pumas-fold[open]>summary::before{transform:rotate(90deg)}
.pumas-fold>summary:hover{color:var(--p-fg)}
.pumas-fold-title{display:flex;align-items:center;gap:6px;min-width:0;flex:1 1 auto}
.pumas-count{text-transform:none;font-weight:400;letter-spacing:0;display:inline-flex;align-items:center;gap:4px;margin-left:auto}
.pumas-fold-body{padding:0 8px 8px;display:flex;flex-direction:column;gap:6px}
.pumas-apps{border-top:1px solid var(--p-border);margin:2px -8px -8px}
.pumas-apps>summary{padding-left:8px}
.pumas-apps ul{margin:0;padding-left:16px;font-size:12px}
.pumas-app{overflow-wrap:anywhere}
.pumas-health-details ul{margin:0;padding-left:16px;font-size:12px;overflow-wrap:anywhere}
.pumas-health-details h4{margin-top:2px}
.pumas-jobs{display:flex;flex-direction:column;gap:4px;max-height:150px;overflow-y:auto}
.pumas-job{font-size:12px;overflow-wrap:anywhere}.pumas-job progress{display:block;width:100%;height:6px}
.pumas-job-failed{color:var(--p-err)}
.pumas-browser,.pumas-picker{max-height:160px;overflow:auto;border:1px solid var(--p-border);border-radius:6px}
.pumas-browser button,.pumas-picker button{display:block;width:100%;text-align:left;background:none;border:0;color:var(--p-fg);padding:2px 6px;cursor:pointer;
 font:inherit;font-size:12px;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
.pumas-browser button:hover,.pumas-picker button:hover{background:var(--p-bg3)}
.pumas-browser .pumas-note,.pumas-picker .pumas-note{padding:2px 6px;overflow-wrap:anywhere}
.pumas-confirm{display:flex;gap:6px;align-items:center;flex-wrap:wrap;padding:4px;border:1px solid var(--p-err);border-radius:6px;margin-top:4px;font-size:12px}
.pumas-link{color:var(--p-accent)}
.pumas-badges{display:flex;flex-wrap:wrap;gap:4px 0;margin:2px 0}
.pumas-trust-dot{display:inline-block;flex:none;width:8px;height:8px;border-radius:50%;margin-right:1px;vertical-align:middle;background:#666;border:0}
.pumas-trust-dot.pumas-trust-verified{background:#3fb950}.pumas-trust-dot.pumas-trust-high{background:#4c8dff}
.pumas-trust-dot.pumas-trust-low{background:#d29922}.pumas-trust-dot.pumas-trust-none{background:#666}
.pumas-pending{border-color:#8a63d2;color:#b79cf0}
.pumas-manual{border-color:var(--p-fg)}
.pumas-callout{border:1px solid var(--p-border);border-left:3px solid #d29922;border-radius:4px;padding:5px 8px;margin:6px 0;font-size:12px;display:flex;flex-direction:column;gap:4px}
.pumas-pending-box{border-left-color:#8a63d2;flex-direction:row;flex-wrap:wrap;align-items:center;gap:6px}
.pumas-callout ul{margin:0;padding-left:18px}
.pumas-scan{border:1px solid var(--p-err);border-radius:4px;padding:4px 8px;margin:4px 0;font-size:12px}
.pumas-scan-title{color:var(--p-err);font-weight:600}.pumas-scan ul{margin:2px 0;padding-left:18px}
.pumas-scan-dangerous,.pumas-scan-error{color:var(--p-err)}.pumas-scan-suspicious{color:#e0b000}
.pumas-phantoms,.pumas-phantom{color:var(--p-err)}.pumas-phantoms{font-size:12px;margin:4px 0}
.pumas-phantoms ul{margin:2px 0;padding-left:18px}
.pumas-links{margin:2px 0;padding-left:16px;font-size:12px;overflow-wrap:anywhere}
.pumas-nowrap{white-space:nowrap;word-break:normal}
.pumas-mono{font-family:ui-monospace,Consolas,monospace;font-size:11px;word-break:break-all}
.pumas-word{background:var(--p-bg2);border-radius:3px;padding:0 4px;margin:0 4px 2px 0;display:inline-block;font-size:11px}
.pumas-evidence summary{cursor:pointer;color:var(--p-dim);font-size:12px}
.pumas-evidence ul,.pumas-warnings-list{margin:2px 0;padding-left:18px;font-size:12px}
.pumas-warnings-list{color:#e0b000}
.pumas-overrides{margin:6px 0}.pumas-overrides>summary{cursor:pointer;color:var(--p-dim);font-size:12px}
.pumas-ov-form{display:flex;flex-direction:column;gap:6px;padding:4px 0 2px 8px}
.pumas-ov-field{display:flex;flex-direction:column;gap:2px;font-size:12px}.pumas-ov-label{color:var(--p-dim)}
.pumas-panel input.pumas-ov-input{width:100%}.pumas-ov-error{font-size:12px;overflow-wrap:anywhere}
.pumas-details .pumas-bar select{flex:1 1 8em}
.pumas-import .pumas-bar .pumas-btn{flex:1 0 auto}
.pumas-import-mode{flex:0 0 auto}
.pumas-panel{position:relative}
.pumas-logo{color:var(--p-accent);font-size:14px;flex:none}
.pumas-row{flex-direction:row !important;align-items:center;gap:6px;justify-content:flex-start !important;padding:3px 6px !important}
.pumas-row-main{flex:1 1 auto;min-width:0;display:flex;flex-direction:column;gap:1px}
.pumas-thumb{flex:none;width:36px;height:36px;border-radius:4px;background:var(--p-bg3);display:flex;align-items:center;justify-content:center;overflow:hidden}
.pumas-thumb-img{width:100%;height:100%;object-fit:cover;display:block}
.pumas-glyph{font-size:16px;color:var(--p-dim)}
.pumas-row-sub{display:flex;align-items:center;gap:4px;padding-left:0 !important;min-width:0}
.pumas-row-size{flex:none;margin-left:auto;color:var(--p-dim);font-size:11px;white-space:nowrap}
.pumas-chip{display:inline-block;max-width:9em;overflow:hidden;text-overflow:ellipsis;white-space:nowrap;border-radius:4px;padding:0 4px;
 font-size:10px;line-height:15px;background:var(--p-bg3);color:var(--p-fg);flex:0 1 auto;min-width:0}
.pumas-chip-base{background:color-mix(in srgb,var(--p-accent) 22%,var(--p-bg3))}
.pumas-attention{color:#e0b000;font-size:11px;flex:none}
.pumas-sort{flex:0 1 auto;min-width:0}
.pumas-filters{flex:1 1 auto;min-width:0}
.pumas-filters summary{cursor:pointer;list-style:none;white-space:nowrap}
.pumas-filters summary::-webkit-details-marker{display:none}
.pumas-filter-grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(120px,1fr));gap:4px;margin-top:4px}
.pumas-filter-grid select{width:100%}
.pumas-library{position:relative}
.pumas-drawer{flex:1 1 0;min-height:180px;display:flex;flex-direction:column;
 background:var(--comfy-menu-bg,#1e1e1e);border:1px solid var(--p-accent);border-radius:6px;
 padding:6px 8px;max-height:none !important;overflow:hidden !important}
.pumas-panel.pumas-drawer-open .pumas-sections>:not(.pumas-jobs-section){display:none}
.pumas-panel.pumas-drawer-open .pumas-sections{flex:0 1 auto;max-height:15%}
.pumas-panel.pumas-drawer-open .pumas-library{flex:0 0 36%;min-height:150px}
.pumas-drawer-body{flex:1 1 auto;min-height:0;overflow-y:auto;overflow-x:hidden;overflow-wrap:anywhere;padding-right:2px}
.pumas-drawer-actions{flex:none;border-top:1px solid var(--p-border);padding-top:6px;margin-top:4px;display:flex;flex-direction:column;gap:4px}
.pumas-drawer-actions .pumas-bar select{flex:1 1 6em;min-width:0}
.pumas-labelled{display:inline-flex;align-items:center;gap:3px;margin-right:4px}
.pumas-badge-key{font-size:10px;color:var(--p-dim);text-transform:uppercase;letter-spacing:.03em}
.pumas-badges{align-items:center;gap:4px !important}
.pumas-health-item{margin-bottom:4px;list-style:none}
.pumas-health-details ul{padding-left:4px !important}
.pumas-health-subject{font-family:ui-monospace,Consolas,monospace;font-size:11px;overflow-wrap:anywhere}
.pumas-health-next{font-size:12px}
.pumas-fixer-repair{border-color:#3a9d5d;color:#5fd38a}.pumas-fixer-clean{border-color:#c09000;color:#e0b000}
.pumas-fixer-manual,.pumas-fixer-rebuild{border-color:var(--p-dim);color:var(--p-dim)}
.pumas-not-fixed{color:var(--p-err)}
.pumas-roots{margin:0;padding:0;list-style:none;display:flex;flex-direction:column;gap:2px}
.pumas-root{display:flex;align-items:center;gap:4px;min-width:0}
.pumas-root .pumas-mono{overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
.pumas-settings label{font-size:12px}
.pumas-add-root{flex-direction:row;flex-wrap:wrap;align-items:center}
.pumas-roots-line{display:flex;align-items:center;gap:4px;min-width:0;white-space:nowrap}
.pumas-roots-list{flex:1 1 auto;min-width:0;overflow:hidden;text-overflow:ellipsis}
.pumas-btn .pi{font-size:11px}
.pumas-no-icons .pi{display:none}
.p-toast-detail{white-space:pre-line}
.pumas-no-icons .pumas-thumb:not(:has(img))::after{content:attr(data-abbr);font-size:9px;font-weight:600;color:var(--p-dim);letter-spacing:.02em}
.pumas-drawer-actions .pumas-bar select.pumas-edit-type{flex:1 1 8em;min-width:8em}
.pumas-type-filter{max-width:14em !important}
@container pumas (min-width:760px){
 .pumas-drawer{position:absolute;top:40px;right:8px;bottom:8px;width:min(46%,560px);height:auto}
 .pumas-panel.pumas-drawer-open .pumas-library{flex:1 1 0}
 .pumas-panel.pumas-drawer-open>.pumas-library,.pumas-panel.pumas-drawer-open>.pumas-sections{margin-right:calc(min(46%,560px) + 8px)}
 .pumas-panel.pumas-drawer-open .pumas-sections>:not(.pumas-jobs-section){display:flex}
 .pumas-panel.pumas-drawer-open .pumas-sections>details:not(.pumas-jobs-section){display:block}
 .pumas-panel.pumas-drawer-open .pumas-sections{max-height:40%}
}
`;

/** Insert the panel stylesheet once into `doc` (idempotent). */
export function installStyles(doc = document) {
  if (doc.getElementById("pumas-panel-style")) return;
  const style = doc.createElement("style");
  style.id = "pumas-panel-style";
  style.textContent = CSS;
  doc.head.appendChild(style);
}
