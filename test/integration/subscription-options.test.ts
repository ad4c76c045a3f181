import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { SubscriptionObject } from "../../src/durable/subscription-object";
import { api, createSubscription, getSubscription } from "./helpers";

const BASE = "/v1/webhooks/subscriptions";
const valid = { name: "Quiltt receiver", targetUrl: "https://quiltt.example.com/hooks", eventTypes: ["profile"] };
const ONE_PER_POST = 'must be 1 with payloadFormat "event" (one event per POST)';

describe("payloadFormat, maxEventsPerDelivery and maxConcurrency", () => {
  it("default to one event per POST and 20 at once, and to 100 per POST in the quiltt format", async () => {
    expect(await createSubscription()).toMatchObject({ payloadFormat: "event", maxEventsPerDelivery: 1, maxConcurrency: 20 });
    const quiltt = await createSubscription({ payloadFormat: "quiltt", maxConcurrency: 500 });
    expect(await getSubscription(quiltt.id)).toMatchObject({ payloadFormat: "quiltt", maxEventsPerDelivery: 100, maxConcurrency: 500 });
  });

  it.each([
    ["an unknown format", { payloadFormat: "xml" }, { payloadFormat: ['must be one of "event", "quiltt"'] }],
    ["2 per POST in the event format", { maxEventsPerDelivery: 2 }, { maxEventsPerDelivery: [ONE_PER_POST] }],
    ["101 per POST", { payloadFormat: "quiltt", maxEventsPerDelivery: 101 }, { maxEventsPerDelivery: ["must be from 1 to 100"] }],
    ["a concurrency of 0", { maxConcurrency: 0 }, { maxConcurrency: ["must be from 1 to 500"] }],
    ["a concurrency of 1.5", { maxConcurrency: 1.5 }, { maxConcurrency: ["must be an integer"] }],
  ])("answers 422 at create for %s", async (_what, change, errors) => {
    const response = await api(BASE, { method: "POST", json: { ...valid, ...change } });
    expect(response.status).toBe(422);
    expect(await response.json()).toEqual(errors);
  });

  it.each([
    ["a batch size on an event subscription", {}, { maxEventsPerDelivery: 10 }, { maxEventsPerDelivery: [ONE_PER_POST] }],
    ["the event format on a quiltt subscription keeping 50", { payloadFormat: "quiltt", maxEventsPerDelivery: 50 }, { payloadFormat: "event", maxEventsPerDelivery: 50 }, { maxEventsPerDelivery: [ONE_PER_POST] }],
    ["a concurrency of 501", {}, { maxConcurrency: 501 }, { maxConcurrency: ["must be from 1 to 500"] }],
    ["an unknown format", {}, { payloadFormat: "batch", name: "changed" }, { payloadFormat: ['must be one of "event", "quiltt"'] }],
  ])("answers 422 at PATCH for %s and changes nothing", async (_what, created, body, errors) => {
    const { secret: _secret, ...before } = await createSubscription(created);
    const response = await api(`${BASE}/${before.id}`, { method: "PATCH", json: body });
    expect(response.status).toBe(422);
    expect(await response.json()).toEqual(errors);
    expect(await getSubscription(before.id)).toEqual(before);
  });

  it("switches formats by PATCH, each taking its default batch size unless told", async () => {
    const { id } = await createSubscription();
    const patch = async (body: unknown) => (await api(`${BASE}/${id}`, { method: "PATCH", json: body })).json();
    expect(await patch({ payloadFormat: "quiltt" })).toMatchObject({ payloadFormat: "quiltt", maxEventsPerDelivery: 100 });
    expect(await patch({ maxEventsPerDelivery: 25, maxConcurrency: 3 })).toMatchObject({ maxEventsPerDelivery: 25, maxConcurrency: 3 });
    expect(await patch({ name: "renamed" })).toMatchObject({ payloadFormat: "quiltt", maxEventsPerDelivery: 25, maxConcurrency: 3 });
    expect(await patch({ payloadFormat: "event" })).toMatchObject({ payloadFormat: "event", maxEventsPerDelivery: 1, maxConcurrency: 3 });
  });

  it("gives a subscription stored before these columns existed their defaults", async () => {
    const stub = env.SUBSCRIPTIONS.get(env.SUBSCRIPTIONS.idFromName(`wh_legacy${crypto.randomUUID().slice(0, 8)}`));
    const view = await runInDurableObject(stub, (_, state) => {
      state.storage.sql.exec("DROP TABLE subscription"); // as the running instance made it, to be made the old way
      state.storage.sql.exec(`CREATE TABLE subscription (
        singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
        id TEXT NOT NULL, name TEXT NOT NULL, target_url TEXT NOT NULL, event_types TEXT NOT NULL,
        auth_header TEXT, secret TEXT NOT NULL, previous_secret TEXT, previous_secret_until INTEGER,
        disabled INTEGER NOT NULL, disabled_reason TEXT, consecutive_failures INTEGER NOT NULL,
        created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL)`);
      state.storage.sql.exec(
        `INSERT INTO subscription VALUES (1, 'wh_legacy', 'old', 'https://old.example.com/', '["*"]', NULL, 'whsec_x', NULL, NULL, 0, NULL, 0, 0, 0)`,
      );
      return new SubscriptionObject(state, env).view();
    });
    expect(view).toMatchObject({ id: "wh_legacy", payloadFormat: "event", maxEventsPerDelivery: 1, maxConcurrency: 20 });
  });
});
