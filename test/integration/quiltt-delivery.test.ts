import { env } from "cloudflare:test";
import { Webhook } from "standardwebhooks";
import { describe, expect, it } from "vitest";
import { WebhookPayload } from "../../src/domain/quiltt-payload";
import type { TestEvent, TestQuilttEvent } from "../support/events";
import { standardWebhookHeaders, type ReceivedRequest } from "../support/received-request";
import {
  api, bucket, createSubscription, eventually, getSubscription, ingest, makeEvent, makeQuilttEvent, received, receiverUrl,
  type CreatedSubscription,
} from "./helpers";

type Ingested = TestEvent | TestQuilttEvent;

interface AttemptEntry {
  eventId: string;
  eventIds: string[];
  deliveryId: string;
  attempt: number;
  outcome: string;
  status: number | null;
}

interface EventDelivery {
  subscriptionId: string;
  deliveryId: string | null;
  status: string;
  attempts: number;
}

/** One POST as a receiver written after Quiltt's sample implementation reads it. */
interface QuilttDelivery {
  readonly webhookId: string;
  readonly timestamp: number;
  readonly body: string;
  readonly payload: WebhookPayload;
  /** The events' ids, grouped by `type` as the receiver's handlers see them. */
  readonly byType: Map<string, string[]>;
}

type WebhookPayload = ReturnType<typeof WebhookPayload.parse>;

const idOf = (event: Ingested): string => String(event.uuid ?? event.id);

/**
 * Verifies the Standard Webhooks signature (throws otherwise), validates the body against the
 * `WebhookPayload` schema (throws otherwise), then loops over `events` by `type`.
 */
function readQuilttDelivery(request: ReceivedRequest, secret: string): QuilttDelivery {
  new Webhook(secret).verify(request.body, standardWebhookHeaders(request));
  const payload = WebhookPayload.parse(JSON.parse(request.body));
  const byType = new Map<string, string[]>();
  for (const event of payload.events) byType.set(event.type, [...(byType.get(event.type) ?? []), event.id]);
  return {
    webhookId: String(request.headers["webhook-id"]), timestamp: Number(request.headers["webhook-timestamp"]), body: request.body, payload, byType,
  };
}

/**
 * A prefix of codes of its own, added to the catalogue, so that no other test's subscription or event
 * meets this test's: `<prefix>.profile.created` (Quiltt-shaped), `<prefix>.document.update` (Quable).
 */
async function ownCodes(): Promise<{ prefix: string; quiltt: string; quable: string }> {
  const prefix = `qd_${crypto.randomUUID().slice(0, 8)}`;
  const codes = { prefix, quiltt: `${prefix}.profile.created`, quable: `${prefix}.document.update` };
  for (const code of [codes.quiltt, codes.quable]) {
    const response = await api(`/v1/event-types/${code}`, { method: "PUT", json: { description: "quiltt-delivery test" } });
    expect(response.status, await response.clone().text()).toBe(201);
  }
  return codes;
}

/** Quiltt-shaped and Quable events of these codes, alternating, `count` in all. */
function mixedEvents(codes: { quiltt: string; quable: string }, count: number): Ingested[] {
  return Array.from({ length: count }, (_, index) =>
    index % 3 === 1 ? makeEvent({ code: codes.quable }) : makeQuilttEvent({ type: codes.quiltt, record: { n: index, name: "Ada" } }),
  );
}

async function ingestAll(events: readonly Ingested[]): Promise<void> {
  const response = await ingest({ events });
  expect(response.status, await response.clone().text()).toBe(202);
  expect(await response.json()).toEqual({ accepted: events.map(idOf), duplicates: [] });
}

interface Subscriber {
  readonly name: string;
  readonly subscription: CreatedSubscription;
}

/**
 * Codes of its own; a Quiltt-format subscriber to them whose endpoint behaves so (and, when asked, an
 * event-format one beside it); then `eventCount` mixed events ingested in one request.
 */
async function scenario(behaviour: string, eventCount: number, options: { maxEventsPerDelivery?: number; eventSubscriber?: boolean } = {}) {
  const codes = await ownCodes();
  const name = bucket(behaviour);
  const { maxEventsPerDelivery } = options;
  const quiltt = await createSubscription({
    targetUrl: receiverUrl(name, behaviour), eventTypes: [codes.prefix], payloadFormat: "quiltt", ...(maxEventsPerDelivery ? { maxEventsPerDelivery } : {}),
  });
  const eventName = bucket("event");
  const plain: Subscriber | null = options.eventSubscriber
    ? { name: eventName, subscription: await createSubscription({ targetUrl: receiverUrl(eventName), eventTypes: [codes.prefix] }) }
    : null;
  const events = mixedEvents(codes, eventCount);
  await ingestAll(events);
  return { codes, name, quiltt, plain, events };
}

