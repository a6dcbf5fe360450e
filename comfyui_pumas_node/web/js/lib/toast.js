// Toasts through feature detection: ComfyUI frontend 1.27 has toast.add({severity,...}); newer
// frontends add toast.success/error/info/warning(title, {description}) and deprecate add.

const NEW_API = { success: "success", error: "error", info: "info", warn: "warning" };

/**
 * Show a toast.
 * @param {object} app - ComfyUI `app`.
 * @param {"success"|"info"|"warn"|"error"} severity
 * @param {string} summary - title.
 * @param {string} [detail] - body text (plain text; the frontend escapes it).
 * @returns {boolean} whether a toast API was found.
 */
export function notify(app, severity, summary, detail = "") {
  const toast = app && app.extensionManager && app.extensionManager.toast;
  if (!toast) {
    (severity === "error" ? console.error : console.info)(`[pumas] ${summary}: ${detail}`);
    return false;
  }
  const fn = NEW_API[severity];
  if (fn && typeof toast[fn] === "function") {
    toast[fn](summary, { description: detail });
    return true;
  }
  if (typeof toast.add === "function") {
    toast.add({ severity, summary, detail, life: severity === "error" ? 8000 : 4000 });
    return true;
  }
  return false;
}
