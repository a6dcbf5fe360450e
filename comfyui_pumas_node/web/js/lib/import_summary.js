// The import toast: one line per path (never the path twice), skipped files with their reason.

const base = (p) => String(p || "").split(/[\\/]/).filter(Boolean).pop() || String(p || "");

/** The error text without a leading copy of the path ("<path>: reason" → "reason"). */
export function reasonOnly(path, error) {
  let text = String(error || "");
  for (const prefix of [String(path || ""), base(path)]) {
    if (prefix && text.startsWith(`${prefix}: `)) text = text.slice(prefix.length + 2);
  }
  return text;
}

/**
 * Summarise an import result {imported, skipped, failed} for a toast.
 * @returns {{severity: "success"|"warn"|"error", summary: string, detail: string}}
 *   detail lists every skipped and failed path once, as "name: reason" lines.
 */
export function importSummary(result, refusedPickles = 0) {
  const r = result || {};
  const imported = Array.isArray(r.imported) ? r.imported : [];
  const skipped = Array.isArray(r.skipped) ? r.skipped : [];
  const failed = (Array.isArray(r.failed) ? r.failed : []);
  const lines = [];
  for (const m of imported.slice(0, 10)) lines.push(`Imported ${m.official_name || base(m.path)}`);
  if (imported.length > 10) lines.push(`… and ${imported.length - 10} more imported`);
  for (const s of skipped.slice(0, 15)) lines.push(`Skipped ${s.official_name || base(s.path)}: ${s.reason || "skipped"}`);
  if (skipped.length > 15) lines.push(`… and ${skipped.length - 15} more skipped`);
  for (const f of failed.slice(0, 15)) lines.push(`Failed ${base(f.path)}: ${reasonOnly(f.path, f.error)}`);
  if (failed.length > 15) lines.push(`… and ${failed.length - 15} more failed`);
  const parts = [`Imported ${imported.length} model${imported.length === 1 ? "" : "s"}`];
  if (skipped.length) parts.push(`${skipped.length} skipped`);
  if (failed.length) parts.push(`${failed.length} failed`);
  const severity = failed.length > refusedPickles ? "error" : (skipped.length || refusedPickles ? "warn" : "success");
  return { severity, summary: "Pumas", detail: [parts.join(", "), ...lines].join("\n") };
}
