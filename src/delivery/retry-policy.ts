/** What happens after an attempt: pure decisions, no clock or platform reads beyond the arguments. */

export const OUTCOMES = ["success", "http_error", "timeout", "network_error"] as const;
export type Outcome = (typeof OUTCOMES)[number];

export interface RetryPolicy {
  readonly maxRetries: number;
  readonly retryDelaySeconds: number;
}

/** The longest a `Retry-After` may push a retry back. */
export const MAX_RETRY_AFTER_SECONDS = 60 * 60;

export type NextStep =
  | { readonly kind: "delivered" }
  | { readonly kind: "retry"; readonly delaySeconds: number }
  | { readonly kind: "failed" }
  | { readonly kind: "gone" };

export interface AttemptSummary {
  /** 1 for the first attempt. */
  readonly attempt: number;
  readonly outcome: Outcome;
  readonly status: number | null;
  /** Seconds the endpoint asked us to wait (`Retry-After` on a 429 or 503), when it did. */
  readonly retryAfterSeconds: number | null;
}

export function nextStep(summary: AttemptSummary, policy: RetryPolicy): NextStep {
  if (summary.outcome === "success") return { kind: "delivered" };
  if (summary.status === 410) return { kind: "gone" };
  if (summary.attempt > policy.maxRetries) return { kind: "failed" };
  return { kind: "retry", delaySeconds: retryDelay(summary.retryAfterSeconds, policy.retryDelaySeconds) };
}

/** `Retry-After` lengthens the wait (up to an hour), never shortens it. */
export function retryDelay(retryAfterSeconds: number | null, baseDelaySeconds: number): number {
  if (retryAfterSeconds === null) return baseDelaySeconds;
  return Math.max(baseDelaySeconds, Math.min(retryAfterSeconds, MAX_RETRY_AFTER_SECONDS));
}

/** Parses `Retry-After` (delta seconds or an HTTP date) on a 429 or 503; null when absent, unreadable or another status. */
export function retryAfterSeconds(status: number | null, header: string | null, nowMs: number): number | null {
  if ((status !== 429 && status !== 503) || header === null) return null;
  const text = header.trim();
  if (/^\d+$/.test(text)) return Number(text);
  const date = Date.parse(text);
  if (Number.isNaN(date)) return null;
  return Math.max(0, Math.ceil((date - nowMs) / 1000));
}

/** The outcome of a received HTTP status: only 2xx is success (redirects are not followed). */
export function outcomeOfStatus(status: number): Outcome {
  return status >= 200 && status < 300 ? "success" : "http_error";
}
