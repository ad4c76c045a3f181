import { DAY_MS } from "../../config";
import { OUTCOMES, type Outcome } from "../../delivery/retry-policy";
import type { SubscriptionView } from "../../domain/subscription";
import type { LoggedOutcome } from "./attempt-log";
import type { UnsettledCounts } from "./deliveries";

export type OutcomeCounts = Record<Outcome, number>;

/** What the operator dashboard shows of a subscription, read in one call. */
export interface SubscriptionSummary {
  subscription: SubscriptionView;
  /** Whether deliveries carry an `authorization` header (its value is never shown). */
  hasAuthorization: boolean;
  lastAttempt: { at: string; outcome: Outcome; status: number | null } | null;
  /** Attempts of the last 24 hours. */
  lastDay: OutcomeCounts;
  /** Deliveries not (yet) delivered, by status. */
  owed: UnsettledCounts;
  /** Attempts per time bucket, oldest first; the last bucket holds now. */
  chart: { start: string; bucketMs: number; buckets: OutcomeCounts[] };
}

export interface SummaryInput {
  readonly subscription: SubscriptionView;
  readonly hasAuthorization: boolean;
  /** The attempt log, newest first; read only as far back as the window needs. */
  readonly attempts: Iterable<LoggedOutcome>;
  readonly owed: UnsettledCounts;
  readonly now: number;
  readonly bucketMs: number;
  readonly bucketCount: number;
  /** How much later than it started an attempt may be logged (a POST timeout). */
  readonly lateLoggingMs: number;
}

export function checkSummaryWindow(bucketMs: number, bucketCount: number): void {
  if (!Number.isSafeInteger(bucketMs) || bucketMs < 1000 || !Number.isSafeInteger(bucketCount) || bucketCount < 0 || bucketCount > 1000)
    throw new RangeError("summary: bucketMs must be an integer >= 1000 and bucketCount from 0 to 1000");
}

const zeroCounts = (): OutcomeCounts => Object.fromEntries(OUTCOMES.map((outcome) => [outcome, 0])) as OutcomeCounts;

/**
 * The last attempt, the last 24 hours by outcome, and `bucketCount` buckets of `bucketMs` (aligned to
 * multiples of it) for a chart. Stops reading past the window.
 */
export function summarize(input: SummaryInput): SubscriptionSummary {
  const { now, bucketMs, bucketCount } = input;
  const chartStart = (Math.floor(now / bucketMs) + 1 - bucketCount) * bucketMs;
  const dayStart = now - DAY_MS;
  // Attempts are logged in the order they finish: one that started earlier lands at most a POST timeout (and a minute) later.
  const stopBefore = Math.min(dayStart, chartStart) - input.lateLoggingMs - 60_000;
  const lastDay = zeroCounts();
  const buckets = Array.from({ length: bucketCount }, zeroCounts);
  let lastAttempt: SubscriptionSummary["lastAttempt"] = null;
  for (const attempt of input.attempts) {
    lastAttempt ??= { at: new Date(attempt.at).toISOString(), outcome: attempt.outcome, status: attempt.status };
    if (attempt.at < stopBefore) break;
    if (attempt.at >= dayStart) lastDay[attempt.outcome] += 1;
    const bucket = buckets[Math.floor((attempt.at - chartStart) / bucketMs)];
    if (bucket) bucket[attempt.outcome] += 1;
  }
  return { subscription: input.subscription, hasAuthorization: input.hasAuthorization, lastAttempt, lastDay, owed: input.owed, chart: { start: new Date(chartStart).toISOString(), bucketMs, buckets } };
}
