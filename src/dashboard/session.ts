import type { Context, MiddlewareHandler } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import { csrf } from "hono/csrf";
import { HTTPException } from "hono/http-exception";
import { tokensEqual } from "../api/auth";
import { readBoundedText } from "../api/body";
import { pageSecurityHeaders } from "../api/security-headers";
import { bytesToBase64Url } from "../domain/base64";
import { sessionGateStub } from "../env";
import type { AppEnv } from "../api/router";

/**
 * The dashboard's sign-in. The cookie holds no copy of API_TOKEN: it holds its issue time and an HMAC of
 * it keyed with API_TOKEN, so it cannot be used as a bearer token, expires on its own, and every session
 * ends when the token is changed. Signing out ends it on the server too: cookies issued before the
 * last sign-out are refused (see SessionGate). State-changing POSTs need a same-origin Origin (or
 * Sec-Fetch-Site) and a form field holding an HMAC of the session (a token bound to it, which a
 * cross-site page cannot read).
 */

export type DashboardEnv = AppEnv & { Variables: { csrfToken: string; form?: Record<string, string> } };
type DashboardContext = Context<DashboardEnv>;

/** `__Host-`: the browser keeps it only if it is Secure, for this exact host and for every path. */
const SESSION_COOKIE = "__Host-doorbell-session";
const SESSION_TTL_SECONDS = 12 * 60 * 60;
export const CSRF_FIELD = "csrf";

const encoder = new TextEncoder();

async function hmac(key: string, message: string): Promise<string> {
  const cryptoKey = await crypto.subtle.importKey("raw", encoder.encode(key), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", cryptoKey, encoder.encode(message)));
  return bytesToBase64Url(mac);
}

const sessionMac = (apiToken: string, issuedAt: number) => hmac(apiToken, `doorbell-session.${issuedAt}`);
const csrfTokenOf = (apiToken: string, session: string) => hmac(apiToken, `doorbell-csrf.${session}`);

/** The session cookie's issue time, when it was issued with this API_TOKEN within the session lifetime; null otherwise. */
async function sessionIssuedAt(apiToken: string, session: string, now: number): Promise<number | null> {
  const match = /^(\d{1,15})\.([\w-]{43})$/.exec(session);
  if (!match?.[1] || !match[2]) return null;
  const issuedAt = Number(match[1]);
  if (issuedAt > now || now - issuedAt > SESSION_TTL_SECONDS * 1000) return null;
  return (await tokensEqual(match[2], await sessionMac(apiToken, issuedAt))) ? issuedAt : null;
}

const cookieOptions = { path: "/", secure: true, httpOnly: true, sameSite: "Strict" } as const;

/** Checks a sign-in attempt; on success sets the session cookie. */
export async function signIn(c: DashboardContext, apiToken: string, given: string): Promise<boolean> {
  if (!(await tokensEqual(given, apiToken))) return false;
  const issuedAt = Date.now();
  setCookie(c, SESSION_COOKIE, `${issuedAt}.${await sessionMac(apiToken, issuedAt)}`, { ...cookieOptions, maxAge: SESSION_TTL_SECONDS });
  return true;
}

/** Ends every session issued until now, this one included, on the server; then drops the cookie. */
export async function signOut(c: DashboardContext): Promise<void> {
  await sessionGateStub(c.env).endSessionsBefore(Date.now() + 1);
  deleteCookie(c, SESSION_COOKIE, cookieOptions);
}

/**
 * Where to go after signing in: a path on this site only. Browsers strip tabs and newlines and read `\`
 * as `/`, so `/\t/evil.example` is `//evil.example`: the path is judged as a browser resolves it, and
 * any control character is refused outright.
 */
export function safeNext(next: string | undefined): string {
  // eslint-disable-next-line no-control-regex
  if (!next?.startsWith("/") || /[\u0000-\u001f\u007f]/.test(next)) return "/";
  const base = "https://doorbell.invalid";
  const resolved = URL.parse(next, base);
  if (resolved?.origin !== base) return "/";
  const path = `${resolved.pathname}${resolved.search}${resolved.hash}`;
  return path.startsWith("//") ? "/" : path;
}

/** The sign-in page, remembering where the visitor wanted to go (GET requests only). */
function signInRedirect(c: DashboardContext): Response {
  const url = new URL(c.req.url);
  const wanted = c.req.method === "GET" && url.pathname !== "/" ? `?next=${encodeURIComponent(url.pathname + url.search)}` : "";
  return c.redirect(`/sign-in${wanted}`, 303);
}

/** Lets signed-in visitors through (and gives the page its CSRF token); sends the others to sign in. */
export const requireSession: MiddlewareHandler<DashboardEnv> = async (c, next) => {
  const apiToken = c.env.API_TOKEN;
  const session = getCookie(c, SESSION_COOKIE);
  const issuedAt = apiToken && session ? await sessionIssuedAt(apiToken, session, Date.now()) : null;
  if (!apiToken || !session || issuedAt === null || issuedAt < (await sessionGateStub(c.env).notBefore())) return signInRedirect(c);
  c.set("csrfToken", await csrfTokenOf(apiToken, session));
  await next();
};

/** Refuses a cross-origin POST (Origin, else Sec-Fetch-Site), whatever its cookies; runs before anything else. */
export const sameOriginOnly = csrf();

/** After requireSession: the POSTed form must carry the token bound to this session. */
export const requireCsrfToken: MiddlewareHandler<DashboardEnv> = async (c, next) => {
  const given = (await readForm(c))[CSRF_FIELD];
  if (given === undefined || !(await tokensEqual(given, c.get("csrfToken")))) throw new HTTPException(403, { message: "stale or cross-site form" });
  await next();
};

const MAX_FORM_BYTES = 64 * 1024;

/** A POSTed (URL-encoded) form's fields, read once within the API's body limit and kept for every later reader. */
export async function readForm(c: DashboardContext): Promise<Record<string, string>> {
  let form = c.get("form");
  if (!form) {
    form = Object.fromEntries(new URLSearchParams(await readBoundedText(c, MAX_FORM_BYTES)));
    c.set("form", form);
  }
  return form;
}

/** Pages hold subscription data: scripts and styles from this origin only. */
export const securityHeaders: MiddlewareHandler<DashboardEnv> = pageSecurityHeaders(
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
);

/** Middleware of every page, and of every state-changing form. */
export const page = [securityHeaders, requireSession] as const;
export const action = [securityHeaders, sameOriginOnly, requireSession, requireCsrfToken] as const;
