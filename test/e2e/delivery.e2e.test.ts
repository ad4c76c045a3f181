import { Webhook } from "standardwebhooks";
import { describe, expect, it } from "vitest";
import { standardWebhookHeaders } from "../support/received-request";
import { INGEST_TOKEN } from "./dev-server";
import {
  QUABLE_EXAMPLE_TEXT, allEventDeliveries, bucket, createSubscription, deliveriesPerEvent, eventDeliveries, eventually, ingest, quableEvents, sleep,
  useServerAndReceiver,
} from "./support";

// Events posted to `wrangler dev` over HTTP reach real receivers on 127.0.0.1 through the real queue.
describe("delivery against wrangler dev", () => {
  const running = useServerAndReceiver();

  it("delivers Quable's example, posted as Quable posts it, signed and intact within two seconds", async () => {
    const quable = bucket("quable");
    const subscription = await createSubscription(running.server, {
      name: "PIM mirror", targetUrl: `${running.receiver.url}/${quable}/ok`, eventTypes: ["document"], authorization: "Bearer pim-mirror",
    });

    const postedAt = Date.now();
    const response = await running.server.api("/v1/events", {
      method: "POST", token: INGEST_TOKEN, headers: { "content-type": "application/json" }, body: QUABLE_EXAMPLE_TEXT,
    });
    expect(response.status, await response.clone().text()).toBe(202);
    const example = JSON.parse(QUABLE_EXAMPLE_TEXT) as { uuid: string };
    expect(await response.json()).toEqual({ accepted: [example.uuid], duplicates: [] });

    const [delivery] = await eventually(() => {
      const arrived = running.receiver.requests.get(quable) ?? [];
      expect(arrived).toHaveLength(1);
      return arrived;
    }, 5_000, 20);
    if (!delivery) throw new Error("one delivery arrived");
    expect(delivery.receivedAt - postedAt).toBeLessThan(2_000);

    expect(JSON.parse(delivery.body)).toEqual(JSON.parse(QUABLE_EXAMPLE_TEXT));
    expect(delivery.headers["content-type"]).toBe("application/json");
    expect(delivery.headers["user-agent"]).toMatch(/^Doorbell\/\d+\.\d+\.\d+/);
    expect(delivery.headers.authorization).toBe("Bearer pim-mirror");
    expect(delivery.headers["webhook-id"]).toBe(example.uuid);
    expect(new Webhook(subscription.secret).verify(delivery.body, standardWebhookHeaders(delivery))).toEqual(JSON.parse(QUABLE_EXAMPLE_TEXT));
    // The signature covers this body: any change to it must fail verification.
    expect(() => new Webhook(subscription.secret).verify(delivery.body.replace("john_doe", "jane_doe"), standardWebhookHeaders(delivery))).toThrow();

    const status = await eventDeliveries(running.server, example.uuid);
    expect(status.deliveries).toEqual([
      { subscriptionId: subscription.id, status: "delivered", attempts: 1, nextAttemptAt: null, deliveryId: example.uuid, subscriptionDeleted: false },
    ]);
  });

  it("delivers 200 events to 5 subscriptions: 1,000 deliveries, none lost, none twice", async () => {
    // Different selections that all match document.update.
    const selections = [["*"], ["document"], ["document.update"], ["media", "document"], ["document.update", "link.create"]];
    const buckets = selections.map((_, index) => bucket(`fanout${index}`));
    const subscriptions = await Promise.all(
      selections.map((eventTypes, index) => createSubscription(running.server, { targetUrl: `${running.receiver.url}/${buckets[index]}/ok`, eventTypes })),
    );
    const events = quableEvents(200);
    const batches = [0, 50, 100, 150].map((start) => events.slice(start, start + 50));
    const results = await Promise.all(batches.map((batch) => ingest(running.server, batch)));
    expect(results.flatMap((result) => result.accepted).sort()).toEqual(events.map((event) => event.uuid).sort());

    const expected = new Set(events.map((event) => event.uuid));
    await eventually(() => {
      for (const name of buckets) expect(deliveriesPerEvent(running.receiver, name).size).toBe(expected.size);
    }, 30_000, 200);
    await sleep(2_000); // longer than a queue batch's wait: a duplicate would have arrived by now

    for (const name of buckets) {
      const perEvent = deliveriesPerEvent(running.receiver, name);
      expect(new Set(perEvent.keys())).toEqual(expected);
      expect([...perEvent.values()].filter((count) => count !== 1), `events delivered more than once to ${name}`).toEqual([]);
    }
    for (const [index, name] of buckets.entries()) {
      const secret = subscriptions[index]?.secret ?? "";
      for (const request of running.receiver.requests.get(name) ?? []) new Webhook(secret).verify(request.body, standardWebhookHeaders(request));
    }

    // The first test's subscription matches these events too; only this test's five are checked.
    const subscriptionIds = new Set(subscriptions.map((subscription) => subscription.id));
    await eventually(async () => {
      for (const status of await allEventDeliveries(running.server, events.map((event) => event.uuid))) {
        const ours = status.deliveries.filter((delivery) => subscriptionIds.has(delivery.subscriptionId));
        expect(new Set(ours.map((delivery) => delivery.subscriptionId))).toEqual(subscriptionIds);
        expect(ours.every((delivery) => delivery.status === "delivered" && delivery.attempts === 1)).toBe(true);
      }
    }, 20_000, 200);
  });

  it("reads a short answer to its end, so its connection carries later deliveries; a long answer is dropped, still a success", async () => {
    const short = bucket("keep-alive");
    const long = bucket("long-answer");
    const subscriptions = await Promise.all([
      createSubscription(running.server, { targetUrl: `${running.receiver.url}/${short}/ok`, eventTypes: ["document.update"] }),
      createSubscription(running.server, { targetUrl: `${running.receiver.url}/${long}/big-200000`, eventTypes: ["document.update"] }),
    ]);
    // 50 deliveries, 10 in flight at a time: each POST can find a connection the one before left open.
    const events = quableEvents(50);
    await ingest(running.server, events);
    await eventually(() => {
      for (const name of [short, long]) expect(running.receiver.requests.get(name) ?? []).toHaveLength(events.length);
    }, 20_000, 50);
    const connections = new Set((running.receiver.requests.get(short) ?? []).map((request) => request.connection));
    // Closing the connection after each POST would take 50; how many fewer depends on timing (27-38 seen here).
    expect(connections.size, "connections used for 50 deliveries").toBeLessThan(events.length);

    // A receiver has the POST before its outcome is recorded (the consumer records a batch's outcomes together).
    const ids = subscriptions.map((subscription) => subscription.id).sort();
    await eventually(async () => {
      for (const status of await allEventDeliveries(running.server, events.map((event) => event.uuid))) {
        const ours = status.deliveries.filter((delivery) => ids.includes(delivery.subscriptionId));
        expect(ours.map((delivery) => delivery.subscriptionId).sort()).toEqual(ids);
        expect(ours.every((delivery) => delivery.status === "delivered" && delivery.attempts === 1), JSON.stringify(ours)).toBe(true);
      }
    }, 20_000, 200);
  });
});
