import type { Context, MiddlewareHandler } from "hono";
import type { AppEnv } from "./router";
import { ApiError } from "./errors";

const encoder = new TextEncoder();

function sha256(text: string): Promise<ArrayBuffer> {
  return crypto.subtle.digest("SHA-256", encoder.encode(text));
}

/** Equal-time comparison: both sides are hashed first so that neither length nor content leaks through timing. */
export async function tokensEqual(given: string, expected: string): Promise<boolean> {
  const [a, b] = await Promise.all([sha256(given), sha256(expected)]);
  return crypto.subtle.timingSafeEqual(a, b);
}

/**
 * The hash of each configured token (API_TOKEN, INGEST_TOKEN), computed once per isolate rather than
 * on every request; a rotated secret comes with a new isolate, and the map is cleared should it ever
 * hold more than a few. It keeps the hashes, not the promises: a promise stays with the request that
 * made it.
 */
const configuredDigests = new Map<string, ArrayBuffer>();

async function configuredDigest(token: string): Promise<ArrayBuffer> {
  let digest = configuredDigests.get(token);
  if (!digest) {
    digest = await sha256(token);
    if (configuredDigests.size >= 4) configuredDigests.clear();
    configuredDigests.set(token, digest);
  }
  return digest;
}

async function matchesConfigured(givenDigest: ArrayBuffer, configured: string): Promise<boolean> {
  return crypto.subtle.timingSafeEqual(givenDigest, await configuredDigest(configured));
}

function bearerToken(header: string | undefined): string | null {
  const match = /^Bearer ([^\s]+)$/i.exec(header ?? "");
  return match?.[1] ?? null;
}

export type Scope = "all" | "ingest";

/** The client's address as Cloudflare sets it (one shared bucket for clients without one, which only happens locally). */
export function clientAddress(c: Context): string {
  return c.req.header("cf-connecting-ip") ?? "unknown";
}

/** How long a client whose failures went past the limit waits; the limiter's period (wrangler.toml). */
const AUTH_LIMIT_PERIOD_SECONDS = 60;

/**
 * `API_TOKEN` opens every `/v1/*` route; `INGEST_TOKEN` (optional) opens only `POST /v1/events`.
 * Without an `API_TOKEN` secret the API answers 500, never opens up. Failures are counted per client
 * address: past 10 a minute, the next ones answer 429 with Retry-After instead of 401.
 */
export function requireToken(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const apiToken = c.env.API_TOKEN;
    if (!apiToken) throw new ApiError(500, "misconfigured", "the API_TOKEN secret is not set; set it with `wrangler secret put API_TOKEN`");
    const token = bearerToken(c.req.header("authorization"));
    const ingestToken = c.env.INGEST_TOKEN;
    const isIngest = c.req.method === "POST" && c.req.path === "/v1/events";
    let granted = false;
    if (token !== null) {
      // The given token is hashed once, however many configured tokens it is compared with.
      const givenDigest = await sha256(token);
      granted = await matchesConfigured(givenDigest, apiToken);
      if (!granted && isIngest && ingestToken) granted = await matchesConfigured(givenDigest, ingestToken);
    }
    if (!granted) {
      const { success } = await c.env.API_AUTH_LIMITER.limit({ key: clientAddress(c) });
      if (!success) {
        c.header("retry-after", String(AUTH_LIMIT_PERIOD_SECONDS));
        throw new ApiError(429, "too_many_requests", "too many failed authentications from this address; wait a minute");
      }
      throw new ApiError(401, "unauthorized", "a valid bearer token is required");
    }
    await next();
  };
}
