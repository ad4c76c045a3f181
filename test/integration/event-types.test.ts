import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { CatalogObject } from "../../src/durable/catalog-object";
import { api, createSubscription, ingest, makeEvent, makeQuilttEvent } from "./helpers";

/** A code no other test uses. */
const freshCode = (name = "order") => `acme${crypto.randomUUID().slice(0, 8)}.${name}.shipped`;

function put(code: string, body: unknown): Promise<Response> {
  return api(`/v1/event-types/${code}`, { method: "PUT", json: body });
}

interface CatalogBody {
  eventTypes: string[];
  items: { code: string; description: string | null; schema: unknown; builtIn: boolean }[];
}

async function catalog(): Promise<CatalogBody> {
  const response = await api("/v1/event-types");
  expect(response.status).toBe(200);
  return (await response.json()) as CatalogBody;
}

const orderSchema = {
  type: "object",
  required: ["record"],
  properties: { record: { type: "object", required: ["orderId"], properties: { orderId: { type: "string", pattern: "^ord_" } } } },
};

describe("GET /v1/event-types", () => {
  it("lists Quable's and Quiltt's built-in codes, each with its item", async () => {
    const { eventTypes, items } = await catalog();
    for (const code of ["document.update", "user.login.failed", "profile.created", "connection.synced.errored.service", "charge.execute"])
      expect(eventTypes).toContain(code);
    expect(items.find((item) => item.code === "profile.created")).toEqual({ code: "profile.created", description: null, schema: null, builtIn: true });
    expect(items.map((item) => item.code)).toEqual(eventTypes);
  });
});

describe("PUT /v1/event-types/{code}", () => {
  it("adds an operator code (201), replaces it (200), and keeps it in the catalogue object's storage", async () => {
    const code = freshCode();
    const created = await put(code, { description: "An order left the warehouse", schema: orderSchema });
    expect(created.status, await created.clone().text()).toBe(201);
    expect(await created.json()).toEqual({ code, description: "An order left the warehouse", schema: orderSchema, builtIn: false });

    const replaced = await put(code, { description: "Shipped" });
    expect(replaced.status).toBe(200);
    expect((await catalog()).items.find((item) => item.code === code)).toEqual({ code, description: "Shipped", schema: null, builtIn: false });

    // A new instance over the same storage (as after a restart or a deploy) still has it.
    const stored = await runInDurableObject(env.CATALOG.get(env.CATALOG.idFromName("catalog")), (_, state) => new CatalogObject(state, env).list());
    expect(stored).toContainEqual({ code, description: "Shipped", schema: null });
  });

  it("lets a subscription name an operator code, or a prefix of one, once it exists", async () => {
    const code = freshCode();
    const prefix = code.split(".")[0]!;
    const before = await api("/v1/webhooks/subscriptions", { method: "POST", json: { name: "x", targetUrl: "https://a.example.com/", eventTypes: [prefix] } });
    expect(before.status).toBe(422);
    expect(await before.json()).toEqual({ "eventTypes[0]": [`"${prefix}" matches no event code of the catalog`] });
    expect((await put(code, {})).status).toBe(201);
    expect((await createSubscription({ eventTypes: [prefix, code] })).eventTypes).toEqual([prefix, code]);
  });

  it("gives a built-in code a schema (200, never 201) that ingest then enforces", async () => {
    const response = await put("charge.execute", { schema: { type: "object", required: ["record"] } });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ code: "charge.execute", builtIn: true });
    try {
      const refused = await ingest([makeQuilttEvent(), makeQuilttEvent({ type: "charge.execute", record: undefined })]);
      expect(refused.status).toBe(422);
      expect(await refused.json()).toEqual({ "events[1].record": ["is required"] });
      expect((await ingest(makeQuilttEvent({ type: "charge.execute" }))).status).toBe(202);
    } finally {
      expect((await put("charge.execute", {})).status).toBe(200);
    }
  });

  it.each([
    ["a code in upper case", "Acme.Order", {}, { code: ["must be a dotted lower-case event code, e.g. document.update"] }],
    ["a code without a dot", "acme", {}, { code: ["must be a dotted lower-case event code, e.g. document.update"] }],
    ["a schema with an unknown type", "acme.bad.type", { schema: { type: "strin" } }, { "schema.type": expect.any(Array) }],
    ["a schema that is a string", "acme.bad.string", { schema: "object" }, { schema: expect.any(Array) }],
    ["a schema with a broken pattern", "acme.bad.pattern", { schema: { pattern: "(" } }, { schema: [expect.stringContaining("not a valid regular expression")] }],
    ["a description with a line feed", "acme.bad.description", { description: "a\nb" }, { description: ["must not contain control characters (CR, LF, ...)"] }],
  ])("answers 422 for %s and stores nothing", async (_what, code, body, errors) => {
    const response = await put(code, body);
    expect(response.status).toBe(422);
    expect(await response.json()).toEqual(errors);
    expect((await catalog()).eventTypes).not.toContain(code);
  });
});

