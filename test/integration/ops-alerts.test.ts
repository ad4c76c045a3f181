import { createExecutionContext, createMessageBatch, env, getQueueResult } from "cloudflare:test";
import { Webhook } from "standardwebhooks";
import { afterEach, describe, expect, it } from "vitest";
import { consumeBatch } from "../../src/delivery/consumer";
import type { OpsMessage, QueueMessage } from "../../src/delivery/messages";
import { standardWebhookHeaders, type ReceivedRequest } from "../support/received-request";
import { api, bucket, createSubscription, eventually, ingest, makeEvent, received, receiverUrl, type QueueOutcome } from "./helpers";

/**
 * The workers test project points OPS_WEBHOOK_URL at this receiver bucket for every test file, with
 * OPS_WEBHOOK_SECRET set; each test picks out the alerts about its own subscriptions.
 */
const OPS_BUCKET = "ops-alerts";
// Only this file's events use this code, so no other test's traffic reaches these subscriptions.
const EVENT_CODE = "link.delete";

interface OpsAlert {
  type: string;
  id: string;
  at: string;
  data: { type: string; subscriptionId: string } & Record<string, unknown>;
}

/** Verifies the Standard Webhooks signature with the ops secret (throws when it does not match) and parses the alert. */
function verifiedAlert(request: ReceivedRequest, secret: string): OpsAlert {
  const headers = standardWebhookHeaders(request);
  const alert = new Webhook(secret).verify(request.body, headers) as OpsAlert;
  expect(alert.id).toBe(headers["webhook-id"]);
  expect(alert.id).toMatch(/^ops_/);
  expect(alert.type).toBe(alert.data.type);
  expect(Number.isNaN(Date.parse(alert.at))).toBe(false);
  return alert;
}

async function alertsAbout(subscriptionId: string): Promise<OpsAlert[]> {
  const secret = env.OPS_WEBHOOK_SECRET;
  if (!secret) throw new Error("the workers test project must set OPS_WEBHOOK_SECRET");
  return (await received(OPS_BUCKET))
    .filter((request) => (JSON.parse(request.body) as OpsAlert).data.subscriptionId === subscriptionId)
    .map((request) => verifiedAlert(request, secret));
}

const created: string[] = [];
afterEach(async () => {
  for (const id of created.splice(0)) await api(`/v1/webhooks/subscriptions/${id}`, { method: "DELETE" });
});

/** A subscription to `behaviour` at a fresh bucket, sent one event; resolves to the subscription id and the event uuid. */
async function deliverOneEventTo(behaviour: string): Promise<{ subscriptionId: string; eventId: string }> {
  const subscription = await createSubscription({ targetUrl: receiverUrl(bucket("ops-target"), behaviour), eventTypes: [EVENT_CODE] });
  created.push(subscription.id);
  const event = makeEvent({ code: EVENT_CODE });
  expect((await ingest(event)).status).toBe(202);
  return { subscriptionId: subscription.id, eventId: event.uuid };
}

