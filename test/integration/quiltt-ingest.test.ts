import { describe, expect, it } from "vitest";
import { api, bucket, createSubscription, eventually, ingest, makeEvent, makeQuilttEvent, received, receiverUrl } from "./helpers";

async function expectIngested(response: Response, accepted: string[], duplicates: string[]): Promise<void> {
  expect(response.status, await response.clone().text()).toBe(202);
  expect(await response.json()).toEqual({ accepted, duplicates });
}

describe("POST /v1/events with Quiltt-shaped events", () => {
  it("accepts a batch mixing both shapes and delivers each exactly as ingested, with its id as webhook-id", async () => {
    const name = bucket("mixed");
    await createSubscription({ targetUrl: receiverUrl(name), eventTypes: ["profile", "document.update"] });
    const profile = makeQuilttEvent({ custom: { kept: [1, 2] } });
    const quable = makeEvent();
    const connection = makeQuilttEvent({ type: "connection.synced.successful.initial" }); // not subscribed

    await expectIngested(await ingest({ events: [profile, quable, connection] }), [profile.id, quable.uuid, connection.id], []);

    await eventually(async () => expect(await received(name)).toHaveLength(2));
    const byId = new Map((await received(name)).map((request) => [String(request.headers["webhook-id"]), request.body]));
    expect(byId.get(profile.id)).toBe(JSON.stringify(profile));
    expect(byId.get(quable.uuid)).toBe(JSON.stringify(quable));
  });

  it("is idempotent on id, case-sensitively, across requests and within one", async () => {
    const event = makeQuilttEvent();
    const otherCase = makeQuilttEvent({ id: event.id.toUpperCase() });
    await expectIngested(await ingest([event, event]), [event.id], []);
    await expectIngested(await ingest([{ ...event, at: "2026-11-23T08:00:00Z" }, otherCase]), [otherCase.id], [event.id]);
  });

  it("reports a Quiltt event by its id at GET /v1/events/{id}", async () => {
    const name = bucket("lookup");
    const subscription = await createSubscription({ targetUrl: receiverUrl(name), eventTypes: ["profile.created"] });
    const event = makeQuilttEvent();
    await expectIngested(await ingest(event), [event.id], []);
    await eventually(async () => {
      const response = await api(`/v1/events/${event.id}`);
      expect(response.status).toBe(200);
      const found = (await response.json()) as { event: unknown; deliveries: { subscriptionId: string; status: string }[] };
      expect(found.event).toEqual(event);
      expect(found.deliveries).toContainEqual(expect.objectContaining({ subscriptionId: subscription.id, status: "delivered" }));
    });
    expect((await api(`/v1/events/${event.id.toUpperCase()}`)).status).toBe(404);
  });

  it("refuses a batch with a bad Quiltt event whole, naming each path, and records nothing", async () => {
    const good = makeQuilttEvent();
    const response = await ingest([good, makeQuilttEvent({ id: "" }), makeEvent(), makeQuilttEvent({ type: "Profile.Created", at: "soon" })]);
    expect(response.status).toBe(422);
    expect(await response.json()).toEqual({
      "events[1].id": ["must not be empty"],
      "events[3].type": ["must be a dotted lower-case event code, e.g. document.update"],
      "events[3].at": ["must be an ISO 8601 date-time"],
    });
    await expectIngested(await ingest(good), [good.id], []);
  });

  it("accepts a full request of 1,000 Quiltt events with ids of 255 characters for a subscription", async () => {
    await createSubscription({ targetUrl: receiverUrl(bucket("long-ids")), eventTypes: ["account.verified"] });
    const events = Array.from({ length: 1000 }, () => makeQuilttEvent({ type: "account.verified", id: `evt_${crypto.randomUUID()}`.padEnd(255, "x") }));
    const response = await ingest(events);
    expect(response.status, await response.clone().text()).toBe(202);
    expect(((await response.json()) as { accepted: string[] }).accepted).toHaveLength(1000);
  });

  it("answers 413 for a Quiltt event over 64 KiB and for 1,001 of them", async () => {
    const big = makeQuilttEvent({ record: { padding: "p".repeat(65 * 1024) } });
    const tooBig = await ingest([makeQuilttEvent(), big]);
    expect(tooBig.status).toBe(413);
    expect(await tooBig.json()).toEqual({ error: "payload_too_large", message: "events[1] is larger than 64 KiB" });
    expect((await ingest(Array.from({ length: 1001 }, () => makeQuilttEvent()))).status).toBe(413);
  });
});
