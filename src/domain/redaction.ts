import { bytesToBase64 } from "./base64";
/**
 * Keeps a subscription's credentials out of what Doorbell records about its endpoint's answers. An
 * endpoint may echo what we sent it (a header dump, "invalid token 'abc'", a JSON error with the
 * header in it, a base64 or URL-encoded log line), so each credential is removed in every form such an
 * echo takes. Pure: no platform calls.
 */

export const REDACTED = "[redacted]";

/** Shorter forms are left alone: they would match ordinary text, and reveal next to nothing. */
const MIN_FORM_LENGTH = 4;

export interface Redactor {
  /** `text` with every form of every credential replaced by `[redacted]`. */
  redact(text: string): string;
  /** The longest form in UTF-8 bytes: text read this far past a cut is enough to catch a form that straddles it. */
  readonly longestFormBytes: number;
}

/** A redactor for an `authorization` header value and signing secrets (`whsec_...`); null and empty entries are skipped. */
export function credentialRedactor(credentials: readonly (string | null | undefined)[]): Redactor {
  const forms = new Set<string>();
  for (const credential of credentials) {
    if (!credential) continue;
    for (const secret of secretParts(credential)) for (const form of encodedForms(secret)) if (form.length >= MIN_FORM_LENGTH) forms.add(form);
  }
  const sorted = [...forms].sort((a, b) => b.length - a.length); // the longest first, so a form never leaves a piece of a longer one
  const pattern = sorted.length === 0 ? null : new RegExp(sorted.map(escapeRegExp).join("|"), "gi");
  const encoder = new TextEncoder();
  return {
    redact: (text) => (pattern ? text.replace(pattern, REDACTED) : text),
    longestFormBytes: Math.max(0, ...sorted.map((form) => encoder.encode(form).byteLength)),
  };
}

/** The credential, and what in it is secret on its own: the token after the scheme, Basic's user:password and password, a secret's key. */
function secretParts(credential: string): string[] {
  const parts = [credential];
  const schemed = /^(\S+)\s+(\S.*)$/s.exec(credential.trim());
  if (schemed?.[1] && schemed[2]) {
    parts.push(schemed[2]);
    if (schemed[1].toLowerCase() === "basic") {
      const decoded = decodeBase64(schemed[2]);
      if (decoded) parts.push(decoded, decoded.slice(decoded.indexOf(":") + 1));
    }
  }
  if (credential.startsWith("whsec_")) parts.push(credential.slice("whsec_".length));
  return parts;
}

/** How an echo may spell `value`; matching ignores case, which also covers a lower- or upper-cased echo. */
function encodedForms(value: string): string[] {
  const json = JSON.stringify(value).slice(1, -1);
  return [
    value,
    json,
    json.replaceAll("/", "\\/"), // JSON encoders that escape slashes (PHP's, by default)
    encodeURIComponent(value),
    encodeURIComponent(value).replaceAll("%20", "+"), // form encoding
    ...base64Forms(value),
    hex(value),
  ];
}

/**
 * `value` base64-encoded inside a longer text (a header dump, a Basic credential) starts at one of three
 * byte alignments; for each, the characters that depend on `value` alone (and their URL-safe spelling).
 */
function base64Forms(value: string): string[] {
  const bytes = new TextEncoder().encode(value);
  const forms: string[] = [];
  for (const offset of [0, 1, 2]) {
    const padded = new Uint8Array(offset + bytes.byteLength);
    padded.set(bytes, offset);
    const encoded = bytesToBase64(padded);
    const start = offset === 0 ? 0 : 4; // the first group mixes in bytes that are not ours
    const end = Math.floor(padded.byteLength / 3) * 4; // a partial last group depends on what follows
    const core = encoded.slice(start, end);
    forms.push(core, core.replaceAll("+", "-").replaceAll("/", "_"));
  }
  forms.push(bytesToBase64(bytes)); // the whole value alone, padding included
  return forms;
}

function decodeBase64(text: string): string | null {
  try {
    return new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(Uint8Array.from(atob(text), (char) => char.charCodeAt(0)));
  } catch {
    return null;
  }
}

function hex(value: string): string {
  return [...new TextEncoder().encode(value)].map((byte) => byte.toString(16).padStart(2, "0")).join("");
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
