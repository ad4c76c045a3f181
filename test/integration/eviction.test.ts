import { env, evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { fanOut } from "../../src/delivery/fan-out";
import { parseEventBatch } from "../../src/domain/event";
import { ledgerShardOf, ledgerStub, subscriptionStub, type Env } from "../../src/env";
import { api, bucket, createSubscription, eventually, ingest, makeEvent, received, receiverUrl } from "./helpers";

/**
 * What Doorbell keeps in memory, and what an eviction (a deploy, a runtime update, an idle object)
 * takes with it: a subscription's leases (the concurrency budget handed to consumers), its record of
 * recent resends, and a ledger shard's cached alarm time and sweep cursor. None of it is what is owed:
 * that is in storage, so an evicted object mid-work still ends with everything delivered.
 */
const EVENT_CODE = "variant.update";

async function deliveryOf(uuid: string, subscriptionId: string) {
  const response = await api(`/v1/events/${uuid}`);
  const { deliveries } = (await response.json()) as { deliveries: { subscriptionId: string; status: string; attempts: number }[] };
  return deliveries.find((delivery) => delivery.subscriptionId === subscriptionId);
}

describe("eviction of a Durable Object mid-work", () => {
  it("a subscription evicted while a consumer holds its lease still records the POST under way, once", async () => {
    const name = bucket("evicted-lease");
    // Answers after 1.5 s: the POST is under way (the receiver has the request) when the object is evicted.
    const subscription = await createSubscription({ targetUrl: receiverUrl(name, "slow-1500"), eventTypes: [EVENT_CODE] });
    const event = makeEvent({ code: EVENT_CODE });
    expect((await ingest(event)).status).toBe(202);
    await eventually(async () => expect(await received(name)).toHaveLength(1), 10_000, 20);

    await evictDurableObject(subscriptionStub(env, subscription.id)); // its lease goes with it

    await eventually(async () => expect(await deliveryOf(event.uuid, subscription.id)).toMatchObject({ status: "delivered", attempts: 1 }));
    const { attempts } = (await (await api(`/v1/webhooks/subscriptions/${subscription.id}/attempts`)).json()) as { attempts: { outcome: string }[] };
    expect(attempts.map((attempt) => attempt.outcome)).toEqual(["success"]);
    expect(await received(name)).toHaveLength(1);
  });

  it("a ledger shard evicted before its backstop ran still sends what is owed when its alarm fires", async () => {
    const name = bucket("evicted-ledger");
    const subscription = await createSubscription({ targetUrl: receiverUrl(name), eventTypes: [EVENT_CODE] });
    const event = makeEvent({ code: EVENT_CODE });
    const parsed = parseEventBatch(event);
    if (parsed.kind !== "ok") throw new Error("fixture event is invalid");
    // Accepted, but its message never reached the queue (as after a crash between the two).
    const droppingQueue = { sendBatch: async () => undefined } as unknown as Env["DELIVERIES"];
    expect(await fanOut({ ...env, DELIVERIES: droppingQueue }, parsed.events)).toEqual({ accepted: [event.uuid], duplicates: [] });

    const ledger = ledgerStub(env, ledgerShardOf(event.uuid));
    await evictDurableObject(ledger);
    // As if accepted an hour ago: past the grace period, so the backstop must act when its alarm fires.
    await runInDurableObject(ledger, (_, state) => {
      state.storage.sql.exec("UPDATE events SET received_at = received_at - 3600000 WHERE id = ?", event.uuid);
    });
    expect(await runDurableObjectAlarm(ledger)).toBe(true); // the alarm survived the eviction

    await eventually(async () => expect(await deliveryOf(event.uuid, subscription.id)).toMatchObject({ status: "delivered", attempts: 1 }));
    expect((await received(name)).map((request) => request.headers["webhook-id"])).toEqual([event.uuid]);
  });
});
