import type { MiddlewareHandler } from "hono";

/** Pages that show operator data or hold a token: never cached, never framed, never sniffed, no referrer off the site. */
export function pageSecurityHeaders(contentSecurityPolicy: string): MiddlewareHandler {
  return async (c, next) => {
    await next();
    c.header("content-security-policy", contentSecurityPolicy);
    c.header("x-frame-options", "DENY"); // frame-ancestors for browsers that predate it
    c.header("x-content-type-options", "nosniff");
    c.header("referrer-policy", "same-origin");
    c.header("cache-control", "no-store");
  };
}