describe("operational alerts from the delivery pipeline", () => {
  it("reports a subscription disabled after repeated failures, with the last status and error, and the spent delivery", async () => {
    const { subscriptionId, eventId } = await deliverOneEventTo("status-500");
    const alerts = await eventually(async () => {
      const found = await alertsAbout(subscriptionId);
      expect(found.map((alert) => alert.type).sort()).toEqual(["delivery.failed", "subscription.disabled"]);
      return found;
    });
    expect(alerts.find((alert) => alert.type === "subscription.disabled")?.data).toEqual({
      type: "subscription.disabled", subscriptionId, reason: "failures", lastStatus: 500,
      lastError: "HTTP 500: receiver answered 500", consecutiveFailures: 3,
    });
    expect(alerts.find((alert) => alert.type === "delivery.failed")?.data).toEqual({
      type: "delivery.failed", subscriptionId, deliveryId: eventId, eventIds: [eventId], attempts: 3,
    });
  });

  it("reports a subscription disabled at once by a 410, without a failed delivery (it is held)", async () => {
    const { subscriptionId, eventId } = await deliverOneEventTo("gone");
    const alert = await eventually(async () => {
      const found = (await alertsAbout(subscriptionId)).find((candidate) => candidate.type === "subscription.disabled");
      expect(found).toBeDefined();
      return found;
    });
    // The delivery is held, and whatever alerts its record sent went out with this one (consumer batches wait 50 ms).
    const lookup = (await (await api(`/v1/events/${eventId}`)).json()) as { deliveries: { subscriptionId: string; status: string }[] };
    expect(lookup.deliveries.find((delivery) => delivery.subscriptionId === subscriptionId)?.status).toBe("held");
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect((await alertsAbout(subscriptionId)).map((found) => found.type)).toEqual(["subscription.disabled"]);
    expect(alert?.data).toEqual({
      type: "subscription.disabled", subscriptionId, reason: "gone", lastStatus: 410,
      lastError: "HTTP 410: receiver answered 410", consecutiveFailures: 1,
    });
  });

  it("reports the first success after failures as a recovery", async () => {
    const { subscriptionId } = await deliverOneEventTo("flaky-1");
    const [alert] = await eventually(async () => {
      const found = await alertsAbout(subscriptionId);
      expect(found).toHaveLength(1);
      return found;
    });
    expect(alert?.data).toEqual({ type: "subscription.recovered", subscriptionId, failuresBefore: 1 });
  });
});

describe("the consumer's handling of an ops message", () => {
  const OPS_SECRET = "whsec_" + btoa("consumer-test-ops-secret-32bytes");

  async function consumeOne(message: OpsMessage, overrides: { OPS_WEBHOOK_URL?: string; OPS_WEBHOOK_SECRET?: string }): Promise<QueueOutcome> {
    const batch = createMessageBatch<QueueMessage>("doorbell-deliveries", [{ id: "ops-message", timestamp: new Date(), attempts: 1, body: message }]);
    // A fresh env object: configuration is parsed once per env object, so this one carries its own OPS_WEBHOOK_URL.
    await consumeBatch(batch, { ...env, ...overrides });
    return (await getQueueResult(batch, createExecutionContext())) as QueueOutcome;
  }

  const alertMessage = (): OpsMessage => ({
    type: "ops", id: `ops_${crypto.randomUUID()}`, at: new Date().toISOString(),
    event: { type: "subscription.recovered", subscriptionId: "wh_consumertest", failuresBefore: 2 },
  });

  it("POSTs it signed with OPS_WEBHOOK_SECRET and acks it", async () => {
    const name = bucket("ops-consumer");
    const message = alertMessage();
    const outcome = await consumeOne(message, { OPS_WEBHOOK_URL: receiverUrl(name), OPS_WEBHOOK_SECRET: OPS_SECRET });
    expect(outcome.explicitAcks).toEqual(["ops-message"]);
    expect(outcome.retryMessages).toEqual([]);
    const [request, ...more] = await received(name);
    expect(more).toHaveLength(0);
    expect(verifiedAlert(request!, OPS_SECRET)).toEqual({ type: "subscription.recovered", id: message.id, at: message.at, data: message.event });
    expect(() => verifiedAlert(request!, env.OPS_WEBHOOK_SECRET ?? "")).toThrow();
  });

  it("retries it when the ops endpoint fails", async () => {
    const name = bucket("ops-consumer-failing");
    const outcome = await consumeOne(alertMessage(), { OPS_WEBHOOK_URL: receiverUrl(name, "status-503"), OPS_WEBHOOK_SECRET: OPS_SECRET });
    expect(outcome.retryMessages.map((retry) => retry.msgId)).toEqual(["ops-message"]);
    expect(outcome.explicitAcks).toEqual([]);
    expect(await received(name)).toHaveLength(1);
  });

  it("acks it without sending anything when OPS_WEBHOOK_URL is not configured", async () => {
    const outcome = await consumeOne(alertMessage(), { OPS_WEBHOOK_URL: "" });
    expect(outcome.explicitAcks).toEqual(["ops-message"]);
    expect(outcome.retryMessages).toEqual([]);
  });
});
