/** Standard Webhooks signatures (https://www.standardwebhooks.com) with Web Crypto HMAC-SHA256. */
import { bytesToBase64 } from "../domain/base64";

const SECRET_PREFIX = "whsec_";

/** A new `whsec_` secret: base64 of 32 random bytes. */
export function generateSecret(): string {
  return SECRET_PREFIX + bytesToBase64(crypto.getRandomValues(new Uint8Array(32)));
}

/** One per isolate: every POST is signed, and making an encoder each time showed in the profile. */
const encoder = new TextEncoder();

const keyCache = new Map<string, Promise<CryptoKey>>();

function signingKey(secret: string): Promise<CryptoKey> {
  let key = keyCache.get(secret);
  if (!key) {
    const raw = base64ToBytes(secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret);
    key = crypto.subtle.importKey("raw", raw, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
    if (keyCache.size > 1000) keyCache.clear(); // bounded: secrets are few, but rotation adds new ones
    keyCache.set(secret, key);
  }
  return key;
}

async function signatureOf(secret: string, content: Uint8Array): Promise<string> {
  return `v1,${bytesToBase64(new Uint8Array(await crypto.subtle.sign("HMAC", await signingKey(secret), content)))}`;
}

/** One `v1,<base64>` signature per secret, space-separated, over `<id>.<timestamp>.<body>`. */
export async function signatureHeader(secrets: readonly string[], id: string, timestamp: number, body: string): Promise<string> {
  const content = encoder.encode(`${id}.${timestamp}.${body}`);
  return (await Promise.all(secrets.map((secret) => signatureOf(secret, content)))).join(" ");
}

function base64ToBytes(base64: string): Uint8Array {
  return Uint8Array.from(atob(base64), (char) => char.charCodeAt(0));
}
