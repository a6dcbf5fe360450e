// Pure formatting helpers (no DOM, no side effects).

/** File extensions treated as pickle-based formats on the client (the server decides for real). */
export const PICKLE_EXTENSIONS = [".pt", ".pth", ".ckpt", ".bin", ".pkl"];

/** ComfyUI model_type vocabulary (pumas_core.vocab.ModelType). */
export const MODEL_TYPES = [
  "checkpoint", "diffusion_model", "lora", "vae", "text_encoder", "clip_vision", "controlnet",
  "upscale_model", "embedding", "style_model", "gligen", "hypernetwork", "photomaker",
  "audio_encoder", "llm", "unknown",
];

/** True when the file name ends with a pickle extension (case-insensitive). */
export function isPickleName(name) {
  const lower = String(name || "").toLowerCase();
  return PICKLE_EXTENSIONS.some((ext) => lower.endsWith(ext));
}

/** Bytes → "1.5 GiB" (binary multiples, IEC names like the CLI, 1 decimal); non-numbers → "". */
export function formatBytes(bytes) {
  const n = Number(bytes);
  if (!Number.isFinite(n) || n < 0) return "";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i += 1; }
  return i === 0 ? `${v} B` : `${v.toFixed(1)} ${units[i]}`;
}

/** A hash as ComfyUI's identifier form `blake3:<hex>` (already-prefixed values are kept). */
export function hashId(algo, hex) {
  if (!hex) return "";
  const s = String(hex);
  return s.includes(":") ? s : `${algo}:${s}`;
}

/** Trust level (`verified|high|low|none`) → {label, cls}. */
export function trustBadge(trust) {
  switch (trust) {
    case "verified": return { label: "Verified", cls: "pumas-trust-verified" };
    case "high": return { label: "High confidence", cls: "pumas-trust-high" };
    case "low": return { label: "Low confidence", cls: "pumas-trust-low" };
    default: return { label: "Unknown", cls: "pumas-trust-none" };
  }
}

/** How the identity was matched (`match_source`) → a phrase for the trust badge's tooltip. */
export const MATCH_LABELS = {
  hash: "matched by file hash", filename_exact: "matched by exact file name",
  filename_fuzzy: "matched by a similar file name", manual: "set by you", none: "no match found",
  sidecar: "from another tool's sidecar file (hash checked)",
};

/** `match_source` → tooltip text ("matched by file hash"); unknown values are shown as they are. */
export function matchLabel(source) {
  return MATCH_LABELS[source || "none"] || `matched by ${source}`;
}

/** A count → "22.7M" / "1.2B" / "950" (SI thousands, 1 decimal, trailing ".0" dropped); non-numbers → "". */
export function humanCount(n) {
  const v = Number(n);
  if (n === null || n === undefined || n === "" || !Number.isFinite(v) || v < 0) return "";
  const units = [[1e12, "T"], [1e9, "B"], [1e6, "M"], [1e3, "K"]];
  for (const [size, unit] of units) {
    if (v >= size) return `${(v / size).toFixed(1).replace(/\.0$/, "")}${unit}`;
  }
  return String(Math.round(v));
}

/** Security tier (`safe|unknown|pickle`) → {label, cls}. */
export function tierBadge(tier) {
  switch (tier) {
    case "safe": return { label: "Safe format", cls: "pumas-tier-safe" };
    case "pickle": return { label: "Pickle (can run code)", cls: "pumas-tier-pickle" };
    default: return { label: "Unknown format safety", cls: "pumas-tier-unknown" };
  }
}

/** Human names for progress stages (docs/internal-api.md). */
export const STAGE_LABELS = {
  queued: "Queued", validating: "Validating", copying: "Copying", hashing: "Hashing", writing_metadata: "Writing metadata",
  indexing: "Indexing", syncing: "Syncing", scanning: "Scanning", lookup: "Looking up",
  downloading: "Downloading", verifying: "Verifying", adopting: "Adopting", restoring: "Restoring",
  uploading: "Uploading", done: "Done", failed: "Failed",
};

/** Progress dict → "Hashing model.safetensors — 45%" style text. */
export function describeProgress(p) {
  if (!p) return "";
  const stage = STAGE_LABELS[p.stage] || p.stage || "";
  const parts = [stage];
  if (p.file) parts.push(String(p.file));
  if (p.count > 1 && p.index !== undefined) parts.push(`(${Number(p.index) + 1}/${p.count})`);
  const pct = percent(p);
  if (pct !== null) parts.push(`— ${pct}%`);
  if (p.total_bytes > 0) {   // adoption: all files together, with an ETA in seconds
    parts.push(`· total ${Math.min(100, Math.floor((100 * (p.total_bytes_done || 0)) / p.total_bytes))}%`);
    if (p.eta_seconds > 0) parts.push(`· ${p.eta_seconds < 90 ? `${Math.round(p.eta_seconds)} s` : `${Math.round(p.eta_seconds / 60)} min`} left`);
  }
  return parts.filter(Boolean).join(" ");
}

/** Integer percent from bytes_done/bytes_total, or null when unknown. */
export function percent(p) {
  if (!p || !(p.bytes_total > 0)) return null;
  return Math.max(0, Math.min(100, Math.floor((100 * p.bytes_done) / p.bytes_total)));
}

/** Best display name of a model dict. */
export function modelName(m) {
  return (m && (m.official_name || m.cleaned_name || m.model_id)) || "(unnamed)";
}

/** The one help text of the import modes (same as pumas_core.settings.IMPORT_MODE_HELP; a test keeps them equal). */
export const IMPORT_MODE_HELP = "auto = copy (your files stay where they are); copy = copy into the library; move = move into the library (a rename on the same drive, else copy then delete)";

/**
 * A time as the user's local date and time ("2 Dec 2026, 13:05"); accepts epoch seconds (number or
 * numeric string), epoch milliseconds (> 1e12) or an ISO 8601 string. Unknown values → "".
 */
export function localTime(value) {
  if (value === null || value === undefined || value === "") return "";
  let d;
  const n = Number(value);
  if (Number.isFinite(n)) d = new Date(n > 1e12 ? n : n * 1000);
  else d = new Date(String(value));
  if (Number.isNaN(d.getTime())) return "";
  return d.toLocaleString(undefined, { year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });
}
