// Pure readers of health items and repair/clean results (no DOM). Tolerant: items may carry
// `action` (what fixes it), `fixable_by` ("repair" | "clean" | null), `reason`; older shapes have
// `repairable` on broken links, and results `repaired`/`unrepairable`/`removed_*` instead of
// `fixed`/`not_fixed`.

/** Health sections in display order: [key, title, default next step when an item has none]. */
export const HEALTH_SECTIONS = [
  ["offline_volumes", "Offline drives", "Mount the drive. Nothing is removed while it is away."],
  ["broken_links", "Broken links", null],
  ["orphaned_links", "Orphaned links", "Clean removes them (they point into the library but are not registered)."],
  ["ghost_apps", "Missing ComfyUI installs", "Clean forgets the install (its folder is gone). Add it again if it moved."],
  ["phantom_models", "Phantom models", "The files are gone: import them again, or Rebuild index to forget them."],
  ["moved_models", "Model folders moved by hand", "Repair indexes them at their new place and re-points their links."],
  ["shadowed_links", "Names ComfyUI loads from another folder", "An earlier folder of this key holds the same name: rename or remove that file."],
];

/** The item's subject: a path, install folder or model id (strings are returned as they are). */
export function itemSubject(it) {
  if (it === null || it === undefined) return "";
  if (typeof it !== "object") return String(it);
  for (const k of ["link_path", "path", "root", "comfyui_dir", "name", "official_name", "model_id", "app_id"]) {
    if (it[k]) return String(it[k]);
  }
  return JSON.stringify(it);
}

/** Which button fixes an item: "repair" | "clean" | "rebuild" | null (needs the user). */
export function fixedBy(key, it) {
  if (it && typeof it === "object" && "fixable_by" in it) return it.fixable_by || null;
  if (key === "broken_links") return it && it.repairable === false ? "clean" : "repair";
  if (key === "orphaned_links" || key === "ghost_apps") return "clean";
  if (key === "phantom_models") return "rebuild";
  return null;
}

/** One sentence: what to do about an item (its own `action` first). */
export function nextStep(key, it, fallback) {
  if (it && typeof it === "object") {
    for (const k of ["action", "fix", "next_step"]) if (it[k]) return String(it[k]);
  }
  if (key === "broken_links") {
    return fixedBy(key, it) === "clean" ? "The model is gone: Clean removes the dead link." : "Repair re-creates the link.";
  }
  return fallback || "";
}

/** Count of items of all sections (a health body). */
export function problemTotal(hb) {
  return HEALTH_SECTIONS.reduce((sum, [key]) => sum + (hb && Array.isArray(hb[key]) ? hb[key].length : 0), 0);
}

/** How many items a button would fix: {repair, clean} counts over a health body. */
export function fixableCounts(hb) {
  const out = { repair: 0, clean: 0, rebuild: 0 };
  for (const [key] of HEALTH_SECTIONS) {
    for (const it of (hb && Array.isArray(hb[key]) ? hb[key] : [])) {
      const by = fixedBy(key, it);
      if (by in out) out[by] += 1;
    }
  }
  return out;
}

/**
 * A repair/clean result as {fixed: [{subject, reason}], fixedCount, notFixed: [{subject, reason}]}.
 * `fixed`/`not_fixed` lists are used when present; else counts and the older keys.
 */
export function summarizeResult(r) {
  r = r || {};
  const norm = (it) => ({ subject: itemSubject(it), reason: (it && typeof it === "object" && (it.reason || it.error)) || "" });
  let fixed = [];
  let fixedCount = 0;
  if (Array.isArray(r.fixed)) { fixed = r.fixed.map(norm); fixedCount = fixed.length; } else {
    for (const [k, v] of Object.entries(r)) {
      if (typeof v === "number" && (k === "repaired" || k.startsWith("removed") || k.startsWith("forgotten"))) fixedCount += v;
    }
    if (Array.isArray(r.removed_apps)) { fixedCount += r.removed_apps.length; fixed = r.removed_apps.map((a) => ({ subject: `install ${a}`, reason: "forgotten" })); }
  }
  const rawNot = Array.isArray(r.not_fixed) ? r.not_fixed
    : [...(r.unrepairable || []), ...(r.conflicts || []), ...(r.kept_orphans || []), ...(r.errors || [])];
  return { fixed, fixedCount, notFixed: rawNot.map(norm) };
}
