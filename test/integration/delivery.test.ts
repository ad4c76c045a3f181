import { env } from "cloudflare:test";
import { Webhook } from "standardwebhooks";
import { describe, expect, it } from "vitest";
import packageJson from "../../package.json";
import { standardWebhookHeaders, type ReceivedRequest } from "../support/received-request";
import {
  api, bucket, createSubscription, eventually, getSubscription, ingest, makeEvent, received, receiverUrl,
  type CreatedSubscription,
} from "./helpers";

interface AttemptEntry {
  eventId: string;
  attempt: number;
  outcome: string;
  status: number | null;
  durationMs: number;
  error: string | null;
}

interface AttemptPage {
  attempts: AttemptEntry[];
  nextCursor: string | null;
}

interface EventDelivery {
  subscriptionId: string;
  status: string;
  attempts: number;
}

// Each scenario subscribes to its own event code, so that scenarios running side by side never feed each other.

async function ingestOne(code: string): Promise<ReturnType<typeof makeEvent>> {
  const event = makeEvent({ code });
  const response = await ingest(event);
  expect(response.status, await response.clone().text()).toBe(202);
  return event;
}

async function attemptPage(subscriptionId: string, query = ""): Promise<AttemptPage> {
  const response = await api(`/v1/webhooks/subscriptions/${subscriptionId}/attempts${query}`);
  expect(response.status).toBe(200);
  return (await response.json()) as AttemptPage;
}

async function deliveryOf(eventId: string, subscriptionId: string): Promise<EventDelivery | undefined> {
  const response = await api(`/v1/events/${eventId}`);
  expect(response.status).toBe(200);
  const { deliveries } = (await response.json()) as { deliveries: EventDelivery[] };
  return deliveries.find((delivery) => delivery.subscriptionId === subscriptionId);
}

/** Waits until the subscription's attempt log holds `count` attempts, and returns them newest first. */
async function attemptsOnceLogged(subscriptionId: string, count: number, timeoutMs?: number): Promise<AttemptEntry[]> {
  return eventually(async () => {
    const { attempts } = await attemptPage(subscriptionId);
    expect(attempts).toHaveLength(count);
    return attempts;
  }, timeoutMs);
}

function requestsFor(requests: readonly ReceivedRequest[], eventId: string): ReceivedRequest[] {
  return requests.filter((request) => request.headers["webhook-id"] === eventId);
}

