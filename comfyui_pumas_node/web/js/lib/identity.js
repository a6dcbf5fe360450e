// Pure helpers over a model dict's identity keys (metadata.json, see pumas_core/ingest/records.py
// build_metadata and pumas_core/remote/lookup.py to_metadata_patch). No DOM, no side effects.

export const DEFAULT_HUB = "https://huggingface.co";

/** An http(s) URL as a string, or null (javascript:, data: and garbage are refused). */
export function safeUrl(url) {
  if (!url) return null;
  try {
    const u = new URL(String(url));
    return u.protocol === "https:" || u.protocol === "http:" ? u.href : null;
  } catch { return null; }
}

/**
 * The HuggingFace match of a model.
 * @returns {{repoId: string, repoUrl: string|null, fileUrl: string|null, license: string|null}|null}
 *   repoUrl is `<hub>/<repo_id>`, where <hub> is taken from `huggingface.url` (the part before
 *   `/<repo_id>/`, or its origin) so a mirror endpoint is kept; https://huggingface.co otherwise.
 */
export function hubMatch(m) {
  const hf = m && m.huggingface;
  if (!hf || typeof hf !== "object" || !hf.repo_id) return null;
  const repoId = String(hf.repo_id);
  const fileUrl = safeUrl(hf.url);
  let hub = DEFAULT_HUB;
  if (fileUrl) {
    const at = fileUrl.indexOf(`/${repoId}/`);
    hub = at > 0 ? fileUrl.slice(0, at) : new URL(fileUrl).origin;
  }
  const repoPath = repoId.split("/").map(encodeURIComponent).join("/");
  return { repoId, repoUrl: safeUrl(`${hub}/${repoPath}`), fileUrl, license: hf.license || null };
}

/** The CivitAI match: {name, pageUrl, modelId, versionId, baseModel} or null. */
export function civitaiMatch(m) {
  const c = m && m.civitai;
  if (!c || typeof c !== "object" || !(c.model_id || c.page_url)) return null;
  return { name: c.name || null, pageUrl: safeUrl(c.page_url), modelId: c.model_id, versionId: c.version_id,
    baseModel: c.base_model || null };
}

/** Trained words: the top-level list, else CivitAI's. Always an array of strings. */
export function trainedWords(m) {
  const w = (m && (m.trained_words || (m.civitai && m.civitai.trained_words))) || [];
  return Array.isArray(w) ? w.map(String) : [];
}

/** The licence: top-level, else the Hub's, else "". */
export function licenseOf(m) {
  return (m && (m.license || (m.huggingface && m.huggingface.license))) || "";
}

/**
 * Pickle scan findings worth showing: [{file, dangerous: [..], suspicious: [..], error}] for every
 * scanned file with a dangerous or suspicious global or a scan error (`pickle_scan` is
 * {file: {dangerous, suspicious, error}}).
 */
export function pickleFindings(m) {
  const scan = m && m.pickle_scan;
  if (!scan || typeof scan !== "object") return [];
  const out = [];
  for (const [file, r] of Object.entries(scan)) {
    if (!r || typeof r !== "object") continue;
    const dangerous = Array.isArray(r.dangerous) ? r.dangerous : [];
    const suspicious = Array.isArray(r.suspicious) ? r.suspicious : [];
    if (dangerous.length || suspicious.length || r.error) out.push({ file, dangerous, suspicious, error: r.error || null });
  }
  return out;
}

/** Identification evidence strings (`identification.evidence`). */
export function evidenceOf(m) {
  const ev = (m && m.identification && m.identification.evidence) || [];
  return Array.isArray(ev) ? ev.map(String) : [];
}

/** True when the model is a set that lacked files at import. */
export function isIncomplete(m) {
  return Boolean(m && (m.complete === false || (Array.isArray(m.missing_files) && m.missing_files.length)));
}

/** True when the missing shards can be fetched: incomplete and matched to a HuggingFace repo. */
export function canDownloadMissing(m) {
  return isIncomplete(m) && Boolean(m.huggingface && m.huggingface.repo_id);
}

/** A low-confidence match the user should confirm or reject. */
export function needsConfirmation(m) {
  return Boolean(m && m.trust === "low" && (m.huggingface || m.civitai));
}
