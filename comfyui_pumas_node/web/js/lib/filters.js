// Pure sorting and filtering of the loaded models (no DOM). The server pages by name; sorting by
// size or date and the filters other than type apply to the models loaded so far (pages of 500).

import { isIncomplete } from "./identity.js";

export const SORTS = [["name", "Name"], ["size", "Size"], ["added", "Date added"]];
export const TRUSTS = [["", "Any trust"], ["verified", "Verified"], ["high", "High confidence"], ["low", "Low confidence"], ["none", "Unknown"]];
export const LINKS = [["", "Linked or not"], ["linked", "Linked"], ["unlinked", "Not linked"]];

/** Why a model needs attention ("" when it does not): incomplete set, unknown type, warnings, a health problem. */
export function attentionReason(m, problemIds) {
  if (isIncomplete(m)) return "incomplete set";
  if (problemIds && problemIds.has(m.model_id)) return "health problem";
  if (m.model_type === "unknown") return "type unknown";
  if (Array.isArray(m.warnings) && m.warnings.length) return "warnings";
  return "";
}

/** Sorted unique base models of `models` (for the filter menu). */
export function baseModels(models) {
  const seen = new Set();
  for (const m of models) if (m.base_model) seen.add(String(m.base_model));
  return [...seen].sort((a, b) => a.localeCompare(b));
}

const name = (m) => String(m.official_name || m.cleaned_name || "").toLowerCase();

/**
 * Filter and sort.
 * @param {object[]} models
 * @param {{sort?: string, base?: string, trust?: string, links?: string, attention?: boolean}} f
 * @param {Set<string>} [problemIds] model ids with health problems
 * @returns {object[]} a new array (the input is not changed)
 */
export function applyView(models, f, problemIds) {
  let out = models.filter((m) => {
    if (f.base && String(m.base_model || "") !== f.base) return false;
    if (f.trust && (m.trust || "none") !== f.trust) return false;
    if (f.links === "linked" && !(m.link_count > 0)) return false;
    if (f.links === "unlinked" && m.link_count > 0) return false;
    if (f.attention && !attentionReason(m, problemIds)) return false;
    return true;
  });
  if (f.sort === "size") out = out.sort((a, b) => (Number(b.size_bytes) || 0) - (Number(a.size_bytes) || 0));
  else if (f.sort === "added") out = out.sort((a, b) => String(b.added_date || "").localeCompare(String(a.added_date || "")));
  else if (f.sort === "name" && out === models) out = out.slice();
  return out;
}

/** True when any filter beyond type/search is active. */
export function filtering(f) {
  return Boolean(f.base || f.trust || f.links || f.attention);
}
