import { createExecutionContext, createMessageBatch, env, getQueueResult } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { consumeBatch } from "../../src/delivery/consumer";
import type { DeliveryMessage, QueueMessage } from "../../src/delivery/messages";
import type { Env } from "../../src/env";
import { standardWebhookHeaders } from "../support/received-request";
import { bucket, createSubscription, eventually, ingest, makeEvent, received, receiverUrl, UNSETTLED, type QueueOutcome } from "./helpers";
import { MAX_ITEMS_PER_GATE } from "../../src/domain/gate";

/** The queue consumer called directly with batches made here. */

// Only this file's deliveries use this code.
const CODE = "bulk_edit.finish";

/** A ledger binding whose every object is unreachable. */
const unreachableLedger = {
  idFromName: (name: string) => env.EVENTS.idFromName(name),
  get: () => ({ bodies: () => Promise.reject(new Error("ledger unreachable (test)")) }),
} as unknown as Env["EVENTS"];

async function consume(message: DeliveryMessage, overrides: Partial<Env> = {}): Promise<QueueOutcome> {
  const batch = createMessageBatch<QueueMessage>("doorbell-deliveries", [{ id: "delivery-message", timestamp: new Date(), attempts: 1, body: message }]);
  await consumeBatch(batch, { ...env, ...overrides });
  return (await getQueueResult(batch, createExecutionContext())) as QueueOutcome;
}

describe("the consumer when a part of Doorbell fails", () => {
  it("gives back the lease it was granted when the bodies cannot be loaded, so the queue's retry goes out at once", async () => {
    const name = bucket("consumer-fault");
    const subscription = await createSubscription({ targetUrl: receiverUrl(name), eventTypes: [CODE] });
    const event = makeEvent({ code: CODE });
    const item = { id: event.uuid, round: 0, attempt: 1, events: [{ id: event.uuid, code: CODE }] };

    // By reference: the consumer must ask the ledger for the body, and the ledger is down.
    const failed = await consume({ type: "delivery", subscriptionId: subscription.id, deliveries: [item] }, { EVENTS: unreachableLedger });
    expect(failed.retryMessages.map((message) => message.msgId)).toEqual(["delivery-message"]);
    expect(await received(name)).toEqual([]);

    // The queue's retry (here with the body on it): not made to wait out the first lease (25 s).
    const retried = await consume({
      type: "delivery", subscriptionId: subscription.id, deliveries: [{ ...item, events: [{ ...item.events[0]!, body: JSON.stringify(event) }] }],
    });
    expect(retried.explicitAcks).toEqual(["delivery-message"]);
    const requests = await received(name);
    expect(requests.map((request) => standardWebhookHeaders(request)["webhook-id"])).toEqual([event.uuid]);
  });
});

describe("the consumer when an event body is no longer kept", () => {
  it("records a delivery past the retention as failed, and one inside it (withdrawn after a 503) not at all; acks both; the endpoint's health untouched", async () => {
    const name = bucket("consumer-expired");
    const subscription = await createSubscription({ targetUrl: receiverUrl(name), eventTypes: [CODE] });
    const stub = env.SUBSCRIPTIONS.get(env.SUBSCRIPTIONS.idFromName(subscription.id));
    // By reference to events the ledger does not have.
    const [aged, withdrawn] = [crypto.randomUUID(), crypto.randomUUID()];
    const itemOf = (id: string, acceptedAt: number) => ({ id, round: 0, attempt: 1, events: [{ id, code: CODE }], acceptedAt });
    const outcome = await consume({
      type: "delivery", subscriptionId: subscription.id, deliveries: [itemOf(aged, Date.now() - 8 * 24 * 60 * 60 * 1000), itemOf(withdrawn, Date.now())],
    });

    expect(outcome.explicitAcks).toEqual(["delivery-message"]);
    expect(await received(name)).toEqual([]);
    expect(await stub.deliveryOf(aged, UNSETTLED)).toMatchObject({ status: "failed", attempts: 0, deliveryId: aged });
    expect(await stub.deliveryOf(withdrawn, UNSETTLED)).toMatchObject({ status: "pending", deliveryId: null });
    expect(await stub.view()).toMatchObject({ disabled: false, consecutiveFailures: 0 });
  });
});

describe("the consumer with more deliveries for one subscription than one plan holds", () => {
  it("POSTs what the plan holds, sends the rest back by reference, and delivers it from there", async () => {
    const name = bucket("consumer-overflow");
    // The events are ingested for a code nobody subscribes to here: the ledger keeps their bodies.
    const events = Array.from({ length: MAX_ITEMS_PER_GATE + 1 }, () => makeEvent({ code: "value.update" }));
    for (let start = 0; start < events.length; start += 1000) expect((await ingest(events.slice(start, start + 1000))).status).toBe(202);
    const subscription = await createSubscription({ targetUrl: receiverUrl(name), eventTypes: [CODE], maxConcurrency: 50 });
    const deliveries = events.map((event) => ({ id: event.uuid, round: 0, attempt: 1, events: [{ id: event.uuid, code: CODE }] }));

    const outcome = await consume({ type: "delivery", subscriptionId: subscription.id, deliveries });
    expect(outcome.explicitAcks).toEqual(["delivery-message"]);
    const idsOf = async () => (await received(name)).map((request) => standardWebhookHeaders(request)["webhook-id"]);
    const first = await idsOf();
    expect(new Set(first)).toEqual(new Set(events.slice(0, MAX_ITEMS_PER_GATE).map((event) => event.uuid)));
    // The last one came back on the queue, body-less, and went out from the ledger's copy.
    await eventually(async () => expect((await idsOf()).slice(MAX_ITEMS_PER_GATE)).toEqual([events.at(-1)!.uuid]));
  });
});

describe("the consumer's retries", () => {
  it("sends the retries of one wave, due together, on one message", async () => {
    const name = bucket("consumer-retries");
    const subscription = await createSubscription({ targetUrl: receiverUrl(name, "status-500"), eventTypes: [CODE] });
    const events = [makeEvent({ code: CODE }), makeEvent({ code: CODE })];
    const deliveries = events.map((event) => ({ id: event.uuid, round: 0, attempt: 1, events: [{ id: event.uuid, code: CODE, body: JSON.stringify(event) }] }));
    const sent: MessageSendRequest<QueueMessage>[] = [];
    const recordingQueue = {
      sendBatch: (messages: MessageSendRequest<QueueMessage>[]) => (sent.push(...messages), env.DELIVERIES.sendBatch(messages)),
    } as unknown as Env["DELIVERIES"];

    expect((await consume({ type: "delivery", subscriptionId: subscription.id, deliveries }, { DELIVERIES: recordingQueue })).explicitAcks).toEqual(["delivery-message"]);
    expect(await received(name)).toHaveLength(2);
    const retries = sent.filter((message) => message.body.type === "delivery");
    expect(retries).toHaveLength(1);
    expect(retries[0]?.delaySeconds).toBe(Number(env.RETRY_DELAY_SECONDS));
    const [retry] = retries.map((message) => message.body as DeliveryMessage);
    expect(retry?.deliveries.map(({ id, attempt }) => [id, attempt]).sort()).toEqual(events.map((event) => [event.uuid, 2]).sort());
  });
});
