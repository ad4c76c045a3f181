import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { app } from "../../src/api/app";
import { API_TOKEN, INGEST_TOKEN, api, bucket, clientAddressHeader, createSubscription, makeEvent, receiverUrl } from "./helpers";

/**
 * Requests that cost Doorbell more than they should: bodies that never finish, nesting that takes
 * seconds to parse, sign-ins past their limit, subscriptions past the cap. And answers that carry a
 * secret, which no cache may keep.
 */

/** A body that sends `first` and then nothing, ever: what a client trickling one byte every few seconds looks like. */
function stalledBody(first: string): ReadableStream<Uint8Array> {
  return new ReadableStream({ start: (controller) => controller.enqueue(new TextEncoder().encode(first)) });
}

const withDeadline = { ...env, BODY_READ_TIMEOUT_MS: "300" };

describe("request bodies that never finish", () => {
  it.each([
    ["POST /v1/events", "/v1/events", INGEST_TOKEN],
    ["POST /v1/webhooks/subscriptions", "/v1/webhooks/subscriptions", API_TOKEN],
  ])("%s answers 408 once BODY_READ_TIMEOUT_MS has passed", async (_what, path, token) => {
    const response = await app.request(path, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json", "cf-connecting-ip": clientAddressHeader() },
      body: stalledBody("{"),
    }, withDeadline);
    expect(response.status).toBe(408);
    expect(await response.json()).toEqual({ error: "request_timeout", message: "the body did not arrive within 0.3 s" });
  });

  it("the dashboard's sign-in form answers 408 too", async () => {
    const response = await app.request("https://doorbell.test/sign-in", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", origin: "https://doorbell.test", "cf-connecting-ip": clientAddressHeader() },
      body: stalledBody("token="),
    }, withDeadline);
    expect(response.status).toBe(408);
  });

  it("sign-in past its limit answers 429 without reading the form at all", async () => {
    const address = clientAddressHeader();
    const signIn = (body: BodyInit) => app.request("https://doorbell.test/sign-in", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", origin: "https://doorbell.test", "cf-connecting-ip": address },
      body,
    }, withDeadline);
    for (let attempt = 1; attempt <= 10; attempt++) expect((await signIn("token=guess")).status).toBe(401);
    // Read, this form would end in a 408: the 429 shows the limiter answered first.
    expect((await signIn(stalledBody("token="))).status).toBe(429);
  });
});

describe("deep nesting", () => {
  it("refuses 5 MiB of nested arrays with 422 from the raw text, before parsing it", async () => {
    const half = 2.5 * 1024 * 1024;
    const response = await api("/v1/events", { method: "POST", token: INGEST_TOKEN, headers: { "content-type": "application/json" }, body: "[".repeat(half) + "]".repeat(half) });
    expect(response.status).toBe(422);
    // Parsed first, the refusal would name the event (`events[0]`); this one names the body as a whole.
    expect(await response.json()).toEqual({ body: ["must not nest objects and arrays more than 34 deep"] });
  });

  it("still accepts an event nested 32 deep inside a batch", async () => {
    const event = makeEvent();
    const deep = JSON.parse("[".repeat(31) + "1" + "]".repeat(31)) as unknown;
    const response = await api("/v1/events", { method: "POST", token: INGEST_TOKEN, json: { events: [{ ...event, deep }] } });
    expect(response.status, await response.clone().text()).toBe(202);
  });
});

describe("the subscription cap", () => {
  it("answers 409 past MAX_SUBSCRIPTIONS, and creates below it", async () => {
    const existing = await createSubscription({ eventTypes: ["export.finish"] }); // at least one, so a cap equal to the count is above 0
    const total = Number((await api("/v1/webhooks/subscriptions?limit=1")).headers.get("total-count"));
    const create = (max: number) => app.request("/v1/webhooks/subscriptions", {
      method: "POST",
      headers: { authorization: `Bearer ${API_TOKEN}`, "content-type": "application/json", "cf-connecting-ip": clientAddressHeader() },
      body: JSON.stringify({ name: "capped", targetUrl: receiverUrl(bucket("cap")), eventTypes: ["export.finish"] }),
    }, { ...env, MAX_SUBSCRIPTIONS: String(max) });
    const refused = await create(total);
    expect(refused.status).toBe(409);
    expect(await refused.json()).toEqual({
      error: "conflict",
      message: `there are already ${total} subscriptions, the most allowed (MAX_SUBSCRIPTIONS); delete one first`,
    });
    const created = await create(total + 1000);
    expect(created.status).toBe(201);
    const { id } = (await created.json()) as { id: string };
    for (const created of [id, existing.id]) expect((await api(`/v1/webhooks/subscriptions/${created}`, { method: "DELETE" })).status).toBe(204);
  });
});

describe("answers that carry a secret", () => {
  it("are never stored by a cache: create, GET .../secret and rotate send Cache-Control: no-store", async () => {
    const response = await api("/v1/webhooks/subscriptions", { method: "POST", json: { name: "no-store", targetUrl: receiverUrl(bucket()), eventTypes: ["*"] } });
    expect(response.status).toBe(201);
    expect(response.headers.get("cache-control")).toBe("no-store");
    const { id } = (await response.json()) as { id: string };
    for (const [path, method] of [[`/v1/webhooks/subscriptions/${id}/secret`, "GET"], [`/v1/webhooks/subscriptions/${id}/secret/rotate`, "POST"]] as const) {
      const answer = await api(path, { method });
      expect(answer.status, path).toBe(200);
      expect(answer.headers.get("cache-control"), path).toBe("no-store");
    }
    await api(`/v1/webhooks/subscriptions/${id}`, { method: "DELETE" });
  });
});