/** How the event sits inside a Quiltt payload, byte for byte: as ingested, or a Quable one wrapped. */
function textInPayload(event: Ingested): string {
  if ("uuid" in event) return `{"id":${JSON.stringify(event.uuid)},"type":${JSON.stringify(event.code)},"record":${JSON.stringify(event)}}`;
  return JSON.stringify(event);
}

async function deliveryOf(eventId: string, subscriptionId: string): Promise<EventDelivery | undefined> {
  const response = await api(`/v1/events/${eventId}`);
  expect(response.status).toBe(200);
  const { deliveries } = (await response.json()) as { deliveries: EventDelivery[] };
  return deliveries.find((delivery) => delivery.subscriptionId === subscriptionId);
}

async function attemptLog(subscriptionId: string): Promise<AttemptEntry[]> {
  const response = await api(`/v1/webhooks/subscriptions/${subscriptionId}/attempts?limit=100`);
  expect(response.status).toBe(200);
  return ((await response.json()) as { attempts: AttemptEntry[] }).attempts;
}

/** Waits until the subscription's attempt log holds `count` attempts, and returns them newest first. */
function attemptsOnceLogged(subscriptionId: string, count: number): Promise<AttemptEntry[]> {
  return eventually(async () => {
    const entries = await attemptLog(subscriptionId);
    expect(entries).toHaveLength(count);
    return entries;
  });
}

async function patch(subscriptionId: string, fields: Record<string, unknown>): Promise<void> {
  const response = await api(`/v1/webhooks/subscriptions/${subscriptionId}`, { method: "PATCH", json: fields });
  expect(response.status, await response.clone().text()).toBe(200);
}

async function replay(subscriptionId: string): Promise<unknown> {
  const response = await api(`/v1/webhooks/subscriptions/${subscriptionId}/replay`, { method: "POST", json: {} });
  expect(response.status, await response.clone().text()).toBe(202);
  return response.json();
}

/** An event-format subscription beside the Quiltt one gets each event once, exactly as ingested, signed. */
async function expectEventFormatUnaffected({ name, subscription }: Subscriber, events: readonly Ingested[]): Promise<void> {
  const requests = await eventually(async () => {
    const all = await received(name);
    expect(all).toHaveLength(events.length);
    return all;
  });
  const byId = new Map(requests.map((request) => [String(request.headers["webhook-id"]), request]));
  expect([...byId.keys()].sort()).toEqual(events.map(idOf).sort());
  for (const event of events) {
    const request = byId.get(idOf(event))!;
    expect(request.body).toBe(JSON.stringify(event));
    new Webhook(subscription.secret).verify(request.body, standardWebhookHeaders(request));
    expect(await deliveryOf(idOf(event), subscription.id)).toMatchObject({ deliveryId: idOf(event), status: "delivered", attempts: 1 });
  }
}

