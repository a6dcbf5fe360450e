// DOM pieces of the details view that show what the library knows about a model's identity and
// safety: badges, upstream matches, pickle findings, incomplete sets, pending lookups, phantom files.
// Every builder takes the model dict and an `act` object of callbacks; text goes through dom.h only.

import { h } from "./dom.js";
import { humanCount, matchLabel, tierBadge, trustBadge } from "./format.js";
import {
  canDownloadMissing, civitaiMatch, evidenceOf, hubMatch, isIncomplete, licenseOf, needsConfirmation,
  pickleFindings, trainedWords,
} from "./identity.js";

const btn = (cls, label, onclick, extra = {}) =>
  h("button", { type: "button", class: `pumas-btn ${cls}`, onclick, ...extra }, label);

const ext = (href, text) => h("a", { href, target: "_blank", rel: "noopener noreferrer", class: "pumas-link" }, text);

/**
 * One `dt`/`dd` pair, or null for an empty value.
 * @param {boolean} [wide] - long values (hashes, paths, repo ids): in a narrow panel the label goes
 *   above the value instead of beside it.
 */
export function row(label, value, wide = false) {
  if (value === undefined || value === null || value === "" || (Array.isArray(value) && !value.length)) return null;
  const cls = wide ? "pumas-wide" : null;
  return [h("dt", { class: cls }, label), h("dd", { class: cls }, value)];
}

/**
 * A long identifier (hash id, model id, folder) with a Copy button. Hash-like values are shown in
 * short form ("blake3:8087e9bf…3a589a") that expands to the full value; others wrap in full.
 * @param {string} full - the value copied and shown on expansion.
 * @param {string} label - what it is, for the button's label ("BLAKE3").
 * @param {(text: string, label: string) => void} onCopy
 * @returns {HTMLElement|string} "" for an empty value.
 */
export function longId(full, label, onCopy) {
  if (!full) return "";
  const s = String(full);
  const cut = s.indexOf(":") + 1;
  const hex = s.slice(cut);
  const short = /^[0-9a-f]{24,}$/i.test(hex) ? `${s.slice(0, cut)}${hex.slice(0, 8)}…${hex.slice(-6)}` : "";
  const value = short
    ? h("details", { class: "pumas-longid-value" }, h("summary", { title: `${s} (click to show in full)` }, h("code", null, short)),
      h("code", { class: "pumas-mono pumas-longid-full", title: "Click to shorten",
        // collapse again on a plain click (not after selecting part of the text)
        onclick: (e) => { const sel = window.getSelection(); if (!sel || sel.isCollapsed) e.currentTarget.parentElement.open = false; } }, s))
    : h("code", { class: "pumas-mono pumas-longid-value" }, s);
  return h("span", { class: "pumas-longid" }, value,
    h("button", { type: "button", class: "pumas-btn pumas-small pumas-copy-btn", title: `Copy ${label}`, "aria-label": `Copy ${label}`,
      onclick: () => onCopy(s, label) }, "Copy"));
}

/** Trust, security, manual, pending and incomplete badges. */
export function badges(m) {
  const trust = trustBadge(m.trust);
  const tier = tierBadge(m.security_tier);
  // Type and base model first (what the model is), then labelled identity and safety badges, so the
  // trust level is never read as the type.
  return h("div", { class: "pumas-badges" },
    h("span", { class: "pumas-chip pumas-chip-type", title: "Type" }, m.model_type || "unknown"),
    m.base_model ? h("span", { class: "pumas-chip pumas-chip-base", title: "Base model" }, m.base_model) : null,
    h("span", { class: "pumas-labelled" },
      h("span", { class: "pumas-badge-key" }, "Identity"),
      h("span", { class: `pumas-badge pumas-trust ${trust.cls}`, title: `${trust.label}: ${matchLabel(m.match_source)}`,
        dataset: { trust: m.trust || "none", matchSource: m.match_source || "none" } }, trust.label)),
    h("span", { class: `pumas-badge ${tier.cls}` }, tier.label),
    m.match_source === "manual" ? h("span", { class: "pumas-badge pumas-manual" }, "Manual") : null,
    m.pending_online_lookup ? h("span", { class: "pumas-badge pumas-pending", title: "Waiting for an online lookup" }, "Lookup pending") : null,
    isIncomplete(m) ? h("span", { class: "pumas-badge pumas-incomplete" }, "Incomplete set") : null);
}

/** Pickle scan findings shown under the security badge (null when there are none). */
export function pickleSection(m) {
  const found = pickleFindings(m);
  if (!found.length) return null;
  return h("div", { class: "pumas-scan", role: "note", "aria-label": "Pickle scan findings" },
    h("div", { class: "pumas-scan-title" }, "Pickle scan findings"),
    h("ul", null, found.map((f) => h("li", null,
      h("span", { class: "pumas-mono" }, f.file), ": ",
      f.dangerous.length ? h("span", { class: "pumas-scan-dangerous" }, `dangerous ${f.dangerous.join(", ")}`) : null,
      f.dangerous.length && f.suspicious.length ? "; " : null,
      f.suspicious.length ? h("span", { class: "pumas-scan-suspicious" }, `suspicious globals ${f.suspicious.join(", ")}`) : null,
      f.error ? h("span", { class: "pumas-scan-error" }, ` ${f.error}`) : null))));
}

