import { SELF, env } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { app } from "../../src/api/app";
import type { SubscriptionView } from "../../src/domain/subscription";
import { API_TOKEN, INGEST_TOKEN, api, clientAddressHeader, createSubscription, makeEvent } from "./helpers";

/**
 * Hostile and malformed requests, one table across every route. Each must get a 4xx JSON error (never
 * a 5xx) and change nothing: checked afterwards on a subscription the table aims at, on the list of
 * subscriptions, on the events the table tried to ingest, and on Object.prototype.
 */

const RUN = `hostile-${crypto.randomUUID().slice(0, 8)}`;
const TARGET = "{target}"; // replaced by the id of the subscription the table aims at
const UNKNOWN = "wh_doesnotexist0000";
const PUBLIC_URL = "https://hooks.example.com/doorbell";
const DEEP_ARRAY = "[".repeat(10_000) + "]".repeat(10_000);
const DEEP_OBJECT = '{"a":'.repeat(10_000) + "1" + "}".repeat(10_000);
const INVALID_UTF8 = new Uint8Array([0x7b, 0x22, 0x6e, 0x61, 0x6d, 0x65, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0xc3, 0x28, 0x22, 0x7d]); // {"name":"<bad>"}

interface HostileRequest {
  readonly what: string;
  readonly method: "GET" | "POST" | "PATCH" | "DELETE" | "PUT";
  readonly path: string;
  readonly body?: string | Uint8Array;
  /** Defaults to application/json when there is a body; null sends none. */
  readonly contentType?: string | null;
  /** The whole Authorization header; defaults to the API token; null sends none. */
  readonly authorization?: string | null;
  /** Sent to the app with the production SSRF rules (the test project relaxes them for local receivers). */
  readonly productionTargets?: boolean;
  readonly status: number;
  /** For a 422: the field the ValidationErrors map must name. */
  readonly field?: string;
}

let serial = 0;
/** A valid subscription body, but for `fields`; its name is unique to this run, so a wrongly created one would be found. */
function subscriptionBody(fields: Record<string, unknown> = {}, omit?: string): string {
  const body: Record<string, unknown> = { name: `${RUN} #${++serial}`, targetUrl: PUBLIC_URL, eventTypes: ["export.finish"], ...fields };
  if (omit) delete body[omit];
  return JSON.stringify(body);
}

/** Prefixes a JSON object's text with keys that a naive merge would put on Object.prototype, or read through it. */
function withPrototypeKeys(json: string, inherited: Record<string, unknown> = {}): string {
  const prototype = JSON.stringify({ polluted: "yes", disabled: true, ...inherited });
  return `{"__proto__":${prototype},"constructor":{"prototype":${prototype}},${json.slice(1)}`;
}

const triedEvents: string[] = [];
/** An event, valid but for `overrides`; its uuid is checked afterwards to be unknown. */
function eventBody(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const event = makeEvent(overrides);
  triedEvents.push(event.uuid);
  return event;
}

/** Rows for one route taking a JSON body; 422 unless said otherwise. */
function rowsFor(label: string, method: HostileRequest["method"], path: string) {
  return (what: string, body: string, status = 422, extra: Partial<HostileRequest> = {}): HostileRequest => ({
    what: `${label}: ${what}`, method, path, body, status, ...extra,
  });
}
const create = rowsFor("create", "POST", "/v1/webhooks/subscriptions");
const patch = rowsFor("patch", "PATCH", `/v1/webhooks/subscriptions/${TARGET}`);
const ingest = rowsFor("ingest", "POST", "/v1/events");
const replay = rowsFor("replay", "POST", `/v1/webhooks/subscriptions/${TARGET}/replay`);
const get = (what: string, path: string, status: number, extra: Partial<HostileRequest> = {}): HostileRequest => ({ what, method: "GET", path, status, ...extra });

