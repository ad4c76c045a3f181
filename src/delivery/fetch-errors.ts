/**
 * What a failed `fetch` means, in words a person can act on.
 *
 * What workerd throws, found by trying each case under `wrangler dev` (workerd 1.20260426):
 * - nothing listening on the port, a reset, or a connection closed before any answer all give the same
 *   `Error: Network connection lost.` (with `retryable: true`): the runtime does not tell them apart;
 * - a DNS lookup that fails, a TLS handshake or certificate that fails, and a response that is not HTTP
 *   all give `Error: internal error; reference = <id>`: the cause is only in workerd's own log (the
 *   wrangler console), under that reference. On Cloudflare these cases come back as 52x responses instead.
 * Other runtimes' wordings (DNS, refused, reset, certificate) are recognised too, should they appear.
 */
export type FetchFailureKind = "dns" | "connection_refused" | "connection_reset" | "connection_lost" | "tls" | "unexplained" | "other";

export interface FetchFailure {
  readonly kind: FetchFailureKind;
  readonly message: string;
}

/** A connection lost before any answer: workerd throws it marked `retryable` (the one test for it, here and where a POST is resent). */
export function isLostConnection(error: unknown): boolean {
  return error instanceof Error && (error as Error & { retryable?: unknown }).retryable === true;
}

const CONNECTION_LOST =
  "connection failed before an answer: nothing listening on that host and port (refused), or the receiver reset or closed the connection";

/** Wordings, checked in order; the first that matches names the kind. */
const RECOGNISED: readonly { readonly pattern: RegExp; readonly kind: FetchFailureKind; readonly explain: string }[] = [
  { pattern: /\bdns\b|getaddrinfo|ENOTFOUND|name (?:or service )?not (?:known|resolved)/i, kind: "dns", explain: "DNS lookup failed: check the host name in the target URL" },
  { pattern: /certificate|\btls\b|\bssl\b|handshake/i, kind: "tls", explain: "TLS failed: the receiver's certificate is not trusted or the handshake failed (is it https on an http port?)" },
  { pattern: /refused/i, kind: "connection_refused", explain: "connection refused: nothing is listening on that host and port" },
  { pattern: /reset/i, kind: "connection_reset", explain: "connection reset by the receiver" },
];

const INTERNAL_ERROR = /^internal error; reference = (\S+)/i;

export function describeFetchFailure(error: unknown): FetchFailure {
  const message = error instanceof Error ? error.message : String(error);
  const reference = INTERNAL_ERROR.exec(message)?.[1];
  if (reference !== undefined)
    return {
      kind: "unexplained",
      message:
        `the runtime did not say why (reference ${reference}): a DNS lookup that failed, a TLS certificate or handshake ` +
        "problem, or an answer that is not HTTP; the wrangler console shows the cause under that reference",
    };
  if (isLostConnection(error)) return { kind: "connection_lost", message: `${CONNECTION_LOST} (${message})` };
  const recognised = RECOGNISED.find(({ pattern }) => pattern.test(message));
  if (recognised) return { kind: recognised.kind, message: `${recognised.explain} (${message})` };
  return { kind: "other", message: error instanceof Error ? `${error.name}: ${message}` : message };
}