/** Rows for the upstream identity: HF repo, CivitAI page, licence, base model, precision, params, words. */
export function identityRows(m) {
  const hub = hubMatch(m);
  const civ = civitaiMatch(m);
  const words = trainedWords(m);
  const base = m.base_model || m.base_model_remote || (civ && civ.baseModel) || "";
  return [
    row("HuggingFace", hub ? h("span", { class: "pumas-hf" },
      hub.repoUrl ? ext(hub.repoUrl, hub.repoId) : hub.repoId,
      hub.fileUrl ? h("span", { class: "pumas-nowrap" }, " · ", ext(hub.fileUrl, "file")) : null) : "", true),
    row("CivitAI", civ ? (civ.pageUrl ? ext(civ.pageUrl, civ.name || "Model page") : civ.name) : "", true),
    row("Licence", licenseOf(m)),
    row("Base model", base),
    row("Precision", m.precision),
    row("Parameters", humanCount(m.parameter_count)),
    row("Architecture", m.architecture),
    row("Trained words", words.length ? h("span", { class: "pumas-words" },
      words.map((w) => h("code", { class: "pumas-word" }, w))) : "", true),
  ];
}

/** "Low confidence — is this right?" with Confirm match / Not this model (null when not needed). */
export function confirmSection(m, act) {
  if (!needsConfirmation(m)) return null;
  const what = hubMatch(m) ? hubMatch(m).repoId : (civitaiMatch(m) && civitaiMatch(m).name) || "the match";
  return h("div", { class: "pumas-callout pumas-confirm-match", role: "group", "aria-label": "Confirm the match" },
    h("div", null, `Low-confidence match (${matchLabel(m.match_source)}): is this ${what}?`),
    h("div", { class: "pumas-bar" },
      btn("pumas-confirm-btn", "Confirm match", () => act.confirm(m)),
      btn("pumas-danger pumas-reject-btn", "Not this model", () => act.reject(m))));
}

/** Missing shard names + "Download missing shards" when a HuggingFace repo is known. */
export function incompleteSection(m, act) {
  if (!isIncomplete(m)) return null;
  const missing = Array.isArray(m.missing_files) ? m.missing_files : [];
  return h("div", { class: "pumas-callout pumas-incomplete-box", role: "group", "aria-label": "Incomplete set" },
    h("div", null, missing.length ? `Missing ${missing.length} file(s) of this set:` : "This set is incomplete."),
    missing.length ? h("ul", { class: "pumas-missing" }, missing.map((n) => h("li", { class: "pumas-mono" }, n))) : null,
    canDownloadMissing(m)
      ? btn("pumas-download-missing-btn", "Download missing shards", () => act.downloadMissing(m))
      : h("div", { class: "pumas-note" }, "No HuggingFace match yet: look it up, or download the shards yourself."));
}

/** The pending-lookup note with "Look up now" (null when no lookup is pending). */
export function pendingSection(m, act, offline) {
  if (!m.pending_online_lookup) return null;
  return h("div", { class: "pumas-callout pumas-pending-box", role: "group", "aria-label": "Online lookup pending" },
    h("span", { class: "pumas-grow" }, offline
      ? "Not looked up online yet (offline); Pumas retries when the network is back."
      : "Not looked up online yet."),
    btn("pumas-lookup-btn", "Look up now", () => act.lookup(m)));
}

/** Files listed in metadata.json that are gone from disk, in red (null when none). */
export function phantomSection(m) {
  const gone = Array.isArray(m.phantom_files) ? m.phantom_files : [];
  if (!gone.length) return null;
  return h("div", { class: "pumas-phantoms", role: "alert" },
    h("div", null, `${gone.length} file(s) missing from disk:`),
    h("ul", null, gone.map((f) => h("li", { class: "pumas-mono" }, typeof f === "string" ? f : String(f.name || f.path || JSON.stringify(f))))));
}

/** Identification evidence (+ detected type and its source) under a closed disclosure. */
export function evidenceSection(m) {
  const ev = evidenceOf(m);
  const ident = m.identification || {};
  if (!ev.length && !ident.detected_type) return null;
  return h("details", { class: "pumas-evidence" }, h("summary", null, "Identification details"),
    ident.detected_type ? h("div", { class: "pumas-note" },
      `Detected type: ${ident.detected_type}${ident.type_source ? ` (${ident.type_source})` : ""}`) : null,
    h("ul", null, ev.map((e) => h("li", null, e))));
}

/** Import warnings recorded in metadata.json (null when none). */
export function warningsSection(m) {
  const w = Array.isArray(m.warnings) ? m.warnings : [];
  return w.length ? h("ul", { class: "pumas-warnings-list" }, w.map((x) => h("li", null, String(x)))) : null;
}
