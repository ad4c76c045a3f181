import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { app } from "../../src/api/app";
import { API_TOKEN, api } from "./helpers";

const SUBSCRIPTIONS = "/v1/webhooks/subscriptions";
const validSubscription = { name: "body rules", targetUrl: "https://erp.example.com/hooks", eventTypes: ["*"] };

interface OpenApiOperation {
  readonly security?: unknown[];
  readonly requestBody?: { content: Record<string, { schema: { $ref?: string } }> };
  readonly responses: Record<string, unknown>;
}

interface OpenApiDocument {
  readonly openapi: string;
  readonly info: { title: string; version: string };
  readonly paths: Record<string, Record<string, OpenApiOperation>>;
  readonly components: {
    schemas: Record<string, { required?: string[]; properties?: Record<string, Record<string, unknown>> }>;
    securitySchemes: Record<string, unknown>;
  };
}

async function openApi(): Promise<OpenApiDocument> {
  const response = await api("/openapi.json", { token: null });
  expect(response.status).toBe(200);
  expect(response.headers.get("content-type")).toMatch(/^application\/json/);
  return (await response.json()) as OpenApiDocument;
}

/** A JSON request with a raw body and any content type. */
function send(path: string, body: BodyInit, contentType: string | null, method = "POST"): Promise<Response> {
  return api(path, { method, body, headers: contentType === null ? {} : { "content-type": contentType } });
}

async function expectError(response: Response, status: number, error: string, message: string | RegExp): Promise<void> {
  expect(response.status).toBe(status);
  expect(response.headers.get("content-type")).toMatch(/^application\/json/);
  const body = (await response.json()) as { error: string; message: string };
  expect(body.error).toBe(error);
  expect(body.message).toMatch(message);
}

describe("GET /health", () => {
  it("answers 200 {ok: true} without a token", async () => {
    const response = await api("/health", { token: null });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ ok: true });
  });
});

describe("GET /openapi.json", () => {
  it("is an OpenAPI 3.1 document listing every route and method", async () => {
    const document = await openApi();
    expect(document.openapi).toMatch(/^3\.1\./);
    expect(document.info.title).toBe("Doorbell");
    const methodsOf = (path: string) => Object.keys(document.paths[path] ?? {}).sort();
    const expected: Record<string, string[]> = {
      "/v1/webhooks/subscriptions": ["get", "post"],
      "/v1/webhooks/subscriptions/{id}": ["delete", "get", "patch"],
      "/v1/webhooks/subscriptions/{id}/secret": ["get"],
      "/v1/webhooks/subscriptions/{id}/secret/rotate": ["post"],
      "/v1/webhooks/subscriptions/{id}/attempts": ["get"],
      "/v1/webhooks/subscriptions/{id}/replay": ["post"],
      "/v1/events": ["post"],
      "/v1/events/{uuid}": ["get"],
      "/v1/events/{uuid}/redeliver": ["post"],
      "/v1/event-types": ["get"],
    };
    for (const [path, methods] of Object.entries(expected)) expect(methodsOf(path), path).toEqual(methods);
    // A path registered with its mount prefix would be documented twice over (/v1/events/v1/events).
    for (const path of Object.keys(document.paths)) expect(path.indexOf("/v1/", 1), path).toBe(-1);
  });

  it("requires the bearer scheme on every /v1 operation", async () => {
    const document = await openApi();
    expect(document.components.securitySchemes.bearerAuth).toMatchObject({ type: "http", scheme: "bearer" });
    for (const [path, operations] of Object.entries(document.paths)) {
      if (!path.startsWith("/v1/")) continue;
      for (const [method, operation] of Object.entries(operations)) expect(operation.security, `${method} ${path}`).toEqual([{ bearerAuth: [] }]);
    }
  });

  it("describes requests and responses with the component schemas that validate them", async () => {
    const document = await openApi();
    const { schemas } = document.components;
    for (const name of [
      "WebhookSubscription", "WebhookSubscriptionCreateRequest", "WebhookSubscriptionUpdateRequest", "WebhookSubscriptionWithSecret",
      "WebhookSubscriptionSecret", "ValidationErrors", "Error", "Event", "EventIngestRequest", "IngestResult", "DeliveryAttempt",
    ]) expect(schemas[name], name).toBeDefined();

    const create = document.paths["/v1/webhooks/subscriptions"]!.post!;
    expect(create.requestBody?.content["application/json"]?.schema.$ref).toBe("#/components/schemas/WebhookSubscriptionCreateRequest");
    expect(Object.keys(create.responses)).toEqual(expect.arrayContaining(["201", "422"]));
    // The same rules the API enforces, not a hand-written copy.
    const createRequest = schemas.WebhookSubscriptionCreateRequest!;
    expect(createRequest.required?.sort()).toEqual(["eventTypes", "name", "targetUrl"]);
    expect(createRequest.properties?.name).toMatchObject({ type: "string", minLength: 1, maxLength: 200 });
    expect(createRequest.properties?.eventTypes).toMatchObject({ type: "array", minItems: 1 });
    expect(schemas.WebhookSubscription!.properties?.disabledReason).toBeDefined();
    expect(schemas.WebhookSubscription!.properties).not.toHaveProperty("authorization");
    expect(schemas.WebhookSubscription!.properties).not.toHaveProperty("secret");
    expect(schemas.Event!.required).toEqual(expect.arrayContaining(["uuid", "code", "links", "created_at", "created_by", "resource"]));

    const list = document.paths["/v1/webhooks/subscriptions"]!.get!;
    expect(JSON.stringify(list.responses["200"])).toContain("total-pages");
    expect(document.paths["/v1/events"]!.post!.requestBody?.content["application/json"]?.schema.$ref).toBe("#/components/schemas/EventIngestRequest");
  });

  it("documents Quiltt's side: its events, the catalogue's routes, the delivery options and the payload a Quiltt-format receiver gets", async () => {
    const document = (await openApi()) as OpenApiDocument & { webhooks: Record<string, { post: OpenApiOperation }> };
    const { schemas } = document.components;
    for (const name of ["QuilttEvent", "WebhookPayload", "Environment", "EventType", "EventTypeCatalog", "EventTypeRequest"]) expect(schemas[name], name).toBeDefined();
    expect(schemas.WebhookPayload!.required?.sort()).toEqual(["environment", "eventTypes", "events"]);
    expect(schemas.QuilttEvent!.required?.sort()).toEqual(["id", "type"]);
    expect(Object.keys(schemas.WebhookSubscriptionCreateRequest!.properties ?? {})).toEqual(
      expect.arrayContaining(["payloadFormat", "maxEventsPerDelivery", "maxConcurrency"]),
    );
    expect(Object.keys(document.paths["/v1/event-types/{code}"] ?? {}).sort()).toEqual(["delete", "put"]);
    expect(document.webhooks.quilttFormatDelivery!.post.requestBody?.content["application/json"]?.schema.$ref).toBe("#/components/schemas/WebhookPayload");
  });
});

