import { env, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { AttemptResult } from "../../src/delivery/attempt";
import type { DeliveryItem } from "../../src/domain/delivery";
import type { SubscriptionCreate } from "../../src/domain/subscription";
import { api, createSubscription, UNSETTLED } from "./helpers";
import { eventually } from "../support/eventually";

/** The subscription object's RPC as the consumer and the backstop call it, without either. */

const LEASE_MS = 30_000;
const PROBE_LEASE_MS = 1_000;
/** As a consumer invocation has them (CONNECTIONS_PER_INVOCATION). */
const CONNECTIONS = 6;
const CODE = "document.update";

async function control(fields: Partial<SubscriptionCreate> = {}) {
  const subscription = await createSubscription(fields);
  return { subscription, stub: env.SUBSCRIPTIONS.get(env.SUBSCRIPTIONS.idFromName(subscription.id)) };
}

function fresh(id = crypto.randomUUID()): DeliveryItem {
  return { id, round: 0, attempt: 1, events: [{ id, code: CODE }] };
}

function result(fields: Partial<AttemptResult> = {}): AttemptResult {
  return { at: Date.now(), outcome: "success", status: 200, durationMs: 3, error: null, retryAfterSeconds: null, ...fields };
}

const failure = (status = 500) => result({ outcome: "http_error", status, error: "boom" });
const ids = (items: readonly DeliveryItem[]) => items.map((item) => item.id);

describe("begin and finish: the gate and its leases", () => {
  it("keeps maxConcurrency across leases, and frees a lease's slots when it finishes", async () => {
    const { stub } = await control({ maxConcurrency: 3 });
    const items = Array.from({ length: 6 }, () => fresh());
    // A lease's share is POSTs at once: all its deliveries go, two at a time.
    const first = await stub.begin({ leaseMs: LEASE_MS, connections: CONNECTIONS, deliveries: items.slice(0, 2) });
    expect(first.slots).toBe(2);
    expect(ids(first.send)).toEqual(ids(items.slice(0, 2)));
    // One slot is left for another consumer, however many deliveries it holds.
    const second = await stub.begin({ leaseMs: LEASE_MS, connections: CONNECTIONS, deliveries: items.slice(2, 5) });
    expect(second.slots).toBe(1);
    expect(ids(second.send)).toEqual(ids(items.slice(2, 5)));
    // None for a third: it waits.
    const third = await stub.begin({ leaseMs: LEASE_MS, connections: CONNECTIONS, deliveries: items.slice(5) });
    expect(third).toMatchObject({ slots: 0, send: [] });
    expect(ids(third.wait)).toEqual(ids(items.slice(5)));

    await stub.finish(first.leaseId, first.send.map((item) => ({ item, result: result() })));
    const fourth = await stub.begin({ leaseMs: LEASE_MS, connections: CONNECTIONS, deliveries: third.wait });
    expect(fourth.slots).toBe(1);
    expect(ids(fourth.send)).toEqual(ids(items.slice(5)));
    expect(fourth.target).toMatchObject({ format: "event", secrets: [expect.stringMatching(/^whsec_/)] });
  });

  it("sends one probe at a time while the endpoint is failing, and frees an expired lease's slot", async () => {
    const { stub } = await control({ maxConcurrency: 10 });
    const failed = await stub.begin({ leaseMs: LEASE_MS, connections: CONNECTIONS, deliveries: [fresh()] });
    const finished = await stub.finish(failed.leaseId, [{ item: failed.send[0]!, result: failure() }]);
    expect(finished.retries).toEqual([{ item: { ...failed.send[0]!, attempt: 2 }, delaySeconds: 1 }]);

    const items = [fresh(), fresh()];
    // A lease long enough that the next call comes within it on a starved machine, short enough to wait out.
    const askedAt = Date.now();
    const probe = await stub.begin({ leaseMs: PROBE_LEASE_MS, connections: CONNECTIONS, deliveries: items.slice(0, 1) });
    expect(probe.slots).toBe(1);
    expect(ids(probe.send)).toEqual(ids(items.slice(0, 1)));
    expect(await stub.begin({ leaseMs: LEASE_MS, connections: CONNECTIONS, deliveries: items.slice(1) })).toMatchObject({ slots: 0, send: [] });
    expect(Date.now() - askedAt, "the second call came within the probe's lease").toBeLessThan(PROBE_LEASE_MS);

    // The probe's consumer never reports back: once its lease lapses, the slot is free again.
    const next = await eventually(async () => {
      const plan = await stub.begin({ leaseMs: LEASE_MS, connections: CONNECTIONS, deliveries: items.slice(1) });
      expect(plan.slots).toBe(1);
      return plan;
    });
    expect(Date.now() - askedAt).toBeGreaterThanOrEqual(PROBE_LEASE_MS);
    expect(ids(next.send)).toEqual(ids(items.slice(1)));
  });

  it("skips what is delivered, under way, or a duplicate of a recorded attempt", async () => {
    const { stub } = await control();
    const [done, busy, retried] = [fresh(), fresh(), fresh()];
    const plan = await stub.begin({ leaseMs: LEASE_MS, connections: CONNECTIONS, deliveries: [done, retried] });
    await stub.finish(plan.leaseId, [{ item: done, result: result() }, { item: retried, result: failure(503) }]);
    await stub.finish("no-such-lease", [{ item: { ...retried, attempt: 2 }, result: result() }]); // recovers the endpoint

    const busyPlan = await stub.begin({ leaseMs: LEASE_MS, connections: CONNECTIONS, deliveries: [busy] });
    expect(ids(busyPlan.send)).toEqual([busy.id]);
    const again = await stub.begin({ leaseMs: LEASE_MS, connections: CONNECTIONS, deliveries: [done, busy, retried, { ...retried, attempt: 2 }] });
    expect(again).toMatchObject({ send: [], wait: [] });
    expect(await stub.deliveryOf(retried.id, UNSETTLED)).toEqual({ deliveryId: retried.id, status: "delivered", attempts: 2, nextAttemptAt: null, subscriptionDeleted: false });
  });

  it("writes two rows for a first-try success: its delivery and its attempt", async () => {
    const { stub } = await control();
    const item = fresh();
    const plan = await stub.begin({ leaseMs: LEASE_MS, connections: CONNECTIONS, deliveries: [item] });
    const counts = () =>
      runInDurableObject(stub, (_, state) =>
        ["delivery", "attempt_batch", "batch_event"].map((table) => state.storage.sql.exec(`SELECT COUNT(*) AS n FROM ${table}`).one().n),
      );
    expect(await counts()).toEqual([0, 0, 0]); // begin writes nothing
    await stub.finish(plan.leaseId, [{ item, result: result() }]);
    expect(await counts()).toEqual([1, 1, 0]);
  });

  it("disables after DISABLE_AFTER_FAILURES failed attempts: alerts, no retry, and everything owed held", async () => {
    const { subscription, stub } = await control();
    const [a, b, c] = [fresh(), fresh(), fresh()];
    let plan = await stub.begin({ leaseMs: LEASE_MS, connections: CONNECTIONS, deliveries: [a, b] });
    const firstTwo = await stub.finish(plan.leaseId, [{ item: a, result: failure() }, { item: b, result: failure() }]);
    expect(firstTwo.retries).toHaveLength(2);
    plan = await stub.begin({ leaseMs: LEASE_MS, connections: CONNECTIONS, deliveries: [c] });
    const third = await stub.finish(plan.leaseId, [{ item: c, result: failure(502) }]);
    expect(third.retries).toEqual([]);
    expect(third.alerts).toEqual([
      { type: "subscription.disabled", subscriptionId: subscription.id, reason: "failures", lastStatus: 502, lastError: "boom", consecutiveFailures: 3 },
    ]);
    for (const item of [a, b, c]) expect(await stub.deliveryOf(item.id, UNSETTLED)).toMatchObject({ status: "held" });

    const later = fresh();
    expect(await stub.begin({ leaseMs: LEASE_MS, connections: CONNECTIONS, deliveries: [{ ...a, attempt: 2 }, later] })).toMatchObject({ send: [], wait: [] });
    expect(await stub.deliveryOf(later.id, UNSETTLED)).toEqual({ deliveryId: later.id, status: "held", attempts: 0, nextAttemptAt: null, subscriptionDeleted: false });
  });

  it("starts a redelivered event over in a new round: the attempt under way is logged and changes nothing", async () => {
    const { stub } = await control({ maxConcurrency: 1 });
    const item = fresh();
    const plan = await stub.begin({ leaseMs: LEASE_MS, connections: CONNECTIONS, deliveries: [item] });
    expect(await stub.redeliver({ id: item.id, code: CODE })).toBe("queued");
    await stub.finish(plan.leaseId, [{ item, result: result() }]);

    expect(await stub.deliveryOf(item.id, UNSETTLED)).toMatchObject({ status: "pending", attempts: 0 });
    expect((await stub.attempts(10, null)).items).toMatchObject([{ eventId: item.id, eventIds: [item.id], deliveryId: item.id, attempt: 1, outcome: "success" }]);
    expect(await stub.begin({ leaseMs: LEASE_MS, connections: CONNECTIONS, deliveries: [item] })).toMatchObject({ send: [], wait: [] });
  });
});

describe("Quiltt batches", () => {
  it("merges fresh events into the same batches from the same message, and finds each event through its batch", async () => {
    const { stub } = await control({ payloadFormat: "quiltt", maxEventsPerDelivery: 2 });
    const items = [fresh(), fresh(), fresh()];
    const plan = await stub.begin({ leaseMs: LEASE_MS, connections: CONNECTIONS, deliveries: items });
    expect(plan.send.map((batch) => batch.events.map((event) => event.id))).toEqual([[items[0]!.id, items[1]!.id], [items[2]!.id]]);
    expect(ids(plan.send).every((id) => id.startsWith("msg_"))).toBe(true);
    expect(await stub.begin({ leaseMs: LEASE_MS, connections: CONNECTIONS, deliveries: items })).toMatchObject({ send: [], wait: [] }); // under way

    await stub.finish(plan.leaseId, []);
    const again = await stub.begin({ leaseMs: LEASE_MS, connections: CONNECTIONS, deliveries: items });
    expect(ids(again.send)).toEqual(ids(plan.send));

    await stub.finish(again.leaseId, [{ item: again.send[0]!, result: result() }]);
    for (const item of items.slice(0, 2))
      expect(await stub.deliveryOf(item.id, UNSETTLED)).toMatchObject({ deliveryId: again.send[0]!.id, status: "delivered", attempts: 1 });
    expect(ids((await stub.begin({ leaseMs: LEASE_MS, connections: CONNECTIONS, deliveries: items })).send)).toEqual([again.send[1]!.id]);
  });
});

describe("owed: the backstop's question", () => {
  const GRACE_MS = 60_000;

  it("re-sends what has no row once per grace period, waits for a lease, and settles what is done", async () => {
    const { stub } = await control();
    const [lost, busy, done] = [fresh(), fresh(), fresh()];
    const plan = await stub.begin({ leaseMs: LEASE_MS, connections: CONNECTIONS, deliveries: [busy, done] });
    await stub.finish(plan.leaseId, [{ item: done, result: result() }]);
    const before = Date.now();
    const leased = await stub.begin({ leaseMs: LEASE_MS, connections: CONNECTIONS, deliveries: [busy] });

    const events = [lost, busy, done].map((item) => item.events[0]!);
    const check = await stub.owed(events, GRACE_MS);
    expect(check.resend).toEqual([lost]);
    expect(check.unsettled.sort()).toEqual([lost.id, busy.id].sort());
    expect(check.nextCheckAt).toBeGreaterThanOrEqual(before + LEASE_MS);
    expect(check.nextCheckAt).toBeLessThanOrEqual(Date.now() + LEASE_MS);
    expect(ids(leased.send)).toEqual([busy.id]);

    const asked = await stub.owed(events, GRACE_MS);
    expect(asked.resend).toEqual([]);
    expect(asked.unsettled.sort()).toEqual([lost.id, busy.id].sort());
  });

  it("re-sends a retry overdue past the grace period with its next attempt, and not one still due", async () => {
    const { stub } = await control();
    const [overdue, due] = [fresh(), fresh()];
    const plan = await stub.begin({ leaseMs: LEASE_MS, connections: CONNECTIONS, deliveries: [overdue, due] });
    await stub.finish(plan.leaseId, [{ item: overdue, result: failure() }, { item: due, result: failure() }]);
    const dueAt = Date.parse((await stub.deliveryOf(due.id, UNSETTLED))!.nextAttemptAt!);
    await runInDurableObject(stub, (_, state) => {
      state.storage.sql.exec("UPDATE delivery SET next_attempt_at = ? WHERE id = ?", Date.now() - GRACE_MS - 1, overdue.id);
    });

    expect(await stub.owed(due.events, GRACE_MS)).toEqual({ resend: [], unsettled: [due.id], nextCheckAt: dueAt + GRACE_MS });
    const check = await stub.owed(overdue.events, GRACE_MS);
    expect(check.resend).toEqual([{ ...overdue, attempt: 2 }]);
    expect(check.unsettled).toEqual([overdue.id]);
  });

  it("records as held what has no row while disabled, and settles everything once the subscription is removed", async () => {
    const { stub } = await control({ disabled: true });
    const item = fresh();
    expect(await stub.owed(item.events, GRACE_MS)).toEqual({ resend: [], unsettled: [], nextCheckAt: null });
    expect(await stub.deliveryOf(item.id, UNSETTLED)).toMatchObject({ status: "held", attempts: 0 });

    const { stub: removed } = await control();
    expect(await removed.remove()).toBe(true);
    expect(await removed.owed(fresh().events, GRACE_MS)).toEqual({ resend: [], unsettled: [], nextCheckAt: null });
  });
});

describe("settings", () => {
  it("keeps every secret rotated out within 24 hours signing, at most five at once, then answers 409", async () => {
    const { subscription, stub } = await control();
    const rotated: string[] = [];
    for (let round = 0; round < 3; round++) {
      const response = await api(`/v1/webhooks/subscriptions/${subscription.id}/secret/rotate`, { method: "POST" });
      expect(response.status).toBe(200);
      rotated.unshift(((await response.json()) as { secret: string }).secret);
    }
    const { target } = await stub.begin({ leaseMs: LEASE_MS, connections: CONNECTIONS, deliveries: [] });
    expect(target?.secrets).toEqual([...rotated, subscription.secret]);

    expect(await stub.rotateSecret()).toMatch(/^whsec_/);
    const refused = await api(`/v1/webhooks/subscriptions/${subscription.id}/secret/rotate`, { method: "POST" });
    expect(refused.status).toBe(409);
    expect(await refused.json()).toMatchObject({ error: "conflict", message: expect.stringContaining("5 secrets already sign") });
    expect((await stub.begin({ leaseMs: LEASE_MS, connections: CONNECTIONS, deliveries: [] })).target?.secrets).toHaveLength(5);
  });

  it("stores the delivery settings with their defaults, and leaves updatedAt alone for a patch that changes nothing", async () => {
    const { subscription, stub } = await control({ payloadFormat: "quiltt" });
    expect(subscription).toMatchObject({ payloadFormat: "quiltt", maxEventsPerDelivery: 100, maxConcurrency: 20 });
    // Marks the stored row, so that a write shows (the object serves its view from memory).
    const storedUpdatedAt = () =>
      runInDurableObject(stub, (_, state) => state.storage.sql.exec<{ updated_at: number }>("SELECT updated_at FROM subscription").one().updated_at);
    await runInDurableObject(stub, (_, state) => {
      state.storage.sql.exec("UPDATE subscription SET updated_at = 0");
    });
    const patch = (json: unknown) => api(`/v1/webhooks/subscriptions/${subscription.id}`, { method: "PATCH", json });
    expect((await patch({ name: subscription.name, maxConcurrency: 20 })).status).toBe(200);
    expect(await storedUpdatedAt()).toBe(0);
    expect(await (await patch({ payloadFormat: "event" })).json()).toMatchObject({ payloadFormat: "event", maxEventsPerDelivery: 1 });
    expect(await storedUpdatedAt()).toBeGreaterThan(0);
  });

  it("leaves a tombstone on remove: gone for the API and the gate, its deliveries still answered", async () => {
    const { subscription, stub } = await control();
    const item = fresh();
    const plan = await stub.begin({ leaseMs: LEASE_MS, connections: CONNECTIONS, deliveries: [item] });
    await stub.finish(plan.leaseId, [{ item, result: result() }]);

    expect((await api(`/v1/webhooks/subscriptions/${subscription.id}`, { method: "DELETE" })).status).toBe(204);
    expect(await stub.view()).toBeNull();
    expect(await stub.secret()).toBeNull();
    expect(await stub.update({ name: "again" })).toBeNull();
    expect(await stub.remove()).toBe(false);
    expect(await stub.begin({ leaseMs: LEASE_MS, connections: CONNECTIONS, deliveries: [fresh()] })).toMatchObject({ target: null, send: [], wait: [] });
    expect(await stub.deliveryOf(item.id, UNSETTLED)).toMatchObject({ status: "delivered", attempts: 1, subscriptionDeleted: true });
    expect((await api(`/v1/webhooks/subscriptions/${subscription.id}`)).status).toBe(404);
  });

  it("forgets delivered deliveries a day old and failed ones and attempts past the retention, daily, and keeps what is owed", async () => {
    const { stub } = await control();
    const [delivered, deliveredLately, failedLately, failed, retrying] = [fresh(), fresh(), fresh(), fresh(), fresh()];
    const plan = await stub.begin({ leaseMs: LEASE_MS, connections: CONNECTIONS, deliveries: [delivered, deliveredLately, failedLately, failed, retrying] });
    // All succeed (three failures would disable the subscription); each row's state is then set below.
    await stub.finish(plan.leaseId, [delivered, deliveredLately, failedLately, failed, retrying].map((item) => ({ item, result: result() })));
    const DAY_MS = 24 * 60 * 60 * 1000;
    await runInDurableObject(stub, (_, state) => {
      const changedAgo = (status: string, ms: number, id: string) =>
        state.storage.sql.exec("UPDATE delivery SET status = ?, updated_at = ?, created_at = 0 WHERE id = ?", status, Date.now() - ms, id);
      changedAgo("delivered", 2 * DAY_MS, delivered.id);
      changedAgo("delivered", DAY_MS / 2, deliveredLately.id);
      changedAgo("failed", 2 * DAY_MS, failedLately.id);
      changedAgo("failed", 8 * DAY_MS, failed.id);
      changedAgo("retrying", 8 * DAY_MS, retrying.id);
      state.storage.sql.exec("UPDATE attempt_batch SET newest_at = 0");
    });

    expect(await runDurableObjectAlarm(stub)).toBe(true);
    // Forgotten: what it was depends on whether the ledger has seen the event settled, and how long ago it came.
    const settled = (receivedAt: number) => ({ settled: true, receivedAt });
    expect(await stub.deliveryOf(delivered.id, settled(Date.now() - 2 * DAY_MS))).toEqual({ deliveryId: null, status: "delivered", attempts: null, nextAttemptAt: null, subscriptionDeleted: false });
    expect(await stub.deliveryOf(delivered.id, UNSETTLED)).toMatchObject({ deliveryId: null, status: "pending", attempts: 0 });
    expect(await stub.deliveryOf(failed.id, settled(Date.now() - 8 * DAY_MS))).toBeNull();
    // Kept.
    expect(await stub.deliveryOf(deliveredLately.id, UNSETTLED)).toMatchObject({ deliveryId: deliveredLately.id, status: "delivered", attempts: 1 });
    expect(await stub.deliveryOf(failedLately.id, UNSETTLED)).toMatchObject({ deliveryId: failedLately.id, status: "failed" });
    expect(await stub.deliveryOf(retrying.id, UNSETTLED)).toMatchObject({ deliveryId: retrying.id, status: "retrying" });
    expect((await stub.attempts(10, null)).items).toEqual([]);
    const nextAlarm = await runInDurableObject(stub, (_, state) => state.storage.getAlarm());
    expect(nextAlarm).toBeGreaterThan(Date.now() + 23 * 60 * 60 * 1000);
  });
});
