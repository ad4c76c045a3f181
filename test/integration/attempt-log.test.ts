import { env, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { AttemptResult } from "../../src/delivery/attempt";
import type { Outcome } from "../../src/delivery/retry-policy";
import type { DeliveryItem } from "../../src/domain/delivery";
import { AttemptLog } from "../../src/durable/subscription/attempt-log";
import { ROW_CAPACITY } from "../../src/durable/subscription/attempt-rows";
import { api, createSubscription, UNSETTLED } from "./helpers";

/** The attempt log through the object's RPC and the API: one row per `finish`, paged newest first. */

const LEASE_MS = 30_000;
const CONNECTIONS = 6;
const CODE = "document.update";

type Stub = ReturnType<typeof env.SUBSCRIPTIONS.get>;

async function control() {
  const subscription = await createSubscription();
  return { subscription, stub: env.SUBSCRIPTIONS.get(env.SUBSCRIPTIONS.idFromName(subscription.id)) };
}

function fresh(): DeliveryItem {
  const id = crypto.randomUUID();
  return { id, round: 0, attempt: 1, events: [{ id, code: CODE }] };
}

const START = Date.now() - 60_000;

/** Finishes one lease per size given, each attempt one ms after the last, outcomes in turn; returns the ids in recorded order. */
async function finishAll(stub: Stub, sizes: readonly number[], outcomes: readonly Outcome[] = ["success"]): Promise<string[]> {
  const recorded: string[] = [];
  for (const size of sizes) {
    const items = Array.from({ length: size }, fresh);
    const plan = await stub.begin({ leaseMs: LEASE_MS, connections: CONNECTIONS, deliveries: items });
    await stub.finish(
      plan.leaseId,
      items.map((item) => {
        const outcome = outcomes[recorded.length % outcomes.length] ?? "success";
        recorded.push(item.id);
        const result: AttemptResult = {
          at: START + recorded.length, outcome, status: outcome === "success" ? 200 : outcome === "http_error" ? 500 : null, durationMs: 3,
          error: outcome === "success" ? null : "boom", retryAfterSeconds: null,
        };
        return { item, result };
      }),
    );
  }
  return recorded;
}

/** Every attempt through the API, `limit` at a time from `cursor`: the event ids in page order. */
async function pagedIds(subscriptionId: string, limit: number, cursor: string | null = null): Promise<string[]> {
  const ids: string[] = [];
  do {
    const response = await api(`/v1/webhooks/subscriptions/${subscriptionId}/attempts?limit=${limit}${cursor === null ? "" : `&cursor=${cursor}`}`);
    expect(response.status).toBe(200);
    const page = (await response.json()) as { attempts: { eventId: string }[]; nextCursor: string | null };
    ids.push(...page.attempts.map((attempt) => attempt.eventId));
    expect(page.attempts.length).toBe(page.nextCursor === null ? page.attempts.length : limit);
    cursor = page.nextCursor;
  } while (cursor !== null);
  return ids;
}

const rowCount = (stub: Stub) =>
  runInDurableObject(stub, (_, state) => state.storage.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM attempt_batch").one().n);

describe("the attempt log", () => {
  it("writes one row per finish, however many attempts it carries", async () => {
    const { stub } = await control();
    await finishAll(stub, [3]);
    expect(await rowCount(stub)).toBe(1);
    await finishAll(stub, [1, 5]);
    expect(await rowCount(stub)).toBe(3);
  });

  it.each([1, 2, 3, 4, 10, 11])("pages across rows newest first, %i at a time, with no gap or duplicate", async (limit) => {
    const { subscription, stub } = await control();
    const recorded = await finishAll(stub, [3, 1, 4, 2, 1]);
    expect(await pagedIds(subscription.id, limit)).toEqual([...recorded].reverse());
  });

  it("continues a cursor taken before new attempts arrived where it left off; a new first page shows them", async () => {
    const { subscription, stub } = await control();
    const before = await finishAll(stub, [3, 4]);
    const first = await stub.attempts(4, null);
    expect(first.items.map((item) => item.eventId)).toEqual(before.slice(3).reverse());
    const after = await finishAll(stub, [2, 3]);

    expect(await pagedIds(subscription.id, 2, String(first.nextCursor))).toEqual(before.slice(0, 3).reverse());
    expect(await pagedIds(subscription.id, 4)).toEqual([...before, ...after].reverse());
  });

  it("summarizes every attempt across rows, the last one recorded first", async () => {
    const { stub } = await control();
    const recorded = await finishAll(stub, [4, 1, 3], ["success", "http_error", "timeout"]);
    const summary = await stub.summary(60_000, 3);
    expect(summary?.lastDay).toEqual({ success: 3, http_error: 3, timeout: 2, network_error: 0 });
    expect(summary?.lastAttempt).toEqual({ at: new Date(START + recorded.length).toISOString(), outcome: "http_error", status: 500 });
  });

  it("prunes the rows whose newest attempt is past the retention, up to the first that is not", async () => {
    const { subscription, stub } = await control();
    const recorded = await finishAll(stub, [2, 3, 1, 2]);
    // Rows 1 and 3 aged; row 2 is not, so row 3 stays behind it (the log is pruned from its oldest end).
    await runInDurableObject(stub, (_, state) => state.storage.sql.exec("UPDATE attempt_batch SET newest_at = 0 WHERE seq IN (1, 3)"));
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await pagedIds(subscription.id, 3)).toEqual(recorded.slice(2).reverse());

    await runInDurableObject(stub, (_, state) => state.storage.sql.exec("UPDATE attempt_batch SET newest_at = 0"));
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await pagedIds(subscription.id, 3)).toEqual([]);
    expect(await rowCount(stub)).toBe(0);
  });

  it("caps the attempts kept, dropping whole rows from the oldest end", async () => {
    const { subscription, stub } = await control();
    const recorded = await finishAll(stub, [3, 1, 4, 2]);
    const keptWithCap = (cap: number) =>
      runInDurableObject(stub, (_, state) => {
        new AttemptLog(state.storage, cap).prune(0);
        return state.storage.sql.exec<{ n: number }>("SELECT COALESCE(SUM(count), 0) AS n FROM attempt_batch").one().n;
      });
    expect(await keptWithCap(10)).toBe(10);
    expect(await keptWithCap(7)).toBe(7);
    expect(await pagedIds(subscription.id, 4)).toEqual(recorded.slice(3).reverse());
    expect(await keptWithCap(6)).toBe(6);
    expect(await keptWithCap(5)).toBe(2); // whole rows only: the next (4 attempts) would make 6
    expect(await pagedIds(subscription.id, 4)).toEqual(recorded.slice(8).reverse());
  });

  it("moves the one-row-per-attempt table of earlier versions into rows once, in order, and drops it", async () => {
    const { subscription, stub } = await control();
    const old = Array.from({ length: ROW_CAPACITY + 5 }, (_, i) => ({ id: crypto.randomUUID(), at: START + i }));
    await runInDurableObject(stub, (_, state) => {
      const { sql } = state.storage;
      sql.exec(`CREATE TABLE attempt_log (
        seq INTEGER PRIMARY KEY, delivery_id TEXT NOT NULL, event_ids TEXT NOT NULL, event_code TEXT NOT NULL,
        attempt INTEGER NOT NULL, at INTEGER NOT NULL, outcome TEXT NOT NULL, status INTEGER, duration_ms INTEGER NOT NULL, error TEXT)`);
      for (const { id, at } of old)
        sql.exec("INSERT INTO attempt_log (delivery_id, event_ids, event_code, attempt, at, outcome, status, duration_ms, error) VALUES (?, ?, ?, 2, ?, 'http_error', 503, 7, 'down')",
          id, JSON.stringify([id]), CODE, at);
      new AttemptLog(state.storage, 1_000_000);
      const tables = sql.exec("SELECT name FROM sqlite_master WHERE name = 'attempt_log'").toArray();
      expect(tables).toEqual([]);
    });
    expect(await rowCount(stub)).toBe(2);
    const newest = await stub.attempts(1, null);
    expect(newest.items).toEqual([{
      eventId: old.at(-1)?.id, eventCode: CODE, attempt: 2, at: new Date(START + old.length - 1).toISOString(), outcome: "http_error", status: 503,
      durationMs: 7, error: "down", eventIds: [old.at(-1)?.id], deliveryId: old.at(-1)?.id,
    }]);
    const later = await finishAll(stub, [2]);
    expect(await pagedIds(subscription.id, 100)).toEqual([...old.map(({ id }) => id), ...later].reverse());
  });

  it("cuts itself back to its cap as it goes, without waiting for the daily prune, and keeps the deliveries' rows", async () => {
    const { stub } = await control();
    const cap = Number(env.MAX_LOGGED_ATTEMPTS);
    const logged = () =>
      runInDurableObject(stub, (_, state) => state.storage.sql.exec<{ n: number }>("SELECT COALESCE(SUM(count), 0) AS n FROM attempt_batch").one().n);
    const recorded: string[] = [];
    for (let finished = 0; finished < cap + 1_000; finished += 1_000) recorded.push(...(await finishAll(stub, [1_000])));

    // Each finish logged more than a tenth of the cap, so each cut the log back itself; the sixth dropped the oldest 1,000 (whole rows).
    expect(await logged()).toBe(cap);
    expect((await stub.attempts(1, null)).items[0]?.eventId).toBe(recorded.at(-1));
    // A delivery's row outlives its attempts: it is what stops a late copy from being POSTed again.
    expect(await stub.deliveryOf(recorded[0] ?? "", UNSETTLED)).toMatchObject({ status: "delivered", attempts: 1, deliveryId: recorded[0] });
  });
});