describe("GET /docs", () => {
  it("serves an HTML reference page rendered from /openapi.json", async () => {
    const response = await api("/docs", { token: null });
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^text\/html/);
    const html = await response.text();
    expect(html).toMatch(/^<!doctype html>/i);
    expect(html).not.toMatch(/<script>/); // every script from a file, so the CSP needs no 'unsafe-inline' for scripts
    const init = await api("/docs/init.js", { token: null });
    expect(init.headers.get("content-type")).toMatch(/^text\/javascript/);
    const script = await init.text();
    expect(script).toContain('url: "/openapi.json"');
    expect(script).toContain("persistAuthorization: false"); // the token typed into Authorize is never written to localStorage
  });

  it("sends the dashboard's protections: no framing, no sniffing, no caching, scripts from this origin only", async () => {
    const response = await api("/docs", { token: null });
    const csp = response.headers.get("content-security-policy") ?? "";
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toContain("script-src 'self';");
    expect(csp).toContain("default-src 'none'");
    expect(response.headers.get("x-frame-options")).toBe("DENY");
    expect(response.headers.get("x-content-type-options")).toBe("nosniff");
    expect(response.headers.get("referrer-policy")).toBe("same-origin");
    expect(response.headers.get("cache-control")).toBe("no-store");
  });
});

describe("unknown routes", () => {
  it.each([
    ["/nope", null],
    ["/v1/nope", API_TOKEN],
    ["/v1/webhooks/subscriptions/wh_0000000000000000/unknown", API_TOKEN],
  ])("answer 404 JSON for %s", async (path, token) => {
    await expectError(await api(path, { token }), 404, "not_found", "route not found");
  });
});

