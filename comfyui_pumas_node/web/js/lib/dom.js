// Safe DOM building: every piece of text goes through textContent / createTextNode, never innerHTML,
// because model names, paths and server messages are user data.

/**
 * Create an element.
 * @param {string} tag - element name, e.g. "div".
 * @param {object} [attrs] - attributes; keys starting with "on" add event listeners
 *   (`onclick: fn`), `class` sets className, `dataset` is an object, `style` is a string,
 *   boolean `true` sets an empty attribute, `false`/`null`/`undefined` are skipped.
 * @param {...(Node|string|number|null|undefined|Array)} children - strings become text nodes.
 * @returns {HTMLElement}
 */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  if (attrs) {
    for (const [key, value] of Object.entries(attrs)) {
      if (value === false || value === null || value === undefined) continue;
      if (key.startsWith("on") && typeof value === "function") {
        el.addEventListener(key.slice(2).toLowerCase(), value);
      } else if (key === "class") {
        el.className = value;
      } else if (key === "dataset") {
        Object.assign(el.dataset, value);
      } else if (key === "value" || key === "checked" || key === "disabled") {
        el[key] = value;
      } else {
        el.setAttribute(key, value === true ? "" : String(value));
      }
    }
  }
  append(el, children);
  return el;
}

/** Append children (nested arrays allowed, strings become text nodes, null skipped). */
export function append(el, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else if (child instanceof Node) el.appendChild(child);
    else el.appendChild(document.createTextNode(String(child)));
  }
  return el;
}

/** Replace all children of `el` with `children` (same rules as {@link h}). */
export function setChildren(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

/**
 * An inline confirmation row (native confirm() would block the page and look foreign).
 * Resolves true on confirm, false on cancel; the row removes itself.
 * @param {HTMLElement} host - where the row is shown (its children are kept).
 * @param {string} message
 * @param {string} [okLabel]
 * @returns {Promise<boolean>}
 */
export function confirmInline(host, message, okLabel = "Confirm") {
  return new Promise((resolve) => {
    const done = (answer) => { row.remove(); resolve(answer); };
    const row = h("div", { class: "pumas-confirm", role: "alertdialog", "aria-label": message },
      h("span", { class: "pumas-confirm-msg" }, message),
      h("button", { type: "button", class: "pumas-btn pumas-danger", onclick: () => done(true) }, okLabel),
      h("button", { type: "button", class: "pumas-btn", onclick: () => done(false) }, "Cancel"));
    host.appendChild(row);
    row.querySelector("button")?.focus();
  });
}

/**
 * Copy text to the clipboard (Clipboard API on secure origins such as 127.0.0.1, else a hidden
 * textarea + execCommand("copy")).
 * @param {string} text
 * @returns {Promise<boolean>} true when the browser reported success.
 */
export async function copyText(text) {
  try {
    if (navigator.clipboard && window.isSecureContext) { await navigator.clipboard.writeText(text); return true; }
  } catch { /* fall back below */ }
  const area = h("textarea", { readonly: true, style: "position:fixed;left:-9999px;top:0;opacity:0" });
  area.value = text;
  document.body.appendChild(area);
  area.select();
  let ok = false;
  try { ok = document.execCommand("copy"); } catch { ok = false; }
  area.remove();
  return ok;
}
