/** Base64 of bytes, for signatures, secrets and ids (Web APIs give `btoa` over binary strings only). */
export function bytesToBase64(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary);
}

/** The URL- and cookie-safe form: `-` and `_` for `+` and `/`, no padding. */
export function bytesToBase64Url(bytes: Uint8Array): string {
  return bytesToBase64(bytes).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}