/** Target URLs that reach the operator's own network, in the spellings an attacker would try. */
const PRIVATE_TARGETS = [
  "https://127.0.0.1/", "https://2130706433/", "https://0x7f000001/", "https://0177.0.0.1/", "https://127.1/",
  "https://[::1]/", "https://[0:0:0:0:0:0:0:1]/", "https://[::ffff:127.0.0.1]/", "https://[::ffff:7f00:1]/",
  "https://localhost/", "https://localhost./", "https://LocalHost/", "https://api.localhost/",
  "https://169.254.169.254/latest/meta-data/", "https://[::ffff:169.254.169.254]/", "https://0xa9.0xfe.0xa9.0xfe/",
  "https://0251.0376.0251.0376/", "https://[64:ff9b::a9fe:a9fe]/", "https://metadata.google.internal/computeMetadata/v1/",
  "https://metadata.google.internal./", "https://10.0.0.1/", "https://172.16.0.1/", "https://192.168.0.1/",
  "https://100.64.0.1/", "https://0.0.0.0/", "https://[::]/", "https://[fe80::1]/", "https://[fd00::1]/", "https://printer.local/",
  // Names that resolve to loopback or the local network: the review reached 127.0.0.1 through the first one.
  "https://vm:28902/probe", "https://vm./", "https://localtest.me/", "https://admin.lvh.me/", "https://127.0.0.1.nip.io/",
  "https://app-10-0-0-1.sslip.io/", "https://nas.lan/", "https://router.home.arpa/", "https://api.test/",
];

/** Refused in every mode, the development policy of this test project included. */
const METADATA_TARGETS = [
  "http://169.254.169.254/latest", "http://[fe80::1]/", "http://metadata.google.internal/computeMetadata/v1/", "http://[fd00:ec2::254]/",
  "http://[::ffff:169.254.169.254]/", "http://100.100.100.200/",
];

const NOT_HTTP_TARGETS = [
  "file:///etc/passwd", "gopher://127.0.0.1:6379/_FLUSHALL", "javascript:alert(1)", "ftp://example.com/", "data:text/plain,hi",
  "ws://example.com/", "not a url", "/relative/path", "",
];

const oversizeEvents = JSON.stringify(Array.from({ length: 1001 }, () => makeEvent()));