describe("a known path asked with another method", () => {
  it.each([
    ["PUT", `${SUBSCRIPTIONS}/wh_0000000000000000`, "GET, PATCH, DELETE"],
    ["DELETE", SUBSCRIPTIONS, "GET, POST"],
    ["GET", `${SUBSCRIPTIONS}/wh_0000000000000000/secret/rotate`, "POST"],
    ["PUT", "/v1/events/ce6c64a3-4f27-4b0e-862c-ee780eae06d1", "GET"],
    ["POST", "/v1/event-types", "GET"],
  ])("%s %s answers 405 with Allow: %s", async (method, path, allow) => {
    const response = await api(path, { method });
    expect(response.headers.get("allow")).toBe(allow);
    await expectError(response, 405, "method_not_allowed", `${method} is not allowed here; allowed: ${allow}`);
  });

  it("still needs the token first", async () => {
    await expectError(await api(`${SUBSCRIPTIONS}/wh_0000000000000000`, { method: "PUT", token: null }), 401, "unauthorized", /./);
  });
});

describe("request bodies", () => {
  const notJson = "body is not valid JSON";

  it.each([
    ["POST", SUBSCRIPTIONS],
    ["PATCH", `${SUBSCRIPTIONS}/wh_0000000000000000`],
    ["POST", "/v1/events"],
  ])("%s %s answers 400 for a body that is not JSON, 415 for another media type", async (method, path) => {
    await expectError(await send(path, "{not json", "application/json", method), 400, "bad_request", notJson);
    await expectError(await send(path, "", "application/json", method), 400, "bad_request", notJson);
    await expectError(await send(path, JSON.stringify(validSubscription), "text/plain", method), 415, "unsupported_media_type", "send the body as application/json");
    await expectError(await send(path, "name=x", "application/x-www-form-urlencoded", method), 415, "unsupported_media_type", /application\/json/);
    await expectError(await send(path, JSON.stringify(validSubscription), null, method), 415, "unsupported_media_type", /application\/json/);
  });

  it("accepts application/json with a charset, and +json media types", async () => {
    expect((await send(SUBSCRIPTIONS, JSON.stringify(validSubscription), "application/json; charset=utf-8")).status).toBe(201);
    expect((await send(SUBSCRIPTIONS, JSON.stringify(validSubscription), "application/merge-patch+json")).status).toBe(201);
  });

  it("answers 400 for bytes that are not UTF-8", async () => {
    const text = JSON.stringify({ ...validSubscription, name: "caf\u00e9" });
    const latin1 = Uint8Array.from(text, (char) => char.charCodeAt(0)); // é as the single byte 0xE9
    await expectError(await send(SUBSCRIPTIONS, latin1, "application/json"), 400, "bad_request", "the body is not valid UTF-8");
  });

  it("answers 413 for a subscription body over 64 KiB, declared or streamed", async () => {
    const oversized = JSON.stringify({ ...validSubscription, padding: "x".repeat(64 * 1024) });
    await expectError(await send(SUBSCRIPTIONS, oversized, "application/json"), 413, "payload_too_large", "the body is larger than 64 KiB");
    // Without a content-length the limit must hold while reading.
    const bytes = new TextEncoder().encode(oversized);
    const chunked = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let offset = 0; offset < bytes.length; offset += 8192) controller.enqueue(bytes.slice(offset, offset + 8192));
        controller.close();
      },
    });
    const response = await send(SUBSCRIPTIONS, chunked, "application/json");
    await expectError(response, 413, "payload_too_large", "the body is larger than 64 KiB");
  });

  it("accepts a subscription body just under 64 KiB", async () => {
    const base = JSON.stringify({ ...validSubscription, padding: "" });
    const body = JSON.stringify({ ...validSubscription, padding: "x".repeat(64 * 1024 - base.length) });
    expect(body.length).toBe(64 * 1024);
    expect((await send(SUBSCRIPTIONS, body, "application/json")).status).toBe(201);
  });
});

describe("a bad configuration value", () => {
  it.each([
    ["RETRY_DELAY_SECONDS", "-5"],
    ["DELIVERY_TIMEOUT_MS", "five seconds"],
    ["ALLOW_PRIVATE_TARGETS", "yes"],
  ])("%s=%j makes requests answer 500 naming the variable", async (name, value) => {
    const misconfigured = { ...env, [name]: value };
    const headers = { authorization: `Bearer ${API_TOKEN}`, "content-type": "application/json" };
    const requests: [string, RequestInit][] = [
      [SUBSCRIPTIONS, { method: "POST", headers, body: JSON.stringify(validSubscription) }],
      [SUBSCRIPTIONS, { headers }],
      ["/v1/event-types", { headers }],
      ["/health", {}],
    ];
    for (const [path, init] of requests) {
      const response = await app.request(path, init, misconfigured);
      expect(response.status, path).toBe(500);
      const body = (await response.json()) as { error: string; message: string };
      expect(body.error).toBe("misconfigured");
      expect(body.message).toContain(name);
      expect(body.message).toContain(JSON.stringify(value));
    }
  });
});