describe("PUT /v1/event-types/{code} with hostile bodies", () => {
  it("answers 400 for a body that is not JSON and 413 past 64 KiB, storing nothing", async () => {
    const code = freshCode();
    const notJson = await api(`/v1/event-types/${code}`, { method: "PUT", body: "{", headers: { "content-type": "application/json" } });
    expect(notJson.status).toBe(400);
    expect((await put(code, { description: "d", schema: { description: "x".repeat(70 * 1024) } })).status).toBe(413);
    expect((await catalog()).eventTypes).not.toContain(code);
  });
});

describe("ingest against operator schemas", () => {
  it("refuses events of the code that fail its schema, naming events[i] paths, in both shapes; other codes pass", async () => {
    const code = freshCode();
    expect((await put(code, { schema: orderSchema })).status).toBe(201);
    const response = await ingest([
      makeQuilttEvent({ type: code, record: { orderId: "ord_1" } }),
      makeQuilttEvent({ type: code, record: { orderId: "x_1" } }),
      makeEvent({ code }),
      makeEvent(),
    ]);
    expect(response.status).toBe(422);
    expect(await response.json()).toEqual({
      "events[1].record.orderId": [expect.stringContaining("pattern")],
      "events[2].record": ["is required"],
    });
    const accepted = await ingest([makeQuilttEvent({ type: code, record: { orderId: "ord_2" } }), makeEvent()]);
    expect(accepted.status).toBe(202);
  });
});

describe("DELETE /v1/event-types/{code}", () => {
  it("deletes an operator code: 204, then it is gone and a subscription may no longer name it", async () => {
    const code = freshCode();
    await put(code, {});
    expect((await api(`/v1/event-types/${code}`, { method: "DELETE" })).status).toBe(204);
    expect((await catalog()).eventTypes).not.toContain(code);
    expect((await api(`/v1/event-types/${code}`, { method: "DELETE" })).status).toBe(404);
  });

  it("answers 409 for a built-in code", async () => {
    const response = await api("/v1/event-types/profile.created", { method: "DELETE" });
    expect(response.status).toBe(409);
    expect(await response.json()).toMatchObject({ error: "conflict", message: '"profile.created" is built in and cannot be deleted' });
  });

  it("answers 409 listing the subscriptions that still name it, and deletes it once they no longer do", async () => {
    const code = freshCode();
    await put(code, {});
    const naming = await createSubscription({ eventTypes: [code] });
    const byPrefix = await createSubscription({ eventTypes: [code.split(".")[0]!] });
    const refused = await api(`/v1/event-types/${code}`, { method: "DELETE" });
    expect(refused.status).toBe(409);
    expect(await refused.json()).toMatchObject({ error: "conflict", subscriptions: [naming.id, byPrefix.id] });
    expect((await catalog()).eventTypes).toContain(code);

    await api(`/v1/webhooks/subscriptions/${naming.id}`, { method: "DELETE" });
    await api(`/v1/webhooks/subscriptions/${byPrefix.id}`, { method: "PATCH", json: { eventTypes: ["document"] } });
    expect((await api(`/v1/event-types/${code}`, { method: "DELETE" })).status).toBe(204);
  });
});
