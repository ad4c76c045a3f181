import { env, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { Webhook } from "standardwebhooks";
import { afterEach, describe, expect, it } from "vitest";
import type { EventDeliveries } from "../../src/api/event-lookup";
import { fanOut } from "../../src/delivery/fan-out";
import { parseEventBatch } from "../../src/domain/event";
import { Backstop } from "../../src/durable/ledger/backstop";
import { EventStore } from "../../src/durable/ledger/event-store";
import { Retention } from "../../src/durable/ledger/retention";
import { ledgerShardOf, ledgerStub, type Env } from "../../src/env";
import { standardWebhookHeaders, type ReceivedRequest } from "../support/received-request";
import { api, bucket, createSubscription, eventually, type CreatedSubscription, getSubscription, ingest, makeEvent, received, receiverUrl } from "./helpers";

// Only this file's events use this code, so other test files' traffic never reaches these subscriptions.
const EVENT_CODE = "variant.delete";
const eventTypes = [EVENT_CODE];
const newEvent = () => makeEvent({ code: EVENT_CODE });

const created: string[] = [];
/** Deleted after each test, so that no subscription of one test matches the next test's events. */
async function subscribe(fields: { targetUrl: string; disabled?: boolean }): Promise<CreatedSubscription> {
  const subscription = await createSubscription({ eventTypes, ...fields });
  created.push(subscription.id);
  return subscription;
}
afterEach(async () => {
  for (const id of created.splice(0)) await api(`/v1/webhooks/subscriptions/${id}`, { method: "DELETE" });
});

type DeliveryView = Pick<EventDeliveries["deliveries"][number], "status" | "attempts">;

async function deliveryOf(uuid: string, subscriptionId: string): Promise<DeliveryView | undefined> {
  const response = await api(`/v1/events/${uuid}`);
  expect(response.status).toBe(200);
  const body = (await response.json()) as Pick<EventDeliveries, "deliveries">;
  const delivery = body.deliveries.find((entry) => entry.subscriptionId === subscriptionId);
  return delivery && { status: delivery.status, attempts: delivery.attempts };
}

/** Waits until the subscription's object has recorded the event's delivery (held ones are recorded when their message is consumed). */
async function recorded(uuid: string, subscriptionId: string): Promise<void> {
  await eventually(async () => {
    const body = (await (await api(`/v1/events/${uuid}`)).json()) as Pick<EventDeliveries, "deliveries">;
    expect(body.deliveries.find((entry) => entry.subscriptionId === subscriptionId)?.deliveryId).toBe(uuid);
  });
}

async function requestsFor(bucketName: string, uuid: string): Promise<ReceivedRequest[]> {
  return (await received(bucketName)).filter((request) => request.headers["webhook-id"] === uuid);
}

async function attemptsOf(subscriptionId: string): Promise<{ eventId: string; attempt: number; outcome: string; status: number | null }[]> {
  const response = await api(`/v1/webhooks/subscriptions/${subscriptionId}/attempts?limit=100`);
  expect(response.status).toBe(200);
  return ((await response.json()) as { attempts: { eventId: string; attempt: number; outcome: string; status: number | null }[] }).attempts;
}

function post(path: string, json?: unknown): Promise<Response> {
  return api(path, { method: "POST", json });
}

async function patch(subscriptionId: string, fields: Record<string, unknown>): Promise<void> {
  const response = await api(`/v1/webhooks/subscriptions/${subscriptionId}`, { method: "PATCH", json: fields });
  expect(response.status, await response.clone().text()).toBe(200);
}

async function expectQueued(response: Response, queued: number): Promise<void> {
  expect(response.status, await response.clone().text()).toBe(202);
  expect(await response.json()).toEqual({ queued });
}

async function expectConflict(response: Response): Promise<void> {
  expect(response.status).toBe(409);
  expect(await response.json()).toMatchObject({ error: "conflict" });
}

const HOUR_MS = 60 * 60 * 1000;
const DAY_MS = 24 * HOUR_MS;
const ledgerOf = (uuid: string) => ledgerStub(env, ledgerShardOf(uuid));

/** As if accepted eight days ago: past EVENT_RETENTION_DAYS (7) and the grace period. Then the shard's alarm (backstop, prune) runs. */
async function expireAndPrune(uuid: string): Promise<void> {
  await runInDurableObject(ledgerOf(uuid), (_, state) => {
    state.storage.sql.exec("UPDATE events SET received_at = received_at - ? WHERE id = ?", 8 * DAY_MS, uuid);
  });
  expect(await runDurableObjectAlarm(ledgerOf(uuid))).toBe(true);
}

/** When the ledger asks again about an event it keeps past the retention; null when it does not keep it. */
const keptRecheckOf = (uuid: string) =>
  runInDurableObject(ledgerOf(uuid), (_, state) =>
    state.storage.sql.exec<{ recheck_at: number | null }>("SELECT recheck_at FROM events WHERE id = ?", uuid).toArray()[0]?.recheck_at ?? null);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("replay", () => {
  it("re-enqueues failed deliveries once re-enabled, with fresh attempts and the same webhook-id, even past the retention", async () => {
    const failing = bucket("replay-failing");
    const subscription = await subscribe({ targetUrl: receiverUrl(failing, "status-500") });
    const event = newEvent();
    expect((await ingest(event)).status).toBe(202);

    // Three attempts fail: the delivery is spent and the subscription switches itself off.
    await eventually(async () => expect(await deliveryOf(event.uuid, subscription.id)).toEqual({ status: "failed", attempts: 3 }));
    expect(await getSubscription(subscription.id)).toMatchObject({ disabled: true, disabledReason: "failures" });
    await expectConflict(await post(`/v1/webhooks/subscriptions/${subscription.id}/replay`));
    // Its row is kept, so the ledger keeps its body for the replay.
    await expireAndPrune(event.uuid);
    expect(await keptRecheckOf(event.uuid)).not.toBeNull();

    const healthy = bucket("replay-healthy");
    await patch(subscription.id, { disabled: false, targetUrl: receiverUrl(healthy) });
    await expectQueued(await post(`/v1/webhooks/subscriptions/${subscription.id}/replay`), 1);

    await eventually(async () => expect(await deliveryOf(event.uuid, subscription.id)).toEqual({ status: "delivered", attempts: 1 }));
    const [replayed, ...more] = await requestsFor(healthy, event.uuid);
    expect(more).toHaveLength(0);
    expect(replayed?.body).toBe(JSON.stringify(event));
    expect(await requestsFor(failing, event.uuid)).toHaveLength(3);
    expect((await attemptsOf(subscription.id)).map(({ attempt, outcome }) => [attempt, outcome])).toEqual([
      [1, "success"], [3, "http_error"], [2, "http_error"], [1, "http_error"],
    ]);
    // Delivered now: nothing is left to replay.
    await expectQueued(await post(`/v1/webhooks/subscriptions/${subscription.id}/replay`), 0);
  });

  it("re-enqueues held deliveries, only those created inside the window", async () => {
    const name = bucket("replay-window");
    const subscription = await subscribe({ targetUrl: receiverUrl(name), disabled: true });
    const early = newEvent();
    expect((await ingest(early)).status).toBe(202);
    await sleep(20);
    const between = new Date().toISOString();
    await sleep(20);
    const late = newEvent();
    expect((await ingest(late)).status).toBe(202);
    await recorded(early.uuid, subscription.id);
    await recorded(late.uuid, subscription.id);
    expect(await deliveryOf(early.uuid, subscription.id)).toEqual({ status: "held", attempts: 0 });
    expect(await deliveryOf(late.uuid, subscription.id)).toEqual({ status: "held", attempts: 0 });
    await expectConflict(await post(`/v1/webhooks/subscriptions/${subscription.id}/replay`, { since: between }));

    await patch(subscription.id, { disabled: false });
    await expectQueued(await post(`/v1/webhooks/subscriptions/${subscription.id}/replay`, { since: "2099-01-01T00:00:00Z" }), 0);
    await expectQueued(await post(`/v1/webhooks/subscriptions/${subscription.id}/replay`, { since: between }), 1);
    await eventually(async () => expect(await deliveryOf(late.uuid, subscription.id)).toEqual({ status: "delivered", attempts: 1 }));
    expect(await deliveryOf(early.uuid, subscription.id)).toEqual({ status: "held", attempts: 0 });

    await expectQueued(await post(`/v1/webhooks/subscriptions/${subscription.id}/replay`, { until: between }), 1);
    await eventually(async () => expect(await deliveryOf(early.uuid, subscription.id)).toEqual({ status: "delivered", attempts: 1 }));
    expect((await received(name)).map((request) => request.headers["webhook-id"])).toEqual([late.uuid, early.uuid]);
    await expectQueued(await post(`/v1/webhooks/subscriptions/${subscription.id}/replay`, {}), 0);
  });

  it("answers 404 for an unknown subscription", async () => {
    const response = await post("/v1/webhooks/subscriptions/wh_unknown0000000/replay");
    expect(response.status).toBe(404);
  });
});

describe("redeliver", () => {
  it("resends an event to every matched subscription, or to one, whatever its state", async () => {
    const [first, second] = [bucket("redeliver-a"), bucket("redeliver-b")];
    const a = await subscribe({ targetUrl: receiverUrl(first) });
    const b = await subscribe({ targetUrl: receiverUrl(second) });
    const event = newEvent();
    expect((await ingest(event)).status).toBe(202);
    await eventually(async () => {
      expect(await requestsFor(first, event.uuid)).toHaveLength(1);
      expect(await requestsFor(second, event.uuid)).toHaveLength(1);
    });
    // Resending while the first delivery is still being recorded would race it; wait until both are settled.
    await eventually(async () => {
      expect(await deliveryOf(event.uuid, a.id)).toEqual({ status: "delivered", attempts: 1 });
      expect(await deliveryOf(event.uuid, b.id)).toEqual({ status: "delivered", attempts: 1 });
    });

    // Other test files' catch-all subscriptions may have matched this event too: count only ours exactly.
    const everyone = await post(`/v1/events/${event.uuid}/redeliver`);
    expect(everyone.status).toBe(202);
    expect(((await everyone.json()) as { queued: number }).queued).toBeGreaterThanOrEqual(2);
    await eventually(async () => {
      expect(await requestsFor(first, event.uuid)).toHaveLength(2);
      expect(await requestsFor(second, event.uuid)).toHaveLength(2);
    });
    await expectQueued(await post(`/v1/events/${event.uuid}/redeliver`, { subscriptionId: a.id }), 1);
    await eventually(async () => expect(await requestsFor(first, event.uuid)).toHaveLength(3));
    expect(await requestsFor(second, event.uuid)).toHaveLength(2);
    // Each resend starts over at attempt 1.
    await eventually(async () => expect((await attemptsOf(a.id)).map(({ attempt, outcome }) => [attempt, outcome])).toEqual([
      [1, "success"], [1, "success"], [1, "success"],
    ]));

    await patch(b.id, { disabled: true });
    await expectConflict(await post(`/v1/events/${event.uuid}/redeliver`, { subscriptionId: b.id }));
    // Without a subscription id, a disabled one is skipped rather than refusing the rest.
    expect((await post(`/v1/events/${event.uuid}/redeliver`)).status).toBe(202);
    await eventually(async () => expect(await requestsFor(first, event.uuid)).toHaveLength(4));
    expect(await requestsFor(second, event.uuid)).toHaveLength(2);
  });

  it("sends again after a POST that was under way when asked, rather than dropping the request", async () => {
    const name = bucket("redeliver-in-flight");
    const subscription = await subscribe({ targetUrl: receiverUrl(name, "slow-1500") });
    const event = newEvent();
    expect((await ingest(event)).status).toBe(202);
    // The receiver logs a request when it arrives and answers 1.5 s later: the POST is under way now.
    await eventually(async () => expect(await requestsFor(name, event.uuid)).toHaveLength(1), 10_000, 20);
    expect(await deliveryOf(event.uuid, subscription.id)).toEqual({ status: "pending", attempts: 0 });

    await expectQueued(await post(`/v1/events/${event.uuid}/redeliver`, { subscriptionId: subscription.id }), 1);
    await eventually(async () => expect(await requestsFor(name, event.uuid)).toHaveLength(2), 10_000, 50);
    await eventually(async () => expect(await deliveryOf(event.uuid, subscription.id)).toEqual({ status: "delivered", attempts: 1 }), 10_000, 50);
    expect((await attemptsOf(subscription.id)).map(({ attempt, outcome }) => [attempt, outcome])).toEqual([[1, "success"], [1, "success"]]);
  });

  it("answers 404 for an unknown event or a subscription the event did not match", async () => {
    const name = bucket("redeliver-404");
    const matched = await subscribe({ targetUrl: receiverUrl(name) });
    const event = newEvent();
    expect((await ingest(event)).status).toBe(202);
    const later = await subscribe({ targetUrl: receiverUrl(name) });

    for (const response of [
      await post(`/v1/events/${crypto.randomUUID()}/redeliver`),
      await post(`/v1/events/${crypto.randomUUID()}/redeliver`, { subscriptionId: matched.id }),
      await post(`/v1/events/${event.uuid}/redeliver`, { subscriptionId: later.id }),
      await post(`/v1/events/${event.uuid}/redeliver`, { subscriptionId: "wh_unknown0000000" }),
    ]) {
      expect(response.status).toBe(404);
      expect(await response.json()).toMatchObject({ error: "not_found" });
    }
  });
});

describe("secret rotation", () => {
  function signatureVerifies(secret: string, request: ReceivedRequest, signature: string): boolean {
    try {
      new Webhook(secret).verify(request.body, standardWebhookHeaders(request, signature));
      return true;
    } catch {
      return false;
    }
  }

  async function deliveredSignatures(name: string): Promise<{ request: ReceivedRequest; signatures: string[] }> {
    const event = newEvent();
    expect((await ingest(event)).status).toBe(202);
    const request = await eventually(async () => {
      const [only] = await requestsFor(name, event.uuid);
      expect(only).toBeDefined();
      return only!;
    });
    return { request, signatures: String(request.headers["webhook-signature"]).split(" ") };
  }

  async function rotate(subscriptionId: string): Promise<string> {
    const response = await post(`/v1/webhooks/subscriptions/${subscriptionId}/secret/rotate`);
    expect(response.status).toBe(200);
    const { secret } = (await response.json()) as { secret: string };
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    return secret;
  }

  it("signs with the new and the previous secret after a rotation", async () => {
    const name = bucket("rotate");
    const subscription = await subscribe({ targetUrl: receiverUrl(name) });
    const original = subscription.secret;

    const before = await deliveredSignatures(name);
    expect(before.signatures).toHaveLength(1);
    expect(signatureVerifies(original, before.request, before.signatures[0]!)).toBe(true);

    const rotated = await rotate(subscription.id);
    expect(rotated).not.toBe(original);
    const shown = await api(`/v1/webhooks/subscriptions/${subscription.id}/secret`);
    expect(await shown.json()).toEqual({ secret: rotated });

    const after = await deliveredSignatures(name);
    expect(after.signatures).toHaveLength(2);
    const [current = "", previous = ""] = after.signatures;
    // Each signature verifies with exactly one of the two secrets; the whole header with either.
    expect([signatureVerifies(rotated, after.request, current), signatureVerifies(original, after.request, current)]).toEqual([true, false]);
    expect([signatureVerifies(rotated, after.request, previous), signatureVerifies(original, after.request, previous)]).toEqual([false, true]);
    const fullHeader = after.signatures.join(" ");
    expect(signatureVerifies(rotated, after.request, fullHeader)).toBe(true);
    expect(signatureVerifies(original, after.request, fullHeader)).toBe(true);

    // Every secret rotated out within 24 hours keeps signing: a receiver still holding the first one verifies after two more rotations.
    const third = await rotate(subscription.id);
    const fourth = await rotate(subscription.id);
    const last = await deliveredSignatures(name);
    expect(last.signatures).toHaveLength(4);
    for (const [index, secret] of [fourth, third, rotated, original].entries())
      expect(signatureVerifies(secret, last.request, last.signatures[index]!)).toBe(true);
    expect(signatureVerifies(original, last.request, last.signatures.join(" "))).toBe(true);
  });
});

describe("endpoint answers that change the schedule", () => {
  async function firstTwoAttemptsGap(behaviour: string): Promise<number> {
    const name = bucket("retry-after");
    await subscribe({ targetUrl: receiverUrl(name, behaviour) });
    const event = newEvent();
    expect((await ingest(event)).status).toBe(202);
    const [first, second] = await eventually(async () => {
      const requests = await requestsFor(name, event.uuid);
      expect(requests.length).toBeGreaterThanOrEqual(2);
      return requests;
    }, 20_000);
    return second!.receivedAt - first!.receivedAt;
  }

  it("waits as long as a 429's Retry-After asks when that is longer than the retry delay", async () => {
    // RETRY_DELAY_SECONDS is 1 in tests: without Retry-After the retry would come after about a second.
    expect(await firstTwoAttemptsGap("status-429?retry-after=3")).toBeGreaterThanOrEqual(2900);
  });

  it("never retries sooner than the retry delay, whatever a 503's Retry-After says", async () => {
    expect(await firstTwoAttemptsGap("status-503?retry-after=0")).toBeGreaterThanOrEqual(900);
  });

  it("caps Retry-After at one hour", async () => {
    const name = bucket("retry-after-cap");
    const subscription = await subscribe({ targetUrl: receiverUrl(name, "status-503?retry-after=86400") });
    const event = newEvent();
    expect((await ingest(event)).status).toBe(202);
    await eventually(async () => expect(await deliveryOf(event.uuid, subscription.id)).toEqual({ status: "retrying", attempts: 1 }));
    const [attempt] = await requestsFor(name, event.uuid);
    const lookup = (await (await api(`/v1/events/${event.uuid}`)).json()) as Pick<EventDeliveries, "deliveries">;
    const nextAttemptAt = Date.parse(lookup.deliveries.find((entry) => entry.subscriptionId === subscription.id)?.nextAttemptAt ?? "");
    const waitSeconds = (nextAttemptAt - attempt!.receivedAt) / 1000;
    expect(waitSeconds).toBeGreaterThan(3590);
    expect(waitSeconds).toBeLessThanOrEqual(3605);
  });

  it("disables at once with reason gone on a 410, holds what is owed, and replays it once re-enabled", async () => {
    const gone = bucket("gone");
    const subscription = await subscribe({ targetUrl: receiverUrl(gone, "gone") });
    const first = newEvent();
    expect((await ingest(first)).status).toBe(202);
    await eventually(async () => expect(await deliveryOf(first.uuid, subscription.id)).toEqual({ status: "held", attempts: 1 }));
    expect(await getSubscription(subscription.id)).toMatchObject({ disabled: true, disabledReason: "gone", consecutiveFailures: 1 });

    const second = newEvent();
    expect((await ingest(second)).status).toBe(202);
    expect(await deliveryOf(second.uuid, subscription.id)).toEqual({ status: "held", attempts: 0 });
    await recorded(second.uuid, subscription.id);
    expect(await requestsFor(gone, first.uuid)).toHaveLength(1);
    expect(await requestsFor(gone, second.uuid)).toHaveLength(0);

    const moved = bucket("gone-moved");
    await patch(subscription.id, { disabled: false, targetUrl: receiverUrl(moved) });
    await expectQueued(await post(`/v1/webhooks/subscriptions/${subscription.id}/replay`), 2);
    await eventually(async () => {
      expect(await deliveryOf(first.uuid, subscription.id)).toEqual({ status: "delivered", attempts: 1 });
      expect(await deliveryOf(second.uuid, subscription.id)).toEqual({ status: "delivered", attempts: 1 });
    });
    expect((await received(moved)).map((request) => request.headers["webhook-id"]).sort()).toEqual([first.uuid, second.uuid].sort());
  });
});

describe("backstop", () => {

  /** As if the events had been accepted an hour ago: past the grace period (REDELIVERY_GRACE_SECONDS is 30 in tests). */
  async function acceptedAnHourAgo(...uuids: string[]): Promise<void> {
    for (const uuid of uuids)
      await runInDurableObject(ledgerOf(uuid), (_, state) => {
        state.storage.sql.exec("UPDATE events SET received_at = received_at - ? WHERE id = ?", HOUR_MS, uuid);
      });
  }

  it("enqueues again a retry whose queue message was lost, once it is overdue past the grace period", async () => {
    const name = bucket("backstop-retry");
    const subscription = await subscribe({ targetUrl: receiverUrl(name) });
    const [lost, recent] = [newEvent(), newEvent()];
    expect((await ingest([lost, recent])).status).toBe(202);
    await eventually(async () => {
      expect(await deliveryOf(lost.uuid, subscription.id)).toEqual({ status: "delivered", attempts: 1 });
      expect(await deliveryOf(recent.uuid, subscription.id)).toEqual({ status: "delivered", attempts: 1 });
    });

    // Both rows say a retry is owed with no message on the queue: one an hour overdue, one due 5 s
    // ago, inside the grace period, where its message may still be on its way.
    await runInDurableObject(env.SUBSCRIPTIONS.get(env.SUBSCRIPTIONS.idFromName(subscription.id)), (_, state) => {
      const owedAgain = "UPDATE delivery SET status = 'retrying', next_attempt_at = ? WHERE id = ?";
      state.storage.sql.exec(owedAgain, Date.now() - HOUR_MS, lost.uuid);
      state.storage.sql.exec(owedAgain, Date.now() - 5_000, recent.uuid);
    });
    await acceptedAnHourAgo(lost.uuid, recent.uuid);
    for (const uuid of [lost.uuid, recent.uuid]) expect(await runDurableObjectAlarm(ledgerOf(uuid))).toBe(true);

    await eventually(async () => expect(await deliveryOf(lost.uuid, subscription.id)).toEqual({ status: "delivered", attempts: 2 }));
    expect(await requestsFor(name, lost.uuid)).toHaveLength(2);
    expect(await requestsFor(name, recent.uuid)).toHaveLength(1);
    expect(await deliveryOf(recent.uuid, subscription.id)).toEqual({ status: "retrying", attempts: 1 });
  });

  it("sends an accepted event whose first message never reached the queue", async () => {
    const name = bucket("backstop-first");
    const subscription = await subscribe({ targetUrl: receiverUrl(name) });
    const event = newEvent();
    const parsed = parseEventBatch(event);
    if (parsed.kind !== "ok") throw new Error("fixture event is invalid");
    const droppingQueue = { sendBatch: async () => undefined } as unknown as Env["DELIVERIES"];
    expect(await fanOut({ ...env, DELIVERIES: droppingQueue }, parsed.events)).toEqual({ accepted: [event.uuid], duplicates: [] });
    expect(await deliveryOf(event.uuid, subscription.id)).toEqual({ status: "pending", attempts: 0 });

    await acceptedAnHourAgo(event.uuid);
    expect(await runDurableObjectAlarm(ledgerOf(event.uuid))).toBe(true);
    await eventually(async () => expect(await deliveryOf(event.uuid, subscription.id)).toEqual({ status: "delivered", attempts: 1 }));
    expect(await requestsFor(name, event.uuid)).toHaveLength(1);
  });

  it("sends a redelivered event whose message was lost, though the ledger watches it no more", async () => {
    const name = bucket("backstop-restart");
    const subscription = await subscribe({ targetUrl: receiverUrl(name) });
    const object = env.SUBSCRIPTIONS.get(env.SUBSCRIPTIONS.idFromName(subscription.id));
    const event = newEvent();
    expect((await ingest(event)).status).toBe(202);
    await eventually(async () => expect(await deliveryOf(event.uuid, subscription.id)).toEqual({ status: "delivered", attempts: 1 }));
    await acceptedAnHourAgo(event.uuid);
    expect(await runDurableObjectAlarm(ledgerOf(event.uuid))).toBe(true);
    expect((await ledgerOf(event.uuid).get(event.uuid))?.settled).toBe(true); // the ledger's backstop has passed it

    // What a redeliver writes (round 1, owed from now), as if its queue message were lost an hour ago.
    await runInDurableObject(object, (_, state) => {
      state.storage.sql.exec("UPDATE delivery SET round = 1, status = 'pending', attempts = 0, next_attempt_at = ? WHERE id = ?", Date.now() - HOUR_MS, event.uuid);
    });
    expect(await runDurableObjectAlarm(ledgerOf(event.uuid))).toBe(true);
    expect(await runDurableObjectAlarm(object)).toBe(true);

    await eventually(async () => expect(await requestsFor(name, event.uuid)).toHaveLength(2));
    await eventually(async () => expect(await deliveryOf(event.uuid, subscription.id)).toEqual({ status: "delivered", attempts: 1 }));
    const alarmAt = () => runInDurableObject(object, (_, state) => state.storage.getAlarm());
    // The copy may be lost too: it looks again a grace period later (30 s in tests), and then finds nothing owed.
    expect(await alarmAt()).toBeLessThanOrEqual(Date.now() + 30_000);
    expect(await runDurableObjectAlarm(object)).toBe(true);
    expect(await alarmAt()).toBeGreaterThan(Date.now() + HOUR_MS);
    expect(await requestsFor(name, event.uuid)).toHaveLength(2);
  });

  it("looks at a redelivered delivery itself once it is overdue past the grace period", async () => {
    const subscription = await subscribe({ targetUrl: receiverUrl(bucket("backstop-restart-alarm")) });
    const object = env.SUBSCRIPTIONS.get(env.SUBSCRIPTIONS.idFromName(subscription.id));
    const event = newEvent();
    expect((await ingest(event)).status).toBe(202);
    await eventually(async () => expect(await deliveryOf(event.uuid, subscription.id)).toEqual({ status: "delivered", attempts: 1 }));
    const askedAt = Date.now();
    await expectQueued(await post(`/v1/events/${event.uuid}/redeliver`, { subscriptionId: subscription.id }), 1);
    const alarm = await runInDurableObject(object, (_, state) => state.storage.getAlarm());
    // REDELIVERY_GRACE_SECONDS is 30 in tests.
    expect(alarm).toBeGreaterThan(askedAt + 30_000);
    expect(alarm).toBeLessThanOrEqual(Date.now() + 30_001);
  });
});

describe("the backstop's watermark", () => {
  it("follows a pass over more events than one sweep takes, all settled, to its end", async () => {
    const ledger = env.EVENTS.get(env.EVENTS.idFromName("backstop-long-pass"));
    const settled = await runInDurableObject(ledger, async (_, state) => {
      const store = new EventStore(state.storage.sql);
      const backstop = new Backstop(state.storage.sql, store, env as Env, 30_000, 7 * DAY_MS);
      // 1,200 events (over two sweeps' worth) matched to a subscription that does not exist: each is settled.
      for (let index = 0; index < 1_200; index++)
        state.storage.sql.exec("INSERT INTO events (id, code, body, subscription_ids, received_at) VALUES (?, 'product.update', '{}', '[\"wh_gone\"]', ?)", `e-${String(index).padStart(4, "0")}`, 1_000 + index);
      const now = Date.now();
      for (let sweep = 0; sweep < 3; sweep++) await backstop.sweep(now);
      return backstop.settled();
    });
    expect(settled).toEqual({ at: 2_199, id: "e-1199" });
  });

  it("sets aside the settled events behind one still owed, once ten minutes old, and asks about them no more", async () => {
    const ledger = env.EVENTS.get(env.EVENTS.idFromName("backstop-stalled"));
    const asked: string[][] = [];
    // One subscription: "stuck" is owed for ever (its endpoint keeps failing), everything else is settled.
    const subscriptions = {
      idFromName: (name: string) => env.SUBSCRIPTIONS.idFromName(name),
      get: () => ({
        owed: (events: { id: string }[]) => {
          asked.push(events.map((event) => event.id));
          return { resend: [], unsettled: events.filter((event) => event.id === "stuck").map((event) => event.id), nextCheckAt: null };
        },
      }),
    };
    const now = Date.now();
    const found = await runInDurableObject(ledger, async (_, state) => {
      const store = new EventStore(state.storage.sql);
      const backstop = new Backstop(state.storage.sql, store, { ...env, SUBSCRIPTIONS: subscriptions } as unknown as Env, 30_000, 7 * DAY_MS);
      const insert = (id: string, receivedAt: number) =>
        state.storage.sql.exec("INSERT INTO events (id, code, body, subscription_ids, received_at) VALUES (?, 'product.update', '{}', '[\"wh_x\"]', ?)", id, receivedAt);
      insert("stuck", now - 2 * HOUR_MS);
      insert("delivered-long-ago", now - HOUR_MS);
      insert("delivered-lately", now - 60_000);
      await backstop.sweep(now);
      await backstop.sweep(now);
      const rechecks = state.storage.sql.exec<{ id: string; recheck_at: number | null }>("SELECT id, recheck_at FROM events ORDER BY id").toArray();
      return { watermark: backstop.settled(), rechecks };
    });
    expect(found.watermark).toEqual({ at: 0, id: "" });
    expect(found.rechecks).toEqual([
      { id: "delivered-lately", recheck_at: null },
      { id: "delivered-long-ago", recheck_at: now - HOUR_MS + 7 * DAY_MS },
      { id: "stuck", recheck_at: null },
    ]);
    expect(asked).toEqual([["stuck", "delivered-long-ago", "delivered-lately"], ["stuck", "delivered-lately"]]);
  });
});

describe("retention", () => {

  /** A subscription whose endpoint answers 200, and one event delivered to it. */
  async function deliveredEvent(bucketName: string) {
    const name = bucket(bucketName);
    const subscription = await subscribe({ targetUrl: receiverUrl(name) });
    const event = newEvent();
    expect((await ingest(event)).status).toBe(202);
    await eventually(async () => expect(await deliveryOf(event.uuid, subscription.id)).toEqual({ status: "delivered", attempts: 1 }));
    return { name, subscription, event };
  }

  it("forgets a delivered event past the retention", async () => {
    const { event } = await deliveredEvent("retention-delivered");

    await expireAndPrune(event.uuid);
    expect((await api(`/v1/events/${event.uuid}`)).status).toBe(404);
    expect(await keptRecheckOf(event.uuid)).toBeNull();
  });

  it("reports a delivery delivered once its subscription has forgotten its row, a day on", async () => {
    const { name, subscription, event } = await deliveredEvent("retention-forgotten-row");

    // Two days on: the backstop sees it settled, then the subscription's daily prune forgets its row.
    await runInDurableObject(ledgerOf(event.uuid), (_, state) => {
      state.storage.sql.exec("UPDATE events SET received_at = received_at - ? WHERE id = ?", 2 * DAY_MS, event.uuid);
    });
    expect(await runDurableObjectAlarm(ledgerOf(event.uuid))).toBe(true);
    const object = env.SUBSCRIPTIONS.get(env.SUBSCRIPTIONS.idFromName(subscription.id));
    await runInDurableObject(object, (_, state) => state.storage.sql.exec("UPDATE delivery SET updated_at = updated_at - ? WHERE id = ?", 2 * DAY_MS, event.uuid));
    expect(await runDurableObjectAlarm(object)).toBe(true);
    const rows = await runInDurableObject(object, (_, state) => state.storage.sql.exec("SELECT id FROM delivery WHERE id = ?", event.uuid).toArray());
    expect(rows).toEqual([]);

    const body = (await (await api(`/v1/events/${event.uuid}`)).json()) as Pick<EventDeliveries, "deliveries">;
    expect(body.deliveries).toEqual([{ subscriptionId: subscription.id, status: "delivered", attempts: null, nextAttemptAt: null, deliveryId: null, subscriptionDeleted: false }]);
    expect(await requestsFor(name, event.uuid)).toHaveLength(1);
  });

  it("keeps the body of a delivery held past the retention, replays it whole, then forgets it", async () => {
    const name = bucket("retention-held");
    const subscription = await subscribe({ targetUrl: receiverUrl(name), disabled: true });
    const event = newEvent();
    expect((await ingest(event)).status).toBe(202);
    await recorded(event.uuid, subscription.id);

    await expireAndPrune(event.uuid);
    expect(await deliveryOf(event.uuid, subscription.id)).toEqual({ status: "held", attempts: 0 });
    expect(await keptRecheckOf(event.uuid)).toBeGreaterThan(Date.now() + DAY_MS / 2);

    await patch(subscription.id, { disabled: false });
    await expectQueued(await post(`/v1/webhooks/subscriptions/${subscription.id}/replay`), 1);
    await eventually(async () => expect(await deliveryOf(event.uuid, subscription.id)).toEqual({ status: "delivered", attempts: 1 }));
    const [request] = await requestsFor(name, event.uuid);
    expect(JSON.parse(request?.body ?? "null")).toMatchObject({ uuid: event.uuid });

    // Asked again when its recheck is due: delivered now, so forgotten.
    await runInDurableObject(ledgerOf(event.uuid), (_, state) => state.storage.sql.exec("UPDATE events SET recheck_at = 0 WHERE id = ?", event.uuid));
    expect(await runDurableObjectAlarm(ledgerOf(event.uuid))).toBe(true);
    expect((await api(`/v1/events/${event.uuid}`)).status).toBe(404);
  });

  it("keeps the body of a delivery still owed under a backlog past the retention", async () => {
    const name = bucket("retention-owed");
    const subscription = await subscribe({ targetUrl: receiverUrl(name, "status-500") });
    const event = newEvent();
    expect((await ingest(event)).status).toBe(202);
    await eventually(async () => expect(await deliveryOf(event.uuid, subscription.id)).toEqual({ status: "retrying", attempts: 1 }));

    await expireAndPrune(event.uuid);
    expect((await api(`/v1/events/${event.uuid}`)).status).toBe(200);
    expect(await deliveryOf(event.uuid, subscription.id)).toMatchObject({ status: "retrying" });
  });

  it("moves a ledger made before events could be kept to the new column and indexes, keeping its events", async () => {
    const ledger = env.EVENTS.get(env.EVENTS.idFromName("retention-migration"));
    const found = await runInDurableObject(ledger, (_, state) => {
      const { sql } = state.storage;
      sql.exec("DROP TABLE events");
      sql.exec(`CREATE TABLE events (id TEXT PRIMARY KEY, code TEXT NOT NULL, body TEXT NOT NULL,
        subscription_ids TEXT NOT NULL, received_at INTEGER NOT NULL) WITHOUT ROWID`);
      sql.exec("CREATE INDEX events_by_age ON events (received_at, id)");
      sql.exec("INSERT INTO events VALUES ('old-event', 'product.update', '{}', '[\"wh_x\"]', 5)");
      const store = new EventStore(sql);
      const indexes = sql.exec<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'events' AND name LIKE 'events_%'").toArray();
      return { indexes: indexes.map((index) => index.name).sort(), expired: store.expired(10, { at: 5, id: "old-event" }, Date.now(), 10).aged };
    });
    expect(found.indexes).toEqual(["events_kept_by_recheck", "events_unkept_by_age"]);
    expect(found.expired).toEqual([{ id: "old-event", subscriptionIds: ["wh_x"] }]);
  });

  it("looks at an aged event that matched no subscription even where the backstop has settled nothing", async () => {
    const ledger = env.EVENTS.get(env.EVENTS.idFromName("retention-unmatched"));
    const aged = await runInDurableObject(ledger, (_, state) => {
      const store = new EventStore(state.storage.sql);
      state.storage.sql.exec("INSERT INTO events (id, code, body, subscription_ids, received_at) VALUES ('unmatched', 'product.update', '{}', '[]', 5), ('owed', 'product.update', '{}', '[\"wh_x\"]', 6)");
      return store.expired(10, { at: 0, id: "" }, Date.now(), 10).aged;
    });
    expect(aged).toEqual([{ id: "unmatched", subscriptionIds: [] }]);
  });

  it("keeps more events at once than one statement can bind", async () => {
    const ledger = env.EVENTS.get(env.EVENTS.idFromName("retention-many-kept"));
    const kept = await runInDurableObject(ledger, (_, state) => {
      const store = new EventStore(state.storage.sql);
      const ids = Array.from({ length: 250 }, (_, index) => `held-${index}`);
      for (const id of ids) state.storage.sql.exec("INSERT INTO events (id, code, body, subscription_ids, received_at) VALUES (?, 'product.update', '{}', '[\"wh_x\"]', 5)", id);
      store.keep(ids, 1_000);
      return state.storage.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM events WHERE recheck_at = 1000").one().n;
    });
    expect(kept).toBe(250);
  });

  it("keeps an aged event whose subscription cannot answer, to ask again later", async () => {
    const ledger = env.EVENTS.get(env.EVENTS.idFromName("retention-unanswered"));
    const unreachable = { idFromName: (name: string) => env.SUBSCRIPTIONS.idFromName(name), get: () => ({ stillNeeded: () => Promise.reject(new Error("object unreachable (test)")) }) };
    const recheckAt = await runInDurableObject(ledger, async (_, state) => {
      const store = new EventStore(state.storage.sql);
      state.storage.sql.exec("INSERT INTO events (id, code, body, subscription_ids, received_at) VALUES ('unanswered', 'product.update', '{}', '[\"wh_x\"]', 5)");
      await new Retention(store, { ...env, SUBSCRIPTIONS: unreachable } as unknown as Env, DAY_MS).prune(Date.now(), { at: 5, id: "unanswered" });
      return state.storage.sql.exec<{ recheck_at: number | null }>("SELECT recheck_at FROM events WHERE id = 'unanswered'").one().recheck_at;
    });
    expect(recheckAt).toBeGreaterThan(Date.now());
  });
});
