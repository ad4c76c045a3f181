import type { OpsEvent } from "../../delivery/messages";
import { nextStep, type RetryPolicy } from "../../delivery/retry-policy";
import type { DeliveryItem } from "../../domain/delivery";
import type { DisabledReason } from "../../domain/subscription";
import type { FinishedAttempt } from "./control";
import { nextItemOf, type DeliveryRow } from "./deliveries";

/**
 * What follows a consumer's attempts (pure): each delivery's new state, the endpoint's health (the
 * consecutive-failure counter and disabled flag), the retries to enqueue and the alerts to send.
 */

export interface Health {
  readonly consecutiveFailures: number;
  readonly disabledReason: DisabledReason | null;
}

export interface OutcomeInput {
  readonly subscriptionId: string;
  /** A removed subscription: attempts are logged and rows kept true, but nothing more is sent. */
  readonly deleted: boolean;
  readonly health: Health;
  readonly attempts: readonly FinishedAttempt[];
  /** Deliveries that could not be sent because an event body is no longer kept. */
  readonly expired: readonly DeliveryItem[];
  /** EVENT_RETENTION_DAYS, in ms. */
  readonly retentionMs: number;
  /** The current row of each attempted delivery that has one, by id. */
  readonly rows: ReadonlyMap<string, DeliveryRow>;
  readonly policy: RetryPolicy & { readonly disableAfterFailures: number };
  readonly now: number;
}

export interface Outcomes {
  readonly health: Health;
  /** Rows to write, in order, and whether each is new. */
  readonly writes: { readonly row: DeliveryRow; readonly isNew: boolean }[];
  readonly retries: { readonly item: DeliveryItem; readonly delaySeconds: number }[];
  readonly alerts: OpsEvent[];
}

/** The attempt is older than what the row already knows: a superseded round or a duplicate already recorded. */
function isOutdated(row: DeliveryRow, item: DeliveryItem): boolean {
  if (row.round !== item.round) return row.round > item.round;
  return row.status === "delivered" || row.status === "failed" || row.attempts >= item.attempt;
}

export function outcomesOf(input: OutcomeInput): Outcomes {
  const { subscriptionId, now } = input;
  let { consecutiveFailures: failures, disabledReason: disabled } = input.health;
  const rows = new Map(input.rows);
  const writes: Outcomes["writes"] = [];
  const retries: Outcomes["retries"] = [];
  const alerts: OpsEvent[] = [];

  for (const { item, result } of input.attempts) {
    const row = rows.get(item.id);
    if (row && isOutdated(row, item)) continue;
    const step = nextStep({ attempt: item.attempt, ...result }, input.policy);
    let next: DeliveryRow = {
      id: item.id, round: item.round, attempts: item.attempt, events: item.events, createdAt: row?.createdAt ?? item.acceptedAt ?? now,
      status: "delivered", nextAttemptAt: now,
    };
    if (step.kind === "delivered") {
      if (failures > 0 && !input.deleted) alerts.push({ type: "subscription.recovered", subscriptionId, failuresBefore: failures });
      failures = 0;
    } else {
      failures += 1;
      const reason = step.kind === "gone" ? "gone" : failures >= input.policy.disableAfterFailures ? "failures" : null;
      if (reason && !disabled) {
        disabled = reason;
        alerts.push({
          type: "subscription.disabled", subscriptionId, reason, lastStatus: result.status, lastError: result.error, consecutiveFailures: failures,
        });
      }
      if (step.kind === "failed") {
        next = { ...next, status: "failed" };
        alerts.push({ type: "delivery.failed", subscriptionId, deliveryId: item.id, eventIds: item.events.map((event) => event.id), attempts: item.attempt });
      } else if (step.kind === "retry" && !disabled && !input.deleted) {
        next = { ...next, status: "retrying", nextAttemptAt: now + step.delaySeconds * 1000 };
        retries.push({ item: nextItemOf(next), delaySeconds: step.delaySeconds });
      } else {
        next = { ...next, status: "held" };
      }
    }
    rows.set(item.id, next);
    // `rows` holds what this loop wrote, so a row missing here is written for the first time.
    writes.push({ row: next, isNew: !row });
  }
  for (const item of input.expired) {
    const row = rows.get(item.id);
    if (row && isOutdated(row, item)) continue;
    // Failed (nobody's failure) only when its event is past the retention. A younger one was withdrawn after
    // a 503: recording nothing lets the producer's resend of it go through.
    const createdAt = row?.createdAt ?? item.acceptedAt;
    if (createdAt === undefined || createdAt > now - input.retentionMs) continue;
    const next: DeliveryRow = {
      id: item.id, round: item.round, attempts: item.attempt - 1, events: item.events, createdAt, status: "failed", nextAttemptAt: now,
    };
    alerts.push({ type: "delivery.failed", subscriptionId, deliveryId: item.id, eventIds: item.events.map((event) => event.id), attempts: next.attempts });
    rows.set(item.id, next);
    writes.push({ row: next, isNew: !row });
  }

  if (input.deleted) return { health: input.health, writes, retries: [], alerts: [] };
  // Switched off by these attempts: what they would retry is held instead (the object holds it on recording the health).
  const disabling = disabled !== null && input.health.disabledReason === null;
  return { health: { consecutiveFailures: failures, disabledReason: disabled }, writes, retries: disabling ? [] : retries, alerts };
}
