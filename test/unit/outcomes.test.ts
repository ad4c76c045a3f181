import { describe, expect, it } from "vitest";
import type { AttemptResult } from "../../src/delivery/attempt";
import type { DeliveryItem } from "../../src/domain/delivery";
import type { DeliveryRow } from "../../src/durable/subscription/deliveries";
import { outcomesOf, type Health, type OutcomeInput } from "../../src/durable/subscription/outcomes";

const NOW = 1_800_000_000_000;
const POLICY = { maxRetries: 2, retryDelaySeconds: 300, disableAfterFailures: 3 };
const HEALTHY: Health = { consecutiveFailures: 0, disabledReason: null };
const RETENTION_MS = 7 * 24 * 60 * 60 * 1000;

function item(attempt = 1, round = 0, id = "evt-1"): DeliveryItem {
  return { id, round, attempt, events: [{ id, code: "product.update" }], acceptedAt: NOW - 1_000 };
}

function result(status: number | null, fields: Partial<AttemptResult> = {}): AttemptResult {
  const outcome = status === null ? "timeout" : status >= 200 && status < 300 ? "success" : "http_error";
  return { at: NOW - 100, outcome, status, durationMs: 50, error: null, retryAfterSeconds: null, ...fields };
}

function rowOf(delivery: DeliveryItem, fields: Partial<DeliveryRow>): DeliveryRow {
  return { id: delivery.id, round: delivery.round, status: "retrying", attempts: delivery.attempt - 1, nextAttemptAt: NOW, events: delivery.events, createdAt: NOW - 1_000, ...fields };
}

function outcomes(fields: Partial<OutcomeInput>) {
  return outcomesOf({
    subscriptionId: "sub", deleted: false, health: HEALTHY, attempts: [], expired: [], rows: new Map(), policy: POLICY, retentionMs: RETENTION_MS, now: NOW, ...fields,
  });
}

describe("outcomesOf", () => {
  it.each([
    // [what, health before, attempt, status, row status, retry delay, failures after, disabled after]
    ["a first-try success", HEALTHY, 1, 200, "delivered", null, 0, null],
    ["a failure with retries left", HEALTHY, 1, 500, "retrying", 300, 1, null],
    ["a failure with none left", HEALTHY, 3, 500, "failed", null, 1, null],
    ["a 429 asking for longer", HEALTHY, 1, 429, "retrying", 900, 1, null],
    ["the failure that reaches DISABLE_AFTER_FAILURES", { consecutiveFailures: 2, disabledReason: null }, 1, 500, "held", null, 3, "failures"],
    ["a 410", HEALTHY, 1, 410, "held", null, 1, "gone"],
    ["a success after failures", { consecutiveFailures: 2, disabledReason: null }, 2, 204, "delivered", null, 0, null],
  ] as const)("%s", (_, health, attempt, status, rowStatus, delay, failures, disabled) => {
    const delivery = item(attempt);
    const found = outcomes({
      health, attempts: [{ item: delivery, result: result(status, status === 429 ? { retryAfterSeconds: 900 } : {}) }],
      rows: attempt > 1 ? new Map([[delivery.id, rowOf(delivery, {})]]) : new Map(),
    });
    expect(found.writes.map(({ row, isNew }) => [row.status, row.attempts, isNew])).toEqual([[rowStatus, attempt, attempt === 1]]);
    expect(found.retries.map((retry) => retry.delaySeconds)).toEqual(delay === null ? [] : [delay]);
    if (delay !== null) expect(found.retries[0]?.item).toMatchObject({ id: delivery.id, attempt: attempt + 1 });
    expect(found.health).toEqual({ consecutiveFailures: failures, disabledReason: disabled });
  });

  it("alerts on a disable, a spent delivery and a recovery, once each", () => {
    const failing = outcomes({
      health: { consecutiveFailures: 2, disabledReason: null },
      attempts: [{ item: item(3), result: result(500) }], rows: new Map([["evt-1", rowOf(item(3), {})]]),
    });
    expect(failing.alerts.map((alert) => alert.type)).toEqual(["subscription.disabled", "delivery.failed"]);
    const recovered = outcomes({ health: { consecutiveFailures: 1, disabledReason: null }, attempts: [{ item: item(), result: result(200) }] });
    expect(recovered.alerts).toEqual([{ type: "subscription.recovered", subscriptionId: "sub", failuresBefore: 1 }]);
  });

  it("enqueues no retry once the batch disabled the subscription: what is owed is held", () => {
    const attempts = ["a", "b", "c"].map((id) => ({ item: item(1, 0, id), result: result(500) }));
    const found = outcomes({ attempts });
    expect(found.writes.map(({ row }) => row.status)).toEqual(["retrying", "retrying", "held"]);
    expect(found.retries).toEqual([]);
    expect(found.health.disabledReason).toBe("failures");
  });

  it("ignores an attempt the row already knows of: a duplicate, or a superseded round", () => {
    const delivery = item(1);
    const duplicate = outcomes({ attempts: [{ item: delivery, result: result(500) }], rows: new Map([[delivery.id, rowOf(delivery, { status: "delivered", attempts: 1 })]]) });
    expect(duplicate.writes).toEqual([]);
    const superseded = outcomes({ attempts: [{ item: delivery, result: result(200) }], rows: new Map([[delivery.id, rowOf(delivery, { round: 1, status: "pending", attempts: 0 })]]) });
    expect(superseded.writes).toEqual([]);
  });

  it("records a removed subscription's attempts and sends nothing more: what would be retried is held", () => {
    const found = outcomes({ deleted: true, attempts: [{ item: item(), result: result(500) }] });
    expect(found.writes.map(({ row }) => row.status)).toEqual(["held"]);
    expect(found).toMatchObject({ health: HEALTHY, retries: [], alerts: [] });
  });

  it("fails a delivery whose body is gone past the retention, without counting it against the endpoint", () => {
    const delivery = item(2);
    const aged = rowOf(delivery, { createdAt: NOW - RETENTION_MS - 1 });
    const found = outcomes({ health: { consecutiveFailures: 2, disabledReason: null }, expired: [delivery], rows: new Map([[delivery.id, aged]]) });
    expect(found.writes.map(({ row, isNew }) => [row.status, row.attempts, isNew])).toEqual([["failed", 1, false]]);
    expect(found.health).toEqual({ consecutiveFailures: 2, disabledReason: null });
    expect(found.alerts).toEqual([{ type: "delivery.failed", subscriptionId: "sub", deliveryId: delivery.id, eventIds: [delivery.id], attempts: 1 }]);
  });

  it("records nothing for a body gone inside the retention (withdrawn after a 503), so that the producer's resend goes through", () => {
    expect(outcomes({ expired: [item()] })).toMatchObject({ writes: [], alerts: [] });
    expect(outcomes({ expired: [{ ...item(), acceptedAt: undefined }] })).toMatchObject({ writes: [], alerts: [] });
  });
});