describe("delivery", () => {
  it("POSTs the event exactly as ingested, signed, with the subscription's authorization verbatim", async () => {
    const name = bucket("signed");
    const authorization = `Token realm="pim", key=ZG9vcmJlbGw6czNjcmV0==`;
    const subscription = await createSubscription({ targetUrl: receiverUrl(name), eventTypes: ["import.finish"], authorization });
    const event = makeEvent({ code: "import.finish", process: { correlationId: "corr-1", type: "import" }, extra: { nested: [1, "é", null] } });
    const ingestedAt = Math.floor(Date.now() / 1000);
    expect((await ingest(event)).status).toBe(202);

    const [request] = await eventually(async () => {
      const requests = await received(name);
      expect(requests).toHaveLength(1);
      return requests;
    });
    expect(request!.body).toBe(JSON.stringify(event));
    expect(request!.headers).toMatchObject({
      "content-type": "application/json",
      "user-agent": `Doorbell/${packageJson.version}`,
      "webhook-id": event.uuid,
      authorization,
    });
    expect(Math.abs(Number(request!.headers["webhook-timestamp"]) - ingestedAt)).toBeLessThanOrEqual(5);

    const headers = standardWebhookHeaders(request!);
    expect(new Webhook(subscription.secret).verify(request!.body, headers)).toEqual(event);
    expect(() => new Webhook(subscription.secret).verify(request!.body.replace("corr-1", "corr-2"), headers)).toThrow();
    const otherSecret = (await createSubscription({ eventTypes: ["import.finish"] })).secret;
    expect(() => new Webhook(otherSecret).verify(request!.body, headers)).toThrow();
  });

  it("retries, times out, classifies failures and disables a failing endpoint, each endpoint on its own clock", async () => {
    const retryDelayMs = 1000;
    // Scenarios with retries first wait behind the slow batch (see below), then for their own retries.
    const behindSlowBatchMs = 20_000;

    const failingEndpointIsDisabled = async () => {
      const name = bucket("failing");
      const subscription = await createSubscription({ targetUrl: receiverUrl(name, "status-500"), eventTypes: ["classification.delete"] });
      const event = await ingestOne("classification.delete");

      await eventually(async () => expect(await getSubscription(subscription.id)).toMatchObject({ disabled: true }), behindSlowBatchMs);
      expect(await getSubscription(subscription.id)).toMatchObject({ disabledReason: "failures", consecutiveFailures: 3 });
      expect(await deliveryOf(event.uuid, subscription.id)).toMatchObject({ status: "failed", attempts: 3 });
      const attempts = await attemptsOnceLogged(subscription.id, 3);
      expect(attempts.map((attempt) => [attempt.attempt, attempt.outcome, attempt.status])).toEqual([
        [3, "http_error", 500], [2, "http_error", 500], [1, "http_error", 500],
      ]);
      const times = requestsFor(await received(name), event.uuid).map((request) => request.receivedAt);
      expect(times).toHaveLength(3);
      for (const [index, time] of times.slice(1).entries()) expect(time - times[index]!).toBeGreaterThanOrEqual(retryDelayMs * 0.9);

      // Disabled: a later event is held, not POSTed.
      const later = await ingestOne("classification.delete");
      expect(await deliveryOf(later.uuid, subscription.id)).toMatchObject({ subscriptionId: subscription.id, status: "held", attempts: 0 });
      expect(await received(name)).toHaveLength(3);

      const reenabled = await api(`/v1/webhooks/subscriptions/${subscription.id}`, { method: "PATCH", json: { disabled: false } });
      expect(reenabled.status).toBe(200);
      expect(await reenabled.json()).toMatchObject({ disabled: false, disabledReason: null, consecutiveFailures: 0 });
    };

    // Miniflare hands the consumer one batch at a time, so the slow POST holds the local queue for 5 s:
    // it starts alone, to share its batch with the fast one, and the other scenarios queue up behind it.
    const slowAndFastStartTogether = async () => {
      const slowName = bucket("slow");
      const fastName = bucket("fast");
      const slow = await createSubscription({ targetUrl: receiverUrl(slowName, "slow-6000"), eventTypes: ["variant.create"] });
      await createSubscription({ targetUrl: receiverUrl(fastName), eventTypes: ["variant.create"] });
      const ingestedAt = Date.now();
      const event = await ingestOne("variant.create");

      const [fastRequest] = await eventually(async () => {
        const requests = await received(fastName);
        expect(requests).toHaveLength(1);
        return requests;
      });
      expect(fastRequest!.receivedAt - ingestedAt).toBeLessThan(2500);
      expect(await received(slowName)).toHaveLength(1); // both POSTs were under way at once
      return { slow, event };
    };

    const slowEndpointTimesOut = async ({ slow, event }: Awaited<ReturnType<typeof slowAndFastStartTogether>>) => {
      const [timedOut] = await attemptsOnceLogged(slow.id, 1, 10_000);
      expect(timedOut).toMatchObject({ eventId: event.uuid, attempt: 1, outcome: "timeout", status: null });
      expect(timedOut!.durationMs).toBeGreaterThanOrEqual(4900);
      expect(timedOut!.durationMs).toBeLessThan(6000);
      expect(await deliveryOf(event.uuid, slow.id)).toMatchObject({ status: "retrying", attempts: 1 });
      // Its retries would take 5 s each; removing the subscription stops them.
      expect((await api(`/v1/webhooks/subscriptions/${slow.id}`, { method: "DELETE" })).status).toBe(204);
    };

    const firstAttemptOutcome = async (subscription: CreatedSubscription, code: string) => {
      const event = await ingestOne(code);
      const first = await eventually(async () => {
        const oldest = (await attemptPage(subscription.id)).attempts.at(-1); // retries may already follow it
        expect(oldest).toMatchObject({ eventId: event.uuid, attempt: 1 });
        return oldest!;
      }, behindSlowBatchMs);
      return first;
    };

    const redirectIsAFailureNotFollowed = async () => {
      const subscription = await createSubscription({ targetUrl: receiverUrl(bucket("redirect"), "redirect"), eventTypes: ["link.create"] });
      // Following the redirect would have reached a closed port: a network_error, not this.
      expect(await firstAttemptOutcome(subscription, "link.create")).toMatchObject({ outcome: "http_error", status: 302 });
    };

    const closedPortIsANetworkError = async () => {
      const subscription = await createSubscription({ targetUrl: `http://127.0.0.1:${env.TEST_CLOSED_PORT}/hook`, eventTypes: ["link.update"] });
      const first = await firstAttemptOutcome(subscription, "link.update");
      expect(first).toMatchObject({ outcome: "network_error", status: null });
      expect(first.error).toMatch(/^connection failed before an answer: nothing listening on that host and port/);
    };

    const successAfterTwoFailuresResetsTheCounter = async () => {
      const subscription = await createSubscription({ targetUrl: receiverUrl(bucket("flaky"), "flaky-2"), eventTypes: ["value.delete"] });
      const event = await ingestOne("value.delete");

      await eventually(
        async () => expect(await deliveryOf(event.uuid, subscription.id)).toMatchObject({ status: "delivered", attempts: 3 }),
        behindSlowBatchMs,
      );
      expect(await getSubscription(subscription.id)).toMatchObject({ disabled: false, disabledReason: null, consecutiveFailures: 0 });

      const firstPage = await attemptPage(subscription.id, "?limit=2");
      expect(firstPage.attempts.map((attempt) => [attempt.attempt, attempt.outcome, attempt.status])).toEqual([
        [3, "success", 200], [2, "http_error", 500],
      ]);
      expect(firstPage.nextCursor).not.toBeNull();
      const secondPage = await attemptPage(subscription.id, `?limit=2&cursor=${firstPage.nextCursor}`);
      expect(secondPage.attempts.map((attempt) => [attempt.attempt, attempt.outcome, attempt.status])).toEqual([[1, "http_error", 500]]);
      expect(secondPage.nextCursor).toBeNull();
    };

    const slowStarted = await slowAndFastStartTogether();
    await Promise.all([
      slowEndpointTimesOut(slowStarted),
      failingEndpointIsDisabled(),
      redirectIsAFailureNotFollowed(),
      closedPortIsANetworkError(),
      successAfterTwoFailuresResetsTheCounter(),
    ]);
  });

  it("matches event types by wildcard and dotted prefix", async () => {
    const buckets = { document: bucket("document"), everything: bucket("everything"), login: bucket("login") };
    const documents = await createSubscription({ targetUrl: receiverUrl(buckets.document), eventTypes: ["document"] });
    await createSubscription({ targetUrl: receiverUrl(buckets.everything), eventTypes: ["*"] });
    await createSubscription({ targetUrl: receiverUrl(buckets.login), eventTypes: ["user.login"] });
    const mediaUpdate = await ingestOne("media.update");
    const documentUpdate = await ingestOne("document.update");
    const loginFailed = await ingestOne("user.login.failed");
    const ours = [mediaUpdate, documentUpdate, loginFailed].map((event) => event.uuid);
    const ourIdsIn = async (bucketName: string) =>
      (await received(bucketName)).map((request) => String(request.headers["webhook-id"])).filter((id) => ours.includes(id)).sort();

    await eventually(async () => {
      expect(await ourIdsIn(buckets.everything)).toEqual([...ours].sort());
      expect(await ourIdsIn(buckets.document)).toEqual([documentUpdate.uuid]);
      expect(await ourIdsIn(buckets.login)).toEqual([loginFailed.uuid]);
    });
    // Matching happens at ingestion: the media event owes the "document" subscription nothing.
    expect(await deliveryOf(mediaUpdate.uuid, documents.id)).toBeUndefined();
  });

  it("does not POST again when the queue redelivers a message for a delivered event", async () => {
    const name = bucket("redelivered");
    const subscription = await createSubscription({ targetUrl: receiverUrl(name), eventTypes: ["export.finish"] });
    const event = await ingestOne("export.finish");
    await eventually(async () => expect(await deliveryOf(event.uuid, subscription.id)).toMatchObject({ status: "delivered", attempts: 1 }));

    await env.DELIVERIES.send({
      type: "delivery", subscriptionId: subscription.id,
      deliveries: [{ id: event.uuid, round: 0, attempt: 1, events: [{ id: event.uuid, code: event.code, body: JSON.stringify(event) }] }],
    });
    // Queued behind the duplicate: once this one arrives, the duplicate has been consumed.
    const sentinel = await ingestOne("export.finish");
    await eventually(async () => expect(requestsFor(await received(name), sentinel.uuid)).toHaveLength(1));
    await eventually(async () => expect(await deliveryOf(sentinel.uuid, subscription.id)).toMatchObject({ status: "delivered" }));

    expect(requestsFor(await received(name), event.uuid)).toHaveLength(1);
    expect(await deliveryOf(event.uuid, subscription.id)).toMatchObject({ status: "delivered", attempts: 1 });
  });
});