describe("Quiltt-format delivery", () => {
  it("gets every event exactly once, in WebhookPayloads of at most maxEventsPerDelivery events, signed; an event-format subscriber is unaffected", async () => {
    const { codes, name, quiltt, plain, events } = await scenario("ok", 7, { maxEventsPerDelivery: 3, eventSubscriber: true });

    const deliveries = await eventually(async () => {
      const read = (await received(name)).map((request) => readQuilttDelivery(request, quiltt.secret));
      expect(read.flatMap((delivery) => delivery.payload.events.map((event) => event.id)).sort()).toEqual(events.map(idOf).sort());
      return read;
    });
    expect(deliveries.length).toBeGreaterThanOrEqual(3);
    const environment: unknown = JSON.parse(env.QUILTT_ENVIRONMENT);
    const ingestOrder = events.map(idOf);
    for (const delivery of deliveries) {
      const { payload } = delivery;
      expect(payload.events.length).toBeLessThanOrEqual(3);
      expect(payload.environment).toEqual(environment);
      expect(payload.eventTypes).toEqual([...new Set(payload.events.map((event) => event.type))]);
      expect(delivery.webhookId).toMatch(/^msg_[\w-]+$/);
      const ids = payload.events.map((event) => event.id);
      expect(ids).toEqual([...ids].sort((a, b) => ingestOrder.indexOf(a) - ingestOrder.indexOf(b))); // in the order ingested
      // Each event byte for byte: a Quiltt one as ingested, a Quable one as {id, type, record: <as ingested>}.
      const carried = events.filter((event) => ids.includes(idOf(event)));
      expect(delivery.body).toBe(`{"environment":${JSON.stringify(environment)},"eventTypes":${JSON.stringify(payload.eventTypes)},"events":[${carried.map(textInPayload).join(",")}]}`);
      expect([...delivery.byType.keys()].every((type) => type === codes.quiltt || type === codes.quable)).toBe(true);
      // The lookup reports each event through the batch that carried it; the log lists the batch's events.
      for (const id of ids)
        expect(await deliveryOf(id, quiltt.id)).toMatchObject({ deliveryId: delivery.webhookId, status: "delivered", attempts: 1 });
    }
    expect(new Set(deliveries.map((delivery) => delivery.webhookId)).size).toBe(deliveries.length);
    // Both codes in one payload, in order of first appearance, somewhere: the first batch holds events 0..2 at most.
    expect(deliveries.some((delivery) => delivery.payload.eventTypes.length === 2)).toBe(true);

    const log = await attemptsOnceLogged(quiltt.id, deliveries.length);
    expect(log.map((entry) => [entry.deliveryId, entry.eventIds, entry.outcome]).sort()).toEqual(
      deliveries.map((delivery) => [delivery.webhookId, delivery.payload.events.map((event) => event.id), "success"]).sort(),
    );
    expect(await getSubscription(quiltt.id)).toMatchObject({ consecutiveFailures: 0, disabled: false });

    await expectEventFormatUnaffected(plain!, events);
  });

  it("retries a failing batch whole: the same webhook-id and body, a fresh signature", async () => {
    const { codes, name, quiltt, events } = await scenario("flaky-1", 4);

    const [failed, retried] = await eventually(async () => {
      const requests = await received(name);
      expect(requests).toHaveLength(2);
      return requests.map((request) => readQuilttDelivery(request, quiltt.secret));
    });
    expect(failed!.payload.events.map((event) => event.id)).toEqual(events.map(idOf));
    expect(retried!.webhookId).toBe(failed!.webhookId);
    expect(retried!.body).toBe(failed!.body);
    expect(retried!.timestamp).toBeGreaterThan(failed!.timestamp); // RETRY_DELAY_SECONDS is 1 in tests
    expect(retried!.payload.eventTypes).toEqual([codes.quiltt, codes.quable]);

    const log = await attemptsOnceLogged(quiltt.id, 2);
    expect(log.map((entry) => [entry.attempt, entry.outcome, entry.status, entry.deliveryId, entry.eventIds])).toEqual([
      [2, "success", 200, failed!.webhookId, events.map(idOf)],
      [1, "http_error", 500, failed!.webhookId, events.map(idOf)],
    ]);
    for (const event of events)
      expect(await deliveryOf(idOf(event), quiltt.id)).toMatchObject({ deliveryId: failed!.webhookId, status: "delivered", attempts: 2 });
    expect(await getSubscription(quiltt.id)).toMatchObject({ consecutiveFailures: 0, disabled: false });
  });

  it("counts a failing batch once per POST toward auto-disable, holds later events in a batch, and replays each batch as one", async () => {
    const { codes, name, quiltt, plain, events } = await scenario("status-500", 5, { eventSubscriber: true });

    await eventually(async () => expect(await getSubscription(quiltt.id)).toMatchObject({ disabled: true }));
    // Five events in one batch: three failed POSTs disable it, not the first one counted five times.
    expect(await getSubscription(quiltt.id)).toMatchObject({ disabledReason: "failures", consecutiveFailures: 3 });
    const attempts = (await received(name)).map((request) => readQuilttDelivery(request, quiltt.secret));
    expect(attempts).toHaveLength(3);
    const [first] = attempts;
    expect(first!.payload.events.map((event) => event.id)).toEqual(events.map(idOf));
    for (const attempt of attempts) {
      expect(attempt.webhookId).toBe(first!.webhookId);
      expect(attempt.body).toBe(first!.body);
    }
    const log = await attemptsOnceLogged(quiltt.id, 3);
    expect(log.map((entry) => [entry.attempt, entry.status, entry.deliveryId, entry.eventIds])).toEqual(
      [3, 2, 1].map((attempt) => [attempt, 500, first!.webhookId, events.map(idOf)]),
    );
    for (const event of events)
      expect(await deliveryOf(idOf(event), quiltt.id)).toMatchObject({ deliveryId: first!.webhookId, status: "failed", attempts: 3 });

    // Events that come while it is disabled are held together, in a batch of their own.
    const late = mixedEvents(codes, 2);
    await ingestAll(late);
    const heldId = await eventually(async () => {
      const [one, two] = await Promise.all(late.map((event) => deliveryOf(idOf(event), quiltt.id)));
      expect(one).toMatchObject({ deliveryId: expect.stringMatching(/^msg_/), status: "held", attempts: 0 });
      expect(two).toEqual(one);
      return one!.deliveryId!;
    });

    // Fixed and re-enabled: the replay sends the failed batch as it was, and the held one, once each.
    await patch(quiltt.id, { targetUrl: receiverUrl(name), disabled: false });
    expect(await replay(quiltt.id)).toEqual({ queued: 2 });
    const replayed = await eventually(async () => {
      const requests = await received(name);
      expect(requests).toHaveLength(5);
      return requests.slice(3).map((request) => readQuilttDelivery(request, quiltt.secret));
    });
    const replayedBatch = replayed.find((delivery) => delivery.webhookId === first!.webhookId);
    expect(replayedBatch?.body).toBe(first!.body);
    const heldBatch = replayed.find((delivery) => delivery.webhookId === heldId);
    expect(heldBatch?.payload.events.map((event) => event.id)).toEqual(late.map(idOf));
    for (const [event, deliveryId] of [...events.map((event) => [event, first!.webhookId] as const), ...late.map((event) => [event, heldId] as const)])
      await eventually(async () =>
        expect(await deliveryOf(idOf(event), quiltt.id)).toMatchObject({ deliveryId, status: "delivered", attempts: 1 }),
      );

    await expectEventFormatUnaffected(plain!, [...events, ...late]);
  });

  it("holds a batch owed while disabled and replays it as one", async () => {
    const { name, quiltt, events } = await scenario("status-500", 3);

    // Its first attempt failed: disabled before the batch is spent, it is held (a retry may have come first).
    await eventually(async () => expect(await attemptLog(quiltt.id)).not.toHaveLength(0), 15_000, 20);
    await patch(quiltt.id, { disabled: true });
    const [first] = await eventually(async () => {
      const requests = (await received(name)).map((request) => readQuilttDelivery(request, quiltt.secret));
      for (const event of events)
        expect(await deliveryOf(idOf(event), quiltt.id)).toMatchObject({ deliveryId: requests[0]!.webhookId, status: "held" });
      return requests;
    });
    expect(first!.payload.events.map((event) => event.id)).toEqual(events.map(idOf));
    const sentBeforeReplay = (await received(name)).length;
    expect(sentBeforeReplay).toBeLessThan(3);

    await patch(quiltt.id, { targetUrl: receiverUrl(name), disabled: false });
    expect(await replay(quiltt.id)).toEqual({ queued: 1 });
    const replayed = await eventually(async () => {
      const requests = await received(name);
      expect(requests).toHaveLength(sentBeforeReplay + 1);
      return readQuilttDelivery(requests.at(-1)!, quiltt.secret);
    });
    expect(replayed.webhookId).toBe(first!.webhookId);
    expect(replayed.body).toBe(first!.body);
    for (const event of events)
      await eventually(async () =>
        expect(await deliveryOf(idOf(event), quiltt.id)).toMatchObject({ deliveryId: first!.webhookId, status: "delivered", attempts: 1 }),
      );
    const [latest] = await attemptLog(quiltt.id);
    expect(latest).toMatchObject({ deliveryId: first!.webhookId, eventIds: events.map(idOf), outcome: "success", attempt: 1 });
  });
});

describe("Quiltt-format delivery across a format switch", () => {
  it("sends a batch retried after the switch to the event format as the same WebhookPayload", async () => {
    const { name, quiltt, events } = await scenario("status-500", 2);
    await eventually(async () => expect(await attemptLog(quiltt.id)).not.toHaveLength(0), 15_000, 20);
    await patch(quiltt.id, { payloadFormat: "event", targetUrl: receiverUrl(name) });

    const requests = await eventually(async () => {
      const all = (await received(name)).map((request) => readQuilttDelivery(request, quiltt.secret));
      expect(all.at(-1)).toBeDefined();
      for (const event of events)
        expect(await deliveryOf(idOf(event), quiltt.id)).toMatchObject({ deliveryId: all[0]!.webhookId, status: "delivered" });
      return all;
    });
    for (const request of requests) {
      expect(request.webhookId).toBe(requests[0]!.webhookId);
      expect(request.body).toBe(requests[0]!.body);
    }
    expect(requests[0]!.payload.events.map((event) => event.id)).toEqual(events.map(idOf));
  });
});