const TABLE: HostileRequest[] = [
  // ---- tokens and routes ----
  get("no authorization", "/v1/webhooks/subscriptions", 401, { authorization: null }),
  get("wrong token", "/v1/webhooks/subscriptions", 401, { authorization: "Bearer not-the-token" }),
  get("token with a suffix", "/v1/webhooks/subscriptions", 401, { authorization: `Bearer ${API_TOKEN}x` }),
  get("token then garbage", "/v1/webhooks/subscriptions", 401, { authorization: `Bearer ${API_TOKEN} extra` }),
  get("basic scheme", "/v1/webhooks/subscriptions", 401, { authorization: `Basic ${btoa(`admin:${API_TOKEN}`)}` }),
  get("empty bearer", "/v1/webhooks/subscriptions", 401, { authorization: "Bearer " }),
  get("ingest token on a read route", "/v1/webhooks/subscriptions", 401, { authorization: `Bearer ${INGEST_TOKEN}` }),
  get("ingest token on an event read", `/v1/events/${crypto.randomUUID()}`, 401, { authorization: `Bearer ${INGEST_TOKEN}` }),
  get("no token on the catalog", "/v1/event-types", 401, { authorization: null }),
  patch("ingest token cannot change a subscription", JSON.stringify({ name: "taken over" }), 401, { authorization: `Bearer ${INGEST_TOKEN}` }),
  get("unknown route", "/v1/nope", 404),
  { what: "PUT on a subscription", method: "PUT", path: `/v1/webhooks/subscriptions/${TARGET}`, body: JSON.stringify({ name: "put" }), status: 405 },
  { what: "POST on /health", method: "POST", path: "/health", body: "{}", status: 404 },

  // ---- create: body shape ----
  create("truncated JSON", '{"name":', 400),
  create("empty body", "", 400),
  create("null", "null"),
  create("an array", "[]"),
  create("a string", '"subscription"'),
  create("a number", "42"),
  create("an empty object", "{}"),
  create("deeply nested array (10,000 levels)", DEEP_ARRAY),
  create("deeply nested object as the name", subscriptionBody().replace(/"name":"[^"]*"/, `"name":${DEEP_OBJECT}`)),
  create("__proto__ and constructor keys around a bad name", withPrototypeKeys(subscriptionBody({ name: 42 }))),
  create("__proto__ supplying the missing fields", withPrototypeKeys(JSON.stringify({ name: `${RUN} proto` }), { targetUrl: PUBLIC_URL, eventTypes: ["export.finish"] })),
  create("text/plain", subscriptionBody(), 415, { contentType: "text/plain" }),
  create("no content type", subscriptionBody(), 415, { contentType: null }),
  create("form encoded", "name=x&targetUrl=https://example.com", 415, { contentType: "application/x-www-form-urlencoded" }),
  create("invalid UTF-8", "", 400, { body: INVALID_UTF8 }),
  create("body over 64 KiB", subscriptionBody({ name: "n".repeat(70 * 1024) }), 413),

  // ---- create: fields ----
  create("missing name", subscriptionBody({}, "name")),
  create("missing targetUrl", subscriptionBody({}, "targetUrl")),
  create("missing eventTypes", subscriptionBody({}, "eventTypes")),
  create("name is a number", subscriptionBody({ name: 42 })),
  create("name is empty", subscriptionBody({ name: "" })),
  create("name is blank", subscriptionBody({ name: "   " })),
  create("name of 201 characters", subscriptionBody({ name: "n".repeat(201) })),
  create("name of 60,000 characters", subscriptionBody({ name: "n".repeat(60_000) })),
  create("CR LF in the name", subscriptionBody({ name: `${RUN}\r\nX-Injected: yes` })),
  create("NUL in the name", subscriptionBody({ name: `${RUN}\u0000` })),
  create("eventTypes empty", subscriptionBody({ eventTypes: [] })),
  create("eventTypes a string", subscriptionBody({ eventTypes: "document" })),
  create("eventTypes not at a dot boundary", subscriptionBody({ eventTypes: ["doc"] })),
  create("eventTypes duplicated", subscriptionBody({ eventTypes: ["document", "document"] })),
  create("eventTypes a number", subscriptionBody({ eventTypes: [42] })),
  create("eventTypes an empty string", subscriptionBody({ eventTypes: [""] })),
  create("eventTypes 101 entries", subscriptionBody({ eventTypes: Array.from({ length: 101 }, (_, index) => `document.${index}`) })),
  create("disabled a string", subscriptionBody({ disabled: "false" })),
  create("CR LF in authorization", subscriptionBody({ authorization: "Bearer x\r\nX-Injected: yes" })),
  create("LF in authorization", subscriptionBody({ authorization: "Bearer x\n" })),
  create("authorization empty", subscriptionBody({ authorization: "" })),
  create("authorization a number", subscriptionBody({ authorization: 42 })),
  create("authorization of 5,000 characters", subscriptionBody({ authorization: `Bearer ${"a".repeat(5000)}` })),
  create("targetUrl a number", subscriptionBody({ targetUrl: 42 })),
  create("targetUrl of 3,000 characters", subscriptionBody({ targetUrl: `https://example.com/${"a".repeat(3000)}` })),
  create("targetUrl with credentials", subscriptionBody({ targetUrl: "https://user:pass@example.com/" })),
  ...NOT_HTTP_TARGETS.map((targetUrl) => create(`targetUrl ${JSON.stringify(targetUrl)}`, subscriptionBody({ targetUrl }), 422, { field: "targetUrl" })),
  ...METADATA_TARGETS.map((targetUrl) => create(`metadata target ${targetUrl} (development rules)`, subscriptionBody({ targetUrl }), 422, { field: "targetUrl" })),
  create("http target (production rules)", subscriptionBody({ targetUrl: "http://example.com/hook" }), 422, { productionTargets: true, field: "targetUrl" }),
  ...PRIVATE_TARGETS.map((targetUrl) =>
    create(`private target ${targetUrl}`, subscriptionBody({ targetUrl }), 422, { productionTargets: true, field: "targetUrl" }),
  ),

  // ---- list ----
  ...["page=0", "page=-1", "page=abc", "page=1.5", "page=99999999999999999999", "limit=0", "limit=101", "limit=-5", "limit=1e400", "limit=", "page=1&limit=NaN"].map(
    (query) => get(`list with ${query}`, `/v1/webhooks/subscriptions?${query}`, 422),
  ),

  // ---- one subscription ----
  get("unknown id", `/v1/webhooks/subscriptions/${UNKNOWN}`, 404),
  get("path traversal as an id", "/v1/webhooks/subscriptions/..%2F..%2Fetc%2Fpasswd", 404),
  get("id of 1,000 characters", `/v1/webhooks/subscriptions/wh_${"a".repeat(1000)}`, 404),
  get("id with a NUL", "/v1/webhooks/subscriptions/wh_abc%00def", 404),
  get("secret of an unknown id", `/v1/webhooks/subscriptions/${UNKNOWN}/secret`, 404),
  { what: "rotate an unknown id", method: "POST", path: `/v1/webhooks/subscriptions/${UNKNOWN}/secret/rotate`, status: 404 },
  { what: "delete an unknown id", method: "DELETE", path: `/v1/webhooks/subscriptions/${UNKNOWN}`, status: 404 },
  { what: "delete a malformed id", method: "DELETE", path: "/v1/webhooks/subscriptions/not-an-id", status: 404 },
  get("attempts of an unknown id", `/v1/webhooks/subscriptions/${UNKNOWN}/attempts`, 404),
  ...["limit=0", "limit=abc", "limit=101", "cursor=abc", "cursor=-1", "cursor=", "cursor=1e5"].map(
    (query) => get(`attempts with ${query}`, `/v1/webhooks/subscriptions/${TARGET}/attempts?${query}`, 422),
  ),

  // ---- patch ----
  patch("truncated JSON", '{"name":', 400),
  patch("an array", "[]"),
  patch("name is a number", JSON.stringify({ name: 42 })),
  patch("name is empty", JSON.stringify({ name: "" })),
  patch("CR LF in the name", JSON.stringify({ name: "x\r\ny" })),
  patch("eventTypes empty", JSON.stringify({ eventTypes: [] })),
  patch("disabled a string", JSON.stringify({ disabled: "true" })),
  patch("disabled null", JSON.stringify({ disabled: null })),
  patch("CR LF in authorization", JSON.stringify({ authorization: "Bearer x\r\nX-Injected: yes" })),
  patch("authorization a number", JSON.stringify({ authorization: 42 })),
  patch("targetUrl javascript:", JSON.stringify({ targetUrl: "javascript:alert(1)" })),
  patch("targetUrl file:", JSON.stringify({ targetUrl: "file:///etc/passwd" })),
  patch("targetUrl metadata (production rules)", JSON.stringify({ targetUrl: "https://169.254.169.254/" }), 422, { productionTargets: true, field: "targetUrl" }),
  patch("targetUrl a single-label name (production rules)", JSON.stringify({ targetUrl: "https://vm:28902/probe" }), 422, { productionTargets: true, field: "targetUrl" }),
  patch("targetUrl localtest.me (production rules)", JSON.stringify({ targetUrl: "https://localtest.me/" }), 422, { productionTargets: true, field: "targetUrl" }),
  ...METADATA_TARGETS.map((targetUrl) => patch(`targetUrl ${targetUrl} (development rules)`, JSON.stringify({ targetUrl }), 422, { field: "targetUrl" })),
  patch("targetUrl IPv6-mapped loopback (production rules)", JSON.stringify({ targetUrl: "https://[::ffff:127.0.0.1]/" }), 422, {
    productionTargets: true, field: "targetUrl",
  }),
  patch("__proto__ and constructor keys around a bad name", withPrototypeKeys(JSON.stringify({ name: 42 }))),
  patch("deeply nested object as the name", `{"name":${DEEP_OBJECT}}`),
  patch("text/plain", JSON.stringify({ name: "plain" }), 415, { contentType: "text/plain" }),
  patch("invalid UTF-8", "", 400, { body: INVALID_UTF8 }),
  patch("body over 64 KiB", JSON.stringify({ name: "n".repeat(70 * 1024) }), 413),
  { what: "patch: unknown id", method: "PATCH", path: `/v1/webhooks/subscriptions/${UNKNOWN}`, body: JSON.stringify({ name: "x" }), status: 404 },
  { what: "patch: malformed id", method: "PATCH", path: "/v1/webhooks/subscriptions/not-an-id", body: JSON.stringify({ name: "x" }), status: 404 },

  // ---- replay ----
  replay("since not a date", JSON.stringify({ since: "yesterday" })),
  replay("since a number", JSON.stringify({ since: 1_700_000_000 })),
  replay("until out of range", JSON.stringify({ until: "2026-13-45T99:00:00Z" })),
  replay("since without an offset", JSON.stringify({ since: "2026-01-01T00:00:00" })),
  replay("since null", JSON.stringify({ since: null })),
  replay("an array", "[]"),
  replay("truncated JSON", "{", 400),
  replay("text/plain", "{}", 415, { contentType: "text/plain" }),
  { what: "replay: unknown id", method: "POST", path: `/v1/webhooks/subscriptions/${UNKNOWN}/replay`, status: 404 },

  // ---- ingestion ----
  ingest("truncated JSON", '{"uuid":', 400),
  ingest("invalid UTF-8", "", 400, { body: INVALID_UTF8 }),
  ingest("text/plain", JSON.stringify(eventBody()), 415, { contentType: "text/plain" }),
  ingest("null", "null"),
  ingest("a number", "42"),
  ingest("an empty array", "[]"),
  ingest("an empty events list", JSON.stringify({ events: [] })),
  ingest("events not a list", JSON.stringify({ events: "nope" })),
  ingest("deeply nested array (10,000 levels)", DEEP_ARRAY),
  // Deeper than a recursive JSON.stringify can go in Node: refused (422, nested too deep) before any serialising.
  ingest("deeply nested array (100,000 levels)", "[".repeat(100_000) + "]".repeat(100_000)),
  ingest("deeply nested extra field (100,000 levels)", JSON.stringify(eventBody()).replace(/^\{/, `{"deep":${"[".repeat(100_000)}${"]".repeat(100_000)},`)),
  create("deeply nested array (30,000 levels) as the name, under 64 KiB", subscriptionBody().replace(/"name":"[^"]*"/, `"name":${"[".repeat(30_000)}${"]".repeat(30_000)}`)),
  ingest("missing uuid", JSON.stringify({ ...eventBody(), uuid: undefined })),
  ingest("uuid not a UUID", JSON.stringify(eventBody({ uuid: "not-a-uuid" }))),
  ingest("code in capitals", JSON.stringify(eventBody({ code: "Document.Update" }))),
  ingest("document without document_type_code", JSON.stringify(eventBody({ resource: { code: "x", type: "document", links: [], locales: { updated: [], inherited: [] } } }))),
  ingest("created_at without offset", JSON.stringify(eventBody({ created_at: "2026-11-22T10:00:00" }))),
  ingest("no links", JSON.stringify(eventBody({ links: [] }))),
  ingest("resource a string", JSON.stringify(eventBody({ resource: "x" }))),
  ingest("__proto__ and constructor keys around a bad code", withPrototypeKeys(JSON.stringify(eventBody({ code: 42 })))),
  ingest("one bad event in a batch refuses the valid one too", JSON.stringify([eventBody(), eventBody({ code: "" })])),
  ingest("1,001 events", oversizeEvents, 413),
  ingest("one event over 64 KiB", JSON.stringify(eventBody({ padding: "p".repeat(70 * 1024) })), 413),
  ingest("5 MiB of nested arrays, refused before parsing", "[".repeat(2.5 * 1024 * 1024) + "]".repeat(2.5 * 1024 * 1024), 422, { field: "body" }),
  ingest("body over 5 MiB", `[${" ".repeat(5 * 1024 * 1024)}]`, 413),
  ingest("wrong token", JSON.stringify(eventBody()), 401, { authorization: "Bearer wrong" }),

  // ---- event lookups ----
  get("event id not a UUID", "/v1/events/not-a-uuid", 404),
  get("unknown event", `/v1/events/${crypto.randomUUID()}`, 404),
  { what: "redeliver an unknown event", method: "POST", path: `/v1/events/${crypto.randomUUID()}/redeliver`, status: 404 },
  { what: "redeliver with a numeric subscriptionId", method: "POST", path: `/v1/events/${crypto.randomUUID()}/redeliver`, body: JSON.stringify({ subscriptionId: 42 }), status: 422 },
  { what: "redeliver with truncated JSON", method: "POST", path: `/v1/events/${crypto.randomUUID()}/redeliver`, body: "{", status: 400 },
  { what: "redeliver as text/plain", method: "POST", path: `/v1/events/${crypto.randomUUID()}/redeliver`, body: "{}", contentType: "text/plain", status: 415 },
];

async function send(row: HostileRequest, targetId: string): Promise<Response> {
  const headers = new Headers({ "cf-connecting-ip": clientAddressHeader() });
  const authorization = row.authorization === undefined ? `Bearer ${API_TOKEN}` : row.authorization;
  if (authorization !== null) headers.set("authorization", authorization);
  const contentType = row.contentType === undefined ? (row.body === undefined ? null : "application/json") : row.contentType;
  if (contentType !== null) headers.set("content-type", contentType);
  const url = `https://doorbell.test${row.path.replace(TARGET, targetId)}`;
  const init = { method: row.method, headers, body: row.body };
  if (!row.productionTargets) return SELF.fetch(url, init);
  return app.request(url, init, { ...env, ALLOW_PRIVATE_TARGETS: "false", ALLOW_HTTP_TARGETS: "false" });
}

async function snapshot(id: string): Promise<{ subscription: SubscriptionView; secret: string }> {
  const [view, secret] = await Promise.all([api(`/v1/webhooks/subscriptions/${id}`), api(`/v1/webhooks/subscriptions/${id}/secret`)]);
  expect(view.status).toBe(200);
  return { subscription: (await view.json()) as SubscriptionView, secret: ((await secret.json()) as { secret: string }).secret };
}

async function allSubscriptionNames(): Promise<string[]> {
  const names: string[] = [];
  for (let page = 1; ; page += 1) {
    const response = await api(`/v1/webhooks/subscriptions?page=${page}&limit=100`);
    expect(response.status).toBe(200);
    names.push(...((await response.json()) as SubscriptionView[]).map((subscription) => subscription.name));
    if (page >= Number(response.headers.get("total-pages"))) return names;
  }
}

describe("hostile and malformed requests", () => {
  let target: string;
  let before: Awaited<ReturnType<typeof snapshot>>;

  beforeAll(async () => {
    // Never matched by ingested events (its type is one no test sends), so its state can only change through the table.
    target = (await createSubscription({ name: `${RUN} target`, targetUrl: PUBLIC_URL, eventTypes: ["export.finish"], authorization: "Bearer original" })).id;
    before = await snapshot(target);
  });

  it("has at least 50 rows", () => {
    expect(TABLE.length).toBeGreaterThanOrEqual(50);
  });

  it.each(TABLE.map((row) => [row.what, row] as const))("%s", async (_, row) => {
    const response = await send(row, target);
    const text = await response.text();
    expect(response.status, text).toBe(row.status);
    expect(response.headers.get("content-type")).toMatch(/^application\/json/);
    const body = JSON.parse(text) as unknown;
    expect(body).toBeTypeOf("object");
    expect(body).not.toBeNull();
    if (row.status === 422) {
      // A ValidationErrors map, never empty: field path -> messages.
      expect(Object.keys(body as Record<string, unknown>).length).toBeGreaterThan(0);
      if (row.field) expect(body).toHaveProperty([row.field]);
      for (const messages of Object.values(body as Record<string, unknown>)) {
        expect(Array.isArray(messages)).toBe(true);
        for (const message of messages as unknown[]) expect(message).toBeTypeOf("string");
      }
    } else {
      expect(body).toMatchObject({ error: expect.any(String), message: expect.any(String) });
    }
  });

  it("changed nothing", async () => {
    expect(await snapshot(target)).toEqual(before);
    const created = (await allSubscriptionNames()).filter((name) => name.startsWith(RUN) && name !== `${RUN} target`);
    expect(created).toEqual([]);
    for (const uuid of triedEvents) expect((await api(`/v1/events/${uuid}`)).status, uuid).toBe(404);
    const plain: Record<string, unknown> = {};
    expect(plain.polluted).toBeUndefined();
    expect(plain.disabled).toBeUndefined();
  });
});
